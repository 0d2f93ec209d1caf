/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where received files land. A receiver writes only below its receive root:
 * relative paths only, no "..", no empty or "." components, and no symlink on
 * the way (every directory is opened with O_NOFOLLOW relative to the one
 * before, so a link planted inside the root cannot lead out of it). Bytes go
 * to a temporary name beside the final one, at any offset in any order; the
 * file becomes visible under its name only after its XXH3-128 digest
 * matches the sender's and it has been synced — a partial or wrong file is
 * never left under its final name (issue 3, DESIGN §3.4).
 */
#ifndef PFS_FILESINK_H
#define PFS_FILESINK_H

#include <stddef.h>
#include <stdint.h>

#define PFS_PATH_MAX 4096
/* XXH3-128, canonical (big-endian) form. Not a cryptographic hash: packets
 * are authenticated, so the digest guards against bugs, diverged logs and
 * disks, where 2^-128 is what matters; BLAKE2b ran at 0.76 GB/s here and
 * halved transfer goodput (docs/decisions/0005-file-digest-xxh3.md). */
#define PFS_FILE_DIGEST_BYTES 16

struct pfs_filesink {
	int root_fd;  /* the receive root */
	int dir_fd;   /* the file's parent directory */
	int fd;       /* the temporary file */
	uint64_t size;
	char name[256];     /* final name within dir_fd */
	char tmp_name[300]; /* temporary name within dir_fd */
};

/* Checks a relative path a peer sent. Returns 0 or PFS_ERR_INVALID_ARG with a
 * message naming the problem. */
int pfs_path_check(const char *rel, char *err, size_t errlen);

/*
 * Opens root_fd/rel for writing size bytes: checks the path, creates missing
 * directories below the root (0755), refuses symlinks anywhere on the way, and
 * creates a temporary file (0600) of that size beside the final name.
 * Returns 0, PFS_ERR_INVALID_ARG or a negated errno; err says which path and why.
 */
int pfs_filesink_open(struct pfs_filesink *s, int root_fd, const char *rel, uint64_t size,
		      char *err, size_t errlen);

/* Writes len bytes at off (within size). Returns 0, PFS_ERR_INVALID_ARG or a
 * negated errno. */
int pfs_filesink_write(struct pfs_filesink *s, uint64_t off, const void *p, size_t len);

/*
 * Finishes the file: computes its digest, and if it equals `digest`, syncs it,
 * renames it over the final name and syncs the directory. On a mismatch the
 * temporary file is removed. Returns 0, PFS_ERR_CHECKSUM or a negated errno;
 * the sink is closed either way.
 */
int pfs_filesink_commit(struct pfs_filesink *s, const uint8_t digest[PFS_FILE_DIGEST_BYTES]);

/* Abandons the file: removes the temporary name, closes. */
void pfs_filesink_abort(struct pfs_filesink *s);

/* The digest of a buffer (what the sender computes over the file). */
void pfs_file_digest(const void *p, size_t len, uint8_t out[PFS_FILE_DIGEST_BYTES]);

#endif
