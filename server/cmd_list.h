/*
 * cmd_list.h — what the list commands share with the blocking ones
 * (server/cmd_blocking.c): LMPOP's argument parser (BLMPOP parses the same
 * arguments after its timeout) and the reply of a multi-key pop.
 *
 * Threads: the command's worker. Errors: replied by the parser.
 */
#ifndef KVSD_CMD_LIST_H
#define KVSD_CMD_LIST_H

#include <stddef.h>

#include "server/cmd.h"
#include "storage/tlist.h"

struct conn;

struct list_mpop_args {
	int first_key;	    /* argument index of the first key */
	int numkeys;	    /* keys: argv[first_key .. first_key + numkeys) */
	enum tlist_end end; /* LEFT: TLIST_HEAD, RIGHT: TLIST_TAIL */
	long long count;    /* COUNT (1 when absent) */
};

/* Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at
 * argument numkeys_idx (LMPOP: 1, BLMPOP: 2) as Redis 7.0's
 * lmpopGenericCommand: 1 when valid, 0 after replying its error ("ERR
 * numkeys should be greater than 0", "ERR count should be greater than
 * 0", "ERR syntax error"). */
int cmd_list_mpop_parse(struct cmd_req *r, int numkeys_idx, struct list_mpop_args *out);

/* LMPOP's reply for elements popped from key: [key, [elem ...]]. */
void cmd_list_reply_mpop(struct conn *c, const char *key, size_t klen,
			 const struct tlist_popped *p);

/* LEFT / RIGHT (case-insensitive) at argument i: 1 with *end, 0 after a
 * syntax error reply (Redis's getListPositionFromObjectOrReply). */
int cmd_list_end_arg(struct cmd_req *r, int i, enum tlist_end *end);

#endif
