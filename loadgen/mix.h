/*
 * mix.h — kvsd-loadgen's command templates (--command, --mix) and the weighted
 * mix that puts command templates next to the GET/SET mix.
 *
 * A template is a command line split on spaces and tabs ("HGET h:__rand_int__
 * f3"); the worker fills each LG_RAND_INT placeholder with a key index.
 *
 * --mix 'WEIGHT:TEMPLATE' (repeatable, at most LG_MAX_MIX): WEIGHT is the
 * PERCENT of all primary requests that are this template (a decimal number
 * > 0, resolution 0.0001%); the GET/SET mix (--ratio or --workload, which
 * keeps its own SET:GET split) gets what the --mix weights leave of 100%.
 * The weights must add up to at most 100 (100 = no GET/SET at all).
 * Example: --ratio 1:10 --mix '10:HGET h:__rand_int__ f3' --mix '10:SADD
 * s:__rand_int__ 3' is 80% GET/SET (1 SET per 10 GETs), 10% HGET, 10% SADD.
 *
 * Each template's latency is kept apart (its own row and JSON object) so the
 * GET row still reads as GET alone.
 *
 * Pure functions over caller-owned structs; no threads. Parsing returns 0 or
 * -EINVAL and leaves nothing allocated on failure.
 */
#ifndef KVSD_LOADGEN_MIX_H
#define KVSD_LOADGEN_MIX_H

#include <stddef.h>
#include <stdint.h>

#define LG_MAX_MIX  16	    /* --mix templates per run */
#define LG_MIX_ONE  1000000 /* 100% in weight units (parts per million) */
#define LG_NAME_MAX 24	    /* a template's row name: its first word, upper case */

struct lg_tmpl {
	const char *text; /* the template as given (not owned) */
	char **argv;	  /* its words, each NUL-terminated (owned) */
	size_t *argl;
	int argc;
	uint32_t weight; /* --mix: share of all requests, in LG_MIX_ONE units */
	char name[LG_NAME_MAX];
};

/* Split s into words (at least one). 0 or -EINVAL. */
int lg_tmpl_parse(struct lg_tmpl *t, const char *s);
/* Parse one --mix "WEIGHT:TEMPLATE". 0 or -EINVAL. */
int lg_mix_parse(struct lg_tmpl *t, const char *spec);
void lg_tmpl_free(struct lg_tmpl *t);
/* Bytes of the longest request t encodes to (placeholders keep their length). */
size_t lg_tmpl_req_max(const struct lg_tmpl *t);
/* Sum of the weights of t[0..n), or -EINVAL when it exceeds LG_MIX_ONE. */
int64_t lg_mix_total(const struct lg_tmpl *t, int n);
/* The template a draw r in [0, LG_MIX_ONE) selects: the first i with
 * r < weight[0] + .. + weight[i]; -1 (the GET/SET mix) when r is past them all. */
int lg_mix_pick(const struct lg_tmpl *t, int n, uint32_t r);

#endif
