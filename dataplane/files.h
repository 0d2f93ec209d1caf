/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files as session streams. Sending: a list of paths (files, or directories
 * walked depth-first) becomes a list of entries, each a source file and the
 * relative name it gets on the far side; each is mapped read-only while its
 * stream is in flight, so file bytes go from the page cache to the encoder
 * without a copy and never through the controller. Receiving: a session sink
 * that writes each stream through filesink.h below one receive root — path
 * checks, temporary name, digest, fsync, rename.
 */
#ifndef PFS_FILES_H
#define PFS_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "filesink.h"
#include "session.h"

struct pfs_file_entry {
	char *src; /* where to read it here */
	char *rel; /* its name below the receiver's root */
	uint64_t size;
};

struct pfs_file_list {
	struct pfs_file_entry *e;
	size_t n, cap;
	uint64_t bytes;
	size_t skipped; /* symlinks, devices, sockets inside directories */
};

/*
 * Adds path to the list: a regular file becomes one entry named
 * dest/basename; a directory becomes an entry for every regular file below
 * it, named dest/dirname/...; symlinks and special files inside directories
 * are skipped and counted (a symlink given by name is followed, as cp does).
 * dest may be "" (the receiver's root). Returns 0, PFS_ERR_INVALID_ARG (a
 * name too long, dest not a valid relative path), PFS_ERR_LIMIT (directories
 * nested deeper than 64), PFS_ERR_NOMEM or a negated errno, with err naming
 * the path; on an error the list is left as it was.
 */
int pfs_files_add(struct pfs_file_list *l, const char *path, const char *dest, char *err,
		  size_t errlen);
void pfs_files_free(struct pfs_file_list *l);

/* A file's bytes, mapped read-only. */
struct pfs_file_map {
	const uint8_t *data;
	uint64_t len;
};

/* Maps e->src and checks it still has e->size bytes. Returns 0 or a negated
 * errno / PFS_ERR_INVALID_ARG (changed size), with err naming the file. */
int pfs_file_map(struct pfs_file_map *m, const struct pfs_file_entry *e, char *err,
		 size_t errlen);
void pfs_file_unmap(struct pfs_file_map *m);

/* --- receiving -------------------------------------------------------------------- */

struct pfs_files_rx {
	int root_fd;
	struct pfs_filesink sink[PFS_SESSION_STREAMS];
	uint64_t id[PFS_SESSION_STREAMS];
	uint8_t open[PFS_SESSION_STREAMS];
	/* optional: told about every stream that ends, with its path */
	void *ctx;
	void (*on_file)(void *ctx, uint64_t stream_id, const char *rel, uint64_t size, int status,
			const char *why);
	char rel[PFS_SESSION_STREAMS][PFS_PATH_MAX + 1];
	uint8_t last_digest[PFS_FILE_DIGEST_BYTES]; /* of the file on_file reports */
	char err[512];
};

/* Opens the receive root (a directory that must exist). Returns 0 or a
 * negated errno with err saying why. */
int pfs_files_rx_init(struct pfs_files_rx *rx, const char *root, char *err, size_t errlen);
void pfs_files_rx_close(struct pfs_files_rx *rx);

/* A session sink writing streams as files below the root. */
struct pfs_session_sink pfs_files_rx_sink(struct pfs_files_rx *rx);

#endif
