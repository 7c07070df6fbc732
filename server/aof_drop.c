/*
 * aof_drop.c — keys the db layer removes by itself (lazy expiry on access,
 * the active expire cycle, eviction) logged to the AOF as Redis 7.0.15 logs
 * them (propagateDeletion): DEL key, or UNLINK key when
 * lazyfree-lazy-expire (expiry) / lazyfree-lazy-eviction (eviction) is yes.
 *
 * Where the DEL goes. A key that expires while a command runs on this
 * thread (wctx->aof_cmd, set by aof_before_cmd) joins that command's
 * record, before what the command itself logs: Redis 7.0 queues the
 * deletion in also_propagate, so a GET of an expired key logs a bare
 * DEL, a SET of one logs MULTI, DEL, SET, EXEC, and inside MULTI/EXEC the
 * DEL is among the transaction's commands — tests/integration/py/
 * test_diff_aof.py compares each with redis-server. Outside a command (the
 * active cycle, eviction before a command runs) each DEL is a record of its
 * own, as Redis's propagatePendingCommands after each removal.
 *
 * Ordering (aof.h, "Ordering"). The removal must reach the file in the
 * order it took effect against writes of the same key, so it happens while
 * the key's stripe is held and the DEL is appended before the stripe is
 * released. A write command holds its keys' stripes already (or the gate
 * exclusively: EXEC, FLUSHALL); otherwise the stripe (and the gate shared)
 * is try-locked here — never waited for, since the db layer calls the hook
 * holding an entry inside its epoch section and possibly its write bracket.
 * Inside a command the stripe joins the command's locks (released by
 * aof_finish_cmd after its record is appended); outside one it is released
 * after the lone DEL is appended. When a try-lock fails the key is simply
 * not removed now (a lookup still reports it missing; a later access or
 * cycle removes it), so no removal is ever unlogged.
 */
#include "concurrency/wctx.h"
#include "server/aof.h"
#include "server/aof_internal.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/notify.h"
#include "storage/db.h"

enum { DROP_NONE, DROP_IN_CMD, DROP_ALONE };

/* Claims key d->key for a removal (storage/db.h, db_drop_hooks). */
static bool drop_claim(struct db *db, struct db_drop *d)
{
	struct aof_locks *l = wctx_self()->aof_cmd;
	uint16_t s;

	(void)db;
	d->state = DROP_NONE;
	if (!aof_started())
		return true;
	if (l && l->all) {
		d->state = DROP_IN_CMD;
		return true;
	}
	s = aof_stripe_of(d->key, d->klen);
	if (l) {
		for (int i = 0; i < l->n; i++)
			if (l->idx[i] == s) {
				d->state = DROP_IN_CMD;
				return true;
			}
		if (l->n == (int)(sizeof(l->idx) / sizeof(l->idx[0])))
			return false;
		if (l->n == 0 && aof_gate_tryshared() != 0)
			return false;
		if (aof_stripe_trylock(s) != 0) {
			if (l->n == 0)
				aof_gate_unlock();
			return false;
		}
		l->idx[l->n++] = s; /* released with the command's own stripes */
		d->state = DROP_IN_CMD;
		return true;
	}
	if (aof_gate_tryshared() != 0)
		return false;
	if (aof_stripe_trylock(s) != 0) {
		aof_gate_unlock();
		return false;
	}
	d->state = DROP_ALONE;
	return true;
}

static void drop_done(struct db *db, struct db_drop *d, bool removed)
{
	struct aof_locks *l = wctx_self()->aof_cmd;

	if (removed) /* keyspace notifications: "expired" / "evicted" */
		ntf_drop(db, d);
	if (d->state == DROP_NONE)
		return;
	if (removed) {
		/* the gate (shared or exclusive) is held: no SWAPDB moves the
		 * key's space meanwhile */
		int index = d->index >= 0 ? d->index : db_space_index(db, d->space);
		bool lazy = cfg_int(d->evicted ? CFG_LAZYFREE_LAZY_EVICTION
					       : CFG_LAZYFREE_LAZY_EXPIRE) != 0;
		const char *argv[2] = {lazy ? "UNLINK" : "DEL", d->key};
		size_t argl[2] = {lazy ? 6 : 3, d->klen};

		if (index >= 0) {
			if (d->state == DROP_IN_CMD && l && l->req && l->req->prop)
				aof_prop_add_db(l->req->prop, index, 2, argv, argl);
			else if (d->state == DROP_ALONE)
				(void)aof_append_one(index, 2, argv, argl);
		}
	}
	if (d->state == DROP_ALONE) {
		aof_stripe_unlock(aof_stripe_of(d->key, d->klen));
		aof_gate_unlock();
	}
}

static const struct db_drop_hooks drop_hooks = {.claim = drop_claim, .done = drop_done};

void aof_drop_install(struct db *db)
{
	db_set_drop_hooks(db, &drop_hooks);
}
