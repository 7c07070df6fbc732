/*
 * stats.c — net/'s statistics for INFO: the workers' counters summed, the
 * listener's counters (state.h), and CONFIG RESETSTAT's base values.
 * Every load and store is relaxed: statistics publish nothing.
 */
#include "net/conn.h"
#include "net/state.h"
#include "net/worker.h"

#include <errno.h>

void net_get_stats(struct net_stats *s)
{
	struct net_counters *k = &net_g.stats;
	uint64_t cmds = 0, in = 0, out = 0, errs = 0;

	/* the reserve guest's too: it runs commands of worker 0's clients */
	for (int i = 0; i < workers_total(); i++) {
		struct worker *w = worker_get(i);

		cmds += atomic_load_explicit(&w->st.commands, memory_order_relaxed);
		in += atomic_load_explicit(&w->st.in_bytes, memory_order_relaxed);
		out += atomic_load_explicit(&w->st.out_bytes, memory_order_relaxed);
		errs += atomic_load_explicit(&w->st.errors, memory_order_relaxed);
	}
	s->error_replies = errs - atomic_load_explicit(&k->base_errs, memory_order_relaxed);
	s->commands_processed = cmds - atomic_load_explicit(&k->base_cmds, memory_order_relaxed);
	s->net_input_bytes = in - atomic_load_explicit(&k->base_in, memory_order_relaxed);
	s->net_output_bytes = out - atomic_load_explicit(&k->base_out, memory_order_relaxed);
	s->connections_received = atomic_load_explicit(&k->accepted, memory_order_relaxed);
	s->rejected_connections = atomic_load_explicit(&k->rejected, memory_order_relaxed);
	s->connected_clients = conn_count();
	s->workers = workers_count();
	s->tcp_port = atomic_load_explicit(&k->tcp_port, memory_order_relaxed);
}

void net_reset_stats(void)
{
	struct net_counters *k = &net_g.stats;
	struct net_stats s;

	atomic_store_explicit(&k->base_cmds, 0, memory_order_relaxed);
	atomic_store_explicit(&k->base_in, 0, memory_order_relaxed);
	atomic_store_explicit(&k->base_out, 0, memory_order_relaxed);
	atomic_store_explicit(&k->base_errs, 0, memory_order_relaxed);
	net_get_stats(&s);
	atomic_store_explicit(&k->base_errs, s.error_replies, memory_order_relaxed);
	atomic_store_explicit(&k->base_cmds, s.commands_processed, memory_order_relaxed);
	atomic_store_explicit(&k->base_in, s.net_input_bytes, memory_order_relaxed);
	atomic_store_explicit(&k->base_out, s.net_output_bytes, memory_order_relaxed);
	atomic_store_explicit(&k->accepted, 0, memory_order_relaxed);
	atomic_store_explicit(&k->rejected, 0, memory_order_relaxed);
}

int net_workers(void)
{
	return workers_count();
}

int net_worker_stats(int idx, struct net_worker_stats *out)
{
	struct worker *w;

	if (idx < 0 || idx >= workers_count())
		return -ENOENT;
	w = worker_get(idx);
	out->tasks = atomic_load_explicit(&w->st.tasks, memory_order_relaxed);
	out->steals = atomic_load_explicit(&w->st.steals, memory_order_relaxed);
	out->failed_steals = atomic_load_explicit(&w->st.failed_steals, memory_order_relaxed);
	out->parks = atomic_load_explicit(&w->st.parks, memory_order_relaxed);
	out->wakeups = atomic_load_explicit(&w->st.wakeups, memory_order_relaxed);
	out->naps = atomic_load_explicit(&w->st.naps, memory_order_relaxed);
	out->lookaheads = atomic_load_explicit(&w->st.lookaheads, memory_order_relaxed);
	out->peeked = atomic_load_explicit(&w->st.peeked, memory_order_relaxed);
	out->lookaheads_used = atomic_load_explicit(&w->st.lookaheads_used, memory_order_relaxed);
	out->polled_by_guest = atomic_load_explicit(&w->st.polled_by_guest, memory_order_relaxed);
	out->guest_polls = atomic_load_explicit(&w->st.guest_polls, memory_order_relaxed);
	out->defer_overdue = atomic_load_explicit(&w->st.defer_overdue, memory_order_relaxed);
	out->handoffs = atomic_load_explicit(&w->st.handoffs, memory_order_relaxed);
	out->flood_polls = atomic_load_explicit(&w->st.flood_polls, memory_order_relaxed);
	out->reads = atomic_load_explicit(&w->st.reads, memory_order_relaxed);
	out->reads_eagain = atomic_load_explicit(&w->st.reads_eagain, memory_order_relaxed);
	out->reads_skipped = atomic_load_explicit(&w->st.reads_skipped, memory_order_relaxed);
	out->writes = atomic_load_explicit(&w->st.writes, memory_order_relaxed);
	out->writes_eagain = atomic_load_explicit(&w->st.writes_eagain, memory_order_relaxed);
	out->polls = atomic_load_explicit(&w->st.polls, memory_order_relaxed);
	out->ring = atomic_load_explicit(&w->st.ring_on, memory_order_relaxed);
	out->ring_submits = atomic_load_explicit(&w->st.ring_submits, memory_order_relaxed);
	out->ring_sends = atomic_load_explicit(&w->st.ring_sends, memory_order_relaxed);
	out->ring_reads = atomic_load_explicit(&w->st.ring_reads, memory_order_relaxed);
	return 0;
}
