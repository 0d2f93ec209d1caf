/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blob log (see log.h for the model).
 *
 * The ring is one mapping of `capacity` bytes; logical offset o lives at
 * ring[o & mask], so a range may cross the physical end and is then handled as
 * two spans. Segments are aligned to segment_size, which divides capacity, so a
 * segment never crosses the end and its digest is one contiguous hash.
 *
 * File-backed logs keep the ring in PATH (MAP_SHARED) and the metadata in
 * PATH.meta as two 4 KiB slots. Slot k holds the states whose seq has parity
 * k, so a sync always overwrites the older slot: a torn write can only cost the
 * state being written, and open falls back to the other slot.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_HUGETLB, MAP_HUGE_SHIFT */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xxhash.h>

#include "compiler.h"
#include "error.h"
#include "log.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE_COMPAT 23
#else
#define MADV_POPULATE_WRITE_COMPAT MADV_POPULATE_WRITE
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define HUGE_2M (UINT64_C(1) << 21)
#define NO_SEG UINT64_MAX

/* Metadata slot layout: explicit little-endian fields, checksum last. */
#define META_SLOT 4096
#define META_VERSION 1
static const char meta_magic[8] = { 'P', 'F', 'S', 'L', 'O', 'G', 'M', '1' };
enum {
	M_MAGIC = 0,
	M_VERSION = 8,
	M_SEQ = 16,
	M_CAPACITY = 24,
	M_SEGMENT = 32,
	M_EPOCH = 40,
	M_START = 48,
	M_CONTIG = 56,
	M_FRONTIER = 64,
	M_CHECKSUM = 72,
};

struct meta {
	uint64_t seq, capacity, epoch, start, contig, frontier;
	uint32_t segment_size;
};

/* Puts a message for a person into err (if any) and returns rc. */
__attribute__((format(printf, 4, 5))) static int fail(int rc, char *err, size_t errlen,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* "65536 bytes (64 KiB)": operators think in units, but the exact number is
 * what they must type back. */
static const char *size_text(char buf[64], uint64_t v)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u = -1;
	uint64_t n = v;

	while (n >= 1024 && n % 1024 == 0 && u < 5) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, 64, "%" PRIu64 " bytes", v);
	else
		snprintf(buf, 64, "%" PRIu64 " bytes (%" PRIu64 " %s)", v, n, unit[u]);
	return buf;
}

/* Power of two in [min, max]; else rc with a message naming value and range. */
static int check_pow2(const char *what, uint64_t v, uint64_t min, uint64_t max, int rc, char *err,
		      size_t errlen)
{
	char a[64], lo[64], hi[64];
	const char *why;

	if (v == 0)
		why = "is zero";
	else if (v & (v - 1))
		why = "is not a power of two";
	else if (v < min)
		why = "is below the minimum";
	else if (v > max)
		why = "is above the maximum";
	else
		return 0;
	return fail(rc, err, errlen, "%s %s %s (use a power of two from %s to %s)", what,
		    size_text(a, v), why, size_text(lo, min), size_text(hi, max));
}

int pfs_log_check_capacity(uint64_t capacity, char *err, size_t errlen)
{
	return check_pow2("log capacity", capacity, PFS_LOG_CAPACITY_MIN, PFS_LOG_CAPACITY_MAX,
			  PFS_ERR_CAPACITY, err, errlen);
}

static uint64_t phys_mem_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	return pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : UINT64_MAX;
}

/* madvise(MADV_HUGEPAGE) succeeds even when THP is switched off, so the
 * backing is reported as THP only if the kernel would act on the advice. */
static int thp_enabled(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

static int random_epoch(uint64_t *epoch)
{
	uint64_t e = 0;

	/* 0 means "pick one" in the config, so it is never an epoch. */
	while (e == 0)
		if (getrandom(&e, sizeof(e), 0) != sizeof(e))
			return PFS_ERR_IO;
	*epoch = e;
	return 0;
}

static int map_memory(struct pfs_log *log, enum pfs_log_huge huge, char *err, size_t errlen)
{
	const int prot = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	uint64_t cap = log->capacity;
	char a[64];
	void *p;

	if (huge == PFS_HUGE_REQUIRE && cap % HUGE_2M)
		return fail(PFS_ERR_CAPACITY, err, errlen,
			    "huge pages required but log capacity %s is not a multiple of 2 MiB",
			    size_text(a, cap));
	if (huge != PFS_HUGE_NEVER && cap % HUGE_2M == 0) {
		p = mmap(NULL, cap, prot, anon | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
		if (p != MAP_FAILED) {
			log->ring = p;
			log->backing = PFS_BACKING_HUGETLB;
			return 0;
		}
		if (huge == PFS_HUGE_REQUIRE)
			return fail(PFS_ERR_NOMEM, err, errlen,
				    "mmap(MAP_HUGETLB) of %s: %s; reserve at least %" PRIu64
				    " more 2 MiB pages in /proc/sys/vm/nr_hugepages",
				    size_text(a, cap), strerror(errno), cap / HUGE_2M);
	}
	p = mmap(NULL, cap, prot, anon, -1, 0);
	if (p == MAP_FAILED)
		return fail(PFS_ERR_NOMEM, err, errlen,
			    "mmap of %s for the log ring: %s (RAM: %" PRIu64 " bytes; lower the "
			    "capacity, or check ulimit -v and vm.overcommit_memory)",
			    size_text(a, cap), strerror(errno), phys_mem_bytes());
	log->ring = p;
	log->backing = PFS_BACKING_PAGES;
	if (huge == PFS_HUGE_AUTO && madvise(p, cap, MADV_HUGEPAGE) == 0 && thp_enabled())
		log->backing = PFS_BACKING_THP;
	/* Fault the ring in now, not page by page on the data path: the blob is
	 * the data plane's working memory and zeroing it mid-transfer costs more
	 * than the copy that first touches it. Best effort (Linux >= 5.14). */
	madvise(p, cap, MADV_POPULATE_WRITE_COMPAT);
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Returns 1 if the slot is intact and self-consistent. */
static int decode_slot(const uint8_t *p, struct meta *m)
{
	if (memcmp(p + M_MAGIC, meta_magic, sizeof(meta_magic)) != 0 ||
	    get_le(p + M_VERSION, 4) != META_VERSION ||
	    get_le(p + M_CHECKSUM, 8) != XXH3_64bits(p, M_CHECKSUM))
		return 0;
	m->seq = get_le(p + M_SEQ, 8);
	m->capacity = get_le(p + M_CAPACITY, 8);
	m->segment_size = (uint32_t)get_le(p + M_SEGMENT, 4);
	m->epoch = get_le(p + M_EPOCH, 8);
	m->start = get_le(p + M_START, 8);
	m->contig = get_le(p + M_CONTIG, 8);
	m->frontier = get_le(p + M_FRONTIER, 8);
	return m->start <= m->contig && m->frontier <= m->contig;
}

static int put_slot(struct pfs_log *log, const uint8_t *p, off_t off)
{
	struct stat st;
	uint8_t *m;

	if (log->backing != PFS_BACKING_FILE_HUGETLB)
		return pwrite(log->meta_fd, p, META_SLOT, off) == META_SLOT ? 0 : -1;
	/* hugetlbfs has no write(2): the slot goes in through a mapping of
	 * the meta file, which open sized to one huge page. */
	if (fstat(log->meta_fd, &st) < 0 || st.st_size < 2 * META_SLOT)
		return -1;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, log->meta_fd, 0);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m + off, p, META_SLOT);
	return munmap(m, (size_t)st.st_size);
}

/* Writes state seq into slot seq & 1 and makes it durable. */
static int write_meta(struct pfs_log *log, uint64_t seq)
{
	uint8_t p[META_SLOT] = { 0 };

	memcpy(p + M_MAGIC, meta_magic, sizeof(meta_magic));
	put_le(p + M_VERSION, META_VERSION, 4);
	put_le(p + M_SEQ, seq, 8);
	put_le(p + M_CAPACITY, log->capacity, 8);
	put_le(p + M_SEGMENT, log->segment_size, 4);
	put_le(p + M_EPOCH, log->epoch, 8);
	/* Persist lower, not start: on reopen tail falls back to contig, and
	 * bytes that out-of-order writes above contig overwrote would
	 * otherwise count as held again. */
	put_le(p + M_START, pfs_log_lower(log), 8);
	put_le(p + M_CONTIG, log->contig, 8);
	put_le(p + M_FRONTIER, log->frontier, 8);
	put_le(p + M_CHECKSUM, XXH3_64bits(p, M_CHECKSUM), 8);
	/* A short write to a regular file only happens when it is out of
	 * space; the slot is then torn and the other one still holds. */
	if (put_slot(log, p, (off_t)(seq & 1) * META_SLOT) < 0 || fdatasync(log->meta_fd) < 0)
		return PFS_ERR_IO;
	log->meta_seq = seq;
	return 0;
}

/* Opens, sizes and maps the ring file; on failure leaves nothing behind. */
static int open_ring(struct pfs_log *log, const struct pfs_log_config *cfg, int *created, char *err,
		     size_t errlen)
{
	struct statfs sfs;
	struct stat st;
	char a[64];
	void *p;
	int rc;

	log->path = strdup(cfg->path);
	if (!log->path)
		return fail(PFS_ERR_NOMEM, err, errlen, "out of memory");
	log->data_fd = open(log->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (log->data_fd < 0) {
		rc = fail(PFS_ERR_IO, err, errlen, "open %s: %s", log->path, strerror(errno));
		goto err_free_path;
	}
	if (fstat(log->data_fd, &st) < 0 || fstatfs(log->data_fd, &sfs) < 0) {
		rc = fail(PFS_ERR_IO, err, errlen, "stat %s: %s", log->path, strerror(errno));
		goto err_close_ring;
	}
	/* hugetlbfs rounds file sizes up to whole huge pages. */
	if (sfs.f_type == HUGETLBFS_MAGIC && log->capacity % (uint64_t)sfs.f_bsize) {
		rc = fail(PFS_ERR_CAPACITY, err, errlen,
			  "log capacity %s is not a multiple of the %jd-byte huge pages of the "
			  "hugetlbfs holding %s",
			  size_text(a, log->capacity), (intmax_t)sfs.f_bsize, log->path);
		goto err_close_ring;
	}
	/* Size 0: missing, or left empty by a crash before sizing: a new ring. */
	*created = st.st_size == 0;
	if (*created && (rc = posix_fallocate(log->data_fd, 0, (off_t)log->capacity))) {
		rc = fail(PFS_ERR_IO, err, errlen, "posix_fallocate %s to %s: %s", log->path,
			  size_text(a, log->capacity), strerror(rc));
		goto err_close_ring;
	}
	if (!*created && (uint64_t)st.st_size != log->capacity) {
		rc = fail(PFS_ERR_META_MISMATCH, err, errlen,
			  "%s is %jd bytes but the configured capacity is %s; use the capacity "
			  "it was made with, or remove %s and %s.meta to start a new epoch",
			  log->path, (intmax_t)st.st_size, size_text(a, log->capacity), log->path,
			  log->path);
		goto err_close_ring;
	}
	if (cfg->huge == PFS_HUGE_REQUIRE && sfs.f_type != HUGETLBFS_MAGIC) {
		rc = fail(PFS_ERR_INVALID_ARG, err, errlen,
			  "huge pages required but %s is not on a hugetlbfs mount", log->path);
		goto err_close_ring;
	}
	p = mmap(NULL, log->capacity, PROT_READ | PROT_WRITE, MAP_SHARED, log->data_fd, 0);
	if (p == MAP_FAILED) {
		rc = fail(errno == ENOMEM ? PFS_ERR_NOMEM : PFS_ERR_IO, err, errlen, "mmap %s: %s",
			  log->path, strerror(errno));
		goto err_close_ring;
	}
	log->ring = p;
	log->backing = sfs.f_type == HUGETLBFS_MAGIC ? PFS_BACKING_FILE_HUGETLB : PFS_BACKING_FILE;
	return 0;

err_close_ring:
	close(log->data_fd);
	log->data_fd = -1;
err_free_path:
	free(log->path);
	log->path = NULL;
	return rc;
}

static int restore_meta(struct pfs_log *log, const uint8_t *buf, const char *mpath,
			int ring_created, char *err, size_t errlen)
{
	struct meta m[2];
	int ok[2], best;

	ok[0] = decode_slot(buf, &m[0]);
	ok[1] = decode_slot(buf + META_SLOT, &m[1]);
	if (!ok[0] && !ok[1])
		return fail(PFS_ERR_META_CORRUPT, err, errlen,
			    "%s has no valid metadata slot; remove %s and %s to start a new "
			    "epoch (the peer will resynchronize)",
			    mpath, log->path, mpath);
	best = !ok[0] || (ok[1] && m[1].seq > m[0].seq);
	if (m[best].capacity != log->capacity || m[best].segment_size != log->segment_size)
		return fail(PFS_ERR_META_MISMATCH, err, errlen,
			    "%s was made with capacity %" PRIu64 " and segment size %" PRIu32
			    " but the configuration asks for capacity %" PRIu64
			    " and segment size %" PRIu32,
			    log->path, m[best].capacity, m[best].segment_size, log->capacity,
			    log->segment_size);
	if (ring_created && m[best].contig > m[best].start)
		return fail(PFS_ERR_META_CORRUPT, err, errlen,
			    "%s describes %" PRIu64 " bytes of log data but %s was missing or "
			    "empty; remove %s to start a new epoch (the peer will resynchronize)",
			    mpath, m[best].contig - m[best].start, log->path, mpath);
	log->epoch = m[best].epoch;
	log->start = m[best].start;
	log->tail = log->contig = m[best].contig;
	log->frontier = m[best].frontier;
	/* The next write goes to slot (meta_seq + 1) & 1, which must not be the
	 * slot just read; skip a seq if a foreign writer broke the parity rule. */
	log->meta_seq = m[best].seq + ((m[best].seq & 1) != (uint64_t)best);
	return 0;
}

static int open_meta(struct pfs_log *log, int ring_created, char *err, size_t errlen)
{
	uint8_t buf[2 * META_SLOT] = { 0 };
	char mpath[PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc;

	if (snprintf(mpath, sizeof(mpath), "%s.meta", log->path) >= (int)sizeof(mpath))
		return fail(PFS_ERR_INVALID_ARG, err, errlen, "log path too long: %s", log->path);
	log->meta_fd = open(mpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (log->meta_fd < 0)
		return fail(PFS_ERR_IO, err, errlen, "open %s: %s", mpath, strerror(errno));
	n = pread(log->meta_fd, buf, sizeof(buf), 0);
	if (n < 0) {
		rc = fail(PFS_ERR_IO, err, errlen, "read %s: %s", mpath, strerror(errno));
		goto err_close_meta;
	}
	if (n > 0) {
		rc = restore_meta(log, buf, mpath, ring_created, err, errlen);
		if (rc)
			goto err_close_meta;
		return 0;
	}
	/* On hugetlbfs a file grows in whole huge pages (st_blksize). */
	if (log->backing == PFS_BACKING_FILE_HUGETLB &&
	    (fstat(log->meta_fd, &st) < 0 || ftruncate(log->meta_fd, st.st_blksize) < 0)) {
		rc = fail(PFS_ERR_IO, err, errlen, "size %s: %s", mpath, strerror(errno));
		goto err_close_meta;
	}
	/* A new log records its epoch at once, so a crash before the first
	 * sync still reopens with the same epoch. */
	rc = write_meta(log, 0);
	if (rc) {
		fail(rc, err, errlen, "write %s: %s", mpath, strerror(errno));
		goto err_close_meta;
	}
	return 0;

err_close_meta:
	close(log->meta_fd);
	log->meta_fd = -1;
	return rc;
}

int pfs_log_open(struct pfs_log **out, const struct pfs_log_config *cfg, char *err, size_t errlen)
{
	struct pfs_log *log;
	uint64_t nslots, smax;
	int created = 0, rc;
	uint32_t seg;
	char a[64];

	*out = NULL;
	if ((unsigned)cfg->huge > PFS_HUGE_REQUIRE)
		return fail(PFS_ERR_INVALID_ARG, err, errlen,
			    "huge page mode %d is none of AUTO (0), NEVER (1), REQUIRE (2)",
			    cfg->huge);
	rc = pfs_log_check_capacity(cfg->capacity, err, errlen);
	if (rc)
		return rc;
	/* Segments divide the ring, so none is larger than the capacity. */
	smax = cfg->capacity < PFS_LOG_SEGMENT_MAX ? cfg->capacity : PFS_LOG_SEGMENT_MAX;
	seg = cfg->segment_size;
	if (!seg)
		seg = smax < PFS_LOG_SEGMENT_DEFAULT ? (uint32_t)smax : PFS_LOG_SEGMENT_DEFAULT;
	rc = check_pow2("segment size", seg, PFS_LOG_SEGMENT_MIN, smax, PFS_ERR_INVALID_ARG, err,
			errlen);
	if (rc)
		return rc;
	if (!cfg->path && cfg->capacity > phys_mem_bytes())
		return fail(PFS_ERR_CAPACITY, err, errlen,
			    "log capacity %s exceeds this machine's physical memory of %" PRIu64
			    " bytes; use a smaller capacity or a file-backed log",
			    size_text(a, cfg->capacity), phys_mem_bytes());
	log = calloc(1, sizeof(*log));
	if (!log)
		return fail(PFS_ERR_NOMEM, err, errlen, "out of memory");
	log->capacity = cfg->capacity;
	log->mask = cfg->capacity - 1;
	log->segment_size = seg;
	log->data_fd = log->meta_fd = -1;
	/* The epoch of a new log; a restored file-backed log replaces it. */
	log->epoch = cfg->epoch;
	if (!log->epoch && random_epoch(&log->epoch)) {
		rc = fail(PFS_ERR_IO, err, errlen, "getrandom for a new epoch: %s",
			  strerror(errno));
		goto err_free_log;
	}
	/* One block: digest_seg[nslots], then digest[nslots]. */
	nslots = cfg->capacity / seg;
	log->digest_seg = malloc(nslots * (sizeof(*log->digest_seg) + sizeof(*log->digest)));
	if (!log->digest_seg) {
		rc = fail(PFS_ERR_NOMEM, err, errlen,
			  "out of memory for %" PRIu64 " segment digests", nslots);
		goto err_free_log;
	}
	log->digest = (uint8_t(*)[16])(log->digest_seg + nslots);
	memset(log->digest_seg, 0xff, nslots * sizeof(*log->digest_seg)); /* NO_SEG */
	if (!cfg->path) {
		rc = map_memory(log, cfg->huge, err, errlen);
		if (rc)
			goto err_free_digests;
	} else {
		rc = open_ring(log, cfg, &created, err, errlen);
		if (rc)
			goto err_free_digests;
		rc = open_meta(log, created, err, errlen);
		if (rc)
			goto err_unmap_ring;
	}
	*out = log;
	return 0;

err_unmap_ring:
	munmap(log->ring, log->capacity);
	close(log->data_fd);
	free(log->path);
err_free_digests:
	free(log->digest_seg);
err_free_log:
	free(log);
	return rc;
}

void pfs_log_close(struct pfs_log *log)
{
	if (log && log->data_fd >= 0)
		pfs_log_sync(log); /* best effort: a caller that must know syncs first */
	pfs_log_release(log);
}

void pfs_log_release(struct pfs_log *log)
{
	if (!log)
		return;
	if (log->data_fd >= 0) {
		close(log->meta_fd);
		close(log->data_fd);
	}
	munmap(log->ring, log->capacity);
	free(log->path);
	free(log->digest_seg); /* digest lives in the same block */
	free(log);
}

const char *pfs_log_backing_name(enum pfs_log_backing b)
{
	static const char *const name[] = {
		[PFS_BACKING_HUGETLB] = "hugetlb",
		[PFS_BACKING_THP] = "thp",
		[PFS_BACKING_PAGES] = "pages",
		[PFS_BACKING_FILE] = "file",
		[PFS_BACKING_FILE_HUGETLB] = "file-hugetlb",
	};

	if ((unsigned)b < sizeof(name) / sizeof(name[0]) && name[b])
		return name[b];
	return "unknown";
}

static unsigned seg_shift(const struct pfs_log *log)
{
	return (unsigned)__builtin_ctz(log->segment_size);
}

/* Forgets the digests of the ring segments that [off, end) overwrites. */
static void invalidate_digests(struct pfs_log *log, uint64_t off, uint64_t end)
{
	unsigned shift = seg_shift(log);
	uint64_t nslots = log->capacity >> shift;
	uint64_t s = off >> shift, last = (end - 1) >> shift;

	if (last - s >= nslots)
		last = s + nslots - 1;
	for (; s <= last; s++)
		log->digest_seg[s & (nslots - 1)] = NO_SEG;
}

/* Caller: 0 < len <= capacity. */
static void copy_in(struct pfs_log *log, uint64_t off, const uint8_t *src, uint64_t len)
{
	uint64_t first = pfs_log_span(log, off);

	if (first > len)
		first = len;
	memcpy(log->ring + (off & log->mask), src, first);
	memcpy(log->ring, src + first, len - first);
	invalidate_digests(log, off, off + len);
}

int pfs_log_append(struct pfs_log *log, const void *buf, size_t len, uint64_t *off)
{
	if (unlikely(log->npending))
		return PFS_ERR_OUT_OF_ORDER;
	if (unlikely(len > log->capacity || len > UINT64_MAX - log->tail))
		return PFS_ERR_INVALID_ARG;
	if (off)
		*off = log->tail;
	if (len == 0)
		return 0;
	copy_in(log, log->tail, buf, len);
	log->tail += len;
	log->contig = log->tail;
	return 0;
}

int pfs_log_write_at(struct pfs_log *log, uint64_t off, const void *buf, size_t len)
{
	struct pfs_log_range *p = log->pending;
	int n = log->npending, i = 0, prev, next;
	uint64_t end = off + len;

	if (len == 0)
		return 0;
	/* off + len <= contig + capacity, written without overflow: holes
	 * above contig must stay inside the window. */
	if (unlikely(off < log->contig || off - log->contig > log->capacity ||
		     len > log->capacity - (off - log->contig)))
		return PFS_ERR_LITERAL_RANGE;
	while (i < n && p[i].start < off)
		i++;
	if (unlikely((i > 0 && p[i - 1].end > off) || (i < n && p[i].start < end)))
		return PFS_ERR_LITERAL_RANGE;
	prev = i > 0 && p[i - 1].end == off;
	next = i < n && p[i].start == end;
	if (unlikely(off != log->contig && !prev && !next && n == PFS_LOG_MAX_PENDING))
		return PFS_ERR_OUT_OF_ORDER;

	copy_in(log, off, buf, len);
	if (end > log->tail)
		log->tail = end;
	if (off == log->contig) {
		/* Pending ranges are never adjacent to each other, so at most
		 * the first one joins the prefix. */
		log->contig = next ? p[0].end : end;
		if (next)
			memmove(p, p + 1, (size_t)(--log->npending) * sizeof(*p));
	} else if (prev && next) {
		p[i - 1].end = p[i].end;
		memmove(p + i, p + i + 1, (size_t)(n - i - 1) * sizeof(*p));
		log->npending--;
	} else if (prev) {
		p[i - 1].end = end;
	} else if (next) {
		p[i].start = off;
	} else {
		memmove(p + i + 1, p + i, (size_t)(n - i) * sizeof(*p));
		p[i] = (struct pfs_log_range){ off, end };
		log->npending++;
	}
	return 0;
}

void pfs_log_read(const struct pfs_log *log, uint64_t off, void *buf, size_t len)
{
	uint64_t first = pfs_log_span(log, off);

	if (len == 0)
		return;
	if (first > len)
		first = len;
	memcpy(buf, log->ring + (off & log->mask), first);
	memcpy((uint8_t *)buf + first, log->ring, len - first);
}

/* Equal bytes at the low- and high-address ends of two words that differ by d. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LOW_EQUAL(d) ((size_t)__builtin_ctzll(d) >> 3)
#define HIGH_EQUAL(d) ((size_t)__builtin_clzll(d) >> 3)
#else
#define LOW_EQUAL(d) ((size_t)__builtin_clzll(d) >> 3)
#define HIGH_EQUAL(d) ((size_t)__builtin_ctzll(d) >> 3)
#endif

static size_t common_prefix(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + LOW_EQUAL(x ^ y);
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Common suffix of the n bytes ending at a_end and at b_end. */
static size_t common_suffix(const uint8_t *a_end, const uint8_t *b_end, size_t n)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a_end - i - 8, 8);
		memcpy(&y, b_end - i - 8, 8);
		if (x != y)
			return i + HIGH_EQUAL(x ^ y);
	}
	while (i < n && a_end[-1 - (ptrdiff_t)i] == b_end[-1 - (ptrdiff_t)i])
		i++;
	return i;
}

size_t pfs_log_match_forward(const struct pfs_log *log, uint64_t off, const uint8_t *buf,
			     size_t max)
{
	uint64_t span = pfs_log_span(log, off);
	size_t first = max < span ? max : (size_t)span;
	size_t n = common_prefix(log->ring + (off & log->mask), buf, first);

	if (n < first || first == max)
		return n;
	return n + common_prefix(log->ring, buf + first, max - first);
}

size_t pfs_log_match_backward(const struct pfs_log *log, uint64_t off, const uint8_t *buf_end,
			      size_t max)
{
	/* Bytes between the physical start of the ring and off; 0 means off
	 * sits at a wrap, so the bytes before it end at the physical end. */
	uint64_t pos = off & log->mask ? off & log->mask : log->capacity;
	size_t first = max < pos ? max : (size_t)pos;
	size_t n = common_suffix(log->ring + pos, buf_end, first);

	if (n < first || first == max)
		return n;
	return n + common_suffix(log->ring + log->capacity, buf_end - first, max - first);
}

int pfs_log_set_frontier(struct pfs_log *log, uint64_t f)
{
	if (f > log->contig || f < log->frontier)
		return PFS_ERR_INVALID_ARG;
	log->frontier = f;
	return 0;
}

int pfs_log_truncate(struct pfs_log *log, uint64_t new_tail)
{
	uint64_t lower = pfs_log_lower(log), old_contig = log->contig;

	if (new_tail < lower || new_tail > log->contig)
		return PFS_ERR_INVALID_ARG;
	/* The ring slots of [new_tail, tail) overwrote [new_tail - C, tail - C).
	 * Lowering tail alone would bring those offsets back into the window,
	 * so the window's lower edge stays where it is. */
	log->start = lower;
	log->tail = log->contig = new_tail;
	log->npending = 0;
	if (log->frontier > new_tail)
		log->frontier = new_tail;
	/* Segments ending above new_tail will be rewritten, maybe differently;
	 * only segments below the old contig can have been cached. */
	if (new_tail < old_contig)
		invalidate_digests(log, new_tail, old_contig);
	return 0;
}

int pfs_log_resume(struct pfs_log *log, uint64_t point, int acknowledged)
{
	int rc = pfs_log_truncate(log, point);

	if (rc)
		return rc;
	if (acknowledged)
		log->frontier = point;
	return 0;
}

int pfs_log_new_epoch(struct pfs_log *log, uint64_t epoch)
{
	if (!epoch && random_epoch(&epoch))
		return PFS_ERR_IO;
	log->epoch = epoch;
	log->start = log->contig = log->frontier = log->tail;
	log->npending = 0;
	return 0;
}

int pfs_log_segment_digest(struct pfs_log *log, uint64_t seg, uint8_t out[16])
{
	unsigned shift = seg_shift(log);
	uint64_t slot, off = seg << shift;
	XXH128_canonical_t c;

	if (seg > (UINT64_MAX >> shift) || !pfs_log_readable(log, off, log->segment_size))
		return PFS_ERR_INVALID_ARG;
	/* Readability was checked above, so a slot holding this segment
	 * number is current: every write or truncate that touched the
	 * segment's bytes cleared the slot. */
	slot = seg & ((log->capacity >> shift) - 1);
	if (log->digest_seg[slot] != seg) {
		XXH128_canonicalFromHash(&c, XXH3_128bits(log->ring + (off & log->mask),
							  log->segment_size));
		memcpy(log->digest[slot], c.digest, 16);
		log->digest_seg[slot] = seg;
	}
	memcpy(out, log->digest[slot], 16);
	return 0;
}

int pfs_log_sync(struct pfs_log *log)
{
	if (log->data_fd < 0)
		return 0;
	/* Ring bytes first: a slot must never describe bytes not yet on disk. */
	if (msync(log->ring, log->capacity, MS_SYNC) < 0)
		return PFS_ERR_IO;
	return write_meta(log, log->meta_seq + 1);
}
