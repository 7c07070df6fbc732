/*
 * keyspec.h — finding a command's keys in its arguments from Redis 7.0's key
 * specifications (cmd_docs.h), as COMMAND GETKEYS / GETKEYSANDFLAGS do
 * (Redis's getKeysFromCommandWithSpecs / getKeysUsingKeySpecs): each spec
 * begins its search at an index or after a keyword, then finds keys as a
 * range (lastkey, keystep, limit) or as a count read from the arguments
 * (keynum). A spec that reaches past the arguments makes the whole search
 * invalid. Specs with variable flags (SET, BITFIELD) use the command's own
 * rules instead, as Redis's setGetKeys / bitfieldGetKeys.
 *
 * Threads: any; pure functions over constant tables.
 * Errors: keyspec_find() returns -1 for arguments the specs cannot apply to.
 */
#ifndef KVSD_KEYSPEC_H
#define KVSD_KEYSPEC_H

#include <stddef.h>

struct cmd_doc;

/* Key flags, in the order Redis prints them (addReplyFlagsForKeyArgs). */
#define KS_RO		  0x001
#define KS_RW		  0x002
#define KS_OW		  0x004
#define KS_RM		  0x008
#define KS_ACCESS	  0x010
#define KS_UPDATE	  0x020
#define KS_INSERT	  0x040
#define KS_DELETE	  0x080
#define KS_NOT_KEY	  0x100
#define KS_INCOMPLETE	  0x200
#define KS_VARIABLE_FLAGS 0x400
#define KS_NFLAGS	  11

extern const char *const keyspec_flag_names[KS_NFLAGS];

struct keyspec_key {
	int pos; /* index into argv (argv[0] is the command name) */
	unsigned flags;
};

/* The KS_* bits of a space-separated flag list ("RW access update"). */
unsigned keyspec_flags(const char *words);

/* Whether a command with these docs has keys (Redis's doesCommandHaveKeys:
 * one spec not marked not_key). */
int keyspec_has_keys(const struct cmd_doc *doc);

/*
 * The keys of the command described by doc (its full name in doc->name),
 * given its argc arguments (argv[0] the command name, argv[1] the
 * subcommand for a container's). Fills out[] (room for cap entries; argc *
 * (doc->nkeyspecs + 1) always suffices) and returns how many, or -1 when the
 * arguments do not fit the specs (GETKEYS: "Invalid arguments").
 */
int keyspec_find(const struct cmd_doc *doc, int argc, const char *const *argv, const size_t *argl,
		 struct keyspec_key *out, int cap);

#endif
