/*
 * registry.c — the list of open connections (registry.h) and what is read
 * or changed under its lock: CLIENT LIST lines and the client name.
 */
#include "net/registry.h"
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/net_internal.h"

#include <stdio.h>

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *registry;
static long registry_count;

void conn_registry_add(struct conn *c)
{
	pthread_mutex_lock(&registry_lock);
	c->reg_prev = NULL;
	c->reg_next = registry;
	if (registry)
		registry->reg_prev = c;
	registry = c;
	registry_count++;
	pthread_mutex_unlock(&registry_lock);
}

void conn_registry_del(struct conn *c)
{
	pthread_mutex_lock(&registry_lock);
	if (c->reg_prev)
		c->reg_prev->reg_next = c->reg_next;
	else
		registry = c->reg_next;
	if (c->reg_next)
		c->reg_next->reg_prev = c->reg_prev;
	registry_count--;
	pthread_mutex_unlock(&registry_lock);
}

long conn_count(void)
{
	long n;

	pthread_mutex_lock(&registry_lock);
	n = registry_count;
	pthread_mutex_unlock(&registry_lock);
	return n;
}

void conn_foreach(void (*fn)(struct conn *c, void *arg), void *arg)
{
	pthread_mutex_lock(&registry_lock);
	for (struct conn *c = registry; c; c = c->reg_next)
		fn(c, arg);
	pthread_mutex_unlock(&registry_lock);
}

void conn_set_name(struct conn *c, const char *name, size_t len)
{
	char *n = len ? mem_strndup(name, len) : NULL;
	char *old;

	pthread_mutex_lock(&registry_lock);
	old = c->name;
	c->name = n;
	pthread_mutex_unlock(&registry_lock);
	mem_free(old);
}

/* Called with the registry lock held (conn_foreach) or by the owner thread. */
void conn_set_described(struct conn *c, int multi, unsigned flags)
{
	/* relaxed: mirrors for CLIENT LIST, like st_events; publish nothing */
	if (atomic_load_explicit(&c->st_multi, memory_order_relaxed) != multi)
		atomic_store_explicit(&c->st_multi, multi, memory_order_relaxed);
	if (atomic_load_explicit(&c->st_sflags, memory_order_relaxed) != flags)
		atomic_store_explicit(&c->st_sflags, flags, memory_order_relaxed);
}

void conn_set_pubsub(struct conn *c, int sub, int psub, int ssub)
{
	/* relaxed: mirrors for CLIENT LIST, like st_multi; publish nothing */
	atomic_store_explicit(&c->st_sub, sub, memory_order_relaxed);
	atomic_store_explicit(&c->st_psub, psub, memory_order_relaxed);
	atomic_store_explicit(&c->st_ssub, ssub, memory_order_relaxed);
}

void conn_set_queued(struct conn *c, size_t bytes)
{
	/* relaxed: a mirror for CLIENT LIST; publishes nothing */
	atomic_store_explicit(&c->st_queued, bytes, memory_order_relaxed);
}

void conn_set_tracking(struct conn *c, unsigned flags, long long redir)
{
	/* relaxed: mirrors for CLIENT LIST, like st_multi; publish nothing */
	atomic_store_explicit(&c->st_tflags, flags, memory_order_relaxed);
	atomic_store_explicit(&c->st_redir, redir, memory_order_relaxed);
}

bool conn_is_pubsub(struct conn *c)
{
	/* relaxed: see conn_set_pubsub */
	return atomic_load_explicit(&c->st_sub, memory_order_relaxed) +
		   atomic_load_explicit(&c->st_psub, memory_order_relaxed) +
		   atomic_load_explicit(&c->st_ssub, memory_order_relaxed) >
	       0;
}

size_t conn_describe(struct conn *c, char *buf, size_t size, int64_t now)
{
	/* relaxed: the idle clock, a statistic */
	int64_t last = atomic_load_explicit(&c->last_ms, memory_order_relaxed);
	const char *cmd = conn_last_cmd(c) ? conn_last_cmd(c) : "NULL";
	char flags[16], *fp = flags;
	int n;

	/* relaxed: mirrors the runner updates after each run; statistics */
	uint64_t qbuf = atomic_load_explicit(&c->st_qbuf, memory_order_relaxed);
	uint64_t omem = atomic_load_explicit(&c->st_omem, memory_order_relaxed);
	uint64_t queued = atomic_load_explicit(&c->st_queued, memory_order_relaxed);
	int events = atomic_load_explicit(&c->st_events, memory_order_relaxed);
	int mon = atomic_load_explicit(&c->st_monitor, memory_order_relaxed);
	int multi = atomic_load_explicit(&c->st_multi, memory_order_relaxed);
	unsigned sflags = atomic_load_explicit(&c->st_sflags, memory_order_relaxed);
	int sub = atomic_load_explicit(&c->st_sub, memory_order_relaxed);
	int psub = atomic_load_explicit(&c->st_psub, memory_order_relaxed);
	int ssub = atomic_load_explicit(&c->st_ssub, memory_order_relaxed);
	unsigned tflags = atomic_load_explicit(&c->st_tflags, memory_order_relaxed);
	long long redir =
	    (tflags & CONN_TRK_ON) ? atomic_load_explicit(&c->st_redir, memory_order_relaxed) : -1;

	/* A subscriber with messages queued: its formatted replies stand for
	 * Redis's static buffer (whose first NET_REPLY_STATIC_BYTES omem leaves
	 * out) and the queue for the reply list, counted as Redis counts it
	 * (conn_set_queued): the figure the pubsub output limit compares. */
	if (queued)
		omem = queued + (omem > NET_REPLY_STATIC_BYTES ? omem - NET_REPLY_STATIC_BYTES : 0);
	/* Redis's getClientInfoString order, for the flags kvsd has */
	if (mon)
		*fp++ = 'O';
	if (sub + psub + ssub > 0)
		*fp++ = 'P';
	if (multi >= 0)
		*fp++ = 'x';
	if (conn_blocked(c))
		*fp++ = 'b';
	if (tflags & CONN_TRK_ON)
		*fp++ = 't';
	if (tflags & CONN_TRK_BROKEN)
		*fp++ = 'R';
	if (tflags & CONN_TRK_BCAST)
		*fp++ = 'B';
	if (c->addr[0] == '/')
		*fp++ = 'U';
	if (sflags & CONN_DESC_NO_EVICT)
		*fp++ = 'e';
	if (fp == flags)
		*fp++ = 'N';
	*fp = '\0';
	/* The field set and order of Redis 7.0's CLIENT LIST, which tools parse.
	 * Buffer sizes are the runner's last published figures. */
	n = snprintf(buf, size,
		     "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d "
		     "sub=%d psub=%d ssub=%d multi=%d qbuf=%llu qbuf-free=0 argv-mem=0 multi-mem=0 "
		     "rbs=%llu rbp=0 obl=0 oll=0 omem=%llu tot-mem=%llu events=%s cmd=%s "
		     "user=default redir=%lld resp=%d",
		     (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
		     (long long)((now - c->ctime_ms) / 1000), (long long)((now - last) / 1000),
		     flags, conn_db(c), sub, psub, ssub, multi, (unsigned long long)qbuf,
		     (unsigned long long)qbuf, (unsigned long long)omem,
		     (unsigned long long)(sizeof(*c) + qbuf + omem), events ? "rw" : "r", cmd,
		     redir, conn_resp(c));
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}
