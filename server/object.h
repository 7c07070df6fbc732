/*
 * object.h — what Redis's robj would say about a kvsd string: its encoding
 * (OBJECT ENCODING, DEBUG OBJECT) and reference count (OBJECT REFCOUNT),
 * derived from the entry's bytes and its kv_enc hint (storage/kvmap.h) by
 * Redis 7.0's rules (object.c: tryObjectEncoding, createStringObject,
 * OBJ_SHARED_INTEGERS).
 *
 * Threads: any; pure functions of the entry and the maxmemory settings.
 */
#ifndef KVSD_OBJECT_H
#define KVSD_OBJECT_H

struct kv_entry;

/* "int", "embstr" or "raw". */
const char *object_encoding(const struct kv_entry *e);
/* 2147483647 for a value Redis would hold as a shared integer, else 1. */
long long object_refcount(const struct kv_entry *e);

#endif
