/*
 * strutil.h — string helpers with Redis 7.0's exact semantics, shared by the
 * config loader and the commands: glob matching (stringmatchlen), argument
 * splitting (sdssplitargs), integer and float parsing/formatting
 * (string2ll, string2ld, ld2string in humanfriendly mode), memory units
 * (memtoll).
 *
 * Threads: pure functions, callable from any thread.
 * Ownership: su_split_args returns mem_alloc'd storage freed by su_free_args;
 * su_repr returns a mem_alloc'd string (mem_free).
 */
#ifndef KVSD_STRUTIL_H
#define KVSD_STRUTIL_H

#include <stddef.h>

/* Glob match as Redis's stringmatchlen: * ? [a-z] [^x] \x. 1 on match. */
int su_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* sdssplitargs: words of line[0..len) with "..." (\n \r \t \b \a \\ \" \xHH) and
 * '...' (\') quoting. NULL on unbalanced quotes or a closing quote not followed by
 * a space. *argc is set; lens[i] gives each word's length (words may hold NULs). */
char **su_split_args(const char *line, size_t len, int *argc, size_t **lens);
void su_free_args(char **argv, size_t *lens, int argc);

/* string2ll: strict base-10 long long (no spaces, no '+', no leading zeros
 * except "0", fits in 64 bits). 1 on success. */
int su_str2ll(const char *s, size_t len, long long *out);
/* string2ld: strict long double as Redis (no spaces, not nan). 1 on success. */
int su_str2ld(const char *s, size_t len, long double *out);
/* strtod-based double parse as Redis's getDoubleFromObject. 1 on success. */
int su_str2d(const char *s, size_t len, double *out);
/* ll2string: returns length written (buf >= 21 bytes). */
int su_ll2str(char *buf, size_t size, long long v);
/* Buffer size that always holds su_ld2str_human's output (Redis's
 * MAX_LONG_DOUBLE_CHARS: "%.17Lf" of the largest long double is ~4950 bytes). */
#define SU_LD_STR_MAX (5 * 1024)
/* ld2string(LD_STR_HUMAN) as INCRBYFLOAT prints: "%.17Lf" trimmed of trailing
 * zeros and dot, "-0" printed "0", "inf"/"-inf". Returns length, 0 when buf
 * is too small (buf[0] is then ""). */
int su_ld2str_human(char *buf, size_t size, long double v);
/* Double as RESP3 / Redis prints it ("%.17g", inf/-inf). Returns length. */
int su_d2str(char *buf, size_t size, double v);

/* Memory amount as Redis 7.0's memtoull (what CONFIG uses): digits only (no
 * sign, no spaces; "" is 0), then an optional unit b, k=1000, kb=1024, m, mb,
 * g, gb (any case). Overflow wraps as in Redis (the caller's bounds check then
 * rejects it). 1 on success. */
int su_memtoll(const char *s, long long *out);

/* sdscatrepr: s[0..len) in double quotes with \\ \" \n \r \t \a \b escaped and
 * other non-printable bytes as \xHH; the inverse of su_split_args' quoting.
 * Returns a NUL-terminated mem_alloc'd string (free with mem_free), its
 * length in *outlen if outlen is not NULL. */
char *su_repr(const char *s, size_t len, size_t *outlen);

/* ASCII case-insensitive equality of s[0..len) with the NUL-terminated lit. */
int su_eqi(const char *s, size_t len, const char *lit);

#endif
