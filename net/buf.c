/*
 * buf.c — growable byte buffers for connection I/O.
 *
 * A buffer that runs out of room either compacts its pending bytes to the
 * front, when that moves no more bytes than were consumed, or moves them
 * into a new allocation twice their size (1.5 times above 1 MB; exactly
 * the request when one request asks for more). Either way every byte moved
 * was paid for by a byte consumed or by half a byte appended since the last
 * move, so appending N bytes in any pieces with any reads between costs
 * O(N) copying — a client that never reads 256 KB replies used to re-copy
 * its whole backlog every few replies (the torture client's TSan stalls).
 */
#include "net/buf.h"
#include "concurrency/mem.h"

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->rpos = b->len = b->cap = 0;
}

/* b->cap is the block's usable size (buf_reserve): a sized free, without
 * a lookup of the block in the allocator's metadata */
void buf_deinit(struct buf *b)
{
	mem_free_sized(b->data, b->cap);
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
	size_t live = b->len - b->rpos, cap;
	char *d;

	if (b->cap - b->len >= n)
		return;
	/* Compact in place only when what moves is no more than what was
	 * consumed: each consumed byte pays for at most one moved byte, so a
	 * slow reader of a large backlog costs O(size), not a full memmove of
	 * the backlog per reply. */
	if (b->rpos >= live && b->cap - live >= n) {
		buf_compact(b);
		return;
	}
	/* A new size in proportion to what stays pending, so that the next
	 * copy comes only after at least half as many bytes again were
	 * appended; one large request gets exactly what it asks for. */
	cap = live < (1u << 20) ? 2 * live : live + live / 2;
	if (cap < live + n)
		cap = live + n;
	if (cap < 256)
		cap = 256;
	if (b->rpos == 0) {
		b->data = mem_realloc(b->data, cap); /* may grow in place */
	} else {
		/* one copy of the pending bytes, not a memmove then a realloc */
		d = mem_alloc(cap);
		memcpy(d, b->data + b->rpos, live);
		mem_free_sized(b->data, b->cap);
		b->data = d;
		b->len = live;
		b->rpos = 0;
	}
	b->cap = mem_usable(b->data);
}

void buf_shrink_idle(struct buf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep) {
		mem_free_sized(b->data, b->cap);
		b->data = NULL;
		b->cap = 0;
		b->rpos = 0;
	}
}
