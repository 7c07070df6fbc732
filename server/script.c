/*
 * script.c — EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT (script.h):
 * the shared script cache, the per-worker Lua states, a script's run as a
 * transaction with re-runs, redis.call's dispatch into the script's view,
 * and the busy/kill bookkeeping.
 *
 * redis.call runs the command's handler with a request whose view is the
 * script's overlay and whose reply goes to the EVAL client's buffer, in the
 * script's RESP version; the bytes are read back, converted to Lua values
 * (script_lua.c) and truncated away. The AOF record (r->prop) collects what
 * each call wrote; it is reset with every new attempt.
 */
#include "server/script.h"
#include "server/cluster.h"
#include "server/script_internal.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "concurrency/clock.h"
#include "concurrency/mem.h"
#include "concurrency/wctx.h"
#include "net/net.h"
#include "net/resp.h"
#include "server/aof.h"
#include "server/cmd_docs.h"
#include "server/cmdstat.h"
#include "server/config.h"
#include "server/keyspec.h"
#include "server/notify.h"
#include "server/multi.h"
#include "server/pubsub.h"
#include "server/sha1.h"
#include "storage/db.h"

/* ---- the shared cache: sha -> body, under cache_lock */

struct cached {
	char sha[41];
	char *body;
	size_t len;
	struct cached *next;
};

#define CACHE_BUCKETS 4096
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache[CACHE_BUCKETS]; /* under cache_lock */
static long long cache_count, cache_bytes;  /* under cache_lock */
/* Written under cache_lock by SCRIPT FLUSH; read by every script at its
 * start. acquire/release: a state that sees the new generation drops its
 * functions, and the flush happened before. */
static _Atomic uint64_t cache_gen = 1;

static unsigned bucket_of(const char *sha)
{
	unsigned h = 0;

	for (int i = 0; i < 8; i++)
		h = h * 16 + (unsigned)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
	return h % CACHE_BUCKETS;
}

static struct cached *cache_find_locked(const char *sha)
{
	for (struct cached *e = cache[bucket_of(sha)]; e; e = e->next)
		if (memcmp(e->sha, sha, 40) == 0)
			return e;
	return NULL;
}

static void cache_add(const char *sha, const char *body, size_t len)
{
	pthread_mutex_lock(&cache_lock);
	if (!cache_find_locked(sha)) {
		struct cached *e = mem_alloc(sizeof(*e));
		unsigned b = bucket_of(sha);

		memcpy(e->sha, sha, 41);
		e->body = mem_alloc(len + 1);
		memcpy(e->body, body, len);
		e->body[len] = '\0';
		e->len = len;
		e->next = cache[b];
		cache[b] = e;
		cache_count++;
		cache_bytes += (long long)len;
	}
	pthread_mutex_unlock(&cache_lock);
}

/* A copy of the body of sha (mem_free it), or NULL. */
static char *cache_get(const char *sha, size_t *len)
{
	char *out = NULL;

	pthread_mutex_lock(&cache_lock);
	struct cached *e = cache_find_locked(sha);
	if (e) {
		out = mem_alloc(e->len + 1);
		memcpy(out, e->body, e->len + 1);
		*len = e->len;
	}
	pthread_mutex_unlock(&cache_lock);
	return out;
}

static bool cache_has(const char *sha)
{
	bool has;

	pthread_mutex_lock(&cache_lock);
	has = cache_find_locked(sha) != NULL;
	pthread_mutex_unlock(&cache_lock);
	return has;
}

static void cache_flush(void)
{
	pthread_mutex_lock(&cache_lock);
	for (unsigned b = 0; b < CACHE_BUCKETS; b++) {
		while (cache[b]) {
			struct cached *e = cache[b];
			cache[b] = e->next;
			mem_free(e->body);
			mem_free(e);
		}
	}
	cache_count = 0;
	cache_bytes = 0;
	/* release: pairs with the acquire in script_worker_get(): states compiled
	 * before the flush drop their functions */
	atomic_fetch_add_explicit(&cache_gen, 1, memory_order_release);
	pthread_mutex_unlock(&cache_lock);
}

long long script_cached_count(void)
{
	long long n;

	pthread_mutex_lock(&cache_lock);
	n = cache_count;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

long long script_cached_bytes(void)
{
	long long n;

	pthread_mutex_lock(&cache_lock);
	n = cache_bytes;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

void script_teardown(void)
{
	cache_flush();
	script_func_teardown();
}

/* ---- busy / kill slots: one per worker state */

#define SLOTS 1024
/* The keys a busy script has touched: one bit per hash bucket (a key shares
 * its bit with the keys that collide on it: those get -BUSY too). */
#define FILT_BITS  16384
#define FILT_WORDS (FILT_BITS / 64)
enum { SLOT_IDLE, SLOT_RUNNING, SLOT_BUSY };
struct slot {
	/* state: written by the owner; read by SCRIPT KILL (any thread).
	 * wrote, kill: see their uses. */
	_Atomic int state;
	_Atomic bool wrote;
	_Atomic bool kill;
	/* the worker's Lua state's bytes: written by the owner after each
	 * script, summed by INFO (relaxed: a statistic, publishes nothing) */
	_Atomic long long mem;
	/* set by the owner before the run can turn busy; read by KILL and
	 * the busy rejection (relaxed: ordered by the acquire of state) */
	_Atomic bool func;
	/* while BUSY: the attempt runs exclusively (or may be about to), and
	 * the keys its attempts have read or written (db_key_hash buckets).
	 * Written by the owner, set before the slot turns BUSY and cleared
	 * after it left BUSY; read by script_busy_reject (relaxed: hints
	 * ordered by the acquire of state; a command racing with an update is
	 * served as if it came before it, and the transaction keeps the
	 * script atomic whatever is served) */
	_Atomic bool excl;
	_Atomic uint64_t filt[FILT_WORDS];
	/* a busy run's name and command, for FUNCTION STATS: under busy_lock */
	char *name;
	char **argv;
	size_t *argl;
	int argc;
	int64_t start_us;
};
static struct slot slots[SLOTS];
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int slots_used;
/* scripts past busy-reply-threshold now; read by every dispatch */
static _Atomic int busy_count;

static unsigned filt_bit(uint64_t h)
{
	return (unsigned)((h ^ (h >> 29) ^ (h >> 47)) & (FILT_BITS - 1));
}

/* Whether d (a command without allow-busy) must wait for a busy script:
 * script.h, "Busy scripts". */
static bool busy_conflict(const struct cmd_def *d, struct db *db, int index, int argc,
			  const char *const *argv, const size_t *argl)
{
	struct keyspec_key keys[64];
	uint64_t h[64];
	const struct cmd_doc *doc;
	int n = 0, ns = atomic_load_explicit(&slots_used, memory_order_relaxed);

	/* a script may touch any key; EXEC's queued commands are not looked
	 * at; administration has effects beyond keys */
	if (script_is_eval(d) || multi_is_exec(d) || (d->flags & CMD_ADMIN))
		return true;
	/* with the AOF on, a script holds the log's gate (aof.h) that every
	 * write takes */
	if ((d->flags & CMD_WRITE) && aof_started())
		return true;
	doc = cmd_docs_find(d->name);
	if (doc && keyspec_has_keys(doc)) {
		if (argc * (doc->nkeyspecs + 1) > 64)
			return true;
		n = keyspec_find(doc, argc, argv, argl, keys, 64);
		if (n < 0)
			return true;
	}
	/* a write without keys is a whole-database one (FLUSHALL, SWAPDB) */
	if (n == 0 && (d->flags & CMD_WRITE))
		return true;
	if (n > 0) {
		struct db_view v;

		db_view_init(db, index, &v);
		for (int i = 0; i < n; i++)
			h[i] = db_key_hash(&v, argv[keys[i].pos], argl[keys[i].pos]);
	}
	if (ns > SLOTS)
		ns = SLOTS;
	for (int i = 0; i < ns; i++) {
		struct slot *s = &slots[i];

		/* acquire: pairs with the hook's release of SLOT_BUSY (excl and
		 * the filter are set before it) */
		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_BUSY)
			continue;
		if (atomic_load_explicit(&s->excl, memory_order_relaxed))
			return true;
		for (int k = 0; k < n; k++) {
			unsigned b = filt_bit(h[k]);

			if (atomic_load_explicit(&s->filt[b / 64], memory_order_relaxed) &
			    ((uint64_t)1 << (b % 64)))
				return true;
		}
	}
	return false;
}

bool script_busy_reject(const struct cmd_def *d, struct db *db, int index, int argc,
			const char *const *argv, const size_t *argl)
{
	/* relaxed: a hint; a command racing with the script crossing the
	 * threshold is served as if it came just before */
	if (__builtin_expect(atomic_load_explicit(&busy_count, memory_order_relaxed) == 0, 1))
		return false;
	if (d->flags & CMD_ALLOW_BUSY)
		return false;
	return busy_conflict(d, db, index, argc, argv, argl);
}

/* Adds the keys the running attempt touched since the last call to the
 * slot's filter. The owner's thread, while the run is (turning) busy. */
static void slot_publish_keys(struct script_worker *w, struct slot *s, const struct script_run *run)
{
	uint64_t h[64];
	size_t n;

	if (!run->txn) /* inside EXEC: exclusive, everything gets -BUSY */
		return;
	while ((n = db_txn_key_hashes(run->txn, w->published, h, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			unsigned b = filt_bit(h[i]);

			/* relaxed: a hint (struct slot) */
			atomic_fetch_or_explicit(&s->filt[b / 64], (uint64_t)1 << (b % 64),
						 memory_order_relaxed);
		}
		w->published += n;
	}
}

/* Records the busy run's name and command (hook, at the threshold). */
static void slot_record(struct slot *s, const struct script_run *run)
{
	const struct cmd_req *r = run->r;

	pthread_mutex_lock(&busy_lock);
	s->name = mem_alloc(strlen(run->name) + 1);
	memcpy(s->name, run->name, strlen(run->name) + 1);
	s->argc = r->argc;
	s->argv = mem_alloc((size_t)r->argc * sizeof(*s->argv));
	s->argl = mem_alloc((size_t)r->argc * sizeof(*s->argl));
	for (int i = 0; i < r->argc; i++) {
		s->argv[i] = mem_alloc(r->argl[i] + 1);
		memcpy(s->argv[i], r->argv[i], r->argl[i]);
		s->argl[i] = r->argl[i];
	}
	s->start_us = run->start_us;
	pthread_mutex_unlock(&busy_lock);
}

static void slot_forget(struct slot *s)
{
	pthread_mutex_lock(&busy_lock);
	for (int i = 0; i < s->argc; i++)
		mem_free(s->argv[i]);
	mem_free(s->argv);
	mem_free(s->argl);
	mem_free(s->name);
	s->name = NULL;
	s->argv = NULL;
	s->argl = NULL;
	s->argc = 0;
	pthread_mutex_unlock(&busy_lock);
}

int script_busy_function(char **name, char ***argv, size_t **argl, int *argc, long long *ms)
{
	int n = atomic_load_explicit(&slots_used, memory_order_relaxed);
	int found = 0;

	if (n > SLOTS)
		n = SLOTS;
	pthread_mutex_lock(&busy_lock);
	for (int i = 0; i < n && !found; i++) {
		struct slot *s = &slots[i];

		if (!s->name)
			continue;
		if (!atomic_load_explicit(&s->func, memory_order_relaxed)) {
			found = -1;
			break;
		}
		found = 1;
		*name = mem_alloc(strlen(s->name) + 1);
		memcpy(*name, s->name, strlen(s->name) + 1);
		*argc = s->argc;
		*argv = mem_alloc((size_t)s->argc * sizeof(**argv));
		*argl = mem_alloc((size_t)s->argc * sizeof(**argl));
		for (int j = 0; j < s->argc; j++) {
			(*argv)[j] = mem_alloc(s->argl[j] + 1);
			memcpy((*argv)[j], s->argv[j], s->argl[j]);
			(*argl)[j] = s->argl[j];
		}
		*ms = (clock_mono_us() - s->start_us) / 1000;
	}
	pthread_mutex_unlock(&busy_lock);
	return found;
}

/* script_stop_for_shutdown(): every run's hook stops it (never cleared: the
 * server is exiting) */
static _Atomic bool stop_all;

bool script_busy_any(void)
{
	/* relaxed: a hint, as in script_busy_reject */
	return atomic_load_explicit(&busy_count, memory_order_relaxed) > 0;
}

void script_stop_for_shutdown(void)
{
	/* relaxed: the hook only needs to see it eventually; the stopped run
	 * publishes nothing (it aborts) */
	atomic_store_explicit(&stop_all, true, memory_order_relaxed);
}

bool script_busy_is_function(void)
{
	int n = atomic_load_explicit(&slots_used, memory_order_relaxed);

	if (n > SLOTS)
		n = SLOTS;
	for (int i = 0; i < n; i++)
		/* acquire: pairs with the hook's release of SLOT_BUSY */
		if (atomic_load_explicit(&slots[i].state, memory_order_acquire) == SLOT_BUSY)
			return atomic_load_explicit(&slots[i].func, memory_order_relaxed);
	return false;
}

static void slot_leave(struct script_worker *w)
{
	struct slot *s = w->slot >= 0 ? &slots[w->slot] : NULL;

	if (!s)
		return;
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_BUSY) {
		/* relaxed: busy_count is a hint (script_busy_reject) */
		atomic_fetch_sub_explicit(&busy_count, 1, memory_order_relaxed);
		slot_forget(s);
		/* relaxed: readers test it only while BUSY; the release of the
		 * next BUSY orders these stores before its bits */
		for (int i = 0; i < FILT_WORDS; i++)
			atomic_store_explicit(&s->filt[i], 0, memory_order_relaxed);
	}
	/* release: pairs with SCRIPT KILL's acquire; it sees the run ended */
	atomic_store_explicit(&s->state, SLOT_IDLE, memory_order_release);
	atomic_store_explicit(&s->kill, false, memory_order_relaxed);
}

static void mem_publish(struct script_worker *w)
{
	if (w->slot >= 0)
		atomic_store_explicit(&slots[w->slot].mem, (long long)w->lua_mem,
				      memory_order_relaxed);
}

long long script_lua_memory(void)
{
	int n = atomic_load_explicit(&slots_used, memory_order_relaxed);
	long long v = 0;

	for (int i = 0; i < n && i < SLOTS; i++)
		v += atomic_load_explicit(&slots[i].mem, memory_order_relaxed);
	return v > 0 ? v : 37888; /* an empty state's size in Redis, before any */
}

/* ---- per-worker states */

struct script_worker *script_worker_get(struct wctx *ctx)
{
	struct script_worker *w = ctx->script;
	/* acquire: pairs with the release in cache_flush() */
	uint64_t gen = atomic_load_explicit(&cache_gen, memory_order_acquire);

	if (!w) {
		w = mem_calloc(1, sizeof(*w));
		/* relaxed: only distinctness matters */
		int s = atomic_fetch_add_explicit(&slots_used, 1, memory_order_relaxed);
		w->slot = s < SLOTS ? s : -1;
		ctx->script = w;
	}
	if (!w->L) {
		w->L = script_lua_create(w);
		if (!w->L)
			return NULL;
		w->gen = gen;
		mem_publish(w);
	}
	if (w->gen != gen) {
		if (w->fn_ref > 0)
			luaL_unref(w->L, LUA_REGISTRYINDEX, w->fn_ref);
		w->fn_ref = 0;
		w->fn_sha[0] = '\0';
		lua_newtable(w->L);
		lua_setfield(w->L, LUA_REGISTRYINDEX, SCRIPT_FNS_KEY);
		lua_gc(w->L, LUA_GCCOLLECT, 0);
		w->gen = gen;
	}
	return w;
}

void script_thread_exit(void)
{
	struct wctx *ctx = wctx_self();
	struct script_worker *w = ctx->script;

	if (!w)
		return;
	if (w->L)
		lua_close(w->L);
	w->lua_mem = 0;
	mem_publish(w);
	mem_free(w->scratch);
	buf_deinit(&w->mon);
	db_txn_destroy(&w->txn);
	mem_free(w);
	ctx->script = NULL;
}

static void sha_of(const char *body, size_t len, char out[41])
{
	uint8_t d[SHA1_DIGEST_LEN];

	sha1(body, len, d);
	sha1_hex(d, out);
}

/* Pushes the compiled function for sha, compiling body (when given) or the
 * cached body. 1 on success; 0 with the error (compile) or NOSCRIPT
 * replied, nothing pushed. */
/*
 * A `#!lua [flags=f1,f2]` first line (Redis 7.0's evalExtractShebangFlags):
 * *skip is the length of that line (without its newline, so line numbers
 * stay), *flags its SCRIPT_FLAG_* bits. 0, or -1 after writing the error
 * text into err.
 */
static int shebang(const char *body, size_t len, size_t *skip, unsigned *flags, char *err,
		   size_t errlen)
{
	static const char *const known[] = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
					    "allow-cross-slot-keys"};
	static const unsigned bits[] = {SCRIPT_FLAG_NO_WRITES, SCRIPT_FLAG_ALLOW_OOM,
					SCRIPT_FLAG_ALLOW_STALE, SCRIPT_FLAG_NO_CLUSTER,
					SCRIPT_FLAG_ALLOW_CROSS_SLOT};
	const char *end, *p;

	*skip = 0;
	*flags = 0;
	if (len < 2 || body[0] != '#' || body[1] != '!')
		return 0;
	end = memchr(body, '\n', len);
	if (!end) {
		snprintf(err, errlen, "ERR Invalid script shebang");
		return -1;
	}
	*skip = (size_t)(end - body);
	p = body;
	for (int part = 0;; part++) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p >= end) {
			if (part == 0) {
				snprintf(err, errlen, "ERR Invalid engine in script shebang");
				return -1;
			}
			return 0;
		}
		const char *w = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		int wl = (int)(p - w);
		if (part == 0) {
			if (wl != 5 || memcmp(w, "#!lua", 5) != 0) {
				snprintf(err, errlen,
					 "ERR Unexpected engine in script shebang: %.*s", wl, w);
				return -1;
			}
			continue;
		}
		if (wl < 6 || memcmp(w, "flags=", 6) != 0) {
			snprintf(err, errlen, "ERR Unknown lua shebang option: %.*s", wl, w);
			return -1;
		}
		for (const char *f = w + 6; f < p;) {
			const char *c = memchr(f, ',', (size_t)(p - f));
			int fl = (int)((c ? c : p) - f);
			size_t k;

			for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
				if (strlen(known[k]) == (size_t)fl &&
				    memcmp(known[k], f, (size_t)fl) == 0)
					break;
			if (k == sizeof(known) / sizeof(known[0])) {
				snprintf(err, errlen, "ERR Unexpected flag in script shebang: %.*s",
					 fl, f);
				return -1;
			}
			*flags |= bits[k];
			f += fl + 1;
		}
	}
}

/* Makes the function at the top of w->L the one push_function finds first. */
static void remember_fn(struct script_worker *w, const char *sha, unsigned flags)
{
	if (w->fn_ref > 0)
		luaL_unref(w->L, LUA_REGISTRYINDEX, w->fn_ref);
	lua_pushvalue(w->L, -1);
	w->fn_ref = luaL_ref(w->L, LUA_REGISTRYINDEX);
	memcpy(w->fn_sha, sha, 40);
	w->fn_sha[40] = '\0';
	w->fn_flags = flags;
}

/* Pushes the compiled function for sha, compiling body (when given) or the
 * cached body; *flags: its shebang's SCRIPT_FLAG_* bits. 1 on success; 0 with
 * the error (compile, shebang) or NOSCRIPT replied, nothing pushed. */
static int push_function(struct script_worker *w, struct cmd_req *r, const char *sha,
			 const char *body, size_t len, unsigned *flags)
{
	lua_State *L = w->L;
	char *copy = NULL, err[256], key[42];
	size_t skip;

	if (w->fn_ref > 0 && memcmp(w->fn_sha, sha, 40) == 0) {
		/* the same script as last time: no lookups by 40-byte strings */
		lua_rawgeti(L, LUA_REGISTRYINDEX, w->fn_ref);
		*flags = w->fn_flags;
		if (body)
			cache_add(sha, body, len); /* after a flush another state may lack it */
		return 1;
	}
	memcpy(key, sha, 40);
	key[40] = '!'; /* fns[sha .. "!"]: the shebang's flags */
	key[41] = '\0';
	lua_getfield(L, LUA_REGISTRYINDEX, SCRIPT_FNS_KEY);
	lua_getfield(L, -1, sha);
	if (lua_isfunction(L, -1)) {
		lua_getfield(L, -2, key);
		*flags = (unsigned)lua_tointeger(L, -1);
		lua_pop(L, 1);
		lua_remove(L, -2);
		remember_fn(w, sha, *flags);
		if (body)
			cache_add(sha, body, len); /* after a flush another state may lack it */
		return 1;
	}
	lua_pop(L, 1);
	if (!body) {
		copy = cache_get(sha, &len);
		if (!copy) {
			lua_pop(L, 1);
			reply_error(r->c, "NOSCRIPT No matching script. Please use EVAL.");
			return 0;
		}
		body = copy;
	}
	if (shebang(body, len, &skip, flags, err, sizeof(err))) {
		reply_error(r->c, err);
		lua_pop(L, 1);
		mem_free(copy);
		return 0;
	}
	if (luaL_loadbuffer(L, body + skip, len - skip, "@user_script")) {
		reply_errorf(r->c, "ERR Error compiling script (new function): %s",
			     lua_tostring(L, -1));
		lua_pop(L, 2);
		mem_free(copy);
		return 0;
	}
	if (!copy)
		cache_add(sha, body, len);
	mem_free(copy);
	lua_pushinteger(L, (lua_Integer)*flags);
	lua_setfield(L, -3, key);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, sha);
	lua_remove(L, -2);
	remember_fn(w, sha, *flags);
	mem_publish(w);
	return 1;
}

/* ---- the hook: time, SCRIPT KILL, abandoned attempts */

static void hook(lua_State *L, lua_Debug *ar)
{
	struct script_worker *w = script_worker_of(L);
	struct script_run *run = w->run;
	struct slot *s = w->slot >= 0 ? &slots[w->slot] : NULL;

	(void)ar;
	if (!run)
		return;
	/* relaxed: see script_stop_for_shutdown */
	if (__builtin_expect(atomic_load_explicit(&stop_all, memory_order_relaxed), 0)) {
		run->killed = run->shut = true;
		lua_sethook(L, hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
	}
	if (run->restart || run->killed) {
		/* keep raising so that pcall cannot swallow it */
		lua_sethook(L, hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
		lua_pushstring(L, run->killed ? "Script killed by user with SCRIPT KILL..."
					      : "kvsd: attempt abandoned");
		lua_error(L);
	}
	if (!s)
		return;
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_RUNNING) {
		long long limit = cfg_int(CFG_BUSY_REPLY_THRESHOLD);

		if (limit > 0 && clock_mono_us() - run->start_us > limit * 1000) {
			slot_record(s, run);
			/* relaxed: published by the release below */
			atomic_store_explicit(&s->excl, run->exclusive, memory_order_relaxed);
			slot_publish_keys(w, s, run);
			/* release: the func flag and the record before BUSY; pairs
			 * with the acquire in script_busy_is_function() */
			atomic_store_explicit(&s->state, SLOT_BUSY, memory_order_release);
			/* relaxed: busy_count is a hint (script_busy_reject) */
			atomic_fetch_add_explicit(&busy_count, 1, memory_order_relaxed);
		}
		return;
	}
	/* acquire: pairs with SCRIPT KILL's release of kill */
	if (atomic_load_explicit(&s->kill, memory_order_acquire)) {
		run->killed = true;
		lua_sethook(L, hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
		script_lua_push_error(L, "Script killed by user with SCRIPT KILL...");
		lua_error(L);
	}
}

/* ---- redis.call / redis.pcall */

static bool arity_ok(const struct cmd_def *d, int argc)
{
	return d->arity >= 0 ? argc == d->arity : argc >= -d->arity;
}

/* Raises (raise) or returns an error table for err. */
static int call_error(lua_State *L, bool raise, const char *err)
{
	script_lua_push_error(L, err);
	return raise ? lua_error(L) : 1;
}

/* A Lua number as redis.call passes it: Redis 7.0's "%.17g". An integral
 * value below 2^53 prints the same digits, without printf's cost (a
 * token bucket's arguments are such numbers). At most 31 bytes. */
static size_t format_number(char out[32], double v)
{
	if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v &&
	    (v != 0 || !signbit(v)))
		return resp_ll2str(out, (long long)v);
	return (size_t)snprintf(out, 32, "%.17g", v);
}

static int do_call(lua_State *L, bool raise)
{
	struct script_worker *w = script_worker_of(L);
	struct script_run *run = w->run;
	int argc = lua_gettop(L);
	const char *sv[16];
	size_t sl[16];
	const char **argv = sv;
	size_t *argl = sl;
	char snums[16][32]; /* numbers' text (nums: here up to 16 arguments) */
	char(*nums)[32] = NULL;
	int ret;
	bool maybe_err = false;

	if (!run)
		return luaL_error(L, "redis.call outside a script");
	if (run->restart || run->killed) {
		lua_pushstring(L, "kvsd: attempt abandoned");
		return lua_error(L);
	}
	if (argc == 0)
		return call_error(L, raise,
				  "Please specify at least one argument for this redis lib call");
	if (argc > 16) {
		argv = mem_alloc((size_t)argc * sizeof(*argv));
		argl = mem_alloc((size_t)argc * sizeof(*argl));
	}
	for (int j = 0; j < argc; j++) {
		int t = lua_type(L, j + 1);

		if (t == LUA_TNUMBER) {
			if (!nums)
				nums = argc <= 16 ? snums : mem_alloc((size_t)argc * sizeof(*nums));
			argl[j] = format_number(nums[j], (double)lua_tonumber(L, j + 1));
			argv[j] = nums[j];
		} else if (t == LUA_TSTRING) {
			argv[j] = lua_tolstring(L, j + 1, &argl[j]);
		} else {
			ret = -1;
			goto bad_args;
		}
	}
	size_t idx = 0;
	const struct cmd_def *d;
	const char *err = NULL;

	if (w->call_d && argl[0] == w->call_len && memcmp(argv[0], w->call_name, argl[0]) == 0) {
		d = w->call_d; /* a script calls the same command over and over */
		idx = w->call_idx;
	} else {
		d = cmd_lookup_argv(argc, argv, argl, &idx);
		if (d && !d->subcmds && argl[0] <= sizeof(w->call_name)) {
			memcpy(w->call_name, argv[0], argl[0]);
			w->call_len = argl[0];
			w->call_d = d;
			w->call_idx = idx;
		}
	}

	if (!d)
		err = "Unknown Redis command called from script";
	else if (!arity_ok(d, argc))
		err = "Wrong number of args calling Redis command from script";
	else if (d->flags & CMD_NOSCRIPT)
		err = "This Redis command is not allowed from script";
	else if (run->ro && (d->flags & CMD_WRITE))
		err = "Write commands are not allowed from read-only scripts.";
	else if (run->oom && !run->dirty && (d->flags & CMD_DENYOOM))
		/* Redis's scriptVerifyOOM: over maxmemory when the script began,
		 * refused until its first write (it cannot stop half-way) */
		err = "-OOM command not allowed when used memory > 'maxmemory'.";
	else if (cluster_on && !cluster_script_local(d, argc, argv, argl))
		/* Redis's scriptVerifyClusterState: keys it did not declare may
		 * not live on another node */
		err = "Script attempted to access a non local key in a cluster node";
	if (err) {
		if (d) /* Redis's scriptCall: a known command refused counts as rejected */
			cmdstat_reject(run->r->ctx, idx);
		ret = -2;
		goto out;
	}
	if (!run->exclusive && run->txn && !multi_map_only(d)) {
		/* effects outside the map: never in an attempt that may re-run */
		run->restart = true;
		/* raise at every step from now on, so pcall cannot go on */
		lua_sethook(L, hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
		ret = -3;
		goto out;
	}
	{
		struct cmd_req *r = run->r;
		struct cmd_req sub = *r;
		struct conn *c = r->c;
		int resp0 = conn_resp(c);
		size_t before;
		uint64_t writes0 = r->ctx->db_writes;
		const char *p;
		size_t len;

		sub.view = run->v;
		sub.argc = argc;
		sub.argv = argv;
		sub.argl = argl;
		sub.in_exec = true;
		sub.in_script = true;
		sub.redact = 0;
		sub.redact_rest = false;
		conn_set_resp(c, run->resp);
		before = conn_reply_mark(c);
		int64_t t0 = clock_mono_us();
		ntf_call(&sub, d);
		int64_t t1 = clock_mono_us();
		aof_after_cmd(&sub, d, before, writes0);
		conn_set_resp(c, resp0);
		/* commandstats count the scripts' commands as Redis does (once per
		 * run: a re-run attempt counts again) */
		cmdstat_call(r->ctx, idx, t1 > t0 ? (uint64_t)(t1 - t0) : 0,
			     cmd_reply_failed(c, before));
		/* MONITOR: "[<db> lua]" lines, sent when the attempt ends (a
		 * re-run attempt's are dropped: Redis runs a script once) */
		if (net_monitor_any())
			cmd_monitor_format(&w->mon, &sub, d, "lua");
		if (r->ctx->db_writes != writes0)
			run->dirty = true;
		if (r->ctx->db_writes != writes0 && w->slot >= 0)
			/* relaxed: read by SCRIPT KILL, which only needs the
			 * eventual value; the hook orders the kill decision */
			atomic_store_explicit(&slots[w->slot].wrote, true, memory_order_relaxed);
		if (conn_db(c) != db_view_index(run->v) && run->txn)
			db_txn_select(run->txn, conn_db(c));
		if (run->txn && db_txn_poll(run->txn) < 0 && !run->exclusive) {
			run->restart = true; /* SWAPDB/FLUSHDB: run exclusively */
			lua_sethook(L, hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
		}
		/* relaxed: only the owner writes state */
		if (w->slot >= 0 &&
		    atomic_load_explicit(&slots[w->slot].state, memory_order_relaxed) == SLOT_BUSY)
			slot_publish_keys(w, &slots[w->slot], run);
		/* copied out and truncated before any Lua call that may raise
		 * (out of memory): the client's buffer never keeps it */
		p = conn_reply_since(c, before, &len);
		if (len > w->scratch_cap || !w->scratch) {
			mem_free(w->scratch);
			w->scratch_cap = len > 256 ? len : 256;
			w->scratch = mem_alloc(w->scratch_cap);
		}
		memcpy(w->scratch, p, len);
		conn_reply_truncate(c, before);
		if (argv != sv) {
			mem_free(argv);
			mem_free(argl);
			argv = sv;
		}
		if (nums != snums)
			mem_free(nums);
		nums = NULL;
		lua_settop(L, 0);
		/* only an error reply (after any attributes) becomes an error
		 * table: the "err" lookup below is skipped for the rest */
		maybe_err = len > 0 && (w->scratch[0] == '-' || w->scratch[0] == '|');
		if (!script_lua_push_reply(L, w->scratch, len))
			lua_pushboolean(L, 0);
		ret = 0;
	}
out:
	if (argv != sv) {
		mem_free(argv);
		mem_free(argl);
	}
	if (nums != snums)
		mem_free(nums);
	if (ret == -2)
		return call_error(L, raise, err);
	if (ret == -3) {
		lua_pushstring(L, "kvsd: attempt abandoned");
		return lua_error(L);
	}
	if (raise && maybe_err && lua_istable(L, -1)) {
		lua_getfield(L, -1, "err");
		bool is_err = lua_isstring(L, -1);
		lua_pop(L, 1);
		if (is_err)
			return lua_error(L);
	}
	if (run->restart) {
		lua_pushstring(L, "kvsd: attempt abandoned");
		return lua_error(L);
	}
	return 1;
bad_args:
	if (argv != sv) {
		mem_free(argv);
		mem_free(argl);
	}
	if (nums != snums)
		mem_free(nums);
	(void)ret;
	return call_error(L, raise, "Lua redis lib command arguments must be strings or integers");
}

int script_lua_call(lua_State *L)
{
	return do_call(L, true);
}

int script_lua_pcall(lua_State *L)
{
	return do_call(L, false);
}

/* ---- EVAL and friends */

/* The client's reply for an error value at the top of the stack
 * (luaCallFunction's error branch). */
static void reply_lua_error(lua_State *L, struct conn *c, const char *sha)
{
	if (!lua_istable(L, -1)) {
		const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";

		reply_errorf(c, "ERR Error running script %s, %.100s", sha, msg);
		return;
	}
	const char *msg, *source, *line;

	lua_getfield(L, -1, "err");
	msg = lua_tostring(L, -1);
	lua_getfield(L, -2, "source");
	source = lua_tostring(L, -1);
	lua_getfield(L, -3, "line");
	line = lua_tostring(L, -1);
	if (!msg)
		msg = "";
	lua_getfield(L, -4, "ignore_error_stats_update");
	bool quiet = lua_toboolean(L, -1);
	size_t n = strlen(msg) + strlen(sha) + (source ? strlen(source) : 0) +
		   (line ? strlen(line) : 0) + 32;
	char *b = mem_alloc(n);

	if (line && source)
		snprintf(b, n, "%s script: %s, on %s:%s.", msg, sha, source, line);
	else
		snprintf(b, n, "%s", msg);
	/* an error a command already answered inside the script was counted
	 * in errorstats then (Redis's ignore_error_stats_update) */
	script_reply_error(c, b, quiet);
	mem_free(b);
	lua_pop(L, 4);
}

/* One attempt: runs the function at the top of the stack (popped), leaves
 * the result or error at the top. Returns the pcall code. */
/* One attempt: runs the function and its nargs arguments at the top of the
 * stack (popped), leaves the result or error at the top. Returns the pcall
 * code. */
static int run_once(struct script_worker *w, struct script_run *run, int nargs)
{
	lua_State *L = w->L;
	int rc;

	w->mon.rpos = w->mon.len = 0; /* this attempt's MONITOR lines */
	run->restart = false;
	run->killed = false;
	run->dirty = false;
	run->resp = 2;
	lua_sethook(L, hook, LUA_MASKCOUNT, 100000);
	w->run = run;
	rc = lua_pcall(L, nargs, 1, SCRIPT_SLOT_ERRH);
	w->run = NULL;
	lua_sethook(L, NULL, 0, 0);
	return rc;
}

/* Pushes the function at fn and, for FCALL, its (keys, args) tables;
 * returns the argument count. Fresh tables per attempt: a function may
 * change its own. */
static int push_call(struct script_worker *w, struct cmd_req *r, int fn,
		     const struct script_exec *x)
{
	lua_State *L = w->L;

	lua_pushvalue(L, fn);
	if (!x->is_func)
		return 0;
	for (int part = 0; part < 2; part++) {
		int from = part == 0 ? 3 : 3 + x->nkeys;
		int n = part == 0 ? x->nkeys : r->argc - 3 - x->nkeys;

		lua_createtable(L, n, 0);
		for (int i = 0; i < n; i++) {
			lua_pushlstring(L, r->argv[from + i], r->argl[from + i]);
			lua_rawseti(L, -2, i + 1);
		}
	}
	return 2;
}

void script_exec(struct cmd_req *r, struct script_worker *w, int fn, const struct script_exec *x)
{
	struct conn *c = r->c;
	struct script_run run = {0};
	int start_db = conn_db(c);

	run.r = r;
	run.ro = x->ro;
	run.oom = x->oom;
	run.is_func = x->is_func;
	run.name = x->name;
	run.start_us = clock_mono_us();
	if (w->slot >= 0) {
		atomic_store_explicit(&slots[w->slot].wrote, false, memory_order_relaxed);
		atomic_store_explicit(&slots[w->slot].kill, false, memory_order_relaxed);
		/* relaxed: published by the release that marks the slot busy */
		atomic_store_explicit(&slots[w->slot].func, x->is_func, memory_order_relaxed);
		/* relaxed: SCRIPT KILL acts only on BUSY slots, set by the hook */
		atomic_store_explicit(&slots[w->slot].state, SLOT_RUNNING, memory_order_relaxed);
	}

	if (db_in_txn(r->view)) {
		/* queued in MULTI: EXEC's transaction (exclusive: EVAL is not map-only) */
		size_t mark = conn_reply_mark(c);

		run.v = r->view;
		run.txn = NULL;
		run.exclusive = true;
		if (w->slot >= 0)
			/* relaxed: published by the release that marks the slot busy */
			atomic_store_explicit(&slots[w->slot].excl, true, memory_order_relaxed);
		int rc = run_once(w, &run, push_call(w, r, fn, x));
		if (run.shut)
			conn_close_asap(c); /* SHUTDOWN NOSAVE: unanswered, as Redis */
		else if (rc)
			reply_lua_error(w->L, c, x->name);
		else
			script_lua_reply(w->L, c, -1, 0);
		pubsub_deliver_before(r, mark);
		lua_settop(w->L, fn - 1);
	} else {
		bool excl = false;
		int attempts = 0;
		size_t mark = conn_reply_mark(c);
		size_t ntf_at = ntf_mark(r->ctx); /* keyspace events before the run */

		if (!w->txn)
			w->txn = db_txn_create(r->db);
		run.txn = w->txn;
		for (;;) {
			if (r->prop)
				aof_prop_reset(r->prop, 0, 0);
			ntf_reset(r->ctx, ntf_at);
			conn_set_db(c, start_db);
			db_txn_select(w->txn, start_db);
			if (w->slot >= 0 && attempts++ > 0)
				/* relaxed (struct slot): a re-run may turn exclusive
				 * inside begin, and writers must not queue behind it */
				atomic_store_explicit(&slots[w->slot].excl, true,
						      memory_order_relaxed);
			run.v = db_txn_begin(w->txn, NULL, 0, excl);
			run.exclusive = run.v->exclusive;
			w->published = 0;
			if (w->slot >= 0)
				/* relaxed (struct slot) */
				atomic_store_explicit(&slots[w->slot].excl, run.exclusive,
						      memory_order_relaxed);
			int rc = run_once(w, &run, push_call(w, r, fn, x));

			if (run.shut) {
				/* SHUTDOWN NOSAVE: as Redis exiting inside the script,
				 * nothing of it is kept, logged or answered */
				db_txn_abort(w->txn);
				if (r->prop)
					aof_prop_reset(r->prop, 0, 0);
				ntf_reset(r->ctx, ntf_at);
				conn_reply_truncate(c, mark);
				lua_settop(w->L, fn);
				conn_close_asap(c);
				break;
			}
			if (run.restart) {
				db_txn_need_exclusive(w->txn);
				(void)db_txn_commit(w->txn);
				conn_reply_truncate(c, mark);
				lua_settop(w->L, fn);
				excl = true;
				continue;
			}
			if (rc)
				reply_lua_error(w->L, c, x->name);
			else
				script_lua_reply(w->L, c, -1, 0);
			lua_settop(w->L, fn);
			if (run.killed && !run.exclusive) {
				/* killed: whatever it wrote (a write racing with SCRIPT
				 * KILL's check) is dropped with the attempt, and the
				 * worker's next script starts optimistic again */
				db_txn_abort(w->txn);
				/* nor is it logged or notified */
				if (r->prop)
					aof_prop_reset(r->prop, 0, 0);
				ntf_reset(r->ctx, ntf_at);
				break;
			}
			if (db_txn_commit(w->txn) == 0)
				break;
			conn_reply_truncate(c, mark);
		}
		pubsub_deliver_before(r, mark);
		lua_settop(w->L, fn - 1);
	}
	conn_set_db(c, start_db); /* SELECT inside a script is its own */
	net_monitor_feed_lines(&w->mon);
	w->mon.rpos = w->mon.len = 0;
	buf_shrink_idle(&w->mon, 4096);
	slot_leave(w);
	if (w->scratch_cap > 65536) { /* a large reply's copy is not kept */
		mem_free(w->scratch);
		w->scratch = NULL;
		w->scratch_cap = 0;
	}
	mem_publish(w);
	/* a script's garbage is collected between scripts: all of it once it is
	 * large, so the next script starts far below the cap (Lua 5.1 has no
	 * emergency collection) */
	if (w->lua_mem > SCRIPT_LUA_MEM_MAX / 4)
		lua_gc(w->L, LUA_GCCOLLECT, 0);
	else if (w->lua_mem > ((size_t)8 << 20))
		lua_gc(w->L, LUA_GCSTEP, 100);
}

static void eval_generic(struct cmd_req *r, bool sha_given, bool ro)
{
	struct conn *c = r->c;
	long long numkeys;
	struct script_worker *w;
	char sha[41];
	unsigned flags = 0;

	/* MONITOR: Redis shows the EVAL when it starts, before the script's
	 * commands (and whatever it answers) */
	net_monitor_feed(c, r->argc, r->argv, r->argl);
	if (!cmd_arg_ll(r, 2, &numkeys))
		return;
	if (numkeys > r->argc - 3) {
		reply_error(c, "ERR Number of keys can't be greater than number of args");
		return;
	}
	if (numkeys < 0) {
		reply_error(c, "ERR Number of keys can't be negative");
		return;
	}
	w = script_worker_get(r->ctx);
	if (!w) {
		reply_error(c, "ERR could not create the Lua state");
		return;
	}
	if (sha_given) {
		if (r->argl[1] != 40) {
			reply_error(c, "NOSCRIPT No matching script. Please use EVAL.");
			return;
		}
		if (w->fn_ref > 0 && memcmp(r->argv[1], w->fn_sha, 40) == 0) {
			memcpy(sha, w->fn_sha, 41); /* the last one, as sent: lower case */
		} else {
			for (int i = 0; i < 40; i++) {
				char ch = r->argv[1][i];
				sha[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
			}
			sha[40] = '\0';
		}
		if (!push_function(w, r, sha, NULL, 0, &flags))
			return;
	} else {
		sha_of(r->argv[1], r->argl[1], sha);
		if (!push_function(w, r, sha, r->argv[1], r->argl[1], &flags))
			return;
	}
	if ((flags & SCRIPT_FLAG_NO_CLUSTER) && cluster_on) { /* Redis's scriptPrepareForRun */
		lua_pop(w->L, 1);
		reply_error(c, "ERR Can not run script on cluster, 'no-cluster' flag is set.");
		return;
	}
	int fn = lua_gettop(w->L);
	struct script_exec x = {
	    .name = sha,
	    .ro = ro || (flags & SCRIPT_FLAG_NO_WRITES),
	    .oom = cfg_int(CFG_MAXMEMORY) > 0 && db_check_memory(r->db, r->now_ms) == -ENOMEM,
	    .nkeys = (int)numkeys,
	};

	script_lua_set_array(w->L, 0, r->argv + 3, r->argl + 3, (int)numkeys);
	script_lua_set_array(w->L, 1, r->argv + 3 + numkeys, r->argl + 3 + numkeys,
			     r->argc - 3 - (int)numkeys);
	script_exec(r, w, fn, &x);
}

static void eval_cmd(struct cmd_req *r)
{
	eval_generic(r, false, false);
}

static void evalsha_cmd(struct cmd_req *r)
{
	eval_generic(r, true, false);
}

static void eval_ro_cmd(struct cmd_req *r)
{
	eval_generic(r, false, true);
}

static void evalsha_ro_cmd(struct cmd_req *r)
{
	eval_generic(r, true, true);
}

bool script_is_eval(const struct cmd_def *d)
{
	return d->proc == eval_cmd || d->proc == evalsha_cmd || d->proc == eval_ro_cmd ||
	       d->proc == evalsha_ro_cmd || script_func_is_fcall(d);
}

/* ---- SCRIPT */

static void script_load_cmd(struct cmd_req *r)
{
	struct script_worker *w = script_worker_get(r->ctx);
	char sha[41];

	if (!w) {
		reply_error(r->c, "ERR could not create the Lua state");
		return;
	}
	sha_of(r->argv[2], r->argl[2], sha);
	unsigned flags;

	if (!push_function(w, r, sha, r->argv[2], r->argl[2], &flags))
		return;
	lua_pop(w->L, 1);
	reply_bulk(r->c, sha, 40);
}

static void script_exists_cmd(struct cmd_req *r)
{
	reply_array(r->c, r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		char sha[41];

		if (r->argl[i] != 40) {
			reply_int(r->c, 0);
			continue;
		}
		for (int j = 0; j < 40; j++) {
			char ch = r->argv[i][j];
			sha[j] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
		}
		sha[40] = '\0';
		reply_int(r->c, cache_has(sha));
	}
}

static void script_flush_cmd(struct cmd_req *r)
{
	if (r->argc > 3 ||
	    (r->argc == 3 && !cmd_arg_is(r, 2, "sync") && !cmd_arg_is(r, 2, "async"))) {
		reply_error(r->c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
		return;
	}
	cache_flush();
	reply_ok(r->c);
}

void script_kill(struct cmd_req *r, bool is_eval)
{
	int n = atomic_load_explicit(&slots_used, memory_order_relaxed);
	bool any = false;

	if (n > SLOTS)
		n = SLOTS;
	for (int i = 0; i < n; i++) {
		/* acquire: pairs with slot_leave's release and the hook's */
		if (atomic_load_explicit(&slots[i].state, memory_order_acquire) != SLOT_BUSY)
			continue;
		if (atomic_load_explicit(&slots[i].wrote, memory_order_relaxed)) {
			reply_error(r->c,
				    "UNKILLABLE Sorry the script already executed write commands "
				    "against the dataset. You can either wait the script "
				    "termination or kill the server in a hard way using the "
				    "SHUTDOWN NOSAVE command.");
			return;
		}
		bool func = atomic_load_explicit(&slots[i].func, memory_order_relaxed);
		if (is_eval && func) {
			reply_error(r->c, "BUSY Redis is busy running a script. You can only call "
					  "FUNCTION KILL or SHUTDOWN NOSAVE.");
			return;
		}
		if (!is_eval && !func) {
			reply_error(r->c, "BUSY Redis is busy running a script. You can only call "
					  "SCRIPT KILL or SHUTDOWN NOSAVE.");
			return;
		}
		any = true;
	}
	if (!any) {
		reply_error(r->c, "NOTBUSY No scripts in execution right now.");
		return;
	}
	for (int i = 0; i < n; i++)
		if (atomic_load_explicit(&slots[i].state, memory_order_acquire) == SLOT_BUSY)
			/* release: pairs with the hook's acquire */
			atomic_store_explicit(&slots[i].kill, true, memory_order_release);
	reply_ok(r->c);
}

static void script_kill_cmd(struct cmd_req *r)
{
	script_kill(r, true);
}

static void script_help_cmd(struct cmd_req *r)
{
	static const char *const lines[] = {
	    "DEBUG (YES|SYNC|NO)",
	    "    Set the debug mode for subsequent scripts executed.",
	    "EXISTS <sha1> [<sha1> ...]",
	    "    Return information about the existence of the scripts in the script cache.",
	    "FLUSH [ASYNC|SYNC]",
	    "    Flush the Lua scripts cache. Very dangerous on replicas.",
	    "    When called without the optional mode argument, the behavior is determined by the",
	    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	    "    * ASYNC: Asynchronously flush the scripts cache.",
	    "    * SYNC: Synchronously flush the scripts cache.",
	    "KILL",
	    "    Kill the currently executing Lua script.",
	    "LOAD <script>",
	    "    Load a script into the scripts cache without executing it.",
	    NULL};

	cmd_reply_help(r, lines);
}

/* Redis's checks and replies, except that YES and SYNC (its Lua debugger,
 * LDB) are refused: kvsd has no debugger. NO is what a client sends to make
 * sure it is off, and it is. */
static void script_debug_cmd(struct cmd_req *r)
{
	/* Redis's clientHasPendingReplies: earlier replies not yet written (a
	 * pipeline), or EXEC's */
	if (r->in_exec || conn_reply_mark(r->c) > 0)
		reply_error(r->c, "ERR SCRIPT DEBUG must be called outside a pipeline");
	else if (cmd_arg_is(r, 2, "no"))
		reply_ok(r->c);
	else if (cmd_arg_is(r, 2, "yes") || cmd_arg_is(r, 2, "sync"))
		reply_error(r->c, "ERR SCRIPT DEBUG YES/SYNC is not supported by kvsd (it has no "
				  "Lua debugger)");
	else
		reply_error(r->c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

static const struct cmd_def script_subcmds[] = {
    {"script|debug", script_debug_cmd, 3, CMD_NOSCRIPT, 0, 0, 0, "slow scripting", "scripting",
     "Set the debug mode for executed scripts.", "3.2.0", "O(1)", NULL},
    {"script|exists", script_exists_cmd, -3, CMD_NOSCRIPT, 0, 0, 0, "slow scripting", "scripting",
     "Check existence of scripts in the script cache.", "2.6.0",
     "O(N) with N being the number of scripts to check (so checking a single script is an "
     "O(1) operation).",
     NULL},
    {"script|flush", script_flush_cmd, -2, CMD_NOSCRIPT, 0, 0, 0, "slow scripting", "scripting",
     "Remove all the scripts from the script cache.", "2.6.0",
     "O(N) with N being the number of scripts in cache", NULL},
    {"script|help", script_help_cmd, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "slow scripting",
     "scripting", "Show helpful text about the different subcommands", "5.0.0", "O(1)", NULL},
    {"script|kill", script_kill_cmd, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, 0, 0, 0, "slow scripting",
     "scripting", "Kill the script currently in execution.", "2.6.0", "O(1)", NULL},
    {"script|load", script_load_cmd, 3, CMD_NOSCRIPT | CMD_STALE, 0, 0, 0, "slow scripting",
     "scripting", "Load the specified Lua script into the script cache.", "2.6.0",
     "O(N) with N being the length in bytes of the script body.", NULL},
    {NULL},
};

const struct cmd_def cmd_script_table[] = {
    {"eval", eval_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE, 0, 0, 0, "slow scripting",
     "scripting", "Execute a Lua script server side", "2.6.0",
     "Depends on the script that is executed.", NULL},
    {"eval_ro", eval_ro_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_READONLY, 0, 0,
     0, "slow scripting", "scripting", "Execute a read-only Lua script server side", "7.0.0",
     "Depends on the script that is executed.", NULL},
    {"evalsha", evalsha_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE, 0, 0, 0,
     "slow scripting", "scripting", "Execute a Lua script server side", "2.6.0",
     "Depends on the script that is executed.", NULL},
    {"evalsha_ro", evalsha_ro_cmd, -3, CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_STALE | CMD_READONLY,
     0, 0, 0, "slow scripting", "scripting", "Execute a read-only Lua script server side", "7.0.0",
     "Depends on the script that is executed.", NULL},
    {"script", NULL, -2, 0, 0, 0, 0, "slow", "scripting",
     "A container for Lua scripts management commands", "2.6.0", "Depends on subcommand.",
     script_subcmds},
    {NULL},
};
