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

#endif
