/*
 * buf.c — growable byte buffers for connection I/O.
 *
 * Growth doubles up to 1 MB and then grows by the request plus 1 MB, so a
 * large bulk argument costs O(size) copies overall; pending bytes are
 * compacted to the front before growing when that frees enough room.
 */
#include "net/buf.h"
#include "concurrency/mem.h"

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->rpos = b->len = b->cap = 0;
}

void buf_deinit(struct buf *b)
{
	mem_free(b->data);
	buf_init(b);
}

/* Moves pending bytes to offset 0. */
static void buf_compact(struct buf *b)
{
	if (b->rpos == 0)
		return;
	memmove(b->data, b->data + b->rpos, b->len - b->rpos);
	b->len -= b->rpos;
	b->rpos = 0;
}

void buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (b->cap - b->len >= n)
		return;
	/* Reclaim consumed space first when it alone makes room. */
	if (b->rpos > 0 && b->cap - (b->len - b->rpos) >= n) {
		buf_compact(b);
		return;
	}
	buf_compact(b);
	need = b->len + n;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap < (1u << 20) ? cap * 2 : need + (1u << 20);
	b->data = mem_realloc(b->data, cap);
	b->cap = mem_usable(b->data);
}

void buf_shrink_idle(struct buf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep) {
		mem_free(b->data);
		b->data = NULL;
		b->cap = 0;
		b->rpos = 0;
	}
}
