/*
 * cmd_persist.c — SAVE, BGSAVE [SCHEDULE] and LASTSAVE with Redis 7.0.15's
 * replies (rdb.c: saveCommand, bgsaveCommand, lastsaveCommand); the work is
 * server/persist_srv.c's.
 *
 * BGSAVE inside MULTI/EXEC answers "+Background saving scheduled" and the
 * cron starts it, as Redis does while it is in EXEC (kvsd's saves need no
 * fork, so SCHEDULE otherwise starts the save at once, as Redis does when
 * no AOF rewrite runs).
 */
#include "server/cmd.h"

#include "net/reply.h"
#include "server/persist_srv.h"

static void cmd_save(struct cmd_req *r)
{
	char err[128];

	if (psrv_save(err, sizeof(err)) != 0) {
		reply_error(r->c, err);
		return;
	}
	reply_ok(r->c);
}

static void cmd_bgsave(struct cmd_req *r)
{
	char err[128];

	if (r->argc > 1 && !(r->argc == 2 && cmd_arg_is(r, 1, "schedule"))) {
		cmd_reply_syntax_error(r);
		return;
	}
	if (psrv_bgsave_busy()) {
		reply_error(r->c, "ERR Background save already in progress");
		return;
	}
	if (r->in_exec) {
		psrv_bgsave_schedule();
		reply_simple(r->c, "Background saving scheduled");
		return;
	}
	if (psrv_bgsave(err, sizeof(err)) != 0) {
		reply_error(r->c, err);
		return;
	}
	reply_simple(r->c, "Background saving started");
}

static void cmd_lastsave(struct cmd_req *r)
{
	reply_int(r->c, psrv_lastsave());
}

const struct cmd_def cmd_persist_table[] = {
    {"save", cmd_save, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI, 0, 0, 0, "admin slow dangerous",
     "server", "Synchronously save the dataset to disk", "1.0.0",
     "O(N) where N is the total number of keys in all databases", NULL},
    {"bgsave", cmd_bgsave, -1, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, "admin slow dangerous", "server",
     "Asynchronously save the dataset to disk", "1.0.0", "O(1)", NULL},
    {"lastsave", cmd_lastsave, 1, CMD_LOADING | CMD_STALE | CMD_FAST | CMD_RANDOM, 0, 0, 0,
     "admin fast dangerous", "server",
     "Get the UNIX time stamp of the last successful save to disk", "1.0.0", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
