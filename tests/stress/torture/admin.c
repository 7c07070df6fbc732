/*
 * admin.c — CONFIG SET fuzzing and CLIENT KILL storms.
 *
 * config (two threads): the keys come from CONFIG GET * (read once by main() before the run),
 * minus those that legitimately cut clients off (requirepass, maxmemory, timeout, maxclients,
 * client-output-buffer-limit). Each key is owned by one of the two threads (a key and its
 * alias by the same one), so that, while both run concurrently, each can check what it did:
 *  - a refused SET leaves CONFIG GET unchanged;
 *  - an accepted SET reads back as a value that can itself be set again, unchanged;
 *  - setting a key to its current value is accepted, unless the key cannot be set at run time
 *    (Redis's "can't set immutable config" / "can't set protected config");
 *  - values every Redis refuses for the key's kind are refused: a yes/no key takes only yes or
 *    no; an integer key refuses "garbage", "1.5", " 1", "1 ", "0x10", "1kbb", "maybe" and a
 *    number past 64 bits;
 *  - a multi-key CONFIG SET with one refused value changes nothing.
 * Values: good ones (the current value, small and large plausible numbers, memory sizes, yes/no,
 * every enum name kvsd and Redis use) and bad ones (garbage, negative, huge, empty, 100 KB). An
 * accepted value is held for a few milliseconds (150 ms when it is one of the bad ones: what
 * such a value does to the server is the point) while the other threads keep going, except
 * that a huge slowlog-max-len is undone at once (with slowlog-log-slower-than 0 it would keep
 * every command). Keys that configure the listener or files ("fixed" below) only get their
 * current value and values Redis refuses for their kind, so that they never move the listener
 * even where they are settable at run time.
 *
 * killer: CLIENT KILL aimed only at torture connections: ID of a registered one (also inside
 * MULTI), ADDR + ID, ID of CLIENT LIST entries named "torture-...", the old ADDR form and
 * LADDR + ID on a victim of its own (which must then be gone), its own ID with SKIPME no (:1,
 * then closed), and invalid forms (exact errors). Any id about to be killed is checked against
 * the checkers' ids (a hit is a bug in this test, reported as a failure and not sent).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "torture.h"

#define CF_MAX_KEYS    128
#define CF_TIMEOUT_MS  5000
#define CF_BAD_HOLD_MS 150
#define CF_HUGE_LEN    (100 * 1024)

enum cf_kind { CF_BOOL, CF_INT, CF_OTHER };

struct cf_key {
	char name[64];
	char *initial; /* value at start-up (malloc'd) */
	enum cf_kind kind;
	int fixed;	  /* only the current value and values refused for its kind */
	int owner;	  /* config thread index */
	int immutable;	  /* SET of the current value was refused as immutable/protected */
	char last_ok[64]; /* a value other than initial that was accepted, or "" */
};

static struct cf_key keys[CF_MAX_KEYS];
static int nkeys;
static char *huge_value; /* CF_HUGE_LEN digits */

static const char *const cf_excluded[] = {
    "requirepass", "maxmemory", "timeout", "maxclients", "client-output-buffer-limit", NULL};
static const char *const cf_fixed[] = {
    "bind", "port",	  "unixsocket", "unixsocketperm", "logfile", "pidfile",	    "dir",
    "save", "appendonly", "databases",	"threads",	  "map",     "tcp-backlog", NULL};
/* With redis-server (to check this test), only the keys kvsd has too. */
static const char *const cf_kvsd_keys[] = {"protected-mode",
					   "tcp-keepalive",
					   "loglevel",
					   "proto-max-bulk-len",
					   "client-query-buffer-limit",
					   "hz",
					   "maxmemory-policy",
					   "maxmemory-samples",
					   "active-expire-effort",
					   "slowlog-log-slower-than",
					   "slowlog-max-len",
					   "shutdown-timeout",
					   "save",
					   "appendonly",
					   "databases",
					   "tcp-backlog",
					   NULL};
/* Settable at run time in redis-server, where they would move its listener or directory. */
static const char *const cf_redis_skip[] = {"port", "bind", "unixsocket", "dir", NULL};
static const char *const cf_no_hold[] = {"slowlog-max-len", NULL};

static const char *const good_int[] = {"0",    "1",	"2",   "5",    "10",	"64",	  "100",
				       "1000", "65536", "1mb", "16mb", "512mb", "1048576"};
static const char *const bad_int[] = {"",
				      "garbage",
				      "-1",
				      "-5",
				      "-9223372036854775808",
				      "9223372036854775807",
				      "99999999999999999999999",
				      "4gb",
				      "1gb",
				      "2147483648",
				      "18446744073709551615",
				      "1.5",
				      " 1",
				      "1 ",
				      "0x10",
				      "1kbb",
				      "maybe",
				      NULL /* huge_value */};
static const char *const refuse_int[] = {"garbage", "1.5",  " 1",    "1 ",
					 "0x10",    "1kbb", "maybe", "99999999999999999999999"};
static const char *const good_bool[] = {"yes", "no", "YES", "No"};
static const char *const bad_bool[] = {"", "garbage", "maybe", "1", "0", "-1", "yes no", "yes "};
static const char *const good_enum[] = {
    "noeviction",   "allkeys-lru",     "allkeys-lfu",  "allkeys-random", "volatile-lru",
    "volatile-lfu", "volatile-random", "volatile-ttl", "debug",		 "verbose",
    "notice",	    "warning",	       "round-robin",  "least-loaded",	 "single"};
static const char *const bad_other[] = {"",	     "garbage-value", "1", "-1",
					"two words", "\x01\xff",      NULL /* huge_value */};

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static int is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int tt_config_setup(redisContext *c)
{
	redisReply *r = redisCommand(c, "CONFIG GET *");

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	huge_value = malloc(CF_HUGE_LEN + 1);
	if (!huge_value) {
		freeReplyObject(r);
		return -1;
	}
	memset(huge_value, '9', CF_HUGE_LEN);
	huge_value[CF_HUGE_LEN] = '\0';
	for (size_t i = 0; i + 1 < r->elements && nkeys < CF_MAX_KEYS; i += 2) {
		const char *name = r->element[i]->str, *val = r->element[i + 1]->str;
		struct cf_key *k = &keys[nkeys];

		if (in_list(cf_excluded, name) || strlen(name) >= sizeof(k->name))
			continue;
		if (tt.is_redis && (!in_list(cf_kvsd_keys, name) || in_list(cf_redis_skip, name)))
			continue;
		snprintf(k->name, sizeof(k->name), "%s", name);
		k->initial = strdup(val);
		k->kind = !strcmp(val, "yes") || !strcmp(val, "no") ? CF_BOOL
			  : is_integer(val)			    ? CF_INT
								    : CF_OTHER;
		k->fixed = in_list(cf_fixed, name);
		nkeys++;
	}
	freeReplyObject(r);
	/* Deal the keys alternately, in name order, so each thread gets every kind. */
	for (int i = 0; i < nkeys; i++)
		for (int j = i + 1; j < nkeys; j++)
			if (strcmp(keys[j].name, keys[i].name) < 0) {
				struct cf_key t = keys[i];

				keys[i] = keys[j];
				keys[j] = t;
			}
	for (int i = 0; i < nkeys; i++)
		keys[i].owner = i % 2;
	/* An alias names the same parameter as its primary (Redis 7.0's are the *-ziplist-*
	 * names of *-listpack-* ones, and lua-time-limit of busy-reply-threshold): one thread
	 * owns both, or the other thread's SET would change what this one checks. */
	for (int i = 0; i < nkeys; i++) {
		const char *z = strstr(keys[i].name, "-ziplist-");
		char primary[sizeof(keys[i].name)];

		if (!strcmp(keys[i].name, "lua-time-limit"))
			snprintf(primary, sizeof(primary), "busy-reply-threshold");
		else if (z)
			snprintf(primary, sizeof(primary), "%.*s-listpack-%s",
				 (int)(z - keys[i].name), keys[i].name, z + strlen("-ziplist-"));
		else
			continue;
		for (int j = 0; j < nkeys; j++)
			if (!strcmp(keys[j].name, primary))
				keys[i].owner = keys[j].owner;
	}
	return nkeys > 0 ? 0 : -1;
}

/* CONFIG GET name → malloc'd value, or NULL (connection lost, or not exactly one pair). */
static char *cf_get(redisContext *c, const char *name)
{
	redisReply *r = redisCommand(c, "CONFIG GET %s", name);
	char *v = NULL;

	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		v = strdup(r->element[1]->str);
	else if (r)
		tt_fail("config: CONFIG GET %s answered %s", name, tt_show(r));
	if (r)
		freeReplyObject(r);
	return v;
}

/* A value fit for a message: long ones cut (four buffers, for messages that show several). */
static const char *cf_short(const char *v)
{
	static __thread char buf[4][48];
	static __thread unsigned next;
	char *b = buf[next++ % 4];

	if (strlen(v) > 40)
		snprintf(b, sizeof(buf[0]), "%.12s...(%zu bytes)", v, strlen(v));
	else
		snprintf(b, sizeof(buf[0]), "%s", v);
	return b;
}

static int in_array(const char *const *a, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], s) == 0)
			return 1;
	return 0;
}

/* Values every Redis refuses for a key of this kind (see the file's comment). */
static int cf_must_refuse(const struct cf_key *k, const char *v)
{
	if (k->kind == CF_BOOL)
		return in_array(bad_bool, sizeof(bad_bool) / sizeof(bad_bool[0]), v);
	if (k->kind == CF_INT)
		return v == huge_value ||
		       in_array(refuse_int, sizeof(refuse_int) / sizeof(refuse_int[0]), v);
	return 0;
}

static const char *cf_pick(struct tt_thread *self, struct cf_key *k, const char *cur, int *bad)
{
	uint32_t x = tt_below(self, 100);

	*bad = 0;
	if (x < 15 || (k->fixed && x < 50))
		return cur;
	if (k->fixed) { /* only values refused for the kind */
		*bad = 1;
		if (k->kind == CF_INT)
			return refuse_int[tt_below(self,
						   sizeof(refuse_int) / sizeof(refuse_int[0]))];
		if (k->kind == CF_BOOL)
			return bad_bool[1 + tt_below(self, 2)];
		return cur;
	}
	if (x < 55) {
		switch (k->kind) {
		case CF_BOOL:
			return good_bool[tt_below(self, 4)];
		case CF_INT:
			return good_int[tt_below(self, sizeof(good_int) / sizeof(good_int[0]))];
		default:
			return good_enum[tt_below(self, sizeof(good_enum) / sizeof(good_enum[0]))];
		}
	}
	*bad = 1;
	switch (k->kind) {
	case CF_BOOL:
		return bad_bool[tt_below(self, sizeof(bad_bool) / sizeof(bad_bool[0]))];
	case CF_INT: {
		uint32_t n = sizeof(bad_int) / sizeof(bad_int[0]);
		const char *v = bad_int[tt_below(self, n)];

		return v ? v : huge_value;
	}
	default: {
		uint32_t n = sizeof(bad_other) / sizeof(bad_other[0]);
		const char *v = bad_other[tt_below(self, n)];

		return v ? v : huge_value;
	}
	}
}

static int cf_is_immutable_error(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR &&
	       (strstr(r->str, "can't set immutable config") ||
		strstr(r->str, "can't set protected config"));
}

/* One CONFIG SET of k with its checks. Returns -1 when the connection was lost. */
static int cf_one(struct tt_thread *self, redisContext *c, struct cf_key *k)
{
	char *before = cf_get(c, k->name), *after = NULL, *again = NULL;
	const char *v;
	redisReply *r = NULL, *r2 = NULL;
	int bad, rc = 0;

	if (!before)
		return -1;
	v = cf_pick(self, k, before, &bad);
	/* redis-server accepts limits past 1 GB and would then really allocate that much */
	if (tt.is_redis && k->kind == CF_INT &&
	    (!strcmp(v, "4gb") || !strcmp(v, "1gb") || !strcmp(v, "2147483648") ||
	     !strcmp(v, "9223372036854775807")))
		v = before;
	tt_act(self, "CONFIG SET %s %s", k->name, cf_short(v));
	r = redisCommand(c, "CONFIG SET %s %s", k->name, v);
	if (!r) {
		rc = -1;
		goto out;
	}
	self->ops++;
	after = cf_get(c, k->name);
	if (!after) {
		rc = -1;
		goto out;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		if (strcmp(before, after) != 0)
			tt_fail(
			    "config: CONFIG SET %s '%s' was refused (%s) but CONFIG GET changed "
			    "from '%s' to '%s'",
			    k->name, cf_short(v), r->str, cf_short(before), after);
		if (v == before && !cf_is_immutable_error(r))
			tt_fail("config: CONFIG SET %s to its current value '%s' was refused: %s",
				k->name, cf_short(before), r->str);
		if (v == before && cf_is_immutable_error(r))
			k->immutable = 1;
		goto out;
	}
	if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK")) {
		tt_fail("config: CONFIG SET %s '%s' answered %s", k->name, cf_short(v), tt_show(r));
		goto out;
	}
	if (cf_must_refuse(k, v))
		tt_fail("config: CONFIG SET %s '%s' was accepted (CONFIG GET now says '%s'); "
			"Redis refuses it",
			k->name, cf_short(v), cf_short(after));
	/* what CONFIG GET shows must be settable and stay as it is */
	r2 = redisCommand(c, "CONFIG SET %s %s", k->name, after);
	if (!r2) {
		rc = -1;
		goto out;
	}
	again = cf_get(c, k->name);
	if (!again) {
		rc = -1;
		goto out;
	}
	if (!tt_reply_is(r2, REDIS_REPLY_STATUS, "OK") || strcmp(again, after) != 0)
		tt_fail("config: CONFIG SET %s '%s' (what CONFIG GET showed after setting '%s') "
			"answered %s and CONFIG GET then says '%s'",
			k->name, cf_short(after), cf_short(v), tt_show(r2), cf_short(again));
	if (strcmp(after, k->initial) != 0 && strlen(after) < sizeof(k->last_ok) && !bad)
		snprintf(k->last_ok, sizeof(k->last_ok), "%s", after);
	if (in_list(cf_no_hold, k->name) && bad) {
		freeReplyObject(r2);
		r2 = redisCommand(c, "CONFIG SET %s %s", k->name, k->initial);
	} else if (bad) {
		tt_act(self, "holding %s = %s", k->name, cf_short(after));
		tt_nap(CF_BAD_HOLD_MS);
	}
out:
	if (r)
		freeReplyObject(r);
	if (r2)
		freeReplyObject(r2);
	free(before);
	free(after);
	free(again);
	return rc;
}

/* CONFIG SET k1 <accepted earlier> k2 <refused>: refused as a whole, neither changes. */
static int cf_atomic(struct tt_thread *self, redisContext *c, struct cf_key *k1, struct cf_key *k2)
{
	char *b1 = cf_get(c, k1->name), *b2 = b1 ? cf_get(c, k2->name) : NULL, *a1 = NULL,
	     *a2 = NULL;
	const char *bad = k2->kind == CF_BOOL ? "maybe" : "garbage";
	const char *good =
	    k1->last_ok[0] && strcmp(k1->last_ok, b1 ? b1 : "") ? k1->last_ok : k1->initial;
	redisReply *r = NULL;
	int rc = -1;

	if (!b1 || !b2)
		goto out;
	tt_act(self, "CONFIG SET %s %s %s %s (atomic)", k1->name, good, k2->name, bad);
	r = redisCommand(c, "CONFIG SET %s %s %s %s", k1->name, good, k2->name, bad);
	if (!r)
		goto out;
	a1 = cf_get(c, k1->name);
	a2 = a1 ? cf_get(c, k2->name) : NULL;
	if (!a1 || !a2)
		goto out;
	rc = 0;
	self->ops++;
	if (r->type != REDIS_REPLY_ERROR)
		tt_fail("config: CONFIG SET %s %s %s %s answered %s, want an error", k1->name, good,
			k2->name, bad, tt_show(r));
	if (strcmp(a1, b1) != 0 || strcmp(a2, b2) != 0)
		tt_fail("config: the refused CONFIG SET %s %s %s %s changed %s from '%s' to '%s' "
			"and %s from '%s' to '%s'",
			k1->name, good, k2->name, bad, k1->name, b1, a1, k2->name, b2, a2);
out:
	if (r)
		freeReplyObject(r);
	free(b1);
	free(b2);
	free(a1);
	free(a2);
	return rc;
}

/* Other CONFIG subcommands: GET with patterns, RESETSTAT, REWRITE (no file: an error). */
static int cf_misc(struct tt_thread *self, redisContext *c)
{
	static const char *const cmds[] = {"CONFIG GET *", "CONFIG GET *max* *len*",
					   "CONFIG RESETSTAT", "CONFIG REWRITE", "CONFIG GET"};
	const char *cmd = cmds[tt_below(self, 5)];
	redisReply *r;

	tt_act(self, "%s", cmd);
	r = redisCommand(c, cmd);
	if (!r)
		return -1;
	if (!strcmp(cmd, "CONFIG RESETSTAT") && !tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
		tt_fail("config: %s answered %s", cmd, tt_show(r));
	else if (!strncmp(cmd, "CONFIG GET *", 12) &&
		 (r->type != REDIS_REPLY_ARRAY || r->elements % 2 || r->elements == 0))
		tt_fail("config: %s answered %s", cmd, tt_show(r));
	else if (!strcmp(cmd, "CONFIG GET") &&
		 !tt_reply_is(r, REDIS_REPLY_ERROR,
			      "ERR wrong number of arguments for 'config|get' command"))
		tt_fail("config: %s answered %s", cmd, tt_show(r));
	freeReplyObject(r);
	self->ops++;
	return 0;
}

void *tt_config_main(void *arg)
{
	struct tt_thread *self = arg;
	int mine[CF_MAX_KEYS], nmine = 0;
	redisContext *c = NULL;

	tt_lower_priority();
	for (int i = 0; i < nkeys; i++)
		if (keys[i].owner == self->index)
			mine[nmine++] = i;
	while (tt_running() && nmine > 0) {
		uint32_t x = tt_below(self, 100);
		int rc;

		if (!c && !(c = tt_connect(self, CF_TIMEOUT_MS))) {
			tt_nap(50);
			continue;
		}
		if (x < 85) {
			rc = cf_one(self, c, &keys[mine[tt_below(self, (uint32_t)nmine)]]);
		} else if (x < 92) {
			struct cf_key *k1 = NULL, *k2 = NULL;

			for (int i = 0; i < nmine && !(k1 && k2); i++) {
				struct cf_key *k = &keys[mine[(i + (int)x) % nmine]];

				if (!k1 && k->kind == CF_INT && !k->fixed && !k->immutable)
					k1 = k;
				else if (!k2 && k->kind != CF_OTHER)
					k2 = k;
			}
			rc = k1 && k2 ? cf_atomic(self, c, k1, k2) : 0;
		} else if (x < 97) {
			rc = cf_misc(self, c);
		} else { /* back to the start-up value */
			struct cf_key *k = &keys[mine[tt_below(self, (uint32_t)nmine)]];
			redisReply *r;

			tt_act(self, "CONFIG SET %s %s (start-up value)", k->name,
			       cf_short(k->initial));
			r = redisCommand(c, "CONFIG SET %s %s", k->name, k->initial);
			rc = r ? 0 : -1;
			if (r)
				freeReplyObject(r);
		}
		if (rc < 0) {
			if (tt_running())
				tt_fail("config: connection lost: %s", c->errstr);
			redisFree(c);
			c = NULL;
		}
		tt_nap((long)tt_below(self, 12));
	}
	if (c)
		redisFree(c);
	return NULL;
}

int tt_config_restore(redisContext *c)
{
	int rc = 0;

	for (int i = 0; i < nkeys; i++) {
		struct cf_key *k = &keys[i];
		redisReply *r = redisCommand(c, "CONFIG SET %s %s", k->name, k->initial);
		char *now;

		if (!r)
			return -1;
		if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK") && !cf_is_immutable_error(r)) {
			tt_fail("final: CONFIG SET %s '%s' (its start-up value) answered %s",
				k->name, cf_short(k->initial), tt_show(r));
			rc = -1;
		}
		freeReplyObject(r);
		now = cf_get(c, k->name);
		if (!now || strcmp(now, k->initial) != 0) {
			tt_fail("final: CONFIG GET %s = '%s' after restoring '%s'", k->name,
				now ? cf_short(now) : "(none)", cf_short(k->initial));
			rc = -1;
		}
		free(now);
		free(k->initial);
		k->initial = NULL;
	}
	free(huge_value);
	huge_value = NULL;
	return rc;
}

/* ---- killer ---- */

static int kl_expect_int(redisReply *r, const char *what, long long lo, long long hi)
{
	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_INTEGER || r->integer < lo || r->integer > hi)
		tt_fail("killer: %s answered %s, want an integer in [%lld, %lld]", what, tt_show(r),
			lo, hi);
	freeReplyObject(r);
	return 0;
}

/* A connection of the killer's own, never named nor registered: nobody else kills it. */
static redisContext *kl_own_victim(struct tt_thread *self, long long *id, char *addr,
				   size_t addrlen)
{
	redisContext *v = tt_connect(self, CF_TIMEOUT_MS);
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	redisReply *r;

	if (!v)
		return NULL;
	r = redisCommand(v, "CLIENT ID");
	if (!r || r->type != REDIS_REPLY_INTEGER ||
	    getsockname(v->fd, (struct sockaddr *)&sa, &len) != 0) {
		if (r)
			freeReplyObject(r);
		redisFree(v);
		return NULL;
	}
	*id = r->integer;
	freeReplyObject(r);
	snprintf(addr, addrlen, "127.0.0.1:%u", ntohs(sa.sin_port));
	if (tt_below(self, 2)) { /* killed inside a transaction, half the time */
		r = redisCommand(v, "MULTI");
		if (r)
			freeReplyObject(r);
	}
	return v;
}

/* After a kill that answered success, the victim must be gone. */
static void kl_victim_gone(redisContext *v, const char *how)
{
	redisReply *r = redisCommand(v, "PING");

	if (r && tt_running())
		tt_fail("killer: a connection killed with %s still answers PING: %s", how,
			tt_show(r));
	if (r)
		freeReplyObject(r);
	redisFree(v);
}

static int kl_from_list(struct tt_thread *self, redisContext *c)
{
	redisReply *r = redisCommand(c, "CLIENT LIST");
	long long ids[8];
	int n = 0;

	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_STRING) {
		tt_fail("killer: CLIENT LIST answered %s", tt_show(r));
		freeReplyObject(r);
		return 0;
	}
	for (char *line = r->str; line && *line && n < 8;) {
		char *nl = strchr(line, '\n'), *name = strstr(line, " name=");
		long long id = strtoll(line + 3, NULL, 10);

		if (strncmp(line, "id=", 3) != 0) {
			tt_fail("killer: CLIENT LIST line does not start with id=: %.80s", line);
			break;
		}
		if (name && (!nl || name < nl) && strncmp(name + 6, "torture-", 8) == 0 &&
		    tt_below(self, 3) == 0)
			ids[n++] = id;
		line = nl ? nl + 1 : NULL;
	}
	freeReplyObject(r);
	for (int i = 0; i < n; i++) {
		if (tt_is_checker_id(ids[i])) {
			tt_fail("killer: CLIENT LIST named checker id %lld torture-...", ids[i]);
			continue;
		}
		tt_act(self, "CLIENT KILL ID %lld SKIPME yes (from CLIENT LIST)", ids[i]);
		if (kl_expect_int(redisCommand(c, "CLIENT KILL ID %lld SKIPME yes", ids[i]),
				  "CLIENT KILL ID (from CLIENT LIST)", 0, 1) < 0)
			return -1;
	}
	self->ops += n;
	return 0;
}

static const struct {
	const char *cmd;
	int type;
	const char *text;
} kl_invalid[] = {
    {"CLIENT KILL ID 0", REDIS_REPLY_ERROR, "ERR client-id should be greater than 0"},
    {"CLIENT KILL ID abc", REDIS_REPLY_ERROR, "ERR client-id should be greater than 0"},
    {"CLIENT KILL ID 99999999999", REDIS_REPLY_INTEGER, "0"},
    {"CLIENT KILL 127.0.0.1:1", REDIS_REPLY_ERROR, "ERR No such client"},
    {"CLIENT KILL SKIPME maybe ID 5", REDIS_REPLY_ERROR, "ERR syntax error"},
    {"CLIENT KILL id", REDIS_REPLY_ERROR, "ERR No such client"},
    {"CLIENT KILL ADDR 1.2.3.4:5 ID 7", REDIS_REPLY_INTEGER, "0"},
    {"CLIENT KILL TYPE master", REDIS_REPLY_INTEGER, "0"},
};

static int kl_step(struct tt_thread *self, redisContext **cp)
{
	redisContext *c = *cp, *v;
	char addr[64], what[160];
	long long id;
	redisReply *r;

	switch (tt_below(self, 8)) {
	case 0: /* a registered torture connection, by ID */
		if (!tt_victim_pick(self, &id, addr, sizeof(addr)))
			return 0;
		if (tt_is_checker_id(id)) {
			tt_fail("killer: registered victim %lld is a checker", id);
			return 0;
		}
		tt_act(self, "CLIENT KILL ID %lld", id);
		return kl_expect_int(redisCommand(c, "CLIENT KILL ID %lld", id), "CLIENT KILL ID",
				     0, 1);
	case 1: /* ADDR + ID (the id keeps a reused port safe) */
		if (!tt_victim_pick(self, &id, addr, sizeof(addr)) || !addr[0] ||
		    tt_is_checker_id(id))
			return 0;
		tt_act(self, "CLIENT KILL ADDR %s ID %lld", addr, id);
		return kl_expect_int(redisCommand(c, "CLIENT KILL ADDR %s ID %lld", addr, id),
				     "CLIENT KILL ADDR ID", 0, 1);
	case 2:
		return kl_from_list(self, c);
	case 3: /* own victim, old form: +OK and gone */
		if (!(v = kl_own_victim(self, &id, addr, sizeof(addr))))
			return 0;
		tt_act(self, "CLIENT KILL %s (own victim %lld)", addr, id);
		r = redisCommand(c, "CLIENT KILL %s", addr);
		if (!r) {
			redisFree(v);
			return -1;
		}
		if (!tt_reply_is(r, REDIS_REPLY_STATUS, "OK"))
			tt_fail("killer: CLIENT KILL %s (a live connection) answered %s", addr,
				tt_show(r));
		freeReplyObject(r);
		kl_victim_gone(v, "CLIENT KILL addr");
		return 0;
	case 4: /* own victim, LADDR + ID, or ID + SKIPME yes: :1 and gone */
		if (!(v = kl_own_victim(self, &id, addr, sizeof(addr))))
			return 0;
		if (tt_below(self, 2))
			snprintf(what, sizeof(what), "CLIENT KILL LADDR 127.0.0.1:%d ID %lld",
				 tt.target.port, id);
		else
			snprintf(what, sizeof(what), "CLIENT KILL ID %lld SKIPME yes", id);
		tt_act(self, "%s (own victim)", what);
		r = redisCommand(c, what);
		if (!r) {
			redisFree(v);
			return -1;
		}
		if (r->type != REDIS_REPLY_INTEGER || r->integer != 1)
			tt_fail("killer: %s (a live connection) answered %s, want (integer) 1",
				what, tt_show(r));
		freeReplyObject(r);
		kl_victim_gone(v, what);
		return 0;
	case 5: /* itself: :1, then closed */
		r = redisCommand(c, "CLIENT ID");
		if (!r || r->type != REDIS_REPLY_INTEGER) {
			if (r)
				freeReplyObject(r);
			return r ? 0 : -1;
		}
		id = r->integer;
		freeReplyObject(r);
		tt_act(self, "CLIENT KILL ID %lld SKIPME no (itself)", id);
		r = redisCommand(c, "CLIENT KILL ID %lld SKIPME no", id);
		if (r && (r->type != REDIS_REPLY_INTEGER || r->integer != 1))
			tt_fail("killer: CLIENT KILL of itself answered %s, want (integer) 1",
				tt_show(r));
		if (r)
			freeReplyObject(r);
		kl_victim_gone(c, "CLIENT KILL ID <itself> SKIPME no");
		*cp = NULL;
		self->closed_by_server++;
		return 0;
	case 6: { /* invalid forms */
		size_t i = tt_below(self, sizeof(kl_invalid) / sizeof(kl_invalid[0]));

		tt_act(self, "%s", kl_invalid[i].cmd);
		r = redisCommand(c, kl_invalid[i].cmd);
		if (!r)
			return -1;
		if (r->type != kl_invalid[i].type ||
		    (r->type == REDIS_REPLY_INTEGER && r->integer != atoll(kl_invalid[i].text)) ||
		    (r->type == REDIS_REPLY_ERROR &&
		     !tt_reply_is(r, REDIS_REPLY_ERROR, kl_invalid[i].text)))
			tt_fail("killer: %s answered %s, want %s", kl_invalid[i].cmd, tt_show(r),
				kl_invalid[i].text);
		freeReplyObject(r);
		return 0;
	}
	default: /* inside MULTI: the kill runs once, at EXEC */
		if (!tt_victim_pick(self, &id, addr, sizeof(addr)) || tt_is_checker_id(id))
			return 0;
		tt_act(self, "MULTI, CLIENT KILL ID %lld, INCR kl:n, EXEC", id);
		redisAppendCommand(c, "MULTI");
		redisAppendCommand(c, "CLIENT KILL ID %lld", id);
		redisAppendCommand(c, "INCR kl:n");
		redisAppendCommand(c, "EXEC");
		for (int i = 0; i < 4; i++) {
			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				return -1;
			if (i == 3 && (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
				       r->element[0]->type != REDIS_REPLY_INTEGER ||
				       r->element[1]->type != REDIS_REPLY_INTEGER))
				tt_fail("killer: MULTI/CLIENT KILL/INCR/EXEC answered %s",
					tt_show(r));
			if (r)
				freeReplyObject(r);
		}
		return 0;
	}
}

void *tt_killer_main(void *arg)
{
	struct tt_thread *self = arg;
	redisContext *c = NULL;

	tt_lower_priority();
	while (tt_running()) {
		if (!c && !(c = tt_connect(self, CF_TIMEOUT_MS))) {
			tt_nap(50);
			continue;
		}
		if (kl_step(self, &c) < 0) {
			if (tt_running())
				tt_fail("killer: connection lost: %s", c->errstr);
			redisFree(c);
			c = NULL;
		}
		self->ops++;
		tt_nap(2 + (long)tt_below(self, 4));
	}
	if (c)
		redisFree(c);
	return NULL;
}
