/*
 * fuzz_aof_scan.c — libFuzzer target for persist/aof_format.c's command-
 * stream scan, which decides at start-up what of an incremental AOF file is
 * replayed, cut (a torn tail) or refused (corrupt).
 *
 * Checks: nothing reads outside its buffer (ASan); the valid prefix is no
 * longer than the input, scans again as complete (AOF_SCAN_OK) with the same
 * command count, and every prefix of a complete input is complete or
 * truncated, never corrupt (a cut file is never mistaken for a bad one).
 */
#include "persist/aof_format.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct aof_scan_info si, again;
	enum aof_scan_result r = aof_scan(buf, size, &si);

	FUZZ_CHECK(si.valid <= size);
	FUZZ_CHECK(aof_scan(buf, si.valid, &again) == AOF_SCAN_OK);
	FUZZ_CHECK(again.valid == si.valid && again.ncmds == si.ncmds);
	if (r == AOF_SCAN_CORRUPT)
		FUZZ_CHECK(si.bad >= si.valid && si.bad <= size);
	if (r == AOF_SCAN_OK && size <= 4096) {
		for (size_t cut = 0; cut < size; cut++)
			FUZZ_CHECK(aof_scan(buf, cut, &again) != AOF_SCAN_CORRUPT);
	}
	return 0;
}
