/*
 * fuzz_argv.c — libFuzzer target for command-line parsing: the input is
 * split on NUL bytes into argv[1..] (argv[0] is "kvsd") and given to
 * cfg_load_args() over fresh defaults. Only inputs whose first argument
 * starts with "--" are used, so no config file is ever opened; options that
 * touch the file system when applied (--dir, --include) are skipped too.
 */
#include "server/config.h"
#include "concurrency/mem.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>
#include <strings.h>

#define FUZZ_MAX_ARGS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_MAX_ARGS + 2];
	char *copy, err[1024];
	int argc = 1, rc, i;
	size_t at = 0;

	copy = mem_alloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "kvsd";
	while (at < size && argc <= FUZZ_MAX_ARGS) {
		argv[argc++] = copy + at;
		at += strlen(copy + at) + 1;
	}
	argv[argc] = NULL;
	if (argc > 1 && strncmp(argv[1], "--", 2) != 0)
		goto out; /* would be read as a config file name */
	for (i = 1; i < argc; i++)
		if (!strcasecmp(argv[i], "--dir") || !strcasecmp(argv[i], "--include"))
			goto out;
	cfg_init();
	err[0] = '\0';
	rc = cfg_load_args(argc, argv, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	cfg_deinit();
out:
	mem_free(copy);
	return 0;
}
