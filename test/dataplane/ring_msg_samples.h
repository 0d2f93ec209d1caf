/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One valid message of every type, with every field set to something other
 * than zero where the rules allow: shared by the message and region tests and
 * by the seed-corpus generator of the ring_msg fuzz target.
 */
#ifndef PFS_RING_MSG_SAMPLES_H
#define PFS_RING_MSG_SAMPLES_H

#include <string.h>

#include "ring_msg.h"

static const uint16_t sample_types[] = {
	/* commands */
	PFS_MSG_ADD_SESSION,
	PFS_MSG_REMOVE_SESSION,
	PFS_MSG_SET_POLICY,
	PFS_MSG_START_TRANSFER,
	PFS_MSG_CANCEL_TRANSFER,
	PFS_MSG_SHUTDOWN,
	PFS_MSG_SET_KEYS,
	/* events */
	PFS_MSG_READY,
	PFS_MSG_SESSION_STATE,
	PFS_MSG_TRANSFER_PROGRESS,
	PFS_MSG_TRANSFER_DONE,
	PFS_MSG_FILE_RECEIVED,
	PFS_MSG_LOG,
	PFS_MSG_BACKEND,
};
#define SAMPLE_TYPES (sizeof(sample_types) / sizeof(sample_types[0]))

static struct pfs_msg_str sample_str(const char *s)
{
	return (struct pfs_msg_str){ .p = (const uint8_t *)s, .len = (uint16_t)strlen(s) };
}

static void sample_policy(struct pfs_msg_policy *p)
{
	*p = (struct pfs_msg_policy){ .window_blocks = 512,
				      .cc = PFS_MSG_CC_BBR,
				      .rate_cap = 125000000,
				      .fixed_rate = 0,
				      .max_pto_backoff = 6,
				      .max_retries = 10 };
}

/* A valid message of the given type into *m. */
static void sample_msg(uint16_t type, struct pfs_msg *m)
{
	static const char *const sources[] = { "/srv/images/base.qcow2", "/srv/pkgs",
					       "relative/dir with spaces/é" };

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case PFS_MSG_ADD_SESSION: {
		struct pfs_msg_add_session *a = &m->u.add_session;

		a->session_id = 0x0102030405060708ull;
		a->local_conn_id = 0x1111222233334444ull;
		a->peer_conn_id = 0xfedcba9876543210ull;
		a->family = PFS_FAMILY_IPV6;
		for (int i = 0; i < 16; i++)
			a->addr[i] = (uint8_t)(0x20 + i);
		a->port = 4433;
		a->aead = PFS_MSG_AEAD_CHACHA20POLY1305;
		for (int i = 0; i < 32; i++) {
			a->tx_key[i] = (uint8_t)i;
			a->rx_key[i] = (uint8_t)(0x80 + i);
		}
		for (int i = 0; i < 12; i++) {
			a->tx_iv[i] = (uint8_t)(0x40 + i);
			a->rx_iv[i] = (uint8_t)(0xc0 + i);
		}
		for (int i = 0; i < 32; i++)
			a->pair_key[i] = (uint8_t)(0xa0 + i);
		a->tx_log_id = 7;
		a->tx_log_capacity = 1ull << 34;
		a->tx_epoch = 0x0a0b0c0d0e0f1011ull;
		a->tx_resume_at = 123456789ull;
		a->rx_epoch = 0;
		a->rx_resume_at = UINT64_MAX;
		a->tx_log_path = sample_str("/var/lib/pfs/logs/peer-a.tx");
		a->rx_log_id = 8;
		a->rx_log_capacity = 1ull << 30;
		a->rx_log_path = sample_str("/var/lib/pfs/logs/peer-a.rx");
		sample_policy(&a->policy);
		break;
	}
	case PFS_MSG_REMOVE_SESSION:
		m->u.session_id = 0x0102030405060708ull;
		break;
	case PFS_MSG_SET_POLICY:
		m->u.set_policy.session_id = 42;
		sample_policy(&m->u.set_policy.policy);
		m->u.set_policy.policy.cc = PFS_MSG_CC_FIXED;
		m->u.set_policy.policy.fixed_rate = 1000000;
		break;
	case PFS_MSG_START_TRANSFER:
		m->u.start_transfer.transfer_id = 99;
		m->u.start_transfer.session_id = 42;
		m->u.start_transfer.dest = sample_str("incoming/today");
		m->u.start_transfer.nsources = 3;
		for (int i = 0; i < 3; i++)
			m->u.start_transfer.sources[i] = sample_str(sources[i]);
		break;
	case PFS_MSG_CANCEL_TRANSFER:
		m->u.transfer_id = 99;
		break;
	case PFS_MSG_SHUTDOWN:
		m->u.shutdown = PFS_SHUTDOWN_DRAIN;
		break;
	case PFS_MSG_SET_KEYS:
		m->u.set_keys.session_id = 42;
		for (int i = 0; i < 32; i++) {
			m->u.set_keys.tx_key[i] = (uint8_t)(0x10 + i);
			m->u.set_keys.rx_key[i] = (uint8_t)(0x90 + i);
		}
		for (int i = 0; i < 12; i++) {
			m->u.set_keys.tx_iv[i] = (uint8_t)(0x50 + i);
			m->u.set_keys.rx_iv[i] = (uint8_t)(0xd0 + i);
		}
		break;
	case PFS_MSG_READY:
		m->u.ready = (struct pfs_msg_ready){ .layout_version = 1,
						     .worker_count = 4,
						     .pid = 31337 };
		break;
	case PFS_MSG_SESSION_STATE:
		m->u.session_state.session_id = 42;
		m->u.session_state.state = PFS_SSTATE_FAILED;
		m->u.session_state.error = -10019;
		m->u.session_state.message =
			sample_str("peer 198.18.0.2:4433: 3 packets failed authentication");
		break;
	case PFS_MSG_TRANSFER_PROGRESS:
		m->u.progress = (struct pfs_msg_transfer_progress){ .transfer_id = 99,
								    .bytes_done = 1ull << 33,
								    .bytes_total = 1ull << 35,
								    .files_done = 12,
								    .files_total = 300,
								    .wire_bytes = 123456789,
								    .pointer_bytes = 987654321,
								    .retransmitted_bytes = 4242 };
		break;
	case PFS_MSG_TRANSFER_DONE:
		m->u.done.transfer_id = 99;
		m->u.done.status = -10013;
		m->u.done.message =
			sample_str("file 3: pointed-to bytes differ; repaired and resent");
		break;
	case PFS_MSG_FILE_RECEIVED:
		m->u.file.session_id = 42;
		m->u.file.size = 5000000000ull;
		for (unsigned i = 0; i < PFS_MSG_DIGEST_BYTES; i++)
			m->u.file.digest[i] = (uint8_t)(0xff - i);
		m->u.file.path = sample_str("incoming/today/base.qcow2");
		break;
	case PFS_MSG_LOG:
		m->u.log.level = PFS_LEVEL_WARN;
		m->u.log.message = sample_str("worker 2: ring of socket 3 overflowed");
		break;
	case PFS_MSG_BACKEND:
		m->u.backend = (struct pfs_msg_backend){ .kind = PFS_BACKEND_XDP,
							 .xdp_mode = PFS_MSG_XDP_GENERIC,
							 .zero_copy = 1,
							 .hugepages = 1,
							 .queues = 2,
							 .ifname = sample_str("eth0"),
							 .wakeups = 1000001,
							 .no_neighbour = 7,
							 .handed_off = 123456789012ull,
							 .handoff_dropped = 3,
							 .nreasons = 10,
							 .nrefused = 8 };
		for (int i = 0; i < 10; i++)
			m->u.backend.reasons[i] = 1000u * (unsigned)i + 1;
		for (int i = 0; i < 8; i++)
			m->u.backend.refused[i] = (uint64_t)i << 33 | 5;
		break;
	}
}

#endif
