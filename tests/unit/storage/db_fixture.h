/*
 * db_fixture.h — the storage and persist unit tests' common set-up: the map
 * and collection modules set up, the test's thread registered with the map,
 * and one db (kvsd's map) with database 0's plain view in `view`.
 *
 * Include once per test file, then:
 *   static void init(void) { db_fixture_open(types); }  // types: the type
 *   static void fini(void) { db_fixture_close(); }     // modules' set-up
 *   TestSuite(name, .init = init, .fini = fini);
 * Criterion runs every test in a process of its own, so these statics start
 * afresh for each test.
 */
#ifndef KVSD_TESTS_DB_FIXTURE_H
#define KVSD_TESTS_DB_FIXTURE_H

#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"

static struct db *db;
static struct db_view view __attribute__((unused));

/* types: sets up the type modules the test uses (thash_setup(sha1), ...),
 * after coll_setup and before the db exists; NULL for none. */
static inline void db_fixture_open(void (*types)(void))
{
	kvmap_setup();
	coll_setup();
	if (types)
		types();
	kvmap_thread_register();
	db = db_create(KVMAP_KVSD);
	db_view_init(db, 0, &view);
}

static inline void db_fixture_close(void)
{
	db_destroy(&db);
	db_coll_thread_exit();
	kvmap_teardown();
	kvmap_thread_unregister();
	coll_drain();
	coll_teardown();
}

#endif
