/*
 * cmd_list.c — the non-blocking list commands (Redis 7.0.15's t_list.c):
 * LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM
 * LTRIM LPOS LMOVE RPOPLPUSH LMPOP. The blocking ones are server/cmd_blocking.c's.
 *
 * Each write is the coll pattern (storage/coll.h): read the entry, validate,
 * build the new version (storage/tlist.h's write session), db_put it; on a
 * lost race read again and rebuild. So every command on one key is atomic
 * and linearizable; LMOVE, RPOPLPUSH and LMPOP run in multi_atomic (one
 * isolated transaction over their keys). Arguments are checked in Redis's
 * order (which error wins when several are wrong), and reply shapes follow
 * Redis's: LPOP without COUNT answers a bulk or null, with COUNT an array
 * (a null array for a missing key), and so on.
 */
#include "server/cmd_list.h"

#include <limits.h>
#include <string.h>

#include "concurrency/mem.h"
#include "net/conn.h"
#include "net/reply.h"
#include "net/resp.h"
#include "server/multi.h"
#include "server/strutil.h"
#include "storage/db.h"
#include "concurrency/util.h"

/* ------------------------------------------------------------ helpers */

/* The list at argument i: 1 with *e (NULL when missing), 0 after a
 * WRONGTYPE reply. count_stats: a read (keyspace hits / misses). */
static int lookup_list(struct cmd_req *r, int i, const struct kv_entry **e, int count_stats)
{
	*e = db_lookup(r->view, r->argv[i], r->argl[i], r->now_ms, NULL, count_stats);
	if (*e && kv_entry_type(*e) != KV_LIST) {
		cmd_reply_wrongtype(r);
		return 0;
	}
	return 1;
}

/* getPositiveLongFromObjectOrReply */
static int arg_positive(struct cmd_req *r, int i, long long *out, const char *msg)
{
	return cmd_arg_range(r, i, 0, LLONG_MAX, out,
			     msg ? msg : "value is out of range, must be positive");
}

/* One CAS step of a session: 0 when published, -1 when the race was lost. */
static int publish(struct cmd_req *r, struct tlist_w *w, const struct kv_entry *old, int ki)
{
	struct kv_entry *e =
	    tlist_w_finish(w, r->argv[ki], r->argl[ki], old ? kv_entry_expire(old) : 0);

	if (!e && !old)
		return 0;
	if (db_put(r->view, old, e) == 0)
		return 0;
	if (e)
		kv_entry_free(e);
	return -1;
}

int cmd_list_end_arg(struct cmd_req *r, int i, enum tlist_end *end)
{
	if (cmd_arg_is(r, i, "left")) {
		*end = TLIST_HEAD;
	} else if (cmd_arg_is(r, i, "right")) {
		*end = TLIST_TAIL;
	} else {
		cmd_reply_syntax_error(r);
		return 0;
	}
	return 1;
}

/* ---------------------------------------------------------- pushes */

static void push_generic(struct cmd_req *r, enum tlist_end end, bool create)
{
	long long n = tlist_push(r->view, r->argv[1], r->argl[1], end, (size_t)(r->argc - 2),
				 r->argv + 2, r->argl + 2, create, r->now_ms);

	if (n < 0)
		cmd_reply_wrongtype(r);
	else
		reply_int(r->c, n);
}

static KV_HOT void cmd_lpush(struct cmd_req *r)
{
	push_generic(r, TLIST_HEAD, true);
}

static KV_HOT void cmd_rpush(struct cmd_req *r)
{
	push_generic(r, TLIST_TAIL, true);
}

static void cmd_lpushx(struct cmd_req *r)
{
	push_generic(r, TLIST_HEAD, false);
}

static void cmd_rpushx(struct cmd_req *r)
{
	push_generic(r, TLIST_TAIL, false);
}

/* ----------------------------------------------------------- pops */

static void reply_elems(struct conn *c, const struct tlist_popped *p)
{
	reply_array(c, (long long)p->n);
	for (size_t i = 0; i < p->n; i++)
		reply_bulk(c, p->elem[i], p->len[i]);
}

/* popGenericCommand */
static void pop_generic(struct cmd_req *r, enum tlist_end end)
{
	bool hascount = r->argc == 3;
	long long count = 1;
	struct tlist_popped p;

	if (r->argc > 3) {
		cmd_reply_arity(r);
		return;
	}
	if (hascount && !arg_positive(r, 2, &count, NULL))
		return;
	if (hascount && count == 0) {
		/* the key's existence and type still decide the reply */
		const struct kv_entry *e;

		if (!lookup_list(r, 1, &e, 0))
			return;
		if (e)
			reply_array(r->c, 0);
		else
			reply_null_array(r->c);
		return;
	}
	switch (tlist_pop(r->view, r->argv[1], r->argl[1], end, count, r->now_ms, &p)) {
	case -1:
		cmd_reply_wrongtype(r);
		return;
	case 0:
		if (hascount)
			reply_null_array(r->c);
		else
			reply_null(r->c);
		return;
	default:
		break;
	}
	if (hascount)
		reply_elems(r->c, &p);
	else
		reply_bulk(r->c, p.elem[0], p.len[0]);
	tlist_popped_free(&p);
}

static KV_HOT void cmd_lpop(struct cmd_req *r)
{
	pop_generic(r, TLIST_HEAD);
}

static KV_HOT void cmd_rpop(struct cmd_req *r)
{
	pop_generic(r, TLIST_TAIL);
}

/* ----------------------------------------------------------- reads */

static void cmd_llen(struct cmd_req *r)
{
	const struct kv_entry *e;

	if (lookup_list(r, 1, &e, 1))
		reply_int(r->c, e ? (long long)tlist_len(e) : 0);
}

static void cmd_lrange(struct cmd_req *r)
{
	long long start, end, llen;
	const struct kv_entry *e;
	struct tlist_iter it;
	const char *p;
	size_t len;

	if (!cmd_arg_ll(r, 2, &start) || !cmd_arg_ll(r, 3, &end))
		return;
	if (!lookup_list(r, 1, &e, 1))
		return;
	if (!e) {
		reply_array(r->c, 0);
		return;
	}
	/* addListRangeReply */
	llen = (long long)tlist_len(e);
	if (start < 0)
		start = llen + start;
	if (end < 0)
		end = llen + end;
	if (start < 0)
		start = 0;
	if (start > end || start >= llen) {
		reply_array(r->c, 0);
		return;
	}
	if (end >= llen)
		end = llen - 1;
	reply_array(r->c, end - start + 1);
	tlist_iter_init(&it, e, (size_t)start, true);
	for (long long i = start; i <= end && tlist_iter_next(&it, &p, &len); i++)
		reply_bulk(r->c, p, len);
	tlist_iter_done(&it);
}

static void cmd_lindex(struct cmd_req *r)
{
	long long index, llen;
	const struct kv_entry *e;
	const char *p;
	size_t len;

	if (!lookup_list(r, 1, &e, 1))
		return;
	if (!e) {
		reply_null(r->c);
		return;
	}
	if (!cmd_arg_ll(r, 2, &index))
		return;
	llen = (long long)tlist_len(e);
	if (index < 0)
		index = llen + index;
	if (index >= 0 && index < llen && tlist_index(e, (size_t)index, &p, &len))
		reply_bulk(r->c, p, len);
	else
		reply_null(r->c);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void cmd_lpos(struct cmd_req *r)
{
	long long rank = 1, count = -1, maxlen = 0;
	bool fwd = true;
	const struct kv_entry *e;

	for (int j = 3; j < r->argc; j++) {
		bool more = r->argc - 1 - j > 0;

		if (cmd_arg_is(r, j, "rank") && more) {
			j++;
			if (!cmd_arg_ll(r, j, &rank))
				return;
			if (rank == 0) {
				reply_error(r->c,
					    "ERR RANK can't be zero: use 1 to start from the first "
					    "match, 2 from the second ... or use negative to start "
					    "from the end of the list");
				return;
			}
		} else if (cmd_arg_is(r, j, "count") && more) {
			j++;
			if (!arg_positive(r, j, &count, "COUNT can't be negative"))
				return;
		} else if (cmd_arg_is(r, j, "maxlen") && more) {
			j++;
			if (!arg_positive(r, j, &maxlen, "MAXLEN can't be negative"))
				return;
		} else {
			cmd_reply_syntax_error(r);
			return;
		}
	}
	if (rank < 0) {
		/* Redis's rank = -rank: LONG_MIN wraps to itself and stays
		 * negative (every match then qualifies), computed without UB */
		rank = (long long)(0ULL - (unsigned long long)rank);
		fwd = false;
	}
	if (!lookup_list(r, 1, &e, 1))
		return;
	if (!e) {
		if (count != -1)
			reply_array(r->c, 0);
		else
			reply_null(r->c);
		return;
	}
	long long llen = (long long)tlist_len(e), index = 0, matches = 0, matchindex = -1;
	long long *found = NULL;
	size_t nfound = 0, capfound = 0;
	struct tlist_iter it;
	const char *p;
	size_t len;

	tlist_iter_init(&it, e, fwd ? 0 : (size_t)(llen - 1), fwd);
	while ((maxlen == 0 || index < maxlen) && tlist_iter_next(&it, &p, &len)) {
		if (len == r->argl[2] && (len == 0 || memcmp(p, r->argv[2], len) == 0)) {
			matches++;
			matchindex = fwd ? index : llen - index - 1;
			if (matches >= rank) {
				if (count != -1) {
					if (nfound == capfound) {
						capfound = capfound ? 2 * capfound : 8;
						found =
						    mem_realloc(found, capfound * sizeof(*found));
					}
					found[nfound++] = matchindex;
					/* matches - rank + 1, wrapping as Redis's does */
					if (count &&
					    (long long)((unsigned long long)matches -
							(unsigned long long)rank + 1ULL) >= count)
						break;
				} else {
					break;
				}
			}
		}
		index++;
		matchindex = -1;
	}
	tlist_iter_done(&it);
	if (count != -1) {
		reply_array(r->c, (long long)nfound);
		for (size_t i = 0; i < nfound; i++)
			reply_int(r->c, found[i]);
		mem_free(found);
	} else if (matchindex != -1) {
		reply_int(r->c, matchindex);
	} else {
		reply_null(r->c);
	}
}

/* ---------------------------------------------------------- writes */

static void cmd_lset(struct cmd_req *r)
{
	long long index;

	for (;;) {
		const struct kv_entry *old;

		if (!lookup_list(r, 1, &old, 0))
			return;
		if (!old) {
			reply_error(r->c, "ERR no such key");
			return;
		}
		if (!cmd_arg_ll(r, 2, &index))
			return;
		long long llen = (long long)tlist_len(old);
		if (index < 0)
			index = llen + index;
		if (index < 0 || index >= llen) {
			reply_error(r->c, "ERR index out of range");
			return;
		}
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(r->view), old);
		tlist_w_set(w, (size_t)index, r->argv[3], r->argl[3]);
		if (publish(r, w, old, 1) == 0)
			break;
	}
	reply_ok(r->c);
}

/* LINSERT key BEFORE|AFTER pivot element */
static void cmd_linsert(struct cmd_req *r)
{
	bool after;
	long long len;

	if (cmd_arg_is(r, 2, "after")) {
		after = true;
	} else if (cmd_arg_is(r, 2, "before")) {
		after = false;
	} else {
		cmd_reply_syntax_error(r);
		return;
	}
	for (;;) {
		const struct kv_entry *old;
		struct tlist_iter it;
		const char *p;
		size_t plen, at = 0;
		bool found = false;

		if (!lookup_list(r, 1, &old, 0))
			return;
		if (!old) {
			reply_int(r->c, 0);
			return;
		}
		tlist_iter_init(&it, old, 0, true);
		while (tlist_iter_next(&it, &p, &plen)) {
			if (plen == r->argl[3] && (plen == 0 || memcmp(p, r->argv[3], plen) == 0)) {
				found = true;
				break;
			}
			at++;
		}
		tlist_iter_done(&it);
		if (!found) {
			reply_int(r->c, -1);
			return;
		}
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(r->view), old);
		tlist_w_insert(w, after ? at + 1 : at, r->argv[4], r->argl[4]);
		len = (long long)tlist_w_len(w);
		if (publish(r, w, old, 1) == 0)
			break;
	}
	reply_int(r->c, len);
}

/* LREM key count element */
static void cmd_lrem(struct cmd_req *r)
{
	long long count;
	size_t removed = 0;

	if (!cmd_arg_ll(r, 2, &count))
		return;
	for (;;) {
		const struct kv_entry *old;

		if (!lookup_list(r, 1, &old, 0))
			return;
		if (!old)
			break;
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(r->view), old);
		removed = tlist_w_rem(w, count, r->argv[3], r->argl[3]);
		if (removed == 0) {
			tlist_w_abort(w);
			break;
		}
		if (publish(r, w, old, 1) == 0)
			break;
	}
	reply_int(r->c, (long long)removed);
}

/* LTRIM key start stop */
static void cmd_ltrim(struct cmd_req *r)
{
	long long start, end;

	if (!cmd_arg_ll(r, 2, &start) || !cmd_arg_ll(r, 3, &end))
		return;
	for (;;) {
		const struct kv_entry *old;

		if (!lookup_list(r, 1, &old, 0))
			return;
		if (!old)
			break;
		long long llen = (long long)tlist_len(old), s = start, t = end;
		if (s < 0)
			s = llen + s;
		if (t < 0)
			t = llen + t;
		if (s < 0)
			s = 0;
		bool none = s > t || s >= llen;
		if (!none && t >= llen)
			t = llen - 1;
		if (!none && s == 0 && t == llen - 1)
			break; /* nothing to trim */
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(r->view), old);
		if (none)
			tlist_w_trim(w, 1, 0);
		else
			tlist_w_trim(w, (size_t)s, (size_t)t);
		if (publish(r, w, old, 1) == 0)
			break;
	}
	reply_ok(r->c);
}

/* ------------------------------------------------- LMOVE RPOPLPUSH */

static void move_reply(struct cmd_req *r, enum tlist_end from, enum tlist_end to)
{
	char *el = NULL;
	size_t len = 0;

	switch (tlist_move(r->view, r->argv[1], r->argl[1], r->argv[2], r->argl[2], from, to,
			   r->now_ms, &el, &len)) {
	case 1:
		reply_bulk(r->c, el, len);
		mem_free(el);
		break;
	case 0:
		reply_null(r->c);
		break;
	default:
		cmd_reply_wrongtype(r);
		break;
	}
}

static void lmove_body(struct cmd_req *r)
{
	enum tlist_end from, to;

	if (!cmd_list_end_arg(r, 3, &from) || !cmd_list_end_arg(r, 4, &to))
		return;
	move_reply(r, from, to);
}

static void cmd_lmove(struct cmd_req *r)
{
	enum tlist_end from, to;

	/* the position words are checked before any key is touched */
	if (!cmd_list_end_arg(r, 3, &from) || !cmd_list_end_arg(r, 4, &to))
		return;
	multi_atomic(r, lmove_body);
}

static void rpoplpush_body(struct cmd_req *r)
{
	move_reply(r, TLIST_TAIL, TLIST_HEAD);
}

static void cmd_rpoplpush(struct cmd_req *r)
{
	multi_atomic(r, rpoplpush_body);
}

/* ------------------------------------------------------------ LMPOP */

int cmd_list_mpop_parse(struct cmd_req *r, int numkeys_idx, struct list_mpop_args *out)
{
	long long numkeys, count = -1;

	if (!cmd_arg_range(r, numkeys_idx, 1, LLONG_MAX, &numkeys,
			   "numkeys should be greater than 0"))
		return 0;
	if (numkeys >= r->argc - numkeys_idx - 1) { /* no room for LEFT|RIGHT */
		cmd_reply_syntax_error(r);
		return 0;
	}
	int where_idx = numkeys_idx + (int)numkeys + 1;
	if (!cmd_list_end_arg(r, where_idx, &out->end))
		return 0;
	for (int j = where_idx + 1; j < r->argc; j++) {
		if (count == -1 && cmd_arg_is(r, j, "count") && r->argc - 1 - j > 0) {
			j++;
			if (!cmd_arg_range(r, j, 1, LLONG_MAX, &count,
					   "count should be greater than 0"))
				return 0;
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	out->first_key = numkeys_idx + 1;
	out->numkeys = (int)numkeys;
	out->count = count == -1 ? 1 : count;
	return 1;
}

void cmd_list_reply_mpop(struct conn *c, const char *key, size_t klen, const struct tlist_popped *p)
{
	reply_array(c, 2);
	reply_bulk(c, key, klen);
	reply_elems(c, p);
}

static void lmpop_body(struct cmd_req *r)
{
	struct list_mpop_args a;

	if (!cmd_list_mpop_parse(r, 1, &a))
		return;
	for (int k = a.first_key; k < a.first_key + a.numkeys; k++) {
		struct tlist_popped p;

		switch (tlist_pop(r->view, r->argv[k], r->argl[k], a.end, a.count, r->now_ms, &p)) {
		case -1:
			cmd_reply_wrongtype(r);
			return;
		case 0:
			continue;
		default:
			cmd_list_reply_mpop(r->c, r->argv[k], r->argl[k], &p);
			tlist_popped_free(&p);
			return;
		}
	}
	reply_null_array(r->c);
}

static void cmd_lmpop(struct cmd_req *r)
{
	struct list_mpop_args a;

	/* a malformed command never opens a transaction (the body parses
	 * again: a cmd_proc takes only r) */
	if (!cmd_list_mpop_parse(r, 1, &a))
		return;
	multi_atomic(r, lmpop_body);
}

/* ------------------------------------------------------------ table */

const struct cmd_def cmd_list_table[] = {
    {"lpush", cmd_lpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write list fast", "list",
     "Prepend one or multiple elements to a list", "1.0.0",
     "O(1) for each element added, so O(N) to add N elements when the command is called with "
     "multiple arguments.",
     NULL},
    {"rpush", cmd_rpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write list fast", "list",
     "Append one or multiple elements to a list", "1.0.0",
     "O(1) for each element added, so O(N) to add N elements when the command is called with "
     "multiple arguments.",
     NULL},
    {"lpushx", cmd_lpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write list fast",
     "list", "Prepend an element to a list, only if the list exists", "2.2.0",
     "O(1) for each element added, so O(N) to add N elements when the command is called with "
     "multiple arguments.",
     NULL},
    {"rpushx", cmd_rpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "write list fast",
     "list", "Append an element to a list, only if the list exists", "2.2.0",
     "O(1) for each element added, so O(N) to add N elements when the command is called with "
     "multiple arguments.",
     NULL},
    {"lpop", cmd_lpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write list fast", "list",
     "Remove and get the first elements in a list", "1.0.0",
     "O(N) where N is the number of elements returned", NULL},
    {"rpop", cmd_rpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "write list fast", "list",
     "Remove and get the last elements in a list", "1.0.0",
     "O(N) where N is the number of elements returned", NULL},
    {"llen", cmd_llen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "read list fast", "list",
     "Get the length of a list", "1.0.0", "O(1)", NULL},
    {"lrange", cmd_lrange, 4, CMD_READONLY, 1, 1, 1, "read list slow", "list",
     "Get a range of elements from a list", "1.0.0",
     "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
     "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
     NULL},
    {"lindex", cmd_lindex, 3, CMD_READONLY, 1, 1, 1, "read list slow", "list",
     "Get an element from a list by its index", "1.0.0",
     "O(N) where N is the number of elements to traverse to get to the element at index. This "
     "makes asking for the first or the last element of the list O(1).",
     NULL},
    {"lset", cmd_lset, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write list slow", "list",
     "Set the value of an element in a list by its index", "1.0.0",
     "O(N) where N is the length of the list. Setting either the first or the last element of the "
     "list is O(1).",
     NULL},
    {"linsert", cmd_linsert, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "write list slow", "list",
     "Insert an element before or after another element in a list", "2.2.0",
     "O(N) where N is the number of elements to traverse before seeing the value pivot. This means "
     "that inserting somewhere on the left end on the list (head) can be considered O(1) and "
     "inserting somewhere on the right end (tail) is O(N).",
     NULL},
    {"lrem", cmd_lrem, 4, CMD_WRITE, 1, 1, 1, "write list slow", "list",
     "Remove elements from a list", "1.0.0",
     "O(N+M) where N is the length of the list and M is the number of elements removed.", NULL},
    {"ltrim", cmd_ltrim, 4, CMD_WRITE, 1, 1, 1, "write list slow", "list",
     "Trim a list to the specified range", "1.0.0",
     "O(N) where N is the number of elements to be removed by the operation.", NULL},
    {"lpos", cmd_lpos, -3, CMD_READONLY, 1, 1, 1, "read list slow", "list",
     "Return the index of matching elements on a list", "6.0.6",
     "O(N) where N is the number of elements in the list, for the average case. When searching for "
     "elements near the head or the tail of the list, or when the MAXLEN option is provided, the "
     "command may run in constant time.",
     NULL},
    {"lmove", cmd_lmove, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "write list slow", "list",
     "Pop an element from a list, push it to another list and return it", "6.2.0", "O(1)", NULL},
    {"rpoplpush", cmd_rpoplpush, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, "write list slow", "list",
     "Remove the last element in a list, prepend it to another list and return it", "1.2.0", "O(1)",
     NULL},
    {"lmpop", cmd_lmpop, -4, CMD_WRITE, 0, 0, 0, "write list slow", "list",
     "Pop elements from a list", "7.0.0",
     "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
     NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
