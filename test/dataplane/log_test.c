/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the blob log: capacity and segment validation, the ring across its
 * wrap, out-of-order writes, matching, digests, and crash-consistent files.
 * File tests work in a fresh mkdtemp directory under /tmp and remove it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "error.h"
#include "harness.h"
#include "log.h"
#include "test_rand.h"

#define KIB 1024
#define CAP (64 * KIB)

static struct pfs_log *open_mem(uint64_t cap, uint32_t seg)
{
	struct pfs_log_config cfg = { .capacity = cap, .segment_size = seg, .epoch = 7 };
	struct pfs_log *log = NULL;
	char err[256];

	if (pfs_log_open(&log, &cfg, err, sizeof(err)) != 0)
		fprintf(stderr, "open: %s\n", err);
	return log;
}

/* A temporary directory holding ring file "ring" and "ring.meta". */
struct tmp {
	char dir[64], ring[96], meta[96];
};

static int tmp_make(struct tmp *t)
{
	strcpy(t->dir, "/tmp/pfs_log_testXXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->ring, sizeof(t->ring), "%s/ring", t->dir);
	snprintf(t->meta, sizeof(t->meta), "%s/ring.meta", t->dir);
	return 0;
}

static void tmp_remove(struct tmp *t)
{
	unlink(t->ring);
	unlink(t->meta);
	rmdir(t->dir);
}

static int open_file(struct pfs_log **log, const char *path, uint64_t cap, uint32_t seg,
		     char *err, size_t errlen)
{
	struct pfs_log_config cfg = {
		.capacity = cap, .segment_size = seg, .path = path, .epoch = 42,
	};

	return pfs_log_open(log, &cfg, err, errlen);
}

static int write_file_at(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Bytes [off, off+len) of the log equal ref[off - base ...]. */
static int log_equals(const struct pfs_log *log, uint64_t off, const uint8_t *ref, size_t len)
{
	static uint8_t tmp[CAP];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(tmp) ? len - done : sizeof(tmp);

		pfs_log_read(log, off + done, tmp, n);
		if (memcmp(tmp, ref + done, n) != 0)
			return 0;
		done += n;
	}
	return 1;
}

/* ---- capacity and segment validation ---------------------------------- */

PFS_TEST(capacity_accepts_powers_of_two_from_min_to_max)
{
	char err[256] = "";

	CHECK_EQ(pfs_log_check_capacity(PFS_LOG_CAPACITY_MIN, err, sizeof(err)), 0);
	CHECK_EQ(pfs_log_check_capacity(PFS_LOG_CAPACITY_MAX, err, sizeof(err)), 0);
	for (int s = 16; s <= 40; s++)
		CHECK_EQ(pfs_log_check_capacity(UINT64_C(1) << s, err, sizeof(err)), 0);
	CHECK_EQ(err[0], 0);
}

PFS_TEST(capacity_rejects_every_boundary_with_a_message_naming_value_and_range)
{
	static const uint64_t bad[] = {
		0,
		1,
		3000,
		PFS_LOG_CAPACITY_MIN - 1,
		PFS_LOG_CAPACITY_MIN / 2,
		PFS_LOG_CAPACITY_MIN + 1,
		PFS_LOG_CAPACITY_MAX - 1,
		PFS_LOG_CAPACITY_MAX + 1,
		PFS_LOG_CAPACITY_MAX * 2,
		UINT64_C(1) << 63,
		UINT64_MAX,
	};
	char err[256], value[32];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(pfs_log_check_capacity(bad[i], err, sizeof(err)), PFS_ERR_CAPACITY);
		snprintf(value, sizeof(value), "%" PRIu64, bad[i]);
		CHECK(strstr(err, value) != NULL);
		CHECK(strstr(err, "65536") != NULL);
		CHECK(strstr(err, "1099511627776") != NULL);
	}
	/* Null or empty err buffers are allowed. */
	CHECK_EQ(pfs_log_check_capacity(3000, NULL, 0), PFS_ERR_CAPACITY);
	CHECK_EQ(pfs_log_check_capacity(3000, err, 0), PFS_ERR_CAPACITY);
}

PFS_TEST(capacity_messages_say_which_rule_was_broken)
{
	char zero[256], npot[256], small[256], big[256];

	pfs_log_check_capacity(0, zero, sizeof(zero));
	pfs_log_check_capacity(3000, npot, sizeof(npot));
	pfs_log_check_capacity(PFS_LOG_CAPACITY_MIN / 2, small, sizeof(small));
	pfs_log_check_capacity(PFS_LOG_CAPACITY_MAX * 2, big, sizeof(big));
	CHECK(strstr(zero, "zero") != NULL);
	CHECK(strstr(npot, "not a power of two") != NULL);
	CHECK(strstr(small, "below the minimum") != NULL);
	CHECK(strstr(big, "above the maximum") != NULL);
}

PFS_TEST(open_with_bad_capacity_fails_and_returns_no_log)
{
	struct pfs_log_config cfg = { .capacity = 3000 };
	struct pfs_log *log = (struct pfs_log *)&cfg;
	char err[256] = "";

	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), PFS_ERR_CAPACITY);
	CHECK(log == NULL);
	CHECK(strstr(err, "3000") != NULL);
}

PFS_TEST(memory_log_larger_than_physical_memory_is_refused_with_both_numbers)
{
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	struct pfs_log_config cfg = { .capacity = PFS_LOG_CAPACITY_MAX };
	struct pfs_log *log = NULL;
	char err[512] = "", value[32];

	if (ram >= PFS_LOG_CAPACITY_MAX) {
		printf("note: machine has >= 1 TiB of RAM, skipping\n");
		return;
	}
	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), PFS_ERR_CAPACITY);
	CHECK(log == NULL);
	snprintf(value, sizeof(value), "%" PRIu64, ram);
	CHECK(strstr(err, value) != NULL);
	CHECK(strstr(err, "1099511627776") != NULL);
}

PFS_TEST(segment_size_defaults_clamps_and_validates)
{
	static const uint32_t bad[] = { 1, 2048, 4095, 4097, 3 * 4096, 2 * CAP, UINT32_MAX };
	struct pfs_log_config cfg = { .capacity = CAP };
	struct pfs_log *log;
	char err[256];

	/* Default 1 MiB, clamped to a smaller capacity. */
	CHECK((log = open_mem(CAP, 0)) != NULL);
	CHECK_EQ(log->segment_size, CAP);
	pfs_log_close(log);
	CHECK((log = open_mem(UINT64_C(1) << 24, 0)) != NULL);
	CHECK_EQ(log->segment_size, PFS_LOG_SEGMENT_DEFAULT);
	pfs_log_close(log);
	CHECK((log = open_mem(CAP, PFS_LOG_SEGMENT_MIN)) != NULL);
	CHECK_EQ(log->segment_size, PFS_LOG_SEGMENT_MIN);
	pfs_log_close(log);
	CHECK((log = open_mem(CAP, CAP)) != NULL);
	pfs_log_close(log);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char value[16];

		cfg.segment_size = bad[i];
		err[0] = 0;
		CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), PFS_ERR_INVALID_ARG);
		snprintf(value, sizeof(value), "%" PRIu32, bad[i]);
		CHECK(strstr(err, value) != NULL);
		CHECK(strstr(err, "4096") != NULL);
	}
}

PFS_TEST(backing_names_cover_every_backing)
{
	CHECK(strcmp(pfs_log_backing_name(PFS_BACKING_HUGETLB), "hugetlb") == 0);
	CHECK(strcmp(pfs_log_backing_name(PFS_BACKING_THP), "thp") == 0);
	CHECK(strcmp(pfs_log_backing_name(PFS_BACKING_PAGES), "pages") == 0);
	CHECK(strcmp(pfs_log_backing_name(PFS_BACKING_FILE), "file") == 0);
	CHECK(strcmp(pfs_log_backing_name(PFS_BACKING_FILE_HUGETLB), "file-hugetlb") == 0);
	CHECK(strcmp(pfs_log_backing_name((enum pfs_log_backing)99), "unknown") == 0);
}

/* ---- backing ------------------------------------------------------------ */

PFS_TEST(huge_modes_pick_or_refuse_backing)
{
	struct pfs_log_config cfg = { .capacity = CAP, .huge = PFS_HUGE_NEVER };
	struct pfs_log *log;
	char err[256] = "";

	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), 0);
	CHECK_EQ(log->backing, PFS_BACKING_PAGES);
	pfs_log_close(log);
	/* 64 KiB is no multiple of 2 MiB: AUTO skips MAP_HUGETLB. */
	cfg.huge = PFS_HUGE_AUTO;
	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), 0);
	CHECK(log->backing == PFS_BACKING_THP || log->backing == PFS_BACKING_PAGES);
	pfs_log_close(log);
	cfg.huge = PFS_HUGE_REQUIRE;
	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), PFS_ERR_CAPACITY);
	CHECK(strstr(err, "2 MiB") != NULL);
	/* Whatever AUTO finds for 2 MiB, the ring must work. */
	cfg.huge = PFS_HUGE_AUTO;
	cfg.capacity = UINT64_C(2) << 20;
	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), 0);
	CHECK(log->backing == PFS_BACKING_HUGETLB || log->backing == PFS_BACKING_THP ||
	      log->backing == PFS_BACKING_PAGES);
	memset(log->ring, 0xab, log->capacity);
	pfs_log_close(log);
}

static long read_nr_hugepages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static int mount_hugetlbfs(const char *dir)
{
	return mount("none", dir, "hugetlbfs", 0, "pagesize=2M");
}

static int write_nr_hugepages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", n) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Each step returns 0 or the line that failed, so that the caller can undo
 * the reservation and the mount before reporting. */
#define STEP(expr)                                                                      \
	do {                                                                            \
		if (!(expr))                                                            \
			return __LINE__;                                                \
	} while (0)

static int hugetlb_memory_ring(void)
{
	struct pfs_log_config cfg = { .capacity = UINT64_C(2) << 20, .huge = PFS_HUGE_REQUIRE };
	struct pfs_log *log = NULL;
	uint8_t in[4096], out[4096];
	char err[256] = "";
	int ok;

	STEP(pfs_log_open(&log, &cfg, err, sizeof(err)) == 0);
	fill_random(in, sizeof(in));
	pfs_log_append(log, in, sizeof(in), NULL);
	pfs_log_read(log, 0, out, sizeof(out));
	ok = log->backing == PFS_BACKING_HUGETLB && memcmp(in, out, sizeof(in)) == 0;
	pfs_log_close(log);
	STEP(ok);
	return 0;
}

static int hugetlb_file_ring(const char *dir)
{
	struct pfs_log_config cfg = { .capacity = UINT64_C(2) << 20, .huge = PFS_HUGE_REQUIRE };
	char path[128], err[512] = "";
	struct pfs_log *log = NULL;
	uint8_t in[4096];
	int ok;

	snprintf(path, sizeof(path), "%s/ring", dir);
	cfg.path = path;
	STEP(pfs_log_open(&log, &cfg, err, sizeof(err)) == 0);
	STEP(log->backing == PFS_BACKING_FILE_HUGETLB);
	fill_random(in, sizeof(in));
	pfs_log_append(log, in, sizeof(in), NULL);
	pfs_log_set_frontier(log, 100);
	pfs_log_close(log);
	log = NULL;
	STEP(pfs_log_open(&log, &cfg, err, sizeof(err)) == 0);
	ok = log->tail == sizeof(in) && log->frontier == 100 && log_equals(log, 0, in, sizeof(in));
	pfs_log_close(log);
	STEP(ok);
	/* Not a multiple of the huge page size: refused before any mapping. */
	unlink(path);
	cfg.capacity = CAP;
	STEP(pfs_log_open(&log, &cfg, err, sizeof(err)) == PFS_ERR_CAPACITY);
	STEP(strstr(err, "huge page") != NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ring.meta", dir);
	unlink(path);
	return 0;
}

PFS_TEST(hugetlb_memory_and_file_rings_work_when_pages_can_be_reserved)
{
	long old = read_nr_hugepages();
	char dir[] = "/tmp/pfs_log_hugeXXXXXX";
	int mem_line, file_line = 0, mounted;

	/* Two pages: the memory ring, then the ring file and its meta file. */
	if (geteuid() != 0 || old < 0 || write_nr_hugepages(old + 2) != 0) {
		printf("note: cannot reserve huge pages (not root or read-only /proc), skipping\n");
		return;
	}
	if (read_nr_hugepages() < old + 2) {
		write_nr_hugepages(old);
		printf("note: kernel could not reserve two 2 MiB pages, skipping\n");
		return;
	}
	mem_line = hugetlb_memory_ring();
	mounted = mkdtemp(dir) && mount_hugetlbfs(dir) == 0;
	if (mounted) {
		file_line = hugetlb_file_ring(dir);
		umount(dir);
	} else {
		printf("note: cannot mount hugetlbfs, file-backed part skipped\n");
	}
	rmdir(dir);
	write_nr_hugepages(old);
	CHECK_EQ(mem_line, 0);
	CHECK_EQ(file_line, 0);
}

static uint64_t vm_size_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long kb = 0;
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

PFS_TEST(ring_mapping_failure_is_nomem_with_a_clear_message)
{
	int fds[2], status;
	char msg[512] = "";
	ssize_t n;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		/* Address space for small allocations, not for a 1 GiB ring. */
		struct rlimit rl = { vm_size_bytes() + (64 << 20), vm_size_bytes() + (64 << 20) };
		struct pfs_log_config cfg = { .capacity = UINT64_C(1) << 30,
					      .huge = PFS_HUGE_NEVER };
		struct pfs_log *log = NULL;
		char err[512] = "";
		int rc;

		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		rc = pfs_log_open(&log, &cfg, err, sizeof(err));
		if (write(fds[1], err, strlen(err)) < 0)
			_exit(3);
		_exit(rc == PFS_ERR_NOMEM ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	msg[n > 0 ? n : 0] = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(strstr(msg, "1073741824") != NULL);
	CHECK(strstr(msg, strerror(ENOMEM)) != NULL);
	CHECK(strstr(msg, "ulimit") != NULL);
}

/* ---- append, read, eviction -------------------------------------------- */

PFS_TEST(append_and_read_across_the_wrap)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	static uint8_t a[CAP], b[10000], out[10000];
	uint64_t off;

	CHECK(log != NULL);
	fill_random(a, sizeof(a));
	fill_random(b, sizeof(b));
	CHECK_EQ(pfs_log_append(log, a, CAP - 3000, &off), 0);
	CHECK_EQ(off, 0);
	/* b straddles the physical end of the ring: 3000 bytes, then 7000. */
	CHECK_EQ(pfs_log_append(log, b, sizeof(b), &off), 0);
	CHECK_EQ(off, CAP - 3000);
	CHECK_EQ(log->tail, CAP + 7000);
	CHECK_EQ(log->contig, log->tail);
	pfs_log_read(log, off, out, sizeof(out));
	CHECK(memcmp(out, b, sizeof(b)) == 0);
	CHECK(memcmp(log->ring + CAP - 3000, b, 3000) == 0);
	CHECK(memcmp(log->ring, b + 3000, 7000) == 0);
	/* Zero-length append changes nothing. */
	CHECK_EQ(pfs_log_append(log, NULL, 0, &off), 0);
	CHECK_EQ(off, CAP + 7000);
	pfs_log_close(log);
}

PFS_TEST(append_evicts_the_oldest_bytes)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	static uint8_t a[CAP + 1], out[100];
	uint64_t off;

	CHECK(log != NULL);
	fill_random(a, sizeof(a));
	CHECK_EQ(pfs_log_append(log, a, sizeof(a), &off), PFS_ERR_INVALID_ARG);
	CHECK_EQ(log->tail, 0);
	CHECK_EQ(pfs_log_append(log, a, CAP, &off), 0);
	CHECK_EQ(pfs_log_lower(log), 0);
	CHECK(pfs_log_readable(log, 0, CAP));
	CHECK_EQ(pfs_log_append(log, a, 100, &off), 0);
	CHECK_EQ(pfs_log_lower(log), 100);
	CHECK(!pfs_log_readable(log, 0, 1));
	CHECK(!pfs_log_readable(log, 99, 1));
	CHECK(!pfs_log_readable(log, 50, 100));
	CHECK(pfs_log_readable(log, 100, CAP));
	CHECK(!pfs_log_readable(log, 100, CAP + 1));
	CHECK(!pfs_log_readable(log, CAP + 100, 1));
	CHECK(pfs_log_readable(log, CAP + 100, 0));
	pfs_log_read(log, CAP, out, 100);
	CHECK(memcmp(out, a, 100) == 0);
	pfs_log_close(log);
}

/* ---- write_at ---------------------------------------------------------- */

static int pending_is(const struct pfs_log *log, int n, const uint64_t *se)
{
	if (log->npending != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (log->pending[i].start != se[2 * i] || log->pending[i].end != se[2 * i + 1])
			return 0;
	return 1;
}

PFS_TEST(write_at_fills_holes_merges_and_advances_contig)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	static uint8_t ref[8000];

	CHECK(log != NULL);
	fill_random(ref, sizeof(ref));
	CHECK_EQ(pfs_log_write_at(log, 3000, ref + 3000, 1000), 0);
	CHECK_EQ(log->contig, 0);
	CHECK_EQ(log->tail, 4000);
	CHECK(pending_is(log, 1, (uint64_t[]){ 3000, 4000 }));
	CHECK(!pfs_log_readable(log, 0, 1));
	CHECK_EQ(pfs_log_write_at(log, 6000, ref + 6000, 1000), 0);
	CHECK(pending_is(log, 2, (uint64_t[]){ 3000, 4000, 6000, 7000 }));
	/* Adjacent below a range: merges into it. */
	CHECK_EQ(pfs_log_write_at(log, 5000, ref + 5000, 1000), 0);
	CHECK(pending_is(log, 2, (uint64_t[]){ 3000, 4000, 5000, 7000 }));
	/* Adjacent above a range: merges into it. */
	CHECK_EQ(pfs_log_write_at(log, 7000, ref + 7000, 500), 0);
	CHECK(pending_is(log, 2, (uint64_t[]){ 3000, 4000, 5000, 7500 }));
	CHECK_EQ(log->tail, 7500);
	/* Bridging two ranges joins them. */
	CHECK_EQ(pfs_log_write_at(log, 4000, ref + 4000, 1000), 0);
	CHECK(pending_is(log, 1, (uint64_t[]){ 3000, 7500 }));
	/* A write at contig that is not adjacent leaves the range pending. */
	CHECK_EQ(pfs_log_write_at(log, 0, ref, 1000), 0);
	CHECK_EQ(log->contig, 1000);
	CHECK_EQ(log->npending, 1);
	CHECK(pfs_log_readable(log, 0, 1000));
	CHECK(!pfs_log_readable(log, 0, 1001));
	/* Closing the hole absorbs the pending range into contig. */
	CHECK_EQ(pfs_log_write_at(log, 1000, ref + 1000, 2000), 0);
	CHECK_EQ(log->contig, 7500);
	CHECK_EQ(log->tail, 7500);
	CHECK_EQ(log->npending, 0);
	CHECK(log_equals(log, 0, ref, 7500));
	/* With nothing pending, append works again and continues at tail. */
	uint64_t off;
	CHECK_EQ(pfs_log_append(log, ref + 7500, 500, &off), 0);
	CHECK_EQ(off, 7500);
	CHECK(log_equals(log, 0, ref, 8000));
	pfs_log_close(log);
}

PFS_TEST(append_is_refused_while_out_of_order_writes_are_pending)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t b[100] = { 0 };
	uint64_t off = 12345;

	CHECK(log != NULL);
	CHECK_EQ(pfs_log_write_at(log, 500, b, 100), 0);
	CHECK_EQ(pfs_log_append(log, b, 100, &off), PFS_ERR_OUT_OF_ORDER);
	CHECK_EQ(off, 12345);
	CHECK_EQ(log->tail, 600);
	CHECK_EQ(log->contig, 0);
	pfs_log_close(log);
}

struct snapshot {
	uint64_t start, tail, contig, frontier, epoch;
	int npending;
	struct pfs_log_range pending[PFS_LOG_MAX_PENDING];
	uint8_t ring[CAP];
};

static void take(struct snapshot *s, const struct pfs_log *log)
{
	s->start = log->start;
	s->tail = log->tail;
	s->contig = log->contig;
	s->frontier = log->frontier;
	s->epoch = log->epoch;
	s->npending = log->npending;
	memcpy(s->pending, log->pending, sizeof(s->pending));
	memcpy(s->ring, log->ring, CAP);
}

static int unchanged(const struct snapshot *s, const struct pfs_log *log)
{
	return s->start == log->start && s->tail == log->tail && s->contig == log->contig &&
	       s->frontier == log->frontier && s->epoch == log->epoch &&
	       s->npending == log->npending &&
	       memcmp(s->pending, log->pending, sizeof(s->pending)) == 0 &&
	       memcmp(s->ring, log->ring, CAP) == 0;
}

PFS_TEST(write_at_refusals_leave_the_log_unchanged)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	static struct snapshot snap;
	static uint8_t junk[CAP + 1];
	uint64_t c;

	CHECK(log != NULL);
	memset(junk, 0x5a, sizeof(junk));
	CHECK_EQ(pfs_log_append(log, junk, 10000, NULL), 0);
	memset(junk, 0xa5, sizeof(junk));
	CHECK_EQ(pfs_log_write_at(log, 20000, junk, 1000), 0); /* pending [20000, 21000) */
	c = log->contig;
	take(&snap, log);

	/* Below contig, and straddling contig. */
	CHECK_EQ(pfs_log_write_at(log, c - 1, junk, 1), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, c - 10, junk, 100), PFS_ERR_LITERAL_RANGE);
	/* Overlapping the pending range: inside, over its start, over its end,
	 * and covering it. */
	CHECK_EQ(pfs_log_write_at(log, 20500, junk, 10), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, 19990, junk, 11), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, 20999, junk, 10), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, 19000, junk, 3000), PFS_ERR_LITERAL_RANGE);
	/* So far ahead that unwritten bytes above contig would be evicted. */
	CHECK_EQ(pfs_log_write_at(log, c + CAP, junk, 1), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, c + CAP - 99, junk, 100), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, UINT64_MAX - 10, junk, 100), PFS_ERR_LITERAL_RANGE);
	CHECK_EQ(pfs_log_write_at(log, c, junk, CAP + 1), PFS_ERR_LITERAL_RANGE);
	CHECK(unchanged(&snap, log));

	/* Exactly up to contig + capacity is allowed (it only evicts written
	 * bytes below contig). */
	CHECK_EQ(pfs_log_write_at(log, c + CAP - 100, junk, 100), 0);
	CHECK_EQ(log->tail, c + CAP);
	CHECK_EQ(pfs_log_lower(log), c);
	pfs_log_close(log);
}

PFS_TEST(write_at_refuses_one_pending_range_too_many)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	static struct snapshot snap;
	uint8_t b[10];
	int i;

	CHECK(log != NULL);
	memset(b, 1, sizeof(b));
	for (i = 0; i < PFS_LOG_MAX_PENDING; i++)
		CHECK_EQ(pfs_log_write_at(log, 100 + 20 * (uint64_t)i, b, 10), 0);
	CHECK_EQ(log->npending, PFS_LOG_MAX_PENDING);
	take(&snap, log);
	/* A new separate range is refused... */
	CHECK_EQ(pfs_log_write_at(log, 100 + 20 * (uint64_t)i + 5, b, 1), PFS_ERR_OUT_OF_ORDER);
	CHECK_EQ(pfs_log_write_at(log, 50, b, 1), PFS_ERR_OUT_OF_ORDER);
	CHECK(unchanged(&snap, log));
	/* ...but writes that merge, or land at contig, still go in. */
	CHECK_EQ(pfs_log_write_at(log, 110, b, 10), 0);
	CHECK_EQ(log->npending, PFS_LOG_MAX_PENDING - 1);
	CHECK_EQ(pfs_log_write_at(log, 0, b, 10), 0);
	CHECK_EQ(log->contig, 10);
	pfs_log_close(log);
}

/* Pending ranges sorted, disjoint, not adjacent, above contig; tail is the
 * highest end. */
static int pending_valid(const struct pfs_log *log)
{
	uint64_t prev = log->contig, hi = log->contig;

	for (int i = 0; i < log->npending; i++) {
		if (log->pending[i].start <= prev || log->pending[i].end <= log->pending[i].start)
			return 0;
		prev = hi = log->pending[i].end;
	}
	return log->tail == hi;
}

PFS_TEST(write_at_in_shuffled_order_matches_reference_model)
{
	enum { TOTAL = 12 * CAP, GROUP = 16, MAXLEN = 2000 };
	static uint8_t ref[TOTAL];
	struct pfs_log *log = open_mem(CAP, 4096);
	uint64_t off[GROUP], len[GROUP], pos = 0;

	CHECK(log != NULL);
	fill_random(ref, sizeof(ref));
	while (pos < TOTAL) {
		int n = 0;

		/* Cut the next bytes into up to GROUP chunks, deliver them in a
		 * random order, as blocks arriving over a lossy path would. */
		while (n < GROUP && pos < TOTAL) {
			off[n] = pos;
			len[n] = 1 + rnd_below(MAXLEN);
			if (len[n] > TOTAL - pos)
				len[n] = TOTAL - pos;
			pos += len[n++];
		}
		for (int i = n - 1; i > 0; i--) {
			int j = (int)rnd_below((uint64_t)i + 1);
			uint64_t t = off[i], u = len[i];

			off[i] = off[j], len[i] = len[j], off[j] = t, len[j] = u;
		}
		for (int i = 0; i < n; i++) {
			CHECK_EQ(pfs_log_write_at(log, off[i], ref + off[i], len[i]), 0);
			CHECK(pending_valid(log));
		}
		CHECK_EQ(log->contig, pos);
		CHECK_EQ(log->npending, 0);
		CHECK(log_equals(log, pfs_log_lower(log), ref + pfs_log_lower(log),
				 pos - pfs_log_lower(log)));
	}
	pfs_log_close(log);
}

PFS_TEST(random_appends_match_reference_model_over_many_wraps)
{
	enum { TOTAL = 40 * CAP };
	static uint8_t ref[TOTAL];
	struct pfs_log *log = open_mem(CAP, 4096);
	uint64_t tail = 0, off, lower;
	int appends = 0;

	CHECK(log != NULL);
	fill_random(ref, sizeof(ref));
	while (tail < TOTAL) {
		/* Mostly small appends, now and then one as large as the ring. */
		uint64_t len = rnd_below(8) ? rnd_below(3000) : rnd_below(CAP + 1);

		if (len > TOTAL - tail)
			len = TOTAL - tail;
		CHECK_EQ(pfs_log_append(log, ref + tail, len, &off), 0);
		CHECK_EQ(off, tail);
		tail += len;
		appends++;
		lower = tail > CAP ? tail - CAP : 0;
		CHECK_EQ(log->tail, tail);
		CHECK_EQ(pfs_log_lower(log), lower);
		CHECK(pfs_log_readable(log, lower, tail - lower));
		CHECK(lower == 0 || !pfs_log_readable(log, lower - 1, 1));
		CHECK(log_equals(log, lower, ref + lower, tail - lower));
	}
	CHECK(appends > 100);
	pfs_log_close(log);
}

/* ---- matching ---------------------------------------------------------- */

static size_t naive_forward(const struct pfs_log *log, uint64_t off, const uint8_t *buf,
			    size_t max)
{
	size_t n = 0;

	while (n < max && *pfs_log_at(log, off + n) == buf[n])
		n++;
	return n;
}

static size_t naive_backward(const struct pfs_log *log, uint64_t off, const uint8_t *end,
			     size_t max)
{
	size_t n = 0;

	while (n < max && *pfs_log_at(log, off - n - 1) == end[-1 - (ptrdiff_t)n])
		n++;
	return n;
}

/* A log of capacity CAP holding random bytes [lower, 3.5 * CAP). */
static struct pfs_log *random_full_log(void)
{
	static uint8_t data[CAP];
	struct pfs_log *log = open_mem(CAP, 4096);

	for (int i = 0; log && i < 7; i++) {
		fill_random(data, CAP / 2);
		pfs_log_append(log, data, CAP / 2, NULL);
	}
	return log;
}

/* Picks a range [off, off+len) inside the window, half the time one that
 * crosses the physical end of the ring. */
static void pick_range(const struct pfs_log *log, uint64_t *off, size_t *len)
{
	uint64_t lower = pfs_log_lower(log), wrap = (lower / CAP + 1) * CAP;

	*len = rnd_below(4) ? (size_t)rnd_below(300) : (size_t)rnd_below(CAP / 2);
	if (rnd_below(2))
		*off = wrap - 1 - rnd_below(*len + 1 < 64 ? *len + 1 : 64);
	else
		*off = lower + rnd_below(log->contig - lower - *len + 1);
	if (*off < lower)
		*off = lower;
	if (*off + *len > log->contig)
		*len = (size_t)(log->contig - *off);
}

PFS_TEST(match_forward_agrees_with_a_byte_loop)
{
	static uint8_t buf[CAP];
	struct pfs_log *log = random_full_log();
	int crossed = 0;

	CHECK(log != NULL);
	for (int t = 0; t < 20000; t++) {
		uint64_t off;
		size_t len, got;

		pick_range(log, &off, &len);
		pfs_log_read(log, off, buf, len);
		if (len && rnd_below(4))
			buf[rnd_below(len)] ^= (uint8_t)(1 + rnd_below(255));
		got = pfs_log_match_forward(log, off, buf, len);
		CHECK_EQ(got, naive_forward(log, off, buf, len));
		crossed += (off & (CAP - 1)) + got > CAP;
	}
	CHECK(crossed > 100);
	pfs_log_close(log);
}

PFS_TEST(match_backward_agrees_with_a_byte_loop)
{
	static uint8_t buf[CAP];
	struct pfs_log *log = random_full_log();
	int crossed = 0;

	CHECK(log != NULL);
	for (int t = 0; t < 20000; t++) {
		uint64_t off, end;
		size_t len, got;

		pick_range(log, &off, &len);
		end = off + len;
		pfs_log_read(log, off, buf, len);
		if (len && rnd_below(4))
			buf[rnd_below(len)] ^= (uint8_t)(1 + rnd_below(255));
		got = pfs_log_match_backward(log, end, buf + len, len);
		CHECK_EQ(got, naive_backward(log, end, buf + len, len));
		crossed += (end & (CAP - 1)) < got || ((end & (CAP - 1)) == 0 && got > 0);
	}
	CHECK(crossed > 100);
	pfs_log_close(log);
}

PFS_TEST(match_stops_at_each_position_of_a_word)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t data[64], buf[64];

	CHECK(log != NULL);
	fill_random(data, sizeof(data));
	CHECK_EQ(pfs_log_append(log, data, sizeof(data), NULL), 0);
	for (size_t p = 0; p < sizeof(buf); p++) {
		memcpy(buf, data, sizeof(buf));
		buf[p] ^= 0x80;
		CHECK_EQ(pfs_log_match_forward(log, 0, buf, sizeof(buf)), p);
		CHECK_EQ(pfs_log_match_backward(log, 64, buf + 64, sizeof(buf)), 63 - p);
	}
	CHECK_EQ(pfs_log_match_forward(log, 0, data, 64), 64);
	CHECK_EQ(pfs_log_match_backward(log, 64, data + 64, 64), 64);
	CHECK_EQ(pfs_log_match_forward(log, 0, data, 0), 0);
	pfs_log_close(log);
}

/* ---- frontier, truncate, epoch ---------------------------------------- */

PFS_TEST(set_frontier_only_moves_forward_and_stays_below_contig)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t b[1000] = { 0 };

	CHECK(log != NULL);
	CHECK_EQ(pfs_log_append(log, b, 1000, NULL), 0);
	CHECK_EQ(pfs_log_write_at(log, 2000, b, 100), 0);
	CHECK_EQ(pfs_log_set_frontier(log, 500), 0);
	CHECK_EQ(log->frontier, 500);
	CHECK_EQ(pfs_log_set_frontier(log, 500), 0);
	CHECK_EQ(pfs_log_set_frontier(log, 499), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_log_set_frontier(log, 1001), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_log_set_frontier(log, 2050), PFS_ERR_INVALID_ARG); /* pending, not contig */
	CHECK_EQ(log->frontier, 500);
	CHECK_EQ(pfs_log_set_frontier(log, 1000), 0);
	CHECK_EQ(log->frontier, 1000);
	pfs_log_close(log);
}

PFS_TEST(truncate_drops_the_top_and_never_revives_overwritten_bytes)
{
	static uint8_t a[3 * CAP], b[5000];
	struct pfs_log *log = open_mem(CAP, 4096);
	uint64_t off;

	CHECK(log != NULL);
	fill_random(a, sizeof(a));
	CHECK_EQ(pfs_log_append(log, a, CAP, NULL), 0);
	CHECK_EQ(pfs_log_append(log, a + CAP, 40000, NULL), 0);
	CHECK_EQ(pfs_log_write_at(log, CAP + 50000, a, 100), 0);
	CHECK_EQ(pfs_log_set_frontier(log, CAP + 30000), 0);
	CHECK_EQ(pfs_log_truncate(log, 39999), PFS_ERR_INVALID_ARG);  /* below lower */
	CHECK_EQ(pfs_log_truncate(log, CAP + 40001), PFS_ERR_INVALID_ARG); /* above contig */
	CHECK_EQ(pfs_log_truncate(log, CAP + 20000), 0);
	CHECK_EQ(log->tail, CAP + 20000);
	CHECK_EQ(log->contig, CAP + 20000);
	CHECK_EQ(log->npending, 0);
	CHECK_EQ(log->frontier, CAP + 20000);
	/* Before the cut, tail (with the pending write) was CAP + 50100, so
	 * the ring may hold newer bytes for offsets below 50100: the window
	 * keeps its lower edge instead of growing back down. */
	CHECK_EQ(pfs_log_lower(log), 50100);
	CHECK(!pfs_log_readable(log, 50099, 1));
	CHECK(log_equals(log, 50100, a + 50100, CAP + 20000 - 50100));
	/* Rewriting after the cut continues from the new tail. */
	fill_random(b, sizeof(b));
	CHECK_EQ(pfs_log_append(log, b, sizeof(b), &off), 0);
	CHECK_EQ(off, CAP + 20000);
	CHECK(log_equals(log, off, b, sizeof(b)));
	/* Truncating to the current tail is a no-op that is allowed. */
	CHECK_EQ(pfs_log_truncate(log, log->contig), 0);
	pfs_log_close(log);
}

PFS_TEST(resume_cuts_to_the_agreed_point_and_acknowledges_below_it_on_the_sender)
{
	static uint8_t a[50000];
	struct pfs_log *tx = open_mem(CAP, 4096), *rx = open_mem(CAP, 4096);

	CHECK(tx != NULL && rx != NULL);
	fill_random(a, sizeof(a));
	CHECK_EQ(pfs_log_append(tx, a, sizeof(a), NULL), 0);
	/* the receiver held 30000 in order and a range beyond when it stopped */
	CHECK_EQ(pfs_log_write_at(rx, 0, a, 30000), 0);
	CHECK_EQ(pfs_log_write_at(rx, 40000, a + 40000, 1000), 0);
	/* a point neither holds is refused, and changes nothing */
	CHECK_EQ(pfs_log_resume(rx, 30001, 0), PFS_ERR_INVALID_ARG);
	CHECK_EQ(rx->npending, 1);
	CHECK_EQ(pfs_log_resume(tx, 50001, 1), PFS_ERR_INVALID_ARG);
	CHECK_EQ(tx->frontier, 0);
	/* both come to the receiver's contiguous end */
	CHECK_EQ(pfs_log_resume(tx, rx->contig, 1), 0);
	CHECK_EQ(pfs_log_resume(rx, rx->contig, 0), 0);
	CHECK(tx->tail == 30000 && tx->contig == 30000 && tx->frontier == 30000);
	CHECK(rx->tail == 30000 && rx->npending == 0 && rx->frontier == 0);
	CHECK(log_equals(tx, 0, a, 30000) && log_equals(rx, 0, a, 30000));
	pfs_log_close(tx);
	pfs_log_close(rx);
}

PFS_TEST(new_epoch_makes_everything_unreadable)
{
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t b[1000] = { 0 }, d[16];
	uint64_t off;

	CHECK(log != NULL);
	CHECK_EQ(pfs_log_append(log, b, 1000, NULL), 0);
	CHECK_EQ(pfs_log_write_at(log, 1500, b, 100), 0);
	CHECK_EQ(pfs_log_set_frontier(log, 800), 0);
	CHECK_EQ(pfs_log_new_epoch(log, 99), 0);
	CHECK_EQ(log->epoch, 99);
	CHECK_EQ(log->start, 1600);
	CHECK_EQ(log->contig, 1600);
	CHECK_EQ(log->frontier, 1600);
	CHECK_EQ(log->npending, 0);
	CHECK(!pfs_log_readable(log, 0, 1));
	CHECK(!pfs_log_readable(log, 1599, 1));
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_log_append(log, b, 10, &off), 0);
	CHECK_EQ(off, 1600);
	CHECK(pfs_log_readable(log, 1600, 10));
	CHECK_EQ(pfs_log_new_epoch(log, 0), 0);
	CHECK(log->epoch != 0 && log->epoch != 99);
	pfs_log_close(log);
}

/* ---- segment digests --------------------------------------------------- */

static void expected_digest(const uint8_t *p, size_t n, uint8_t out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	memcpy(out, c.digest, 16);
}

PFS_TEST(segment_digests_equal_for_equal_bytes_and_differ_after_one_byte)
{
	static uint8_t data[3 * 4096];
	struct pfs_log *a = open_mem(CAP, 4096), *b = open_mem(CAP, 4096);
	uint8_t da[16], db[16], want[16];

	CHECK(a != NULL && b != NULL);
	fill_random(data, sizeof(data));
	CHECK_EQ(pfs_log_append(a, data, sizeof(data), NULL), 0);
	data[4096 + 77] ^= 1;
	CHECK_EQ(pfs_log_append(b, data, sizeof(data), NULL), 0);
	for (uint64_t s = 0; s < 3; s++) {
		CHECK_EQ(pfs_log_segment_digest(a, s, da), 0);
		CHECK_EQ(pfs_log_segment_digest(b, s, db), 0);
		CHECK_EQ(memcmp(da, db, 16) == 0, s != 1);
	}
	/* Big-endian canonical XXH3-128 of the segment's bytes; cached value
	 * is identical. */
	expected_digest(data + 4096, 4096, want);
	CHECK_EQ(pfs_log_segment_digest(b, 1, db), 0);
	CHECK(memcmp(db, want, 16) == 0);
	CHECK_EQ(pfs_log_segment_digest(b, 1, db), 0);
	CHECK(memcmp(db, want, 16) == 0);
	pfs_log_close(a);
	pfs_log_close(b);
}

PFS_TEST(segment_digest_refuses_segments_not_fully_readable)
{
	static uint8_t data[CAP + 4096 + 100];
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t d[16];

	CHECK(log != NULL);
	CHECK_EQ(pfs_log_append(log, data, 4095, NULL), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), PFS_ERR_INVALID_ARG); /* incomplete */
	CHECK_EQ(pfs_log_append(log, data, 1, NULL), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), 0);
	CHECK_EQ(pfs_log_append(log, data, CAP, NULL), 0);
	CHECK_EQ(pfs_log_append(log, data, 100, NULL), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), PFS_ERR_INVALID_ARG); /* evicted */
	CHECK_EQ(pfs_log_segment_digest(log, 1, d), PFS_ERR_INVALID_ARG); /* part evicted */
	CHECK_EQ(pfs_log_segment_digest(log, 2, d), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 17, d), PFS_ERR_INVALID_ARG); /* above contig */
	CHECK_EQ(pfs_log_segment_digest(log, UINT64_MAX, d), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_log_segment_digest(log, UINT64_MAX >> 12, d), PFS_ERR_INVALID_ARG);
	pfs_log_close(log);
}

PFS_TEST(segment_digest_cache_follows_overwrites_by_wrap_and_truncate)
{
	static uint8_t x[CAP], y[4096], z[4096];
	struct pfs_log *log = open_mem(CAP, 4096);
	uint8_t d[16], want[16];

	CHECK(log != NULL);
	fill_random(x, sizeof(x));
	fill_random(y, sizeof(y));
	fill_random(z, sizeof(z));
	CHECK_EQ(pfs_log_append(log, x, CAP, NULL), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), 0); /* cached in slot 0 */
	/* The wrap overwrites slot 0 with segment 16. */
	CHECK_EQ(pfs_log_append(log, y, 4096, NULL), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 0, d), PFS_ERR_INVALID_ARG);
	expected_digest(y, 4096, want);
	CHECK_EQ(pfs_log_segment_digest(log, 16, d), 0);
	CHECK(memcmp(d, want, 16) == 0);
	/* Cut into segment 16 and write other bytes at the same offsets. */
	CHECK_EQ(pfs_log_truncate(log, CAP + 100), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 16, d), PFS_ERR_INVALID_ARG);
	CHECK_EQ(pfs_log_append(log, z + 100, 4096 - 100, NULL), 0);
	memcpy(z, y, 100);
	expected_digest(z, 4096, want);
	CHECK_EQ(pfs_log_segment_digest(log, 16, d), 0);
	CHECK(memcmp(d, want, 16) == 0);
	pfs_log_close(log);
}

/* ---- file-backed logs -------------------------------------------------- */

PFS_TEST(file_log_state_survives_close_and_reopen)
{
	static uint8_t data[CAP + 5000];
	struct pfs_log *log = NULL;
	uint8_t d1[16], d2[16];
	char err[512] = "";
	struct stat st;
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	fill_random(data, sizeof(data));
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->backing, PFS_BACKING_FILE);
	CHECK_EQ(log->epoch, 42);
	CHECK_EQ(stat(t.ring, &st), 0);
	CHECK_EQ(st.st_size, CAP);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(stat(t.meta, &st), 0);
	CHECK(st.st_size >= 4096); /* slot 0 written at creation */
	CHECK_EQ(pfs_log_append(log, data, CAP, NULL), 0);
	CHECK_EQ(pfs_log_append(log, data + CAP, 5000, NULL), 0);
	CHECK_EQ(pfs_log_set_frontier(log, 30000), 0);
	CHECK_EQ(pfs_log_segment_digest(log, 10, d1), 0);
	pfs_log_close(log);

	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->epoch, 42);
	CHECK_EQ(log->tail, sizeof(data));
	CHECK_EQ(log->contig, sizeof(data));
	CHECK_EQ(log->frontier, 30000);
	CHECK_EQ(pfs_log_lower(log), 5000);
	CHECK_EQ(log->npending, 0);
	CHECK(log_equals(log, 5000, data + 5000, CAP));
	CHECK_EQ(pfs_log_segment_digest(log, 10, d2), 0);
	CHECK(memcmp(d1, d2, 16) == 0);
	pfs_log_close(log);
	tmp_remove(&t);
}

PFS_TEST(file_log_reopen_forgets_pending_and_keeps_their_overwrites_unreadable)
{
	static uint8_t data[CAP];
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	fill_random(data, sizeof(data));
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(pfs_log_append(log, data, CAP, NULL), 0);
	/* Out of order at [CAP + 1000, CAP + 3000): overwrites ring bytes of
	 * offsets [1000, 3000), so lower becomes 3000. */
	CHECK_EQ(pfs_log_write_at(log, CAP + 1000, data, 2000), 0);
	CHECK_EQ(pfs_log_lower(log), 3000);
	pfs_log_close(log);

	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->tail, CAP);
	CHECK_EQ(log->contig, CAP);
	CHECK_EQ(log->npending, 0);
	CHECK_EQ(pfs_log_lower(log), 3000);
	CHECK(log_equals(log, 3000, data + 3000, CAP - 3000));
	pfs_log_close(log);
	tmp_remove(&t);
}

/* Runs in a child that "crashes" (exits without closing) after two syncs:
 * slot 1 holds seq 1 (contig 10000), slot 0 holds seq 2 (contig 20000). */
static int crash_after_two_syncs(const char *path, const uint8_t *data)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct pfs_log *log = NULL;

		if (open_file(&log, path, CAP, 4096, NULL, 0) ||
		    pfs_log_append(log, data, 10000, NULL) || pfs_log_set_frontier(log, 5000) ||
		    pfs_log_sync(log) || pfs_log_append(log, data + 10000, 10000, NULL) ||
		    pfs_log_set_frontier(log, 15000) || pfs_log_sync(log))
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

PFS_TEST(torn_newest_metadata_slot_falls_back_to_the_previous_state)
{
	static uint8_t data[20000], garbage[2048];
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	fill_random(data, sizeof(data));
	CHECK_EQ(crash_after_two_syncs(t.ring, data), 0);
	/* Without damage the newest state is found. */
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->contig, 20000);
	CHECK_EQ(log->frontier, 15000);
	pfs_log_close(log);

	tmp_remove(&t);
	CHECK(tmp_make(&t) == 0);
	CHECK_EQ(crash_after_two_syncs(t.ring, data), 0);
	/* Garbage over the first half of the newest slot (slot 0). */
	fill_random(garbage, sizeof(garbage));
	CHECK_EQ(write_file_at(t.meta, 0, garbage, sizeof(garbage)), 0);
	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->epoch, 42);
	CHECK_EQ(log->tail, 10000);
	CHECK_EQ(log->contig, 10000);
	CHECK_EQ(log->frontier, 5000);
	CHECK(log_equals(log, 0, data, 10000));
	pfs_log_close(log);
	tmp_remove(&t);
}

static int read_file_at(const char *path, off_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

PFS_TEST(partially_written_slot_with_stale_checksum_is_ignored)
{
	static uint8_t data[20000], before[2][4096], after[2][4096];
	struct pfs_log *log = NULL;
	uint8_t contig_byte = 0x77;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	fill_random(data, sizeof(data));
	CHECK_EQ(crash_after_two_syncs(t.ring, data), 0);
	/* One field of the newest slot changed, checksum not rewritten. */
	CHECK_EQ(write_file_at(t.meta, 56, &contig_byte, 1), 0);
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->contig, 10000);
	/* The next sync must overwrite the damaged slot 0 and leave the good
	 * slot 1 alone. */
	CHECK_EQ(pfs_log_append(log, data + 10000, 500, NULL), 0);
	CHECK_EQ(read_file_at(t.meta, 0, before, sizeof(before)), 0);
	CHECK_EQ(pfs_log_sync(log), 0);
	CHECK_EQ(read_file_at(t.meta, 0, after, sizeof(after)), 0);
	CHECK(memcmp(before[0], after[0], 4096) != 0);
	CHECK(memcmp(before[1], after[1], 4096) == 0);
	pfs_log_close(log);
	/* Now damage slot 1, which close just rewrote: slot 0 carries on. */
	CHECK_EQ(write_file_at(t.meta, 4096 + 56, &contig_byte, 1), 0);
	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->contig, 10500);
	pfs_log_close(log);
	tmp_remove(&t);
}

PFS_TEST(both_metadata_slots_corrupt_is_meta_corrupt_with_advice)
{
	static uint8_t data[20000], garbage[2 * 4096];
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	CHECK_EQ(crash_after_two_syncs(t.ring, data), 0);
	fill_random(garbage, sizeof(garbage));
	CHECK_EQ(write_file_at(t.meta, 0, garbage, sizeof(garbage)), 0);
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), PFS_ERR_META_CORRUPT);
	CHECK(log == NULL);
	CHECK(strstr(err, "remove") != NULL);
	CHECK(strstr(err, t.meta) != NULL);
	tmp_remove(&t);
}

PFS_TEST(reopen_with_other_capacity_or_segment_size_is_meta_mismatch)
{
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	pfs_log_close(log);
	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, 2 * CAP, 4096, err, sizeof(err)),
		 PFS_ERR_META_MISMATCH);
	CHECK(log == NULL);
	CHECK(strstr(err, "65536") != NULL);
	CHECK(strstr(err, "131072") != NULL);
	CHECK_EQ(open_file(&log, t.ring, CAP, 8192, err, sizeof(err)), PFS_ERR_META_MISMATCH);
	CHECK(strstr(err, "4096") != NULL);
	CHECK(strstr(err, "8192") != NULL);
	/* The original parameters still open it. */
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	pfs_log_close(log);
	tmp_remove(&t);
}

PFS_TEST(missing_metadata_starts_a_new_log_and_missing_ring_is_refused)
{
	static uint8_t data[1000];
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(pfs_log_append(log, data, sizeof(data), NULL), 0);
	pfs_log_close(log);
	/* Without PATH.meta the ring's bytes belong to no epoch: a new log. */
	CHECK_EQ(unlink(t.meta), 0);
	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), 0);
	CHECK_EQ(log->tail, 0);
	CHECK_EQ(log->contig, 0);
	CHECK_EQ(pfs_log_append(log, data, sizeof(data), NULL), 0);
	pfs_log_close(log);
	/* Metadata that describes bytes of a ring that is gone is refused. */
	CHECK_EQ(unlink(t.ring), 0);
	log = NULL;
	CHECK_EQ(open_file(&log, t.ring, CAP, 4096, err, sizeof(err)), PFS_ERR_META_CORRUPT);
	CHECK(strstr(err, t.ring) != NULL);
	tmp_remove(&t);
}

PFS_TEST(requiring_huge_pages_for_a_file_off_hugetlbfs_is_refused)
{
	struct pfs_log_config cfg = { .capacity = CAP, .huge = PFS_HUGE_REQUIRE };
	struct pfs_log *log = NULL;
	char err[512] = "";
	struct tmp t;

	CHECK(tmp_make(&t) == 0);
	cfg.path = t.ring;
	CHECK_EQ(pfs_log_open(&log, &cfg, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(log == NULL);
	CHECK(strstr(err, "hugetlbfs") != NULL);
	CHECK(strstr(err, t.ring) != NULL);
	tmp_remove(&t);
}

PFS_TEST(open_failure_names_the_path_and_the_system_error)
{
	struct pfs_log *log = NULL;
	char err[512] = "";

	CHECK_EQ(open_file(&log, "/nonexistent-pfs-dir/ring", CAP, 0, err, sizeof(err)),
		 PFS_ERR_IO);
	CHECK(log == NULL);
	CHECK(strstr(err, "/nonexistent-pfs-dir/ring") != NULL);
	CHECK(strstr(err, strerror(ENOENT)) != NULL);
}

PFS_TEST(memory_log_sync_is_a_no_op_and_close_accepts_null)
{
	struct pfs_log *log = open_mem(CAP, 0);

	CHECK(log != NULL);
	CHECK_EQ(pfs_log_sync(log), 0);
	pfs_log_close(log);
	pfs_log_close(NULL);
}

PFS_TEST_MAIN()
