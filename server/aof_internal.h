/*
 * aof_internal.h — state shared by aof.c and aof_cfg.c.
 *
 * aof_fsync_g: appendfsync (enum aof_fsync), written by CONFIG SET, read by
 * the AOF thread and by connections' reply hooks: relaxed, a policy seen a
 * moment late publishes nothing. aof_enabled_g (appendonly on: INFO
 * aof_enabled) / aof_started_g (writes log themselves): written by the
 * main thread at start-up (before workers serve clients) and teardown
 * (after they stopped), and at run time under aof_state.h's rw_lock by the
 * switches (aof.h, "Switching"); read anywhere: relaxed — at start-up the
 * thread and listener starts order them; at run time what must see the
 * flag is ordered by the switch's grace period (on) or gate (off).
 */
#ifndef KVSD_AOF_INTERNAL_H
#define KVSD_AOF_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern _Atomic int aof_fsync_g;
extern _Atomic bool aof_enabled_g, aof_started_g;
/* aof_setup ran (whatever appendonly said): written once by the main
 * thread at start-up; relaxed as the two above */
extern _Atomic bool aof_configured_g;
/* auto-aof-rewrite-percentage and -min-size: written by CONFIG SET, read by
 * the AOF thread's check: relaxed, a setting seen one check late is
 * harmless and publishes nothing */
extern _Atomic long long aof_rw_perc_g, aof_rw_min_g;
/* aof-group-wait-us (aof.h, "Group wait"), in microseconds, 0: off: written
 * by CONFIG SET, read by workers' batch ends and the AOF thread under
 * aof.lock: relaxed, a bound seen one batch late is harmless */
extern _Atomic long long aof_group_wait_us_g;

/* aof_set_appendonly's target (aof.c's switches), set by aof_setup on the
 * main thread before workers start; NULL where only aof_cfg.c is linked
 * (the config table's unit tests) */
extern int (*aof_switch_fn)(bool on, char *why, size_t whylen);

/* aof.c's ordering locks and queue for aof_drop.c (aof.h, "Ordering").
 * The try-forms never wait: 0 when taken, else nonzero. */
uint16_t aof_stripe_of(const char *k, size_t n);
int aof_stripe_trylock(unsigned i);
void aof_stripe_unlock(unsigned i);
int aof_gate_tryshared(void);
void aof_gate_unlock(void);
/* Appends one command in database db as its own record (a lone DEL of an
 * expired key); returns its LSN. Holding the key's stripe. */
uint64_t aof_append_one(int db, int argc, const char *const *argv, const size_t *argl);

#endif
