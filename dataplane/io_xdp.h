/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_xdp: the AF_XDP backend, behind the same burst interface as io_udp
 * (io.h). Two parts:
 *
 *   pfs_xdp_prog  the steering program (bpf/pfs_xdp.bpf.c) attached to one
 *                 interface through libxdp's dispatcher, so it coexists with
 *                 other XDP programs; it hands PacketFS datagrams to the
 *                 AF_XDP socket of their receive queue and passes everything
 *                 else to the kernel.
 *   io_xdp        one AF_XDP socket on one queue with its own UMEM (hugepages
 *                 when the machine has them reserved, else normal pages): the
 *                 data plane writes and strips the Ethernet/IP/UDP headers
 *                 itself (ethframe.h) and addresses frames to the next hop the
 *                 kernel's neighbour table names (neigh.h).
 *
 * Frames: UMEM chunks of frame_size bytes, split in two fixed halves — receive
 * chunks circulate fill ring → rx ring → engine → fill ring; send chunks
 * circulate alloc → tx ring → completion ring → alloc — so sending can never
 * starve reception of buffers (FIELD-NOTES: a fill ring left empty stops
 * reception).
 *
 * With several queues (pfs_io_xdp_group), a datagram whose connection id
 * belongs to another queue's worker (pfs_worker_for_cid) is copied to that
 * worker through a lock-free single-producer ring, since an AF_XDP socket
 * only ever receives from its own queue and the NIC's hash does not know
 * connection ids.
 *
 * Built only when clang, bpftool, libbpf and libxdp were found at build time
 * (PFS_HAVE_XDP); otherwise every entry point fails with a message saying so.
 */
#ifndef PFS_IO_XDP_H
#define PFS_IO_XDP_H

#include <stddef.h>
#include <stdint.h>

#include "ethframe.h"
#include "io.h"

enum pfs_xdp_mode {
	PFS_XDP_MODE_AUTO = 0, /* native (driver) first, generic (SKB) if refused */
	PFS_XDP_MODE_NATIVE = 1,
	PFS_XDP_MODE_GENERIC = 2,
};

enum pfs_xdp_copy {
	PFS_XDP_COPY_AUTO = 0,	   /* zero-copy bind first, copy mode if refused */
	PFS_XDP_COPY_ZEROCOPY = 1, /* zero-copy or fail */
	PFS_XDP_COPY_COPY = 2,	   /* copy mode only */
};

/* Whether this build has the AF_XDP backend; why not in why when it has not. */
int pfs_xdp_available(char *why, size_t whylen);

struct pfs_xdp_prog;

/*
 * Attaches the steering program to ifname for UDP port `port` (host order).
 * Removes PacketFS programs a crashed data plane left on the interface first.
 * Needs root (CAP_BPF + CAP_NET_ADMIN) and bpffs at /sys/fs/bpf (mounted here
 * when missing). Errors say what to do. Returns 0, PFS_ERR_* or -errno.
 */
int pfs_xdp_prog_attach(struct pfs_xdp_prog **out, const char *ifname, uint16_t port,
			enum pfs_xdp_mode mode, char *err, size_t errlen);
/* Detaches the program (other programs on the interface stay) and frees p. */
void pfs_xdp_prog_detach(struct pfs_xdp_prog *p);
/* The mode it got: PFS_XDP_MODE_NATIVE or PFS_XDP_MODE_GENERIC. */
enum pfs_xdp_mode pfs_xdp_prog_mode(const struct pfs_xdp_prog *p);
int pfs_xdp_prog_ifindex(const struct pfs_xdp_prog *p);
/* Receive queues of the interface (the sockets one may bind). */
uint32_t pfs_xdp_prog_queues(const struct pfs_xdp_prog *p);
/* 1 when attached through libxdp's dispatcher (other XDP programs can share
 * the interface); 0 when alone — libxdp falls back to that on kernels that
 * cannot run its dispatcher (no BPF_PROG_TYPE_EXT/freplace). */
int pfs_xdp_prog_shared(const struct pfs_xdp_prog *p);
/* The program's per-reason packet counts (bpf/pfs_xdp.h), summed over CPUs.
 * counts has PFS_XDP_REASON_MAX entries. Returns 0 or -errno. */
int pfs_xdp_prog_counts(const struct pfs_xdp_prog *p, uint64_t *counts);
/* Detaches every PacketFS steering program from ifname (what a crashed data
 * plane left). Returns how many, or a negative error with err set. */
int pfs_xdp_prog_remove_stale(const char *ifname, char *err, size_t errlen);
/* Whether a PacketFS steering program is attached to ifindex (1/0) or -errno. */
int pfs_xdp_prog_attached(int ifindex);

const char *pfs_xdp_mode_name(enum pfs_xdp_mode m);
/* The flag values "auto", "native", "generic" / "auto", "zerocopy", "copy"
 * (--xdp-mode, --xdp-copy): 0, or PFS_ERR_INVALID_ARG leaving *out as it was. */
int pfs_xdp_mode_parse(const char *s, enum pfs_xdp_mode *out);
int pfs_xdp_copy_parse(const char *s, enum pfs_xdp_copy *out);

struct pfs_xdp_config {
	struct pfs_xdp_prog *prog; /* attached to the interface to use */
	uint32_t queue;		   /* the receive queue this socket serves */
	struct pfs_addr local;	   /* our IP and the PacketFS port; an unspecified
				    * IP takes the interface's first of the family */
	uint32_t frames;	   /* UMEM chunks; 0: 8192 */
	uint32_t frame_size;	   /* 2048 or 4096; 0: 4096 */
	uint32_t ring_size;	   /* entries of each ring (power of two); 0: 2048 */
	uint32_t mtu;		   /* largest UDP payload sent or accepted */
	enum pfs_xdp_copy copy;
	int no_hugepages; /* 1: normal pages even where hugepages are reserved */
};

/* What a socket got, for status, logs and metrics. */
struct pfs_xdp_info {
	char ifname[16];
	uint32_t queue;
	int zero_copy;	     /* 1: zero-copy bind; 0: copy mode */
	int need_wakeup;     /* the kernel honours XDP_USE_NEED_WAKEUP */
	const char *umem;    /* "hugetlb" or "normal" */
	uint64_t umem_bytes; /* UMEM size */
	uint32_t frames, frame_size;
	struct pfs_addr local; /* the address frames are sent from */
	uint64_t wakeups;      /* sendto/recvfrom kicks made */
	uint64_t no_neighbour; /* frames dropped while a next hop was being resolved */
	uint64_t handed_off;   /* datagrams passed to another queue's worker */
	uint64_t handoff_dropped;
	uint64_t refused[PFS_ETH_VERDICT_MAX]; /* received frames refused, by reason */
};

int pfs_io_xdp_open(struct pfs_io **out, const struct pfs_xdp_config *cfg, char *err,
		    size_t errlen);
/* The socket to poll (POLLIN) when idle. */
int pfs_io_xdp_fd(const struct pfs_io *io);
/* Fills info; returns 0, or PFS_ERR_INVALID_ARG if io is not an io_xdp. */
int pfs_io_xdp_info(const struct pfs_io *io, struct pfs_xdp_info *info);

/*
 * Joins n io_xdp sockets (ios[k] serves the worker k) so each passes the
 * datagrams of connection ids it does not own to their owner. Call before any
 * traffic; every member keeps running on its own thread. Returns 0,
 * PFS_ERR_INVALID_ARG or PFS_ERR_NOMEM.
 */
int pfs_io_xdp_group(struct pfs_io **ios, uint32_t n, char *err, size_t errlen);

#endif
