/*
 * cluster.c — cluster mode over a static slot map (cluster.h): start-up,
 * the routing checks dispatch and scripts call, and the CLUSTER, READONLY,
 * READWRITE and ASKING commands with Redis 7.0.15's replies.
 *
 * The map never changes after cluster_setup(), so each node's replies are
 * what a healthy Redis Cluster of masters without replicas answers: state
 * ok, every slot served, epochs 1..N in map order, no bus messages.
 * COUNTKEYSINSLOT and GETKEYSINSLOT scan the keyspace (kvsd keeps no
 * per-slot index: the lock-free map has no place for one that would not
 * cost every write), so they take time linear in the number of keys
 * (docs/CLUSTER.md).
 */
#include "server/cluster.h"
#include "server/cluster_map.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/cmd_docs.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "storage/db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cluster_on;
static struct cluster_map map;
static int myself = -1; /* index of this node in map.nodes */

/* ---- start-up */

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (f == NULL) {
		snprintf(err, errlen, "kvsd: can't open the cluster config file '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = mem_realloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0 && n < ((size_t)64 << 20));
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

/* Which entry is this node: cluster-announce-ip/-port when set, else the
 * entry with this port (and, when several have it, one of the bind
 * addresses). */
static int find_self(char *err, size_t errlen)
{
	char *aip = cfg_str_dup(CFG_CLUSTER_ANNOUNCE_IP), *bind = cfg_str_dup(CFG_BIND);
	int port = (int)(cfg_int(CFG_CLUSTER_ANNOUNCE_PORT) ? cfg_int(CFG_CLUSTER_ANNOUNCE_PORT)
							    : cfg_int(CFG_PORT));
	int found = -1, candidates = 0, bound = 0, bound_at = -1;

	for (int i = 0; i < map.nnodes; i++) {
		const struct cluster_node *nd = &map.nodes[i];
		char *copy, *save = NULL, *w;

		if (nd->port != port || (aip[0] && strcmp(aip, nd->ip) != 0))
			continue;
		candidates++;
		found = i;
		/* several entries with this port: the one we listen on decides */
		copy = strdup(bind);
		for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
			if (strcmp(w, nd->ip) == 0) {
				bound++;
				bound_at = i;
				break;
			}
		free(copy);
	}
	if (candidates > 1)
		found = bound == 1 ? bound_at : -2;
	if (found == -2)
		snprintf(err, errlen,
			 "kvsd: several nodes of the cluster map have port %d; set "
			 "cluster-announce-ip to say which one this node is",
			 port);
	else if (found < 0)
		snprintf(err, errlen,
			 "kvsd: this node (%s%sport %d) is not in the cluster map; set "
			 "cluster-announce-ip / cluster-announce-port or fix the map",
			 aip, aip[0] ? " " : "", port);
	free(aip);
	free(bind);
	myself = found;
	return found >= 0 ? 0 : -1;
}

int cluster_setup(char *err, size_t errlen)
{
	char *path, *text = NULL, perr[256];
	size_t len = 0;
	int rc;

	cluster_on = false;
	if (!cfg_int(CFG_CLUSTER_ENABLED))
		return 0;
	path = cfg_str_dup(CFG_CLUSTER_CONFIG_FILE);
	if (read_file(path, &text, &len, err, errlen) != 0) {
		free(path);
		return -1;
	}
	rc = cluster_map_parse(text, len, &map, perr, sizeof(perr));
	mem_free(text);
	if (rc != 0) {
		snprintf(err, errlen, "kvsd: bad cluster config file '%s': %s", path, perr);
		free(path);
		return -1;
	}
	free(path);
	if (find_self(err, errlen) != 0) {
		cluster_map_free(&map);
		return -1;
	}
	cluster_on = true;
	return 0;
}

void cluster_teardown(void)
{
	cluster_map_free(&map);
	myself = -1;
	cluster_on = false;
}

/* ---- routing (Redis's getNodeByQuery) */

enum redir { REDIR_NONE, REDIR_MOVED, REDIR_CROSSSLOT };

struct route {
	int slot; /* -1 until the first key */
	enum redir code;
};

static void route_key(struct route *rt, const char *key, size_t len)
{
	int s = (int)cluster_keyslot(key, len);

	if (rt->slot < 0)
		rt->slot = s;
	else if (s != rt->slot)
		rt->code = REDIR_CROSSSLOT;
}

/* SORT's keys (its STORE spec is 'unknown'): Redis's sortGetKeys, the last
 * STORE counting, LIMIT / GET / BY skipping their arguments. */
static void sort_keys(struct route *rt, int argc, const char *const *argv, const size_t *argl)
{
	int store = -1;

	for (int i = 2; i < argc; i++) {
		if (su_word_is(argv[i], argl[i], "limit"))
			i += 2;
		else if (su_word_is(argv[i], argl[i], "get") || su_word_is(argv[i], argl[i], "by"))
			i += 1;
		else if (su_word_is(argv[i], argl[i], "store") && i + 1 < argc)
			store = i + 1;
	}
	route_key(rt, argv[1], argl[1]);
	if (store > 0)
		route_key(rt, argv[store], argl[store]);
}

/* Folds one command's keys into rt (Redis's per-key loop). */
static void route_cmd(struct route *rt, const struct cmd_def *d, int argc, const char *const *argv,
		      const size_t *argl)
{
	const struct cmd_doc *doc;
	struct keyspec_key stack[64], *keys = stack;
	int n, cap;

	if (rt->code != REDIR_NONE)
		return;
	if (d->name[0] == 's' && (!strcmp(d->name, "spublish") || !strcmp(d->name, "ssubscribe") ||
				  !strcmp(d->name, "sunsubscribe"))) {
		/* shard channels route like keys (their specs say not_key) */
		for (int i = 1; i < (d->name[1] == 'p' ? 2 : argc); i++)
			route_key(rt, argv[i], argl[i]);
		return;
	}
	if (!strcmp(d->name, "sort") || !strcmp(d->name, "sort_ro")) {
		sort_keys(rt, argc, argv, argl);
		return;
	}
	doc = cmd_docs_find(d->name);
	if (doc == NULL || doc->nkeyspecs == 0)
		return;
	cap = argc * (doc->nkeyspecs + 1);
	if (cap > 64)
		keys = mem_alloc(sizeof(*keys) * (size_t)cap);
	n = keyspec_find(doc, argc, argv, argl, keys, cap);
	for (int i = 0; i < n && rt->code == REDIR_NONE; i++)
		route_key(rt, argv[keys[i].pos], argl[keys[i].pos]);
	if (keys != stack)
		mem_free(keys);
}

static void route_queued(void *arg, const struct cmd_def *d, int argc, const char *const *argv,
			 const size_t *argl)
{
	route_cmd(arg, d, argc, argv, argl);
}

static enum redir route_end(struct route *rt)
{
	if (rt->code == REDIR_NONE && rt->slot >= 0 && map.owner[rt->slot] != myself)
		rt->code = REDIR_MOVED;
	return rt->code;
}

int cluster_refuse(struct conn *c, const struct cmd_def *d, int argc, const char *const *argv,
		   const size_t *argl, char *err, size_t errlen)
{
	struct route rt = {.slot = -1, .code = REDIR_NONE};
	const struct cluster_node *nd;

	if (multi_is_exec(d)) {
		/* EXEC outside MULTI just fails; in one, all queued keys count */
		if (multi_queued(c) < 0)
			return 0;
		multi_each_queued(c, route_queued, &rt);
	} else {
		route_cmd(&rt, d, argc, argv, argl);
	}
	switch (route_end(&rt)) {
	case REDIR_NONE:
		return 0;
	case REDIR_CROSSSLOT:
		snprintf(err, errlen, "CROSSSLOT Keys in request don't hash to the same slot");
		return 1;
	case REDIR_MOVED:
		nd = &map.nodes[map.owner[rt.slot]];
		snprintf(err, errlen, "MOVED %d %s:%d", rt.slot, nd->ip, nd->port);
		return 1;
	}
	return 0;
}

bool cluster_script_local(const struct cmd_def *d, int argc, const char *const *argv,
			  const size_t *argl)
{
	struct route rt = {.slot = -1, .code = REDIR_NONE};

	route_cmd(&rt, d, argc, argv, argl);
	return route_end(&rt) == REDIR_NONE;
}

/* ---- commands */

static const char disabled[] = "ERR This instance has cluster support disabled";

/* Replies the error and returns 0 when cluster mode is off. */
static int need_cluster(struct cmd_req *r)
{
	if (cluster_on)
		return 1;
	reply_error(r->c, disabled);
	return 0;
}

/* A growing text buffer for NODES and INFO. */
struct tbuf {
	char *p;
	size_t n, cap;
};

static void tb_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < b->cap - b->n)
			break;
		b->cap = b->cap * 2 + (size_t)(k > 0 ? k : 0) + 256;
		b->p = mem_realloc(b->p, b->cap);
	}
	b->n += (size_t)k;
}

static void tb_init(struct tbuf *b)
{
	b->cap = 1024;
	b->n = 0;
	b->p = mem_alloc(b->cap);
	b->p[0] = '\0';
}

static void cluster_slots_cmd(struct cmd_req *r)
{
	int n = 0, s;

	if (!need_cluster(r))
		return;
	for (s = 0; s < CLUSTER_SLOTS; s++)
		if (s == 0 || map.owner[s] != map.owner[s - 1])
			n++;
	reply_array(r->c, n);
	for (s = 0; s < CLUSTER_SLOTS;) {
		int start = s, owner = map.owner[s];
		const struct cluster_node *nd = &map.nodes[owner];

		while (s < CLUSTER_SLOTS && map.owner[s] == owner)
			s++;
		reply_array(r->c, 3);
		reply_int(r->c, start);
		reply_int(r->c, s - 1);
		reply_array(r->c, 4);
		reply_bulk_cstr(r->c, nd->ip);
		reply_int(r->c, nd->port);
		reply_bulk_cstr(r->c, nd->id);
		reply_map(r->c, 0); /* no hostname */
	}
}

static void cluster_shards_cmd(struct cmd_req *r)
{
	if (!need_cluster(r))
		return;
	reply_array(r->c, map.nnodes);
	for (int i = 0; i < map.nnodes; i++) {
		const struct cluster_node *nd = &map.nodes[i];

		reply_map(r->c, 2);
		reply_bulk_cstr(r->c, "slots");
		reply_array(r->c, (long long)nd->nranges * 2);
		for (int k = 0; k < nd->nranges; k++) {
			reply_int(r->c, nd->ranges[k][0]);
			reply_int(r->c, nd->ranges[k][1]);
		}
		reply_bulk_cstr(r->c, "nodes");
		reply_array(r->c, 1);
		reply_map(r->c, 7);
		reply_bulk_cstr(r->c, "id");
		reply_bulk_cstr(r->c, nd->id);
		reply_bulk_cstr(r->c, "port");
		reply_int(r->c, nd->port);
		reply_bulk_cstr(r->c, "ip");
		reply_bulk_cstr(r->c, nd->ip);
		reply_bulk_cstr(r->c, "endpoint");
		reply_bulk_cstr(r->c, nd->ip);
		reply_bulk_cstr(r->c, "role");
		reply_bulk_cstr(r->c, "master");
		reply_bulk_cstr(r->c, "replication-offset");
		reply_int(r->c, 0);
		reply_bulk_cstr(r->c, "health");
		reply_bulk_cstr(r->c, "online");
	}
}

static void cluster_nodes_cmd(struct cmd_req *r)
{
	struct tbuf b;

	if (!need_cluster(r))
		return;
	tb_init(&b);
	for (int i = 0; i < map.nnodes; i++) {
		const struct cluster_node *nd = &map.nodes[i];

		tb_printf(&b, "%s %s:%d@%d %s - 0 0 %d connected", nd->id, nd->ip, nd->port,
			  nd->port + 10000 <= 65535 ? nd->port + 10000 : 0,
			  i == myself ? "myself,master" : "master", i + 1);
		for (int k = 0; k < nd->nranges; k++) {
			if (nd->ranges[k][0] == nd->ranges[k][1])
				tb_printf(&b, " %d", nd->ranges[k][0]);
			else
				tb_printf(&b, " %d-%d", nd->ranges[k][0], nd->ranges[k][1]);
		}
		tb_printf(&b, "\n");
	}
	reply_verbatim(r->c, b.p, b.n);
	mem_free(b.p);
}

static void cluster_info_cmd(struct cmd_req *r)
{
	struct tbuf b;

	if (!need_cluster(r))
		return;
	tb_init(&b);
	tb_printf(&b,
		  "cluster_state:ok\r\n"
		  "cluster_slots_assigned:%d\r\n"
		  "cluster_slots_ok:%d\r\n"
		  "cluster_slots_pfail:0\r\n"
		  "cluster_slots_fail:0\r\n"
		  "cluster_known_nodes:%d\r\n"
		  "cluster_size:%d\r\n"
		  "cluster_current_epoch:%d\r\n"
		  "cluster_my_epoch:%d\r\n"
		  "cluster_stats_messages_sent:0\r\n"
		  "cluster_stats_messages_received:0\r\n"
		  "total_cluster_links_buffer_limit_exceeded:0\r\n",
		  CLUSTER_SLOTS, CLUSTER_SLOTS, map.nnodes, map.nnodes, map.nnodes, myself + 1);
	reply_verbatim(r->c, b.p, b.n);
	mem_free(b.p);
}

static void cluster_myid_cmd(struct cmd_req *r)
{
	if (need_cluster(r))
		reply_bulk_cstr(r->c, map.nodes[myself].id);
}

static void cluster_keyslot_cmd(struct cmd_req *r)
{
	if (need_cluster(r))
		reply_int(r->c, cluster_keyslot(r->argv[2], r->argl[2]));
}

/* Keys of one slot, from a scan of the selected database. */
struct slot_scan {
	unsigned slot;
	int64_t now_ms;
	long long count, max; /* max < 0: count only */
	const struct kv_entry **keys;
};

static void slot_visit(const struct kv_entry *e, void *arg)
{
	struct slot_scan *ss = arg;

	if (kv_entry_expire(e) != 0 && kv_entry_expire(e) <= ss->now_ms)
		return;
	if (cluster_keyslot(kv_entry_key(e), e->klen) != ss->slot)
		return;
	if (ss->max >= 0) {
		if (ss->count >= ss->max)
			return;
		ss->keys[ss->count] = e;
	}
	ss->count++;
}

static void cluster_countkeysinslot_cmd(struct cmd_req *r)
{
	struct slot_scan ss = {.now_ms = r->now_ms, .max = -1};
	long long slot;

	if (!need_cluster(r) || !cmd_arg_ll(r, 2, &slot))
		return;
	if (slot < 0 || slot >= CLUSTER_SLOTS) {
		reply_error(r->c, "ERR Invalid slot");
		return;
	}
	ss.slot = (unsigned)slot;
	(void)db_scan(r->view, 0, SIZE_MAX, slot_visit, &ss);
	reply_int(r->c, ss.count);
}

static void cluster_getkeysinslot_cmd(struct cmd_req *r)
{
	struct slot_scan ss = {.now_ms = r->now_ms};
	long long slot, max;

	if (!need_cluster(r) || !cmd_arg_ll(r, 2, &slot) || !cmd_arg_ll(r, 3, &max))
		return;
	if (slot < 0 || slot >= CLUSTER_SLOTS || max < 0) {
		reply_error(r->c, "ERR Invalid slot or number of keys");
		return;
	}
	ss.slot = (unsigned)slot;
	ss.max = max;
	if (max > 0) {
		long long lim = db_size(r->view) + 1; /* keys the scan can find, about */

		ss.max = max < lim ? max : lim;
		ss.keys = mem_alloc(sizeof(*ss.keys) * (size_t)ss.max);
		(void)db_scan(r->view, 0, SIZE_MAX, slot_visit, &ss);
	}
	reply_array(r->c, ss.count);
	for (long long i = 0; i < ss.count; i++)
		reply_bulk(r->c, kv_entry_key(ss.keys[i]), ss.keys[i]->klen);
	mem_free(ss.keys);
}

/* A node id of the map, or -1 (replying "ERR Unknown node <id>"). */
static int known_node(struct cmd_req *r, int i)
{
	for (int k = 0; k < map.nnodes; k++)
		if (r->argl[i] == CLUSTER_ID_LEN &&
		    memcmp(map.nodes[k].id, r->argv[i], r->argl[i]) == 0)
			return k;
	reply_errorf(r->c, "ERR Unknown node %.*s", (int)(r->argl[i] > 128 ? 128 : r->argl[i]),
		     r->argv[i]);
	return -1;
}

static void cluster_replicas_cmd(struct cmd_req *r)
{
	if (need_cluster(r) && known_node(r, 2) >= 0)
		reply_array(r->c, 0); /* masters only */
}

static void cluster_count_failure_reports_cmd(struct cmd_req *r)
{
	if (need_cluster(r) && known_node(r, 2) >= 0)
		reply_int(r->c, 0);
}

static void cluster_links_cmd(struct cmd_req *r)
{
	if (need_cluster(r))
		reply_array(r->c, 0); /* no cluster bus */
}

static void cluster_saveconfig_cmd(struct cmd_req *r)
{
	if (need_cluster(r))
		reply_ok(r->c); /* the map file is the configuration: nothing to save */
}

/* MEET, ADDSLOTS, SETSLOT, FAILOVER...: the map is static. */
static void cluster_static_cmd(struct cmd_req *r)
{
	char up[32];
	size_t i, n = r->argl[1] < sizeof(up) - 1 ? r->argl[1] : sizeof(up) - 1;

	if (!need_cluster(r))
		return;
	for (i = 0; i < n; i++)
		up[i] = (char)((r->argv[1][i] >= 'a' && r->argv[1][i] <= 'z') ? r->argv[1][i] - 32
									      : r->argv[1][i]);
	up[i] = '\0';
	reply_errorf(
	    r->c,
	    "ERR CLUSTER %s is not supported: kvsd's cluster is static, its slot map comes "
	    "from cluster-config-file (see docs/CLUSTER.md); edit the file on every node "
	    "and restart them",
	    up);
}

static void cluster_help_cmd(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "ADDSLOTS <slot> [<slot> ...]",
	    "    Assign slots to current node.",
	    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
	    "BUMPEPOCH",
	    "    Advance the cluster config epoch.",
	    "COUNT-FAILURE-REPORTS <node-id>",
	    "    Return number of failure reports for <node-id>.",
	    "COUNTKEYSINSLOT <slot>",
	    "    Return the number of keys in <slot>.",
	    "DELSLOTS <slot> [<slot> ...]",
	    "    Delete slots information from current node.",
	    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	    "    Delete slots information which are between <start-slot> and <end-slot> from "
	    "current node.",
	    "FAILOVER [FORCE|TAKEOVER]",
	    "    Promote current replica node to being a master.",
	    "FORGET <node-id>",
	    "    Remove a node from the cluster.",
	    "GETKEYSINSLOT <slot> <count>",
	    "    Return key names stored by current node in a slot.",
	    "FLUSHSLOTS",
	    "    Delete current node own slots information.",
	    "INFO",
	    "    Return information about the cluster.",
	    "KEYSLOT <key>",
	    "    Return the hash slot for <key>.",
	    "MEET <ip> <port> [<bus-port>]",
	    "    Connect nodes into a working cluster.",
	    "MYID",
	    "    Return the node id.",
	    "NODES",
	    "    Return cluster configuration seen by node. Output format:",
	    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	    "REPLICATE <node-id>",
	    "    Configure current node as replica to <node-id>.",
	    "RESET [HARD|SOFT]",
	    "    Reset current node (default: soft).",
	    "SET-CONFIG-EPOCH <epoch>",
	    "    Set config epoch of current node.",
	    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	    "    Set slot state.",
	    "REPLICAS <node-id>",
	    "    Return <node-id> replicas.",
	    "SAVECONFIG",
	    "    Force saving cluster configuration on disk.",
	    "SLOTS",
	    "    Return information about slots range mappings. Each range is made of:",
	    "    start, end, master and replicas IP addresses, ports and ids",
	    "SHARDS",
	    "    Return information about slot range mappings and the nodes associated with them.",
	    "LINKS",
	    "    Return information about all network links between this node and its peers.",
	    "    Output format is an array where each array element is a map containing "
	    "attributes of a link",
	    NULL};

	if (need_cluster(r))
		cmd_reply_help(r, lines);
}

/* READONLY / READWRITE: they matter for replicas only (kvsd has none) */
static void readonly_cmd(struct cmd_req *r)
{
	if (need_cluster(r))
		reply_ok(r->c);
}

static void cluster_cmd(struct cmd_req *r)
{
	cmd_reply_arity(r); /* CLUSTER without a subcommand */
}

#define ADM (CMD_ADMIN | CMD_STALE)
#define SUB(name, fn, arity, flags, summary)                                                       \
	{                                                                                          \
		"cluster|" name, fn, arity, flags, 0, 0, 0, "slow", "cluster", summary, "3.0.0",   \
		    "O(1)", NULL                                                                   \
	}
#define MGMT(name, arity, summary) SUB(name, cluster_static_cmd, arity, ADM, summary)

static const struct cmd_def cluster_subcmds[] = {
    MGMT("addslots", -3, "Assign new hash slots to receiving node"),
    MGMT("addslotsrange", -4, "Assign new hash slots to receiving node"),
    MGMT("bumpepoch", 2, "Advance the cluster config epoch"),
    SUB("count-failure-reports", cluster_count_failure_reports_cmd, 3, ADM,
	"Return the number of failure reports active for a given node"),
    SUB("countkeysinslot", cluster_countkeysinslot_cmd, 3, CMD_STALE,
	"Return the number of local keys in the specified hash slot"),
    MGMT("delslots", -3, "Set hash slots as unbound in receiving node"),
    MGMT("delslotsrange", -4, "Set hash slots as unbound in receiving node"),
    MGMT("failover", -2, "Forces a replica to perform a manual failover of its master."),
    MGMT("flushslots", 2, "Delete a node's own slots information"),
    MGMT("forget", 3, "Remove a node from the nodes table"),
    SUB("getkeysinslot", cluster_getkeysinslot_cmd, 4, CMD_STALE,
	"Return local key names in the specified hash slot"),
    SUB("help", cluster_help_cmd, 2, CMD_LOADING | CMD_STALE,
	"Show helpful text about the "
	"different subcommands"),
    SUB("info", cluster_info_cmd, 2, CMD_STALE, "Provides info about Redis Cluster node state"),
    SUB("keyslot", cluster_keyslot_cmd, 3, CMD_STALE, "Returns the hash slot of the specified key"),
    SUB("links", cluster_links_cmd, 2, CMD_STALE,
	"Returns a list of all TCP links to and from peer nodes in cluster"),
    MGMT("meet", -4, "Force a node cluster to handshake with another node"),
    SUB("myid", cluster_myid_cmd, 2, CMD_STALE, "Return the node id"),
    SUB("nodes", cluster_nodes_cmd, 2, CMD_STALE, "Get Cluster config for the node"),
    SUB("replicas", cluster_replicas_cmd, 3, ADM,
	"List replica nodes of the specified master node"),
    MGMT("replicate", 3, "Reconfigure a node as a replica of the specified master node"),
    MGMT("reset", -2, "Reset a Redis Cluster node"),
    SUB("saveconfig", cluster_saveconfig_cmd, 2, ADM,
	"Forces the node to save cluster state on "
	"disk"),
    MGMT("set-config-epoch", 3, "Set the configuration epoch in a new node"),
    MGMT("setslot", -4, "Bind a hash slot to a specific node"),
    SUB("shards", cluster_shards_cmd, 2, CMD_STALE, "Get array of cluster slots to node mappings"),
    SUB("slaves", cluster_replicas_cmd, 3, ADM, "List replica nodes of the specified master node"),
    SUB("slots", cluster_slots_cmd, 2, CMD_STALE, "Get array of Cluster slot to node mappings"),
    {NULL},
};

const struct cmd_def cmd_cluster_table[] = {
    {"asking", readonly_cmd, 1, CMD_FAST, 0, 0, 0, "fast connection", "cluster",
     "Sent by cluster clients after an -ASK redirect", "3.0.0", "O(1)", NULL},
    {"cluster", cluster_cmd, -2, 0, 0, 0, 0, "slow", "cluster", "A container for cluster commands",
     "3.0.0", "Depends on subcommand.", cluster_subcmds},
    {"readonly", readonly_cmd, 1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "fast connection",
     "cluster",
     "Enables read queries for a connection to a cluster replica "
     "node",
     "3.0.0", "O(1)", NULL},
    {"readwrite", readonly_cmd, 1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "fast connection",
     "cluster",
     "Disables read queries for a connection to a cluster replica "
     "node",
     "3.0.0", "O(1)", NULL},
    {NULL},
};
