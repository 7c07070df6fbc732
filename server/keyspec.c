/*
 * keyspec.c — key extraction from key specs, as Redis 7.0's db.c does it
 * (see keyspec.h).
 */
#include "server/keyspec.h"
#include "net/resp.h"
#include "server/cmd_docs.h"
#include "server/strutil.h"

#include <string.h>

const char *const keyspec_flag_names[KS_NFLAGS] = {
    "RO",     "RW",	"OW",	   "RM",	 "access",	   "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags",
};

unsigned keyspec_flags(const char *s)
{
	unsigned f = 0;

	while (s && *s) {
		const char *e;

		while (*s == ' ')
			s++;
		e = s;
		while (*e && *e != ' ')
			e++;
		for (int i = 0; i < KS_NFLAGS; i++)
			if ((size_t)(e - s) == strlen(keyspec_flag_names[i]) &&
			    memcmp(s, keyspec_flag_names[i], (size_t)(e - s)) == 0)
				f |= 1u << i;
		s = e;
	}
	return f;
}

int keyspec_has_keys(const struct cmd_doc *doc)
{
	for (int i = 0; doc && i < doc->nkeyspecs; i++)
		if (!(keyspec_flags(doc->keyspecs[i].flags) & KS_NOT_KEY))
			return 1;
	return 0;
}

/* Whether argument i is the word w (case-insensitive, up to its first NUL,
 * as Redis's strcasecmp on the argument's C string). */
static int arg_is(const char *const *argv, const size_t *argl, int i, const char *w)
{
	size_t n = strlen(w), len = argl[i];

	for (size_t k = 0; k < len; k++)
		if (argv[i][k] == '\0') {
			len = k;
			break;
		}
	return len == n && su_eqi(argv[i], len, w);
}

/* setGetKeys: the key is argument 1; GET among the options makes it RW. */
static int set_keys(int argc, const char *const *argv, const size_t *argl, struct keyspec_key *out)
{
	out[0].pos = 1;
	out[0].flags = KS_OW | KS_UPDATE;
	for (int i = 3; i < argc; i++)
		if (arg_is(argv, argl, i, "get")) {
			out[0].flags = KS_RW | KS_ACCESS | KS_UPDATE;
			break;
		}
	return 1;
}

/* bitfieldGetKeys: read-only unless a SET / INCRBY (or a syntax error). */
static int bitfield_keys(int argc, const char *const *argv, const size_t *argl,
			 struct keyspec_key *out)
{
	int readonly = 1;

	for (int i = 2; i < argc; i++) {
		int rem = argc - i - 1;

		if (arg_is(argv, argl, i, "get") && rem >= 2) {
			i += 2;
		} else if ((arg_is(argv, argl, i, "set") || arg_is(argv, argl, i, "incrby")) &&
			   rem >= 3) {
			readonly = 0;
			break;
		} else if (arg_is(argv, argl, i, "overflow") && rem >= 1) {
			i += 1;
		} else {
			readonly = 0;
			break;
		}
	}
	out[0].pos = 1;
	out[0].flags = readonly ? KS_RO | KS_ACCESS : KS_RW | KS_ACCESS | KS_UPDATE;
	return 1;
}

/* getKeysUsingKeySpecs, without GET_KEYSPEC_RETURN_PARTIAL. */
static int by_specs(const struct cmd_doc *doc, int argc, const char *const *argv,
		    const size_t *argl, struct keyspec_key *out, int cap)
{
	int k = 0;

	for (int j = 0; j < doc->nkeyspecs; j++) {
		const struct cmd_doc_keyspec *s = &doc->keyspecs[j];
		unsigned flags = keyspec_flags(s->flags);
		int first = 0, last, step;

		if (flags & KS_NOT_KEY)
			continue;
		if (s->bs_type == CMD_DOC_BS_INDEX) {
			first = s->bs_index;
		} else if (s->bs_type == CMD_DOC_BS_KEYWORD) {
			int from = s->bs_startfrom;
			int start = from > 0 ? from : argc + from;
			int end = from > 0 ? argc - 1 : 0;

			for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
				if (i >= argc || i < 1)
					break;
				if (arg_is(argv, argl, i, s->bs_keyword)) {
					first = i + 1;
					break;
				}
			}
			if (!first)
				continue; /* keyword not there: this spec has no keys */
		} else {
			return -1;
		}
		if (s->fk_type == CMD_DOC_FK_RANGE) {
			int lastkey = s->fk[0], limit = s->fk[2];

			step = s->fk[1];
			if (lastkey >= 0)
				last = first + lastkey;
			else if (!limit)
				last = argc + lastkey;
			else
				last = first + ((argc - first) / limit + lastkey);
		} else if (s->fk_type == CMD_DOC_FK_KEYNUM) {
			long long numkeys;
			int idx = first + s->fk[0];

			step = s->fk[2];
			if (idx >= argc || !resp_str2ll(argv[idx], argl[idx], &numkeys) ||
			    numkeys < 0 || numkeys > argc)
				return -1;
			first += s->fk[1];
			last = first + (int)numkeys - 1;
		} else {
			return -1;
		}
		if (last >= argc || last < first || first >= argc)
			return -1; /* out of bounds: a syntax error */
		for (int i = first; i <= last && step > 0; i += step) {
			if (k >= cap)
				return -1;
			out[k].pos = i;
			out[k++].flags = flags;
		}
		if (flags & KS_INCOMPLETE)
			return -1;
	}
	return k;
}

int keyspec_find(const struct cmd_doc *doc, int argc, const char *const *argv, const size_t *argl,
		 struct keyspec_key *out, int cap)
{
	unsigned all = 0;

	if (doc == NULL || cap < 1)
		return -1;
	for (int j = 0; j < doc->nkeyspecs; j++)
		all |= keyspec_flags(doc->keyspecs[j].flags);
	if (!(all & KS_VARIABLE_FLAGS)) {
		int n = by_specs(doc, argc, argv, argl, out, cap);

		if (n >= 0)
			return n;
	}
	/* the commands' own getkeys_proc, for those kvsd has */
	if (strcmp(doc->name, "set") == 0)
		return set_keys(argc, argv, argl, out);
	if (strcmp(doc->name, "bitfield") == 0)
		return bitfield_keys(argc, argv, argl, out);
	return -1;
}
