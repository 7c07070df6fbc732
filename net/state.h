/*
 * state.h — net/'s one state: the options net_setup() received, the limits
 * CONFIG SET changes, CLIENT PAUSE and the connection counters. Every file of
 * net/ reads them here; state.c uses no other file of net/ (the bottom of
 * net/'s dependency order: state ← registry, monitor, reply ← conn_io ←
 * task ⇄ worker ← stats, listener, control).
 *
 * Threads: opts is written once by net_setup() before any worker or
 * listener runs, then read-only. The limits, the pause and the counters are
 * relaxed atomics (struct net_state says why for each).
 */
#ifndef KVSD_NET_STATE_H
#define KVSD_NET_STATE_H

#include "net/net_internal.h"

extern struct net_state net_g;

/* Wall-clock milliseconds (idle times, CLIENT PAUSE deadlines, output
 * limits' soft seconds: what Redis measures with its cached unix time). */

/* CLIENT PAUSE: 1 while a pause is in force. Any thread. */
int pause_active(void);
/* 1 if the command must wait for CLIENT PAUSE to end. Any thread. */
int pause_blocks(int argc, const char **argv, const size_t *argl);

#endif
