/*
 * script.h — Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
 * LOAD / EXISTS / FLUSH / KILL / HELP / DEBUG, with Redis 7.0.15's semantics
 * and reply bytes (RESP2 and RESP3; SCRIPT DEBUG: NO only — YES and SYNC,
 * Redis's Lua debugger, answer an error), over Debian's stock Lua 5.1 plus
 * cjson and bit (cmsgpack and struct: script_lua.c, "Libraries").
 *
 * States. Lua states are not thread-safe: each worker thread owns one,
 * created on its first script. The script cache (sha1 -> body) is shared by
 * every worker under a mutex: SCRIPT LOAD (or EVAL) inserts the body before
 * it replies, so an EVALSHA on any worker that starts after that reply finds
 * it; a worker meeting a sha its state has not compiled yet compiles the
 * body from the cache. SCRIPT FLUSH empties the cache and bumps a
 * generation counter; each state drops its compiled functions when it sees
 * a new generation (at its next script).
 *
 * Atomicity (the path each script takes). A script runs as one transaction
 * of storage/db.h (like EXEC, server/multi.h): every redis.call runs the
 * command's handler against the script's private overlay, so no client sees
 * part of a script, its reads come from one consistent state, and this holds
 * for keys the script did not declare. Paths:
 *  - optimistic (the default): the attempt runs against the overlay and
 *    commits with one validating multi-word CAS; on a conflict the attempt's
 *    reply is discarded and the script runs again from the start. Its only
 *    effects outside the overlay are Lua-side (redis.log lines, math.random's
 *    sequence), which are harmless to repeat.
 *  - exclusive: after DB_TXN_OPTIMISTIC failed attempts the next one runs
 *    exclusively (no other client writes meanwhile; waiting exclusive
 *    transactions are served in FIFO order), so a script cannot starve.
 *  - restart exclusive: a redis.call of a command with effects outside the
 *    map (CONFIG SET, CLIENT KILL, ... : multi.c's map_only() is false), or
 *    a SWAPDB/FLUSHDB met optimistically, is detected BEFORE that command
 *    runs: the attempt is abandoned (nothing of it is published) and the
 *    script runs again exclusively from the start, where that command runs
 *    exactly once.
 * A script queued in MULTI runs inside EXEC's transaction (EXEC runs
 * exclusively: EVAL is not a map-only command).
 *
 * Busy scripts. A script past busy-reply-threshold milliseconds (checked by
 * a Lua count hook) marks itself busy, publishing whether its attempt runs
 * exclusively and the keys it has read or written so far (then after each
 * redis.call): a filter of db_key_hash buckets per busy script. While any
 * script is busy, a command without allow-busy (SCRIPT KILL, FUNCTION KILL
 * / STATS, SHUTDOWN NOSAVE, ... as in Redis) gets Redis's -BUSY error when
 * it would have to wait for the script or would make it re-run:
 *  - every command while a busy script runs exclusively (other writers wait
 *    for its commit);
 *  - EVAL / FCALL and their variants (a script may touch any key), EXEC
 *    (its queued commands are not looked at), admin commands (CONFIG,
 *    DEBUG, CLIENT, SAVE, ...: effects beyond keys), writes without keys
 *    (FLUSHALL, FLUSHDB, SWAPDB), and every write when the AOF is on (a
 *    running script holds the log's gate, server/aof.h);
 *  - a command naming a key (in its database) the busy script has touched:
 *    a write there would make the script's commit fail, a read would see
 *    the state before the script while the script is under way.
 * Everything else is served (beyond Redis, which answers -BUSY to all):
 * GET / SET / ... of keys the script has not touched, PING, INFO, DBSIZE,
 * SCAN, KEYS, SELECT, PUBLISH, ... A command racing with the script's next
 * redis.call may be served just before the script touches its key; a write
 * there then makes the script's attempt conflict and re-run (the
 * transaction keeps it atomic whatever is served). Keys sharing a filter
 * bucket (16384 of them) with a touched key get -BUSY too. SCRIPT KILL
 * stops busy scripts that have not written (-UNKILLABLE if one did,
 * -NOTBUSY if none is busy); a killed optimistic attempt publishes nothing.
 * Beyond Redis: a write racing with SCRIPT KILL's check may still commit
 * when the script runs exclusively. Connections of the busy script's own
 * worker are answered by another worker's guest poll (net/worker.c), as
 * other workers' are — with --threads 1 by the reserve guest thread net/
 * adds for this (Redis answers them from its event loop); and a writer
 * already waiting for an exclusive script's gate waits too.
 *
 * Also as Redis 7.0: a `#!lua flags=...` first line (no-writes makes the
 * script read-only; the other flags are accepted), deny-oom commands refused
 * until the script's first write when over maxmemory at its start, SELECT
 * inside a script not changing the caller's database.
 *
 * MONITOR, as Redis 7.0: the EVAL / EVALSHA / FCALL line when it starts
 * (whatever it answers), then "[<db> lua]" lines for the commands the
 * script ran (not those refused before running: unknown, arity, noscript,
 * read-only), in the database each ran in. They are sent when the attempt
 * that counts ends: a re-run attempt's lines are dropped, so a command is
 * shown once as Redis runs it once.
 *
 * AOF: the writes a script made are logged (Redis 7's effects replication),
 * wrapped in MULTI/EXEC when more than one; EVAL itself is never logged.
 *
 * Functions (Redis 7.0): FUNCTION LOAD / LIST / DELETE / FLUSH / DUMP /
 * RESTORE / STATS / KILL, FCALL, FCALL_RO (script_func.c: the library
 * registry shared by every worker, each worker's state loading the
 * libraries lazily by a generation counter). A function runs as a script
 * does. FUNCTION LOAD / DELETE / FLUSH / RESTORE are logged to the AOF as
 * received; the libraries are saved in RDB files (FUNCTION2).
 *
 * Threads: the handlers run on worker threads; script_busy_reject() from
 * any worker's dispatch. Errors: replies with Redis's texts.
 */
#ifndef KVSD_SCRIPT_H
#define KVSD_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>

#include "server/cmd.h"

/* EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT; terminated by name == NULL. */
extern const struct cmd_def cmd_script_table[];
/* FCALL FCALL_RO FUNCTION (script_func.c). */
extern const struct cmd_def cmd_function_table[];

/* d is one of the EVAL or FCALL family (it runs other commands: the AOF
 * logs what they wrote, not the script). */
bool script_is_eval(const struct cmd_def *d);

/* cmd_dispatch(): whether d, with its arguments, run in database index,
 * must be refused with -BUSY (a script is past busy-reply-threshold, d
 * lacks allow-busy and conflicts with it: "Busy scripts" above). One
 * relaxed load when no script is busy. */
struct db;
bool script_busy_reject(const struct cmd_def *d, struct db *db, int index, int argc,
			const char *const *argv, const size_t *argl);
/* Whether the busy script is a function (the -BUSY text names FUNCTION
 * KILL then). Any thread. */
bool script_busy_is_function(void);
/* SHUTDOWN while a script is past busy-reply-threshold (Redis's
 * shutdownCommand): true if one is busy. Then only SHUTDOWN NOSAVE goes on,
 * after script_stop_for_shutdown(): every running script, killable or not
 * (one that wrote too), stops at its next hook without committing, logging
 * or replying (its client is closed), as Redis exits from inside the script;
 * the workers can then drain. Any thread. */
bool script_busy_any(void);
void script_stop_for_shutdown(void);

/* Functions (script_func.c). The libraries' code, copied, for an RDB save
 * (FUNCTION2 records): the count; free with script_func_codes_free. */
int script_func_codes(char ***codes, size_t **lens);
void script_func_codes_free(char **codes, size_t *lens, int n);
/* rdb_load_opts.function: links a library read from an RDB file
 * (replacing one of its name). 0, or -1 with err. Any thread. */
int script_func_rdb_load(void *arg, const char *code, size_t len, char *err, size_t errlen);
/* Removes every library (DEBUG RELOAD's and a load's empty start). */
void script_func_flush(void);
/* Libraries (libraries) or functions registered. */
long long script_func_count(bool libraries);
void script_func_teardown(void);

/* INFO memory: bytes held by the Lua states, cached scripts' count and bytes. */
long long script_lua_memory(void);
long long script_cached_count(void);
long long script_cached_bytes(void);

/* Frees the calling worker's Lua state (thread exit); the shared cache at
 * shutdown (script_teardown). */
void script_thread_exit(void);
void script_teardown(void);

#endif
