/*
 * aof_format.h — Redis 7.0's append-only file formats, pure (bytes in,
 * values out): the manifest of the multi-part AOF directory and the RESP
 * command stream of its incremental files.
 *
 * The manifest (Redis's aof.c, aofInfoFormat / aofLoadManifestFromFile) is
 * one line per file, "file <name> seq <n> type <b|h|i>\n", keys in any order,
 * a name quoted as sdscatrepr does when it needs quoting; lines starting with
 * '#' are comments. At most one base (type b), history files (h, to delete),
 * and incremental files (i) whose seqs increase in file order. Names are
 * file names, never paths.
 *
 * The command stream is what Redis's loadSingleAppendOnlyFile reads: every
 * command is "*<argc>\r\n" then argc bulks "$<len>\r\n<bytes>\r\n". aof_scan
 * walks a whole file and says where the valid prefix ends: a file cut inside
 * a command is truncated (aof-load-truncated decides), a byte that cannot
 * start or continue a command is corrupt (never loaded). A MULTI left open at
 * the end counts as truncated at the MULTI (Redis reverts it).
 *
 * Threads: any; no shared state. Errors: -EINVAL with a reason in err.
 */
#ifndef KVSD_AOF_FORMAT_H
#define KVSD_AOF_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define AOF_MANIFEST_LINE_MAX 1024 /* Redis's AOF_MANIFEST_LINE_MAX... its buffer */

/* The length of the manifest line aof_manifest_format writes for a file of
 * this name and seq (the name quoted and escaped as sdscatrepr when it must
 * be). The parser refuses a name whose line would exceed
 * AOF_MANIFEST_LINE_MAX, so every manifest it accepts formats into one it
 * accepts again. */
size_t aof_manifest_line_len(const char *name, long long seq);

struct aof_file {
	char *name;
	long long seq;
	char type; /* 'b', 'h' or 'i' */
};

struct aof_manifest {
	struct aof_file base; /* name NULL: none */
	struct aof_file *incr;
	size_t nincr;
	struct aof_file *hist;
	size_t nhist;
};

/* Parses a manifest's text. 0, or -EINVAL with a reason in err (m is then
 * empty). The caller frees a parsed manifest with aof_manifest_free. */
int aof_manifest_parse(const char *buf, size_t len, struct aof_manifest *m, char *err,
		       size_t errlen);
/* The manifest's text (mem_alloc'd, NUL-terminated; *len its length), as
 * Redis writes it: base, history, then incremental files. */
char *aof_manifest_format(const struct aof_manifest *m, size_t *len);
void aof_manifest_free(struct aof_manifest *m);
/* Adds a file (name copied). 0 or -EINVAL (a second base). */
int aof_manifest_add(struct aof_manifest *m, const char *name, long long seq, char type);

enum aof_scan_result {
	AOF_SCAN_OK,	    /* every byte belongs to a complete command */
	AOF_SCAN_TRUNCATED, /* the valid prefix ends before the file does */
	AOF_SCAN_CORRUPT,   /* a malformed command at *bad */
};

struct aof_scan_info {
	size_t valid;	 /* bytes of complete commands (an open MULTI excluded) */
	size_t bad;	 /* CORRUPT: the offset of the first byte that is wrong */
	uint64_t ncmds;	 /* complete commands in the valid prefix */
	const char *why; /* CORRUPT / TRUNCATED: a static reason */
};

/* Scans a command stream. Never reads outside buf[0, len). */
enum aof_scan_result aof_scan(const char *buf, size_t len, struct aof_scan_info *out);

/* Appends one command in the stream format to *buf (mem_realloc'd; *len
 * and *cap track it). */
void aof_format_cmd(char **buf, size_t *len, size_t *cap, int argc, const char *const *argv,
		    const size_t *argl);

/* Appends raw bytes to *buf (as aof_format_cmd grows it). */
void aof_format_raw(char **buf, size_t *len, size_t *cap, const char *p, size_t n);

#endif
