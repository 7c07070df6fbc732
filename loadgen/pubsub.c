/*
 * pubsub.c — kvsd-loadgen's --pubsub mode (pubsub.h describes what it
 * measures and reports).
 *
 * Subscriber i and publisher j live on thread i % threads and j % threads;
 * each thread runs one epoll loop over both kinds. Before the start barrier a
 * thread opens its connections, sends (P)SUBSCRIBE and waits for every
 * confirmation, so no message of the run is published before its
 * subscribers are registered. Publishers then encode PUBLISH straight into
 * their output buffer (the filler is a slice of the shared random block) and
 * keep a ring of the send times of the PUBLISHes in flight; subscribers parse
 * each pushed message in place and record now - (send time in the payload).
 *
 * End: a thread whose publishers have all been answered stores their
 * acknowledged counts per channel in ps.published and adds them to
 * ps.pubs_done (release); once every publisher is in (acquire), each
 * subscriber's expected count is the sum of its channel's acknowledged
 * PUBLISHes, and the thread keeps reading until its subscribers have them
 * all or nothing arrived for LG_PS_QUIET_NS.
 */
#include "loadgen/pubsub.h"
#include "loadgen/loadgen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "concurrency/mem.h"
#include "net/resp.h"

#define PS_CH_PREFIX "lgps:"
#define PS_CH_LEN    11 /* "lgps:" + 6 digits */
#define PS_MAX_CH    1000000
#define IDLE_WAIT_NS 10000000ULL
#define SETUP_NS     (10ULL * 1000000000ULL)
#define MAX_EVENTS   256

struct ps_stats {
	struct hist lat;			/* publish-to-receive of measured messages */
	uint64_t published, published_measured; /* PUBLISHes answered with an integer */
	uint64_t receivers, receivers_measured; /* the sum of those integers */
	uint64_t delivered, delivered_measured;
	uint64_t expected, duplicates, out_of_order, lost, unexpected;
	uint64_t sub_disconnected, pub_unsent;
	uint64_t last_delivery_ns;
};

/* Shared by the threads; see the file comment for the hand-over. */
static struct {
	unsigned nsub, npub, nch;
	uint64_t *published; /* [publisher * nch + channel], by the publisher's thread */
	/* PUBLISHes encoded so far, [publisher * nch + channel]: written by the
	 * publisher's thread, read by the subscribers' (relaxed: a statistic,
	 * a lag estimate that orders nothing) */
	_Atomic uint64_t *sent;
	/* per subscriber: the most messages its publisher had sent beyond the
	 * one it just received (measured ones); by its thread, read after the
	 * join */
	uint64_t *lag;
	_Atomic unsigned pubs_done;
	struct ps_stats *st; /* per thread, read by the report after the join */
} ps;

struct ps_slot {
	uint64_t t_ns;
	unsigned ch;
};

struct ps_conn {
	int fd;
	bool dead, want_out, sub, confirmed, finished;
	unsigned id; /* subscriber or publisher number */
	unsigned ch; /* subscriber: its channel; publisher: the next one */
	char *out;
	size_t out_off, out_len, out_cap;
	char *in;
	size_t in_off, in_len, in_cap;
	struct resp_reply rp;
	/* publisher */
	uint64_t *seq, *acked; /* per channel */
	struct ps_slot *slots; /* ring of -P */
	unsigned head, count;
	uint64_t quota, stop_ns;
	struct rate rate;
	/* subscriber */
	uint64_t *next; /* per publisher: the sequence number expected next */
	uint64_t distinct, expected;
};

struct ps_phase {
	bool open;
	uint64_t t_start, t_measure, t_end;
};

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "kvsd-loadgen: %s\n", what);
	exit(1);
}

void lg_pubsub_setup(struct lg_config *c)
{
	struct rlimit rl;
	rlim_t want;

	if (c->command || c->nmix || c->dbs > 1 || c->verify || c->prefill ||
	    c->workload != LG_WL_RATIO)
		die("--pubsub takes none of --command, --mix, --dbs, --verify, --prefill, "
		    "--workload");
	if (c->subscribers > 1000000 || c->publishers > 1000000)
		die("--subscribers and --publishers: at most 1000000");
	if (c->publishers < 1)
		die("--pubsub needs at least one publisher");
	if (c->channels < 1 || c->channels > PS_MAX_CH)
		die("bad value for --channels (1..1000000)");
	if (c->dmin != c->dmax || c->dmax < LG_PS_HDR)
		die("--pubsub: -d must be one size of at least 46 bytes (the header)");
	ps.nsub = c->subscribers;
	ps.npub = c->publishers;
	ps.nch = c->channels;
	ps.published = mem_calloc((size_t)ps.npub * ps.nch, sizeof(*ps.published));
	ps.sent = mem_calloc((size_t)ps.npub * ps.nch, sizeof(*ps.sent));
	ps.lag = mem_calloc(ps.nsub ? ps.nsub : 1, sizeof(*ps.lag));
	ps.st = mem_calloc((size_t)c->threads, sizeof(*ps.st));
	for (int i = 0; i < c->threads; i++)
		hist_init(&ps.st[i].lat);
	c->req_max = 128 + c->dmax;
	/* one descriptor per connection, and some to spare */
	want = (rlim_t)ps.nsub + ps.npub + 2 * (rlim_t)c->threads + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < want)
			fprintf(stderr,
				"kvsd-loadgen: the fd limit (%llu) is below the %llu connections "
				"need; raise ulimit -n\n",
				(unsigned long long)rl.rlim_cur, (unsigned long long)want);
	}
}

static size_t put_uint(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void put_hex(char *p, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		p[i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	}
}

/* Fixed-width lowercase hex; false on any other byte. */
static bool get_hex(const char *p, int digits, uint64_t *v)
{
	uint64_t r = 0;

	for (int i = 0; i < digits; i++) {
		char ch = p[i];

		if (ch >= '0' && ch <= '9')
			r = r << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			r = r << 4 | (uint64_t)(ch - 'a' + 10);
		else
			return false;
	}
	*v = r;
	return true;
}

static void channel_name(char *dst, unsigned ch)
{
	memcpy(dst, PS_CH_PREFIX, 5);
	for (int i = PS_CH_LEN - 1; i >= 5; i--) {
		dst[i] = (char)('0' + ch % 10);
		ch /= 10;
	}
}

static void conn_kill(struct lg_worker *w, struct ps_conn *cn, const char *why)
{
	if (cn->dead)
		return;
	lg_stats_error(&w->stats, why, strlen(why));
	w->stats.other_errors += cn->sub ? 1 : cn->count + 1;
	if (cn->sub)
		ps.st[w->id].sub_disconnected++;
	close(cn->fd);
	cn->dead = true;
	cn->count = 0;
}

static void conn_flush(struct lg_worker *w, int ep, struct ps_conn *cn)
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

/* Append PUBLISH lgps:<ch> <payload>; the caller checked for room. */
static void pub_encode(const struct lg_config *c, struct ps_conn *cn, unsigned ch, uint64_t t)
{
	static const char hdr[] = "*3\r\n$7\r\nPUBLISH\r\n$11\r\n";
	uint64_t seq = cn->seq[ch]++;
	char *p;

	/* relaxed: see ps.sent */
	atomic_store_explicit(&ps.sent[(size_t)cn->id * ps.nch + ch], seq + 1,
			      memory_order_relaxed);

	if (cn->out_off && cn->out_len + c->req_max > cn->out_cap) {
		memmove(cn->out, cn->out + cn->out_off, cn->out_len - cn->out_off);
		cn->out_len -= cn->out_off;
		cn->out_off = 0;
	}
	p = cn->out + cn->out_len;
	memcpy(p, hdr, sizeof(hdr) - 1);
	p += sizeof(hdr) - 1;
	channel_name(p, ch);
	p += PS_CH_LEN;
	memcpy(p, "\r\n$", 3);
	p += 3;
	p += put_uint(p, c->dmax);
	*p++ = '\r';
	*p++ = '\n';
	*p = 'T';
	put_hex(p + 1, t, 16);
	memcpy(p + 17, " P", 2);
	put_hex(p + 19, cn->id, 8);
	memcpy(p + 27, " S", 2);
	put_hex(p + 29, seq, 16);
	p[45] = ' ';
	memcpy(p + LG_PS_HDR, lg_value_ptr(c, seq), c->dmax - LG_PS_HDR);
	p += c->dmax;
	*p++ = '\r';
	*p++ = '\n';
	cn->out_len = (size_t)(p - cn->out);
}

/* May this publisher start another PUBLISH (quota, --duration, a stop)? */
static bool pub_more(const struct ps_conn *cn, const struct ps_phase *ph, uint64_t now)
{
	/* relaxed: a request to stop soon, orders nothing */
	if (atomic_load_explicit(&lg_run.stop, memory_order_relaxed))
		return false;
	if (!ph->t_end)
		return cn->quota > 0;
	if (ph->open) /* PUBLISHes due before the end are still sent, for 2 s */
		return rate_due(&cn->rate) < ph->t_end && now < ph->t_end + LG_DRAIN_NS;
	return now < ph->t_end;
}

static void pub_fill(struct lg_worker *w, int ep, struct ps_conn *cn, const struct ps_phase *ph,
		     uint64_t now)
{
	const struct lg_config *c = w->cfg;
	unsigned P = (unsigned)c->pipeline;
	bool any = false;

	while (!cn->dead && cn->count < P && pub_more(cn, ph, now)) {
		uint64_t t = now;
		unsigned ch = cn->ch;

		if (ph->open) {
			t = rate_due(&cn->rate);
			if (t > now)
				break;
			rate_take(&cn->rate);
		}
		if (t >= ph->t_measure && !ph->t_end)
			cn->quota--;
		cn->ch = (cn->ch + 1) % ps.nch;
		pub_encode(c, cn, ch, t);
		cn->slots[(cn->head + cn->count) % P] = (struct ps_slot){.t_ns = t, .ch = ch};
		cn->count++;
		any = true;
	}
	if (any)
		conn_flush(w, ep, cn);
}

static void pub_reply(struct lg_worker *w, struct ps_conn *cn, const struct ps_phase *ph,
		      uint64_t now)
{
	struct ps_stats *st = &ps.st[w->id];
	struct ps_slot s = cn->slots[cn->head];
	const struct resp_value *v = &cn->rp.top;
	bool measured = s.t_ns >= ph->t_measure;

	cn->head = (cn->head + 1) % (unsigned)w->cfg->pipeline;
	cn->count--;
	if (v->type == RESP_T_INT) {
		cn->acked[s.ch]++;
		st->published++;
		st->receivers += (uint64_t)v->integer;
		if (measured) {
			st->published_measured++;
			st->receivers_measured += (uint64_t)v->integer;
		}
	} else {
		lg_stats_error(&w->stats, cn->in + cn->in_off + v->str_off, v->str_len);
		if (measured)
			w->stats.errors[LG_CMD]++;
		else
			w->stats.other_errors++;
	}
	if (measured) {
		hist_record(&w->stats.hist[LG_CMD], now - s.t_ns);
		w->stats.last_reply_ns = now;
	}
}

/* One message (or confirmation) pushed to subscriber cn, parsed in place. */
static void sub_push(struct lg_worker *w, struct ps_conn *cn, const struct ps_phase *ph, size_t len,
		     uint64_t now)
{
	struct ps_stats *st = &ps.st[w->id];
	const char *b = cn->in + cn->in_off, *el[4];
	size_t off, hdr, ell[4];
	struct resp_value v;
	uint64_t t, pub, seq;
	long long n;
	char want[PS_CH_LEN];
	const char *pl;

	if (resp_value_next(b, len, &v, &hdr) != RESP_OK ||
	    (v.type != RESP_T_ARRAY && v.type != RESP_T_PUSH) || v.integer < 3 || v.integer > 4)
		goto unexpected;
	n = v.integer;
	off = hdr;
	for (long long i = 0; i < n; i++) {
		if (resp_value_next(b + off, len - off, &v, &hdr) != RESP_OK)
			goto unexpected;
		if (v.type == RESP_T_INT && i == 2) {
			el[i] = NULL;
			ell[i] = 0;
		} else if (v.type == RESP_T_BULK && !v.is_null) {
			el[i] = b + off + v.str_off;
			ell[i] = v.str_len;
		} else {
			goto unexpected;
		}
		off += hdr;
	}
	if (!cn->confirmed) {
		static const char sub[] = "subscribe", psub[] = "psubscribe";

		if (n == 3 && ell[0] == (size_t)(9 + w->cfg->psubscribe) &&
		    !memcmp(el[0], w->cfg->psubscribe ? psub : sub, ell[0])) {
			cn->confirmed = true;
			return;
		}
		goto unexpected;
	}
	channel_name(want, cn->ch);
	if (n == 3 && ell[0] == 7 && !memcmp(el[0], "message", 7) && !w->cfg->psubscribe) {
		pl = el[2];
		if (ell[1] != PS_CH_LEN || memcmp(el[1], want, PS_CH_LEN) || ell[2] != w->cfg->dmax)
			goto unexpected;
	} else if (n == 4 && ell[0] == 8 && !memcmp(el[0], "pmessage", 8) && w->cfg->psubscribe) {
		pl = el[3];
		if (ell[2] != PS_CH_LEN || memcmp(el[2], want, PS_CH_LEN) || ell[3] != w->cfg->dmax)
			goto unexpected;
	} else {
		goto unexpected;
	}
	if (pl[0] != 'T' || !get_hex(pl + 1, 16, &t) || memcmp(pl + 17, " P", 2) ||
	    !get_hex(pl + 19, 8, &pub) || memcmp(pl + 27, " S", 2) || !get_hex(pl + 29, 16, &seq) ||
	    pub >= ps.npub)
		goto unexpected;
	st->delivered++;
	st->last_delivery_ns = now;
	if (seq == cn->next[pub]) {
		cn->next[pub]++;
		cn->distinct++;
	} else if (seq > cn->next[pub]) {
		st->out_of_order++; /* a gap: a message was skipped (or is late) */
		cn->next[pub] = seq + 1;
		cn->distinct++;
	} else {
		st->duplicates++;
	}
	if (t >= ph->t_measure) {
		uint64_t lat = now > t ? now - t : 0;
		/* relaxed: see ps.sent */
		uint64_t sent = atomic_load_explicit(&ps.sent[(size_t)pub * ps.nch + cn->ch],
						     memory_order_relaxed);

		if (sent > seq + 1 && sent - seq - 1 > ps.lag[cn->id])
			ps.lag[cn->id] = sent - seq - 1;

		st->delivered_measured++;
		hist_record(&st->lat, lat);
		w->ival_ops++;
		hist_record(&w->ival, lat);
	}
	return;
unexpected:
	st->unexpected++;
	{
		static const char txt[] = "pubsub: unexpected push on a subscriber connection";

		lg_stats_error(&w->stats, txt, sizeof(txt) - 1);
	}
}

static void conn_read(struct lg_worker *w, struct ps_conn *cn, const struct ps_phase *ph)
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
			if (st != RESP_OK || (!cn->sub && !cn->count)) {
				conn_kill(w, cn,
					  st != RESP_OK ? "protocol error in a reply"
							: "reply without a request");
				return;
			}
			if (cn->sub)
				sub_push(w, cn, ph, used, now);
			else
				pub_reply(w, cn, ph, now);
			cn->in_off += used;
		}
		if (cn->in_off == cn->in_len)
			cn->in_off = cn->in_len = 0;
		if (cn->in_len < cn->in_cap)
			return; /* level-triggered: epoll reports what is left */
	}
}

/* AUTH on a blocking socket before the loop starts: 0, -EACCES or -EIO. */
static int auth(int fd, const char *pw)
{
	char req[600], rep[256];
	size_t pl = strlen(pw), used;
	struct resp_reply rp;
	int n, got = 0;

	if (pl > 500)
		return -EINVAL;
	n = snprintf(req, sizeof(req), "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", pl, pw);
	if (write(fd, req, (size_t)n) != n)
		return -EIO;
	resp_reply_init(&rp);
	for (;;) {
		ssize_t r = read(fd, rep + got, sizeof(rep) - 1 - (size_t)got);

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

static int conn_open(struct lg_worker *w, int ep, struct ps_conn *cn)
{
	const struct lg_config *c = w->cfg;
	int one = 1, rc;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cn};

	cn->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cn->fd < 0)
		return -errno;
	if (connect(cn->fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0) {
		rc = -errno;
		close(cn->fd);
		return rc;
	}
	setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->auth && (rc = auth(cn->fd, c->auth)) < 0) {
		close(cn->fd);
		return rc;
	}
	fcntl(cn->fd, F_SETFL, fcntl(cn->fd, F_GETFL) | O_NONBLOCK);
	resp_reply_init(&cn->rp);
	if (cn->sub) {
		cn->in_cap = 16384 + 2 * (c->dmax + 128);
		cn->out_cap = 64;
		cn->next = mem_calloc(ps.npub, sizeof(*cn->next));
	} else {
		cn->in_cap = 4096;
		cn->out_cap = (size_t)c->pipeline * c->req_max + 64;
		cn->seq = mem_calloc(ps.nch, sizeof(*cn->seq));
		cn->acked = mem_calloc(ps.nch, sizeof(*cn->acked));
		cn->slots = mem_calloc((size_t)c->pipeline, sizeof(*cn->slots));
	}
	cn->in = mem_alloc(cn->in_cap);
	cn->out = mem_alloc(cn->out_cap);
	if (cn->sub) { /* (P)SUBSCRIBE lgps:<ch>[*] */
		char *p = cn->out;
		int n = c->psubscribe
			    ? sprintf(p, "*2\r\n$10\r\nPSUBSCRIBE\r\n$%d\r\n", PS_CH_LEN + 1)
			    : sprintf(p, "*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n", PS_CH_LEN);

		p += n;
		channel_name(p, cn->ch);
		p += PS_CH_LEN;
		if (c->psubscribe)
			*p++ = '*';
		memcpy(p, "\r\n", 2);
		cn->out_len = (size_t)(p + 2 - cn->out);
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, cn->fd, &ev) < 0)
		return -errno;
	conn_flush(w, ep, cn);
	return cn->dead ? -EIO : 0;
}

static void fail(struct lg_worker *w, const char *what, int err)
{
	snprintf(w->errbuf, sizeof(w->errbuf), "%s: %s", what, strerror(-err));
	w->failed = 1;
}

/* Wait (before the start barrier) until every subscriber here is confirmed. */
static void setup_wait(struct lg_worker *w, int ep, struct ps_conn *cs, int nc)
{
	struct ps_phase ph = {0};
	struct epoll_event evs[MAX_EVENTS];
	uint64_t deadline = lg_now_ns() + SETUP_NS;

	for (;;) {
		bool all = true;
		int n;

		for (int i = 0; i < nc; i++) {
			if (cs[i].sub && cs[i].dead) {
				fail(w, "a subscriber's connection", -ECONNRESET);
				return;
			}
			if (cs[i].sub && !cs[i].confirmed)
				all = false;
		}
		if (all)
			return;
		if (lg_now_ns() > deadline) {
			fail(w, "(P)SUBSCRIBE confirmations", -ETIMEDOUT);
			return;
		}
		n = epoll_wait(ep, evs, MAX_EVENTS, 10);
		for (int i = 0; i < n; i++) {
			struct ps_conn *cn = evs[i].data.ptr;

			if (cn->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_flush(w, ep, cn);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(w, cn, &ph);
		}
	}
}

static void ival_tick(struct lg_worker *w, const struct ps_phase *ph, uint64_t now)
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

/* The publishers here are all answered (or given up): hand their counts over. */
static void pubs_finish(struct lg_worker *w, struct ps_conn *cs, int nc)
{
	unsigned mine = 0;

	for (int i = 0; i < nc; i++) {
		if (cs[i].sub)
			continue;
		if (cs[i].acked) /* NULL: never connected */
			memcpy(&ps.published[(size_t)cs[i].id * ps.nch], cs[i].acked,
			       ps.nch * sizeof(*cs[i].acked));
		mine++;
	}
	(void)w;
	/* release: the counts above are visible to whoever sees the sum complete */
	atomic_fetch_add_explicit(&ps.pubs_done, mine, memory_order_release);
}

static void run(struct lg_worker *w, int ep, struct ps_conn *cs, int nc, const struct ps_phase *ph)
{
	const struct lg_config *c = w->cfg;
	struct ps_stats *st = &ps.st[w->id];
	struct epoll_event evs[MAX_EVENTS];
	bool pubs_handed = false, counted = false;
	uint64_t now = lg_now_ns(), quiet_from = 0;

	for (int i = 0; i < nc; i++)
		if (!cs[i].sub)
			pub_fill(w, ep, &cs[i], ph, now);
	for (;;) {
		uint64_t wait = IDLE_WAIT_NS;
		bool pubs_active = false, subs_active = false;
		struct timespec ts;
		int n;

		now = lg_now_ns();
		ival_tick(w, ph, now);
		for (int i = 0; i < nc; i++) {
			struct ps_conn *cn = &cs[i];

			if (cn->sub || cn->dead || cn->finished)
				continue;
			if (ph->open)
				pub_fill(w, ep, cn, ph, now);
			if (pub_more(cn, ph, now)) {
				if (ph->open && cn->count < (unsigned)c->pipeline) {
					uint64_t due = rate_due(&cn->rate);

					wait = due <= now ? 0 : due - now < wait ? due - now : wait;
				}
				pubs_active = true;
				continue;
			}
			if (!cn->stop_ns)
				cn->stop_ns = now;
			if (cn->count && now < cn->stop_ns + LG_DRAIN_NS) {
				pubs_active = true;
				continue;
			}
			if (cn->count) {
				static const char t[] = "timeout: no PUBLISH reply within 2 s";

				lg_stats_error(&w->stats, t, sizeof(t) - 1);
				w->stats.other_errors += cn->count;
				cn->count = 0;
			}
			if (ph->open && ph->t_end)
				st->pub_unsent += rate_backlog(&cn->rate, ph->t_end - 1);
			cn->finished = true;
		}
		if (!pubs_active && !pubs_handed) {
			pubs_finish(w, cs, nc);
			pubs_handed = true;
		}
		/* acquire: pairs with pubs_finish's release, for ps.published */
		if (pubs_handed &&
		    atomic_load_explicit(&ps.pubs_done, memory_order_acquire) == ps.npub) {
			if (!counted) {
				for (int i = 0; i < nc; i++) {
					struct ps_conn *cn = &cs[i];

					if (!cn->sub)
						continue;
					for (unsigned p = 0; p < ps.npub; p++)
						cn->expected +=
						    ps.published[(size_t)p * ps.nch + cn->ch];
				}
				counted = true;
				quiet_from = now;
			}
			for (int i = 0; i < nc; i++)
				if (cs[i].sub && !cs[i].dead && cs[i].distinct < cs[i].expected)
					subs_active = true;
			if (st->last_delivery_ns > quiet_from)
				quiet_from = st->last_delivery_ns;
			if (!subs_active || now > quiet_from + LG_PS_QUIET_NS)
				break;
		}
		ts.tv_sec = (time_t)(wait / 1000000000ULL);
		ts.tv_nsec = (long)(wait % 1000000000ULL);
		n = epoll_pwait2(ep, evs, MAX_EVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS)
			n = epoll_wait(ep, evs, MAX_EVENTS, (int)((wait + 999999) / 1000000));
		for (int i = 0; i < n; i++) {
			struct ps_conn *cn = evs[i].data.ptr;

			if (cn->dead)
				continue;
			if (evs[i].events & EPOLLOUT)
				conn_flush(w, ep, cn);
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(w, cn, ph);
			if (!cn->dead && !cn->sub && !cn->finished)
				pub_fill(w, ep, cn, ph, lg_now_ns());
		}
	}
	for (int i = 0; i < nc; i++) {
		struct ps_conn *cn = &cs[i];

		if (!cn->sub)
			continue;
		st->expected += cn->expected;
		if (cn->distinct < cn->expected)
			st->lost += cn->expected - cn->distinct;
	}
}

void *lg_pubsub_worker_main(void *arg)
{
	struct lg_worker *w = arg;
	struct lg_config *c = w->cfg;
	unsigned T = (unsigned)c->threads, id = (unsigned)w->id;
	int nsub = (int)(ps.nsub / T + (id < ps.nsub % T)),
	    npub = (int)(ps.npub / T + (id < ps.npub % T)), nc = nsub + npub, rc;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct ps_conn *cs = mem_calloc((size_t)nc + 1, sizeof(*cs));
	struct ps_phase ph = {0};

	if (c->ncpus) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(c->cpus[w->id % c->ncpus], &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	hist_init(&w->ival);
	for (int i = 0; i < nc; i++) {
		struct ps_conn *cn = &cs[i];

		cn->sub = i < nsub;
		cn->id = cn->sub ? id + (unsigned)i * T : id + (unsigned)(i - nsub) * T;
		cn->ch = cn->id % ps.nch; /* a subscriber's channel; a publisher's first */
		cn->fd = -1;
	}
	for (int i = 0; i < nc && !w->failed; i++) {
		if ((rc = conn_open(w, ep, &cs[i])) < 0) {
			if (cs[i].fd >= 0 && !cs[i].dead)
				close(cs[i].fd);
			cs[i].dead = true;
			fail(w, rc == -EACCES ? "AUTH refused" : "connect", rc);
		}
	}
	if (!w->failed)
		setup_wait(w, ep, cs, nc);
	pthread_barrier_wait(&lg_run.ready);
	pthread_barrier_wait(&lg_run.go);
	if (!w->failed) {
		/* the barrier ordered main's store; relaxed suffices */
		ph.t_start = atomic_load_explicit(&lg_run.start_ns, memory_order_relaxed);
		ph.t_measure = ph.t_start + (uint64_t)(c->warmup * 1e9);
		if (c->duration > 0)
			ph.t_end = ph.t_measure + (uint64_t)(c->duration * 1e9);
		ph.open = c->rate > 0;
		for (int i = nsub; i < nc; i++) {
			struct ps_conn *cn = &cs[i];

			cn->quota = c->requests / ps.npub + (cn->id < c->requests % ps.npub);
			if (ph.open)
				rate_init(&cn->rate, ph.t_start, c->rate, cn->id, ps.npub);
		}
		run(w, ep, cs, nc, &ph);
		lg_ival_publish(w);
	} else {
		pubs_finish(w, cs, nc); /* the other threads wait for every publisher */
	}
	/* release: every second this thread produced is in the timeline */
	atomic_store_explicit(&w->done, 1, memory_order_release);
	for (int i = 0; i < nc; i++) {
		if (!cs[i].dead && cs[i].fd >= 0)
			close(cs[i].fd);
		mem_free(cs[i].out);
		mem_free(cs[i].in);
		mem_free(cs[i].seq);
		mem_free(cs[i].acked);
		mem_free(cs[i].slots);
		mem_free(cs[i].next);
	}
	mem_free(cs);
	close(ep);
	return NULL;
}

/* The threads' figures added up. */
static void total(const struct lg_config *c, struct ps_stats *t)
{
	memset(t, 0, sizeof(*t));
	hist_init(&t->lat);
	for (int i = 0; i < c->threads; i++) {
		const struct ps_stats *s = &ps.st[i];

		hist_merge(&t->lat, &s->lat);
		t->published += s->published;
		t->published_measured += s->published_measured;
		t->receivers += s->receivers;
		t->receivers_measured += s->receivers_measured;
		t->delivered += s->delivered;
		t->delivered_measured += s->delivered_measured;
		t->expected += s->expected;
		t->duplicates += s->duplicates;
		t->out_of_order += s->out_of_order;
		t->lost += s->lost;
		t->unexpected += s->unexpected;
		t->sub_disconnected += s->sub_disconnected;
		t->pub_unsent += s->pub_unsent;
		if (s->last_delivery_ns > t->last_delivery_ns)
			t->last_delivery_ns = s->last_delivery_ns;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The slowest subscriber's lag (in messages) and the median subscriber's:
 * how unevenly the server serves its subscribers. After the join. */
static void lags(uint64_t *max, uint64_t *median)
{
	uint64_t *v;

	*max = *median = 0;
	if (ps.nsub == 0)
		return;
	v = mem_alloc(ps.nsub * sizeof(*v));
	memcpy(v, ps.lag, ps.nsub * sizeof(*v));
	qsort(v, ps.nsub, sizeof(*v), cmp_u64);
	*max = v[ps.nsub - 1];
	*median = v[ps.nsub / 2];
	mem_free(v);
}

static double window(const struct ps_stats *t, uint64_t t_measure)
{
	return t->last_delivery_ns > t_measure ? (double)(t->last_delivery_ns - t_measure) / 1e9
					       : 0.0;
}

void lg_pubsub_print(const struct lg_config *c, uint64_t t_measure)
{
	struct ps_stats *t = mem_alloc(sizeof(*t));
	uint64_t lag_max, lag_med;
	double secs;

	total(c, t);
	secs = window(t, t_measure);
	printf("\npubsub: %u subscribers (%s) on %u channels, %u publishers, message %llu B\n",
	       ps.nsub, c->psubscribe ? "PSUBSCRIBE" : "SUBSCRIBE", ps.nch, ps.npub,
	       (unsigned long long)c->dmax);
	printf("PUBLISH: %llu answered (%llu measured), receivers reported %llu (%llu "
	       "measured)\n",
	       (unsigned long long)t->published, (unsigned long long)t->published_measured,
	       (unsigned long long)t->receivers, (unsigned long long)t->receivers_measured);
	printf("delivered: %llu (%llu measured) in %.3f s, %.0f msgs/s; publish-to-receive p50 "
	       "%.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
	       (unsigned long long)t->delivered, (unsigned long long)t->delivered_measured, secs,
	       secs > 0 ? (double)t->delivered_measured / secs : 0.0,
	       hist_percentile(&t->lat, 50) / 1e3, hist_percentile(&t->lat, 99) / 1e3,
	       hist_percentile(&t->lat, 99.9) / 1e3,
	       (t->lat.total ? (double)t->lat.max : 0.0) / 1e3);
	lags(&lag_max, &lag_med);
	printf("lag (messages its publisher had sent beyond the one received): slowest "
	       "subscriber %llu, median subscriber %llu\n",
	       (unsigned long long)lag_max, (unsigned long long)lag_med);
	printf("expected %llu  lost %llu  duplicates %llu  out of order %llu  unexpected %llu  "
	       "subscribers disconnected %llu",
	       (unsigned long long)t->expected, (unsigned long long)t->lost,
	       (unsigned long long)t->duplicates, (unsigned long long)t->out_of_order,
	       (unsigned long long)t->unexpected, (unsigned long long)t->sub_disconnected);
	if (t->pub_unsent)
		printf("  PUBLISHes due but unsent %llu", (unsigned long long)t->pub_unsent);
	printf("\n");
	mem_free(t);
}

void lg_pubsub_json(FILE *f, const struct lg_config *c, uint64_t t_measure)
{
	struct ps_stats *t = mem_alloc(sizeof(*t));
	uint64_t lag_max, lag_med;
	double secs;

	total(c, t);
	secs = window(t, t_measure);
	fprintf(f,
		"\"pubsub\": {\"subscribers\": %u, \"publishers\": %u, \"channels\": %u, "
		"\"psubscribe\": %s, \"message_size\": %llu,\n    ",
		ps.nsub, ps.npub, ps.nch, c->psubscribe ? "true" : "false",
		(unsigned long long)c->dmax);
	fprintf(f,
		"\"published\": %llu, \"published_measured\": %llu, \"receivers\": %llu, "
		"\"receivers_measured\": %llu,\n    ",
		(unsigned long long)t->published, (unsigned long long)t->published_measured,
		(unsigned long long)t->receivers, (unsigned long long)t->receivers_measured);
	fprintf(f,
		"\"delivered\": %llu, \"delivered_measured\": %llu, \"delivery_s\": %.6f, "
		"\"delivered_per_sec\": %.1f,\n    ",
		(unsigned long long)t->delivered, (unsigned long long)t->delivered_measured, secs,
		secs > 0 ? (double)t->delivered_measured / secs : 0.0);
	fprintf(f,
		"\"latency\": {\"mean_us\": %.3f, \"p50_us\": %.3f, \"p90_us\": %.3f, "
		"\"p99_us\": %.3f, \"p999_us\": %.3f, \"max_us\": %.3f},\n    ",
		hist_mean(&t->lat) / 1e3, hist_percentile(&t->lat, 50) / 1e3,
		hist_percentile(&t->lat, 90) / 1e3, hist_percentile(&t->lat, 99) / 1e3,
		hist_percentile(&t->lat, 99.9) / 1e3,
		(t->lat.total ? (double)t->lat.max : 0.0) / 1e3);
	lags(&lag_max, &lag_med);
	fprintf(f, "\"lag_max_msgs\": %llu, \"lag_median_msgs\": %llu,\n    ",
		(unsigned long long)lag_max, (unsigned long long)lag_med);
	fprintf(f,
		"\"expected\": %llu, \"lost\": %llu, \"duplicates\": %llu, \"out_of_order\": %llu, "
		"\"unexpected\": %llu, \"subscribers_disconnected\": %llu, "
		"\"publish_unsent\": %llu}",
		(unsigned long long)t->expected, (unsigned long long)t->lost,
		(unsigned long long)t->duplicates, (unsigned long long)t->out_of_order,
		(unsigned long long)t->unexpected, (unsigned long long)t->sub_disconnected,
		(unsigned long long)t->pub_unsent);
	mem_free(t);
}
