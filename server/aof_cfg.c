/*
 * aof_cfg.c — the AOF's settings as the config table sets them (aof.h):
 * apart from aof.c so that the config table's unit tests link without the
 * AOF machinery.
 */
#include "server/aof.h"
#include "server/aof_internal.h"

/* relaxed everywhere: see the declarations in aof_internal.h */
_Atomic int aof_fsync_g = AOF_FSYNC_EVERYSEC;
_Atomic bool aof_enabled_g, aof_started_g, aof_configured_g;
_Atomic long long aof_rw_perc_g = 100, aof_rw_min_g = 64LL * 1024 * 1024;
_Atomic long long aof_group_wait_us_g = AOF_GROUP_WAIT_US;

bool aof_enabled(void)
{
	/* relaxed: set before the workers serve clients (aof_internal.h) */
	return atomic_load_explicit(&aof_enabled_g, memory_order_relaxed);
}

bool aof_configured(void)
{
	/* relaxed: see aof_internal.h */
	return atomic_load_explicit(&aof_configured_g, memory_order_relaxed);
}

bool aof_started(void)
{
	/* relaxed: set before net_run serves the listeners, cleared after the
	 * workers stopped (aof_internal.h) */
	return atomic_load_explicit(&aof_started_g, memory_order_relaxed);
}

void aof_set_fsync(enum aof_fsync policy)
{
	/* the AOF thread reads it at its next batch or 100 ms tick */
	atomic_store_explicit(&aof_fsync_g, (int)policy, memory_order_relaxed);
}

void aof_set_auto_rewrite(long long percentage, long long min_size)
{
	/* relaxed: see aof_internal.h */
	atomic_store_explicit(&aof_rw_perc_g, percentage, memory_order_relaxed);
	atomic_store_explicit(&aof_rw_min_g, min_size, memory_order_relaxed);
}

void aof_set_group_wait(long long us)
{
	/* relaxed: see aof_internal.h */
	atomic_store_explicit(&aof_group_wait_us_g, us, memory_order_relaxed);
}

int (*aof_switch_fn)(bool on, char *why, size_t whylen);

int aof_set_appendonly(bool on, char *why, size_t whylen)
{
	if (!aof_configured() || aof_switch_fn == NULL)
		return 0;
	return aof_switch_fn(on, why, whylen);
}
