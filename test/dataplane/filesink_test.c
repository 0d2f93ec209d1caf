/* SPDX-License-Identifier: Apache-2.0 */
/* Received files: confinement to the receive root, temporary names, digest
 * before rename. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "filesink.h"
#include "harness.h"
#include "test_rand.h"

static char root[256];
static int root_fd = -1;

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/pfs-filesink-XXXXXX");
	if (!mkdtemp(root))
		abort();
	root_fd = open(root, O_RDONLY | O_DIRECTORY);
}

static void remove_root(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	close(root_fd);
}

/* Files in dir (relative to the root) whose names start with a dot. */
static int dot_files(const char *dir)
{
	char path[512];
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int read_back(const char *rel, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = openat(root_fd, rel, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, cap);
	close(fd);
	*len = r > 0 ? (size_t)r : 0;
	return 0;
}

PFS_TEST(peer_paths_outside_the_root_are_refused_with_a_reason)
{
	static const char *bad[] = { "", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b",
				     "a/", ".", "..", "x/.." };
	char err[200];

	CHECK_EQ(pfs_path_check("a/b/c.txt", err, sizeof(err)), 0);
	CHECK_EQ(pfs_path_check(".hidden/ok", err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(pfs_path_check(bad[i], err, sizeof(err)), PFS_ERR_INVALID_ARG);
		CHECK(err[0] != 0);
	}
	char longc[300];
	memset(longc, 'a', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = 0;
	CHECK_EQ(pfs_path_check(longc, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "255") != NULL);
}

PFS_TEST(a_file_written_out_of_order_appears_only_when_its_digest_matches)
{
	static uint8_t data[300000], back[300000];
	uint8_t digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_filesink s;
	struct stat st;
	char err[200];
	size_t len;

	make_root();
	rng_seed(5);
	fill_random(data, sizeof(data));
	pfs_file_digest(data, sizeof(data), digest);
	CHECK_EQ(pfs_filesink_open(&s, root_fd, "dir/sub/f.bin", sizeof(data), err, sizeof(err)), 0);
	/* pieces in reverse order */
	for (size_t off = sizeof(data); off > 0;) {
		size_t n = off >= 70000 ? 70000 : off;
		off -= n;
		CHECK_EQ(pfs_filesink_write(&s, off, data + off, n), 0);
	}
	CHECK(fstatat(root_fd, "dir/sub/f.bin", &st, 0) != 0); /* not visible yet */
	CHECK_EQ(dot_files("dir/sub"), 1);
	CHECK_EQ(pfs_filesink_commit(&s, digest), 0);
	CHECK_EQ(read_back("dir/sub/f.bin", back, sizeof(back), &len), 0);
	CHECK_EQ(len, sizeof(data));
	CHECK(memcmp(back, data, len) == 0);
	CHECK_EQ(dot_files("dir/sub"), 0);
	remove_root();
}

PFS_TEST(a_wrong_digest_leaves_nothing_under_the_final_name)
{
	uint8_t data[1000], digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_filesink s;
	struct stat st;
	char err[200];

	make_root();
	memset(data, 7, sizeof(data));
	pfs_file_digest(data, sizeof(data), digest);
	digest[0] ^= 1;
	CHECK_EQ(pfs_filesink_open(&s, root_fd, "f", sizeof(data), err, sizeof(err)), 0);
	CHECK_EQ(pfs_filesink_write(&s, 0, data, sizeof(data)), 0);
	CHECK_EQ(pfs_filesink_commit(&s, digest), PFS_ERR_CHECKSUM);
	CHECK(fstatat(root_fd, "f", &st, 0) != 0);
	CHECK_EQ(dot_files(""), 0);
	remove_root();
}

PFS_TEST(a_symlink_inside_the_root_cannot_lead_out_of_it)
{
	char outside[300], link[512], err[200];
	struct pfs_filesink s;

	make_root();
	snprintf(outside, sizeof(outside), "%s-outside", root);
	CHECK_EQ(mkdir(outside, 0700), 0);
	snprintf(link, sizeof(link), "%s/escape", root);
	CHECK_EQ(symlink(outside, link), 0);
	CHECK(pfs_filesink_open(&s, root_fd, "escape/f", 10, err, sizeof(err)) < 0);
	CHECK(strstr(err, "symlink") != NULL);
	DIR *d = opendir(outside);
	int entries = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	CHECK_EQ(entries, 0);
	rmdir(outside);
	remove_root();
}

PFS_TEST(commit_replaces_an_older_file_and_empty_files_work)
{
	uint8_t v2[5] = "newer", back[16], digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_filesink s;
	char err[200];
	size_t len;

	make_root();
	int fd = openat(root_fd, "f", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && write(fd, "old", 3) == 3);
	close(fd);
	pfs_file_digest(v2, sizeof(v2), digest);
	CHECK_EQ(pfs_filesink_open(&s, root_fd, "f", sizeof(v2), err, sizeof(err)), 0);
	CHECK_EQ(pfs_filesink_write(&s, 0, v2, sizeof(v2)), 0);
	CHECK_EQ(pfs_filesink_write(&s, 3, v2, sizeof(v2)), PFS_ERR_INVALID_ARG); /* past the end */
	CHECK_EQ(pfs_filesink_commit(&s, digest), 0);
	CHECK_EQ(read_back("f", back, sizeof(back), &len), 0);
	CHECK(len == 5 && memcmp(back, "newer", 5) == 0);

	pfs_file_digest("", 0, digest);
	CHECK_EQ(pfs_filesink_open(&s, root_fd, "empty", 0, err, sizeof(err)), 0);
	CHECK_EQ(pfs_filesink_commit(&s, digest), 0);
	CHECK_EQ(read_back("empty", back, sizeof(back), &len), 0);
	CHECK_EQ(len, 0);

	CHECK_EQ(pfs_filesink_open(&s, root_fd, "gone", 10, err, sizeof(err)), 0);
	pfs_filesink_abort(&s);
	CHECK_EQ(dot_files(""), 0);
	remove_root();
}

PFS_TEST_MAIN()
