/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control region (region.h): creating it, attaching to it, and the words
 * in it that are not ring records.
 *
 * An attaching side trusts nothing it reads in the file until it has checked
 * it, and keeps its own copy of every field it checked: the data plane cannot
 * change a size or an offset under the controller after the fact. Only the
 * words meant to change (heartbeat, state, worker count, ring indices,
 * counters) are read from shared memory again, each with an atomic load.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "region.h"
#include "ring.h"
#include "varint.h"

/* Header fields, offsets in bytes. Written once at creation, little-endian. */
enum {
	H_MAGIC = 0,	     /* u32: stays at this offset in every layout version */
	H_VERSION = 4,	     /* u32: so does this one */
	H_REGION_BYTES = 8,  /* u64 */
	H_HEADER_BYTES = 16, /* u32 */
	H_PID = 20,	     /* u32 */
	H_CMD_OFF = 24,	     /* u64: the command ring's control block */
	H_CMD_BYTES = 32,    /* u64: its data area */
	H_EVT_OFF = 40,
	H_EVT_BYTES = 48,
	H_WORKERS_OFF = 56,  /* u64 */
	H_WORKERS_MAX = 64,  /* u32 */
	H_WORKER_WORDS = 68, /* u32 */
	H_SESSIONS_OFF = 72, /* u64 */
	H_SLOTS = 80,	     /* u32 */
	H_SLOT_WORDS = 84,   /* u32 */
	H_COUNTERS = 88,     /* u32: PFS_CTR_COUNT */
	H_CREATED_NS = 96,   /* u64: CLOCK_REALTIME at creation, for people */
	/* Written while running: native-endian atomics on their own cache line. */
	H_HEARTBEAT = 128,    /* u64, CLOCK_MONOTONIC ns */
	H_STATE = 136,	      /* u32, enum pfs_dp_state */
	H_WORKER_COUNT = 140, /* u32 */
};

#define PART_ALIGN 4096u
#define SLOT_TRIES 4 /* reads of a slot that is being reassigned before giving up */

struct pfs_region {
	uint8_t *base;
	uint64_t bytes;
	int fd;
	int creator;
	uint32_t version, pid;
	struct pfs_ring out, in; /* we push on out and pop from in */
	uint64_t cmd_bytes, evt_bytes;
	uint64_t *workers;  /* PFS_REGION_WORKERS_MAX blocks */
	uint64_t *sessions; /* slots of PFS_REGION_SLOT_WORDS */
	uint32_t slots, counter_count;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t align_up(uint64_t n, uint64_t a)
{
	return (n + a - 1) & ~(a - 1);
}

static int pow2_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

static _Atomic uint64_t *word64(const struct pfs_region *r, size_t off)
{
	return (_Atomic uint64_t *)(r->base + off);
}

static _Atomic uint32_t *word32(const struct pfs_region *r, size_t off)
{
	return (_Atomic uint32_t *)(r->base + off);
}

static _Atomic uint64_t *atomic_of(uint64_t *w)
{
	return (_Atomic uint64_t *)w;
}

/* The native u32 whose bytes in memory are v little-endian: what a store of
 * the magic must write so that the LE reader of H_MAGIC sees it. */
static uint32_t le_word32(uint32_t v)
{
	uint8_t b[4];
	uint32_t w;

	pfs_put_le32(b, v);
	memcpy(&w, b, sizeof(w));
	return w;
}

uint64_t pfs_region_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where the parts go for the given sizes. */
struct layout {
	uint64_t cmd_off, cmd_bytes, evt_off, evt_bytes, workers_off, sessions_off, total;
	uint32_t slots;
};

static void plan(struct layout *l, uint64_t cmd_bytes, uint64_t evt_bytes, uint32_t slots)
{
	l->cmd_bytes = cmd_bytes;
	l->evt_bytes = evt_bytes;
	l->slots = slots;
	l->cmd_off = PFS_REGION_HEADER_BYTES;
	l->evt_off = align_up(l->cmd_off + pfs_ring_mem_bytes(cmd_bytes), PART_ALIGN);
	l->workers_off = align_up(l->evt_off + pfs_ring_mem_bytes(evt_bytes), PART_ALIGN);
	l->sessions_off =
		align_up(l->workers_off + PFS_REGION_WORKERS_MAX * PFS_REGION_WORKER_WORDS * 8ull,
			 PART_ALIGN);
	l->total =
		align_up(l->sessions_off + (uint64_t)slots * PFS_REGION_SLOT_WORDS * 8, PART_ALIGN);
}

static void write_header(uint8_t *h, const struct layout *l, uint32_t version)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pfs_put_le32(h + H_VERSION, version);
	pfs_put_le64(h + H_REGION_BYTES, l->total);
	pfs_put_le32(h + H_HEADER_BYTES, PFS_REGION_HEADER_BYTES);
	pfs_put_le32(h + H_PID, (uint32_t)getpid());
	pfs_put_le64(h + H_CMD_OFF, l->cmd_off);
	pfs_put_le64(h + H_CMD_BYTES, l->cmd_bytes);
	pfs_put_le64(h + H_EVT_OFF, l->evt_off);
	pfs_put_le64(h + H_EVT_BYTES, l->evt_bytes);
	pfs_put_le64(h + H_WORKERS_OFF, l->workers_off);
	pfs_put_le32(h + H_WORKERS_MAX, PFS_REGION_WORKERS_MAX);
	pfs_put_le32(h + H_WORKER_WORDS, PFS_REGION_WORKER_WORDS);
	pfs_put_le64(h + H_SESSIONS_OFF, l->sessions_off);
	pfs_put_le32(h + H_SLOTS, l->slots);
	pfs_put_le32(h + H_SLOT_WORDS, PFS_REGION_SLOT_WORDS);
	pfs_put_le32(h + H_COUNTERS, PFS_CTR_COUNT);
	pfs_put_le64(h + H_CREATED_NS, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* Binds a mapped, checked region's rings and counters to the handle. */
static int bind_parts(struct pfs_region *r, const struct layout *l)
{
	enum pfs_ring_side cmd_side = r->creator ? PFS_RING_CONSUMER : PFS_RING_PRODUCER;
	enum pfs_ring_side evt_side = r->creator ? PFS_RING_PRODUCER : PFS_RING_CONSUMER;
	struct pfs_ring *cmd = r->creator ? &r->in : &r->out;
	struct pfs_ring *evt = r->creator ? &r->out : &r->in;
	int rc;

	r->cmd_bytes = l->cmd_bytes;
	r->evt_bytes = l->evt_bytes;
	r->slots = l->slots;
	r->workers = (uint64_t *)(r->base + l->workers_off);
	r->sessions = (uint64_t *)(r->base + l->sessions_off);
	rc = pfs_ring_attach(cmd, r->base + l->cmd_off, l->cmd_bytes, cmd_side);
	if (!rc)
		rc = pfs_ring_attach(evt, r->base + l->evt_off, l->evt_bytes, evt_side);
	return rc;
}

static int check_config(const struct pfs_region_config *cfg, struct layout *l, char *err,
			size_t errlen)
{
	uint64_t cmd = cfg && cfg->cmd_ring_bytes ? cfg->cmd_ring_bytes : PFS_REGION_RING_DEFAULT;
	uint64_t evt = cfg && cfg->evt_ring_bytes ? cfg->evt_ring_bytes : PFS_REGION_RING_DEFAULT;
	uint32_t slots = cfg && cfg->session_slots ? cfg->session_slots : PFS_REGION_SLOTS_DEFAULT;

	if (!pow2_in(cmd, PFS_REGION_RING_MIN, PFS_REGION_RING_MAX) ||
	    !pow2_in(evt, PFS_REGION_RING_MIN, PFS_REGION_RING_MAX)) {
		errf(err, errlen,
		     "ring sizes %llu and %llu: each must be a power of two from %u to %llu bytes",
		     (unsigned long long)cmd, (unsigned long long)evt, PFS_REGION_RING_MIN,
		     (unsigned long long)PFS_REGION_RING_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	if (slots > PFS_REGION_SLOTS_MAX) {
		errf(err, errlen, "%u session slots: at most %u", slots, PFS_REGION_SLOTS_MAX);
		return PFS_ERR_INVALID_ARG;
	}
	plan(l, cmd, evt, slots);
	return 0;
}

int pfs_region_create(struct pfs_region **out, const char *path,
		      const struct pfs_region_config *cfg, uint64_t now_ns, char *err,
		      size_t errlen)
{
	uint32_t version = cfg && cfg->layout_version ? cfg->layout_version : PFS_REGION_VERSION;
	struct pfs_region *r;
	struct layout l;
	char tmp[PATH_MAX];
	int rc;

	*out = NULL;
	if (!path || !*path) {
		errf(err, errlen, "no path given for the control region");
		return PFS_ERR_INVALID_ARG;
	}
	rc = check_config(cfg, &l, err, errlen);
	if (rc)
		return rc;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp)) {
		errf(err, errlen, "control region path is too long: %s", path);
		return PFS_ERR_INVALID_ARG;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errf(err, errlen, "out of memory for the control region handle");
		return PFS_ERR_NOMEM;
	}
	r->creator = 1;
	r->version = version;
	r->counter_count = PFS_CTR_COUNT;
	r->pid = (uint32_t)getpid();
	r->bytes = l.total;
	unlink(tmp); /* left by an earlier run that had our pid */
	r->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (r->fd < 0) {
		rc = -errno;
		errf(err, errlen, "create %s: %s", tmp, strerror(errno));
		goto err_free;
	}
	if (ftruncate(r->fd, (off_t)l.total) != 0) {
		rc = -errno;
		errf(err, errlen, "size %s to %llu bytes: %s", tmp, (unsigned long long)l.total,
		     strerror(errno));
		goto err_unlink;
	}
	/* Reserve the pages now: a full tmpfs must fail here, not with SIGBUS
	 * at a later store into the mapping. */
	rc = posix_fallocate(r->fd, 0, (off_t)l.total);
	if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
		errf(err, errlen, "reserve %llu bytes for %s: %s", (unsigned long long)l.total, tmp,
		     strerror(rc));
		rc = -rc;
		goto err_unlink;
	}
	r->base = mmap(NULL, l.total, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		errf(err, errlen, "map %s: %s", tmp, strerror(errno));
		r->base = NULL;
		goto err_unlink;
	}
	write_header(r->base, &l, version);
	if ((rc = pfs_ring_format(r->base + l.cmd_off, l.cmd_bytes)) ||
	    (rc = pfs_ring_format(r->base + l.evt_off, l.evt_bytes)) || (rc = bind_parts(r, &l))) {
		errf(err, errlen, "format the rings of %s: %s", tmp, pfs_strerror(rc));
		goto err_unmap;
	}
	atomic_store_explicit(word64(r, H_HEARTBEAT), now_ns, memory_order_relaxed);
	atomic_store_explicit(word32(r, H_STATE), PFS_DP_STARTING, memory_order_relaxed);
	atomic_store_explicit(word32(r, H_WORKER_COUNT), 0, memory_order_relaxed);
	/* release: a reader that sees the magic sees the whole header (the
	 * rename below publishes the file anyway; this orders a reader that
	 * opened the temporary name by accident, or a future in-place create) */
	atomic_store_explicit(word32(r, H_MAGIC), le_word32(PFS_REGION_MAGIC),
			      memory_order_release);
	if (cfg && cfg->exclusive) {
		if (link(tmp, path) != 0) {
			rc = -errno;
			errf(err, errlen, "publish %s: %s", path, strerror(errno));
			goto err_unmap;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = -errno;
		errf(err, errlen, "publish %s as %s: %s", tmp, path, strerror(errno));
		goto err_unmap;
	}
	*out = r;
	return 0;

err_unmap:
	munmap(r->base, l.total);
err_unlink:
	unlink(tmp);
	close(r->fd);
err_free:
	free(r);
	return rc;
}

/* Reads and checks the header of a mapped region of `size` bytes. */
static int check_header(const uint8_t *h, uint32_t magic, uint64_t size, struct layout *l,
			const char *path, char *err, size_t errlen)
{
	uint32_t version = pfs_get_le32(h + H_VERSION);
	uint64_t workers_end;

	if (magic != PFS_REGION_MAGIC) {
		errf(err, errlen,
		     "%s is not a PacketFS control region (magic 0x%08x, expected 0x%08x)%s", path,
		     magic, PFS_REGION_MAGIC,
		     magic == 0 ? ": the data plane has not finished creating it" : "");
		return PFS_ERR_REGION_INVALID;
	}
	/* before any size: a region of another version may be laid out otherwise */
	if (version != PFS_REGION_VERSION) {
		errf(err, errlen,
		     "%s has control layout version %u, this side speaks version %u: run a data plane and a controller from the same build",
		     path, version, PFS_REGION_VERSION);
		return PFS_ERR_REGION_VERSION;
	}
	l->cmd_off = pfs_get_le64(h + H_CMD_OFF);
	l->cmd_bytes = pfs_get_le64(h + H_CMD_BYTES);
	l->evt_off = pfs_get_le64(h + H_EVT_OFF);
	l->evt_bytes = pfs_get_le64(h + H_EVT_BYTES);
	l->workers_off = pfs_get_le64(h + H_WORKERS_OFF);
	l->sessions_off = pfs_get_le64(h + H_SESSIONS_OFF);
	l->slots = pfs_get_le32(h + H_SLOTS);
	l->total = pfs_get_le64(h + H_REGION_BYTES);
	workers_end = l->workers_off + PFS_REGION_WORKERS_MAX * PFS_REGION_WORKER_WORDS * 8ull;
	/* Every part in order, aligned, inside the file. The sizes are bounded
	 * first, so none of the sums below can wrap. */
	if (l->total != size || pfs_get_le32(h + H_HEADER_BYTES) != PFS_REGION_HEADER_BYTES ||
	    pfs_get_le32(h + H_WORKERS_MAX) != PFS_REGION_WORKERS_MAX ||
	    pfs_get_le32(h + H_WORKER_WORDS) != PFS_REGION_WORKER_WORDS ||
	    pfs_get_le32(h + H_SLOT_WORDS) != PFS_REGION_SLOT_WORDS ||
	    pfs_get_le32(h + H_COUNTERS) > PFS_REGION_WORKER_WORDS ||
	    !pow2_in(l->cmd_bytes, PFS_REGION_RING_MIN, PFS_REGION_RING_MAX) ||
	    !pow2_in(l->evt_bytes, PFS_REGION_RING_MIN, PFS_REGION_RING_MAX) ||
	    l->slots > PFS_REGION_SLOTS_MAX || size > (UINT64_C(1) << 40) ||
	    ((l->cmd_off | l->evt_off | l->workers_off | l->sessions_off) & 63) ||
	    l->cmd_off < PFS_REGION_HEADER_BYTES || l->cmd_off > size ||
	    l->evt_off < l->cmd_off + pfs_ring_mem_bytes(l->cmd_bytes) || l->evt_off > size ||
	    l->workers_off < l->evt_off + pfs_ring_mem_bytes(l->evt_bytes) ||
	    l->workers_off > size || l->sessions_off < workers_end || l->sessions_off > size ||
	    l->sessions_off + (uint64_t)l->slots * PFS_REGION_SLOT_WORDS * 8 > size) {
		errf(err, errlen,
		     "%s: the control region's header describes parts outside its %llu bytes or sizes out of range",
		     path, (unsigned long long)size);
		return PFS_ERR_REGION_INVALID;
	}
	return 0;
}

int pfs_region_attach(struct pfs_region **out, const char *path, char *err, size_t errlen)
{
	struct pfs_region *r;
	struct layout l;
	struct stat st;
	uint32_t magic;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		errf(err, errlen, "out of memory for the control region handle");
		return PFS_ERR_NOMEM;
	}
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		errf(err, errlen, "open control region %s: %s", path, strerror(errno));
		goto err_free;
	}
	if (fstat(r->fd, &st) != 0) {
		rc = -errno;
		errf(err, errlen, "stat %s: %s", path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)PFS_REGION_HEADER_BYTES) {
		errf(err, errlen,
		     "%s is not a PacketFS control region (%lld bytes, not a file of at least %u)",
		     path, (long long)st.st_size, PFS_REGION_HEADER_BYTES);
		rc = PFS_ERR_REGION_INVALID;
		goto err_close;
	}
	r->bytes = (uint64_t)st.st_size;
	r->base = mmap(NULL, r->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->base == MAP_FAILED) {
		rc = -errno;
		errf(err, errlen, "map %s: %s", path, strerror(errno));
		goto err_close;
	}
	/* acquire: pairs with the creator's release store of the magic, so the
	 * header it wrote before is what we check (le_word32 is its own inverse) */
	magic = le_word32(atomic_load_explicit(word32(r, H_MAGIC), memory_order_acquire));
	rc = check_header(r->base, magic, r->bytes, &l, path, err, errlen);
	if (rc)
		goto err_unmap;
	r->version = PFS_REGION_VERSION;
	r->pid = pfs_get_le32(r->base + H_PID);
	r->counter_count = pfs_get_le32(r->base + H_COUNTERS);
	rc = bind_parts(r, &l);
	if (rc) {
		errf(err, errlen, "%s: a ring's indices are inconsistent (%s)", path,
		     pfs_strerror(rc));
		goto err_unmap;
	}
	*out = r;
	return 0;

err_unmap:
	munmap(r->base, r->bytes);
err_close:
	close(r->fd);
err_free:
	free(r);
	return rc;
}

void pfs_region_close(struct pfs_region *r)
{
	if (!r)
		return;
	munmap(r->base, r->bytes);
	close(r->fd);
	free(r);
}

int pfs_region_send(struct pfs_region *r, const void *msg, size_t len)
{
	return pfs_ring_push(&r->out, msg, len);
}

int pfs_region_recv(struct pfs_region *r, void *buf, size_t cap, size_t *len)
{
	return pfs_ring_pop(&r->in, buf, cap, len);
}

void pfs_region_get_info(const struct pfs_region *r, struct pfs_region_info *info)
{
	const struct pfs_ring *cmd = r->creator ? &r->in : &r->out;
	const struct pfs_ring *evt = r->creator ? &r->out : &r->in;
	uint32_t workers = atomic_load_explicit(word32(r, H_WORKER_COUNT), memory_order_relaxed);

	memset(info, 0, sizeof(*info));
	info->layout_version = r->version;
	info->pid = r->pid;
	info->state = atomic_load_explicit(word32(r, H_STATE), memory_order_acquire);
	info->worker_count = workers < PFS_REGION_WORKERS_MAX ? workers : PFS_REGION_WORKERS_MAX;
	info->heartbeat_ns = atomic_load_explicit(word64(r, H_HEARTBEAT), memory_order_relaxed);
	info->region_bytes = r->bytes;
	info->cmd_ring_bytes = r->cmd_bytes;
	info->evt_ring_bytes = r->evt_bytes;
	info->cmd_used = pfs_ring_used(cmd);
	info->evt_used = pfs_ring_used(evt);
	info->workers_max = PFS_REGION_WORKERS_MAX;
	info->worker_words = PFS_REGION_WORKER_WORDS;
	info->session_slots = r->slots;
	info->slot_words = PFS_REGION_SLOT_WORDS;
	info->counter_count = r->counter_count;
	info->creator = r->creator;
}

void pfs_region_heartbeat(struct pfs_region *r, uint64_t now_ns)
{
	/* relaxed: the beat orders nothing, it only has to be whole */
	atomic_store_explicit(word64(r, H_HEARTBEAT), now_ns, memory_order_relaxed);
}

void pfs_region_set_state(struct pfs_region *r, enum pfs_dp_state state)
{
	/* release: events sent before a state change are in the ring when the
	 * controller sees the new state (it drains after seeing STOPPED) */
	atomic_store_explicit(word32(r, H_STATE), (uint32_t)state, memory_order_release);
}

void pfs_region_set_workers(struct pfs_region *r, uint32_t worker_count)
{
	atomic_store_explicit(word32(r, H_WORKER_COUNT), worker_count, memory_order_relaxed);
}

uint64_t *pfs_region_worker_counters(struct pfs_region *r, uint32_t worker)
{
	if (worker >= PFS_REGION_WORKERS_MAX)
		return NULL;
	return r->workers + (size_t)worker * PFS_REGION_WORKER_WORDS;
}

static uint64_t *slot_at(const struct pfs_region *r, uint32_t slot)
{
	return r->sessions + (size_t)slot * PFS_REGION_SLOT_WORDS;
}

/*
 * Slot reassignment is a seqlock with one writer (the data plane's control
 * thread): the generation is odd while a slot's head and counters change, and
 * a reader that sees it change (or odd) across its copy copies again.
 */
static void slot_begin(uint64_t *s)
{
	_Atomic uint64_t *gen = atomic_of(&s[PFS_SLOT_GENERATION]);

	atomic_store_explicit(gen, atomic_load_explicit(gen, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* the odd generation is visible before any of the changes below */
	atomic_thread_fence(memory_order_release);
}

static void slot_end(uint64_t *s)
{
	_Atomic uint64_t *gen = atomic_of(&s[PFS_SLOT_GENERATION]);

	/* release: the changes are visible to a reader that sees the even value */
	atomic_store_explicit(gen, atomic_load_explicit(gen, memory_order_relaxed) + 1,
			      memory_order_release);
}

int pfs_region_session_claim(struct pfs_region *r, uint64_t session_id, uint32_t worker,
			     uint64_t **counters)
{
	if (!r->creator || worker >= PFS_REGION_WORKERS_MAX)
		return PFS_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < r->slots; i++) {
		uint64_t *s = slot_at(r, i);

		if (atomic_load_explicit(atomic_of(&s[PFS_SLOT_STATE]), memory_order_relaxed) !=
		    PFS_SSTATE_FREE)
			continue;
		slot_begin(s);
		atomic_store_explicit(atomic_of(&s[PFS_SLOT_SESSION_ID]), session_id,
				      memory_order_relaxed);
		atomic_store_explicit(atomic_of(&s[PFS_SLOT_WORKER]), worker, memory_order_relaxed);
		for (uint32_t w = PFS_REGION_SLOT_HEAD_WORDS; w < PFS_REGION_SLOT_WORDS; w++)
			atomic_store_explicit(atomic_of(&s[w]), 0, memory_order_relaxed);
		atomic_store_explicit(atomic_of(&s[PFS_SLOT_STATE]), PFS_SSTATE_STARTING,
				      memory_order_relaxed);
		slot_end(s);
		if (counters)
			*counters = s + PFS_REGION_SLOT_HEAD_WORDS;
		return (int)i;
	}
	return PFS_ERR_LIMIT;
}

void pfs_region_session_set_state(struct pfs_region *r, int slot, enum pfs_sstate state)
{
	if (slot < 0 || (uint32_t)slot >= r->slots)
		return;
	atomic_store_explicit(atomic_of(&slot_at(r, (uint32_t)slot)[PFS_SLOT_STATE]),
			      (uint64_t)state, memory_order_relaxed);
}

void pfs_region_session_release(struct pfs_region *r, int slot)
{
	uint64_t *s;

	if (slot < 0 || (uint32_t)slot >= r->slots)
		return;
	s = slot_at(r, (uint32_t)slot);
	slot_begin(s);
	atomic_store_explicit(atomic_of(&s[PFS_SLOT_STATE]), PFS_SSTATE_FREE, memory_order_relaxed);
	atomic_store_explicit(atomic_of(&s[PFS_SLOT_SESSION_ID]), 0, memory_order_relaxed);
	slot_end(s);
}

size_t pfs_region_counter_words(const struct pfs_region *r)
{
	return (size_t)PFS_REGION_WORKERS_MAX * PFS_REGION_WORKER_WORDS +
	       (size_t)r->slots * PFS_REGION_SLOT_WORDS;
}

static void copy_words(uint64_t *out, uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = atomic_load_explicit(atomic_of(&src[i]), memory_order_relaxed);
}

static void copy_slot(uint64_t *out, uint64_t *s)
{
	_Atomic uint64_t *gen = atomic_of(&s[PFS_SLOT_GENERATION]);

	for (int t = 0; t < SLOT_TRIES; t++) {
		/* acquire: pairs with slot_end's release */
		uint64_t g1 = atomic_load_explicit(gen, memory_order_acquire);

		if (g1 & 1)
			continue;
		copy_words(out, s, PFS_REGION_SLOT_WORDS);
		/* our loads above complete before we look at the generation again */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(gen, memory_order_relaxed) == g1)
			return;
	}
	/* reassigned under every try: report it as free rather than mixed */
	memset(out, 0, PFS_REGION_SLOT_WORDS * sizeof(*out));
}

int pfs_region_counters(const struct pfs_region *r, uint64_t *out, size_t words)
{
	size_t wb = (size_t)PFS_REGION_WORKERS_MAX * PFS_REGION_WORKER_WORDS;

	if (words < pfs_region_counter_words(r))
		return PFS_ERR_BUF_TOO_SMALL;
	copy_words(out, r->workers, wb);
	for (uint32_t i = 0; i < r->slots; i++)
		copy_slot(out + wb + (size_t)i * PFS_REGION_SLOT_WORDS, slot_at(r, i));
	return 0;
}
