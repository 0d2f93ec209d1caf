/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control region: one shared-memory file per data-plane instance through
 * which the controller (Node, via the addon) and the data plane talk. The data
 * plane creates it; the controller attaches to it. It holds
 *
 *   - a header page: magic, layout version, where the other parts are, the
 *     data plane's pid, its heartbeat and its state (enum pfs_dp_state);
 *   - the command ring (controller -> data plane) and the event ring (data
 *     plane -> controller), each a ring.h SPSC ring of ring_msg.h messages;
 *   - the counters: a block per worker and a table of session slots, each
 *     slot a session id, state, worker and the session's counters.
 *
 * Byte layout in docs/protocol.md, "Control region (shared memory)". The
 * region never leaves the host: the words both sides update while running
 * (heartbeat, state, ring indices, counters) are native-endian atomics at
 * fixed, aligned offsets; the fields written once at creation are
 * little-endian, like the messages.
 *
 * Threads: each ring has one producer and one consumer thread (the data
 * plane's control thread funnels its workers' events); a worker block has one
 * writer, its worker; the session table is written by the control thread.
 */
#ifndef PFS_REGION_H
#define PFS_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"

#define PFS_REGION_HEADER_BYTES 4096u
#define PFS_REGION_RING_MIN (2u * (PFS_MSG_MAX + 8u)) /* the largest message always fits */
#define PFS_REGION_RING_MAX (UINT64_C(64) << 20)
#define PFS_REGION_RING_DEFAULT (256u * 1024)
#define PFS_REGION_SLOTS_DEFAULT 1024u
#define PFS_REGION_SLOTS_MAX 65536u

struct pfs_region;

struct pfs_region_config {
	uint64_t cmd_ring_bytes; /* power of two, 0 = PFS_REGION_RING_DEFAULT */
	uint64_t evt_ring_bytes; /* power of two, 0 = PFS_REGION_RING_DEFAULT */
	uint32_t session_slots;	 /* 0 = PFS_REGION_SLOTS_DEFAULT */
	int exclusive;		 /* fail with -EEXIST if the path exists (else replace it) */
	/* Layout version written into the header: 0 = PFS_REGION_VERSION. Any
	 * other value only makes regions that attaching sides must refuse: for
	 * tests of that refusal. */
	uint32_t layout_version;
};

/* What either side can read of a region (pfs_region_info). */
struct pfs_region_info {
	uint32_t layout_version;
	uint32_t pid;	       /* the data plane's */
	uint32_t state;	       /* enum pfs_dp_state */
	uint32_t worker_count; /* workers in use, <= workers_max */
	uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of the data plane's last beat */
	uint64_t region_bytes;
	uint64_t cmd_ring_bytes, evt_ring_bytes;
	uint64_t cmd_used, evt_used; /* bytes waiting in each ring now */
	uint32_t workers_max, worker_words;
	uint32_t session_slots, slot_words;
	uint32_t counter_count; /* PFS_CTR_COUNT of the data plane that made it */
	int creator;		/* 1 on the data plane's handle */
};

/*
 * Data plane: creates the region at path (mode 0600; e.g. /dev/shm/pfs-dp-1)
 * in state PFS_DP_STARTING with a first heartbeat at now_ns. The file is
 * written in full under a temporary name and then renamed (or linked, when
 * exclusive) into place, so an attaching side never sees half a header.
 * Returns 0, PFS_ERR_INVALID_ARG (a size out of range; err says which and the
 * allowed range), -EEXIST (exclusive and path exists), PFS_ERR_NOMEM or
 * another negated errno of open/ftruncate/mmap/rename (err names the call
 * and the path).
 */
int pfs_region_create(struct pfs_region **out, const char *path,
		      const struct pfs_region_config *cfg, uint64_t now_ns, char *err,
		      size_t errlen);

/*
 * Controller: maps the region at path and checks it before trusting any of
 * it. Returns 0, a negated errno of open/fstat/mmap (-ENOENT: no data plane
 * made it yet), PFS_ERR_REGION_VERSION (err names both versions),
 * PFS_ERR_REGION_INVALID (not a region, not initialised, or parts outside
 * the file), PFS_ERR_RING_CORRUPT or PFS_ERR_NOMEM.
 */
int pfs_region_attach(struct pfs_region **out, const char *path, char *err, size_t errlen);

/* Unmaps and closes; the file stays (the data plane unlinks it when it is
 * done). NULL is allowed. */
void pfs_region_close(struct pfs_region *r);

/*
 * Sends one encoded message: on the event ring from the data plane, on the
 * command ring from the controller. Returns 0 or what pfs_ring_push returns
 * (PFS_ERR_RING_FULL when the other side is not draining).
 */
int pfs_region_send(struct pfs_region *r, const void *msg, size_t len);

/*
 * Receives one message into buf (PFS_MSG_MAX bytes always suffice): commands
 * on the data plane's handle, events on the controller's. Returns 1, 0 (none
 * waiting) or what pfs_ring_pop returns.
 */
int pfs_region_recv(struct pfs_region *r, void *buf, size_t cap, size_t *len);

void pfs_region_get_info(const struct pfs_region *r, struct pfs_region_info *info);

/* Data plane: the liveness and life-cycle words the controller watches. */
void pfs_region_heartbeat(struct pfs_region *r, uint64_t now_ns);
void pfs_region_set_state(struct pfs_region *r, enum pfs_dp_state state);
void pfs_region_set_workers(struct pfs_region *r, uint32_t worker_count);

/* CLOCK_MONOTONIC in ns: the clock of the heartbeat. */
uint64_t pfs_region_now_ns(void);

/*
 * Data plane: the counter block of a worker (PFS_REGION_WORKER_WORDS words,
 * indexed by enum pfs_counter), written only by that worker with
 * pfs_counter_add/set. NULL if worker >= PFS_REGION_WORKERS_MAX.
 */
uint64_t *pfs_region_worker_counters(struct pfs_region *r, uint32_t worker);

/*
 * Data plane: takes a free session slot for session_id, owned by worker, in
 * state PFS_SSTATE_STARTING with zeroed counters (*counters points at them).
 * Returns the slot (>= 0), PFS_ERR_LIMIT (every slot taken) or
 * PFS_ERR_INVALID_ARG.
 */
int pfs_region_session_claim(struct pfs_region *r, uint64_t session_id, uint32_t worker,
			     uint64_t **counters);
void pfs_region_session_set_state(struct pfs_region *r, int slot, enum pfs_sstate state);
/* Frees a slot; its worker must no longer write its counters. */
void pfs_region_session_release(struct pfs_region *r, int slot);

/* u64 words of a counter snapshot: the worker blocks, then the session slots. */
size_t pfs_region_counter_words(const struct pfs_region *r);

/*
 * Either side: copies the counters into out (pfs_region_counter_words words):
 * workers_max blocks of worker_words, then session_slots slots of slot_words.
 * A slot that is being reassigned while it is copied reads as free. Returns
 * 0 or PFS_ERR_BUF_TOO_SMALL.
 */
int pfs_region_counters(const struct pfs_region *r, uint64_t *out, size_t words);

/* Counters are written by one thread and read by any: relaxed atomics keep
 * each word whole without ordering anything. */
static inline void pfs_counter_add(uint64_t *block, enum pfs_counter c, uint64_t n)
{
	__atomic_store_n(&block[c], __atomic_load_n(&block[c], __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void pfs_counter_set(uint64_t *block, enum pfs_counter c, uint64_t v)
{
	__atomic_store_n(&block[c], v, __ATOMIC_RELAXED);
}

#endif /* PFS_REGION_H */
