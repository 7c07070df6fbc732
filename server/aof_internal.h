/*
 * aof_internal.h — state shared by aof.c and aof_cfg.c.
 *
 * aof_fsync_g: appendfsync (enum aof_fsync), written by CONFIG SET, read by
 * the AOF thread and by connections' reply hooks: relaxed, a policy seen a
 * moment late publishes nothing. aof_enabled_g / aof_started_g: written by
 * the main thread in aof_setup / aof_teardown, before workers serve clients
 * (net_run) and after they stopped; read anywhere: relaxed, the thread
 * start and the listeners' start order them.
 */
#ifndef KVSD_AOF_INTERNAL_H
#define KVSD_AOF_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

extern _Atomic int aof_fsync_g;
extern _Atomic bool aof_enabled_g, aof_started_g;
/* aof_setup ran (whatever appendonly said): written once by the main
 * thread at start-up; relaxed as the two above */
extern _Atomic bool aof_configured_g;
/* auto-aof-rewrite-percentage and -min-size: written by CONFIG SET, read by
 * the AOF thread's check: relaxed, a setting seen one check late is
 * harmless and publishes nothing */
extern _Atomic long long aof_rw_perc_g, aof_rw_min_g;

#endif
