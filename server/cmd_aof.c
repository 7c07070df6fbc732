/*
 * cmd_aof.c — BGREWRITEAOF with Redis 7.0.15's replies (aof.c:
 * bgrewriteaofCommand); the forkless rewrite itself is server/aof_rewrite.c's.
 * With appendonly no it writes a base and a manifest naming it alone, as
 * Redis 7.0 does (aof_rewrite.c's rewrite_off_run).
 */
#include "server/cmd.h"

#include "net/reply.h"
#include "server/aof.h"

static void cmd_bgrewriteaof(struct cmd_req *r)
{
	char err[160];

	if (aof_rewrite_running()) {
		reply_error(r->c, "ERR Background append only file rewriting already in progress");
		return;
	}
	switch (aof_rewrite_start(err, sizeof(err))) {
	case 0:
		reply_simple(r->c, "Background append only file rewriting started");
		break;
	case 1: /* a BGSAVE runs */
		reply_simple(r->c, "Background append only file rewriting scheduled");
		break;
	default:
		reply_error(r->c, err);
	}
}

const struct cmd_def cmd_aof_table[] = {
    {"bgrewriteaof", cmd_bgrewriteaof, 1, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, "admin slow dangerous",
     "server", "Asynchronously rewrite the append-only file", "1.0.0", "O(1)", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL},
};
