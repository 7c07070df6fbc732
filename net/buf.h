/*
 * buf.h — a growable byte buffer with a read cursor, used for a connection's
 * query (input) and reply (output) bytes.
 *
 * Bytes [rpos, len) are pending; [len, cap) is free space; buf_reserve()
 * moves pending bytes to the front when that makes room and moves no more
 * than were consumed, else grows geometrically: appending N bytes in any
 * pieces, with any reads between, costs O(N) copying (buf.c). Memory comes
 * from mem_alloc so client buffers count in used_memory.
 *
 * Threads: a buffer belongs to one connection, touched only by the thread
 * running that connection. Errors: allocation failure panics (mem_alloc).
 */
#ifndef KVSD_BUF_H
#define KVSD_BUF_H

#include <stddef.h>
#include <string.h>

struct buf {
	char *data;
	size_t rpos; /* first unconsumed byte */
	size_t len;  /* end of valid bytes */
	size_t cap;
};

void buf_init(struct buf *b);
void buf_deinit(struct buf *b);
/* Ensures at least `n` free bytes after len (may compact or grow). */
void buf_reserve(struct buf *b, size_t n);
/* Shrinks an idle (empty) buffer that grew past `keep` bytes back to `keep`. */
void buf_shrink_idle(struct buf *b, size_t keep);

static inline size_t buf_pending(const struct buf *b)
{
	return b->len - b->rpos;
}

static inline void buf_consume(struct buf *b, size_t n)
{
	b->rpos += n;
	if (b->rpos == b->len)
		b->rpos = b->len = 0;
}

static inline void buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

#endif
