/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <xxhash.h>

#include "error.h"
#include "filesink.h"

int pfs_path_check(const char *rel, char *err, size_t errlen)
{
	size_t len = rel ? strnlen(rel, PFS_PATH_MAX + 1) : 0;

	if (len == 0) {
		snprintf(err, errlen, "empty path");
		return PFS_ERR_INVALID_ARG;
	}
	if (len > PFS_PATH_MAX) {
		snprintf(err, errlen, "path longer than %d bytes", PFS_PATH_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (rel[0] == '/') {
		snprintf(err, errlen, "absolute path %s: only paths below the receive root are accepted",
			 rel);
		return PFS_ERR_INVALID_ARG;
	}
	for (const char *c = rel; *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(err, errlen, "path %s has an empty, '.' or '..' component", rel);
			return PFS_ERR_INVALID_ARG;
		}
		if (n > 255) {
			snprintf(err, errlen, "a path component is longer than 255 bytes (%.40s...)", c);
			return PFS_ERR_INVALID_ARG;
		}
		c += n + (e ? 1 : 0);
		if (e && !*c) {
			snprintf(err, errlen, "path %s ends with '/'", rel);
			return PFS_ERR_INVALID_ARG;
		}
	}
	return 0;
}

/* Opens (creating if needed) directory name in dir, refusing symlinks. */
static int open_dir(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(dir, name, 0755) != 0 && errno != EEXIST)
			return -1;
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd;
}

int pfs_filesink_open(struct pfs_filesink *s, int root_fd, const char *rel, uint64_t size,
		      char *err, size_t errlen)
{
	char comp[256];
	const char *c = rel, *slash;
	int dir, rc;

	memset(s, 0, sizeof(*s));
	s->fd = s->dir_fd = -1;
	rc = pfs_path_check(rel, err, errlen);
	if (rc)
		return rc;
	dir = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (dir < 0)
		goto err_errno;
	while ((slash = strchr(c, '/'))) {
		size_t n = (size_t)(slash - c);
		int next;

		memcpy(comp, c, n);
		comp[n] = 0;
		next = open_dir(dir, comp);
		if (next < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: directory %s: %s%s", rel, comp, strerror(errno),
				 errno == ENOTDIR || errno == ELOOP
					 ? " (a symlink or file stands where a directory must be)"
					 : "");
			close(dir);
			return rc;
		}
		close(dir);
		dir = next;
		c = slash + 1;
	}
	snprintf(s->name, sizeof(s->name), "%s", c);
	/* dot-prefixed and unique: never confused with a finished file */
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(s->tmp_name, sizeof(s->tmp_name), ".%.200s.pfs-%08x", c, randombytes_random());
		s->fd = openat(dir, s->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600);
		if (s->fd >= 0 || errno != EEXIST)
			break;
	}
	if (s->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", rel, strerror(errno));
		close(dir);
		return rc;
	}
	s->dir_fd = dir;
	s->size = size;
	if (size && ftruncate(s->fd, (off_t)size) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot size it to %llu bytes: %s", rel,
			 (unsigned long long)size, strerror(errno));
		pfs_filesink_abort(s);
		return rc;
	}
	return 0;

err_errno:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", rel, strerror(errno));
	return rc;
}

int pfs_filesink_write(struct pfs_filesink *s, uint64_t off, const void *p, size_t len)
{
	const uint8_t *b = p;

	if (s->fd < 0 || off > s->size || len > s->size - off)
		return PFS_ERR_INVALID_ARG;
	while (len) {
		ssize_t w = pwrite(s->fd, b, len, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

void pfs_file_digest(const void *p, size_t len, uint8_t out[PFS_FILE_DIGEST_BYTES])
{
	XXH128_canonicalFromHash((XXH128_canonical_t *)out, XXH3_128bits(p, len));
}

/* Digest of what the temporary file holds, read back through a mapping. */
static int digest_file(struct pfs_filesink *s, uint8_t out[PFS_FILE_DIGEST_BYTES])
{
	void *m;

	if (s->size == 0) {
		pfs_file_digest("", 0, out);
		return 0;
	}
	m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (m == MAP_FAILED) {
		/* the fd is write-only: reopen it for reading */
		int rfd = openat(s->dir_fd, s->tmp_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (rfd < 0)
			return -errno;
		m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, rfd, 0);
		close(rfd);
		if (m == MAP_FAILED)
			return -errno;
	}
	pfs_file_digest(m, s->size, out);
	munmap(m, s->size);
	return 0;
}

static void close_sink(struct pfs_filesink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->fd = s->dir_fd = -1;
}

void pfs_filesink_abort(struct pfs_filesink *s)
{
	if (s->dir_fd >= 0 && s->tmp_name[0])
		unlinkat(s->dir_fd, s->tmp_name, 0);
	close_sink(s);
}

int pfs_filesink_commit(struct pfs_filesink *s, const uint8_t digest[PFS_FILE_DIGEST_BYTES])
{
	uint8_t got[PFS_FILE_DIGEST_BYTES];
	int rc;

	if (s->fd < 0)
		return PFS_ERR_INVALID_ARG;
	rc = digest_file(s, got);
	if (rc == 0 && sodium_memcmp(got, digest, PFS_FILE_DIGEST_BYTES) != 0)
		rc = PFS_ERR_CHECKSUM;
	/* durable before visible: data, then the name, then the directory */
	if (rc == 0 && fsync(s->fd) != 0)
		rc = -errno;
	if (rc == 0 && renameat(s->dir_fd, s->tmp_name, s->dir_fd, s->name) != 0)
		rc = -errno;
	if (rc == 0 && fsync(s->dir_fd) != 0)
		rc = -errno;
	if (rc) {
		pfs_filesink_abort(s);
		return rc;
	}
	close_sink(s);
	return 0;
}
