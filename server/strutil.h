/*
 * strutil.h — string helpers with Redis 7.0's exact semantics, shared by the
 * config loader and the commands: glob matching (stringmatchlen), argument
 * splitting into words (sdssplitargs), quoting (sdscatrepr), float parsing
 * and formatting (string2ld, ld2string in humanfriendly mode), memory units
 * (memtoull) and option-word matching (strcasecmp on an argument).
 *
 * The rules net/ needs as well live once in net/resp.h, included here:
 * resp_str2ll (string2ll, kvsd's one string-to-integer: every integer
 * argument, value and config number), resp_ll2str, resp_split_word and
 * resp_repr (which su_split_args and su_repr wrap with allocation).
 *
 * Other integer rules exist only where Redis itself uses another parser, and
 * each stays with its one user: memtoull (su_memtoll below), strtoll base 8
 * for unixsocketperm and strtoll for client-output-buffer-limit's seconds
 * (server/config*.c), strtoul for the SCAN cursor (server/cmd_keys.c).
 *
 * Threads: pure functions, callable from any thread.
 * Ownership: su_split_args returns mem_alloc'd storage freed by su_free_args;
 * su_repr returns a mem_alloc'd string (mem_free).
 */
#ifndef KVSD_STRUTIL_H
#define KVSD_STRUTIL_H

#include "net/resp.h"

#include <stddef.h>

/* Glob match as Redis's stringmatchlen: * ? [a-z] [^x] \x. 1 on match. */
int su_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* sdssplitargs: the words of line[0..len) (resp_split_word's rules; the
 * text ends at its first NUL), each NUL-terminated with its length in
 * lens[i] (words may hold NULs). NULL on unbalanced quotes. *argc is set. */
char **su_split_args(const char *line, size_t len, int *argc, size_t **lens);
void su_free_args(char **argv, size_t *lens, int argc);

/* string2ld: strict long double as Redis (no spaces, not nan). 1 on success. */
int su_str2ld(const char *s, size_t len, long double *out);
/* Buffer size that always holds su_ld2str_human's output (Redis's
 * MAX_LONG_DOUBLE_CHARS: "%.17Lf" of the largest long double is ~4950 bytes). */
#define SU_LD_STR_MAX (5 * 1024)
/* ld2string(LD_STR_HUMAN) as INCRBYFLOAT prints: "%.17Lf" trimmed of trailing
 * zeros and dot, "-0" printed "0", "inf"/"-inf". Returns length, 0 when buf
 * is too small (buf[0] is then ""). */
int su_ld2str_human(char *buf, size_t size, long double v);
/* string2d (getDoubleFromObject: ZADD scores, ZUNIONSTORE weights): strict
 * double via strtod — no leading space, the whole argument, not NaN, no
 * overflow nor underflow to zero; "inf", "-inf", "+inf" accepted. 1 on
 * success. */
int su_str2d(const char *s, size_t len, double *out);
/* Buffer size that always holds su_d2str's output (Redis's
 * MAX_D2STRING_CHARS). */
#define SU_D2STR_MAX 128
/* d2string: "inf"/"-inf", "-0"/"0" for zeros, an integral value with
 * |v| <= LLONG_MAX / 2 as an integer (double2ll), else "%.17g": how a
 * listpack score reads back as text (ZSCAN; a listpack stores -0 as the
 * integer 0). Returns the length. (Replies print doubles with
 * reply_double: "%.17g".) */
int su_d2str(char *buf, size_t size, double v);
/* Memory amount as Redis 7.0's memtoull (what CONFIG uses): digits only (no
 * sign, no spaces; "" is 0), then an optional unit b, k=1000, kb=1024, m, mb,
 * g, gb (any case). Overflow wraps as in Redis (the caller's bounds check then
 * rejects it). 1 on success. */
int su_memtoll(const char *s, long long *out);

/* sdscatrepr (resp_repr) into a NUL-terminated mem_alloc'd string (free with
 * mem_free), its length in *outlen if outlen is not NULL. */
char *su_repr(const char *s, size_t len, size_t *outlen);

/* ASCII case-insensitive equality of s[0..len) with the NUL-terminated lit:
 * for names Redis looks up by their whole length (commands, subcommands,
 * config parameters). */
int su_eqi(const char *s, size_t len, const char *lit);

/* Whether s[0..len) is the option word lit (lower case), as Redis's
 * strcasecmp(argv[i]->ptr, lit) decides: case-insensitive, and the argument
 * ends at its first NUL byte, so "nx\0junk" is NX. For every option word and
 * keyword value (NX, WITHSCORES, yes/no, section names...). */
int su_word_is(const char *s, size_t len, const char *lit);

#endif
