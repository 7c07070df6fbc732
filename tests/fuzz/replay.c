/*
 * replay.c — the main() of a fuzz target built without libFuzzer: runs every
 * file named on the command line, or found in a directory named there, once
 * through LLVMFuzzerTestOneInput(), in name order. This is how the seed
 * corpora (and any crash file saved by a fuzzing run) become regression
 * tests in the default `meson test` run.
 * Exit status: 0 if at least one input ran, 1 if none was found or a file
 * could not be read (a wrong path must not pass silently).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	/* exactly-sized copy so ASan sees reads past the input */
	buf = malloc(n ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int i, ran = 0, bad = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int n, j;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[i]) != 0;
			ran++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, by_name);
		for (j = 0; j < n; j++) {
			char path[4096];

			if (ents[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
				bad |= replay_file(path) != 0;
				ran++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("replay: %d inputs\n", ran);
	return bad || ran == 0;
}
