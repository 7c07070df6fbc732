/*
 * monitor.h — the MONITOR clients' mailboxes: the list of monitors and the
 * lines fed to each, under one lock. control.c formats the lines and feeds
 * them (net_monitor_feed); a monitor's runner moves its pending lines into
 * its reply buffer (monitor_take), so that buffer is still written only by
 * its runner.
 *
 * Threads: any. A monitor is unlinked under the lock when it closes, so a
 * feeder holding the lock (monitor_each_locked) never sees a freed one.
 */
#ifndef KVSD_NET_MONITOR_H
#define KVSD_NET_MONITOR_H

struct conn;

/* c's runner: c becomes a monitor (once). */
void monitor_add(struct conn *c);
/* The closing thread: c leaves the list. */
void monitor_detach(struct conn *c);
/* c's runner: moves the lines fed so far to c's reply buffer. */
void monitor_take(struct conn *c);
/* 1 if some client may be monitoring: a relaxed hint that saves formatting. */
int monitor_any(void);
/* Calls fn for every monitor with the lock held: fn may append to
 * m->mon_pending and schedule m; it must not call back into monitor.c. */
void monitor_each_locked(void (*fn)(struct conn *m, void *arg), void *arg);

#endif
