/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files as streams. Sending: what pfs_files_add lists from files, trees,
 * symlinks and special files, and what it refuses; pfs_file_map checks the
 * size it was listed with. Receiving: the session sink of pfs_files_rx keeps a
 * file only when its digest matches, leaves no temporary behind, and writes
 * nothing outside its root. Every case works in its own mkdtemp directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "files.h"
#include "harness.h"
#include "test_rand.h"

static char tmp[256];

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/pfs-files-XXXXXX");
	if (!mkdtemp(tmp))
		abort();
}

static void remove_tmp(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

/* tmp/rel, in a rotating set of buffers so a call can take several. */
static const char *at(const char *rel)
{
	static char buf[4][PFS_PATH_MAX + 300];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp, rel);
	return p;
}

static int put(const char *rel, const void *p, size_t n)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int put_filled(const char *rel, size_t n, uint8_t byte)
{
	static uint8_t buf[1 << 16];

	memset(buf, byte, n);
	return put(rel, buf, n);
}

static const struct pfs_file_entry *find(const struct pfs_file_list *l, const char *rel)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].rel, rel))
			return &l->e[i];
	return NULL;
}

/* Entries of tmp/rel other than "." and ".."; -1 when it cannot be read. */
static int entries(const char *rel)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(at(rel));

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static int exists(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0;
}

/* "a/b/.../" with `comps` components of 255 'a's (a long but valid dest). */
static void long_dest(char *out, int comps)
{
	size_t n = 0;

	for (int c = 0; c < comps; c++) {
		if (c)
			out[n++] = '/';
		memset(out + n, 'a', 255);
		n += 255;
	}
	out[n] = 0;
}

/* --- sending --------------------------------------------------------------------- */

PFS_TEST(a_file_is_named_dest_slash_basename_and_empty_dest_means_the_root)
{
	struct pfs_file_list l = { 0 };
	char err[512];

	make_tmp();
	CHECK_EQ(put("a.txt", "hello", 5), 0);
	CHECK_EQ(pfs_files_add(&l, at("a.txt"), "into/sub", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 1);
	CHECK(!strcmp(l.e[0].rel, "into/sub/a.txt"));
	CHECK(!strcmp(l.e[0].src, at("a.txt")));
	CHECK_EQ(l.e[0].size, 5);
	CHECK_EQ(pfs_files_add(&l, at("a.txt"), "", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 2);
	CHECK(!strcmp(l.e[1].rel, "a.txt"));
	CHECK_EQ(l.bytes, 10);
	CHECK_EQ(l.skipped, 0);
	pfs_files_free(&l);
	CHECK(l.n == 0 && l.e == NULL && l.bytes == 0);
	remove_tmp();
}

PFS_TEST(a_directory_lists_every_regular_file_below_it_under_its_own_name)
{
	struct pfs_file_list l = { 0 };
	const struct pfs_file_entry *e;
	char err[512];

	make_tmp();
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	CHECK_EQ(mkdir(at("d/sub"), 0755), 0);
	CHECK_EQ(mkdir(at("d/sub/deeper"), 0755), 0);
	CHECK_EQ(mkdir(at("d/empty"), 0755), 0);
	CHECK_EQ(put_filled("d/x", 10, 'x'), 0);
	CHECK_EQ(put_filled("d/sub/y", 20, 'y'), 0);
	CHECK_EQ(put_filled("d/sub/deeper/z", 0, 0), 0);
	CHECK_EQ(put_filled("d/.hidden", 3, 'h'), 0);

	CHECK_EQ(pfs_files_add(&l, at("d"), "", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 4);
	CHECK_EQ(l.bytes, 33);
	CHECK_EQ(l.skipped, 0);
	CHECK((e = find(&l, "d/x")) && e->size == 10 && !strcmp(e->src, at("d/x")));
	CHECK((e = find(&l, "d/sub/y")) && e->size == 20 && !strcmp(e->src, at("d/sub/y")));
	CHECK((e = find(&l, "d/sub/deeper/z")) && e->size == 0);
	CHECK((e = find(&l, "d/.hidden")) && e->size == 3);
	pfs_files_free(&l);

	/* below a destination directory */
	CHECK_EQ(pfs_files_add(&l, at("d/sub"), "up/there", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 2);
	CHECK(find(&l, "up/there/sub/y") && find(&l, "up/there/sub/deeper/z"));
	CHECK_EQ(l.bytes, 20);
	pfs_files_free(&l);
	remove_tmp();
}

PFS_TEST(symlinks_and_fifos_inside_a_tree_are_skipped_and_counted_never_followed)
{
	struct pfs_file_list l = { 0 };
	char err[512];

	make_tmp();
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	CHECK_EQ(mkdir(at("outside"), 0755), 0);
	CHECK_EQ(put_filled("outside/secret", 9, 's'), 0);
	CHECK_EQ(put_filled("d/real", 3, 'r'), 0);
	CHECK_EQ(symlink("/etc/passwd", at("d/passwd")), 0);
	CHECK_EQ(symlink(at("outside"), at("d/linkdir")), 0);
	CHECK_EQ(symlink("real", at("d/samedir")), 0);
	CHECK_EQ(symlink("nowhere", at("d/dangling")), 0);
	CHECK_EQ(mkfifo(at("d/fifo"), 0600), 0); /* opening it would block the walk */

	CHECK_EQ(pfs_files_add(&l, at("d"), "", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 1);
	CHECK(!strcmp(l.e[0].rel, "d/real"));
	CHECK_EQ(l.bytes, 3);
	CHECK_EQ(l.skipped, 5);
	for (size_t i = 0; i < l.n; i++)
		CHECK(!strstr(l.e[i].src, "passwd") && !strstr(l.e[i].src, "secret"));
	pfs_files_free(&l);
	remove_tmp();
}

PFS_TEST(a_symlink_given_by_name_is_followed_and_keeps_its_own_name)
{
	struct pfs_file_list l = { 0 };
	char err[512];

	make_tmp();
	CHECK_EQ(put_filled("target.bin", 7, 't'), 0);
	CHECK_EQ(symlink("target.bin", at("link.bin")), 0);
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	CHECK_EQ(put_filled("d/x", 4, 'x'), 0);
	CHECK_EQ(symlink(at("d"), at("dirlink")), 0);

	CHECK_EQ(pfs_files_add(&l, at("link.bin"), "", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 1);
	CHECK(!strcmp(l.e[0].rel, "link.bin"));
	CHECK_EQ(l.e[0].size, 7);
	/* a link to a directory, with a trailing slash as a shell completes it */
	CHECK_EQ(pfs_files_add(&l, at("dirlink/"), "", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 2);
	CHECK(find(&l, "dirlink/x") && find(&l, "dirlink/x")->size == 4);
	CHECK_EQ(l.skipped, 0);
	pfs_files_free(&l);
	remove_tmp();
}

PFS_TEST(trailing_slashes_name_the_directory_itself)
{
	struct pfs_file_list l = { 0 };
	const struct pfs_file_entry *e;
	char err[512], path[400];

	make_tmp();
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	CHECK_EQ(put_filled("d/x", 2, 'x'), 0);
	snprintf(path, sizeof(path), "%s///", at("d"));
	CHECK_EQ(pfs_files_add(&l, path, "dst", err, sizeof(err)), 0);
	CHECK_EQ(l.n, 1);
	CHECK((e = find(&l, "dst/d/x")) && !strcmp(e->src, at("d/x")));
	pfs_files_free(&l);

	/* a file is not a directory: "f/" is refused as the system refuses it */
	snprintf(path, sizeof(path), "%s/", at("d/x"));
	CHECK_EQ(pfs_files_add(&l, path, "", err, sizeof(err)), -ENOTDIR);
	CHECK(strstr(err, path) && strstr(err, strerror(ENOTDIR)));
	CHECK_EQ(l.n, 0);
	remove_tmp();
}

PFS_TEST(a_missing_path_is_refused_naming_the_path_and_the_reason)
{
	struct pfs_file_list l = { 0 };
	char err[512];

	make_tmp();
	CHECK_EQ(pfs_files_add(&l, at("nope.bin"), "", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, at("nope.bin")) != NULL);
	CHECK(strstr(err, strerror(ENOENT)) != NULL);
	CHECK(l.n == 0 && l.bytes == 0);
	remove_tmp();
}

PFS_TEST(root_dot_and_dotdot_are_refused_as_sources)
{
	struct pfs_file_list l = { 0 };
	char err[512], p[6][320];

	make_tmp();
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	snprintf(p[0], sizeof(p[0]), "/");
	snprintf(p[1], sizeof(p[1]), "//");
	snprintf(p[2], sizeof(p[2]), ".");
	snprintf(p[3], sizeof(p[3]), "..");
	snprintf(p[4], sizeof(p[4]), "%s/.", at("d"));
	snprintf(p[5], sizeof(p[5]), "%s/../", at("d"));
	for (int i = 0; i < 6; i++) {
		err[0] = 0;
		CHECK_EQ(pfs_files_add(&l, p[i], "", err, sizeof(err)), PFS_ERR_INVALID_ARG);
		CHECK(strstr(err, p[i]) && strstr(err, "name the file or directory itself"));
	}
	CHECK(l.n == 0 && l.bytes == 0 && l.skipped == 0);
	remove_tmp();
}

PFS_TEST(a_destination_must_be_relative_and_free_of_dotdot)
{
	static const char *bad[] = { "/abs", "a/../b", "..", "a/", "a//b", "." };
	struct pfs_file_list l = { 0 };
	char err[512];

	make_tmp();
	CHECK_EQ(put_filled("f", 1, 'f'), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(pfs_files_add(&l, at("f"), bad[i], err, sizeof(err)), PFS_ERR_INVALID_ARG);
		/* names the source, says it is the destination, and what is wrong */
		CHECK(strstr(err, at("f")) && strstr(err, "destination") && strstr(err, bad[i]));
	}
	CHECK(strstr(err, "'.'") != NULL);
	CHECK_EQ(pfs_files_add(&l, at("f"), "/abs", err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "absolute") != NULL);
	CHECK_EQ(l.n, 0);
	remove_tmp();
}

PFS_TEST(names_longer_than_the_path_limit_are_refused)
{
	static char path[PFS_PATH_MAX + 600], dest[PFS_PATH_MAX + 1];
	static char err[PFS_PATH_MAX * 2]; /* room for the whole long path and why */
	struct pfs_file_list l = { 0 };
	char name[256];

	make_tmp();
	CHECK_EQ(put_filled("f", 1, 'f'), 0);
	/* a source the system cannot name */
	snprintf(path, sizeof(path), "%s/", tmp);
	while (strlen(path) < PFS_PATH_MAX + 100)
		strcat(path, "x/");
	strcat(path, "f");
	CHECK_EQ(pfs_files_add(&l, path, "", err, sizeof(err)), -ENAMETOOLONG);
	CHECK(strstr(err, strerror(ENAMETOOLONG)) != NULL);

	/* dest (4095 bytes, valid) + "/f" is longer than PFS_PATH_MAX */
	long_dest(dest, 16);
	CHECK_EQ(strlen(dest), 4095);
	CHECK_EQ(pfs_files_add(&l, at("f"), dest, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "longer than 4096 bytes") && strstr(err, at("f")));

	/* inside a tree: a name that fits here but not below the destination */
	memset(name, 'n', 255);
	name[255] = 0;
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	snprintf(path, sizeof(path), "d/%s", name);
	CHECK_EQ(put_filled(path, 1, 'n'), 0);
	long_dest(dest, 15);
	CHECK_EQ(pfs_files_add(&l, at("d"), dest, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "longer than 4096 bytes") != NULL);
	CHECK(l.n == 0 && l.bytes == 0);
	remove_tmp();
}

PFS_TEST(a_failed_add_leaves_the_list_as_it_was)
{
	static char dest[PFS_PATH_MAX + 1];
	struct pfs_file_list l = { 0 };
	char err[512], name[300];

	make_tmp();
	CHECK_EQ(put_filled("first", 5, '1'), 0);
	CHECK_EQ(pfs_files_add(&l, at("first"), "", err, sizeof(err)), 0);
	/* a tree with short names (listed) and one that will not fit: whatever
	 * order readdir gives, the add fails and must take back what it listed */
	CHECK_EQ(mkdir(at("d"), 0755), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "d/s%02d", i);
		CHECK_EQ(put_filled(name, 100, 's'), 0);
	}
	CHECK_EQ(symlink("s00", at("d/link")), 0);
	memcpy(name, "d/", 2);
	memset(name + 2, 'n', 255); /* the longest name a directory can hold */
	name[257] = 0;
	CHECK_EQ(put_filled(name, 1, 'n'), 0);
	long_dest(dest, 15);
	CHECK_EQ(pfs_files_add(&l, at("d"), dest, err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK_EQ(l.n, 1);
	CHECK_EQ(l.bytes, 5);
	CHECK_EQ(l.skipped, 0);
	CHECK(!strcmp(l.e[0].rel, "first"));
	pfs_files_free(&l);
	remove_tmp();
}

PFS_TEST(a_file_maps_to_its_bytes_and_an_empty_one_to_len_zero)
{
	static uint8_t data[100000];
	struct pfs_file_list l = { 0 };
	struct pfs_file_map m;
	char err[512];

	make_tmp();
	rng_seed(11);
	fill_random(data, sizeof(data));
	CHECK_EQ(put("big", data, sizeof(data)), 0);
	CHECK_EQ(put("empty", "", 0), 0);
	CHECK_EQ(pfs_files_add(&l, at("big"), "", err, sizeof(err)), 0);
	CHECK_EQ(pfs_files_add(&l, at("empty"), "", err, sizeof(err)), 0);
	CHECK_EQ(pfs_file_map(&m, &l.e[0], err, sizeof(err)), 0);
	CHECK_EQ(m.len, sizeof(data));
	CHECK(memcmp(m.data, data, sizeof(data)) == 0);
	pfs_file_unmap(&m);
	CHECK_EQ(m.len, 0);
	CHECK_EQ(pfs_file_map(&m, &l.e[1], err, sizeof(err)), 0);
	CHECK_EQ(m.len, 0);
	CHECK(m.data != NULL);
	pfs_file_unmap(&m);
	pfs_files_free(&l);
	remove_tmp();
}

PFS_TEST(a_file_whose_size_changed_since_it_was_listed_is_refused)
{
	struct pfs_file_list l = { 0 };
	struct pfs_file_map m;
	char err[512];

	make_tmp();
	CHECK_EQ(put_filled("grows", 100, 'g'), 0);
	CHECK_EQ(put_filled("shrinks", 100, 's'), 0);
	CHECK_EQ(put_filled("goes", 100, 'x'), 0);
	CHECK_EQ(pfs_files_add(&l, at("grows"), "", err, sizeof(err)), 0);
	CHECK_EQ(pfs_files_add(&l, at("shrinks"), "", err, sizeof(err)), 0);
	CHECK_EQ(pfs_files_add(&l, at("goes"), "", err, sizeof(err)), 0);
	CHECK_EQ(put_filled("grows", 150, 'g'), 0);
	CHECK_EQ(put_filled("shrinks", 0, 0), 0);
	CHECK_EQ(unlink(at("goes")), 0);

	CHECK_EQ(pfs_file_map(&m, &l.e[0], err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, at("grows")) && strstr(err, "changed size"));
	CHECK(strstr(err, "100") && strstr(err, "150"));
	CHECK_EQ(m.len, 0);
	CHECK_EQ(pfs_file_map(&m, &l.e[1], err, sizeof(err)), PFS_ERR_INVALID_ARG);
	CHECK(strstr(err, "changed size") && strstr(err, "now 0 bytes"));
	CHECK_EQ(pfs_file_map(&m, &l.e[2], err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, at("goes")) && strstr(err, strerror(ENOENT)));
	pfs_files_free(&l);
	remove_tmp();
}

/* --- receiving ------------------------------------------------------------------- */

static struct pfs_files_rx rx;

/* What on_file heard, last call first. */
static struct heard {
	int calls;
	uint64_t id, size;
	int status;
	char rel[PFS_PATH_MAX + 1], why[512];
} heard;

static void on_file(void *ctx, uint64_t id, const char *rel, uint64_t size, int status,
		    const char *why)
{
	struct heard *h = ctx;

	h->calls++;
	h->id = id;
	h->size = size;
	h->status = status;
	snprintf(h->rel, sizeof(h->rel), "%s", rel);
	snprintf(h->why, sizeof(h->why), "%s", why);
}

/* A receiver on tmp/root, reporting into `heard`. */
static int rx_start(struct pfs_session_sink *sk)
{
	char err[512];
	int rc;

	memset(&heard, 0, sizeof(heard));
	if (mkdir(at("root"), 0755) != 0)
		return -1;
	rc = pfs_files_rx_init(&rx, at("root"), err, sizeof(err));
	if (rc)
		return rc;
	rx.ctx = &heard;
	rx.on_file = on_file;
	*sk = pfs_files_rx_sink(&rx);
	return 0;
}

/* tmp/rel holds exactly p[0, n). */
static int holds(const char *rel, const uint8_t *p, size_t n)
{
	static uint8_t back[1 << 20];
	int fd = open(at(rel), O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = read(fd, back, sizeof(back));
	close(fd);
	return r == (ssize_t)n && memcmp(back, p, n) == 0;
}

PFS_TEST(a_missing_receive_root_is_refused_with_advice_to_create_it)
{
	char err[512];

	make_tmp();
	CHECK_EQ(pfs_files_rx_init(&rx, at("absent"), err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, at("absent")) && strstr(err, "create it"));
	CHECK_EQ(rx.root_fd, -1);
	pfs_files_rx_close(&rx); /* harmless after a failed init */
	CHECK_EQ(put_filled("plain", 1, 'p'), 0);
	CHECK_EQ(pfs_files_rx_init(&rx, at("plain"), err, sizeof(err)), -ENOTDIR);
	CHECK(strstr(err, at("plain")) != NULL);
	remove_tmp();
}

PFS_TEST(a_stream_written_in_any_order_becomes_the_file_when_its_digest_matches)
{
	static uint8_t data[200000];
	uint8_t digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_session_sink sk;
	uint32_t order[50];
	const uint32_t piece = sizeof(data) / 50;

	make_tmp();
	CHECK_EQ(rx_start(&sk), 0);
	rng_seed(21);
	fill_random(data, sizeof(data));
	pfs_file_digest(data, sizeof(data), digest);
	for (uint32_t i = 0; i < 50; i++)
		order[i] = i;
	for (uint32_t i = 49; i > 0; i--) { /* seeded shuffle */
		uint32_t j = (uint32_t)rnd_below(i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	CHECK_EQ(sk.open(sk.ctx, 3, "dir/sub/f.bin", sizeof(data)), 0);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(sk.write(sk.ctx, 3, (uint64_t)order[i] * piece, data + order[i] * piece,
				  piece),
			 0);
	CHECK(!exists("root/dir/sub/f.bin")); /* not before the digest */
	CHECK_EQ(heard.calls, 0);
	CHECK_EQ(sk.finish(sk.ctx, 3, digest), 0);
	CHECK(holds("root/dir/sub/f.bin", data, sizeof(data)));
	CHECK_EQ(entries("root/dir/sub"), 1); /* no temporary left beside it */
	CHECK_EQ(heard.calls, 1);
	CHECK(heard.id == 3 && heard.size == sizeof(data) && heard.status == 0);
	CHECK(!strcmp(heard.rel, "dir/sub/f.bin"));

	/* an empty stream: open, finish */
	pfs_file_digest("", 0, digest);
	CHECK_EQ(sk.open(sk.ctx, 4, "empty", 0), 0);
	CHECK_EQ(sk.finish(sk.ctx, 4, digest), 0);
	CHECK(holds("root/empty", data, 0));
	CHECK(heard.calls == 2 && heard.id == 4 && heard.size == 0 && heard.status == 0);
	pfs_files_rx_close(&rx);
	remove_tmp();
}

PFS_TEST(streams_in_flight_together_keep_their_own_files)
{
	uint8_t a[3000], b[5000], da[PFS_FILE_DIGEST_BYTES], db[PFS_FILE_DIGEST_BYTES];
	struct pfs_session_sink sk;

	make_tmp();
	CHECK_EQ(rx_start(&sk), 0);
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	pfs_file_digest(a, sizeof(a), da);
	pfs_file_digest(b, sizeof(b), db);
	/* interleaved, each in pieces out of order */
	CHECK_EQ(sk.open(sk.ctx, 1, "a", sizeof(a)), 0);
	CHECK_EQ(sk.open(sk.ctx, 2, "b", sizeof(b)), 0);
	CHECK_EQ(sk.write(sk.ctx, 2, 2500, b + 2500, 2500), 0);
	for (size_t off = 3000; off > 0; off -= 1000)
		CHECK_EQ(sk.write(sk.ctx, 1, off - 1000, a + off - 1000, 1000), 0);
	CHECK_EQ(sk.write(sk.ctx, 2, 0, b, 2500), 0);
	CHECK_EQ(sk.write(sk.ctx, 7, 0, a, 10), PFS_ERR_INVALID_ARG);	 /* never opened */
	CHECK_EQ(sk.write(sk.ctx, 1, 2990, a, 20), PFS_ERR_INVALID_ARG); /* past its end */
	CHECK_EQ(sk.finish(sk.ctx, 7, da), PFS_ERR_INVALID_ARG);
	CHECK_EQ(sk.finish(sk.ctx, 2, db), 0);
	CHECK_EQ(sk.finish(sk.ctx, 1, da), 0);
	CHECK(holds("root/a", a, sizeof(a)) && holds("root/b", b, sizeof(b)));
	CHECK_EQ(entries("root"), 2);
	CHECK_EQ(heard.calls, 2);
	CHECK(heard.id == 1 && !strcmp(heard.rel, "a"));
	pfs_files_rx_close(&rx);
	remove_tmp();
}

PFS_TEST(a_wrong_digest_keeps_no_file_and_no_temporary)
{
	uint8_t data[4096], digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_session_sink sk;

	make_tmp();
	CHECK_EQ(rx_start(&sk), 0);
	memset(data, 7, sizeof(data));
	pfs_file_digest(data, sizeof(data), digest);
	digest[15] ^= 0x80;
	CHECK_EQ(sk.open(sk.ctx, 9, "d/f", sizeof(data)), 0);
	CHECK_EQ(sk.write(sk.ctx, 9, 0, data, sizeof(data)), 0);
	CHECK_EQ(sk.finish(sk.ctx, 9, digest), PFS_ERR_CHECKSUM);
	CHECK(!exists("root/d/f"));
	CHECK_EQ(entries("root/d"), 0);
	CHECK(heard.calls == 1 && heard.id == 9 && heard.status == PFS_ERR_CHECKSUM);
	CHECK(!strcmp(heard.rel, "d/f") && heard.size == sizeof(data));
	CHECK(strstr(heard.why, "digest") != NULL);
	/* the stream is over: more bytes or a second verdict are refused */
	CHECK_EQ(sk.write(sk.ctx, 9, 0, data, 1), PFS_ERR_INVALID_ARG);
	CHECK_EQ(sk.finish(sk.ctx, 9, digest), PFS_ERR_INVALID_ARG);
	pfs_files_rx_close(&rx);
	remove_tmp();
}

PFS_TEST(an_abandoned_stream_leaves_nothing_behind)
{
	uint8_t data[1000];
	struct pfs_session_sink sk;

	make_tmp();
	CHECK_EQ(rx_start(&sk), 0);
	memset(data, 1, sizeof(data));
	CHECK_EQ(sk.open(sk.ctx, 5, "a/b/c", sizeof(data)), 0);
	CHECK_EQ(sk.write(sk.ctx, 5, 0, data, 500), 0);
	CHECK_EQ(entries("root/a/b"), 1); /* the temporary */
	sk.abort(sk.ctx, 5);
	CHECK(!exists("root/a/b/c"));
	CHECK_EQ(entries("root/a/b"), 0);
	CHECK(heard.calls == 1 && heard.id == 5 && heard.status == PFS_ERR_IO);
	CHECK(!strcmp(heard.rel, "a/b/c") && heard.why[0] != 0);
	sk.abort(sk.ctx, 5); /* twice: nothing more happens */
	CHECK_EQ(heard.calls, 1);

	/* closing the receiver abandons what is still open */
	CHECK_EQ(sk.open(sk.ctx, 6, "a/b/d", sizeof(data)), 0);
	CHECK_EQ(sk.write(sk.ctx, 6, 500, data, 500), 0);
	pfs_files_rx_close(&rx);
	CHECK(!exists("root/a/b/d"));
	CHECK_EQ(entries("root/a/b"), 0);
	remove_tmp();
}

PFS_TEST(paths_leading_out_of_the_root_are_refused_and_nothing_is_written_outside)
{
	uint8_t data[10] = "0123456789", digest[PFS_FILE_DIGEST_BYTES];
	struct pfs_session_sink sk;
	char abs_path[400];
	const char *bad[4];

	make_tmp();
	CHECK_EQ(rx_start(&sk), 0);
	CHECK_EQ(mkdir(at("outside"), 0755), 0);
	CHECK_EQ(put("outside/keep", "kept", 4), 0);
	CHECK_EQ(symlink(at("outside"), at("root/escape")), 0);
	CHECK_EQ(symlink(at("outside/keep"), at("root/final")), 0);
	snprintf(abs_path, sizeof(abs_path), "%s", at("outside/abs"));
	bad[0] = "../x";
	bad[1] = "../outside/x";
	bad[2] = abs_path;
	bad[3] = "escape/x";
	pfs_file_digest(data, sizeof(data), digest);
	for (uint64_t i = 0; i < 4; i++) {
		heard.calls = 0;
		CHECK(sk.open(sk.ctx, 10 + i, bad[i], sizeof(data)) < 0);
		CHECK(heard.calls == 1 && heard.id == 10 + i && heard.status < 0);
		CHECK(!strcmp(heard.rel, bad[i]) && heard.why[0] != 0);
		/* what the peer sends next for it goes nowhere */
		CHECK_EQ(sk.write(sk.ctx, 10 + i, 0, data, sizeof(data)), PFS_ERR_INVALID_ARG);
		CHECK_EQ(sk.finish(sk.ctx, 10 + i, digest), PFS_ERR_INVALID_ARG);
	}
	CHECK(strstr(heard.why, "symlink") != NULL);
	CHECK_EQ(entries(""), 2); /* root and outside, no x */
	CHECK_EQ(entries("outside"), 1);
	CHECK(holds("outside/keep", (const uint8_t *)"kept", 4));

	/* a symlink at the final name is replaced, not written through */
	CHECK_EQ(sk.open(sk.ctx, 20, "final", sizeof(data)), 0);
	CHECK_EQ(sk.write(sk.ctx, 20, 0, data, sizeof(data)), 0);
	CHECK_EQ(sk.finish(sk.ctx, 20, digest), 0);
	CHECK(holds("outside/keep", (const uint8_t *)"kept", 4));
	struct stat st;
	CHECK(lstat(at("root/final"), &st) == 0 && S_ISREG(st.st_mode));
	CHECK(holds("root/final", data, sizeof(data)));
	pfs_files_rx_close(&rx);
	remove_tmp();
}

PFS_TEST_MAIN()
