/*
 * cmd_conn.c — connection commands: PING ECHO HELLO AUTH QUIT RESET SELECT
 * MONITOR and CLIENT ID/SETNAME/GETNAME/LIST/INFO/HELP/KILL/PAUSE/UNPAUSE,
 * with Redis 7.0's replies. KILL, PAUSE and MONITOR act on other
 * connections through net/ (net_client_kill, net_client_pause,
 * net_monitor_start), which owns them.
 */
#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/net.h"
#include "net/reply.h"
#include "server/cmd.h"
#include "server/cluster.h"
#include "server/blocking.h"
#include "server/config.h"
#include "server/pubsub.h"
#include "server/tracking.h"
#include "server/session.h"
#include "server/strutil.h"
#include "storage/db.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static void ping_cmd(struct cmd_req *r)
{
	if (r->argc > 2) {
		cmd_reply_arity(r);
		return;
	}
	if (conn_resp(r->c) == 2 && pubsub_active(r->c)) {
		/* Redis's RESP2 subscribed-mode PONG: [pong, argument or ""] */
		reply_array(r->c, 2);
		reply_bulk(r->c, "pong", 4);
		if (r->argc == 2)
			reply_bulk(r->c, r->argv[1], r->argl[1]);
		else
			reply_bulk(r->c, "", 0);
		return;
	}
	if (r->argc == 2)
		reply_bulk(r->c, r->argv[1], r->argl[1]);
	else
		reply_simple(r->c, "PONG");
}

static void echo_cmd(struct cmd_req *r)
{
	reply_bulk(r->c, r->argv[1], r->argl[1]);
}

static void quit_cmd(struct cmd_req *r)
{
	reply_ok(r->c);
	conn_close_after_reply(r->c);
}

static int password_set(void)
{
	return !cfg_str_equal(CFG_REQUIREPASS, "", 0);
}

/* 1 if user/pass authenticate the default user. */
static int check_auth(const char *user, size_t ulen, const char *pass, size_t plen)
{
	if (user && !(ulen == 7 && memcmp(user, "default", 7) == 0))
		return 0;
	return cfg_str_equal(CFG_REQUIREPASS, pass, plen);
}

static void auth_cmd(struct cmd_req *r)
{
	const char *user = NULL;
	size_t ulen = 0;
	int pi = 1;

	if (r->argc > 3) {
		cmd_reply_syntax_error(r);
		return;
	}
	/* as Redis: from here on, whatever the outcome, MONITOR shows neither
	 * the password nor the user name */
	for (int i = 1; i < r->argc; i++)
		cmd_redact(r, i);
	if (r->argc == 3) {
		user = r->argv[1];
		ulen = r->argl[1];
		pi = 2;
	}
	if (r->argc == 2 && !password_set()) {
		reply_error(r->c, "ERR AUTH <password> called without any password configured for "
				  "the default user. Are you sure your configuration is correct?");
		return;
	}
	if (!password_set() && user && ulen == 7 && !memcmp(user, "default", 7)) {
		/* nopass default user: any password is accepted */
		conn_set_authenticated(r->c, true);
		reply_ok(r->c);
		return;
	}
	if (check_auth(user, ulen, r->argv[pi], r->argl[pi])) {
		conn_set_authenticated(r->c, true);
		reply_ok(r->c);
	} else {
		reply_error(r->c, "WRONGPASS invalid username-password pair or user is disabled.");
	}
}

static int valid_client_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return 0;
	return 1;
}

static void hello_cmd(struct cmd_req *r)
{
	struct conn *c = r->c;
	long long ver = conn_resp(c);
	const char *setname = NULL;
	size_t setname_len = 0;
	int j = 1;

	if (r->argc >= 2) {
		if (!resp_str2ll(r->argv[1], r->argl[1], &ver)) {
			reply_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		j = 2;
		if (ver < 2 || ver > 3) {
			reply_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (; j < r->argc; j++) {
		int more = r->argc - j - 1;

		if (cmd_arg_is(r, j, "auth") && more >= 2) {
			/* redacted as soon as it is parsed, as Redis: a later
			 * error does not show it */
			cmd_redact(r, j + 1);
			cmd_redact(r, j + 2);
			if (!check_auth(r->argv[j + 1], r->argl[j + 1], r->argv[j + 2],
					r->argl[j + 2]) &&
			    !(!password_set() && r->argl[j + 1] == 7 &&
			      !memcmp(r->argv[j + 1], "default", 7))) {
				reply_error(c, "WRONGPASS invalid username-password pair or user is "
					       "disabled.");
				return;
			}
			conn_set_authenticated(c, true);
			j += 2;
		} else if (cmd_arg_is(r, j, "setname") && more >= 1) {
			setname = r->argv[j + 1];
			setname_len = r->argl[j + 1];
			if (!valid_client_name(setname, setname_len)) {
				reply_error(c, "ERR Client names cannot contain spaces, newlines or "
					       "special characters.");
				return;
			}
			j++;
		} else {
			reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)r->argl[j],
				     r->argv[j]);
			return;
		}
	}
	if (!conn_authenticated(c)) {
		reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
			       "otherwise the HELLO AUTH <user> <pass> option can be used "
			       "to authenticate the client and select the RESP protocol version at "
			       "the same time");
		return;
	}
	if (setname)
		conn_set_name(c, setname, setname_len);
	conn_set_resp(c, (int)ver);
	reply_map(c, 7);
	reply_bulk_cstr(c, "server");
	reply_bulk_cstr(c, "redis");
	reply_bulk_cstr(c, "version");
	reply_bulk_cstr(c, "7.0.15");
	reply_bulk_cstr(c, "proto");
	reply_int(c, conn_resp(c));
	reply_bulk_cstr(c, "id");
	reply_int(c, (long long)conn_id(c));
	reply_bulk_cstr(c, "mode");
	reply_bulk_cstr(c, cluster_on ? "cluster" : "standalone");
	reply_bulk_cstr(c, "role");
	reply_bulk_cstr(c, "master");
	reply_bulk_cstr(c, "modules");
	reply_array(c, 0);
}

static void reset_cmd(struct cmd_req *r)
{
	struct conn *c = r->c;

	conn_set_resp(c, 2);
	conn_set_db(c, 0);
	conn_set_name(c, NULL, 0);
	pubsub_reset(c); /* subscriptions dropped without replies */
	trk_reset(c);
	/* clearClientConnectionState: REPLY OFF and SKIP-next end (a skip
	 * already in force still swallows this reply); 7.0 keeps NO-EVICT */
	session_of(c)->reply_off = false;
	session_of(c)->reply_skip_next = false;
	conn_set_authenticated(c, !password_set());
	reply_simple(c, "RESET");
}

static void select_cmd(struct cmd_req *r)
{
	long long id;

	if (!resp_str2ll(r->argv[1], r->argl[1], &id)) {
		cmd_reply_not_integer(r);
		return;
	}
	if (id < -2147483648LL || id > 2147483647LL) {
		reply_error(r->c, "ERR value is out of range, value must between -2147483648 and "
				  "2147483647");
		return;
	}
	if (cluster_on && id != 0) {
		reply_error(r->c, "ERR SELECT is not allowed in cluster mode");
		return;
	}
	if (id < 0 || id >= cfg_int(CFG_DATABASES)) {
		reply_error(r->c, "ERR DB index is out of range");
		return;
	}
	conn_set_db(r->c, (int)id);
	reply_ok(r->c);
}

/* ---- CLIENT -------------------------------------------------------------- */

static void client_id(struct cmd_req *r)
{
	reply_int(r->c, (long long)conn_id(r->c));
}

static void client_setname(struct cmd_req *r)
{
	if (!valid_client_name(r->argv[2], r->argl[2])) {
		reply_error(r->c,
			    "ERR Client names cannot contain spaces, newlines or special characters.");
		return;
	}
	conn_set_name(r->c, r->argv[2], r->argl[2]);
	reply_ok(r->c);
}

static void client_getname(struct cmd_req *r)
{
	if (conn_name(r->c))
		reply_bulk_cstr(r->c, conn_name(r->c));
	else
		reply_null(r->c);
}

struct list_ctx {
	char *buf;
	size_t len, cap;
	int64_t now;
	long long *ids;
	int nids;
	int type; /* -1 any, 0 normal, 1 pubsub */
};

static void list_one(struct conn *c, void *arg)
{
	struct list_ctx *x = arg;
	char line[1024];
	size_t n;

	if (conn_killed(c))
		return; /* closing; Redis has freed a killed client already */
	if (x->type >= 0 && (int)conn_is_pubsub(c) != x->type)
		return;
	if (x->nids) {
		int found = 0;

		for (int i = 0; i < x->nids; i++)
			if ((unsigned long long)x->ids[i] == conn_id(c))
				found = 1;
		if (!found)
			return;
	}
	n = conn_describe(c, line, sizeof(line) - 1, x->now);
	line[n++] = '\n';
	if (x->len + n > x->cap) {
		x->cap = (x->len + n) * 2;
		x->buf = mem_realloc(x->buf, x->cap);
	}
	memcpy(x->buf + x->len, line, n);
	x->len += n;
}

static void client_list(struct cmd_req *r)
{
	struct list_ctx x = {0};
	long long ids[64];

	x.now = r->now_ms;
	x.type = -1;
	if (r->argc > 2) {
		if (r->argc == 4 && cmd_arg_is(r, 2, "type")) {
			if (cmd_arg_is(r, 3, "normal")) {
				x.type = 0; /* kvsd's clients are normal or pubsub */
			} else if (cmd_arg_is(r, 3, "pubsub")) {
				x.type = 1;
			} else if (cmd_arg_is(r, 3, "master") || cmd_arg_is(r, 3, "replica") ||
				   cmd_arg_is(r, 3, "slave")) {
				reply_verbatim(r->c, "", 0);
				return;
			} else {
				reply_errorf(r->c, "ERR Unknown client type '%.*s'",
					     (int)r->argl[3], r->argv[3]);
				return;
			}
		} else if (r->argc >= 4 && cmd_arg_is(r, 2, "id")) {
			for (int i = 3; i < r->argc && x.nids < 64; i++) {
				if (!resp_str2ll(r->argv[i], r->argl[i], &ids[x.nids]) ||
				    ids[x.nids] <= 0) {
					reply_error(r->c, "ERR Invalid client ID");
					return;
				}
				x.nids++;
			}
			x.ids = ids;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	conn_foreach(list_one, &x);
	reply_verbatim(r->c, x.buf ? x.buf : "", x.len);
	mem_free(x.buf);
}

static void client_info(struct cmd_req *r)
{
	char line[1024];
	size_t n = conn_describe(r->c, line, sizeof(line) - 1, r->now_ms);

	line[n++] = '\n';
	reply_verbatim(r->c, line, n);
}

/* CLIENT REPLY ON|OFF|SKIP: dispatch (cmd.c) drops the replies while off
 * or skipping. OFF and SKIP themselves answer nothing; SKIP while OFF is a
 * no-op, as Redis. */
static void client_reply(struct cmd_req *r)
{
	struct session *s = session_of(r->c);

	if (cmd_arg_is(r, 2, "on")) {
		s->reply_off = false;
		s->reply_skip = false;
		reply_ok(r->c);
	} else if (cmd_arg_is(r, 2, "off")) {
		s->reply_off = true;
	} else if (cmd_arg_is(r, 2, "skip")) {
		if (!s->reply_off)
			s->reply_skip_next = true;
	} else {
		cmd_reply_syntax_error(r);
	}
}

/* CLIENT NO-EVICT ON|OFF: kvsd evicts no client (it has no
 * maxmemory-clients), so only the 'e' flag records it. */
static void client_no_evict(struct cmd_req *r)
{
	if (cmd_arg_is(r, 2, "on")) {
		session_of(r->c)->no_evict = true;
	} else if (cmd_arg_is(r, 2, "off")) {
		session_of(r->c)->no_evict = false;
	} else {
		cmd_reply_syntax_error(r);
		return;
	}
	reply_ok(r->c);
}

/* Redis's CLIENT HELP lines for the subcommands kvsd implements. */
static void client_help(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "GETNAME",
	    "    Return the name of the current connection.",
	    "ID",
	    "    Return the ID of the current connection.",
	    "INFO",
	    "    Return information about the current client connection.",
	    "KILL <ip:port>",
	    "    Kill connection made from <ip:port>.",
	    "KILL <option> <value> [<option> <value> [...]]",
	    "    Kill connections. Options are:",
	    "    * ADDR (<ip:port>|<unixsocket>:0)",
	    "      Kill connections made from the specified address",
	    "    * LADDR (<ip:port>|<unixsocket>:0)",
	    "      Kill connections made to specified local address",
	    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	    "      Kill connections by type.",
	    "    * USER <username>",
	    "      Kill connections authenticated by <username>.",
	    "    * SKIPME (YES|NO)",
	    "      Skip killing current connection (default: yes).",
	    "LIST [options ...]",
	    "    Return information about client connections. Options:",
	    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
	    "      Return clients of specified type.",
	    "UNPAUSE",
	    "    Stop the current client pause, resuming traffic.",
	    "PAUSE <timeout> [WRITE|ALL]",
	    "    Suspend all, or just write, clients for <timeout> milliseconds.",
	    "REPLY (ON|OFF|SKIP)",
	    "    Control the replies sent to the current connection.",
	    "SETNAME <name>",
	    "    Assign the name <name> to the current connection.",
	    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
	    "    Unblock the specified blocked client.",
	    "NO-EVICT (ON|OFF)",
	    "    Protect current client connection from eviction.",
	    NULL,
	};

	cmd_reply_help(r, lines);
}

/* CLIENT KILL addr | CLIENT KILL [ID id] [ADDR a] [LADDR a] [SKIPME yes|no]
 * [TYPE t] [USER u], as Redis 7.0's clientCommand. */
static void client_kill(struct cmd_req *r)
{
	char *addr = NULL, *laddr = NULL;
	long long id = 0;
	int skipme = 1, none = 0, type = -1;
	long killed;

	if (r->argc == 3) {
		addr = mem_strndup(r->argv[2], r->argl[2]);
		skipme = 0; /* the old form may kill the caller */
	} else if (r->argc % 2 != 0) {
		cmd_reply_syntax_error(r);
		return;
	}
	for (int i = 2; r->argc > 3 && i < r->argc; i += 2) {
		if (cmd_arg_is(r, i, "id")) {
			if (!resp_str2ll(r->argv[i + 1], r->argl[i + 1], &id) || id < 1) {
				reply_error(r->c, "ERR client-id should be greater than 0");
				goto out;
			}
		} else if (cmd_arg_is(r, i, "addr")) {
			mem_free(addr);
			addr = mem_strndup(r->argv[i + 1], r->argl[i + 1]);
		} else if (cmd_arg_is(r, i, "laddr")) {
			mem_free(laddr);
			laddr = mem_strndup(r->argv[i + 1], r->argl[i + 1]);
		} else if (cmd_arg_is(r, i, "type")) {
			if (cmd_arg_is(r, i + 1, "master") || cmd_arg_is(r, i + 1, "replica") ||
			    cmd_arg_is(r, i + 1, "slave")) {
				none = 1; /* kvsd has no replicas */
			} else if (cmd_arg_is(r, i + 1, "pubsub")) {
				type = 1;
			} else if (cmd_arg_is(r, i + 1, "normal")) {
				type = 0;
			} else {
				reply_errorf(r->c, "ERR Unknown client type '%.*s'",
					     (int)r->argl[i + 1], r->argv[i + 1]);
				goto out;
			}
		} else if (cmd_arg_is(r, i, "user")) {
			if (!(r->argl[i + 1] == 7 && !memcmp(r->argv[i + 1], "default", 7))) {
				reply_errorf(r->c, "ERR No such user '%.*s'", (int)r->argl[i + 1],
					     r->argv[i + 1]);
				goto out;
			}
		} else if (cmd_arg_is(r, i, "skipme")) {
			if (cmd_arg_is(r, i + 1, "yes")) {
				skipme = 1;
			} else if (cmd_arg_is(r, i + 1, "no")) {
				skipme = 0;
			} else {
				cmd_reply_syntax_error(r);
				goto out;
			}
		} else {
			cmd_reply_syntax_error(r);
			goto out;
		}
	}
	killed = none	    ? 0
		 : type < 0 ? net_client_kill(r->c, (uint64_t)id, addr, laddr, skipme ? r->c : NULL)
			    : net_client_kill_type(r->c, (uint64_t)id, addr, laddr,
						   skipme ? r->c : NULL, type == 1);
	if (r->argc == 3) {
		if (killed == 0)
			reply_error(r->c, "ERR No such client");
		else
			reply_ok(r->c);
	} else {
		reply_int(r->c, killed);
	}
out:
	mem_free(addr);
	mem_free(laddr);
}

/* CLIENT PAUSE WRITE blocks the commands that write, and Redis's
 * may-replicate ones: of those kvsd has PUBLISH and SPUBLISH (not EVAL). */
static int is_write_cmd(int argc, const char **argv, const size_t *argl)
{
	const struct cmd_def *d = argc > 0 ? cmd_lookup(argv[0], argl[0]) : NULL;

	return d && ((d->flags & CMD_WRITE) || strcmp(d->name, "publish") == 0 ||
		     strcmp(d->name, "spublish") == 0);
}

static void client_pause(struct cmd_req *r)
{
	long long ms;
	int all = 1;

	if (r->argc > 4) {
		cmd_reply_arity(r);
		return;
	}
	if (r->argc == 4) {
		if (cmd_arg_is(r, 3, "write")) {
			all = 0;
		} else if (!cmd_arg_is(r, 3, "all")) {
			reply_error(r->c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
			return;
		}
	}
	if (!resp_str2ll(r->argv[2], r->argl[2], &ms)) {
		reply_error(r->c, "ERR timeout is not an integer or out of range");
		return;
	}
	if (ms < 0) {
		reply_error(r->c, "ERR timeout is negative");
		return;
	}
	net_client_pause(r->now_ms + ms, all, is_write_cmd);
	reply_ok(r->c);
}

static void client_unpause(struct cmd_req *r)
{
	net_client_unpause();
	reply_ok(r->c);
}

/* CLIENT UNBLOCK <id> [TIMEOUT|ERROR]: Redis checks the reason first, then
 * the id; 1 if a blocked client was unblocked (it answers its timeout
 * reply, or -UNBLOCKED), else 0. */
static void client_unblock(struct cmd_req *r)
{
	long long id;
	bool error = false;

	if (r->argc > 4) {
		reply_errorf(r->c,
			     "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
			     "CLIENT HELP.",
			     (int)(r->argl[1] > 128 ? 128 : r->argl[1]), r->argv[1]);
		return;
	}
	if (r->argc == 4) {
		if (cmd_arg_is(r, 3, "timeout")) {
			error = false;
		} else if (cmd_arg_is(r, 3, "error")) {
			error = true;
		} else {
			reply_error(r->c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
			return;
		}
	}
	if (!cmd_arg_ll(r, 2, &id))
		return;
	reply_int(r->c, blk_unblock((uint64_t)id, error, r->in_exec || db_in_txn(r->view)));
}

/* What MONITOR shows is decided by cmd_feed_monitors() (cmd.c). */
static void monitor_cmd(struct cmd_req *r)
{
	if (r->in_exec) {
		/* Redis: EXEC sets CLIENT_DENY_BLOCKING, which MONITOR refuses;
		 * the connection stays a normal client */
		reply_error(r->c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
		return;
	}
	if (conn_is_monitor(r->c))
		return; /* as Redis: a second MONITOR is ignored, without a reply */
	reply_ok(r->c);
	net_monitor_start(r->c);
}

static void client_cmd(struct cmd_req *r)
{
	cmd_reply_arity(r);
}

#define CONN_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

static const struct cmd_def client_subcmds[] = {
	{"client|caching", trk_cmd_caching, 3, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Instruct the server about tracking or not keys in the next request", "6.0.0", "O(1)",
	 NULL},
	{"client|getname", client_getname, 2, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Get the current connection name", "2.6.9", "O(1)", NULL},
	{"client|getredir", trk_cmd_getredir, 2, CONN_FLAGS, 0, 0, 0, "slow connection",
	 "connection", "Get tracking notifications redirection client ID if any", "6.0.0", "O(1)",
	 NULL},
	{"client|help", client_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow connection",
	 "connection", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL},
	{"client|id", client_id, 2, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Returns the client ID for the current connection", "5.0.0", "O(1)", NULL},
	{"client|info", client_info, 2, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Returns information about the current client connection.", "6.2.0", "O(1)", NULL},
	{"client|kill", client_kill, -3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection", "Kill the connection of a client",
	 "2.4.0", "O(N) where N is the number of client connections", NULL},
	{"client|list", client_list, -2, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection", "Get the list of client connections",
	 "2.4.0", "O(N) where N is the number of client connections", NULL},
	{"client|pause", client_pause, -3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection",
	 "Stop processing commands from clients for some time", "2.9.50", "O(1)", NULL},
	{"client|no-evict", client_no_evict, 3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection",
	 "Set client eviction mode for the current connection", "7.0.0", "O(1)", NULL},
	{"client|reply", client_reply, 3, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Instruct the server whether to reply to commands", "3.2.0", "O(1)", NULL},
	{"client|setname", client_setname, 3, CONN_FLAGS, 0, 0, 0, "slow connection", "connection",
	 "Set the current connection name", "2.6.9", "O(1)", NULL},
	{"client|tracking", trk_cmd_tracking, -3, CONN_FLAGS, 0, 0, 0, "slow connection",
	 "connection", "Enable or disable server assisted client side caching support", "6.0.0",
	 "O(1). Some options may introduce additional complexity.", NULL},
	{"client|trackinginfo", trk_cmd_trackinginfo, 2, CONN_FLAGS, 0, 0, 0, "slow connection",
	 "connection",
	 "Return information about server assisted client side caching for the current connection",
	 "6.2.0", "O(1)", NULL},
	{"client|unblock", client_unblock, -3, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection",
	 "Unblock a client blocked in a blocking command from a different connection", "5.0.0",
	 "O(log N) where N is the number of client connections", NULL},
	{"client|unpause", client_unpause, 2, CMD_ADMIN | CONN_FLAGS, 0, 0, 0,
	 "admin slow dangerous connection", "connection",
	 "Resume processing of clients that were paused", "6.2.0",
	 "O(N) Where N is the number of paused clients", NULL},
	{NULL},
};

const struct cmd_def cmd_conn_table[] = {
	{"auth", auth_cmd, -2, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOAUTH |
				   CMD_ALLOW_BUSY,
	 0, 0, 0, "fast connection", "connection", "Authenticate to the server", "1.0.0",
	 "O(N) where N is the number of passwords defined for the user", NULL},
	{"client", client_cmd, -2, 0, 0, 0, 0, "slow", "connection",
	 "A container for client connection commands", "2.4.0", "Depends on subcommand.",
	 client_subcmds},
	{"echo", echo_cmd, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast connection", "connection",
	 "Echo the given string", "1.0.0", "O(1)", NULL},
	{"hello", hello_cmd, -1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOAUTH |
				     CMD_ALLOW_BUSY,
	 0, 0, 0, "fast connection", "connection", "Handshake with Redis", "6.0.0", "O(1)", NULL},
	{"monitor", monitor_cmd, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0,
	 "admin slow dangerous", "server",
	 "Listen for all requests received by the server in real time", "1.0.0", NULL, NULL},
	{"ping", ping_cmd, -1, CMD_FAST, 0, 0, 0, "fast connection", "connection", "Ping the server",
	 "1.0.0", "O(1)", NULL},
	{"quit", quit_cmd, -1, CMD_ALLOW_BUSY | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST |
				   CMD_NOAUTH,
	 0, 0, 0, "fast connection", "connection", "Close the connection", "1.0.0", "O(1)", NULL},
	{"reset", reset_cmd, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOAUTH |
				    CMD_ALLOW_BUSY,
	 0, 0, 0, "fast connection", "connection", "Reset the connection", "6.2.0", "O(1)", NULL},
	{"select", select_cmd, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0, "fast connection",
	 "connection", "Change the selected database for the current connection", "1.0.0", "O(1)",
	 NULL},
	{NULL},
};
