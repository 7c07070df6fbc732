/*
 * registry.h — every open connection, for CLIENT LIST / KILL / PAUSE, INFO
 * and the shutdown drain (conn_foreach, conn_count, conn_describe and
 * conn_set_name in conn.h are its public half).
 *
 * Threads: any; one mutex. A connection is added before any other thread
 * can find it (the listener, before the hand-off) and removed by the closing
 * thread before it is freed, so conn_foreach's fn never sees a freed one.
 */
#ifndef KVSD_NET_REGISTRY_H
#define KVSD_NET_REGISTRY_H

struct conn;

void conn_registry_add(struct conn *c);
void conn_registry_del(struct conn *c);

#endif
