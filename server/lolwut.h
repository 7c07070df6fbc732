/*
 * lolwut.h — the drawings of LOLWUT VERSION 5 (Schotter) and 6 (Plaguemon's
 * skyline), as Redis 7.0 draws them; cmd_obs.c parses the arguments.
 *
 * Threads: any; the randomness is the calling worker's (wctx_rand64).
 * Ownership: the returned text (its length in *len) is freed with mem_free().
 */
#ifndef KVSD_LOLWUT_H
#define KVSD_LOLWUT_H

#include <stddef.h>

struct wctx;

/* cols (1-1000), squares per row and per column (1-200); out-of-range
 * values are clamped as Redis does. version ends the caption. */
char *lolwut_schotter(struct wctx *w, long cols, long per_row, long per_col, const char *version,
		      size_t *len);
/* cols and rows (1-1000), clamped. */
char *lolwut_skyline(struct wctx *w, long cols, long rows, const char *version, size_t *len);

#endif
