/*
 * cmd_sort.c — SORT and SORT_RO over lists, sets and sorted sets with Redis 7.0's
 * semantics and reply bytes (sort.c's sortCommandGeneric is the reference:
 * option parsing order, which errors win, how LIMIT clamps, BY patterns
 * with and without '*', GET patterns with '#' and hash fields `->`, the
 * numeric / ALPHA comparisons and their tie-breaks).
 *
 * The elements come from the type's foreach (storage/coll.h) and are copied
 * into a vector, so nothing of the store is held while sorting. BY and GET
 * keys are read in the same read-only transaction as the sorted key
 * (multi_atomic, server/multi.h): a SORT sees one state of every key it
 * reads, as it does in Redis's single thread. A hash field of a BY / GET
 * pattern (`h_*->field`) is found with the hash's foreach: O(fields).
 *
 * STORE writes the result as a list (storage/tlist.h) over whatever the
 * destination held, without a TTL; an empty result deletes the
 * destination, as Redis. A missing key sorts as an empty list, as in Redis.
 */
#include "server/cmd.h"
#include "server/multi.h"
#include "net/reply.h"
#include "storage/coll.h"
#include "storage/db.h"
#include "storage/kvmap.h"
#include "storage/tlist.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sort_elem {
	char *s; /* the element, NUL-terminated copy */
	size_t len;
	double score;
	char *cmp; /* ALPHA with BY: the BY value (NUL-terminated), or NULL */
	size_t cmplen;
};

struct sort_vec {
	struct sort_elem *v;
	size_t n, cap;
};

/* sortCompare's settings (Redis keeps them in globals). */
struct sort_opts {
	int desc, alpha, bypattern;
};

static char *dup0(const char *p, size_t n)
{
	char *d = mem_alloc(n + 1);

	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void vec_add(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct sort_vec *sv = arg;

	(void)b;
	(void)blen;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		struct sort_elem *v = mem_alloc(cap * sizeof(*v));

		if (sv->n)
			memcpy(v, sv->v, sv->n * sizeof(*v));
		mem_free(sv->v);
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = (struct sort_elem){dup0(a, alen), alen, 0, NULL, 0};
}

static void vec_free(struct sort_vec *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		mem_free(sv->v[i].s);
		mem_free(sv->v[i].cmp);
	}
	mem_free(sv->v);
}

/* compareStringObjects: binary, then the shorter first. */
static int cmp_binary(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* sortCompare, with Redis's tie-breaks. ALPHA compares with strcoll (on
 * the strings up to a NUL, as Redis does without STORE). */
static int sort_cmp(const void *p1, const void *p2, void *arg)
{
	const struct sort_elem *a = p1, *b = p2;
	const struct sort_opts *o = arg;
	int c;

	if (!o->alpha) {
		if (a->score > b->score)
			c = 1;
		else if (a->score < b->score)
			c = -1;
		else
			c = cmp_binary(a->s, a->len, b->s, b->len);
	} else if (o->bypattern) {
		if (!a->cmp || !b->cmp)
			c = a->cmp == b->cmp ? 0 : !a->cmp ? -1 : 1;
		else
			c = strcoll(a->cmp, b->cmp);
	} else {
		c = strcoll(a->s, b->s);
	}
	return o->desc ? -c : c;
}

/* ---- lookupKeyByPattern */

struct field_find {
	const char *f;
	size_t flen;
	char *val; /* copy, or NULL */
	size_t vlen;
};

static void field_visit(const char *a, size_t alen, const char *b, size_t blen, void *arg)
{
	struct field_find *ff = arg;

	if (!ff->val && alen == ff->flen && memcmp(a, ff->f, alen) == 0) {
		ff->val = dup0(b, blen);
		ff->vlen = blen;
	}
}

/*
 * The value a BY / GET pattern names for element el: "#" is the element
 * itself; otherwise the first '*' is replaced by the element and the key
 * read — a string's value, or with "->field" after the '*' a hash's field.
 * A pattern without '*', a missing key or field, or a key of another type:
 * NULL. The result is a copy (mem_free) with a NUL after its *len bytes.
 */
static char *by_pattern(struct cmd_req *r, const char *pat, size_t plen, const char *el,
			size_t elen, size_t *len)
{
	size_t cplen = strnlen(pat, plen); /* Redis's strchr / strstr stop at a NUL */
	const char *star, *arrow = NULL;
	size_t fieldlen = 0, prefix, postfix;

	if (cplen == 1 && pat[0] == '#') { /* "#" as a C string */
		*len = elen;
		return dup0(el, elen);
	}
	star = memchr(pat, '*', cplen);
	if (!star)
		return NULL;
	for (const char *q = star + 1; q + 1 < pat + cplen; q++) {
		if (q[0] == '-' && q[1] == '>') {
			arrow = q;
			break;
		}
	}
	if (arrow && arrow + 2 < pat + cplen)
		fieldlen = plen - (size_t)(arrow - pat) - 2;
	else
		arrow = NULL;
	prefix = (size_t)(star - pat);
	postfix = plen - (prefix + 1) - (fieldlen ? fieldlen + 2 : 0);

	char *key = mem_alloc(prefix + elen + postfix + 1);
	memcpy(key, pat, prefix);
	memcpy(key + prefix, el, elen);
	memcpy(key + prefix + elen, star + 1, postfix);
	const struct kv_entry *e =
	    db_lookup(r->view, key, prefix + elen + postfix, r->now_ms, NULL, 1);
	mem_free(key);
	if (!e)
		return NULL;
	if (fieldlen) {
		const struct coll_type_ops *ops = coll_ops(KV_HASH);
		struct field_find ff = {arrow + 2, fieldlen, NULL, 0};

		if (kv_entry_type(e) != KV_HASH || !ops)
			return NULL;
		ops->foreach (e, field_visit, &ff);
		*len = ff.vlen;
		return ff.val;
	}
	if (kv_entry_type(e) != KV_STRING)
		return NULL;
	*len = e->vlen;
	return dup0(kv_entry_val(e), e->vlen);
}

/* ---- SORT */

struct sort_args {
	int desc, alpha, dontsort;
	int store; /* argument index of STORE's key, 0 if none */
	long long limit_start, limit_count;
	int by; /* argument index of BY's pattern, 0 if none */
	int gets[64], ngets, *getv;
};

/* The options from argument 2 on, as sortCommandGeneric parses them.
 * 1, or 0 after replying the error. */
static int parse_sort(struct cmd_req *r, int readonly, struct sort_args *a)
{
	for (int j = 2; j < r->argc; j++) {
		int left = r->argc - j - 1;

		if (cmd_arg_is(r, j, "asc")) {
			a->desc = 0;
		} else if (cmd_arg_is(r, j, "desc")) {
			a->desc = 1;
		} else if (cmd_arg_is(r, j, "alpha")) {
			a->alpha = 1;
		} else if (cmd_arg_is(r, j, "limit") && left >= 2) {
			if (!cmd_arg_ll(r, j + 1, &a->limit_start) ||
			    !cmd_arg_ll(r, j + 2, &a->limit_count))
				return 0;
			j += 2;
		} else if (!readonly && cmd_arg_is(r, j, "store") && left >= 1) {
			a->store = j + 1; /* the last STORE wins */
			j++;
		} else if (cmd_arg_is(r, j, "by") && left >= 1) {
			a->by = j + 1;
			/* BY without '*' (e.g. nosort): nothing to sort by, and
			 * that sticks even if a later BY has a '*', as in Redis */
			if (!memchr(r->argv[j + 1], '*', strnlen(r->argv[j + 1], r->argl[j + 1])))
				a->dontsort = 1;
			j++;
		} else if (cmd_arg_is(r, j, "get") && left >= 1) {
			a->getv[a->ngets++] = j + 1;
			j++;
		} else {
			cmd_reply_syntax_error(r);
			return 0;
		}
	}
	return 1;
}

/* Numeric BY / element value: strtod over the whole string (NaN, trailing
 * bytes or a range error: not a double). An empty string reads 0, as
 * Redis's strtod does. */
static int parse_score(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return end[0] == '\0' && errno != ERANGE && !isnan(*out);
}

/* STORE: the result (with GET, each pattern's value, "" for a missing one)
 * as a list replacing the destination whatever it held, without a TTL
 * (setKey); an empty result deletes the destination. Replies the number of
 * stored elements. Runs in the command's transaction (multi_atomic). */
static void sort_store(struct cmd_req *r, const struct sort_args *a, const struct sort_vec *sv,
		       long long start, long long n)
{
	int si = a->store;
	size_t total = (size_t)n * (size_t)(a->ngets ? a->ngets : 1), k = 0;
	const char **el = mem_alloc((total ? total : 1) * sizeof(*el));
	size_t *len = mem_alloc((total ? total : 1) * sizeof(*len));
	char **owned = mem_alloc((total ? total : 1) * sizeof(*owned));
	size_t nowned = 0;

	for (long long j = start; j < start + n; j++) {
		const struct sort_elem *x = &sv->v[j];

		if (!a->ngets) {
			el[k] = x->s;
			len[k++] = x->len;
		}
		for (int g = 0; g < a->ngets; g++) {
			size_t vl = 0;
			char *v = by_pattern(r, r->argv[a->getv[g]], r->argl[a->getv[g]], x->s,
					     x->len, &vl);

			if (v)
				owned[nowned++] = v;
			el[k] = v ? v : "";
			len[k++] = v ? vl : 0;
		}
	}
	const struct kv_entry *d = db_lookup(r->view, r->argv[si], r->argl[si], r->now_ms, NULL, 0);
	struct kv_entry *e = NULL;
	if (total) {
		struct tlist_w *w = tlist_w_begin(db_coll_ctx(r->view), NULL);

		tlist_w_push(w, TLIST_TAIL, total, el, len);
		e = tlist_w_finish(w, r->argv[si], r->argl[si], 0);
	}
	if ((d || e) && db_put(r->view, d, e) != 0)
		KV_PANIC("sort: overlay write failed");
	reply_int(r->c, (long long)total);
	for (size_t i = 0; i < nowned; i++)
		mem_free(owned[i]);
	mem_free(owned);
	mem_free(el);
	mem_free(len);
}

static void sort_generic(struct cmd_req *r, int readonly)
{
	struct sort_args a = {.limit_count = -1};
	struct sort_vec sv = {NULL, 0, 0};
	long long start, end, vlen;
	int conv_error = 0;

	a.getv = a.gets;
	if (r->argc > 2 + 2 * (int)KV_ARRAY_LEN(a.gets))
		a.getv = mem_alloc((size_t)r->argc * sizeof(int));
	if (!parse_sort(r, readonly, &a))
		goto out;

	const struct kv_entry *e = db_lookup(r->view, r->argv[1], r->argl[1], r->now_ms, NULL, 1);
	enum kv_type t = e ? kv_entry_type(e) : KV_LIST; /* missing: an empty list */
	if (t != KV_SET && t != KV_ZSET && t != KV_LIST) {
		cmd_reply_wrongtype(r);
		goto out;
	}
	/* a set is sorted ALPHA when BY names no key and the result is stored,
	 * so that what is stored does not depend on the set's internal order */
	if (a.dontsort && t == KV_SET && a.store) {
		a.dontsort = 0;
		a.alpha = 1;
		a.by = 0;
	}
	if (e) {
		const struct coll_type_ops *ops = coll_ops(t);

		if (ops) /* a zset: by score, as its skiplist; a list: head first */
			ops->foreach (e, vec_add, &sv);
	}
	vlen = (long long)sv.n;

	/* LIMIT's clamping, exactly as Redis */
	start = a.limit_start < 0 ? 0 : a.limit_start;
	if (a.limit_count < 0)
		end = vlen - 1;
	else
		end = a.limit_count > LLONG_MAX - start ? LLONG_MAX : start + a.limit_count - 1;
	if (start >= vlen) {
		start = vlen - 1;
		end = vlen - 2;
	}
	if (end >= vlen)
		end = vlen - 1;

	if ((t == KV_ZSET || t == KV_LIST) && a.dontsort) {
		/* the sorted set's or list's own order (reversed with DESC), LIMIT
		 * applied */
		if (a.desc) {
			for (size_t i = 0; i < sv.n / 2; i++) {
				struct sort_elem x = sv.v[i];

				sv.v[i] = sv.v[sv.n - 1 - i];
				sv.v[sv.n - 1 - i] = x;
			}
		}
	} else if (!a.dontsort) {
		for (size_t j = 0; j < sv.n; j++) {
			struct sort_elem *x = &sv.v[j];
			char *byval = NULL;
			size_t bylen = 0;

			if (a.by) {
				byval = by_pattern(r, r->argv[a.by], r->argl[a.by], x->s, x->len,
						   &bylen);
				if (!byval)
					continue;
			}
			if (a.alpha) {
				if (a.by) {
					x->cmp = byval;
					x->cmplen = bylen;
					byval = NULL;
				}
			} else if (!parse_score(byval ? byval : x->s, &x->score)) {
				conv_error = 1;
			}
			mem_free(byval);
		}
		struct sort_opts o = {a.desc, a.alpha, a.by != 0};
		if (sv.n > 1) /* (an empty set has no vector at all) */
			qsort_r(sv.v, sv.n, sizeof(*sv.v), sort_cmp, &o);
	}

	if (conv_error) {
		reply_error(r->c, "ERR One or more scores can't be converted into double");
		goto out;
	}
	long long n = end - start + 1;
	if (n < 0)
		n = 0;
	if (a.store) {
		sort_store(r, &a, &sv, start, n);
		goto out;
	}
	reply_array(r->c, a.ngets ? a.ngets * n : n);
	for (long long j = start; j <= end; j++) {
		const struct sort_elem *x = &sv.v[j];

		if (!a.ngets)
			reply_bulk(r->c, x->s, x->len);
		for (int g = 0; g < a.ngets; g++) {
			size_t len = 0;
			char *v = by_pattern(r, r->argv[a.getv[g]], r->argl[a.getv[g]], x->s,
					     x->len, &len);

			if (v)
				reply_bulk(r->c, v, len);
			else
				reply_null(r->c);
			mem_free(v);
		}
	}
out:
	vec_free(&sv);
	if (a.getv != a.gets)
		mem_free(a.getv);
}

static void sort_body(struct cmd_req *r)
{
	sort_generic(r, 0);
}

static void sort_ro_body(struct cmd_req *r)
{
	sort_generic(r, 1);
}

/* One read-only transaction: the sorted key and every BY / GET key from one
 * state. */
static void cmd_sort(struct cmd_req *r)
{
	multi_atomic(r, sort_body);
}

static void cmd_sort_ro(struct cmd_req *r)
{
	multi_atomic(r, sort_ro_body);
}

/* clang-format off */
const struct cmd_def cmd_sort_table[] = {
	{"sort", cmd_sort, -2, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
	 "write set sortedset list slow dangerous", "generic",
	 "Sort the elements in a list, set or sorted set", "1.0.0",
	 "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "
	 "number of returned elements. When the elements are not sorted, complexity is O(N).",
	 NULL},
	{"sort_ro", cmd_sort_ro, -2, CMD_READONLY, 1, 1, 1,
	 "read set sortedset list slow dangerous", "generic",
	 "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0",
	 "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the "
	 "number of returned elements. When the elements are not sorted, complexity is O(N).",
	 NULL},
	{NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */
