/*
 * cmd_docs.h — Redis 7.0's documentation and metadata for kvsd's commands.
 *
 * One row per command or subcommand (struct cmd_doc), holding what Redis
 * 7.0.15 answers to COMMAND DOCS (summary, since, group, complexity, doc
 * flags, deprecation, history, the argument tree) and the parts of COMMAND
 * INFO that describe the interface rather than kvsd's behaviour (flags, ACL
 * categories, tips, key specs). The table in cmd_docs.c is generated from a
 * running redis-server by tools/gen_cmd_docs.py; server/cmd.c turns a row
 * back into the exact reply Redis sends, in RESP2 or RESP3. redis-cli builds
 * its interactive argument hints from the argument trees.
 *
 * Representation: a NULL string means Redis omits that field. Lists of words
 * (doc_flags, flags, acl, tips, key-spec flags) are single space-separated
 * strings, in Redis's order; "" is an empty list.
 *
 * Threads: the table is constant; any thread may read it.
 * Ownership: everything is static storage.
 * Errors: cmd_docs_find() returns NULL for a name with no row.
 */
#ifndef KVSD_CMD_DOCS_H
#define KVSD_CMD_DOCS_H

#include <stddef.h>

/* cmd_doc_arg.flags: the first three are printed in this order as "flags" */
#define CMD_DOC_ARG_OPTIONAL	   0x1
#define CMD_DOC_ARG_MULTIPLE	   0x2
#define CMD_DOC_ARG_MULTIPLE_TOKEN 0x4
#define CMD_DOC_ARG_KEY_SPEC	   0x8 /* key_spec_index is present */

/* One node of a command's argument tree (Redis's redisCommandArg). */
struct cmd_doc_arg {
	const char *name;
	const char *type;   /* "string", "integer", "key", "oneof", "block", "pure-token", ... */
	int key_spec_index; /* valid when flags has CMD_DOC_ARG_KEY_SPEC */
	const char *token;
	const char *summary;
	const char *since;
	const char *deprecated_since;
	unsigned flags;
	const struct cmd_doc_arg *args; /* children of a "oneof" or "block" */
	int nargs;
};

struct cmd_doc_history {
	const char *version;
	const char *changes;
};

enum cmd_doc_bs { CMD_DOC_BS_INDEX, CMD_DOC_BS_KEYWORD, CMD_DOC_BS_UNKNOWN };
enum cmd_doc_fk { CMD_DOC_FK_RANGE, CMD_DOC_FK_KEYNUM, CMD_DOC_FK_UNKNOWN };

/* A key specification, as COMMAND INFO's eighth field lists them. */
struct cmd_doc_keyspec {
	const char *notes;
	const char *flags; /* "RW access update" */
	enum cmd_doc_bs bs_type;
	int bs_index;		/* INDEX */
	const char *bs_keyword; /* KEYWORD */
	int bs_startfrom;	/* KEYWORD */
	enum cmd_doc_fk fk_type;
	int fk[3]; /* RANGE: lastkey, keystep, limit; KEYNUM: keynumidx, firstkey, keystep */
};

struct cmd_doc {
	const char *name; /* full lower-case name: "get", "config|get" */
	/* COMMAND DOCS */
	const char *summary;
	const char *since;
	const char *group;
	const char *complexity;
	const char *doc_flags; /* "deprecated syscmd"; NULL: none */
	const char *deprecated_since;
	const char *replaced_by;
	const struct cmd_doc_history *history;
	int nhistory;
	const struct cmd_doc_arg *args;
	int nargs;
	/* COMMAND INFO */
	int arity;
	const char *flags; /* "write denyoom" */
	int first_key, last_key, key_step;
	const char *acl;  /* "@write @string @slow" */
	const char *tips; /* "request_policy:all_shards response_policy:all_succeeded" */
	const struct cmd_doc_keyspec *keyspecs;
	int nkeyspecs;
};

extern const struct cmd_doc cmd_docs_table[]; /* sorted by name */
extern const size_t cmd_docs_count;

/* The row for a full lower-case command name ("config|get"), or NULL. */
const struct cmd_doc *cmd_docs_find(const char *name);

#endif
