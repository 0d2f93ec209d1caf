/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blob log: a ring of `capacity` bytes addressed by 64-bit logical offsets.
 *
 * A log holds the bytes [lower, tail) where lower = max(start, tail - capacity);
 * the byte at logical offset o lives at ring[o & (capacity - 1)]. Both ends of a
 * peer pair keep one log per direction and change them only through the same
 * deterministic operations (append/write_at of literal bytes), so the sender's
 * tx log and the receiver's rx log hold the same bytes at the same offsets
 * (DESIGN §3.1).
 *
 * Writes may arrive out of order on the receiving side (blocks apply on their
 * own, DESIGN §3.3). The log therefore tracks `contig`, the end of the
 * contiguously written prefix, separately from `tail`, the highest written end;
 * bytes in [contig, tail) are valid only inside the `pending` ranges. Pointers are
 * only ever resolved below `contig`.
 *
 * `frontier` is the acknowledged frontier: on a sender, the offset below which
 * the receiver has confirmed it holds every byte. The encoder points only below
 * it (DESIGN §3.2).
 *
 * Persistence: with a path, the ring is a file (PATH) mapped shared, and the
 * metadata lives in PATH.meta as two checksummed slots written alternately, so a
 * torn write loses at most the newest state, never both (DESIGN §3.5).
 *
 * Not thread-safe: a log belongs to one worker.
 */
#ifndef PFS_LOG_H
#define PFS_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Specification limits. */
#define PFS_LOG_CAPACITY_MIN (UINT64_C(1) << 16) /* 64 KiB */
#define PFS_LOG_CAPACITY_MAX (UINT64_C(1) << 40) /* 1 TiB */
#define PFS_LOG_SEGMENT_MIN (UINT32_C(1) << 12)	 /* 4 KiB */
#define PFS_LOG_SEGMENT_MAX (UINT32_C(1) << 30)	 /* 1 GiB */
#define PFS_LOG_SEGMENT_DEFAULT (UINT32_C(1) << 20)

/* Implementation limit: out-of-order write ranges tracked above contig. */
#define PFS_LOG_MAX_PENDING 64

enum pfs_log_huge {
	PFS_HUGE_AUTO = 0,    /* MAP_HUGETLB, then transparent huge pages, then pages */
	PFS_HUGE_NEVER = 1,   /* normal pages only */
	PFS_HUGE_REQUIRE = 2, /* MAP_HUGETLB or fail */
};

/* What backs the ring; reported to the operator. */
enum pfs_log_backing {
	PFS_BACKING_HUGETLB = 1,      /* explicit 2 MiB/1 GiB huge pages (MAP_HUGETLB) */
	PFS_BACKING_THP = 2,	      /* anonymous memory with MADV_HUGEPAGE */
	PFS_BACKING_PAGES = 3,	      /* anonymous memory, normal pages */
	PFS_BACKING_FILE = 4,	      /* shared mapping of a regular file */
	PFS_BACKING_FILE_HUGETLB = 5, /* shared mapping of a file on hugetlbfs */
};

struct pfs_log_config {
	uint64_t capacity;     /* bytes; power of two in [CAPACITY_MIN, CAPACITY_MAX] */
	uint32_t segment_size; /* digest granularity; power of two; 0 = default */
	enum pfs_log_huge huge;
	const char *path; /* NULL: memory only; else ring file PATH + PATH.meta */
	uint64_t epoch;	  /* epoch for a new log; 0 = random */
};

struct pfs_log_range {
	uint64_t start, end;
};

struct pfs_log {
	uint8_t *ring;
	uint64_t capacity;
	uint64_t mask;
	uint64_t start;	   /* nothing below start belongs to this epoch */
	uint64_t tail;	   /* highest written end */
	uint64_t contig;   /* every byte in [lower, contig) is written */
	uint64_t frontier; /* acknowledged by the peer (sender side) */
	uint64_t epoch;
	uint32_t segment_size;
	enum pfs_log_backing backing;
	int npending;
	struct pfs_log_range pending[PFS_LOG_MAX_PENDING]; /* sorted, disjoint, > contig */
	/* persistence */
	int data_fd, meta_fd;
	uint64_t meta_seq;
	char *path;
	/* segment digest cache: one slot per ring segment */
	uint64_t *digest_seg; /* segment number cached in the slot, UINT64_MAX = none */
	uint8_t (*digest)[16];
};

/*
 * Opens (or creates) a log. On failure writes a message naming the bad value and
 * the allowed range into err (if errlen > 0).
 * Returns 0, PFS_ERR_CAPACITY, PFS_ERR_INVALID_ARG, PFS_ERR_NOMEM, PFS_ERR_IO,
 * PFS_ERR_META_CORRUPT or PFS_ERR_META_MISMATCH.
 */
int pfs_log_open(struct pfs_log **out, const struct pfs_log_config *cfg, char *err, size_t errlen);

/* Persists metadata (if file-backed) and releases everything. NULL is allowed. */
void pfs_log_close(struct pfs_log *log);

/* Releases everything without persisting anything: for a reader that opened
 * a log only to look at it (pfs-log-info). NULL is allowed. */
void pfs_log_release(struct pfs_log *log);

/* Validates a capacity; 0 or PFS_ERR_CAPACITY with a message in err. */
int pfs_log_check_capacity(uint64_t capacity, char *err, size_t errlen);

const char *pfs_log_backing_name(enum pfs_log_backing b);

static inline uint64_t pfs_log_lower(const struct pfs_log *log)
{
	uint64_t l = log->tail > log->capacity ? log->tail - log->capacity : 0;
	return l > log->start ? l : log->start;
}

/* Pointer to the byte at logical offset off; caller guarantees it is valid. */
static inline const uint8_t *pfs_log_at(const struct pfs_log *log, uint64_t off)
{
	return log->ring + (off & log->mask);
}

/* Bytes from off to the physical end of the ring (>= 1). */
static inline uint64_t pfs_log_span(const struct pfs_log *log, uint64_t off)
{
	return log->capacity - (off & log->mask);
}

/* True when [off, off+len) lies inside [lower, contig). */
static inline int pfs_log_readable(const struct pfs_log *log, uint64_t off, uint64_t len)
{
	return off >= pfs_log_lower(log) && len <= log->contig - off && off <= log->contig;
}

/*
 * Appends len bytes at the tail (sender side); *off receives their offset.
 * Requires tail == contig. Returns 0, PFS_ERR_INVALID_ARG (len > capacity) or
 * PFS_ERR_OUT_OF_ORDER (pending out-of-order ranges exist).
 */
int pfs_log_append(struct pfs_log *log, const void *buf, size_t len, uint64_t *off);

/*
 * Writes len bytes at off (receiver side), possibly above contig (out of order).
 * Returns 0, PFS_ERR_LITERAL_RANGE (off below contig, overlapping a pending
 * range, or so far ahead that unwritten bytes would be evicted: off + len >
 * contig + capacity) or PFS_ERR_OUT_OF_ORDER (too many pending ranges). On
 * error nothing changes.
 */
int pfs_log_write_at(struct pfs_log *log, uint64_t off, const void *buf, size_t len);

/* Copies [off, off+len) out of the ring, across the wrap. Caller checks range. */
void pfs_log_read(const struct pfs_log *log, uint64_t off, void *buf, size_t len);

/* Length of the common prefix of buf and the log from off, at most max bytes;
 * caller guarantees [off, off+max) is readable. */
size_t pfs_log_match_forward(const struct pfs_log *log, uint64_t off, const uint8_t *buf,
			     size_t max);

/* Length of the common suffix of buf[-max..-1] and the log bytes ending at off
 * (exclusive), at most max; caller guarantees [off-max, off) is readable. */
size_t pfs_log_match_backward(const struct pfs_log *log, uint64_t off, const uint8_t *buf_end,
			      size_t max);

/* Sets the acknowledged frontier. Returns PFS_ERR_INVALID_ARG if f > contig or
 * f moves backwards. */
int pfs_log_set_frontier(struct pfs_log *log, uint64_t f);

/* Drops every byte at or above new_tail (new_tail in [lower, contig]), e.g. to
 * fall back to the last segment both peers agree on. Returns 0 or
 * PFS_ERR_INVALID_ARG. */
int pfs_log_truncate(struct pfs_log *log, uint64_t new_tail);

/*
 * Brings the log to the point two peers agreed to resume from after a restart
 * (DESIGN §3.5): everything at or above point is dropped (with any
 * out-of-order ranges), and on the sending side (acknowledged = 1) everything
 * below it counts as acknowledged, so pointers may name it at once. Returns 0,
 * or PFS_ERR_INVALID_ARG when point is not held here (below lower or above
 * contig): the peers then start a new epoch instead.
 */
int pfs_log_resume(struct pfs_log *log, uint64_t point, int acknowledged);

/* Starts a new epoch: nothing currently held stays valid (start = tail).
 * epoch 0 = random. */
int pfs_log_new_epoch(struct pfs_log *log, uint64_t epoch);

/*
 * Digest (XXH3-128, big-endian canonical form) of segment seg, the bytes
 * [seg*S, (seg+1)*S). Returns 0, or PFS_ERR_INVALID_ARG if any of those bytes is
 * not readable. Digests of sealed segments are cached.
 */
int pfs_log_segment_digest(struct pfs_log *log, uint64_t seg, uint8_t out[16]);

/*
 * Makes the current state durable: flushes the ring's dirty pages, then writes
 * the older metadata slot and syncs it. No-op for memory-only logs.
 * Returns 0 or PFS_ERR_IO.
 */
int pfs_log_sync(struct pfs_log *log);

#endif /* PFS_LOG_H */
