/*
 * monitor.c — MONITOR clients' mailboxes (monitor.h).
 */
#include "net/monitor.h"
#include "net/net_internal.h"

static pthread_mutex_t monitor_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *monitors; /* under monitor_lock */
/* number of monitors: relaxed — a hint for feeders; the list is under the lock */
static _Atomic int nmonitors;

void monitor_add(struct conn *c)
{
	if (c->flags & CONN_F_MONITOR)
		return;
	c->flags |= CONN_F_MONITOR;
	/* relaxed: a CLIENT LIST mirror */
	atomic_store_explicit(&c->st_monitor, 1, memory_order_relaxed);
	pthread_mutex_lock(&monitor_lock);
	c->mon_next = monitors;
	monitors = c;
	/* relaxed: see nmonitors */
	atomic_fetch_add_explicit(&nmonitors, 1, memory_order_relaxed);
	pthread_mutex_unlock(&monitor_lock);
}

void monitor_detach(struct conn *c)
{
	pthread_mutex_lock(&monitor_lock);
	for (struct conn **p = &monitors; *p; p = &(*p)->mon_next)
		if (*p == c) {
			*p = c->mon_next;
			/* relaxed: see nmonitors */
			atomic_fetch_sub_explicit(&nmonitors, 1, memory_order_relaxed);
			break;
		}
	pthread_mutex_unlock(&monitor_lock);
}

void monitor_take(struct conn *c)
{
	pthread_mutex_lock(&monitor_lock);
	if (buf_pending(&c->mon_pending)) {
		buf_append(&c->out, c->mon_pending.data + c->mon_pending.rpos,
			   buf_pending(&c->mon_pending));
		buf_consume(&c->mon_pending, buf_pending(&c->mon_pending));
	}
	pthread_mutex_unlock(&monitor_lock);
}

int monitor_any(void)
{
	/* relaxed: see nmonitors */
	return atomic_load_explicit(&nmonitors, memory_order_relaxed) != 0;
}

void monitor_each_locked(void (*fn)(struct conn *m, void *arg), void *arg)
{
	pthread_mutex_lock(&monitor_lock);
	for (struct conn *m = monitors; m; m = m->mon_next)
		fn(m, arg);
	pthread_mutex_unlock(&monitor_lock);
}
