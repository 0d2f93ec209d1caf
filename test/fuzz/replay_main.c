/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replay driver for fuzz targets built without libFuzzer: runs
 * LLVMFuzzerTestOneInput on every file named on the command line, and on the
 * regular files of every directory named (in sorted order, not recursing).
 * A crash or abort fails the run; so does finding no input at all.
 *
 *   fuzz_decode_block_replay test/fuzz/corpus/decode_block [more files or dirs]
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file; 0 or -1 (message printed). */
static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	/* exactly the file's size, so a read past the input is caught by ASan */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "replay: out of memory for %s\n", path);
		return -1;
	}
	if (st.st_size)
		got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	if (got != (size_t)st.st_size) {
		fprintf(stderr, "replay: short read of %s\n", path);
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
	long ran = 0;
	int bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct dirent **names;
		struct stat st;
		int n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) == 0)
				ran++;
			else
				bad = 1;
			continue;
		}
		n = scandir(argv[i], &names, NULL, alphasort);
		if (n < 0) {
			fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], strerror(errno));
			bad = 1;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
			if (is_regular(path)) {
				if (run_file(path) == 0)
					ran++;
				else
					bad = 1;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %ld inputs\n", ran);
	if (ran == 0) {
		fprintf(stderr, "replay: no inputs found in the paths given\n");
		return 1;
	}
	return bad;
}
