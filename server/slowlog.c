/*
 * slowlog.c — a bounded list of slow commands, newest at the head.
 *
 * An entry is one mem_alloc block: the header, the argument descriptors, then
 * the (possibly shortened) argument bytes, the peer address and the client
 * name. Pushing trims the list to max_len from the tail, as Redis's
 * slowlogPushEntryIfNeeded() does; a smaller slowlog-max-len takes effect at
 * the next push.
 */
#include "server/slowlog.h"
#include "concurrency/mem.h"
#include "net/reply.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SLOWLOG_MAX_ARGC   32
#define SLOWLOG_MAX_STRING 128

struct sl_arg {
	const char *p;
	size_t n;
};

struct sl_entry {
	struct sl_entry *next, *prev;
	long long id;
	long long time_s;
	uint64_t usec;
	int argc;
	const char *peer, *name;
	struct sl_arg argv[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_entry *head, *tail; /* under lock */
static long long len, next_id;	     /* under lock */

void slowlog_push(int argc, const char **argv, const size_t *argl, int64_t start_ms, uint64_t usec,
		  const char *peer, const char *name, long long max_len)
{
	int n = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
	char tails[SLOWLOG_MAX_ARGC][48];
	size_t tl[SLOWLOG_MAX_ARGC], bytes = 0, plen = strlen(peer), nlen = name ? strlen(name) : 0;
	struct sl_entry *e, *drop = NULL;
	char *p;

	if (max_len <= 0)
		return;
	/* what each stored argument becomes, and its size */
	for (int i = 0; i < n; i++) {
		tl[i] = 0;
		if (i == SLOWLOG_MAX_ARGC - 1 && argc > SLOWLOG_MAX_ARGC) {
			tl[i] =
			    (size_t)snprintf(tails[i], sizeof(tails[i]), "... (%d more arguments)",
					     argc - SLOWLOG_MAX_ARGC + 1);
		} else if (argl[i] > SLOWLOG_MAX_STRING) {
			tl[i] = (size_t)snprintf(tails[i], sizeof(tails[i]), "... (%zu more bytes)",
						 argl[i] - SLOWLOG_MAX_STRING);
			bytes += SLOWLOG_MAX_STRING;
		} else {
			bytes += argl[i];
		}
		bytes += tl[i];
	}
	e = mem_alloc(sizeof(*e) + (size_t)n * sizeof(e->argv[0]) + bytes + plen + 1 + nlen + 1);
	p = (char *)&e->argv[n];
	for (int i = 0; i < n; i++) {
		int whole_tail = i == SLOWLOG_MAX_ARGC - 1 && argc > SLOWLOG_MAX_ARGC;
		size_t keep = whole_tail		     ? 0
			      : argl[i] > SLOWLOG_MAX_STRING ? SLOWLOG_MAX_STRING
							     : argl[i];

		e->argv[i].p = p;
		memcpy(p, argv[i], keep);
		memcpy(p + keep, tails[i], tl[i]);
		e->argv[i].n = keep + tl[i];
		p += keep + tl[i];
	}
	e->peer = p;
	memcpy(p, peer, plen + 1);
	p += plen + 1;
	e->name = p;
	if (nlen)
		memcpy(p, name, nlen);
	p[nlen] = '\0';
	e->argc = n;
	e->usec = usec;
	e->time_s = start_ms / 1000;

	pthread_mutex_lock(&lock);
	e->id = next_id++;
	e->prev = NULL;
	e->next = head;
	if (head)
		head->prev = e;
	head = e;
	if (tail == NULL)
		tail = e;
	len++;
	while (len > max_len) {
		struct sl_entry *t = tail;

		tail = t->prev;
		if (tail)
			tail->next = NULL;
		else
			head = NULL;
		t->next = drop;
		drop = t;
		len--;
	}
	pthread_mutex_unlock(&lock);
	while (drop) {
		struct sl_entry *t = drop;

		drop = t->next;
		mem_free(t);
	}
}

void slowlog_reply(struct conn *c, long long count)
{
	long long n;
	struct sl_entry *e;

	pthread_mutex_lock(&lock);
	n = count < 0 || count > len ? len : count;
	reply_array(c, n);
	for (e = head; e && n > 0; e = e->next, n--) {
		reply_array(c, 6);
		reply_int(c, e->id);
		reply_int(c, e->time_s);
		reply_int(c, (long long)e->usec);
		reply_array(c, e->argc);
		for (int i = 0; i < e->argc; i++)
			reply_bulk(c, e->argv[i].p, e->argv[i].n);
		reply_bulk_cstr(c, e->peer);
		reply_bulk_cstr(c, e->name);
	}
	pthread_mutex_unlock(&lock);
}

long long slowlog_len(void)
{
	long long n;

	pthread_mutex_lock(&lock);
	n = len;
	pthread_mutex_unlock(&lock);
	return n;
}

void slowlog_reset(void)
{
	struct sl_entry *e;

	pthread_mutex_lock(&lock);
	e = head;
	head = tail = NULL;
	len = 0;
	pthread_mutex_unlock(&lock);
	while (e) {
		struct sl_entry *t = e;

		e = e->next;
		mem_free(t);
	}
}

void slowlog_teardown(void)
{
	slowlog_reset();
}
