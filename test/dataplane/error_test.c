/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the error registry: every code has a stable, distinct name and a
 * message; errno values read like the system's own text. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "harness.h"

PFS_TEST(every_code_has_a_distinct_pfs_err_name_and_a_message)
{
	for (int e = PFS_ERR_INVALID_ARG; e >= PFS_ERR_LAST + 1; e--) {
		const char *name = pfs_errname(e), *msg = pfs_strerror(e);

		CHECK(name != NULL && msg != NULL);
		CHECK(strncmp(name, "PFS_ERR_", 8) == 0);
		CHECK(strlen(name) > 8);
		CHECK(strlen(msg) > 0);
		for (int f = PFS_ERR_INVALID_ARG; f > e; f--) {
			CHECK(strcmp(pfs_errname(f), name) != 0);
			CHECK(strcmp(pfs_strerror(f), msg) != 0);
		}
	}
}

PFS_TEST(names_match_the_enum_spelling)
{
	CHECK(strcmp(pfs_errname(PFS_ERR_INVALID_ARG), "PFS_ERR_INVALID_ARG") == 0);
	CHECK(strcmp(pfs_errname(PFS_ERR_CHECKSUM), "PFS_ERR_CHECKSUM") == 0);
	CHECK(strcmp(pfs_errname(PFS_ERR_META_MISMATCH), "PFS_ERR_META_MISMATCH") == 0);
	CHECK(strcmp(pfs_errname(PFS_ERR_CRYPTO), "PFS_ERR_CRYPTO") == 0);
	CHECK(strcmp(pfs_errname(PFS_OK), "PFS_OK") == 0);
	CHECK(strlen(pfs_strerror(PFS_OK)) > 0);
}

PFS_TEST(negated_errno_values_read_as_strerror_and_have_names)
{
	static const struct {
		int no;
		const char *name;
	} known[] = {
		{ EIO, "EIO" },	      { ENOMEM, "ENOMEM" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { EACCES, "EACCES" }, { ENOENT, "ENOENT" },
		{ EEXIST, "EEXIST" }, { EAGAIN, "EAGAIN" }, { EPERM, "EPERM" },
		{ ENOSYS, "ENOSYS" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		CHECK(strcmp(pfs_strerror(-known[i].no), strerror(known[i].no)) == 0);
		CHECK(strcmp(pfs_errname(-known[i].no), known[i].name) == 0);
	}
	/* Every errno the system describes is described the same way; the
	 * unassigned numbers (41, 58 on Linux) still get some text. */
	for (int e = 1; e < 134; e++) {
		if (strncmp(strerror(e), "Unknown error", 13) == 0)
			CHECK(strlen(pfs_strerror(-e)) > 0);
		else
			CHECK(strcmp(pfs_strerror(-e), strerror(e)) == 0);
	}
}

PFS_TEST(errno_values_without_a_name_are_named_by_number)
{
	CHECK(strcmp(pfs_errname(-EDOM), "errno 33") == 0);
	CHECK(strcmp(pfs_errname(-4000), "errno 4000") == 0);
	CHECK(pfs_strerror(-4000) != NULL && strlen(pfs_strerror(-4000)) > 0);
}

PFS_TEST(unknown_codes_get_a_fallback_not_null)
{
	static const int unknown[] = {
		PFS_ERR_BASE, PFS_ERR_LAST, PFS_ERR_LAST - 1, -5000, -9999, 1, 77, -2147483647 - 1,
	};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		CHECK(pfs_errname(unknown[i]) != NULL);
		CHECK(pfs_strerror(unknown[i]) != NULL);
		CHECK(strlen(pfs_errname(unknown[i])) > 0);
		CHECK(strlen(pfs_strerror(unknown[i])) > 0);
		CHECK(strncmp(pfs_errname(unknown[i]), "PFS_ERR_", 8) == 0);
	}
}

static void *name_in_thread(void *arg)
{
	return (void *)(intptr_t)(strcmp(pfs_errname(-4001), "errno 4001") == 0);
}

PFS_TEST(numbered_errno_names_are_not_overwritten_by_other_threads)
{
	const char *mine = pfs_errname(-4000);
	void *theirs_ok = NULL;
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, name_in_thread, NULL), 0);
	CHECK_EQ(pthread_join(t, &theirs_ok), 0);
	CHECK(theirs_ok != NULL);
	CHECK(strcmp(mine, "errno 4000") == 0);
}

PFS_TEST_MAIN()
