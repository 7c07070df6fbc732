/*
 * digest.h — Redis's dataset digest (debug.c: computeDatasetDigest,
 * xorObjectDigest, mixDigest, xorDigest), so DEBUG DIGEST after the same
 * commands prints the same 40 hex digits as redis-server.
 *
 * The digest of a key is built from a zeroed 20 bytes: mix(key bytes), then
 * mix(htonl(type)), the value — a string: mix(its bytes); a set: xor(member)
 * for each member; a hash: xor(mix(mix(zero20, field), value)) for each
 * field; a sorted set: xor(mix(mix(zero20, member), "%.17g" of the score))
 * for each member — and, if the key has an
 * expiry, xor("!!expire!!") (the time itself is not mixed). A database adds,
 * when it has keys, mix(htonl(its id)) to the running result and then
 * xor(result, key digest) for every key, so the order keys are visited in does not matter.
 * xor(d, p) xors SHA1(p) into d; mix(d, p) does that and then sets d to
 * SHA1(d).
 *
 * Threads: any storage thread (inside its section); reads the keyspace
 * through a view, with no lock: keys written concurrently may or may not
 * be counted, and a key the map's SCAN returns twice (a resize racing with
 * the walk) cancels out, as Redis's digest is meant for a quiet server.
 */
#ifndef KVSD_DIGEST_H
#define KVSD_DIGEST_H

#include <stdint.h>

#define DIGEST_LEN 20

struct db;
struct db_view;
struct kv_entry;

/* Redis's xorObjectDigest for one key's value (not its name) into d. */
void digest_value(const struct kv_entry *e, uint8_t d[DIGEST_LEN]);
/* The xor of a hash's, set's or sorted set's element contributions (the
 * part of xorObjectDigest after the type), from zero, through the type's
 * foreach. */
void digest_coll_elements(const struct kv_entry *e, uint8_t out[DIGEST_LEN]);
/* One database: when it has keys, mixes htonl(id) into final and xors in
 * the digest of every key (logically expired ones too, as Redis's dict
 * walk). Returns the number of keys. */
long long digest_db(const struct db_view *v, int id, uint8_t final[DIGEST_LEN]);
/* computeDatasetDigest over databases 0 .. db_databases() - 1, each read
 * through v with that database instead (db_view_derive). */
void digest_dataset(const struct db_view *v, uint8_t final[DIGEST_LEN]);
/* 40 lower-case hex digits and a NUL. */
void digest_hex(const uint8_t d[DIGEST_LEN], char out[2 * DIGEST_LEN + 1]);

#endif
