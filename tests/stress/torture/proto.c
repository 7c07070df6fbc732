/*
 * proto.c — malformed and mutated requests.
 *
 * proto: each round sends one case of a fixed table of malformed or odd requests on a fresh
 * raw connection and checks the exact bytes Redis 7.0 answers (checked against redis-server:
 * run this program with KVSD_BIN=/usr/bin/redis-server), then that the connection is closed
 * (protocol errors) or still answers PING (everything else). Its connections are unnamed, so
 * the killer never aims at them and the checks stay exact; replies may take up to 5 s (a
 * stalled server shows up in the checkers, as a latency violation, before it shows here).
 *
 * fuzz: valid requests on its own keys (fz:*), mutated (bytes flipped, replaced, inserted,
 * deleted, duplicated, lengths changed, requests cut), sent in bursts on fresh connections
 * (half of them named torture-fuzz, so the killer also cuts some), read for a moment and
 * dropped, often with an RST. Nothing is checked but that the server survives (the checkers
 * and main()'s watch do that). The templates hold no command that could reach a checker's
 * keys, the configuration, or other connections: mutations of them cannot either.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "torture.h"

#define PR_TIMEOUT_MS 5000

struct pr_case {
	const char *name;
	const char *req; /* NULL: built by pr_build() */
	const char *reply;
	int closes;	  /* 1: a protocol error, the server closes the connection */
	int kvsd_only;	  /* skipped when the server is redis-server */
	size_t reply_len; /* 0: strlen(reply) */
};

/* Replies as redis-server 7.0.15 sends them. */
static const struct pr_case pr_cases[] = {
    {"bad multibulk count", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n", 1, 0,
     0},
    {"multibulk count overflow", "*99999999999999999999\r\n",
     "-ERR Protocol error: invalid multibulk length\r\n", 1, 0, 0},
    {"bulk expected", "*3\r\n$3\r\nSET\r\nxx\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n",
     1, 0, 0},
    {"nested array", "*2\r\n*1\r\n", "-ERR Protocol error: expected '$', got '*'\r\n", 1, 0, 0},
    {"negative bulk length", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n", 1, 0,
     0},
    {"bulk length overflow", "*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n",
     "-ERR Protocol error: invalid bulk length\r\n", 1, 0, 0},
    {"40-digit bulk length", "*1\r\n$1111111111111111111111111111111111111111\r\n",
     "-ERR Protocol error: invalid bulk length\r\n", 1, 0, 0},
    /* Beyond what storage holds (KV_LEN_MAX): refused whatever proto-max-bulk-len says. */
    {"bulk longer than storage holds", "*2\r\n$3\r\nGET\r\n$1073741824\r\n",
     "-ERR Protocol error: invalid bulk length\r\n", 1, 1, 0},
    {"unbalanced quotes", "SET \"abc\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n",
     1, 0, 0},
    {"unbalanced after a valid command", "PING\r\nSET 'a\r\n",
     "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n", 1, 0, 0},
    {"protocol error after a pipeline", "PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n",
     "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n", 1, 0, 0},
    {"inline request over 64 KB", NULL, "-ERR Protocol error: too big inline request\r\n", 1, 0, 0},
    {"multibulk count line over 64 KB", NULL, "-ERR Protocol error: too big mbulk count string\r\n",
     1, 0, 0},
    {"unknown command", "*1\r\n$3\r\nFOO\r\n",
     "-ERR unknown command 'FOO', with args beginning with: \r\n", 0, 0, 0},
    {"unknown command with args", "*2\r\n$3\r\nFOO\r\n$3\r\nbar\r\n",
     "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n", 0, 0, 0},
    {"wrong arity", "*1\r\n$3\r\nGET\r\nGET\r\n",
     "-ERR wrong number of arguments for 'get' command\r\n"
     "-ERR wrong number of arguments for 'get' command\r\n",
     0, 0, 0},
    {"empty multibulk", "*0\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n", 0, 0, 0},
    {"null multibulk", "*-1\r\nPING\r\n", "+PONG\r\n", 0, 0, 0},
    {"blank lines", "\r\n\r\nPING\r\n", "+PONG\r\n", 0, 0, 0},
    {"bare LF inline", "PING\nPING\n", "+PONG\r\n+PONG\r\n", 0, 0, 0},
    {"unchecked payload CRLF", "*1\r\n$4\r\nPINGXX\r\n", "+PONG\r\n", 0, 0, 0},
    {"inline escapes", "SET \"pr:q\" \"a\\x41\\n\"\r\nGET pr:q\r\n", "+OK\r\n$3\r\naA\n\r\n", 0, 0,
     0},
    {"CRLF inside a bulk",
     "*3\r\n$3\r\nSET\r\n$4\r\npr:b\r\n$4\r\n\r\n\r\n\r\n*2\r\n$3\r\nGET\r\n$4\r\npr:b\r\n",
     "+OK\r\n$4\r\n\r\n\r\n\r\n", 0, 0, 0},
    {"binary key and value", NULL, "+OK\r\n$4\r\n\x00\xff\r\n\r\n", 0, 0, 15},
};

/* Requests too long or too binary for a literal; returns a malloc'd buffer. */
static char *pr_build(const struct pr_case *pc, size_t *len)
{
	char *b;

	if (strcmp(pc->name, "inline request over 64 KB") == 0) {
		*len = 70000;
		b = malloc(*len);
		memset(b, 'x', *len);
	} else if (strcmp(pc->name, "multibulk count line over 64 KB") == 0) {
		*len = 70000;
		b = malloc(*len);
		memset(b, '1', *len);
		b[0] = '*';
	} else {
		static const char bin[] =
		    "*3\r\n$3\r\nSET\r\n$4\r\npr:\x00\r\n$4\r\n\x00\xff\r\n\r\n"
		    "*2\r\n$3\r\nGET\r\n$4\r\npr:\x00\r\n";

		*len = sizeof(bin) - 1;
		b = malloc(*len);
		memcpy(b, bin, *len);
	}
	return b;
}

static void pr_run_case(struct tt_thread *self, const struct pr_case *pc)
{
	size_t len = 0, want, got;
	char *req = pc->req ? (char *)pc->req : pr_build(pc, &len);
	char buf[512], extra[64];
	int fd, closed = 0;
	double sent;

	if (pc->req)
		len = strlen(pc->req);
	want = pc->reply_len ? pc->reply_len : strlen(pc->reply);
	fd = tt_raw(PR_TIMEOUT_MS);
	if (fd < 0) {
		self->errs++;
		goto out;
	}
	self->conns++;
	tt_act(self, "case '%s' (%zu bytes)", pc->name, len);
	sent = tt_elapsed();
	if (kvsd_raw_send(fd, req, len) != 0) {
		/* the server may close on the error before it has read everything we sent */
		if (!pc->closes)
			tt_fail("proto: case '%s': send failed: %s", pc->name, strerror(errno));
	}
	got = kvsd_raw_recv(fd, buf, sizeof(buf), want, PR_TIMEOUT_MS, &closed);
	if (got != want || memcmp(buf, pc->reply, want) != 0) {
		if (!tt_running() && got < want)
			goto out; /* the run stopped (the server is gone) */
		tt_fail_since(sent, "proto: case '%s': got %zu bytes \"%.*s\"%s, want \"%.*s\"",
			      pc->name, got, (int)(got > 150 ? 150 : got), buf,
			      closed ? " then EOF" : "", (int)(want > 150 ? 150 : want), pc->reply);
		goto out;
	}
	if (pc->closes) {
		got = kvsd_raw_recv(fd, extra, sizeof(extra), 1, PR_TIMEOUT_MS, &closed);
		if (!closed && tt_running())
			tt_fail("proto: case '%s': connection still open %d ms after the error%s",
				pc->name, PR_TIMEOUT_MS, got ? " (and more bytes)" : "");
		else
			self->closed_by_server++;
	} else {
		if (kvsd_raw_send(fd, "PING\r\n", 6) == 0)
			got = kvsd_raw_recv(fd, extra, sizeof(extra), 7, PR_TIMEOUT_MS, &closed);
		else
			got = 0;
		if ((got != 7 || memcmp(extra, "+PONG\r\n", 7) != 0) && tt_running())
			tt_fail("proto: case '%s': PING afterwards got \"%.*s\"%s", pc->name,
				(int)got, extra, closed ? " then EOF" : "");
	}
	self->ops++;
out:
	if (fd >= 0)
		tt_close_rst(fd);
	if (!pc->req)
		free(req);
}

void *tt_proto_main(void *arg)
{
	struct tt_thread *self = arg;
	const size_t ncase = sizeof(pr_cases) / sizeof(pr_cases[0]);

	tt_lower_priority();
	for (size_t i = 0; tt_running(); i++) {
		const struct pr_case *pc = &pr_cases[i % ncase];

		if (pc->kvsd_only && tt.is_redis)
			continue;
		pr_run_case(self, pc);
		tt_nap(1 + (long)tt_below(self, 3));
	}
	return NULL;
}

/* ---- fuzz ---- */

/* Request templates: own keys only; no CONFIG, CLIENT, FLUSH*, SHUTDOWN, DEBUG, MONITOR. */
static const char *const fz_templates[] = {
    "SET fz:k hello",
    "GET fz:k",
    "MSET fz:a 1 fz:b 2",
    "MGET fz:a fz:b fz:k",
    "INCR fz:n",
    "INCRBY fz:n 7",
    "INCRBYFLOAT fz:f 1.5",
    "APPEND fz:s abc",
    "GETRANGE fz:s 0 -1",
    "EXPIRE fz:k 100",
    "PEXPIRE fz:a 50",
    "TTL fz:k",
    "DEL fz:a fz:b",
    "EXISTS fz:a fz:k",
    "TYPE fz:k",
    "STRLEN fz:s",
    "GETEX fz:k PX 1000",
    "SET fz:k v NX PX 100 GET",
    "GETSET fz:k x",
    "SETNX fz:z 1",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH fz:k",
    "UNWATCH",
    "PING",
    "ECHO hi",
    "INFO server",
    "COMMAND COUNT",
    "COMMAND INFO get",
    "DBSIZE",
    "SCAN 0 MATCH fz:* COUNT 10",
    "KEYS fz:*",
    "HELLO 2",
    "HELLO 3",
    "RESET",
    "TIME",
    "SLOWLOG GET 2",
    "MEMORY USAGE fz:k",
    "RENAME fz:a fz:b",
    "GETDEL fz:z",
    "PERSIST fz:k",
    "MSETNX fz:c 1 fz:d 2",
    "DECRBY fz:n 3",
};

/* A template as RESP (multibulk, or inline half the time) appended to out. */
static size_t fz_encode(struct tt_thread *self, const char *tpl, char *out, size_t cap)
{
	char words[16][64];
	int n = 0;
	size_t len = 0;

	if (tt_below(self, 2) == 0)
		return (size_t)snprintf(out, cap, "%s\r\n", tpl);
	for (const char *p = tpl; *p && n < 16;) {
		size_t w = strcspn(p, " ");

		snprintf(words[n++], sizeof(words[0]), "%.*s", (int)w, p);
		p += w;
		p += strspn(p, " ");
	}
	len += (size_t)snprintf(out + len, cap - len, "*%d\r\n", n);
	for (int i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "$%zu\r\n%s\r\n", strlen(words[i]),
					words[i]);
	return len < cap ? len : cap - 1;
}

static size_t fz_mutate(struct tt_thread *self, char *b, size_t len, size_t cap)
{
	int rounds = 1 + (int)tt_below(self, 4);

	for (int m = 0; m < rounds && len > 0; m++) {
		size_t at = tt_below(self, (uint32_t)len);

		switch (tt_below(self, 8)) {
		case 0: /* flip a bit */
			b[at] ^= (char)(1u << tt_below(self, 8));
			break;
		case 1: /* replace with a random or special byte */
			b[at] = "\r\n*$:+-\0 9"[tt_below(self, 10)];
			break;
		case 2: /* insert digits (lengths and counts grow) */
			if (len + 4 < cap) {
				memmove(b + at + 3, b + at, len - at);
				for (int i = 0; i < 3; i++)
					b[at + (size_t)i] = (char)('0' + tt_below(self, 10));
				len += 3;
			}
			break;
		case 3: /* delete a range */ {
			size_t n = 1 + tt_below(self, 8);

			if (at + n > len)
				n = len - at;
			memmove(b + at, b + at + n, len - at - n);
			len -= n;
			break;
		}
		case 4: /* duplicate a range */ {
			size_t n = 1 + tt_below(self, 16);

			if (at + n > len)
				n = len - at;
			if (len + n < cap) {
				memmove(b + at + n, b + at, len - at);
				len += n;
			}
			break;
		}
		case 5: /* cut the request short */
			len = at;
			break;
		case 6: /* a negative or huge length */ {
			char *d = memchr(b + at, '$', len - at);

			if (d && d + 1 < b + len)
				d[1] = tt_below(self, 2) ? '-' : '9';
			break;
		}
		default: /* insert CRLF */
			if (len + 3 < cap) {
				memmove(b + at + 2, b + at, len - at);
				b[at] = '\r';
				b[at + 1] = '\n';
				len += 2;
			}
		}
	}
	return len;
}

void *tt_fuzz_main(void *arg)
{
	struct tt_thread *self = arg;
	const uint32_t ntpl = sizeof(fz_templates) / sizeof(fz_templates[0]);
	char buf[8192], in[4096];

	tt_lower_priority();
	while (tt_running()) {
		int fd = tt_raw(1000), closed = 0;
		size_t len = 0;
		int burst = 1 + (int)tt_below(self, 6);

		if (fd < 0) {
			self->errs++;
			tt_nap(10);
			continue;
		}
		self->conns++;
		if (tt_below(self, 2) == 0)
			len +=
			    (size_t)snprintf(buf, sizeof(buf), "CLIENT SETNAME torture-fuzz\r\n");
		for (int i = 0; i < burst && len + 512 < sizeof(buf); i++) {
			char one[512];
			size_t n = fz_encode(self, fz_templates[tt_below(self, ntpl)], one,
					     sizeof(one) / 2);

			if (tt_below(self, 4) != 0)
				n = fz_mutate(self, one, n, sizeof(one));
			memcpy(buf + len, one, n);
			len += n;
		}
		tt_act(self, "burst of %d (%zu bytes): %.*s", burst, len,
		       (int)(len < 60 ? len : 60), buf);
		if (kvsd_raw_send(fd, buf, len) == 0)
			kvsd_raw_recv(fd, in, sizeof(in), sizeof(in) - 1,
				      5 + (int)tt_below(self, 25), &closed);
		self->closed_by_server += closed;
		self->ops++;
		if (tt_below(self, 2))
			tt_close_rst(fd);
		else
			close(fd);
		tt_nap((long)tt_below(self, 3));
	}
	return NULL;
}
