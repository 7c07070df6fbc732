/*
 * fuzz_config.c — libFuzzer target for the config-file parser: the input is
 * the text of a kvsd.conf, loaded with cfg_load_string() over fresh defaults.
 * Any outcome is fine as long as it is 0, or -1 with a message, and nothing
 * crashes or leaks. Inputs that mention "include" are skipped so the parser
 * is never sent to read arbitrary files (/dev/zero would hang it).
 */
#include "server/config.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>
#include <strings.h>

static int mentions(const uint8_t *data, size_t size, const char *word)
{
	size_t wl = strlen(word), i;

	for (i = 0; i + wl <= size; i++)
		if (strncasecmp((const char *)data + i, word, wl) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	int rc;

	if (mentions(data, size, "include"))
		return 0;
	cfg_init();
	err[0] = '\0';
	rc = cfg_load_string((const char *)data, size, "fuzz.conf", err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	cfg_deinit();
	return 0;
}
