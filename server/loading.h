/*
 * loading.h — the start-up load of the dataset on a thread of its own while
 * clients are already served, as Redis 7.0 loads with its event loop polled
 * (loadDataFromDisk with processEventsWhileBlocked): the listeners open
 * first, every command without Redis's `loading` flag is answered
 * "-LOADING Redis is loading the dataset in memory" (server/cmd.c), and INFO
 * persistence shows loading:1 with the loading_* fields. When the load
 * ends, the flag drops and commands see the whole dataset; when it fails,
 * the server shuts down without saving and exits with status 1 (clients
 * only ever saw -LOADING, never part of the dataset); SHUTDOWN or SIGTERM
 * meanwhile cancels it (no save: a partial dataset must never overwrite the
 * file) and the process exits with status 0.
 *
 * Threads: loading_begin / loading_start / loading_stop on the main thread
 * (begin before the listeners open, start after the workers run, stop at
 * teardown); the progress setters on the loading thread (and the threads
 * it runs); loading_active, loading_cancel and loading_info from any
 * thread. The load function runs on the loading thread, registered and
 * online in the map.
 * Ordering: loading_active() returning false acquires every write of the
 * load (the loading thread's release when it ends), so a command that
 * passed the check sees the whole dataset.
 * Errors: loading_start -1 when the thread could not start (err set).
 */
#ifndef KVSD_LOADING_H
#define KVSD_LOADING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The load: 0, -ECANCELED when it saw loading_cancel's flag, other < 0
 * with Redis's reason in err (naming the file and offset). */
typedef int (*loading_fn)(char *err, size_t errlen);
/* Called on the loading thread when the load failed (not when cancelled),
 * after the error was logged: asks the server to stop. */
typedef void (*loading_fail_fn)(void);

/* Marks the server as loading (before the listeners open), with the size
 * of the files the load will read (INFO loading_total_bytes) and the RDB's
 * used-mem AUX field when known already (loading_rdb_used_mem, else 0 until
 * the load reads it): a client sees loading:1 only with them, as in Redis,
 * whose load has read both before it serves anyone. */
void loading_begin(uint64_t total_bytes, long long rdb_used_mem);
/* Runs fn on the loading thread; on success logs "Ready to accept
 * connections on port <port>" (Redis logs it when the load is done). */
int loading_start(loading_fn fn, loading_fail_fn on_fail, int port, char *err, size_t errlen);
/* Teardown: asks a running load to stop, joins the thread (the caller is
 * offline in the map). 0 when no load ran or it completed, 1 when it was
 * cancelled, -1 when it failed. */
int loading_stop(void);

/* Whether the dataset is still loading. Any thread; one acquire load. */
bool loading_active(void);
/* The flag the load's loops poll to stop early (relaxed). */
const _Atomic int *loading_cancel_flag(void);

/* Progress (the loading thread): bytes read so far (the total is
 * loading_begin's), and the RDB's used-mem AUX field. */
void loading_set_loaded(uint64_t bytes);
void loading_add_loaded(uint64_t bytes);
void loading_set_rdb_used_mem(long long bytes);

/* INFO persistence's loading:%d value. */
int loading_info_flag(void);
/* INFO persistence's tail while loading (loading_start_time ...
 * loading_eta_seconds, Redis 7.0's lines); nothing otherwise. Returns the
 * length written into buf (truncated to len - 1). */
size_t loading_info(char *buf, size_t len);

#endif
