/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpus of the ring_msg fuzz target: one valid message of
 * every type (test/dataplane/ring_msg_samples.h) and a few broken ones. Not
 * part of the build; regenerate after a change of a message's encoding:
 *
 *   cmake -S . -B build && cmake --build build --target pfs_core
 *   gcc -O2 -D_GNU_SOURCE -Idataplane -Itest/dataplane test/fuzz/make_ring_msg_corpus.c \
 *       build/libpfs_core.a -lzstd -lxxhash -lsodium -o /tmp/make_ring_msg_corpus
 *   rm -rf test/fuzz/corpus/ring_msg && /tmp/make_ring_msg_corpus test/fuzz/corpus/ring_msg
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "error.h"
#include "ring_msg.h"
#include "ring_msg_samples.h"

static const char *dir;

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		fprintf(stderr, "make_ring_msg_corpus: cannot write %s\n", path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[PFS_MSG_MAX];
	char name[64];
	struct pfs_msg m;
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 1;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	for (size_t i = 0; i < SAMPLE_TYPES; i++) {
		sample_msg(sample_types[i], &m);
		if (pfs_msg_encode(&m, buf, sizeof(buf), &n) != 0 ||
		    pfs_msg_decode(buf, n, &m) != 0) {
			fprintf(stderr, "make_ring_msg_corpus: sample %u does not round-trip\n",
				sample_types[i]);
			return 1;
		}
		snprintf(name, sizeof(name), "valid_%s", pfs_msg_name(sample_types[i]));
		for (char *c = name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		put(name, buf, n);
		if (sample_types[i] == PFS_MSG_START_TRANSFER)
			put("broken_truncated_start_transfer", buf, n - 3);
		if (sample_types[i] == PFS_MSG_ADD_SESSION) {
			buf[2] = 2; /* version 2 */
			put("broken_version_add_session", buf, n);
		}
		if (sample_types[i] == PFS_MSG_LOG) {
			buf[n] = 0;
			put("broken_trailing_byte_log", buf, n + 1);
		}
	}
	return 0;
}
