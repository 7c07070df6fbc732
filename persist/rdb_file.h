/*
 * rdb_file.h — whole RDB files as Redis 7.0.15 writes and reads them
 * (rdb.c: rdbSaveRio, rdbLoadRioWithLoadingCtx), format version 10.
 *
 * Writing. rdb_save streams a dataset to a file descriptor through a
 * buffer: "REDIS0010", the AUX fields 7.0 writes (redis-ver, redis-bits,
 * ctime, used-mem, aof-base), the function libraries (FUNCTION2), then per
 * non-empty database SELECTDB and
 * RESIZEDB, per key EXPIRETIME_MS when it has a TTL, IDLE or FREQ when the
 * source gives them (Redis: under an LRU / LFU policy), the type byte, the key
 * and the value (persist/rdb_value.h, the same bytes DUMP carries), then EOF
 * and the CRC-64 of everything before it (eight zero bytes when checksums
 * are off, as Redis writes with rdbchecksum no). With opts->autosync the
 * file is written out every that many bytes as it grows (persist/autosync.h:
 * rdb-save-incremental-fsync). The dataset comes from a
 * struct rdb_source (the server's is a storage/snap.h snapshot; tests use
 * arrays), so this module never decides what a consistent cut is. Keys
 * already expired when the saver meets them are left out (a master would
 * drop them at load anyway). The writer neither fsyncs nor renames: the
 * caller owns the temp-file protocol.
 *
 * Reading. rdb_load maps a whole file and reads every opcode 7.0 writes:
 * AUX (handed to a callback, as Redis logs them), SELECTDB, RESIZEDB,
 * EXPIRETIME_MS and the older EXPIRETIME (seconds), IDLE and FREQ (applied
 * to the next key's access word), EOF and the checksum (checked unless it
 * is zero or checking is off); versions 1..10; function libraries
 * (FUNCTION2, 245) handed to opts->function. Refused, naming what: the
 * pre-release function form (FUNCTION, 246: Redis 7.0 refuses it too), module data
 * (MODULE_AUX, 247), a key of a type kvsd lacks (stream, module: the key is
 * named), a duplicated key, a database index >= databases. Keys already
 * expired at load time are skipped as Redis skips them on a master. Every
 * error names the file and the byte offset where reading stopped. The
 * loader writes keys into db as it goes: on error the caller must not serve
 * that db (kvsd exits before accepting clients), so nobody ever sees a
 * half-loaded dataset.
 *
 * Loading may decode on several threads (rdb_load_opts.threads = N): the
 * calling thread walks the framing and the CRC and hands key-value records
 * in batches to N - 1 workers that decode and db_put them, and decodes a
 * batch itself whenever the queue is full (N threads busy, none waiting);
 * the error at the smallest offset is the one reported. Either way
 * RESIZEDB sizes the map once (kvmap_reserve, at most what the rest of the
 * file can hold), strings are inserted a few keys after their bucket was
 * prefetched, and the trailer's CRC is computed as the walk goes.
 *
 * Threads: rdb_save on one registered storage thread, online for the whole
 * call (the source's entries stay valid while it runs); rdb_load on one
 * registered storage thread before any other thread uses db (it announces
 * quiescent states between keys, and goes offline while it joins its
 * workers, which register themselves). Memory: mem_alloc. Errors: 0 or -1 with a
 * message in err (save: the errno text of the failed write).
 */
#ifndef KVSD_RDB_FILE_H
#define KVSD_RDB_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct kv_entry;

/* What rdb_save writes: `databases` of them, walked in index order. */
typedef void (*rdb_entry_fn)(void *fnarg, const struct kv_entry *e);
struct rdb_source {
	int (*databases)(void *arg);
	/* key and volatile-key counts (RESIZEDB; 0 keys: the database is
	 * skipped, as Redis skips an empty one) */
	long long (*keys)(void *arg, int index);
	long long (*expires)(void *arg, int index);
	/* yields the next batch of database index's entries through fn;
	 * false when none remain */
	bool (*next)(void *arg, int index, rdb_entry_fn fn, void *fnarg);
	/* optional (NULL: none): the key's access data Redis saves under an
	 * LRU policy (1: *idle_s, written as IDLE) or an LFU policy (2:
	 * *freq, written as FREQ); 0 writes neither */
	int (*access)(void *arg, const struct kv_entry *e, uint64_t *idle_s, unsigned *freq);
	void *arg;
};

struct rdb_save_opts {
	bool compress;		     /* rdbcompression */
	bool checksum;		     /* rdbchecksum */
	bool aof_base;		     /* aof-base AUX field: 1 in an AOF's base file */
	int64_t now_ms;		     /* ctime, and the expiry cut */
	long long used_mem;	     /* used-mem AUX field */
	_Atomic long long *progress; /* keys written so far (relaxed stores), or NULL */
	int key_delay; /* rdb-key-save-delay: as rdb_load_opts' key_delay, per key written */
	/* write the file out every this many bytes (AUTOSYNC_BYTES under
	 * rdb-save-incremental-fsync); 0: not before the caller's fsync */
	uint64_t autosync;
	void (*io_wait)(bool begin); /* autosync.h's hook, or NULL */
	/* function libraries' code, written as FUNCTION2 records (opcode 245)
	 * after the AUX fields and before the keys, as Redis 7.0 does */
	char *const *libs;
	const size_t *lib_lens;
	int nlibs;
};

struct rdb_save_stats {
	long long keys;	   /* keys written */
	long long expired; /* keys left out as already expired */
	uint64_t bytes;	   /* file size */
	uint64_t syncs;	   /* autosync: chunks waited for */
	uint64_t starts;   /* autosync: write-out started (sync_file_range calls) */
};

int rdb_save(int fd, const struct rdb_source *src, const struct rdb_save_opts *o,
	     struct rdb_save_stats *st, char *err, size_t errlen);

/* AUX fields as read (key and value bytes, not NUL-terminated). */
typedef void (*rdb_aux_fn)(void *arg, const char *key, size_t klen, const char *val, size_t vlen);
/* Progress: called about every progress_bytes of input (2 MB when 0) with
 * the offset reached, the file size and the key records read so far, so the
 * caller can log large loads and report them (INFO's loading_loaded_bytes). */
typedef void (*rdb_progress_fn)(void *arg, uint64_t offset, uint64_t size, long long keys);

struct rdb_load_opts {
	const char *path; /* the file (also named in errors) */
	bool checksum;	  /* rdbchecksum: verify the trailer */
	int64_t now_ms;	  /* keys expiring before this are skipped */
	rdb_aux_fn aux;
	rdb_progress_fn progress;
	void *arg; /* for aux and progress */
	/* decode on this many threads (<= 1: the calling thread alone) when
	 * the file has at least parallel_min bytes */
	int threads;
	size_t parallel_min;
	uint64_t progress_bytes;
	/* Redis's key-load-delay, for tests: after each key record, sleep this
	 * many microseconds (> 0), or 1 microsecond once every -key_delay
	 * records (< 0); 0: none */
	int key_delay;
	/* when set and non-zero (relaxed loads between records), the load
	 * stops: -ECANCELED with err "loading cancelled" */
	const _Atomic int *cancel;
	/* a FUNCTION2 record's library code (arg as for aux): 0, or -1 with
	 * err set, which fails the load; NULL: such a record fails the load */
	int (*function)(void *arg, const char *code, size_t len, char *err, size_t errlen);
};

struct rdb_load_stats {
	long long keys;	     /* keys loaded */
	long long expired;   /* keys skipped as expired */
	int version;	     /* the file's RDB version */
	bool checksum_found; /* the trailer held a non-zero checksum */
};

/* The value of AUX field `key` among those at the head of the RDB file at
 * path (they precede every other record), NUL-terminated into out (cut to
 * outlen - 1 bytes): true if found. Reads at most the file's first 64 KB;
 * any other file, a missing one or a malformed head: false. For what a
 * server must know before the load (loading_rdb_used_mem). */
bool rdb_peek_aux(const char *path, const char *key, char *out, size_t outlen);
/* Loads opts->path into db. Returns 0, -1 with err ("Bad file format
 * reading dump.rdb at byte 123: ..."), -ECANCELED when opts->cancel was
 * set, or -ENOENT when the file does not exist (nothing to load: err
 * unset). */
int rdb_load(struct db *db, const struct rdb_load_opts *o, struct rdb_load_stats *st, char *err,
	     size_t errlen);
/* The same over bytes in memory (fuzzing, tests); name is used in errors. */
int rdb_load_mem(struct db *db, const void *p, size_t n, const struct rdb_load_opts *o,
		 struct rdb_load_stats *st, char *err, size_t errlen);

#endif
