/*
 * config_internal.h — what the config engine (config.c) and the table
 * (config_table.c) share.
 *
 * Threads: cfg_rows is constant; cfg_apply_db() is set once at start-up
 * (cfg_apply_start) before any CONFIG SET can run.
 */
#ifndef KVSD_CONFIG_INTERNAL_H
#define KVSD_CONFIG_INTERNAL_H

#include "server/config.h"

/* The table, indexed by enum cfg_id (config_table.c). */
extern const struct cfg_def cfg_rows[CFG_COUNT_];

/* The key space apply functions act on (maxmemory), or NULL before
 * cfg_apply_start() (unit tests). */
struct db *cfg_apply_db(void);

/* For a parser: whether the value being parsed comes from a config file or
 * argv line and an earlier line of the same load set this row already
 * (Redis's `save` lines add to each other; the first one replaces the
 * default). Called with the engine's locks held (from a parser only). */
int cfg_load_repeat(enum cfg_id id);

#endif
