/*
 * sha1.h — SHA-1 (FIPS 180-4), a compact implementation of the public
 * algorithm for the places kvsd must reproduce Redis's bytes: DEBUG DIGEST's
 * dataset digest today, Lua scripting's script ids later. Not for security.
 *
 * Threads: a context belongs to one thread; the functions keep no state of
 * their own, so any number of threads may hash at once.
 * Ownership: the caller's storage (init/deinit words: nothing allocated).
 * Errors: none.
 */
#ifndef KVSD_SHA1_H
#define KVSD_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20

struct sha1_ctx {
	uint32_t h[5];
	uint64_t len;	 /* bytes hashed so far */
	uint8_t buf[64]; /* a partial block */
	size_t nbuf;	 /* bytes in buf */
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *data, size_t len);
/* Pads, writes the 20-byte digest and leaves c unusable until sha1_init. */
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_DIGEST_LEN]);
/* The digest of data[0..len) in one call. */
void sha1(const void *data, size_t len, uint8_t out[SHA1_DIGEST_LEN]);
/* 40 lower-case hex characters and a NUL. */
void sha1_hex(const uint8_t d[SHA1_DIGEST_LEN], char out[2 * SHA1_DIGEST_LEN + 1]);

#endif
