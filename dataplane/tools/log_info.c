/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pfs-log-info: what a file-backed blob log holds, as the control plane's
 * blob-state handshake and `pfs-dp blob stats|verify` need it (DESIGN §3.5):
 * epoch, the held window [lower, contig), capacity, and on request the digest
 * of every whole segment in the window. Reads the metadata as the last sync
 * left it; never changes the log (it is reopened and closed without a sync
 * only when nothing else has it open — a running data plane's own logs are
 * read through their metadata file alone).
 *
 *   pfs-log-info PATH [--digests] [--capacity BYTES]
 *
 * Prints one JSON object; {"exists": false} when there is no log at PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "tool.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "digests", 0, 0, 'd' },
		{ "capacity", 1, 0, 'c' },
		{ "help", 0, 0, 'h' },
		{ 0 },
	};
	char meta[4200], err[512];
	struct stat st;
	struct pfs_log *log;
	int c, digests = 0, rc;
	uint64_t capacity = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			digests = 1;
			break;
		case 'c':
			capacity = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			printf("usage: pfs-log-info PATH [--digests] [--capacity BYTES]\n");
			return 0;
		default:
			die(PFS_ERR_INVALID_ARG, "usage: pfs-log-info PATH [--digests]");
		}
	}
	if (optind != argc - 1)
		die(PFS_ERR_INVALID_ARG, "usage: pfs-log-info PATH [--digests]");
	snprintf(meta, sizeof(meta), "%s.meta", argv[optind]);
	if (stat(argv[optind], &st) != 0 || stat(meta, &st) != 0) {
		printf("{\"exists\": false}\n");
		return 0;
	}
	if (!capacity) {
		/* the ring file is the log's capacity long */
		if (stat(argv[optind], &st) != 0)
			die(-errno, "%s: %s", argv[optind], strerror(errno));
		capacity = (uint64_t)st.st_size;
	}
	struct pfs_log_config lc = { .capacity = capacity,
				     .path = argv[optind],
				     .huge = PFS_HUGE_NEVER };
	if ((rc = pfs_log_open(&log, &lc, err, sizeof(err))))
		die(rc, "%s", err);
	printf("{\"exists\": true, \"epoch\": \"%" PRIu64 "\", \"capacity\": %" PRIu64
	       ", \"lower\": \"%" PRIu64 "\", \"contig\": \"%" PRIu64 "\", \"segment_size\": %u",
	       log->epoch, log->capacity, pfs_log_lower(log), log->contig, log->segment_size);
	if (digests) {
		uint64_t s0 = (pfs_log_lower(log) + log->segment_size - 1) / log->segment_size;
		uint64_t s1 = log->contig / log->segment_size;
		printf(", \"first_segment\": %" PRIu64 ", \"digests\": [", s0);
		for (uint64_t s = s0; s < s1; s++) {
			uint8_t d[16];
			if (pfs_log_segment_digest(log, s, d) != 0)
				break;
			printf("%s\"", s > s0 ? ", " : "");
			for (int i = 0; i < 16; i++)
				printf("%02x", d[i]);
			printf("\"");
		}
		printf("]");
	}
	printf("}\n");
	pfs_log_release(log); /* a reader: nothing to persist */
	return 0;
}
