/*
 * cluster.h — Redis Cluster's client protocol over a static slot map
 * (docs/CLUSTER.md).
 *
 * With `cluster-enabled yes`, kvsd reads the map named by
 * `cluster-config-file` (cluster_map.h) at start-up, finds its own entry
 * (cluster-announce-ip / cluster-announce-port, else its port and bind
 * addresses), and from then on answers as a master of a Redis Cluster whose
 * configuration never changes: CLUSTER SLOTS / SHARDS / NODES / INFO /
 * KEYSLOT / MYID / COUNTKEYSINSLOT / GETKEYSINSLOT, READONLY, READWRITE,
 * ASKING; and before running a command with keys, the checks of Redis's
 * getNodeByQuery(): -CROSSSLOT when its keys (or, for EXEC, the keys of
 * all queued commands) span slots, -MOVED <slot> <ip>:<port> when another
 * node owns the slot. There is no cluster bus: no gossip, failover,
 * replicas or resharding; the management subcommands answer an error that
 * points to the map file.
 *
 * Threads: cluster_setup() runs once on the main thread before any worker
 * starts and cluster_teardown() after they stopped; between them the map is
 * read-only and every function may run on any worker concurrently.
 * Cost when cluster-enabled is no: dispatch tests cluster_on, a plain bool
 * written before the workers were created, once per command.
 * Errors: cluster_setup() fills err and returns -1; clients get Redis's
 * error texts.
 */
#ifndef KVSD_CLUSTER_H
#define KVSD_CLUSTER_H

#include "server/cmd.h"

#include <stdbool.h>
#include <stddef.h>

struct conn;

/* Whether cluster mode is on: set by cluster_setup() before the workers
 * start, never changed while they run (thread creation publishes it). */
extern bool cluster_on;

/* CLUSTER (a container), READONLY, READWRITE, ASKING. */
extern const struct cmd_def cmd_cluster_table[];

/* Reads cluster-enabled and, when yes, loads the map and finds this node.
 * 0, or -1 with a message for the operator in err. */
int cluster_setup(char *err, size_t errlen);
void cluster_teardown(void);

/*
 * Dispatch's check for a command with keys (or EXEC) in cluster mode,
 * Redis's getNodeByQuery(): 0 when this node serves it; else 1 with the
 * error reply (without the leading '-') in err: "CROSSSLOT ..." or
 * "MOVED <slot> <ip>:<port>". c's runner thread.
 */
int cluster_refuse(struct conn *c, const struct cmd_def *d, int argc, const char *const *argv,
		   const size_t *argl, char *err, size_t errlen);
/* The same for one command a script calls: whether all its keys are in a
 * slot this node serves (Redis's scriptVerifyClusterState). */
bool cluster_script_local(const struct cmd_def *d, int argc, const char *const *argv,
			  const size_t *argl);

#endif
