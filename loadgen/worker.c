/*
 * worker.c — one load-generating thread: its connections and its epoll loop.
 *
 * Each connection keeps a ring of at most -P outstanding requests (struct
 * lg_slot: when it was meant to go, its type and key). Closed loop: as soon
 * as a reply frees a slot, the next request is encoded and written, and its
 * latency counts from that moment. Open loop (--rate): a request is taken
 * from the connection's schedule (rate.h) once its due time has come and a
 * slot is free, and its latency counts from the due time, so a server that
 * stalls is charged for every request it delayed, not only the ones in
 * flight (coordinated omission correction, as wrk2).
 *
 * Requests are encoded from fixed templates straight into the connection's
 * output buffer (sized for -P requests of the largest value at start), and
 * values are slices of one shared random block, so nothing is allocated per
 * request. Replies are parsed in place in the input buffer with
 * resp_reply_parse(); all replies of one read() share the timestamp taken
 * right after it.
 *
 * Dependent requests (workload f: SET after GET of the same key; workload
 * cache: SET after a GET miss) wait in a small per-connection queue and go
 * before new requests; their latency counts from the moment the GET's reply
 * arrived. They are not taken from the rate schedule: --rate paces primary
 * operations.
 *
 * With --mix, each primary operation first draws which class it is (mix.h:
 * one of the templates by weight, else the GET/SET mix); a template's slot is
 * type LG_CMD with its index in .tmpl, so its reply is counted both under CMD
 * and in the template's own histogram.
 *
 * With --cluster (cluster.h), the connections come in groups of one per
 * node. Every member of a group generates requests as a connection does
 * without --cluster (its own quota, schedule and at most -P requests in
 * flight), but sends each on the member whose node serves the key's slot in
 * this worker's copy of the slot map; the slot records which member it came
 * from (.origin), so replies free that member's pipeline and its dependent
 * SETs queue there. A -MOVED reply updates the map and re-queues the request
 * on its origin like a dependent SET (its latency still counts from the first
 * send); -ASK re-queues it with SLOT_ASK, which sends ASKING and the request
 * to the named node. A member's ring therefore holds what the whole group may
 * have in flight (ring_size). A connection that fails takes its group down.
 */
#include "loadgen/loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "net/resp.h"

#define SLOT_MEASURED 1u  /* counts toward the results (after warmup) */
#define SLOT_VERIFY   2u  /* GET of a key this run had written when it was sent */
#define SLOT_RMW      4u  /* workload f: SET the key once the GET returns */
#define SLOT_CACHE    8u  /* workload cache: SET the key if the GET misses */
#define SLOT_PRIMARY  16u /* counts against --requests */
#define SLOT_SELECT   32u /* --dbs: a SELECT of database .key; not an operation */
#define SLOT_ASK      64u /* --cluster: goes to .node behind ASKING (an -ASK reply) */

#define IDLE_WAIT_NS 10000000ULL /* poll at least every 10 ms (timeline, end) */
#define MAX_EVENTS   64

struct lg_slot {
	uint64_t t_ns;
	uint64_t key;
	uint8_t type;
	uint8_t flags;
	uint8_t tmpl;	/* LG_CMD: 0 the --command template, 1 + i --mix template i */
	uint8_t origin; /* --cluster: the member of the group that generated it */
	uint8_t node;	/* SLOT_ASK: the node the -ASK named */
};

struct lg_conn {
	int fd;
	bool dead, want_out, finished;
	char *out;
	size_t out_off, out_len, out_cap;
	char *in;
	size_t in_off, in_len, in_cap;
	struct resp_reply rp;
	struct lg_slot *slots; /* ring of cfg->pipeline */
	unsigned head, count;
	struct lg_slot *fups; /* queued dependent SETs, ring of cfg->pipeline */
	unsigned fhead, fcount;
	struct rate rate;
	struct dist_seq seq;
	uint64_t quota;		      /* primary requests still to send in the measured window */
	uint64_t pre_quota, pre_next; /* prefill: keys still to write, next key */
	unsigned db;		      /* --dbs: the database the server has for it */
	bool selected;		      /* --dbs: a SELECT went out for the next operation */
	struct lg_conn *group;	      /* --cluster: its group's first member; else NULL */
	unsigned node;		      /* --cluster: the node it is connected to */
	unsigned inflight;	      /* --cluster: requests it generated, unanswered */
};

struct lg_phase {
	bool prefill, open;
	uint64_t t_start, t_measure, t_end; /* t_end 0: run until quotas are spent */
	uint64_t drain_deadline;
};

struct lg_run lg_run;

uint64_t lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Entries of a connection's slot and dependent-request rings: -P, or with
 * --cluster what a group's members may have in flight together (each -P, plus
 * an ASKING and a re-sent request). */
static unsigned ring_size(const struct lg_config *c)
{
	return c->cl ? (unsigned)c->cl->nnodes * ((unsigned)c->pipeline + 2)
		     : (unsigned)c->pipeline;
}

/* Requests a connection has in flight as a generator (see the file comment). */
static unsigned gen_count(const struct lg_conn *cn)
{
	return cn->group ? cn->inflight : cn->count;
}

void lg_key_format(char *dst, uint64_t idx)
{
	memcpy(dst, LG_KEY_PREFIX, 4);
	for (int i = LG_KEY_LEN - 1; i >= 4; i--) {
		dst[i] = (char)('0' + idx % 10);
		idx /= 10;
	}
}

uint64_t lg_value_len(const struct lg_config *c, uint64_t idx)
{
	uint64_t h;

	if (c->dmin == c->dmax)
		return c->dmin;
	/* a fixed function of the key, so every write of a key has the same value */
	h = (idx + 1) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return c->dmin + h % (c->dmax - c->dmin + 1);
}

void lg_stats_error(struct lg_stats *s, const char *text, size_t len)
{
	lg_stats_errors(s, text, len, 1);
}

void lg_stats_errors(struct lg_stats *s, const char *text, size_t len, uint64_t n)
{
	if (len >= sizeof(s->texts[0].text))
		len = sizeof(s->texts[0].text) - 1;
	for (unsigned i = 0; i < s->ntexts; i++) {
		if (!strncmp(s->texts[i].text, text, len) && s->texts[i].text[len] == '\0') {
			s->texts[i].count += n;
			return;
		}
	}
	if (s->ntexts == LG_ERR_TEXTS) {
		s->texts_dropped += n;
		return;
	}
	memcpy(s->texts[s->ntexts].text, text, len);
	s->texts[s->ntexts].text[len] = '\0';
	s->texts[s->ntexts++].count = n;
}

static size_t put_uint(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* A --command or --mix template with its placeholders filled: the first
 * with key, each further one with its own draw. */
static char *encode_cmd(const struct lg_config *c, const struct lg_tmpl *t, struct lg_conn *cn,
			struct dist_rng *rng, char *p, uint64_t key)
{
	bool first = true;

	*p++ = '*';
	p += put_uint(p, (uint64_t)t->argc);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < t->argc; i++) {
		size_t n = t->argl[i];
		char *a, *q;

		*p++ = '$';
		p += put_uint(p, n);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, t->argv[i], n);
		a = p;
		while ((q = memmem(a, n - (size_t)(a - p), LG_RAND_INT, LG_KEY_DIGITS)) != NULL) {
			uint64_t v = first ? key : dist_next(&c->keydist, rng, &cn->seq);

			first = false;
			for (int d = LG_KEY_DIGITS - 1; d >= 0; d--) {
				q[d] = (char)('0' + v % 10);
				v /= 10;
			}
			a = q + LG_KEY_DIGITS;
		}
		p += n;
		*p++ = '\r';
		*p++ = '\n';
	}
	return p;
}

/* Make room for one more request at the end of the output buffer. */
static void out_room(const struct lg_config *c, struct lg_conn *cn)
{
	if (cn->out_off && cn->out_len + c->req_max > cn->out_cap) {
		memmove(cn->out, cn->out + cn->out_off, cn->out_len - cn->out_off);
		cn->out_len -= cn->out_off;
		cn->out_off = 0;
	}
}

/* Append one request; the caller guarantees room (see conn_open's sizing).
 * Returns the offset in cn->out where it starts. */
static size_t encode(const struct lg_config *c, struct lg_conn *cn, struct dist_rng *rng, int type,
		     unsigned tmpl, uint64_t key)
{
	static const char get_hdr[] = "*2\r\n$3\r\nGET\r\n$16\r\n";
	static const char set_hdr[] = "*3\r\n$3\r\nSET\r\n$16\r\n";
	static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
	char *p;
	uint64_t vlen;
	size_t start;

	out_room(c, cn);
	start = cn->out_len;
	p = cn->out + cn->out_len;
	if (type == LG_ASKING) {
		memcpy(p, asking, sizeof(asking) - 1);
		p += sizeof(asking) - 1;
	} else if (type == LG_CMD) {
		p = encode_cmd(c, tmpl ? &c->mix[tmpl - 1] : &c->cmd, cn, rng, p, key);
	} else if (type == LG_SELECT) {
		static const char sel_hdr[] = "*2\r\n$6\r\nSELECT\r\n$";

		memcpy(p, sel_hdr, sizeof(sel_hdr) - 1);
		p += sizeof(sel_hdr) - 1;
		{
			char d[24];
			size_t n = put_uint(d, key);

			p += put_uint(p, n);
			*p++ = '\r';
			*p++ = '\n';
			memcpy(p, d, n);
			p += n;
		}
		*p++ = '\r';
		*p++ = '\n';
	} else if (type == LG_GET) {
		memcpy(p, get_hdr, sizeof(get_hdr) - 1);
		p += sizeof(get_hdr) - 1;
		lg_key_format(p, key);
		p += LG_KEY_LEN;
		*p++ = '\r';
		*p++ = '\n';
	} else {
		memcpy(p, set_hdr, sizeof(set_hdr) - 1);
		p += sizeof(set_hdr) - 1;
		lg_key_format(p, key);
		p += LG_KEY_LEN;
		vlen = lg_value_len(c, key);
		memcpy(p, "\r\n$", 3);
		p += 3;
		p += put_uint(p, vlen);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, lg_value_ptr(c, key), vlen);
		p += vlen;
		*p++ = '\r';
		*p++ = '\n';
	}
	cn->out_len = (size_t)(p - cn->out);
	return start;
}

static bool key_written(const struct lg_config *c, uint64_t key)
{
	/* relaxed: the bit only says a SET of this key was acknowledged before; the
	 * server, not this flag, orders the value we then read */
	return atomic_load_explicit(&c->written[key / 64], memory_order_relaxed) &
	       (1ULL << (key % 64));
}

static void conn_kill(struct lg_worker *w, struct lg_conn *cn, const char *why)
{
	if (cn->dead)
		return;
	lg_stats_error(&w->stats, why, strlen(why));
	w->stats.other_errors += cn->count + 1;
	w->ival_errors += cn->count + 1;
	close(cn->fd);
	cn->dead = true;
	cn->count = 0;
	cn->fcount = 0;
	if (cn->group) /* its group's requests may be on any member */
		for (int i = 0; i < w->cfg->cl->nnodes; i++)
			conn_kill(w, &cn->group[i], why);
}

static void conn_flush(struct lg_worker *w, int ep, struct lg_conn *cn)
{
	while (cn->out_off < cn->out_len) {
		ssize_t n = write(cn->fd, cn->out + cn->out_off, cn->out_len - cn->out_off);

		if (n > 0) {
			cn->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!cn->want_out) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
							 .data.ptr = cn};
				epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ev);
				cn->want_out = true;
			}
			return;
		}
		conn_kill(w, cn, "write failed (connection closed)");
		return;
	}
	cn->out_off = cn->out_len = 0;
	if (cn->want_out) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cn};
		epoll_ctl(ep, EPOLL_CTL_MOD, cn->fd, &ev);
		cn->want_out = false;
	}
}

/* Choose the next primary operation of the main phase. */
static void choose(struct lg_worker *w, struct dist_rng *rng, struct lg_conn *cn, int *type,
		   unsigned *tmpl, uint64_t *key, unsigned *flags)
{
	const struct lg_config *c = w->cfg;
	unsigned r = (unsigned)dist_rng_below(rng, 1000);
	int m = -1;

	*key = dist_next(&c->keydist, rng, &cn->seq);
	*flags = 0;
	*tmpl = 0;
	if (c->nmix) /* drawn only with --mix, so other runs keep their sequence */
		m = lg_mix_pick(c->mix, c->nmix, (uint32_t)dist_rng_below(rng, LG_MIX_ONE));
	if (m >= 0) {
		*type = LG_CMD;
		*tmpl = (unsigned)m + 1;
	} else if (c->command) {
		*type = LG_CMD;
	} else if (c->workload == LG_WL_CACHE) {
		*type = LG_GET;
		*flags = SLOT_CACHE;
	} else if (r < c->set_permille) {
		*type = LG_SET;
	} else {
		*type = LG_GET;
		if (r < c->set_permille + c->rmw_permille)
			*flags = SLOT_RMW;
	}
}

/* Queue slot s on dst (a member of its group) for its origin g. */
static void cluster_queue(const struct lg_config *c, struct lg_conn *g, struct lg_conn *dst,
			  struct lg_slot s)
{
	s.origin = (uint8_t)(g - g->group);
	dst->slots[(dst->head + dst->count) % ring_size(c)] = s;
	dst->count++;
	g->inflight++;
}

/* --cluster: encode g's request s and queue it on the member of g's group
 * that serves its key's slot (or, after -ASK, behind ASKING on the node the
 * -ASK named). The request is encoded at the end of g's own buffer first, as
 * a --command template's key is only known once its placeholders are filled. */
static void cluster_send(struct lg_worker *w, struct lg_conn *g, struct dist_rng *rng,
			 struct lg_slot s)
{
	const struct lg_config *c = w->cfg;
	struct lg_conn *dst;
	size_t start, len;
	unsigned node;

	if (s.flags & SLOT_ASK) {
		dst = &g->group[s.node];
		s.flags &= (uint8_t)~SLOT_ASK;
		encode(c, dst, rng, LG_ASKING, 0, 0);
		cluster_queue(
		    c, g, dst,
		    (struct lg_slot){.t_ns = s.t_ns, .type = LG_ASKING, .flags = SLOT_SELECT});
		encode(c, dst, rng, s.type, s.tmpl, s.key);
		cluster_queue(c, g, dst, s);
		return;
	}
	start = encode(c, g, rng, s.type, s.tmpl, s.key);
	len = g->out_len - start;
	node = w->slotmap[lg_req_slot(g->out + start, len)];
	if (node == LG_NO_NODE)
		node = g->node; /* no master serves it: the server's error says so */
	dst = &g->group[node];
	if (dst != g) {
		out_room(c, dst);
		memcpy(dst->out + dst->out_len, g->out + start, len);
		dst->out_len += len;
		g->out_len = start;
	}
	cluster_queue(c, g, dst, s);
}

/* Write what the members of cn's group (or cn alone) have buffered. */
static void flush_group(struct lg_worker *w, int ep, struct lg_conn *cn)
{
	if (!cn->group) {
		conn_flush(w, ep, cn);
		return;
	}
	for (int i = 0; i < w->cfg->cl->nnodes; i++) {
		struct lg_conn *m = &cn->group[i];

		if (!m->dead && m->out_off < m->out_len && !m->want_out)
			conn_flush(w, ep, m);
	}
}

/* Send whatever this connection may send now. */
static void conn_fill(struct lg_worker *w, int ep, struct lg_conn *cn, const struct lg_phase *ph,
		      struct dist_rng *rng, uint64_t now)
{
	const struct lg_config *c = w->cfg;
	unsigned P = (unsigned)c->pipeline, R = ring_size(c);
	bool ending = ph->t_end && now >= ph->t_end;
	bool stopping = atomic_load_explicit(&lg_run.stop, memory_order_relaxed); /* a hint */
	bool any = false;

	while (!cn->dead && gen_count(cn) < P) {
		struct lg_slot s;
		int type;

		if (ending)
			cn->fcount = 0; /* dependent SETs are not started after the run */
		if (cn->fcount) {
			s = cn->fups[cn->fhead];
			cn->fhead = (cn->fhead + 1) % R;
			cn->fcount--;
		} else if (ph->prefill) {
			if (!cn->pre_quota)
				break;
			s = (struct lg_slot){.t_ns = now, .key = cn->pre_next++, .type = LG_SET};
			cn->pre_quota--;
		} else {
			unsigned flags, tmpl;
			uint64_t t;

			if (stopping || (!ph->t_end && !cn->quota) || (ending && !ph->open))
				break;
			if (ending && now >= ph->t_end + LG_DRAIN_NS)
				break; /* open loop: the backlog is cut off 2 s after the end */
			if (ph->open) {
				t = rate_due(&cn->rate);
				if (t > now)
					break;
				if (ph->t_end && t >= ph->t_end)
					break;
				rate_take(&cn->rate);
			} else {
				t = now;
			}
			if (c->dbs > 1 && cn->selected) {
				cn->selected = false; /* this operation goes to cn->db */
			} else if (c->dbs > 1) {
				unsigned db = (unsigned)dist_rng_below(rng, c->dbs);

				if (db != cn->db) {
					/* its own slot, ahead of the operation
					 * (closed loop only: main.c refuses --rate) */
					s = (struct lg_slot){.t_ns = now,
							     .key = db,
							     .type = LG_SELECT,
							     .flags = SLOT_SELECT};
					if (t >= ph->t_measure)
						w->stats.selects++;
					cn->db = db;
					cn->selected = true;
					goto queue;
				}
			}
			choose(w, rng, cn, &type, &tmpl, &s.key, &flags);
			s.t_ns = t;
			s.type = (uint8_t)type;
			s.tmpl = (uint8_t)tmpl;
			if (t >= ph->t_measure) {
				flags |= SLOT_MEASURED | SLOT_PRIMARY;
				if (!ph->t_end)
					cn->quota--;
			}
			if (c->written && type == LG_GET && key_written(c, s.key))
				flags |= SLOT_VERIFY;
			s.flags = (uint8_t)flags;
		}
	queue:
		any = true;
		if (cn->group) {
			cluster_send(w, cn, rng, s);
			continue;
		}
		encode(c, cn, rng, s.type, s.tmpl, s.key);
		cn->slots[(cn->head + cn->count) % R] = s;
		cn->count++;
	}
	if (any)
		flush_group(w, ep, cn);
}

/* --cluster: a -MOVED or -ASK reply to s, which g generated: re-queue s on g
 * to go where the reply says. False when text is no redirect to a known node
 * (then it is an error reply like any other). */
static bool redirect(struct lg_worker *w, struct lg_conn *g, const struct lg_slot *s,
		     const char *text, size_t len)
{
	unsigned slot, R = ring_size(w->cfg);
	int node, kind = lg_cluster_redirect(w->cfg->cl, text, len, &slot, &node);
	struct lg_slot *f;

	if (!kind || node < 0)
		return false;
	f = &g->fups[(g->fhead + g->fcount) % R];
	*f = *s;
	if (kind == 1) {
		w->slotmap[slot] = (uint8_t)node;
		w->stats.moved++;
	} else {
		f->flags |= SLOT_ASK;
		f->node = (uint8_t)node;
		w->stats.asks++;
	}
	g->fcount++;
	return true;
}

static void on_reply(struct lg_worker *w, struct lg_conn *cn, const struct lg_phase *ph,
		     uint64_t now)
{
	const struct lg_config *c = w->cfg;
	unsigned R = ring_size(c);
	struct lg_slot *s = &cn->slots[cn->head];
	const struct resp_value *v = &cn->rp.top;
	const char *base = cn->in + cn->in_off;
	struct lg_conn *g = cn->group ? &cn->group[s->origin] : cn; /* who generated it */
	bool err = false;

	cn->head = (cn->head + 1) % R;
	cn->count--;
	if (cn->group && g->inflight) /* 0 after the drain timeout gave up on it */
		g->inflight--;
	if (s->flags & SLOT_SELECT) {
		/* not an operation: no latency, no count; an error still shows */
		if (v->type == RESP_T_ERROR || v->type == RESP_T_BLOBERR) {
			w->stats.other_errors++;
			lg_stats_error(&w->stats, base + v->str_off, v->str_len);
		}
		return;
	}
	if (cn->group && v->type == RESP_T_ERROR &&
	    redirect(w, g, s, base + v->str_off, v->str_len))
		return;
	if (v->type == RESP_T_ERROR || v->type == RESP_T_BLOBERR) {
		err = true;
		lg_stats_error(&w->stats, base + v->str_off, v->str_len);
	} else if (s->type == LG_GET) {
		bool miss = v->is_null;

		if (s->flags & SLOT_MEASURED) {
			if (miss)
				w->stats.get_misses++;
			else
				w->stats.get_hits++;
		}
		if ((s->flags & SLOT_VERIFY) && miss) {
			static const char t[] = "verify: GET missed a key this run had written";

			err = true;
			w->stats.verify_failures++;
			lg_stats_error(&w->stats, t, sizeof(t) - 1);
		} else if ((s->flags & SLOT_VERIFY) &&
			   (v->str_len != lg_value_len(c, s->key) ||
			    memcmp(base + v->str_off, lg_value_ptr(c, s->key), v->str_len))) {
			static const char t[] =
			    "verify: GET returned a value this run did not write";

			err = true;
			w->stats.verify_failures++;
			lg_stats_error(&w->stats, t, sizeof(t) - 1);
		}
		if ((s->flags & SLOT_RMW) || ((s->flags & SLOT_CACHE) && miss)) {
			struct lg_slot *f = &g->fups[(g->fhead + g->fcount) % R];

			*f = (struct lg_slot){.t_ns = now,
					      .key = s->key,
					      .type = LG_SET,
					      .flags = (uint8_t)(s->flags & SLOT_MEASURED)};
			g->fcount++;
		}
	} else if (c->written && v->type == RESP_T_SIMPLE) {
		/* relaxed: a statistic-like hint for --verify; see key_written() */
		atomic_fetch_or_explicit(&c->written[s->key / 64], 1ULL << (s->key % 64),
					 memory_order_relaxed);
	}
	if (ph->prefill)
		return;
	w->ival_ops++;
	hist_record(&w->ival, now - s->t_ns);
	if (err)
		w->ival_errors++;
	if (s->flags & SLOT_MEASURED) {
		hist_record(&w->stats.hist[s->type], now - s->t_ns);
		if (err)
			w->stats.errors[s->type]++;
		if (cn->group)
			w->stats.node_requests[cn->node]++;
		if (s->tmpl) {
			hist_record(&w->stats.mix_hist[s->tmpl - 1], now - s->t_ns);
			if (err)
				w->stats.mix_errors[s->tmpl - 1]++;
		}
		w->stats.last_reply_ns = now;
	}
}

static void conn_read(struct lg_worker *w, struct lg_conn *cn, const struct lg_phase *ph)
{
	for (;;) {
		ssize_t n;
		uint64_t now;

		if (cn->in_len == cn->in_cap) {
			if (!cn->in_off) {
				conn_kill(w, cn, "reply larger than the input buffer");
				return;
			}
			memmove(cn->in, cn->in + cn->in_off, cn->in_len - cn->in_off);
			cn->in_len -= cn->in_off;
			cn->in_off = 0;
		}
		n = read(cn->fd, cn->in + cn->in_len, cn->in_cap - cn->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_kill(w, cn, "connection closed by the server");
			return;
		}
		now = lg_now_ns();
		cn->in_len += (size_t)n;
		for (;;) {
			size_t used;
			enum resp_status st = resp_reply_parse(&cn->rp, cn->in + cn->in_off,
							       cn->in_len - cn->in_off, &used);

			if (st == RESP_INCOMPLETE)
				break;
			if (st != RESP_OK || !cn->count) {
				conn_kill(w, cn,
					  st != RESP_OK ? "protocol error in a reply"
							: "reply without a request");
				return;
			}
			on_reply(w, cn, ph, now);
			cn->in_off += used;
		}
		if (cn->in_off == cn->in_len)
			cn->in_off = cn->in_len = 0;
		if (cn->in_len < cn->in_cap)
			return; /* level-triggered: epoll reports what is left */
	}
}

static int auth(struct lg_conn *cn, const char *pw)
{
	char req[600], rep[256];
	size_t pl = strlen(pw), used;
	struct resp_reply rp;
	int n, got = 0;

	if (pl > 500)
		return -EINVAL;
	n = snprintf(req, sizeof(req), "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", pl, pw);
	if (write(cn->fd, req, (size_t)n) != n)
		return -EIO;
	resp_reply_init(&rp);
	for (;;) {
		ssize_t r = read(cn->fd, rep + got, sizeof(rep) - 1 - (size_t)got);

		if (r <= 0)
			return -EIO;
		got += (int)r;
		switch (resp_reply_parse(&rp, rep, (size_t)got, &used)) {
		case RESP_INCOMPLETE:
			if (got == (int)sizeof(rep) - 1)
				return -EPROTO;
			continue;
		case RESP_OK:
			return rp.top.type == RESP_T_SIMPLE ? 0 : -EACCES;
		default:
			return -EPROTO;
		}
	}
}

static int conn_open(struct lg_worker *w, int ep, struct lg_conn *cn)
{
	const struct lg_config *c = w->cfg;
	int one = 1, rc;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cn};

	const struct sockaddr_storage *sa = cn->group ? &c->cl->node[cn->node].sa : &c->addr;
	unsigned salen = cn->group ? c->cl->node[cn->node].salen : c->addrlen, R = ring_size(c);

	cn->fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cn->fd < 0)
		return -errno;
	if (connect(cn->fd, (const struct sockaddr *)sa, salen) < 0) {
		rc = -errno;
		close(cn->fd);
		return rc;
	}
	setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->auth && (rc = auth(cn, c->auth)) < 0) {
		close(cn->fd);
		return rc == -EACCES ? -EACCES : rc;
	}
	fcntl(cn->fd, F_SETFL, fcntl(cn->fd, F_GETFL) | O_NONBLOCK);
	/* --cluster: plus one request being routed (cluster_send) */
	cn->out_cap = (size_t)(R + (c->cl != NULL)) * c->req_max + 64;
	cn->out = mem_alloc(cn->out_cap);
	/* a --command's replies may be larger than a GET's */
	cn->in_cap = (c->command || c->nmix ? (1u << 20) : 65536) + 2 * (64 + c->dmax);
	cn->in = mem_alloc(cn->in_cap);
	cn->slots = mem_calloc(R, sizeof(*cn->slots));
	cn->fups = mem_calloc(R, sizeof(*cn->fups));
	resp_reply_init(&cn->rp);
	return epoll_ctl(ep, EPOLL_CTL_ADD, cn->fd, &ev) < 0 ? -errno : 0;
}

/* Add the current second's samples to the shared timeline. */
void lg_ival_publish(struct lg_worker *w)
{
	struct lg_timeline *tl = w->tl;
	unsigned i = (unsigned)(w->ival_sec % LG_RING);

	pthread_mutex_lock(&tl->mu);
	hist_merge(&tl->slot[i], &w->ival);
	tl->ops[i] += w->ival_ops;
	tl->errors[i] += w->ival_errors;
	pthread_mutex_unlock(&tl->mu);
	/* release: this second's samples are in the timeline; pairs with main's acquire */
	atomic_store_explicit(&w->reported_sec, w->ival_sec, memory_order_release);
	hist_init(&w->ival);
	w->ival_ops = w->ival_errors = 0;
}

static void ival_tick(struct lg_worker *w, const struct lg_phase *ph, uint64_t now)
{
	int64_t sec;

	if (now < ph->t_start)
		return;
	sec = (int64_t)((now - ph->t_start) / 1000000000ULL);
	while (sec > w->ival_sec) {
		lg_ival_publish(w);
		w->ival_sec++;
	}
}

/* Run one phase over all connections until every one has finished. */
static void run_phase(struct lg_worker *w, int ep, struct lg_conn *cs, int nc, struct lg_phase *ph,
		      struct dist_rng *rng)
{
	struct epoll_event evs[MAX_EVENTS];
	int active = nc;
	uint64_t now = lg_now_ns();

	for (int i = 0; i < nc; i++) {
		cs[i].finished = false;
		conn_fill(w, ep, &cs[i], ph, rng, now);
	}
	while (active > 0) {
		uint64_t wait = IDLE_WAIT_NS, end_send = 0;
		struct timespec ts;
		int n;

		now = lg_now_ns();
		if (!ph->prefill)
			ival_tick(w, ph, now);
		active = 0;
		for (int i = 0; i < nc; i++) {
			struct lg_conn *cn = &cs[i];
			bool more;

			if (cn->dead || cn->finished)
				continue;
			if (ph->open)
				conn_fill(w, ep, cn, ph, rng, now);
			if (ph->prefill)
				more = cn->pre_quota > 0;
			else if (!ph->t_end)
				more = cn->quota > 0;
			else if (ph->open) /* requests due before the end are still sent */
				more = rate_due(&cn->rate) < ph->t_end &&
				       now < ph->t_end + LG_DRAIN_NS;
			else
				more = now < ph->t_end;
			if (atomic_load_explicit(&lg_run.stop, memory_order_relaxed))
				more = false; /* relaxed: a request to stop soon, orders nothing */
			if (!more && ph->open && ph->t_end && !cn->finished) {
				/* due before the end but never sent: the server fell that far
				 * behind */
				uint64_t unsent = rate_backlog(&cn->rate, ph->t_end - 1);

				if (unsent) {
					static const char t[] = "open loop: requests due before "
								"the end still unsent 2 s "
								"after it (server saturated)";

					lg_stats_errors(&w->stats, t, sizeof(t) - 1, unsent);
					w->stats.other_errors += unsent;
					cn->rate.k += unsent;
				}
			}
			if (!more && !gen_count(cn) && !cn->fcount) {
				cn->finished = true;
				continue;
			}
			if (!more && !ph->drain_deadline)
				end_send = now;
			if (!more && ph->drain_deadline && now > ph->drain_deadline) {
				static const char t[] =
				    "timeout: no reply within 2 s after the run";

				lg_stats_error(&w->stats, t, sizeof(t) - 1);
				w->stats.other_errors += gen_count(cn);
				if (!cn->group) /* a member's socket carries others' requests */
					cn->count = 0;
				cn->inflight = 0;
				cn->fcount = 0;
				cn->finished = true;
				continue;
			}
			if (ph->open && gen_count(cn) < (unsigned)w->cfg->pipeline && more) {
				uint64_t due = rate_due(&cn->rate);

				if (due <= now)
					wait = 0;
				else if (due - now < wait)
					wait = due - now;
			}
			active++;
		}
		if (end_send && !ph->drain_deadline)
			ph->drain_deadline = end_send + LG_DRAIN_NS;
		if (!active)
			break;
		ts.tv_sec = (time_t)(wait / 1000000000ULL);
		ts.tv_nsec = (long)(wait % 1000000000ULL);
		n = epoll_pwait2(ep, evs, MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS)
			n = epoll_wait(ep, evs, MAX_EVENTS, (int)((wait + 999999) / 1000000));
		for (int i = 0; i < n; i++) {
			struct lg_conn *cn = evs[i].data.ptr;

			if (cn->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_flush(w, ep, cn);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(w, cn, ph);
			if (cn->dead)
				continue;
			if (!cn->group) {
				conn_fill(w, ep, cn, ph, rng, lg_now_ns());
				continue;
			}
			/* the replies freed the pipelines of the members that sent them */
			for (int k = 0; k < w->cfg->cl->nnodes; k++)
				conn_fill(w, ep, &cn->group[k], ph, rng, lg_now_ns());
		}
	}
}

static void fail(struct lg_worker *w, const char *what, int err)
{
	snprintf(w->errbuf, sizeof(w->errbuf), "%s: %s", what, strerror(-err));
	w->failed = 1;
}

void *lg_worker_main(void *arg)
{
	struct lg_worker *w = arg;
	struct lg_config *c = w->cfg;
	int nn = c->cl ? c->cl->nnodes : 1, nc = c->conns * nn, ep = epoll_create1(EPOLL_CLOEXEC),
	    rc;
	uint64_t nall = (uint64_t)c->threads * (uint64_t)nc;
	struct lg_conn *cs = mem_calloc((size_t)nc, sizeof(*cs));
	struct dist_rng rng;
	struct lg_phase ph = {0};

	if (c->ncpus) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(c->cpus[w->id % c->ncpus], &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	dist_rng_seed(&rng, c->seed * 1000003ULL + (uint64_t)w->id);
	hist_init(&w->ival);
	if (c->cl) {
		w->slotmap = mem_alloc(LG_SLOTS);
		memcpy(w->slotmap, c->cl->owner, LG_SLOTS);
		for (int i = 0; i < nc; i++) {
			cs[i].group = &cs[i - i % nn];
			cs[i].node = (unsigned)(i % nn);
		}
	}
	for (int i = 0; i < nc && !w->failed; i++) {
		uint64_t g = (uint64_t)w->id * (uint64_t)nc + (uint64_t)i;

		if ((rc = conn_open(w, ep, &cs[i])) < 0) {
			cs[i].dead = true;
			fail(w, rc == -EACCES ? "AUTH refused" : "connect", rc);
			break;
		}
		/* shares of --keys (prefill, sequential) and --requests by global index */
		cs[i].pre_next = c->keys * g / nall;
		cs[i].pre_quota = c->keys * (g + 1) / nall - cs[i].pre_next;
		cs[i].seq.next = cs[i].pre_next;
		cs[i].quota = c->requests / nall + (g < c->requests % nall);
	}
	if (!w->failed && c->prefill) {
		ph.prefill = true;
		ph.t_start = ph.t_measure = lg_now_ns();
		run_phase(w, ep, cs, nc, &ph, &rng);
	}
	pthread_barrier_wait(&lg_run.ready);
	pthread_barrier_wait(&lg_run.go);
	if (!w->failed) {
		memset(&ph, 0, sizeof(ph));
		/* the barrier ordered main's store; relaxed suffices */
		ph.t_start = atomic_load_explicit(&lg_run.start_ns, memory_order_relaxed);
		ph.t_measure = ph.t_start + (uint64_t)(c->warmup * 1e9);
		if (c->duration > 0)
			ph.t_end = ph.t_measure + (uint64_t)(c->duration * 1e9);
		ph.open = c->rate > 0;
		for (int i = 0; i < nc; i++) {
			uint64_t g = (uint64_t)w->id * (uint64_t)nc + (uint64_t)i;

			if (ph.open)
				rate_init(&cs[i].rate, ph.t_start, c->rate, g, nall);
		}
		run_phase(w, ep, cs, nc, &ph, &rng);
		lg_ival_publish(w);
	}
	/* release: every second this thread produced is in the timeline */
	atomic_store_explicit(&w->done, 1, memory_order_release);
	for (int i = 0; i < nc; i++) {
		if (!cs[i].dead && cs[i].fd > 0)
			close(cs[i].fd);
		mem_free(cs[i].out);
		mem_free(cs[i].in);
		mem_free(cs[i].slots);
		mem_free(cs[i].fups);
	}
	mem_free(cs);
	mem_free(w->slotmap);
	close(ep);
	return NULL;
}
