/*
 * state.c — net/'s one state (state.h) and the functions that only set it:
 * the runtime limits (CONFIG SET) and CLIENT PAUSE.
 */
#include "net/state.h"
#include "concurrency/clock.h"

struct net_state net_g;

/* ---- limits: relaxed stores (see struct net_limits) --------------------- */

void net_set_maxclients(long n)
{
	atomic_store_explicit(&net_g.limits.maxclients, n, memory_order_relaxed);
}

void net_set_timeout(long seconds)
{
	atomic_store_explicit(&net_g.limits.timeout_s, seconds, memory_order_relaxed);
}

void net_set_worker_nap_us(long us)
{
	atomic_store_explicit(&net_g.limits.nap_ns, us * 1000, memory_order_relaxed);
}

void net_set_worker_pipeline_nap_us(long us)
{
	atomic_store_explicit(&net_g.limits.pnap_ns, us * 1000, memory_order_relaxed);
}

void net_set_tcp_keepalive(long seconds)
{
	atomic_store_explicit(&net_g.limits.keepalive_s, seconds, memory_order_relaxed);
}

void net_set_query_limit(long long bytes)
{
	atomic_store_explicit(&net_g.limits.query_limit, bytes, memory_order_relaxed);
}

void net_set_max_bulk(long long bytes)
{
	atomic_store_explicit(&net_g.limits.max_bulk, bytes, memory_order_relaxed);
}

void net_set_protected_mode(int on)
{
	atomic_store_explicit(&net_g.limits.protected_mode, on, memory_order_relaxed);
}

void net_set_work_stealing(int on)
{
	atomic_store_explicit(&net_g.limits.stealing, on, memory_order_relaxed);
}

void net_set_conn_assign(int policy)
{
	atomic_store_explicit(&net_g.limits.assign, policy, memory_order_relaxed);
}

void net_set_run_budget(long commands)
{
	atomic_store_explicit(&net_g.limits.run_budget, commands, memory_order_relaxed);
}

void net_set_output_limit(long long hard, long long soft, long soft_seconds)
{
	atomic_store_explicit(&net_g.limits.out_hard, hard, memory_order_relaxed);
	atomic_store_explicit(&net_g.limits.out_soft, soft, memory_order_relaxed);
	atomic_store_explicit(&net_g.limits.out_soft_secs, soft_seconds, memory_order_relaxed);
}

void net_set_pubsub_output_limit(long long hard, long long soft, long soft_seconds)
{
	atomic_store_explicit(&net_g.limits.ps_hard, hard, memory_order_relaxed);
	atomic_store_explicit(&net_g.limits.ps_soft, soft, memory_order_relaxed);
	atomic_store_explicit(&net_g.limits.ps_soft_secs, soft_seconds, memory_order_relaxed);
}

void net_pubsub_output_limit(long long *hard, long long *soft, long *soft_seconds)
{
	*hard = atomic_load_explicit(&net_g.limits.ps_hard, memory_order_relaxed);
	*soft = atomic_load_explicit(&net_g.limits.ps_soft, memory_order_relaxed);
	*soft_seconds = atomic_load_explicit(&net_g.limits.ps_soft_secs, memory_order_relaxed);
}

void net_set_output_pause_limit(long long bytes)
{
	atomic_store_explicit(&net_g.limits.pause_limit, bytes, memory_order_relaxed);
}

/* ---- CLIENT PAUSE: relaxed (see struct net_pause) ----------------------- */

void net_client_pause(int64_t until_ms, int all, net_cmd_class_fn is_write)
{
	atomic_store_explicit(&net_g.pause.is_write, is_write, memory_order_relaxed);
	atomic_store_explicit(&net_g.pause.all, all, memory_order_relaxed);
	atomic_store_explicit(&net_g.pause.until_ms, until_ms, memory_order_relaxed);
}

int pause_active(void)
{
	int64_t until = atomic_load_explicit(&net_g.pause.until_ms, memory_order_relaxed);

	return until != 0 && clock_wall_ms() < until;
}

int pause_blocks(int argc, const char **argv, const size_t *argl)
{
	net_cmd_class_fn w;

	if (atomic_load_explicit(&net_g.pause.until_ms, memory_order_relaxed) == 0 ||
	    !pause_active())
		return 0;
	if (atomic_load_explicit(&net_g.pause.all, memory_order_relaxed))
		return 1;
	w = atomic_load_explicit(&net_g.pause.is_write, memory_order_relaxed);
	return w && w(argc, argv, argl);
}
