/*
 * varint.h — LEB128 unsigned varints: 7 bits a byte, low group first, the
 * high bit set on every byte but the last. The length prefix of elements in
 * the compact encodings (storage/thash.c, storage/tlist.c).
 *
 * Threads: pure functions. Errors: none; varint_get trusts its input (the
 * blobs it reads were written by varint_put).
 */
#ifndef KVSD_VARINT_H
#define KVSD_VARINT_H

#include <stddef.h>

/* Bytes varint_put writes for v. */
static inline size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v at p; returns the byte after it. */
static inline char *varint_put(char *p, size_t v)
{
	while (v >= 0x80) {
		*p++ = (char)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	*p++ = (char)v;
	return p;
}

/* Reads a varint at p into *v; returns the byte after it. */
static inline const char *varint_get(const char *p, size_t *v)
{
	size_t r = 0;
	unsigned shift = 0;
	unsigned char b;

	do {
		b = (unsigned char)*p++;
		r |= (size_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	*v = r;
	return p;
}

#endif
