/*
 * aof_format.c — the AOF manifest and command-stream formats (aof_format.h).
 *
 * The manifest parser follows Redis's aofLoadManifestFromFile: each line is
 * split as sdssplitargs does (quoted names with C escapes), read as key/value
 * pairs (unknown keys are skipped, for newer writers), and every line must end
 * with a newline (a cut manifest is refused, never half-read).
 */
#include "persist/aof_format.h"
#include "concurrency/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- manifest */

static void file_free(struct aof_file *f)
{
	mem_free(f->name);
	f->name = NULL;
}

void aof_manifest_free(struct aof_manifest *m)
{
	file_free(&m->base);
	for (size_t i = 0; i < m->nincr; i++)
		file_free(&m->incr[i]);
	for (size_t i = 0; i < m->nhist; i++)
		file_free(&m->hist[i]);
	mem_free(m->incr);
	mem_free(m->hist);
	memset(m, 0, sizeof(*m));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One token of an sdssplitargs line from *p (end at e) into out (size cap:
 * the line's length + 1 always suffices). Returns its length, -1 at the end
 * of the line, -2 on unbalanced quotes.
 */
static long next_token(const char **pp, const char *e, char *out)
{
	const char *p = *pp;
	long n = 0;

	while (p < e && isspace((unsigned char)*p))
		p++;
	if (p == e)
		return -1;
	if (*p == '"') {
		p++;
		for (;;) {
			if (p == e)
				return -2;
			if (*p == '\\' && p + 3 < e && p[1] == 'x' && hexval(p[2]) >= 0 &&
			    hexval(p[3]) >= 0) {
				out[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
				p += 4;
			} else if (*p == '\\' && p + 1 < e) {
				char c = p[1];

				out[n++] = c == 'n'   ? '\n'
					   : c == 'r' ? '\r'
					   : c == 't' ? '\t'
					   : c == 'b' ? '\b'
					   : c == 'a' ? '\a'
						      : c;
				p += 2;
			} else if (*p == '"') {
				p++;
				/* the closing quote must end the token */
				if (p < e && !isspace((unsigned char)*p))
					return -2;
				break;
			} else {
				out[n++] = *p++;
			}
		}
	} else if (*p == '\'') {
		p++;
		for (;;) {
			if (p == e)
				return -2;
			if (*p == '\\' && p + 1 < e && p[1] == '\'') {
				out[n++] = '\'';
				p += 2;
			} else if (*p == '\'') {
				p++;
				if (p < e && !isspace((unsigned char)*p))
					return -2;
				break;
			} else {
				out[n++] = *p++;
			}
		}
	} else {
		while (p < e && !isspace((unsigned char)*p))
			out[n++] = *p++;
	}
	*pp = p;
	return n;
}

static int add_to(struct aof_file **v, size_t *n, const char *name, long long seq, char type)
{
	*v = mem_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] =
	    (struct aof_file){.name = mem_strndup(name, strlen(name)), .seq = seq, .type = type};
	(*n)++;
	return 0;
}

int aof_manifest_add(struct aof_manifest *m, const char *name, long long seq, char type)
{
	if (type == 'b') {
		if (m->base.name)
			return -EINVAL;
		m->base = (struct aof_file){
		    .name = mem_strndup(name, strlen(name)), .seq = seq, .type = 'b'};
		return 0;
	}
	if (type == 'h')
		return add_to(&m->hist, &m->nhist, name, seq, type);
	return add_to(&m->incr, &m->nincr, name, seq, type);
}

static int fail(struct aof_manifest *m, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	aof_manifest_free(m);
	return -EINVAL;
}

static bool parse_seq(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* One manifest line [p, e) (without its newline). 0 or -EINVAL. */
static int parse_line(struct aof_manifest *m, const char *p, const char *e, char *err,
		      size_t errlen)
{
	size_t cap = (size_t)(e - p) + 1;
	char *key = mem_alloc(cap), *val = mem_alloc(cap);
	char *name = NULL, type = 0;
	long long seq = 0;
	bool have_seq = false;
	int ntok = 0, rc = 0;

	for (;;) {
		long kl = next_token(&p, e, key), vl;

		if (kl == -1)
			break;
		vl = kl < 0 ? -2 : next_token(&p, e, val);
		if (kl < 0 || vl < 0) {
			rc =
			    fail(m, err, errlen,
				 vl == -1 ? "Invalid AOF manifest file format"
					  : "Invalid AOF manifest file format (unbalanced quotes)");
			goto out;
		}
		key[kl] = '\0';
		val[vl] = '\0';
		ntok += 2;
		if (strcmp(key, "file") == 0) {
			if ((size_t)vl != strlen(val) || memchr(val, '/', (size_t)vl) || vl == 0) {
				rc = fail(m, err, errlen, "Invalid AOF manifest file name");
				goto out;
			}
			mem_free(name);
			name = mem_strndup(val, (size_t)vl);
		} else if (strcmp(key, "seq") == 0) {
			if (!parse_seq(val, &seq)) {
				rc = fail(m, err, errlen, "Invalid AOF manifest file seq");
				goto out;
			}
			have_seq = true;
		} else if (strcmp(key, "type") == 0) {
			if (vl != 1 || (val[0] != 'b' && val[0] != 'h' && val[0] != 'i')) {
				rc = fail(m, err, errlen, "Unknown AOF file type");
				goto out;
			}
			type = val[0];
		}
		/* other keys: skipped, as Redis does for forward compatibility */
	}
	if (ntok == 0)
		goto out; /* a blank line */
	if (name == NULL || !have_seq || type == 0) {
		rc = fail(m, err, errlen, "Invalid AOF manifest file format (missing fields)");
		goto out;
	}
	/* a name this manifest's writer could not read back (Redis would write
	 * the line and then refuse its own manifest at the next start) */
	if (aof_manifest_line_len(name, seq) > AOF_MANIFEST_LINE_MAX) {
		rc = fail(m, err, errlen, "Invalid AOF manifest file name (too long)");
		goto out;
	}
	if (type == 'b' && m->base.name) {
		rc = fail(m, err, errlen, "Found duplicate base file information");
		goto out;
	}
	if (type == 'i' && m->nincr && seq <= m->incr[m->nincr - 1].seq) {
		rc = fail(m, err, errlen, "Found a non-monotonic sequence number");
		goto out;
	}
	aof_manifest_add(m, name, seq, type);
out:
	mem_free(name);
	mem_free(key);
	mem_free(val);
	return rc;
}

int aof_manifest_parse(const char *buf, size_t len, struct aof_manifest *m, char *err,
		       size_t errlen)
{
	const char *p = buf, *end = buf + len;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return fail(
			    m, err, errlen,
			    "The AOF manifest file is invalid format (no newline at the end)");
		if ((size_t)(nl - p) + 1 > AOF_MANIFEST_LINE_MAX)
			return fail(m, err, errlen, "The AOF manifest file has a line too long");
		if (*p != '#' && parse_line(m, p, nl, err, errlen) < 0)
			return -EINVAL;
		p = nl + 1;
	}
	if (m->base.name == NULL && m->nincr == 0 && m->nhist == 0)
		return fail(m, err, errlen, "Found an empty AOF manifest");
	return 0;
}

/* sdsneedsrepr: a name printed bare must read back as one token. */
static bool needs_repr(const char *s)
{
	for (; *s; s++)
		if (*s == '\\' || *s == '"' || *s == '\'' || !isprint((unsigned char)*s) ||
		    isspace((unsigned char)*s))
			return true;
	return false;
}

static void cat(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 64;

		while (*len + n + 1 > c)
			c *= 2;
		*buf = mem_realloc(*buf, c);
		*cap = c;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* One byte as sdscatrepr writes it inside quotes, into out; its length. */
static size_t repr_char(unsigned char c, char out[5])
{
	static const char esc[][2] = {{'\\', '\\'}, {'"', '"'},	 {'\n', 'n'}, {'\r', 'r'},
				      {'\t', 't'},  {'\a', 'a'}, {'\b', 'b'}};

	for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		if (c == (unsigned char)esc[i][0]) {
			out[0] = '\\';
			out[1] = esc[i][1];
			return 2;
		}
	}
	if (isprint(c)) {
		out[0] = (char)c;
		return 1;
	}
	snprintf(out, 5, "\\x%02x", c);
	return 4;
}

/* sdscatrepr */
static void cat_repr(char **buf, size_t *len, size_t *cap, const char *s)
{
	char t[5];

	cat(buf, len, cap, "\"", 1);
	for (; *s; s++)
		cat(buf, len, cap, t, repr_char((unsigned char)*s, t));
	cat(buf, len, cap, "\"", 1);
}

static void cat_file(char **buf, size_t *len, size_t *cap, const struct aof_file *f)
{
	char tail[64];
	int n;

	cat(buf, len, cap, "file ", 5);
	if (needs_repr(f->name))
		cat_repr(buf, len, cap, f->name);
	else
		cat(buf, len, cap, f->name, strlen(f->name));
	n = snprintf(tail, sizeof(tail), " seq %lld type %c\n", f->seq, f->type);
	cat(buf, len, cap, tail, (size_t)n);
}

size_t aof_manifest_line_len(const char *name, long long seq)
{
	char tail[64];
	size_t n = 5 + (size_t)snprintf(tail, sizeof(tail), " seq %lld type b\n", seq);

	if (!needs_repr(name))
		return n + strlen(name);
	n += 2; /* the quotes */
	for (; *name; name++) {
		char t[5];

		n += repr_char((unsigned char)*name, t);
	}
	return n;
}

char *aof_manifest_format(const struct aof_manifest *m, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	cat(&buf, len, &cap, "", 0);
	if (m->base.name)
		cat_file(&buf, len, &cap, &m->base);
	for (size_t i = 0; i < m->nhist; i++)
		cat_file(&buf, len, &cap, &m->hist[i]);
	for (size_t i = 0; i < m->nincr; i++)
		cat_file(&buf, len, &cap, &m->incr[i]);
	return buf;
}

/* ---- the command stream */

/* Reads "<c><digits>\r\n" at buf[*pos]; the number in *out. 1 ok, 0 cut
 * short, -1 malformed (*pos at the bad byte). */
static int read_num_line(const char *buf, size_t len, size_t *pos, char c, long long *out)
{
	size_t p = *pos;
	long long v = 0;
	size_t digits = 0;

	if (p >= len)
		return 0;
	if (buf[p] != c)
		return -1;
	p++;
	for (;;) {
		if (p >= len)
			return 0;
		if (buf[p] == '\r')
			break;
		if (!isdigit((unsigned char)buf[p]) || digits >= 18) {
			*pos = p;
			return -1;
		}
		v = v * 10 + (buf[p] - '0');
		digits++;
		p++;
	}
	if (digits == 0) {
		*pos = p;
		return -1;
	}
	if (p + 1 >= len)
		return 0;
	if (buf[p + 1] != '\n') {
		*pos = p + 1;
		return -1;
	}
	*out = v;
	*pos = p + 2;
	return 1;
}

static bool word_is(const char *p, size_t n, const char *w)
{
	size_t wl = strlen(w);

	if (n != wl)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tolower((unsigned char)p[i]) != w[i])
			return false;
	return true;
}

enum aof_scan_result aof_scan(const char *buf, size_t len, struct aof_scan_info *out)
{
	size_t pos = 0, multi_at = 0;
	uint64_t ncmds = 0, multi_cmds = 0;
	bool in_multi = false;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		size_t start = pos, p = pos;
		long long argc, blen;
		int rc = read_num_line(buf, len, &p, '*', &argc);
		const char *a0 = NULL;
		size_t a0l = 0;

		if (rc < 0 || (rc > 0 && argc < 1)) {
			out->bad = p;
			out->why = "Bad file format reading the append only file";
			goto corrupt;
		}
		if (rc == 0)
			goto truncated;
		for (long long i = 0; i < argc; i++) {
			rc = read_num_line(buf, len, &p, '$', &blen);
			if (rc < 0) {
				out->bad = p;
				out->why = "Bad file format reading the append only file";
				goto corrupt;
			}
			if (rc == 0 || (uint64_t)blen + 2 > (uint64_t)(len - p))
				goto truncated;
			if (buf[p + (size_t)blen] != '\r' || buf[p + (size_t)blen + 1] != '\n') {
				out->bad = p + (size_t)blen;
				out->why = "Bad file format reading the append only file";
				goto corrupt;
			}
			if (i == 0) {
				a0 = buf + p;
				a0l = (size_t)blen;
			}
			p += (size_t)blen + 2;
		}
		if (word_is(a0, a0l, "multi")) {
			if (in_multi) {
				out->bad = start;
				out->why = "Nested MULTI in the append only file";
				goto corrupt;
			}
			in_multi = true;
			multi_at = start;
			multi_cmds = ncmds;
		} else if (word_is(a0, a0l, "exec")) {
			in_multi = false;
		}
		ncmds++;
		pos = p;
	}
	if (in_multi) {
		out->valid = multi_at;
		out->ncmds = multi_cmds;
		out->why = "Revert incomplete MULTI/EXEC transaction in AOF file";
		return AOF_SCAN_TRUNCATED;
	}
	out->valid = pos;
	out->ncmds = ncmds;
	return AOF_SCAN_OK;
truncated:
	out->valid = in_multi ? multi_at : pos;
	out->ncmds = in_multi ? multi_cmds : ncmds;
	out->why = "Unexpected end of file reading the append only file";
	return AOF_SCAN_TRUNCATED;
corrupt:
	out->valid = in_multi ? multi_at : pos;
	out->ncmds = in_multi ? multi_cmds : ncmds;
	return AOF_SCAN_CORRUPT;
}

void aof_format_raw(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	cat(buf, len, cap, p, n);
}

/* The decimal digits of v written backwards from end; returns where they
 * start. */
static char *put_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static size_t u64_len(uint64_t v)
{
	size_t n = 1;

	if (v < 10) /* argument counts, most lengths: no loop */
		return 1;
	if (v < 100)
		return 2;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* "<t><v>\r\n" at p; returns the byte after it. */
static char *put_hdr(char *p, char t, uint64_t v)
{
	*p++ = t;
	if (v < 10) {
		*p++ = (char)('0' + v);
	} else if (v < 100) {
		*p++ = (char)('0' + v / 10);
		*p++ = (char)('0' + v % 10);
	} else {
		char tmp[24], *d = put_u64(tmp + sizeof(tmp), v);
		size_t n = (size_t)(tmp + sizeof(tmp) - d);

		memcpy(p, d, n);
		p += n;
	}
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

void aof_format_cmd(char **buf, size_t *len, size_t *cap, int argc, const char *const *argv,
		    const size_t *argl)
{
	/* every write logs through here: size it once, grow once, no printf */
	size_t need = 3 + u64_len((uint64_t)argc);
	char *p;

	for (int i = 0; i < argc; i++)
		need += 5 + u64_len(argl[i]) + argl[i];
	if (*len + need + 1 > *cap) {
		size_t c = *cap ? *cap : 64;

		while (*len + need + 1 > c)
			c *= 2;
		*buf = mem_realloc(*buf, c);
		*cap = c;
	}
	p = put_hdr(*buf + *len, '*', (uint64_t)argc);
	for (int i = 0; i < argc; i++) {
		p = put_hdr(p, '$', argl[i]);
		memcpy(p, argv[i], argl[i]);
		p += argl[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	*len = (size_t)(p - *buf);
	(*buf)[*len] = '\0';
}
