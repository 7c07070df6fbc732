/*
 * fuzz_aof_manifest.c — libFuzzer target for persist/aof_format.c's manifest
 * parser: the manifest is read at start-up from a directory anyone with
 * write access to it may have edited.
 *
 * Checks: nothing reads or writes outside its buffer (ASan); a manifest the
 * parser accepts formats to text that parses again to the same files, and
 * formats to the same bytes (a fixpoint after one round).
 */
#include "concurrency/mem.h"
#include "persist/aof_format.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_file(const struct aof_file *a, const struct aof_file *b)
{
	FUZZ_CHECK(strcmp(a->name, b->name) == 0);
	FUZZ_CHECK(a->seq == b->seq && a->type == b->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aof_manifest m, m2;
	char err[256];
	size_t len, len2;
	char *text, *text2;

	if (aof_manifest_parse((const char *)data, size, &m, err, sizeof(err)) != 0) {
		FUZZ_CHECK(m.base.name == NULL && m.nincr == 0 && m.nhist == 0);
		return 0;
	}
	text = aof_manifest_format(&m, &len);
	FUZZ_CHECK(aof_manifest_parse(text, len, &m2, err, sizeof(err)) == 0);
	FUZZ_CHECK((m.base.name == NULL) == (m2.base.name == NULL));
	if (m.base.name)
		same_file(&m.base, &m2.base);
	FUZZ_CHECK(m.nincr == m2.nincr && m.nhist == m2.nhist);
	for (size_t i = 0; i < m.nincr; i++)
		same_file(&m.incr[i], &m2.incr[i]);
	for (size_t i = 0; i < m.nhist; i++)
		same_file(&m.hist[i], &m2.hist[i]);
	text2 = aof_manifest_format(&m2, &len2);
	FUZZ_CHECK(len == len2 && memcmp(text, text2, len) == 0);
	mem_free(text);
	mem_free(text2);
	aof_manifest_free(&m);
	aof_manifest_free(&m2);
	return 0;
}
