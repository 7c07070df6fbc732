/*
 * cluster.c — kvsd-loadgen --cluster: slot map discovery, key slots,
 * redirects and the per-node report (see cluster.h). The routing itself lives
 * in worker.c, next to the connections it moves requests between.
 */
#include "loadgen/cluster.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "loadgen/loadgen.h"
#include "net/resp.h"

/* CRC16/XMODEM (poly 0x1021, init 0), as Redis's crc16.c. */
static uint16_t crc16(const char *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)((uint16_t)(unsigned char)p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

unsigned lg_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t rest = len - (size_t)(open + 1 - key);

		close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) & (LG_SLOTS - 1);
	}
	return crc16(key, len) & (LG_SLOTS - 1);
}

/* The unsigned decimal at *p up to CR; advances *p past the CRLF. */
static size_t line_num(const char **p, const char *end)
{
	size_t v = 0;

	while (*p < end && **p >= '0' && **p <= '9')
		v = v * 10 + (size_t)(*(*p)++ - '0');
	*p += 2;
	return v;
}

unsigned lg_req_slot(const char *req, size_t len)
{
	const char *p = req + 1, *end = req + len;
	size_t argc = line_num(&p, end), n;

	if (argc < 2 || p >= end || *p != '$')
		return 0;
	p++;
	n = line_num(&p, end);
	p += n + 2; /* the command name */
	if (p >= end || *p != '$')
		return 0;
	p++;
	n = line_num(&p, end);
	if (p + n > end)
		return 0;
	return lg_key_slot(p, n);
}

int lg_cluster_redirect(const struct lg_cluster *cl, const char *text, size_t len, unsigned *slot,
			int *node)
{
	int kind;
	const char *p, *end = text + len, *addr;
	unsigned s = 0;

	if (len > 6 && !memcmp(text, "MOVED ", 6)) {
		kind = 1;
		p = text + 6;
	} else if (len > 4 && !memcmp(text, "ASK ", 4)) {
		kind = 2;
		p = text + 4;
	} else {
		return 0;
	}
	if (p == end || *p < '0' || *p > '9')
		return 0;
	while (p < end && *p >= '0' && *p <= '9' && s < LG_SLOTS)
		s = s * 10 + (unsigned)(*p++ - '0');
	if (s >= LG_SLOTS || p == end || *p != ' ')
		return 0;
	addr = p + 1;
	*slot = s;
	*node = -1;
	for (int i = 0; i < cl->nnodes; i++) {
		if (strlen(cl->node[i].addr) == (size_t)(end - addr) &&
		    !memcmp(cl->node[i].addr, addr, (size_t)(end - addr))) {
			*node = i;
			break;
		}
	}
	return kind;
}

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Send req and read one complete reply into a growing buffer (*buf, *len). */
static int roundtrip(int fd, const char *req, size_t reqlen, char **buf, size_t *len)
{
	size_t cap = 65536, got = 0, used;
	struct resp_reply rp;
	char *b = mem_alloc(cap);

	if (write(fd, req, reqlen) != (ssize_t)reqlen) {
		mem_free(b);
		return -EIO;
	}
	resp_reply_init(&rp);
	for (;;) {
		ssize_t r;
		enum resp_status st = resp_reply_parse(&rp, b, got, &used);

		if (st == RESP_OK)
			break;
		if (st != RESP_INCOMPLETE) {
			mem_free(b);
			return -EPROTO;
		}
		if (got == cap) {
			if (cap >= (64u << 20)) {
				mem_free(b);
				return -E2BIG;
			}
			cap *= 2;
			b = mem_realloc(b, cap);
		}
		r = read(fd, b + got, cap - got);
		if (r <= 0) {
			mem_free(b);
			return r < 0 ? -errno : -ECONNRESET;
		}
		got += (size_t)r;
	}
	*buf = b;
	*len = used;
	return 0;
}

/* Skip the value at buf[*off] and everything nested in it. */
static int skip(const char *buf, size_t len, size_t *off, int depth)
{
	struct resp_value v;
	size_t hdr;
	long long n = 0;

	if (depth > 16 || resp_value_next(buf + *off, len - *off, &v, &hdr) != RESP_OK)
		return -EPROTO;
	*off += hdr;
	if (v.is_null)
		return 0;
	switch (v.type) {
	case RESP_T_ARRAY:
	case RESP_T_SET:
	case RESP_T_PUSH:
		n = v.integer;
		break;
	case RESP_T_MAP:
	case RESP_T_ATTR:
		n = 2 * v.integer + (v.type == RESP_T_ATTR); /* an attribute precedes a value */
		break;
	default:
		return 0;
	}
	for (long long i = 0; i < n; i++)
		if (skip(buf, len, off, depth + 1) < 0)
			return -EPROTO;
	return 0;
}

/* Read the value at buf[*off] as type t; for aggregates only its header. */
static int want(const char *buf, size_t len, size_t *off, int t, struct resp_value *v)
{
	size_t hdr;

	if (resp_value_next(buf + *off, len - *off, v, &hdr) != RESP_OK || v->type != t ||
	    v->is_null)
		return -EPROTO;
	v->str_off += *off;
	*off += hdr;
	return 0;
}

static int node_index(const struct lg_config *c, struct lg_cluster *cl, const char *ip,
		      size_t iplen, long long port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char host[80], ps[16];
	struct lg_node *nd;
	int rc;

	if (iplen >= sizeof(host) || port < 1 || port > 65535)
		return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad node address");
	if (iplen)
		memcpy(host, ip, iplen);
	else /* "" is "the address you reached me at" */
		iplen = (size_t)snprintf(host, sizeof(host), "%s", c->host);
	host[iplen] = '\0';
	for (int i = 0; i < cl->nnodes; i++) {
		size_t hl = strlen(host);

		if (!strncmp(cl->node[i].addr, host, hl) && cl->node[i].addr[hl] == ':' &&
		    atoll(cl->node[i].addr + hl + 1) == port)
			return i;
	}
	if (cl->nnodes == LG_MAX_NODES)
		return fail(err, errlen, -E2BIG, "more than %d masters", LG_MAX_NODES);
	nd = &cl->node[cl->nnodes];
	snprintf(nd->addr, sizeof(nd->addr), "%s:%lld", host, port);
	snprintf(ps, sizeof(ps), "%lld", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
		return fail(err, errlen, -EHOSTUNREACH, "cannot resolve %s: %s", nd->addr,
			    gai_strerror(rc));
	memcpy(&nd->sa, res->ai_addr, res->ai_addrlen);
	nd->salen = (unsigned)res->ai_addrlen;
	freeaddrinfo(res);
	return cl->nnodes++;
}

/* Walk CLUSTER SLOTS: [[start, end, [ip, port, id, ...], replicas...], ...]. */
static int parse_slots(const struct lg_config *c, struct lg_cluster *cl, const char *buf,
		       size_t len, char *err, size_t errlen)
{
	struct resp_value top, ent, v, ip, port;
	size_t off = 0;

	if (buf[0] == '-')
		return fail(err, errlen, -ENOTSUP, "CLUSTER SLOTS: %.*s", (int)(len - 3), buf + 1);
	if (want(buf, len, &off, RESP_T_ARRAY, &top) < 0)
		return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: not an array");
	for (long long i = 0; i < top.integer; i++) {
		long long lo, hi;
		int n;

		if (want(buf, len, &off, RESP_T_ARRAY, &ent) < 0 || ent.integer < 3 ||
		    want(buf, len, &off, RESP_T_INT, &v) < 0)
			return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad entry");
		lo = v.integer;
		if (want(buf, len, &off, RESP_T_INT, &v) < 0)
			return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad entry");
		hi = v.integer;
		if (lo < 0 || hi < lo || hi >= LG_SLOTS)
			return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad range");
		/* the master: ip, port, then id and metadata we do not need */
		if (want(buf, len, &off, RESP_T_ARRAY, &v) < 0 || v.integer < 2 ||
		    want(buf, len, &off, RESP_T_BULK, &ip) < 0 ||
		    want(buf, len, &off, RESP_T_INT, &port) < 0)
			return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad node");
		for (long long k = 2; k < v.integer; k++)
			if (skip(buf, len, &off, 0) < 0)
				return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad node");
		for (long long k = 3; k < ent.integer; k++) /* replicas */
			if (skip(buf, len, &off, 0) < 0)
				return fail(err, errlen, -EPROTO, "CLUSTER SLOTS: bad node");
		n = node_index(c, cl, buf + ip.str_off, ip.str_len, port.integer, err, errlen);
		if (n < 0)
			return n;
		for (long long s = lo; s <= hi; s++)
			cl->owner[s] = (uint8_t)n;
	}
	if (!cl->nnodes)
		return fail(err, errlen, -ENOENT, "CLUSTER SLOTS: no slot is served");
	return 0;
}

int lg_cluster_discover(const struct lg_config *c, struct lg_cluster *cl, char *err, size_t errlen)
{
	static const char slots[] = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
	struct timeval tv = {.tv_sec = 5};
	char *buf = NULL, req[600];
	size_t len;
	int fd, rc;

	memset(cl->owner, LG_NO_NODE, sizeof(cl->owner));
	cl->nnodes = 0;
	fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, -errno, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0) {
		rc = -errno;
		close(fd);
		return fail(err, errlen, rc, "connect: %s", strerror(-rc));
	}
	if (c->auth) {
		size_t pl = strlen(c->auth);
		int n;

		if (pl > 500) {
			close(fd);
			return fail(err, errlen, -EINVAL, "password too long");
		}
		n = snprintf(req, sizeof(req), "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", pl, c->auth);
		if ((rc = roundtrip(fd, req, (size_t)n, &buf, &len)) < 0 || buf[0] != '+') {
			close(fd);
			mem_free(buf);
			return fail(err, errlen, rc < 0 ? rc : -EACCES, "AUTH refused");
		}
		mem_free(buf);
	}
	rc = roundtrip(fd, slots, sizeof(slots) - 1, &buf, &len);
	close(fd);
	if (rc < 0)
		return fail(err, errlen, rc, "CLUSTER SLOTS: %s", strerror(-rc));
	rc = parse_slots(c, cl, buf, len, err, errlen);
	mem_free(buf);
	return rc;
}

void lg_cluster_sum(struct lg_cluster *cl, const struct lg_worker *w, int nworkers)
{
	for (int k = 0; k < nworkers; k++) {
		cl->moved += w[k].stats.moved;
		cl->asks += w[k].stats.asks;
		for (int i = 0; i < cl->nnodes; i++)
			cl->node[i].requests += w[k].stats.node_requests[i];
	}
}

void lg_cluster_print(const struct lg_cluster *cl, double secs)
{
	printf("\ncluster: %d masters, %llu MOVED, %llu ASK\n", cl->nnodes,
	       (unsigned long long)cl->moved, (unsigned long long)cl->asks);
	printf("%-24s %10s %12s\n", "node", "requests", "ops/s");
	for (int i = 0; i < cl->nnodes; i++)
		printf("%-24s %10llu %12.0f\n", cl->node[i].addr,
		       (unsigned long long)cl->node[i].requests,
		       secs > 0 ? (double)cl->node[i].requests / secs : 0.0);
}

void lg_cluster_json(FILE *f, const struct lg_cluster *cl, double secs)
{
	fprintf(f, "\n  \"moved\": %llu, \"asks\": %llu, \"nodes\": [",
		(unsigned long long)cl->moved, (unsigned long long)cl->asks);
	for (int i = 0; i < cl->nnodes; i++)
		fprintf(f, "%s\n    {\"addr\": \"%s\", \"requests\": %llu, \"ops_per_sec\": %.1f}",
			i ? "," : "", cl->node[i].addr, (unsigned long long)cl->node[i].requests,
			secs > 0 ? (double)cl->node[i].requests / secs : 0.0);
	fprintf(f, "],");
}
