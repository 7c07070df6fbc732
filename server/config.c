/*
 * config.c — the configuration engine: everything the table drives.
 *
 * The rows (config_table.c) give each parameter's redis.conf name, type,
 * default, bounds, flags, description, parser and apply function. From them
 * come: defaults (cfg_init), the config file and `--name value` overrides
 * (cfg_load_*), CONFIG GET (cfg_match + cfg_format), CONFIG SET
 * (cfg_set_many, which stores, then applies, then restores everything if an
 * apply fails), CONFIG REWRITE (cfg_rewrite) and `kvsd --help`.
 * conf/kvsd.conf documents the same rows; tests/unit/server/test_config.c
 * proves they agree.
 *
 * Values: bool, int, memory and enum parameters live in `ival[]`, one atomic
 * each, so any worker reads them without a lock; strings live in `sval[]`
 * under `lock`. `set_lock` serialises writers (CONFIG SET with its apply and
 * restore, loading, REWRITE) so that two CONFIG SETs never interleave their
 * apply functions. Parsing follows Redis 7.0's config.c rule for rule, and
 * the error texts are Redis's, checked against redis-server 7.0.15:
 *   bool     yes|no (any case)        "argument must be 'yes' or 'no'"
 *   int      string2ll                "argument couldn't be parsed into an integer"
 *   octal    strtoll(,8)              "argument couldn't be parsed as an octal number"
 *   memory   memtoull + units         "argument must be a memory value"
 *   bounds                            "argument must be between 1 and 500 inclusive"
 *   enum     name (any case)          "argument(s) must be one of the following: a, b"
 * Command-line arguments are turned into config text exactly as redis-server
 * does (each `--name` starts a line, other words are appended quoted) and
 * parsed by the same loader, so both report errors the same way.
 */
#include "server/config.h"
#include "server/config_internal.h"
#include "server/log.h"
#include "server/strutil.h"
#include "concurrency/mem.h"
#include "concurrency/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cfg_def *const table = cfg_rows;

/* Bool / int / memory / enum values (config.h: read inline by cfg_int).
 * Written under st.lock by loaders and cfg_set_many; read by any thread
 * without the lock (relaxed: each value stands alone and publishes no other
 * memory; a reader seeing a change a moment late is fine). */
_Atomic long long cfg_ival[CFG_COUNT_];

static struct {
	pthread_mutex_t lock; /* guards sval, slen, file */
	char *sval[CFG_COUNT_];
	size_t slen[CFG_COUNT_];
	char *file; /* absolute path of the loaded config file, or NULL */
	long long ncpu;
	/* Serialises writers: each CONFIG SET (store, apply, restore), each
	 * loaded directive and REWRITE. Taken before `lock`, never inside it. */
	pthread_mutex_t set_lock;
	/* Under set_lock: whether CONFIG SET applies (cfg_apply_start or a test
	 * hook), the hook, and the key space for apply functions. */
	int applying;
	cfg_apply_hook_fn hook;
	struct db *db;
	unsigned rewrite_seq; /* under lock */
	/* Under set_lock: the directive being loaded from a file or argv, and
	 * the rows an earlier line of this load set (cfg_load_repeat). */
	int loading_id;
	unsigned char loaded[CFG_COUNT_];
} st = {.lock = PTHREAD_MUTEX_INITIALIZER, .set_lock = PTHREAD_MUTEX_INITIALIZER};

/* A parsed value not yet stored. */
struct cfg_val {
	long long i;
	char *s; /* malloc'd, NUL-terminated, for strings */
	size_t slen;
};

const struct cfg_def *cfg_table(void)
{
	return table;
}

static int lookup_len(const char *name, size_t len)
{
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (su_eqi(name, len, table[i].name) ||
		    (table[i].alias && su_eqi(name, len, table[i].alias)))
			return i;
	}
	return -1;
}

int cfg_lookup(const char *name)
{
	return lookup_len(name, strlen(name));
}

static char *dup_bytes(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		abort();
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* ----------------------------------------------------------- parsing */

/*
 * Parses argv[0..argc) for row d into *out. Multi-word rows get their words
 * NUL-terminated (split results); a single word need not be. `cur` is the
 * row's current string value (NULL at initialisation), for the row's parser.
 * Returns 0, or -1 with the reason (Redis's wording) in why[0..whylen).
 */
static int parse_value(const struct cfg_def *d, char *const *argv, const size_t *lens, int argc,
		       const char *cur, struct cfg_val *out, char *why, size_t whylen)
{
	const char *a = argc > 0 ? argv[0] : "";
	size_t alen = argc > 0 ? lens[0] : 0;
	long long v = 0;

	memset(out, 0, sizeof(*out));
	switch (d->type) {
	case CFG_T_BOOL:
		if (su_word_is(a, alen, "yes")) {
			out->i = 1;
		} else if (su_word_is(a, alen, "no")) {
			out->i = 0;
		} else {
			snprintf(why, whylen, "argument must be 'yes' or 'no'");
			return -1;
		}
		return 0;
	case CFG_T_INT:
	case CFG_T_MEMORY:
		if (d->type == CFG_T_MEMORY) {
			char *z = dup_bytes(a, alen);
			int ok = su_memtoll(z, &v);

			free(z);
			if (!ok) {
				snprintf(why, whylen, "argument must be a memory value");
				return -1;
			}
		} else if (d->flags & CFG_OCTAL) {
			char *z = dup_bytes(a, alen), *end;
			int ok;

			errno = 0;
			v = strtoll(z, &end, 8);
			ok = errno == 0 && *end == '\0';
			free(z);
			if (!ok) {
				snprintf(why, whylen,
					 "argument couldn't be parsed as an octal number");
				return -1;
			}
		} else if (!resp_str2ll(a, alen, &v)) {
			snprintf(why, whylen, "argument couldn't be parsed into an integer");
			return -1;
		}
		if (v < d->min || v > d->max) {
			snprintf(why, whylen,
				 (d->flags & CFG_OCTAL)
				     ? "argument must be between %llo and %llo inclusive"
				     : "argument must be between %lld and %lld inclusive",
				 d->min, d->max);
			return -1;
		}
		if (d->check && d->check(&v, why, whylen) != 0)
			return -1;
		out->i = v;
		return 0;
	case CFG_T_ENUM:
		for (int k = 0; d->enums[k]; k++) {
			if (su_word_is(a, alen, d->enums[k])) {
				out->i = k;
				return 0;
			}
		}
		{
			size_t n = (size_t)snprintf(why, whylen,
						    "argument(s) must be one of the following: ");

			for (int k = 0; d->enums[k] && n < whylen; k++)
				n += (size_t)snprintf(why + n, whylen - n, "%s%s", k ? ", " : "",
						      d->enums[k]);
		}
		return -1;
	case CFG_T_STRING:
		if (d->parse && (d->flags & CFG_MULTIARG)) {
			out->s = d->parse(argv, lens, argc, cur, &out->slen, why, whylen);
		} else if (d->parse) {
			char *z = dup_bytes(a, alen);

			out->s = d->parse(&z, &alen, 1, cur, &out->slen, why, whylen);
			free(z);
		} else {
			out->s = dup_bytes(a, alen);
			out->slen = alen;
		}
		return out->s ? 0 : -1;
	}
	return -1;
}

/* Stores a parsed value; takes ownership of v->s. Returns 1 if it changed.
 * Called with st.lock held. */
static int store_value(enum cfg_id id, struct cfg_val *v)
{
	if (table[id].type == CFG_T_STRING) {
		int changed = !st.sval[id] || st.slen[id] != v->slen ||
			      memcmp(st.sval[id], v->s, v->slen) != 0;

		free(st.sval[id]);
		st.sval[id] = v->s;
		st.slen[id] = v->slen;
		v->s = NULL;
		return changed;
	}
	/* relaxed: see the declaration of ival; the lock orders writers. */
	return atomic_exchange_explicit(&cfg_ival[id], v->i, memory_order_relaxed) != v->i;
}

/*
 * Parses row d's default as the file would (multi-word defaults split into
 * words); the value a row has after cfg_init() and that CONFIG REWRITE
 * compares with. The table's defaults are valid (abort otherwise).
 */
static void parse_default(const struct cfg_def *d, struct cfg_val *v)
{
	char why[256];
	int rc;

	if (d->flags & CFG_MULTIARG) {
		size_t *lens;
		int argc;
		char **argv = su_split_args(d->def, strlen(d->def), &argc, &lens);

		rc = argv ? parse_value(d, argv, lens, argc, NULL, v, why, sizeof(why)) : -1;
		if (!argv)
			snprintf(why, sizeof(why), "unbalanced quotes");
		su_free_args(argv, lens, argv ? argc : 0);
	} else {
		char *argv[1] = {(char *)d->def};
		size_t lens[1] = {strlen(d->def)};

		/* dir "" is "stay where we are": defaults never chdir */
		rc = parse_value(d, argv, lens, 1, NULL, v, why, sizeof(why));
	}
	if (rc != 0) {
		fprintf(stderr, "kvsd: config table: '%s': bad default: %s\n", d->name, why);
		abort();
	}
}

/* ----------------------------------------------------------- lifecycle */

void cfg_init(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	st.ncpu = n > 0 ? n : 1;
	pthread_mutex_lock(&st.set_lock);
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < CFG_COUNT_; i++) {
		struct cfg_val v;

		parse_default(&table[i], &v);
		store_value((enum cfg_id)i, &v);
	}
	pthread_mutex_unlock(&st.lock);
	st.applying = 0;
	st.hook = NULL;
	st.db = NULL;
	st.loading_id = -1;
	memset(st.loaded, 0, sizeof(st.loaded));
	pthread_mutex_unlock(&st.set_lock);
}

int cfg_load_repeat(enum cfg_id id)
{
	return st.loading_id == (int)id && st.loaded[id];
}

void cfg_deinit(void)
{
	pthread_mutex_lock(&st.set_lock);
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < CFG_COUNT_; i++) {
		free(st.sval[i]);
		st.sval[i] = NULL;
		st.slen[i] = 0;
	}
	free(st.file);
	st.file = NULL;
	pthread_mutex_unlock(&st.lock);
	st.applying = 0;
	st.hook = NULL;
	st.db = NULL;
	st.loading_id = -1;
	memset(st.loaded, 0, sizeof(st.loaded));
	pthread_mutex_unlock(&st.set_lock);
}

const char *cfg_file(void)
{
	return st.file;
}

struct db *cfg_apply_db(void)
{
	return st.db; /* written once by cfg_apply_start, before any CONFIG SET */
}

void cfg_set_apply_hook(cfg_apply_hook_fn fn)
{
	pthread_mutex_lock(&st.set_lock);
	st.hook = fn;
	st.applying = fn != NULL || st.db != NULL;
	pthread_mutex_unlock(&st.set_lock);
}

/* -------------------------------------------------------------- reading */

long long cfg_ncpu(void)
{
	return st.ncpu;
}

const char *cfg_enum_name(enum cfg_id id)
{
	if (table[id].type != CFG_T_ENUM)
		return NULL;
	return table[id].enums[cfg_int(id)];
}

static char *cwd_dup(void)
{
	char *cwd = getcwd(NULL, 0);

	return cwd ? cwd : dup_bytes("", 0);
}

char *cfg_str_dup(enum cfg_id id)
{
	char *s;

	if (id == CFG_DIR)
		return cwd_dup();
	pthread_mutex_lock(&st.lock);
	s = dup_bytes(st.sval[id] ? st.sval[id] : "", st.slen[id]);
	pthread_mutex_unlock(&st.lock);
	return s;
}

int cfg_str_equal(enum cfg_id id, const char *s, size_t len)
{
	unsigned diff;

	pthread_mutex_lock(&st.lock);
	/* Time depends on the caller's len only, never on the secret's bytes
	 * or length: every byte of s is compared against some byte. */
	{
		const unsigned char *sec = (const unsigned char *)st.sval[id];
		size_t slen = st.slen[id];

		diff = (unsigned)(slen != len);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = slen ? sec[i % slen] : 0;

			diff |= (unsigned)(c ^ (unsigned char)s[i]);
		}
	}
	pthread_mutex_unlock(&st.lock);
	return diff == 0;
}

/* Formats id's value into a malloc'd string. raw: the file's form (memory
 * with units, threads as configured) rather than CONFIG GET's. Called with
 * st.lock held for strings. */
static char *format_locked(enum cfg_id id, int raw)
{
	const struct cfg_def *d = &table[id];
	long long v = atomic_load_explicit(&cfg_ival[id], memory_order_relaxed); /* see ival */
	char buf[64];

	switch (d->type) {
	case CFG_T_BOOL:
		return dup_bytes(v ? "yes" : "no", v ? 3 : 2);
	case CFG_T_ENUM:
		return dup_bytes(d->enums[v], strlen(d->enums[v]));
	case CFG_T_INT:
		if (d->flags & CFG_OCTAL)
			snprintf(buf, sizeof(buf), "%llo", v);
		else
			snprintf(buf, sizeof(buf), "%lld", raw ? v : cfg_int(id));
		return dup_bytes(buf, strlen(buf));
	case CFG_T_MEMORY: {
		const long long gb = 1024LL * 1024 * 1024, mb = 1024 * 1024, kb = 1024;

		if (raw && v && v % gb == 0)
			snprintf(buf, sizeof(buf), "%lldgb", v / gb);
		else if (raw && v && v % mb == 0)
			snprintf(buf, sizeof(buf), "%lldmb", v / mb);
		else if (raw && v && v % kb == 0)
			snprintf(buf, sizeof(buf), "%lldkb", v / kb);
		else
			snprintf(buf, sizeof(buf), "%lld", v);
		return dup_bytes(buf, strlen(buf));
	}
	case CFG_T_STRING:
		if (id == CFG_DIR && !raw)
			return cwd_dup();
		return dup_bytes(st.sval[id] ? st.sval[id] : "", st.slen[id]);
	}
	return dup_bytes("", 0);
}

char *cfg_format(enum cfg_id id)
{
	char *s;

	pthread_mutex_lock(&st.lock);
	s = format_locked(id, 0);
	pthread_mutex_unlock(&st.lock);
	return s;
}

void cfg_match(const char *pattern, size_t plen, void (*fn)(enum cfg_id id, void *arg), void *arg)
{
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (su_glob_match(pattern, plen, table[i].name, strlen(table[i].name), 1))
			fn((enum cfg_id)i, arg);
	}
}

void cfg_print_help(FILE *out)
{
	fprintf(out, "Configuration (in a file: `name value`; on the command line: "
		     "`--name value`):\n");
	for (int i = 0; i < CFG_COUNT_; i++) {
		const struct cfg_def *d = &table[i];

		fprintf(out, "  %-26s default \"%s\"%s\n      %s\n", d->name, d->def,
			(d->flags & (CFG_IMMUTABLE | CFG_PROTECTED)) ? " (start-up only)" : "",
			d->desc);
	}
}

/* ---------------------------------------------------------------- errors */

/* Formats into err; CR and LF become spaces as in Redis's addReplyErrorFormat
 * (an error reply must stay on one line). */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++) {
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	}
}

/* ---------------------------------------------------------------- loading */

/* Applies one directive line's words (argv[0] is the name). 0 or -1 + err. */
static int load_directive(char **argv, size_t *lens, int argc, const char *origin, int linenum,
			  char *err, size_t errlen)
{
	char why[512];
	struct cfg_val v;
	int id, rc;

	for (size_t k = 0; k < lens[0]; k++)
		argv[0][k] = (char)tolower((unsigned char)argv[0][k]);
	id = lookup_len(argv[0], lens[0]);
	if (id < 0) {
		set_err(err, errlen, "kvsd: %s:%d: unknown directive '%s'", origin, linenum,
			argv[0]);
		return -1;
	}
	if (!(table[id].flags & CFG_MULTIARG) && argc != 2) {
		set_err(err, errlen, "kvsd: %s:%d: '%s': wrong number of arguments", origin,
			linenum, table[id].name);
		return -1;
	}
	if ((table[id].flags & CFG_MULTIARG) && argc == 2 && lens[1] > 0) {
		/* One argument holding several ("--bind '1.2.3.4 ::1'"): split it. */
		size_t *sl;
		int sc;
		char **sv = su_split_args(argv[1], lens[1], &sc, &sl);

		if (!sv) {
			set_err(err, errlen, "kvsd: %s:%d: '%s': unbalanced quotes", origin,
				linenum, table[id].name);
			return -1;
		}
		pthread_mutex_lock(&st.set_lock);
		pthread_mutex_lock(&st.lock);
		st.loading_id = id;
		rc = parse_value(&table[id], sv, sl, sc, st.sval[id], &v, why, sizeof(why));
		su_free_args(sv, sl, sc);
	} else {
		pthread_mutex_lock(&st.set_lock);
		pthread_mutex_lock(&st.lock);
		st.loading_id = id;
		rc = parse_value(&table[id], argv + 1, lens + 1, argc - 1, st.sval[id], &v, why,
				 sizeof(why));
	}
	st.loading_id = -1;
	if (rc == 0)
		st.loaded[id] = 1;
	/* Loading stores without applying: it runs before cfg_apply_start(). */
	if (rc == 0)
		store_value((enum cfg_id)id, &v);
	pthread_mutex_unlock(&st.lock);
	pthread_mutex_unlock(&st.set_lock);
	if (rc != 0) {
		set_err(err, errlen, "kvsd: %s:%d: '%s': %s", origin, linenum, table[id].name, why);
		return -1;
	}
	return 0;
}

static int is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cfg_load_string(const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
	size_t pos = 0;
	int linenum = 0;

	/* Split at every '\n' as Redis does, so text ending in a newline has a
	 * last, empty line (appended lines then follow a blank line). */
	while (len > 0 && pos <= len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t b = pos, e = nl ? (size_t)(nl - text) : len;
		char **argv;
		size_t *lens;
		int argc, rc;

		linenum++;
		pos = e + 1;
		while (b < e && is_trim(text[b]))
			b++;
		while (e > b && is_trim(text[e - 1]))
			e--;
		if (b == e || text[b] == '#')
			continue;
		argv = su_split_args(text + b, e - b, &argc, &lens);
		if (!argv) {
			set_err(err, errlen, "kvsd: %s:%d: unbalanced quotes in configuration line",
				origin, linenum);
			return -1;
		}
		rc = argc ? load_directive(argv, lens, argc, origin, linenum, err, errlen) : 0;
		su_free_args(argv, lens, argc);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Reads all of fp into a malloc'd buffer. NULL on error (errno set). */
static char *read_all(FILE *fp, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		abort();
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, fp);

		n += r;
		if (n < cap) {
			if (ferror(fp)) {
				free(buf);
				return NULL;
			}
			break;
		}
		cap *= 2;
		buf = realloc(buf, cap);
		if (!buf)
			abort();
	}
	*len = n;
	return buf;
}

static int load_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	size_t len;
	char *text;
	int rc;

	if (!fp) {
		set_err(err, errlen, "kvsd: can't open config file '%s': %s", path,
			strerror(errno));
		return -1;
	}
	text = read_all(fp, &len);
	if (!text) {
		set_err(err, errlen, "kvsd: can't read config file '%s': %s", path,
			strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	rc = cfg_load_string(text, len, path, err, errlen);
	free(text);
	return rc;
}

/* Growable text for the command-line options. */
struct text {
	char *b;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->b = realloc(t->b, t->cap);
		if (!t->b)
			abort();
	}
	memcpy(t->b + t->len, s, n);
	t->len += n;
	t->b[t->len] = '\0';
}

static void text_adds(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* Absolute form of path (no symlink resolution, as Redis's getAbsolutePath). */
static char *absolute_path(const char *path)
{
	char *cwd, *abs;
	size_t n;

	if (path[0] == '/')
		return dup_bytes(path, strlen(path));
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return dup_bytes(path, strlen(path));
	n = strlen(cwd) + strlen(path) + 2;
	abs = malloc(n);
	if (!abs)
		abort();
	snprintf(abs, n, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path);
	free(cwd);
	return abs;
}

int cfg_load_args(int argc, char **argv, char *err, size_t errlen)
{
	struct text opts = {0};
	const char *file = NULL;
	int j = 1, from_stdin = 0, named_last = 1, rc = 0;

	if (argc > 1 && argv[1][0] != '-') {
		file = argv[1];
		j = 2;
	}
	text_add(&opts, "", 0);
	/* As redis-server: every "--name" starts a line; the words after it are
	 * appended quoted; a "--x" right after a bare "--name" is its value. */
	for (; j < argc; j++) {
		const char *a = argv[j];

		if (a[0] == '-' && a[1] == '\0' && (j == 1 || j == argc - 1)) {
			from_stdin = 1;
		} else if (named_last && a[0] == '-' && a[1] == '-') {
			size_t *l;
			int n;
			char **w;

			if (opts.len)
				text_adds(&opts, "\n");
			text_adds(&opts, a + 2);
			text_adds(&opts, " ");
			w = su_split_args(a, strlen(a), &n, &l);
			named_last = !(w && n == 1);
			su_free_args(w, l, w ? n : 0);
		} else {
			size_t rl;
			char *r = su_repr(a, strlen(a), &rl);

			text_add(&opts, r, rl);
			text_adds(&opts, " ");
			mem_free(r);
			named_last = 1;
		}
	}
	if (file) {
		rc = load_file(file, err, errlen);
		if (rc == 0) {
			pthread_mutex_lock(&st.lock);
			free(st.file);
			st.file = absolute_path(file);
			pthread_mutex_unlock(&st.lock);
		}
	}
	if (rc == 0 && from_stdin) {
		size_t len;
		char *text = read_all(stdin, &len);

		if (!text) {
			set_err(err, errlen, "kvsd: can't read config from stdin: %s",
				strerror(errno));
			rc = -1;
		} else {
			rc = cfg_load_string(text, len, "stdin", err, errlen);
			free(text);
		}
	}
	if (rc == 0)
		rc = cfg_load_string(opts.b, opts.len, "command line", err, errlen);
	free(opts.b);
	return rc;
}

/* ---------------------------------------------------------------- CONFIG SET */

/*
 * A multi-word CONFIG SET value's words, as Redis's sdssplitlen(value, " "):
 * split at every single space (two spaces make an empty word), "" is no word.
 * NUL-terminated copies; free with free_words().
 */
static char **split_spaces(const char *v, size_t vl, int *argc, size_t **lens)
{
	int n = vl ? 1 : 0, k = 0;
	size_t start = 0;
	char **w;

	for (size_t i = 0; i < vl; i++)
		n += v[i] == ' ';
	w = calloc((size_t)n + 1, sizeof(*w));
	*lens = calloc((size_t)n + 1, sizeof(**lens));
	if (!w || !*lens)
		abort();
	for (size_t i = 0; vl && i <= vl; i++) {
		if (i == vl || v[i] == ' ') {
			w[k] = dup_bytes(v + start, i - start);
			(*lens)[k++] = i - start;
			start = i + 1;
		}
	}
	*argc = n;
	return w;
}

static void free_words(char **w, size_t *lens, int argc)
{
	for (int i = 0; i < argc; i++)
		free(w[i]);
	free(w);
	free(lens);
}

/* A copy of id's stored value, to restore it with store_value(). st.lock held. */
static struct cfg_val current_value(enum cfg_id id)
{
	struct cfg_val v = {0};

	if (table[id].type == CFG_T_STRING) {
		v.s = dup_bytes(st.sval[id] ? st.sval[id] : "", st.slen[id]);
		v.slen = st.slen[id];
	} else {
		/* relaxed: see ival; writers hold the locks */
		v.i = atomic_load_explicit(&cfg_ival[id], memory_order_relaxed);
	}
	return v;
}

/* Runs the apply function of row id (or the test hook). set_lock held. */
static int apply_row(enum cfg_id id, char *why, size_t whylen)
{
	why[0] = '\0';
	return st.hook ? st.hook(id, why, whylen) : table[id].apply(why, whylen);
}

/*
 * Applies the rows ids[i] with changed[i] set, each distinct apply function
 * once, in argument order (Redis's configSetCommand). Returns -1, or the index
 * i whose apply function failed (its reason in why). set_lock held.
 */
static int apply_changed(const int *ids, const int *changed, int n, char *why, size_t whylen)
{
	if (!st.applying)
		return -1;
	for (int i = 0; i < n; i++) {
		int seen = 0;

		if (!changed[i])
			continue;
		for (int k = 0; k < i && !seen; k++)
			seen = changed[k] && table[ids[k]].apply == table[ids[i]].apply;
		if (!seen && apply_row((enum cfg_id)ids[i], why, whylen) != 0)
			return i;
	}
	return -1;
}

/* After a failed apply and the old values restored: applies them again
 * (Redis's restoreBackupConfig). A failure here is only logged. */
static void reapply(const int *ids, const int *changed, int n)
{
	char why[512];
	int left[CFG_COUNT_], i;

	memcpy(left, changed, sizeof(int) * (size_t)n);
	while ((i = apply_changed(ids, left, n, why, sizeof(why))) >= 0) {
		LOG(LOG_WARNING, "Failed applying restored failed CONFIG SET command: %s", why);
		/* go on with the rows after the one that failed */
		for (int k = 0; k <= i; k++)
			left[k] = 0;
	}
}

int cfg_apply_start(struct db *db, char *err, size_t errlen)
{
	int ids[CFG_COUNT_], changed[CFG_COUNT_], n = 0, failed;
	char why[512];

	pthread_mutex_lock(&st.set_lock);
	st.db = db;
	st.applying = 1;
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (table[i].apply) {
			ids[n] = i;
			changed[n++] = 1;
		}
	}
	failed = apply_changed(ids, changed, n, why, sizeof(why));
	pthread_mutex_unlock(&st.set_lock);
	if (failed >= 0) {
		set_err(err, errlen, "kvsd: can't apply '%s': %s", table[ids[failed]].name, why);
		return -1;
	}
	return 0;
}

int cfg_set_many(const char *const *argv, const size_t *lens, int argc, char *err, size_t errlen)
{
	/* a row may come twice, under its name and its alias (see pass 1) */
	int ids[2 * CFG_COUNT_], alias[2 * CFG_COUNT_];
	struct cfg_val vals[2 * CFG_COUNT_];
	int changed[2 * CFG_COUNT_];
	const char *bad_name = NULL, *why = NULL;
	size_t bad_len = 0;
	int unknown = 0, n = argc / 2;
	char whybuf[512];
	struct cfg_val olds[2 * CFG_COUNT_];
	int failed;

	if (argc < 2 || argc % 2) {
		set_err(err, errlen, "ERR syntax error");
		return -1;
	}
	/* Pass 1, as Redis: the first unknown name wins unless an immutable /
	 * duplicate error came first; later unknown names are not reported. */
	for (int i = 0; i < n && !unknown; i++) {
		const char *name = argv[2 * i];
		size_t nlen = lens[2 * i];
		int id = lookup_len(name, nlen);

		if (id < 0) {
			if (!why) {
				bad_name = name;
				bad_len = nlen;
				unknown = 1;
			}
			continue;
		}
		if (why)
			continue;
		if (table[id].flags & (CFG_IMMUTABLE | CFG_PROTECTED)) {
			why = (table[id].flags & CFG_IMMUTABLE) ? "can't set immutable config"
								: "can't set protected config";
			bad_name = name;
			bad_len = nlen;
			continue;
		}
		/* Redis 7.0 keeps an alias as a config of its own: a row given
		 * under its name and under its alias is no duplicate (both are
		 * set, in order: the last wins) */
		int al = table[id].alias && su_eqi(name, nlen, table[id].alias);
		for (int k = 0; k < i; k++) {
			if (ids[k] == id && alias[k] == al) {
				why = "duplicate parameter";
				bad_name = name;
				bad_len = nlen;
				break;
			}
		}
		/* In bounds: reaching here means ids[0..i) are distinct (row,
		 * spelling) pairs of mutable rows. */
		ids[i] = id;
		alias[i] = al;
	}
	if (unknown) {
		/* %.*s stops at a NUL byte as Redis's %s does. */
		set_err(err, errlen,
			"ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
			(int)strnlen(bad_name, bad_len), bad_name);
		return -1;
	}
	if (why) {
		set_err(err, errlen,
			"ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
			(int)strnlen(bad_name, bad_len), bad_name, why);
		return -1;
	}
	/* Pass 2: parse every value before storing any (all or nothing). */
	pthread_mutex_lock(&st.set_lock);
	pthread_mutex_lock(&st.lock);
	for (int i = 0; i < n; i++) {
		const struct cfg_def *d = &table[ids[i]];
		char *v = (char *)argv[2 * i + 1];
		size_t vl = lens[2 * i + 1];
		int rc;

		if (d->flags & CFG_MULTIARG) {
			size_t *sl;
			int sc;
			char **sv = split_spaces(v, vl, &sc, &sl);

			rc = parse_value(d, sv, sl, sc, st.sval[ids[i]], &vals[i], whybuf,
					 sizeof(whybuf));
			free_words(sv, sl, sc);
		} else {
			rc = parse_value(d, &v, &vl, 1, st.sval[ids[i]], &vals[i], whybuf,
					 sizeof(whybuf));
		}
		if (rc != 0) {
			for (int k = 0; k < i; k++)
				free(vals[k].s);
			pthread_mutex_unlock(&st.lock);
			pthread_mutex_unlock(&st.set_lock);
			/* the name the client used, as the table spells it: an
			 * alias stays an alias (Redis names the dict key found) */
			set_err(err, errlen,
				"ERR CONFIG SET failed (possibly related to argument '%s') - %s",
				d->alias && su_eqi(argv[2 * i], lens[2 * i], d->alias) ? d->alias
										       : d->name,
				whybuf);
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		olds[i] = current_value((enum cfg_id)ids[i]);
		changed[i] = store_value((enum cfg_id)ids[i], &vals[i]);
	}
	pthread_mutex_unlock(&st.lock);
	failed = apply_changed(ids, changed, n, whybuf, sizeof(whybuf));
	if (failed >= 0) {
		LOG(LOG_WARNING,
		    "Failed applying new configuration. Possibly related to new %s setting. "
		    "Restoring previous settings.",
		    table[ids[failed]].name);
		pthread_mutex_lock(&st.lock);
		/* backwards: a row set twice gets its first old value back */
		for (int i = n - 1; i >= 0; i--)
			store_value((enum cfg_id)ids[i], &olds[i]);
		pthread_mutex_unlock(&st.lock);
		reapply(ids, changed, n);
		pthread_mutex_unlock(&st.set_lock);
		set_err(err, errlen,
			"ERR CONFIG SET failed (possibly related to argument '%s') - %s",
			table[ids[failed]].name, whybuf);
		return -1;
	}
	pthread_mutex_unlock(&st.set_lock);
	for (int i = 0; i < n; i++)
		free(olds[i].s);
	return 0;
}

int cfg_set(const char *name, const char *value, size_t vlen, char *err, size_t errlen)
{
	const char *argv[2] = {name, value};
	size_t lens[2] = {strlen(name), vlen};

	return cfg_set_many(argv, lens, 2, err, errlen);
}

/* ---------------------------------------------------------------- REWRITE */

#define REWRITE_SIGNATURE "# Generated by CONFIG REWRITE"

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(char *));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
}

/* The line CONFIG REWRITE writes for id ("port 6379", "logfile \"\""). Called
 * with st.lock held. */
static char *rewrite_line(enum cfg_id id)
{
	const struct cfg_def *d = &table[id];
	char *val, *line;
	size_t n;

	if (id == CFG_DIR) {
		char *cwd = cwd_dup();

		val = su_repr(cwd, strlen(cwd), NULL);
		free(cwd);
	} else if (d->type == CFG_T_STRING && !(d->flags & CFG_MULTIARG)) {
		val = su_repr(st.sval[id] ? st.sval[id] : "", st.slen[id], NULL);
	} else if (d->flags & CFG_MULTIARG && st.slen[id] == 0) {
		val = su_repr("", 0, NULL);
	} else {
		char *f = format_locked(id, 1);

		val = mem_strndup(f, strlen(f));
		free(f);
	}
	n = strlen(d->name) + strlen(val) + 2;
	line = malloc(n);
	if (!line)
		abort();
	snprintf(line, n, "%s %s", d->name, val);
	mem_free(val);
	return line;
}

/* Whether id's current value differs from its default. st.lock held. */
static int is_default(enum cfg_id id)
{
	struct cfg_val v;
	int same;

	parse_default(&table[id], &v);
	if (table[id].type == CFG_T_STRING) {
		same =
		    st.sval[id] && st.slen[id] == v.slen && memcmp(st.sval[id], v.s, v.slen) == 0;
		free(v.s);
		return same;
	}
	/* relaxed: see ival */
	return v.i == atomic_load_explicit(&cfg_ival[id], memory_order_relaxed);
}

/*
 * Builds the new file from the old (trimmed) lines, as Redis 7.0 does: each
 * parameter's first line is replaced by its current value, its later lines
 * are blanked, runs of blank lines shrink to one, unparsable lines are kept
 * commented out ("# ??? "), comments and unknown lines stay, and parameters
 * missing from the file are appended after a signature line when they are
 * not at their default. st.lock held. Takes the strings of old.
 */
static void rewrite_build(struct lines *old, struct lines *out)
{
	long first[CFG_COUNT_];
	int signed_ = 0, blank = 0;
	struct lines tmp = {0};

	for (int i = 0; i < CFG_COUNT_; i++)
		first[i] = -1;
	for (size_t k = 0; k < old->n; k++) {
		char *s = old->v[k], **argv;
		size_t *lens;
		int argc, id;

		if (s[0] == '\0' || s[0] == '#') {
			if (strcmp(s, REWRITE_SIGNATURE) == 0)
				signed_ = 1;
			lines_add(&tmp, s);
			continue;
		}
		argv = su_split_args(s, strlen(s), &argc, &lens);
		if (!argv) {
			size_t n = strlen(s) + 8;
			char *c = malloc(n);

			if (!c)
				abort();
			snprintf(c, n, "# ??? %s", s);
			free(s);
			lines_add(&tmp, c);
			continue;
		}
		id = argc ? lookup_len(argv[0], lens[0]) : -1;
		su_free_args(argv, lens, argc);
		if (id >= 0 && first[id] < 0) {
			first[id] = (long)k;
			free(s);
			lines_add(&tmp, rewrite_line((enum cfg_id)id));
		} else if (id >= 0) {
			s[0] = '\0'; /* a later duplicate: blanked */
			lines_add(&tmp, s);
		} else {
			lines_add(&tmp, s);
		}
	}
	old->n = 0;
	/* dir is always written, as Redis writes the working directory. */
	for (int i = 0; i < CFG_COUNT_; i++) {
		if (first[i] >= 0 || (i != CFG_DIR && is_default((enum cfg_id)i)))
			continue;
		if (!signed_) {
			lines_add(&tmp, dup_bytes(REWRITE_SIGNATURE, strlen(REWRITE_SIGNATURE)));
			signed_ = 1;
		}
		lines_add(&tmp, rewrite_line((enum cfg_id)i));
	}
	for (size_t k = 0; k < tmp.n; k++) {
		if (tmp.v[k][0] == '\0' && blank) {
			free(tmp.v[k]);
			continue;
		}
		blank = tmp.v[k][0] == '\0';
		lines_add(out, tmp.v[k]);
	}
	free(tmp.v);
}

/* Splits the current file into trimmed lines; a missing file is empty.
 * 0 / -errno. */
static int rewrite_read(const char *path, struct lines *old, mode_t *mode)
{
	FILE *fp = fopen(path, "r");
	struct stat sb;
	size_t len, pos = 0;
	char *text;

	*mode = 0644;
	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fileno(fp), &sb) == 0)
		*mode = sb.st_mode & 07777;
	text = read_all(fp, &len);
	fclose(fp);
	if (!text)
		return -EIO;
	/* Split at every '\n' as Redis does, so text ending in a newline has a
	 * last, empty line (appended lines then follow a blank line). */
	while (len > 0 && pos <= len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t b = pos, e = nl ? (size_t)(nl - text) : len;

		pos = e + 1;
		while (b < e && is_trim(text[b]))
			b++;
		while (e > b && is_trim(text[e - 1]))
			e--;
		lines_add(old, dup_bytes(text + b, e - b));
	}
	free(text);
	return 0;
}

/* Writes lines to a temporary file next to path, then renames it over path. */
static int rewrite_write(const char *path, struct lines *out, mode_t mode, unsigned seq)
{
	size_t n = strlen(path) + 64;
	char *tmp = malloc(n);
	int fd, rc = 0;

	if (!tmp)
		abort();
	snprintf(tmp, n, "%s.tmp-%ld-%u", path, (long)getpid(), seq);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		free(tmp);
		return rc;
	}
	(void)fchmod(fd, mode); /* not subject to the umask, as the original */
	for (size_t k = 0; k < out->n && rc == 0; k++) {
		const char *parts[2] = {out->v[k], "\n"};

		for (int p = 0; p < 2 && rc == 0; p++) {
			size_t left = strlen(parts[p]);
			const char *s = parts[p];

			while (left) {
				ssize_t w = write(fd, s, left);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					break;
				}
				s += w;
				left -= (size_t)w;
			}
		}
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int cfg_rewrite(char *err, size_t errlen)
{
	struct lines old = {0}, out = {0};
	mode_t mode;
	int rc;

	pthread_mutex_lock(&st.set_lock); /* no CONFIG SET half done meanwhile */
	pthread_mutex_lock(&st.lock);
	if (!st.file) {
		pthread_mutex_unlock(&st.lock);
		pthread_mutex_unlock(&st.set_lock);
		set_err(err, errlen, "ERR The server is running without a config file");
		return -1;
	}
	rc = rewrite_read(st.file, &old, &mode);
	if (rc == 0) {
		rewrite_build(&old, &out);
		rc = rewrite_write(st.file, &out, mode, ++st.rewrite_seq);
	}
	pthread_mutex_unlock(&st.lock);
	pthread_mutex_unlock(&st.set_lock);
	for (size_t k = 0; k < old.n; k++)
		free(old.v[k]);
	for (size_t k = 0; k < out.n; k++)
		free(out.v[k]);
	free(old.v);
	free(out.v);
	if (rc != 0) {
		set_err(err, errlen, "ERR Rewriting config file: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
