/* SPDX-License-Identifier: Apache-2.0 */
/* The control region: what the data plane creates, the controller attaches
 * to and checks (version, layout), messages cross between two processes over
 * a real mapping, and counters written on one side read back on the other. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "harness.h"
#include "region.h"
#include "ring_msg.h"
#include "ring_msg_samples.h"
#include "varint.h"

static char path[256];
static char err[512];

/* A fresh path in /dev/shm (or /tmp where there is none) for this case. */
static const char *fresh_path(void)
{
	static int n;
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(path, sizeof(path), "%s/pfs-region-test-%d-%d", dir, (int)getpid(), n++);
	unlink(path);
	return path;
}

static struct pfs_region *create_default(uint64_t now)
{
	struct pfs_region *r = NULL;

	if (pfs_region_create(&r, fresh_path(), NULL, now, err, sizeof(err)) != 0) {
		fprintf(stderr, "create: %s\n", err);
		return NULL;
	}
	return r;
}

PFS_TEST(attached_side_reads_the_header_the_data_plane_wrote)
{
	struct pfs_region *dp = create_default(123456789), *ctl = NULL;
	struct pfs_region_info info;
	struct stat st;

	CHECK(dp != NULL);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	pfs_region_get_info(ctl, &info);
	CHECK_EQ(info.layout_version, PFS_REGION_VERSION);
	CHECK_EQ(info.pid, getpid());
	CHECK_EQ(info.state, PFS_DP_STARTING);
	CHECK_EQ(info.heartbeat_ns, 123456789);
	CHECK_EQ(info.worker_count, 0);
	CHECK_EQ(info.cmd_ring_bytes, PFS_REGION_RING_DEFAULT);
	CHECK_EQ(info.evt_ring_bytes, PFS_REGION_RING_DEFAULT);
	CHECK_EQ(info.session_slots, PFS_REGION_SLOTS_DEFAULT);
	CHECK_EQ(info.counter_count, PFS_CTR_COUNT);
	CHECK_EQ(info.region_bytes, (uint64_t)st.st_size);
	CHECK_EQ(info.creator, 0);

	pfs_region_heartbeat(dp, 987654321);
	pfs_region_set_state(dp, PFS_DP_RUNNING);
	pfs_region_set_workers(dp, 3);
	pfs_region_get_info(ctl, &info);
	CHECK_EQ(info.heartbeat_ns, 987654321);
	CHECK_EQ(info.state, PFS_DP_RUNNING);
	CHECK_EQ(info.worker_count, 3);
	CHECK(pfs_region_now_ns() > 0);
	pfs_region_close(ctl);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(commands_reach_the_data_plane_and_events_the_controller)
{
	struct pfs_region *dp = create_default(1), *ctl = NULL;
	uint8_t buf[PFS_MSG_MAX];
	struct pfs_region_info info;
	struct pfs_msg m;
	size_t n;

	CHECK(dp != NULL);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	for (size_t i = 0; i < SAMPLE_TYPES; i++) {
		int is_cmd = pfs_msg_is_command(sample_types[i]);
		struct pfs_region *from = is_cmd ? ctl : dp, *to = is_cmd ? dp : ctl;

		sample_msg(sample_types[i], &m);
		CHECK_EQ(pfs_msg_encode(&m, buf, sizeof(buf), &n), 0);
		CHECK_EQ(pfs_region_send(from, buf, n), 0);
		pfs_region_get_info(ctl, &info);
		CHECK(is_cmd ? info.cmd_used > 0 : info.evt_used > 0);
		memset(buf, 0, sizeof(buf));
		CHECK_EQ(pfs_region_recv(to, buf, sizeof(buf), &n), 1);
		CHECK_EQ(pfs_msg_decode(buf, n, &m), 0);
		CHECK_EQ(m.type, sample_types[i]);
		CHECK_EQ(pfs_region_recv(from, buf, sizeof(buf), &n), 0); /* nothing came back */
	}
	pfs_region_close(ctl);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(command_ring_full_is_reported_to_the_controller)
{
	struct pfs_region *dp = create_default(1), *ctl = NULL;
	static uint8_t msg[PFS_MSG_MAX];
	size_t n, sent = 0;
	int rc;

	CHECK(dp != NULL);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	while ((rc = pfs_region_send(ctl, msg, 1000)) == 0)
		sent++;
	CHECK_EQ(rc, PFS_ERR_RING_FULL);
	CHECK_EQ(sent, PFS_REGION_RING_DEFAULT / 1008);
	CHECK_EQ(pfs_region_recv(dp, msg, sizeof(msg), &n), 1);
	CHECK_EQ(pfs_region_send(ctl, msg, 1000), 0);
	/* the largest message fits once the ring is drained */
	while (pfs_region_recv(dp, msg, sizeof(msg), &n) == 1)
		;
	CHECK_EQ(pfs_region_send(ctl, msg, PFS_MSG_MAX), 0);
	pfs_region_close(ctl);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(layout_version_mismatch_is_refused_naming_both_versions)
{
	struct pfs_region_config cfg = { .layout_version = PFS_REGION_VERSION + 1 };
	struct pfs_region *dp = NULL, *ctl = NULL;
	char want[64];

	CHECK_EQ(pfs_region_create(&dp, fresh_path(), &cfg, 1, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_REGION_VERSION);
	CHECK(ctl == NULL);
	snprintf(want, sizeof(want), "version %u", PFS_REGION_VERSION + 1);
	CHECK(strstr(err, want) != NULL);
	snprintf(want, sizeof(want), "speaks version %u", PFS_REGION_VERSION);
	CHECK(strstr(err, want) != NULL);
	pfs_region_close(dp);
	unlink(path);
}

static int write_file(const char *p, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, data, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

PFS_TEST(files_that_are_no_region_are_refused)
{
	static uint8_t junk[8192];
	struct pfs_region *ctl = NULL;

	CHECK_EQ(pfs_region_attach(&ctl, fresh_path(), err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, path) != NULL);
	CHECK_EQ(write_file(path, junk, 100), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_REGION_INVALID);
	/* all zeros: a region the data plane has not finished */
	CHECK_EQ(write_file(path, junk, sizeof(junk)), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_REGION_INVALID);
	CHECK(strstr(err, "not finished") != NULL);
	memset(junk, 0x5a, sizeof(junk));
	CHECK_EQ(write_file(path, junk, sizeof(junk)), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_REGION_INVALID);
	CHECK(ctl == NULL);
	unlink(path);
}

/* Changes one little-endian field of the header of the file at path. */
static int poke(size_t off, uint64_t v, int bytes)
{
	uint8_t b[8];
	int fd = open(path, O_WRONLY);
	ssize_t w;

	if (fd < 0)
		return -1;
	pfs_put_le64(b, v);
	w = pwrite(fd, b, (size_t)bytes, (off_t)off);
	close(fd);
	return w == bytes ? 0 : -1;
}

PFS_TEST(header_describing_parts_outside_the_file_is_refused)
{
	/* offsets of region.c's header fields, and a bad value for each */
	static const struct {
		size_t off;
		int bytes;
		uint64_t v;
	} bad[] = {
		{ 8, 8, 1 << 20 },     /* region size other than the file's */
		{ 24, 8, 1ull << 40 }, /* command ring past the end */
		{ 24, 8, 100 },	       /* inside the header, misaligned */
		{ 32, 8, 3 << 16 },    /* ring size not a power of two */
		{ 48, 8, 1ull << 36 }, /* event ring larger than allowed */
		{ 40, 8, 4096 },       /* event ring over the command ring */
		{ 72, 8, 1ull << 30 }, /* session table past the end */
		{ 80, 4, 0xffffffff }, /* slot count out of range */
		{ 84, 4, 41 },	       /* slot words of another build */
		{ 88, 4, 33 },	       /* more counters than a block holds */
		{ 16, 4, 8192 },       /* header size */
	};
	struct pfs_region *dp, *ctl = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dp = create_default(1);
		CHECK(dp != NULL);
		CHECK_EQ(poke(bad[i].off, bad[i].v, bad[i].bytes), 0);
		CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_REGION_INVALID);
		pfs_region_close(dp);
		unlink(path);
	}
	/* hostile ring indices in an otherwise fine region */
	dp = create_default(1);
	CHECK(dp != NULL);
	CHECK_EQ(poke(4096, 1ull << 40, 8), 0); /* command ring head */
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), PFS_ERR_RING_CORRUPT);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(bad_sizes_and_existing_paths_are_refused_at_creation)
{
	struct pfs_region_config small = { .cmd_ring_bytes = 4096 };
	struct pfs_region_config odd = { .evt_ring_bytes = 3 << 17 };
	struct pfs_region_config many = { .session_slots = PFS_REGION_SLOTS_MAX + 1 };
	struct pfs_region_config excl = { .exclusive = 1 };
	struct pfs_region *dp = NULL, *dp2 = NULL, *ctl = NULL, *ctl2 = NULL;
	struct pfs_region_info info;

	CHECK_EQ(pfs_region_create(&dp, fresh_path(), &small, 1, err, sizeof(err)),
		 PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "power of two") != NULL);
	CHECK_EQ(pfs_region_create(&dp, path, &odd, 1, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_region_create(&dp, path, &many, 1, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_region_create(&dp, "", NULL, 1, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(access(path, F_OK) != 0);

	CHECK_EQ(pfs_region_create(&dp, path, &excl, 1, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_create(&dp2, path, &excl, 2, err, sizeof(err)), -EEXIST);
	/* without exclusive, a new data plane replaces the file; the attached
	 * controller keeps the old region (and sees it stopped) */
	pfs_region_set_state(dp, PFS_DP_STOPPED);
	CHECK_EQ(pfs_region_create(&dp2, path, NULL, 2, err, sizeof(err)), 0);
	pfs_region_get_info(ctl, &info);
	CHECK_EQ(info.state, PFS_DP_STOPPED);
	CHECK_EQ(pfs_region_attach(&ctl2, path, err, sizeof(err)), 0);
	pfs_region_get_info(ctl2, &info);
	CHECK_EQ(info.state, PFS_DP_STARTING);
	CHECK_EQ(info.heartbeat_ns, 2);
	pfs_region_close(ctl2);
	pfs_region_close(ctl);
	pfs_region_close(dp2);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(counters_written_by_the_data_plane_read_back_in_a_snapshot)
{
	struct pfs_region_config cfg = { .session_slots = 4 };
	struct pfs_region *dp = NULL, *ctl = NULL;
	uint64_t *w2, *sc[5], *snap;
	size_t words, wb = PFS_REGION_WORKERS_MAX * PFS_REGION_WORKER_WORDS;
	int slot[5];

	CHECK_EQ(pfs_region_create(&dp, fresh_path(), &cfg, 1, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	words = pfs_region_counter_words(ctl);
	CHECK_EQ(words, wb + 4 * PFS_REGION_SLOT_WORDS);
	snap = calloc(words, sizeof(*snap));
	CHECK(snap != NULL);

	CHECK(pfs_region_worker_counters(dp, PFS_REGION_WORKERS_MAX) == NULL);
	w2 = pfs_region_worker_counters(dp, 2);
	pfs_counter_add(w2, PFS_CTR_PACKETS_SENT, 10);
	pfs_counter_add(w2, PFS_CTR_PACKETS_SENT, 5);
	pfs_counter_set(w2, PFS_CTR_SRTT_NS, 250000);
	for (int i = 0; i < 4; i++) {
		slot[i] = pfs_region_session_claim(dp, 100 + i, (uint32_t)i, &sc[i]);
		CHECK_EQ(slot[i], i);
	}
	CHECK_EQ(pfs_region_session_claim(dp, 200, 0, &sc[4]), PFS_ERR_LIMIT);
	CHECK_EQ(pfs_region_session_claim(ctl, 200, 0, &sc[4]), PFS_ERR_INVALID_ARG);
	pfs_counter_add(sc[1], PFS_CTR_WIRE_BYTES_SENT, 1400);
	pfs_region_session_set_state(dp, slot[1], PFS_SSTATE_UP);
	pfs_region_session_release(dp, slot[3]);

	CHECK_EQ(pfs_region_counters(ctl, snap, words - 1), PFS_ERR_BUF_TOO_SMALL);
	CHECK_EQ(pfs_region_counters(ctl, snap, words), 0);
	CHECK_EQ(snap[2 * PFS_REGION_WORKER_WORDS + PFS_CTR_PACKETS_SENT], 15);
	CHECK_EQ(snap[2 * PFS_REGION_WORKER_WORDS + PFS_CTR_SRTT_NS], 250000);
	CHECK_EQ(snap[PFS_CTR_PACKETS_SENT], 0);
	uint64_t *s1 = snap + wb + PFS_REGION_SLOT_WORDS;
	CHECK_EQ(s1[PFS_SLOT_SESSION_ID], 101);
	CHECK_EQ(s1[PFS_SLOT_STATE], PFS_SSTATE_UP);
	CHECK_EQ(s1[PFS_SLOT_WORKER], 1);
	CHECK_EQ(s1[PFS_SLOT_GENERATION] % 2, 0);
	CHECK_EQ(s1[PFS_REGION_SLOT_HEAD_WORDS + PFS_CTR_WIRE_BYTES_SENT], 1400);
	uint64_t *s3 = snap + wb + 3 * PFS_REGION_SLOT_WORDS;
	CHECK_EQ(s3[PFS_SLOT_STATE], PFS_SSTATE_FREE);

	/* a freed slot is taken again with its counters zeroed */
	pfs_counter_add(sc[3], PFS_CTR_PACKETS_RECEIVED, 9);
	CHECK_EQ(pfs_region_session_claim(dp, 300, 1, &sc[4]), 3);
	CHECK(sc[4] == sc[3]);
	CHECK_EQ(sc[4][PFS_CTR_PACKETS_RECEIVED], 0);
	free(snap);
	pfs_region_close(ctl);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST(a_controller_that_reattaches_goes_on_with_the_rings)
{
	struct pfs_region *dp = create_default(1), *ctl = NULL;
	uint8_t buf[64];
	size_t n;

	CHECK(dp != NULL);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_send(ctl, "first", 5), 0);
	pfs_region_close(ctl);
	CHECK_EQ(pfs_region_attach(&ctl, path, err, sizeof(err)), 0);
	CHECK_EQ(pfs_region_send(ctl, "second", 6), 0);
	CHECK_EQ(pfs_region_recv(dp, buf, sizeof(buf), &n), 1);
	CHECK(n == 5 && memcmp(buf, "first", 5) == 0);
	CHECK_EQ(pfs_region_recv(dp, buf, sizeof(buf), &n), 1);
	CHECK(n == 6 && memcmp(buf, "second", 6) == 0);
	pfs_region_close(ctl);
	pfs_region_close(dp);
	unlink(path);
}

/* --- two processes -------------------------------------------------------- */

#define PROC_MSGS 20000u

/* The child: the controller. Sends PROC_MSGS CANCEL_TRANSFER commands with
 * ids 0.., and expects a TRANSFER_DONE for each id in order. Exit 0 on
 * success; alarm() bounds it. */
static int controller_child(const char *p)
{
	struct pfs_region *ctl = NULL;
	uint8_t buf[PFS_MSG_MAX];
	uint64_t sent = 0, got = 0;
	char e[256];

	alarm(60);
	if (pfs_region_attach(&ctl, p, e, sizeof(e)) != 0)
		return 10;
	while (got < PROC_MSGS) {
		struct pfs_msg m = { .type = PFS_MSG_CANCEL_TRANSFER, .u.transfer_id = sent };
		size_t n;
		int rc;

		if (sent < PROC_MSGS) {
			if (pfs_msg_encode(&m, buf, sizeof(buf), &n))
				return 11;
			rc = pfs_region_send(ctl, buf, n);
			if (rc == 0)
				sent++;
			else if (rc != PFS_ERR_RING_FULL)
				return 12;
		}
		rc = pfs_region_recv(ctl, buf, sizeof(buf), &n);
		if (rc < 0)
			return 13;
		if (rc == 1) {
			if (pfs_msg_decode(buf, n, &m) || m.type != PFS_MSG_TRANSFER_DONE ||
			    m.u.done.transfer_id != got || m.u.done.message.len != 2)
				return 14;
			got++;
		}
	}
	pfs_region_close(ctl);
	return 0;
}

PFS_TEST(two_processes_exchange_commands_and_events_over_the_mapping)
{
	struct pfs_region_config cfg = { .cmd_ring_bytes = PFS_REGION_RING_MIN,
					 .evt_ring_bytes = PFS_REGION_RING_MIN };
	struct pfs_region *dp = NULL;
	uint8_t buf[PFS_MSG_MAX], ev[64];
	uint64_t answered = 0;
	struct timespec start, now;
	int status = -1;
	pid_t child;

	CHECK_EQ(pfs_region_create(&dp, fresh_path(), &cfg, 1, err, sizeof(err)), 0);
	child = fork();
	CHECK(child >= 0);
	if (child == 0)
		_exit(controller_child(path));
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (answered < PROC_MSGS) {
		struct pfs_msg m, done = { .type = PFS_MSG_TRANSFER_DONE };
		size_t n, evn;
		int rc = pfs_region_recv(dp, buf, sizeof(buf), &n);

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (rc < 0 || now.tv_sec - start.tv_sec > 60)
			break;
		if (rc == 0)
			continue;
		if (pfs_msg_decode(buf, n, &m) || m.type != PFS_MSG_CANCEL_TRANSFER)
			break;
		done.u.done.transfer_id = m.u.transfer_id;
		done.u.done.message = sample_str("ok");
		if (pfs_msg_encode(&done, ev, sizeof(ev), &evn))
			break;
		/* the controller drains as it goes; retry while its ring is full */
		while ((rc = pfs_region_send(dp, ev, evn)) == PFS_ERR_RING_FULL) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec > 60)
				break;
		}
		if (rc)
			break;
		answered++;
	}
	if (answered < PROC_MSGS)
		kill(child, SIGKILL);
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK_EQ(answered, PROC_MSGS);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	pfs_region_close(dp);
	unlink(path);
}

PFS_TEST_MAIN()
