/*
 * rdb_value.h — one value in Redis's RDB object format (rdb.c of Redis
 * 7.0.15, RDB version 10): the object type byte followed by its payload,
 * exactly what DUMP carries before its version and checksum and what an RDB
 * file holds after each key.
 *
 * Encoding writes the form Redis 7.0 writes for the same value:
 *  - strings (type 0): a length-prefixed string, an integer encoding when
 *    the bytes are a decimal integer of <= 11 characters that fits 32 bits,
 *    LZF (0xc3 compressed-length length data) when compression is on, the
 *    string is longer than 20 bytes and compresses by at least 4 bytes;
 *  - lists: QUICKLIST_2 (18): listpack nodes cut by list-max-listpack-size
 *    as Redis's quicklist fills them, each saved as a string (so LZF too);
 *  - sets: INTSET (11) for an intset value, else SET (2);
 *  - hashes: HASH_LISTPACK (16) for a listpack value, else HASH (4);
 *  - sorted sets: ZSET_LISTPACK (17) for a listpack value, else ZSET_2 (5)
 *    (binary double scores, greatest element first, as Redis saves them).
 * Decoding reads every type 7.0 writes (0, 18, 11, 2, 17, 5, 16, 4) and
 * the older forms 7.0 still loads (1 list of strings, 3 zset with string
 * scores, 9 zipmap hash, 10 ziplist list, 12 ziplist zset, 13 ziplist
 * hash, 14 quicklist of ziplists), and builds a new kvsd entry with the type modules' builders, so
 * the result takes the encoding kvsd (and Redis) choose for that content under the current
 * thresholds. Every length, count and listpack/intset is checked against the bytes given (as
 * lpValidateIntegrity and ziplistValidateIntegrity do, deeply: every entry, count, tail); malformed
 * input is refused, never read past. Known differences from Redis's loader, all in what encoding a
 * decoded value gets: an intset takes the narrowest width its members need (Redis keeps the width
 * it loaded), and a listpack hash or sorted set holding a string longer than
 * *-max-listpack-value converts (Redis 7.0 checks only the entry count of
 * a loaded listpack). The first shows only in a re-DUMP of an intset that
 * lost its widest members in Redis; the second needs a server with other
 * limits.
 *
 * Threads: any storage thread. Encoding reads a published entry (inside the
 * caller's epoch section); decoding builds an unpublished entry in the
 * caller's coll_ctx (db_coll_ctx of the view it will be put in): the caller
 * db_puts it or kv_entry_frees it (and lets the context drop its edit).
 * Memory: mem_alloc; rdb_buf_free frees a buffer.
 * Errors: encoding none (allocation failure aborts); decoding returns
 * RDB_OK or an enum rdb_err.
 */
#ifndef KVSD_RDB_VALUE_H
#define KVSD_RDB_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/coll.h"

/* RDB object type bytes (rdb.h). */
enum rdb_type {
	RDB_TYPE_STRING = 0,
	RDB_TYPE_LIST = 1,
	RDB_TYPE_SET = 2,
	RDB_TYPE_ZSET = 3,
	RDB_TYPE_HASH = 4,
	RDB_TYPE_ZSET_2 = 5,
	RDB_TYPE_HASH_ZIPMAP = 9,
	RDB_TYPE_LIST_ZIPLIST = 10,
	RDB_TYPE_SET_INTSET = 11,
	RDB_TYPE_ZSET_ZIPLIST = 12,
	RDB_TYPE_HASH_ZIPLIST = 13,
	RDB_TYPE_LIST_QUICKLIST = 14,
	RDB_TYPE_STREAM_LISTPACKS = 15,
	RDB_TYPE_HASH_LISTPACK = 16,
	RDB_TYPE_ZSET_LISTPACK = 17,
	RDB_TYPE_LIST_QUICKLIST_2 = 18,
	RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* The RDB format version kvsd writes (Redis 7.0's). */
#define RDB_VERSION 10

/* A growable byte buffer. Zero-initialise it (or rdb_buf_init). */
struct rdb_buf {
	unsigned char *p;
	size_t len, cap;
};
void rdb_buf_init(struct rdb_buf *b);
void rdb_buf_free(struct rdb_buf *b);
void rdb_buf_put(struct rdb_buf *b, const void *p, size_t n);

/* Appends e's value (any type) as type byte + payload. compress: Redis's
 * rdbcompression (DUMP: on). */
void rdb_value_encode(struct rdb_buf *b, const struct kv_entry *e, bool compress);

/* Redis's rdbSaveLen / string forms, for the file writer. */
void rdb_put_len(struct rdb_buf *b, uint64_t len);
void rdb_put_string(struct rdb_buf *b, const void *s, size_t n, bool compress);

enum rdb_err {
	RDB_OK = 0,
	RDB_EBADFMT = 1,      /* malformed, truncated, duplicate or empty value */
	RDB_EUNSUPPORTED = 2, /* a well-formed type kvsd does not hold (stream, module) */
};

/*
 * Decodes one value (type byte + payload) from p[0..n) into a new entry
 * under key with expiry expire_ms, built in ctx. *used receives the bytes
 * read (the value may be followed by other data). Returns RDB_OK and *out,
 * or an error and *out NULL (the context may hold an edit to drop).
 */
enum rdb_err rdb_value_decode(struct coll_ctx *ctx, const void *p, size_t n, const void *key,
			      size_t klen, int64_t expire_ms, struct kv_entry **out, size_t *used);

/* rdb_value_decode with the type byte given apart: p[0..n) is the payload
 * that follows it (an RDB file puts the key between the two). *used counts
 * payload bytes only. */
enum rdb_err rdb_value_decode_as(struct coll_ctx *ctx, int type, const void *p, size_t n,
				 const void *key, size_t klen, int64_t expire_ms,
				 struct kv_entry **out, size_t *used);

/* The extent of a value of this type whose payload starts at p, without
 * building it: true and *used, or false when it is cut short, malformed in
 * its lengths, or of a type kvsd does not hold (decoding it then says
 * which). A value it accepts may still fail to decode (its contents). */
bool rdb_value_skip(int type, const void *p, size_t n, size_t *used);

/* The file loader's readers (rdbLoadLen, rdbGenericLoadStringObject): the
 * bytes used, or 0 when p[0..n) does not start with a well-formed length
 * (an encoded-string marker is not one) / string (any encoding: plain,
 * integer, LZF; the bytes are copied into *out, whose len is reset). */
size_t rdb_get_len(const void *p, size_t n, uint64_t *len);
size_t rdb_get_string(const void *p, size_t n, struct rdb_buf *out);

/* The DUMP payload of e: value + RDB version (2 bytes LE) + CRC-64 (8 LE). */
void rdb_dump_payload(struct rdb_buf *b, const struct kv_entry *e);
/* Checks a DUMP payload's footer (version <= RDB_VERSION and CRC-64, as
 * verifyDumpPayload): true when good; *vlen receives the value's length. */
bool rdb_dump_verify(const void *p, size_t n, size_t *vlen);

#endif
