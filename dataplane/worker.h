/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A data-plane worker: run-to-completion over one io backend and the
 * sessions it owns (DESIGN §2). Each round it sends what its sessions have
 * ready, receives a burst and hands each packet to the session its
 * connection id names, queues more files for the transfers it runs, and
 * publishes counters. Control arrives as decoded ring messages
 * (pfs_worker_command) between rounds; events leave through a callback. No
 * locks and no threads in here: pfs-dataplane runs one worker per pinned
 * thread and feeds each its own command queue.
 */
#ifndef PFS_WORKER_H
#define PFS_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "ring_msg.h"

#define PFS_WORKER_SESSIONS 256

struct pfs_worker_config {
	uint32_t index;
	struct pfs_io *io;	  /* taken over: closed by pfs_worker_free */
	const char *receive_root; /* where received files go (must exist) */
	uint32_t mtu;		  /* UDP payload bytes per packet */
	uint64_t *counters;	  /* this worker's counter block (region.h), or NULL */
	void *ctx;
	/* An event for the controller (READY excepted). m's strings are valid
	 * only during the call. */
	void (*emit)(void *ctx, const struct pfs_msg *m);
};

struct pfs_worker;

/* Returns 0, PFS_ERR_NOMEM or a negated errno (the receive root), err says. */
int pfs_worker_new(struct pfs_worker **out, const struct pfs_worker_config *cfg, char *err,
		   size_t errlen);

/* Ends every session (open received files are abandoned, logs persisted). */
void pfs_worker_free(struct pfs_worker *w);

/*
 * Carries out one command: ADD_SESSION (counters: the session's slot, or
 * NULL), REMOVE_SESSION, SET_POLICY, SET_KEYS, START_TRANSFER, CANCEL_TRANSFER. Its
 * outcome is reported as events (SESSION_STATE, TRANSFER_DONE); the return
 * value only says whether the command was understood here: 0, or
 * PFS_ERR_INVALID_ARG for a command this worker cannot act on (unknown
 * session, a type that is not for workers).
 */
int pfs_worker_command(struct pfs_worker *w, const struct pfs_msg *m, uint64_t *counters,
		       uint64_t now_ns);

/*
 * One round. Returns the time by which the worker wants to run again (it may
 * be now: there is more to do).
 */
uint64_t pfs_worker_poll(struct pfs_worker *w, uint64_t now_ns);

/* Sessions and transfers this worker has now. */
uint32_t pfs_worker_sessions(const struct pfs_worker *w);
uint32_t pfs_worker_transfers(const struct pfs_worker *w);

/*
 * The worker that must own a session whose local connection id is cid, among
 * n: the one whose socket the kernel hands the session's packets to
 * (io_udp's reuseport steering reads the same bytes of the header).
 */
uint32_t pfs_worker_for_cid(uint64_t cid, uint32_t n);

#endif
