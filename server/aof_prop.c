/*
 * aof_prop.c — what each write logs to the AOF (aof.h, "Propagation"):
 * the rules that turn a command into the deterministic form Redis 7.0.15
 * writes into its incremental file, checked against redis-server's own
 * file by tests/integration/py/test_aof.py.
 *
 * A rule runs after its handler, while the command still holds its keys'
 * stripes, so the state it reads (a key's absolute expiry, a popped
 * element named in the reply) is the state the command left. The reply is
 * read back from the connection's buffer (conn_reply_since): what SPOP or a
 * blocking pop took, what INCRBYFLOAT produced.
 */
#include "concurrency/wctx.h"
#include "net/conn.h"
#include "net/reply.h"
#include "server/aof.h"
#include "server/aof_state.h"
#include "server/cmd_docs.h"
#include "server/keyspec.h"
#include "server/cmd.h"
#include "server/script.h"
#include "server/multi.h"
#include "storage/db.h"
#include "storage/kvmap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void cmd_propagate(struct cmd_req *r, int argc, const char *const *argv, const size_t *argl)
{
	if (r->prop == NULL)
		return;
	r->prop->overridden = true;
	aof_prop_add(r, argc, argv, argl);
}

/* ---- reading a reply back */

struct rr {
	const char *p, *e;
};

/* A header "<t><num>\r\n": its type byte and number; false if malformed. */
static bool rr_hdr(struct rr *x, char *t, long long *n)
{
	const char *p = x->p;
	long long v = 0;
	bool neg = false;

	if (p >= x->e)
		return false;
	*t = *p++;
	if (p < x->e && *p == '-') {
		neg = true;
		p++;
	}
	while (p < x->e && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (p + 1 >= x->e || p[0] != '\r' || p[1] != '\n')
		return false;
	x->p = p + 2;
	*n = neg ? -v : v;
	return true;
}

static bool rr_bulk(struct rr *x, const char **s, size_t *l)
{
	char t;
	long long n;

	if (!rr_hdr(x, &t, &n) || t != '$' || n < 0 || n + 2 > x->e - x->p)
		return false;
	*s = x->p;
	*l = (size_t)n;
	x->p += n + 2;
	return true;
}

static bool reply_of(struct cmd_req *r, size_t mark, struct rr *x)
{
	size_t len;
	const char *p = conn_reply_since(r->c, mark, &len);

	if (p == NULL || len == 0 || p[0] == '-')
		return false;
	x->p = p;
	x->e = p + len;
	return true;
}

/* ---- helpers */

static const struct kv_entry *after(struct cmd_req *r, int i)
{
	return db_lookup_notouch(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, 0);
}

#define A(s) s, sizeof(s) - 1

static void log_del(struct cmd_req *r, int i)
{
	const char *argv[2] = {"DEL", r->argv[i]};
	size_t argl[2] = {3, r->argl[i]};

	aof_prop_add(r, 2, argv, argl);
}

static bool has_expiry_opt(struct cmd_req *r, int from)
{
	for (int i = from; i < r->argc; i++)
		if (cmd_arg_is(r, i, "ex") || cmd_arg_is(r, i, "px") || cmd_arg_is(r, i, "exat") ||
		    cmd_arg_is(r, i, "pxat"))
			return true;
	return false;
}

/* SET key value PXAT <ms> (value from argument vi) */
static void log_set_pxat(struct cmd_req *r, int ki, int vi)
{
	const struct kv_entry *e = after(r, ki);
	char ms[24];

	if (e == NULL || kv_entry_expire(e) == 0) {
		if (e == NULL)
			log_del(r, ki);
		return;
	}
	{
		const char *argv[5] = {"SET", r->argv[ki], r->argv[vi], "PXAT", ms};
		size_t argl[5] = {3, r->argl[ki], r->argl[vi], 4, 0};

		argl[4] = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, kv_entry_expire(e));
		aof_prop_add(r, 5, argv, argl);
	}
}

static void as_received(struct cmd_req *r)
{
	aof_prop_add(r, r->argc, r->argv, r->argl);
}

/* ---- the rules (called only when the command wrote something) */

static void rule_set(struct cmd_req *r, size_t mark)
{
	(void)mark;
	if (has_expiry_opt(r, 3))
		log_set_pxat(r, 1, 2);
	else
		as_received(r);
}

static void rule_setex(struct cmd_req *r, size_t mark)
{
	(void)mark;
	log_set_pxat(r, 1, 3);
}

/* EXPIRE / PEXPIRE / EXPIREAT: PEXPIREAT key <ms> [flags], or DEL when
 * the time had passed (Redis's expireGenericCommand). */
static void rule_expire(struct cmd_req *r, size_t mark)
{
	const struct kv_entry *e = after(r, 1);
	const char *argv[8];
	size_t argl[8];
	char ms[24];

	(void)mark;
	if (e == NULL || kv_entry_expire(e) == 0 || r->argc > 8) {
		if (e == NULL)
			log_del(r, 1);
		else
			as_received(r);
		return;
	}
	for (int i = 0; i < r->argc; i++) {
		argv[i] = r->argv[i];
		argl[i] = r->argl[i];
	}
	argv[0] = "PEXPIREAT";
	argl[0] = 9;
	argv[2] = ms;
	argl[2] = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, kv_entry_expire(e));
	aof_prop_add(r, r->argc, argv, argl);
}

/* GETEX key EX|PX|EXAT|PXAT t: PEXPIREAT key <ms>; PERSIST: PERSIST key. */
static void rule_getex(struct cmd_req *r, size_t mark)
{
	const struct kv_entry *e = after(r, 1);
	char ms[24];

	(void)mark;
	if (e == NULL) {
		log_del(r, 1);
		return;
	}
	if (kv_entry_expire(e) == 0) {
		const char *argv[2] = {"PERSIST", r->argv[1]};
		size_t argl[2] = {7, r->argl[1]};

		aof_prop_add(r, 2, argv, argl);
		return;
	}
	{
		const char *argv[3] = {"PEXPIREAT", r->argv[1], ms};
		size_t argl[3] = {9, r->argl[1], 0};

		argl[2] = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, kv_entry_expire(e));
		aof_prop_add(r, 3, argv, argl);
	}
}

/* INCRBYFLOAT: SET key <result> KEEPTTL (the reply is the result). */
static void rule_incrbyfloat(struct cmd_req *r, size_t mark)
{
	struct rr x;
	const char *v;
	size_t vl;

	if (!reply_of(r, mark, &x) || !rr_bulk(&x, &v, &vl))
		return;
	{
		const char *argv[4] = {"SET", r->argv[1], v, "KEEPTTL"};
		size_t argl[4] = {3, r->argl[1], vl, 7};

		aof_prop_add(r, 4, argv, argl);
	}
}

/* HINCRBYFLOAT: HSET key field <result>. */
static void rule_hincrbyfloat(struct cmd_req *r, size_t mark)
{
	struct rr x;
	const char *v;
	size_t vl;

	if (!reply_of(r, mark, &x) || !rr_bulk(&x, &v, &vl))
		return;
	{
		const char *argv[4] = {"HSET", r->argv[1], r->argv[2], v};
		size_t argl[4] = {4, r->argl[1], r->argl[2], vl};

		aof_prop_add(r, 4, argv, argl);
	}
}

static void log_srem(struct cmd_req *r, const char *m, size_t ml)
{
	const char *argv[3] = {"SREM", r->argv[1], m};
	size_t argl[3] = {4, r->argl[1], ml};

	aof_prop_add(r, 3, argv, argl);
}

/* SPOP key: SREM key member. SPOP key count: DEL key when it took the whole
 * set, else one SREM per member (Redis 7.0's spopWithCountCommand). */
static void rule_spop(struct cmd_req *r, size_t mark)
{
	struct rr x;
	const char *m;
	size_t ml;
	char t;
	long long n;

	if (!reply_of(r, mark, &x))
		return;
	if (r->argc == 2) {
		if (rr_bulk(&x, &m, &ml))
			log_srem(r, m, ml);
		return;
	}
	if (after(r, 1) == NULL) {
		log_del(r, 1);
		return;
	}
	if (!rr_hdr(&x, &t, &n))
		return;
	for (long long i = 0; i < n && rr_bulk(&x, &m, &ml); i++)
		log_srem(r, m, ml);
}

/* RESTORE key ttl payload: ttl made absolute, ABSTTL appended. */
static void rule_restore(struct cmd_req *r, size_t mark)
{
	const struct kv_entry *e = after(r, 1);
	const char *argv[16];
	size_t argl[16];
	char ms[24];
	bool abs = false;

	(void)mark;
	for (int i = 4; i < r->argc; i++)
		abs |= cmd_arg_is(r, i, "absttl");
	if (e == NULL || kv_entry_expire(e) == 0 || abs || r->argc > 15) {
		as_received(r);
		return;
	}
	for (int i = 0; i < r->argc; i++) {
		argv[i] = r->argv[i];
		argl[i] = r->argl[i];
	}
	argv[2] = ms;
	argl[2] = (size_t)snprintf(ms, sizeof(ms), "%" PRId64, kv_entry_expire(e));
	argv[r->argc] = "ABSTTL";
	argl[r->argc] = 6;
	aof_prop_add(r, r->argc + 1, argv, argl);
}

/* BLPOP/BRPOP/BZPOPMIN/BZPOPMAX answered at once: LPOP/RPOP/ZPOPMIN/ZPOPMAX
 * of the key the reply names. */
static void pop_named(struct cmd_req *r, size_t mark, const char *cmd)
{
	struct rr x;
	const char *k;
	size_t kl;
	char t;
	long long n;

	if (!reply_of(r, mark, &x) || !rr_hdr(&x, &t, &n) || n < 1 || !rr_bulk(&x, &k, &kl))
		return;
	{
		const char *argv[2] = {cmd, k};
		size_t argl[2] = {strlen(cmd), kl};

		aof_prop_add(r, 2, argv, argl);
	}
}

static void rule_blpop(struct cmd_req *r, size_t mark)
{
	pop_named(r, mark, "LPOP");
}

static void rule_brpop(struct cmd_req *r, size_t mark)
{
	pop_named(r, mark, "RPOP");
}

static void rule_bzpopmin(struct cmd_req *r, size_t mark)
{
	pop_named(r, mark, "ZPOPMIN");
}

static void rule_bzpopmax(struct cmd_req *r, size_t mark)
{
	pop_named(r, mark, "ZPOPMAX");
}

/* BRPOPLPUSH src dst t: RPOPLPUSH src dst; BLMOVE src dst a b t: LMOVE. */
static void rule_brpoplpush(struct cmd_req *r, size_t mark)
{
	const char *argv[3] = {"RPOPLPUSH", r->argv[1], r->argv[2]};
	size_t argl[3] = {9, r->argl[1], r->argl[2]};

	(void)mark;
	aof_prop_add(r, 3, argv, argl);
}

static void rule_blmove(struct cmd_req *r, size_t mark)
{
	const char *argv[5] = {"LMOVE", r->argv[1], r->argv[2], r->argv[3], r->argv[4]};
	size_t argl[5] = {5, r->argl[1], r->argl[2], r->argl[3], r->argl[4]};

	(void)mark;
	aof_prop_add(r, 5, argv, argl);
}

/* LMPOP/BLMPOP/ZMPOP/BZMPOP: <L|R>POP / ZPOP<MIN|MAX> key <popped>, with
 * the key and the count the reply shows. `dir` is the index of LEFT/RIGHT
 * or MIN/MAX: after the numkeys keys. */
static void rule_mpop(struct cmd_req *r, size_t mark, int numkeys_at, bool zset)
{
	struct rr x;
	const char *k, *cmd;
	size_t kl;
	char t, cnt[24];
	long long n, nk;
	int dir;

	if (!reply_of(r, mark, &x) || !rr_hdr(&x, &t, &n) || n != 2 || !rr_bulk(&x, &k, &kl) ||
	    !rr_hdr(&x, &t, &n))
		return;
	if (!cmd_arg_ll(r, numkeys_at, &nk) || nk < 1 || nk >= r->argc)
		return;
	dir = numkeys_at + (int)nk + 1;
	if (dir >= r->argc)
		return;
	if (zset)
		cmd = cmd_arg_is(r, dir, "min") ? "ZPOPMIN" : "ZPOPMAX";
	else
		cmd = cmd_arg_is(r, dir, "left") ? "LPOP" : "RPOP";
	{
		const char *argv[3] = {cmd, k, cnt};
		size_t argl[3] = {strlen(cmd), kl, 0};

		argl[2] = (size_t)snprintf(cnt, sizeof(cnt), "%lld", n);
		aof_prop_add(r, 3, argv, argl);
	}
}

static void rule_lmpop(struct cmd_req *r, size_t mark)
{
	rule_mpop(r, mark, 1, false);
}

static void rule_blmpop(struct cmd_req *r, size_t mark)
{
	rule_mpop(r, mark, 2, false);
}

static void rule_zmpop(struct cmd_req *r, size_t mark)
{
	rule_mpop(r, mark, 1, true);
}

static void rule_bzmpop(struct cmd_req *r, size_t mark)
{
	rule_mpop(r, mark, 2, true);
}

/* Logged whenever they succeed, as Redis's server.dirty++ in them. */
static void rule_always(struct cmd_req *r, size_t mark)
{
	(void)mark;
	as_received(r);
}

static const struct rule {
	const char *name;
	void (*fn)(struct cmd_req *r, size_t mark);
	bool always;
} rules[] = {
    {"set", rule_set, false},
    {"setex", rule_setex, false},
    {"psetex", rule_setex, false},
    {"expire", rule_expire, false},
    {"pexpire", rule_expire, false},
    {"expireat", rule_expire, false},
    {"getex", rule_getex, false},
    {"incrbyfloat", rule_incrbyfloat, false},
    {"hincrbyfloat", rule_hincrbyfloat, false},
    {"spop", rule_spop, false},
    {"restore", rule_restore, false},
    {"blpop", rule_blpop, false},
    {"brpop", rule_brpop, false},
    {"bzpopmin", rule_bzpopmin, false},
    {"bzpopmax", rule_bzpopmax, false},
    {"brpoplpush", rule_brpoplpush, false},
    {"blmove", rule_blmove, false},
    {"lmpop", rule_lmpop, false},
    {"blmpop", rule_blmpop, false},
    {"zmpop", rule_zmpop, false},
    {"bzmpop", rule_bzmpop, false},
    {"flushall", rule_always, true},
    {"flushdb", rule_always, true},
    {"swapdb", rule_always, true},
    /* functions change no key: logged as received when they succeed */
    {"function|load", rule_always, true},
    {"function|delete", rule_always, true},
    {"function|flush", rule_always, true},
    {"function|restore", rule_always, true},
};

/* ---- the per-command table (aof_state.h, aof_cmd_info_of) */

#define INFO_SLOTS 1024 /* a power of two, over twice the rows */

static struct aof_cmd_info infos[INFO_SLOTS];
static pthread_once_t infos_once = PTHREAD_ONCE_INIT;

static size_t info_slot(const struct cmd_def *d)
{
	uintptr_t h = (uintptr_t)d;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (INFO_SLOTS - 1);
}

/* Whether the shortcut finds what keyspec_find finds: the positions of a
 * fixed range do not depend on argc once argc > last (and neither finds
 * keys below that), so one argv of last + 1 words settles it. */
static bool range_agrees(const struct aof_cmd_info *in, const struct cmd_doc *doc)
{
	const char *argv[64];
	size_t argl[64];
	struct keyspec_key keys[64];
	int argc = in->last + 1, n, k = 0;

	if (argc > 64 || argc * (doc->nkeyspecs + 1) > 64)
		return false;
	for (int i = 0; i < argc; i++) {
		argv[i] = i ? "k" : in->d->name;
		argl[i] = strlen(argv[i]);
	}
	n = keyspec_find(doc, argc, argv, argl, keys, 64);
	for (int i = in->first; i <= in->last; i += in->step, k++)
		if (k >= n || keys[k].pos != i)
			return false;
	return k == n;
}

static void info_fill(struct aof_cmd_info *in, const struct cmd_def *d)
{
	const struct cmd_doc *doc;

	in->d = d;
	in->exec_or_eval = multi_is_exec(d) || script_is_eval(d);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].name, d->name) == 0) {
			in->rule = &rules[i];
			break;
		}
	doc = in->exec_or_eval ? NULL : cmd_docs_find(d->name);
	in->doc = doc;
	in->keys = doc && keyspec_has_keys(doc) ? AOF_KEYS_SPECS : AOF_KEYS_NONE;
	if (in->keys != AOF_KEYS_SPECS)
		return;
	if (strcmp(d->name, "set") == 0) {
		/* variable flags (GET): Redis's setGetKeys, argv[1] */
		in->keys = AOF_KEYS_RANGE;
		in->first = in->last = in->step = 1;
	} else if (doc->nkeyspecs == 1) {
		const struct cmd_doc_keyspec *ks = &doc->keyspecs[0];
		unsigned f = keyspec_flags(ks->flags);

		/* keyspec_find's by_specs for one index/range spec of fixed
		 * length; at most 32 keys (struct aof_locks) */
		if (!(f & (KS_NOT_KEY | KS_INCOMPLETE | KS_VARIABLE_FLAGS)) &&
		    ks->bs_type == CMD_DOC_BS_INDEX && ks->fk_type == CMD_DOC_FK_RANGE &&
		    ks->bs_index > 0 && ks->fk[0] >= 0 && ks->fk[1] > 0 &&
		    ks->fk[0] / ks->fk[1] < 32) {
			in->keys = AOF_KEYS_RANGE;
			in->first = ks->bs_index;
			in->last = ks->bs_index + ks->fk[0];
			in->step = ks->fk[1];
		}
	}
	if (in->keys == AOF_KEYS_RANGE && !range_agrees(in, doc))
		in->keys = AOF_KEYS_SPECS; /* the search stays the authority */
}

static void info_add(const struct cmd_def *d, void *arg)
{
	size_t i = info_slot(d);

	(void)arg;
	while (infos[i].d != NULL && infos[i].d != d)
		i = (i + 1) & (INFO_SLOTS - 1);
	if (infos[i].d == NULL)
		info_fill(&infos[i], d);
	for (const struct cmd_def *s = d->subcmds; s && s->name; s++)
		info_add(s, NULL);
}

static void infos_build(void)
{
	cmd_foreach(info_add, NULL);
}

const struct aof_cmd_info *aof_cmd_info_of(const struct cmd_def *d)
{
	size_t i = info_slot(d);

	/* built once, read-only after: pthread_once orders the filling before
	 * every reader's use */
	pthread_once(&infos_once, infos_build);
	while (infos[i].d != NULL) {
		if (infos[i].d == d)
			return &infos[i];
		i = (i + 1) & (INFO_SLOTS - 1);
	}
	return NULL;
}

void aof_after_cmd(struct cmd_req *r, const struct cmd_def *d, size_t reply_mark, uint64_t writes0)
{
	const struct aof_cmd_info *in;
	const struct rule *rule = NULL;
	bool wrote;

	if (r->prop == NULL)
		return;
	/* aof_before_cmd found the row (a transaction's commands run inside
	 * EXEC's: then look) */
	in = r->ctx->aof_cmd && r->ctx->aof_cmd->info && r->ctx->aof_cmd->info->d == d
		 ? r->ctx->aof_cmd->info
		 : aof_cmd_info_of(d);
	if (in ? in->exec_or_eval : multi_is_exec(d) || script_is_eval(d))
		return;
	if (r->prop->overridden) {
		r->prop->overridden = false;
		return;
	}
	if (in) {
		rule = in->rule;
	} else {
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			if (strcmp(rules[i].name, d->name) == 0) {
				rule = &rules[i];
				break;
			}
	}
	if (rule && rule->always)
		wrote = conn_reply_first_byte(r->c, reply_mark) != '-';
	else
		wrote = r->ctx->db_writes != writes0;
	if (!wrote)
		return;
	if (rule)
		rule->fn(r, reply_mark);
	else
		as_received(r);
}
