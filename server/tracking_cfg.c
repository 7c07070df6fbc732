/*
 * tracking_cfg.c — tracking-table-max-keys' apply function (tracking.h),
 * apart from tracking.c so that the config table links without the rest of
 * the server (the config unit tests).
 */
#include "server/config.h"
#include "server/tracking.h"

_Atomic long long trk_max_keys_g = 1000000;

int trk_apply_max_keys(char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	/* relaxed: a limit read at use (see trk_max_keys_g) */
	atomic_store_explicit(&trk_max_keys_g, cfg_int(CFG_TRACKING_TABLE_MAX_KEYS),
			      memory_order_relaxed);
	return 0;
}
