/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "files.h"

/* --- sending ---------------------------------------------------------------------- */

static int push(struct pfs_file_list *l, const char *src, const char *rel, uint64_t size)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct pfs_file_entry *e = realloc(l->e, cap * sizeof(*e));
		if (!e)
			return PFS_ERR_NOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n] =
		(struct pfs_file_entry){ .src = strdup(src), .rel = strdup(rel), .size = size };
	if (!l->e[l->n].src || !l->e[l->n].rel) {
		free(l->e[l->n].src);
		free(l->e[l->n].rel);
		return PFS_ERR_NOMEM;
	}
	l->n++;
	l->bytes += size;
	return 0;
}

/* a/b, or b when a is empty; PFS_ERR_INVALID_ARG when it does not fit. */
static int join(char *out, size_t cap, const char *a, const char *b)
{
	int n = a[0] ? snprintf(out, cap, "%s/%s", a, b) : snprintf(out, cap, "%s", b);

	return n < 0 || (size_t)n >= cap ? PFS_ERR_INVALID_ARG : 0;
}

static int walk(struct pfs_file_list *l, const char *src, const char *rel, int depth, char *err,
		size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 64) {
		snprintf(err, errlen, "%s: directories nested deeper than 64 levels", src);
		return PFS_ERR_LIMIT;
	}
	d = opendir(src);
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot read the directory: %s", src, strerror(errno));
		return rc;
	}
	while (!rc && (de = readdir(d))) {
		char s2[PFS_PATH_MAX + 1], r2[PFS_PATH_MAX + 1];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (join(s2, sizeof(s2), src, de->d_name) ||
		    join(r2, sizeof(r2), rel, de->d_name)) {
			snprintf(err, errlen, "%s/%s: path longer than %d bytes", src, de->d_name,
				 PFS_PATH_MAX);
			rc = PFS_ERR_INVALID_ARG;
			break;
		}
		if (lstat(s2, &st) != 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", s2, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(l, s2, r2, depth + 1, err, errlen);
		} else if (S_ISREG(st.st_mode)) {
			rc = push(l, s2, r2, (uint64_t)st.st_size);
		} else {
			l->skipped++; /* symlinks are not followed inside a tree */
		}
	}
	closedir(d);
	return rc;
}

static int add_path(struct pfs_file_list *l, const char *path, const char *dest, char *err,
		    size_t errlen)
{
	char base[PFS_PATH_MAX + 1], rel[PFS_PATH_MAX + 1], why[PFS_PATH_MAX + 128];
	struct stat st;
	size_t n = strlen(path);
	const char *b;
	int rc;

	if (dest[0] && pfs_path_check(dest, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: bad destination: %s", path, why);
		return PFS_ERR_INVALID_ARG;
	}
	if (stat(path, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	/* the last component names it on the far side ("dir/" counts as "dir") */
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= sizeof(base)) {
		snprintf(err, errlen, "%s: path longer than %d bytes", path, PFS_PATH_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	memcpy(base, path, n);
	base[n] = 0;
	b = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	if (!b[0] || !strcmp(b, ".") || !strcmp(b, "..")) {
		snprintf(err, errlen,
			 "%s: name the file or directory itself (not '/', '.' or '..')", path);
		return PFS_ERR_INVALID_ARG;
	}
	if (join(rel, sizeof(rel), dest, b)) {
		snprintf(err, errlen, "%s: destination path longer than %d bytes", path,
			 PFS_PATH_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (S_ISDIR(st.st_mode))
		return walk(l, base, rel, 0, err, errlen);
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or directory", path);
		return PFS_ERR_INVALID_ARG;
	}
	return push(l, path, rel, (uint64_t)st.st_size);
}

int pfs_files_add(struct pfs_file_list *l, const char *path, const char *dest, char *err,
		  size_t errlen)
{
	size_t n = l->n, skipped = l->skipped;
	uint64_t bytes = l->bytes;
	int rc = add_path(l, path, dest, err, errlen);

	/* all or nothing: a walk that failed half-way takes back what it listed,
	 * so a caller that reports the error and goes on never sends part of a
	 * tree */
	for (; rc && l->n > n; l->n--) {
		free(l->e[l->n - 1].src);
		free(l->e[l->n - 1].rel);
	}
	if (rc) {
		l->bytes = bytes;
		l->skipped = skipped;
	}
	return rc;
}

void pfs_files_free(struct pfs_file_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].src);
		free(l->e[i].rel);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

int pfs_file_map(struct pfs_file_map *m, const struct pfs_file_entry *e, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(e->src, O_RDONLY | O_CLOEXEC), rc;

	m->data = (const uint8_t *)"";
	m->len = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", e->src, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((uint64_t)st.st_size != e->size) {
		snprintf(err, errlen, "%s: changed size while queued (%llu, now %llu bytes)",
			 e->src, (unsigned long long)e->size, (unsigned long long)st.st_size);
		close(fd);
		return PFS_ERR_INVALID_ARG;
	}
	if (e->size) {
		void *p = mmap(NULL, e->size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			rc = -errno;
			snprintf(err, errlen, "%s: cannot map: %s", e->src, strerror(errno));
			close(fd);
			return rc;
		}
		/* read ahead: the encoder walks it front to back */
		madvise(p, e->size, MADV_SEQUENTIAL | MADV_WILLNEED);
		m->data = p;
		m->len = e->size;
	}
	close(fd);
	return 0;
}

void pfs_file_unmap(struct pfs_file_map *m)
{
	if (m->len)
		munmap((void *)m->data, m->len);
	m->data = (const uint8_t *)"";
	m->len = 0;
}

/* --- receiving -------------------------------------------------------------------- */

int pfs_files_rx_init(struct pfs_files_rx *rx, const char *root, char *err, size_t errlen)
{
	int rc;

	memset(rx, 0, sizeof(*rx));
	rx->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rx->root_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "receive root %s: %s (create it, or choose another)", root,
			 strerror(errno));
		return rc;
	}
	return 0;
}

void pfs_files_rx_close(struct pfs_files_rx *rx)
{
	for (int i = 0; i < PFS_SESSION_STREAMS; i++)
		if (rx->open[i])
			pfs_filesink_abort(&rx->sink[i]);
	if (rx->root_fd >= 0)
		close(rx->root_fd);
	rx->root_fd = -1;
}

static struct pfs_filesink *slot(struct pfs_files_rx *rx, uint64_t id)
{
	int i = (int)(id % PFS_SESSION_STREAMS);

	return rx->open[i] && rx->id[i] == id ? &rx->sink[i] : NULL;
}

static void report(struct pfs_files_rx *rx, uint64_t id, uint64_t size, int status, const char *why)
{
	if (rx->on_file)
		rx->on_file(rx->ctx, id, rx->rel[id % PFS_SESSION_STREAMS], size, status, why);
}

static int rx_open(void *ctx, uint64_t id, const char *path, uint64_t size)
{
	struct pfs_files_rx *rx = ctx;
	int i = (int)(id % PFS_SESSION_STREAMS), rc;

	if (rx->open[i]) /* the session reuses a slot only when its stream ended */
		pfs_filesink_abort(&rx->sink[i]);
	rx->open[i] = 0;
	snprintf(rx->rel[i], sizeof(rx->rel[i]), "%s", path);
	rc = pfs_filesink_open(&rx->sink[i], rx->root_fd, path, size, rx->err, sizeof(rx->err));
	if (rc) {
		report(rx, id, size, rc, rx->err);
		return rc;
	}
	rx->id[i] = id;
	rx->open[i] = 1;
	return 0;
}

static int rx_write(void *ctx, uint64_t id, uint64_t off, const uint8_t *p, uint32_t len)
{
	struct pfs_files_rx *rx = ctx;
	struct pfs_filesink *s = slot(rx, id);

	return s ? pfs_filesink_write(s, off, p, len) : PFS_ERR_INVALID_ARG;
}

static int rx_finish(void *ctx, uint64_t id, const uint8_t digest[PFS_STREAM_DIGEST_BYTES])
{
	struct pfs_files_rx *rx = ctx;
	struct pfs_filesink *s = slot(rx, id);
	uint64_t size;
	int rc;

	if (!s)
		return PFS_ERR_INVALID_ARG;
	size = s->size;
	memcpy(rx->last_digest, digest, sizeof(rx->last_digest));
	rc = pfs_filesink_commit(s, digest);
	rx->open[id % PFS_SESSION_STREAMS] = 0;
	report(rx, id, size, rc,
	       rc == PFS_ERR_CHECKSUM ? "digest mismatch: the file was not kept" :
	       rc		      ? "cannot make the file durable" :
					"");
	return rc;
}

static void rx_abort(void *ctx, uint64_t id)
{
	struct pfs_files_rx *rx = ctx;
	struct pfs_filesink *s = slot(rx, id);

	if (!s)
		return;
	report(rx, id, s->size, PFS_ERR_IO, "abandoned before the last byte");
	pfs_filesink_abort(s);
	rx->open[id % PFS_SESSION_STREAMS] = 0;
}

struct pfs_session_sink pfs_files_rx_sink(struct pfs_files_rx *rx)
{
	return (struct pfs_session_sink){ .ctx = rx,
					  .open = rx_open,
					  .write = rx_write,
					  .finish = rx_finish,
					  .abort = rx_abort };
}
