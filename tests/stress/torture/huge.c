/*
 * huge.c — huge counts, lengths, offsets and numbers.
 *
 * Three connections, each round one step from each:
 *  - exact (unnamed, never killed): a table of commands at the edges of the integer and length
 *    ranges (SETRANGE past what storage can hold, INCRBY overflow, expire times that overflow,
 *    ...), each with the exact reply redis-server 7.0 gives, whatever CONFIG SET does meanwhile;
 *  - big (named torture-huge and registered, so the killer cuts it at times): MSET of N new
 *    keys (N cycling over 1,000, 5,000 and 20,000), MGET of them (every value exact), EXISTS,
 *    TOUCH, DEL, UNLINK (exact counts), and MULTI with 500 or 5,000 queued SETs + EXEC. A kill
 *    (EOF) restarts the sequence on a new connection; no reply within 10 s is a failure; a step
 *    slower than the checkers' bound is noted in the event timeline;
 *  - raw: huge declared counts and lengths (`*1048576`, `*2147483647`, `$536870912` followed by
 *    1 MB, an 8 MB value, a 1 MB key), sent and then dropped or read back loosely.
 * Keys: hg:*. Memory stays bounded: at most 20,000 small keys, one 8 MB value, declared lengths
 * only partly sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "torture.h"

#define HG_TIMEOUT_MS 10000
#define HG_MAXN	      20000

struct hg_exact {
	const char *cmd;  /* split on spaces */
	int type;	  /* expected reply type */
	const char *text; /* status/error/bulk text, or integer as text; NULL: any of the type */
};

/* Run in order from a clean state (the first line); replies are redis-server 7.0.15's. */
static const struct hg_exact hg_table[] = {
    {"DEL hg:sr hg:x hg:i hg:j hg:e", REDIS_REPLY_INTEGER, NULL},
    {"SETRANGE hg:sr 1073741823 xx", REDIS_REPLY_ERROR,
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
    {"SETRANGE hg:sr 4294967295 xx", REDIS_REPLY_ERROR,
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
    {"SETRANGE hg:sr 9223372036854775807 x", REDIS_REPLY_ERROR,
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
    {"SETRANGE hg:sr 9223372036854775806 xx", REDIS_REPLY_ERROR,
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
    {"SETRANGE hg:sr -1 x", REDIS_REPLY_ERROR, "ERR offset is out of range"},
    {"SETRANGE hg:sr 99999999999999999999 x", REDIS_REPLY_ERROR,
     "ERR value is not an integer or out of range"},
    {"GETRANGE hg:sr 0 9223372036854775807", REDIS_REPLY_STRING, ""},
    {"SET hg:x abc", REDIS_REPLY_STATUS, "OK"},
    {"GETRANGE hg:x -9223372036854775808 9223372036854775807", REDIS_REPLY_STRING, "abc"},
    {"SETRANGE hg:x 1073741823 x", REDIS_REPLY_ERROR,
     "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
    {"INCRBY hg:i 9223372036854775807", REDIS_REPLY_INTEGER, "9223372036854775807"},
    {"INCRBY hg:i 1", REDIS_REPLY_ERROR, "ERR increment or decrement would overflow"},
    {"INCR hg:i", REDIS_REPLY_ERROR, "ERR increment or decrement would overflow"},
    {"INCRBY hg:i -9223372036854775808", REDIS_REPLY_INTEGER, "-1"},
    {"DECRBY hg:j -9223372036854775808", REDIS_REPLY_ERROR, "ERR decrement would overflow"},
    {"INCRBY hg:j 99999999999999999999", REDIS_REPLY_ERROR,
     "ERR value is not an integer or out of range"},
    {"SET hg:e v EX 9223372036854775807", REDIS_REPLY_ERROR,
     "ERR invalid expire time in 'set' command"},
    {"SET hg:e v PX 9223372036854775807", REDIS_REPLY_ERROR,
     "ERR invalid expire time in 'set' command"},
    {"SET hg:e v EX 0", REDIS_REPLY_ERROR, "ERR invalid expire time in 'set' command"},
    {"SET hg:e v EX -1", REDIS_REPLY_ERROR, "ERR invalid expire time in 'set' command"},
    {"EXPIRE hg:x 9223372036854775807", REDIS_REPLY_ERROR,
     "ERR invalid expire time in 'expire' command"},
    {"PEXPIRE hg:x 9223372036854775807", REDIS_REPLY_ERROR,
     "ERR invalid expire time in 'pexpire' command"},
    {"EXPIRE hg:x 922337203685477580", REDIS_REPLY_ERROR,
     "ERR invalid expire time in 'expire' command"},
    {"GET hg:x", REDIS_REPLY_STRING, "abc"},
    {"MGET", REDIS_REPLY_ERROR, "ERR wrong number of arguments for 'mget' command"},
    {"MSET hg:x", REDIS_REPLY_ERROR, "ERR wrong number of arguments for 'mset' command"},
    {"MSET hg:x 1 hg:i", REDIS_REPLY_ERROR, "ERR wrong number of arguments for 'mset' command"},
};

static long long mono_ms(void)
{
	return kvsd_now_ms();
}

static void hg_exact_step(struct tt_thread *self, redisContext **cp, size_t *pos)
{
	const size_t n = sizeof(hg_table) / sizeof(hg_table[0]);
	const struct hg_exact *e = &hg_table[*pos % n];
	const char *argv[8];
	size_t lens[8];
	char words[8][48];
	int argc = 0;
	redisReply *r;

	if (!*cp) {
		*cp = tt_connect(self, HG_TIMEOUT_MS);
		*pos = 0;
		if (!*cp)
			return;
		e = &hg_table[0];
	}
	for (const char *p = e->cmd; *p && argc < 8;) {
		size_t w = strcspn(p, " ");

		snprintf(words[argc], sizeof(words[0]), "%.*s", (int)w, p);
		argv[argc] = words[argc];
		lens[argc] = w;
		argc++;
		p += w;
		p += strspn(p, " ");
	}
	tt_act(self, "exact: %s", e->cmd);
	r = redisCommandArgv(*cp, argc, argv, lens);
	if (!r) {
		if (tt_running())
			tt_fail("huge: '%s': no reply (%s)", e->cmd, (*cp)->errstr);
		redisFree(*cp);
		*cp = NULL;
		return;
	}
	if (r->type != e->type ||
	    (e->text && e->type == REDIS_REPLY_INTEGER &&
	     r->integer != strtoll(e->text, NULL, 10)) ||
	    (e->text && e->type != REDIS_REPLY_INTEGER && !tt_reply_is(r, e->type, e->text)))
		tt_fail("huge: '%s' answered %s, want %s", e->cmd, tt_show(r),
			e->text ? e->text : "an integer");
	freeReplyObject(r);
	self->ops++;
	*pos = (*pos + 1) % n;
}

/* ---- big: multi-key commands over many keys ---- */

struct hg_big {
	redisContext *c;
	int step;	/* position in the sequence below */
	int n;		/* keys in this sequence */
	unsigned round; /* distinguishes the values of successive sequences */
	const char **argv;
	size_t *lens;
	char *names; /* n keys of 16 bytes */
	char *vals;  /* n values of 24 bytes */
};

static const char *hg_key(struct hg_big *b, int i)
{
	return b->names + (size_t)i * 16;
}

static const char *hg_val(struct hg_big *b, int i)
{
	return b->vals + (size_t)i * 24;
}

/* A command over the first n keys, with or without their values. */
static int hg_argv(struct hg_big *b, const char *cmd, int with_vals)
{
	int argc = 0;

	b->argv[argc] = cmd;
	b->lens[argc++] = strlen(cmd);
	for (int i = 0; i < b->n; i++) {
		b->argv[argc] = hg_key(b, i);
		b->lens[argc++] = strlen(hg_key(b, i));
		if (with_vals) {
			b->argv[argc] = hg_val(b, i);
			b->lens[argc++] = strlen(hg_val(b, i));
		}
	}
	return argc;
}

static void hg_big_drop(struct tt_thread *self, struct hg_big *b, const char *why, double since)
{
	if (b->c && tt_running() && why)
		tt_fail_since(since, "huge: %s", why);
	if (b->c) {
		if (b->c->err == REDIS_ERR_EOF || b->c->err == REDIS_ERR_IO)
			self->closed_by_server++;
		redisFree(b->c);
	}
	b->c = NULL;
	b->step = 0;
}

static void hg_big_step(struct tt_thread *self, struct hg_big *b)
{
	static const int sizes[] = {1000, 5000, 20000};
	char what[64], why[256];
	redisReply *r = NULL;
	long long t0;
	double since;
	int argc = 0, ok = 1, want_int = -1;

	if (!b->c) {
		b->c = tt_connect(self, HG_TIMEOUT_MS);
		if (!b->c || tt_announce(b->c, "huge") != 0) {
			hg_big_drop(self, b, NULL, 0);
			return;
		}
		b->step = 0;
	}
	if (b->step == 0) {
		b->round++;
		b->n = sizes[b->round % 3];
		for (int i = 0; i < b->n; i++) {
			snprintf(b->names + (size_t)i * 16, 16, "hg:b:%d", i);
			snprintf(b->vals + (size_t)i * 24, 24, "%u-%d", b->round, i * 7);
		}
	}
	t0 = mono_ms();
	since = tt_elapsed();
	switch (b->step) {
	case 0:
		argc = hg_argv(b, "MSET", 1);
		snprintf(what, sizeof(what), "MSET of %d keys", b->n);
		break;
	case 1:
		argc = hg_argv(b, "MGET", 0);
		snprintf(what, sizeof(what), "MGET of %d keys", b->n);
		break;
	case 2:
		argc = hg_argv(b, "EXISTS", 0);
		snprintf(what, sizeof(what), "EXISTS of %d keys", b->n);
		want_int = b->n;
		break;
	case 3:
		argc = hg_argv(b, "TOUCH", 0);
		snprintf(what, sizeof(what), "TOUCH of %d keys", b->n);
		want_int = b->n;
		break;
	case 4:
		argc = hg_argv(b, b->round % 2 ? "DEL" : "UNLINK", 0);
		snprintf(what, sizeof(what), "%s of %d keys", b->round % 2 ? "DEL" : "UNLINK",
			 b->n);
		want_int = b->n;
		break;
	default: /* MULTI, n/4 SETs (500 or 5,000), EXEC */
	{
		int q = b->n >= 20000 ? 5000 : 500;

		snprintf(what, sizeof(what), "MULTI + %d SETs + EXEC", q);
		tt_act(self, "big: %s", what);
		redisAppendCommand(b->c, "MULTI");
		for (int i = 0; i < q; i++)
			redisAppendCommand(b->c, "SET %s %s", hg_key(b, i), hg_val(b, i));
		redisAppendCommand(b->c, "EXEC");
		for (int i = 0; i < q + 1 && ok; i++) {
			if (redisGetReply(b->c, (void **)&r) != REDIS_OK) {
				ok = 0;
				break;
			}
			if (!tt_reply_is(r, REDIS_REPLY_STATUS, i ? "QUEUED" : "OK")) {
				snprintf(why, sizeof(why), "%s: reply %d is %s", what, i,
					 tt_show(r));
				tt_fail("huge: %s", why);
			}
			freeReplyObject(r);
			r = NULL;
		}
		if (ok && redisGetReply(b->c, (void **)&r) == REDIS_OK) {
			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)q)
				tt_fail("huge: %s: EXEC answered %s", what, tt_show(r));
			else
				for (int i = 0; i < q; i++)
					if (!tt_reply_is(r->element[i], REDIS_REPLY_STATUS, "OK")) {
						tt_fail("huge: %s: EXEC reply %d is %s", what, i,
							tt_show(r->element[i]));
						break;
					}
		} else {
			ok = 0;
		}
		goto done;
	}
	}
	tt_act(self, "big: %s", what);
	r = redisCommandArgv(b->c, argc, b->argv, b->lens);
	if (!r) {
		ok = 0;
		goto done;
	}
	if (b->step == 0 && !tt_reply_is(r, REDIS_REPLY_STATUS, "OK")) {
		tt_fail("huge: %s answered %s", what, tt_show(r));
	} else if (b->step == 1) {
		if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)b->n) {
			tt_fail("huge: %s answered %s", what, tt_show(r));
		} else {
			for (int i = 0; i < b->n; i++)
				if (!tt_reply_is(r->element[i], REDIS_REPLY_STRING, hg_val(b, i))) {
					tt_fail("huge: %s: %s is %s, want %s", what, hg_key(b, i),
						tt_show(r->element[i]), hg_val(b, i));
					break;
				}
		}
	} else if (want_int >= 0 && (r->type != REDIS_REPLY_INTEGER || r->integer != want_int)) {
		tt_fail("huge: %s answered %s, want (integer) %d", what, tt_show(r), want_int);
	}
done:
	if (r)
		freeReplyObject(r);
	if (!ok) {
		/* EOF: the killer (or a limit) closed it; a timeout: the server never answered */
		if (b->c->err == REDIS_ERR_IO &&
		    (strstr(b->c->errstr, "unavailable") || strstr(b->c->errstr, "timed out"))) {
			snprintf(why, sizeof(why), "%s: no reply within %d ms", what,
				 HG_TIMEOUT_MS);
			hg_big_drop(self, b, why, since);
		} else {
			hg_big_drop(self, b, NULL, 0);
		}
		return;
	}
	if (mono_ms() - t0 > tt.latency_ms)
		tt_act(self, "big: %s took %lld ms", what, mono_ms() - t0);
	self->ops++;
	b->step = (b->step + 1) % 6;
}

/* ---- raw: declared counts and lengths ---- */

static void hg_raw_step(struct tt_thread *self, char *blob, size_t bloblen)
{
	char hdr[128], in[256];
	int fd = tt_raw(HG_TIMEOUT_MS), closed = 0;
	uint32_t kind = tt_below(self, 6);
	size_t n;

	if (fd < 0) {
		self->errs++;
		return;
	}
	self->conns++;
	TT_SEND_LIT(fd, "CLIENT SETNAME torture-huge-raw\r\n");
	switch (kind) {
	case 0:
		tt_act(self, "raw: *1048576 then one argument, dropped");
		TT_SEND_LIT(fd, "*1048576\r\n$3\r\nGET\r\n");
		break;
	case 1:
		tt_act(self, "raw: *2147483647 then one argument, dropped");
		TT_SEND_LIT(fd, "*2147483647\r\n$4\r\nPING\r\n");
		break;
	case 2:
		tt_act(self, "raw: $536870912 declared, 1 MB sent, dropped");
		n = (size_t)snprintf(hdr, sizeof(hdr),
				     "*3\r\n$3\r\nSET\r\n$6\r\nhg:big\r\n$536870912\r\n");
		if (kvsd_raw_send(fd, hdr, n) == 0)
			tt_send_chunked(fd, blob, 1 << 20);
		break;
	case 3: /* an 8 MB value, read back (loosely: CONFIG SET may lower the limits) */
		tt_act(self, "raw: SET hg:big8 of 8 MB, GET it");
		n = (size_t)snprintf(hdr, sizeof(hdr),
				     "*3\r\n$3\r\nSET\r\n$7\r\nhg:big8\r\n$%zu\r\n", bloblen);
		if (kvsd_raw_send(fd, hdr, n) == 0 && tt_send_chunked(fd, blob, bloblen) == 0 &&
		    TT_SEND_LIT(fd, "\r\nSTRLEN hg:big8\r\n") == 0)
			kvsd_raw_recv(fd, in, sizeof(in), 40, 3000, &closed);
		break;
	case 4: /* a 1 MB key */
		tt_act(self, "raw: SET with a 1 MB key");
		n = (size_t)snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$%d\r\n", 1 << 20);
		if (kvsd_raw_send(fd, hdr, n) == 0 && tt_send_chunked(fd, blob, 1 << 20) == 0 &&
		    TT_SEND_LIT(fd, "\r\n$1\r\nv\r\n") == 0)
			kvsd_raw_recv(fd, in, sizeof(in), 30, 3000, &closed);
		break;
	default: /* many arguments, each tiny: a 300,000-argument EXISTS */
		tt_act(self, "raw: EXISTS with 300000 arguments");
		n = (size_t)snprintf(hdr, sizeof(hdr), "*300001\r\n$6\r\nEXISTS\r\n");
		if (kvsd_raw_send(fd, hdr, n) == 0) {
			static const char arg[] = "$4\r\nhg:z\r\n";
			char chunk[sizeof(arg) * 1000];
			int ok = 1;

			for (int i = 0; i < 1000; i++)
				memcpy(chunk + (size_t)i * (sizeof(arg) - 1), arg, sizeof(arg) - 1);
			for (int i = 0; i < 300 && ok && tt_running(); i++)
				ok = kvsd_raw_send(fd, chunk, 1000 * (sizeof(arg) - 1)) == 0;
			if (ok)
				kvsd_raw_recv(fd, in, sizeof(in), 4, HG_TIMEOUT_MS, &closed);
		}
	}
	self->closed_by_server += closed;
	self->ops++;
	tt_close_rst(fd);
}

void *tt_huge_main(void *arg)
{
	struct tt_thread *self = arg;
	struct hg_big big = {0};
	redisContext *exact = NULL;
	size_t pos = 0, bloblen = 8u << 20;
	char *blob = malloc(bloblen);

	tt_lower_priority();
	big.argv = malloc(sizeof(*big.argv) * (2 * HG_MAXN + 1));
	big.lens = malloc(sizeof(*big.lens) * (2 * HG_MAXN + 1));
	big.names = malloc((size_t)HG_MAXN * 16);
	big.vals = malloc((size_t)HG_MAXN * 24);
	if (!blob || !big.argv || !big.lens || !big.names || !big.vals) {
		tt_fail("huge: out of memory");
		goto out;
	}
	for (size_t i = 0; i < bloblen; i++)
		blob[i] = (char)('a' + i % 23);
	while (tt_running()) {
		for (int i = 0; i < 4 && tt_running(); i++)
			hg_exact_step(self, &exact, &pos);
		if (tt_running())
			hg_big_step(self, &big);
		if (tt_running() && tt_below(self, 4) == 0)
			hg_raw_step(self, blob, bloblen);
		tt_nap(2);
	}
out:
	if (exact)
		redisFree(exact);
	if (big.c)
		redisFree(big.c);
	free(big.argv);
	free(big.lens);
	free(big.names);
	free(big.vals);
	free(blob);
	return NULL;
}
