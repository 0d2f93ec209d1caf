/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Minimal test harness. A test file defines cases with PFS_TEST(name) { ... } and
 * ends with PFS_TEST_MAIN(). The binary runs one case by name (as ctest calls it)
 * or all cases without an argument. CHECK failures print file:line and the
 * expression, and fail the case; the process exits non-zero if any case failed.
 */
#ifndef PFS_TEST_HARNESS_H
#define PFS_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pfs_test_case {
	const char *name;
	void (*fn)(void);
};

#define PFS_TEST_MAX 128
static struct pfs_test_case pfs_tests[PFS_TEST_MAX];
static int pfs_ntests;
static int pfs_test_failed;

#define PFS_TEST(name)                                                                  \
	static void test_##name(void);                                                  \
	__attribute__((constructor)) static void register_##name(void)                  \
	{                                                                               \
		if (pfs_ntests < PFS_TEST_MAX)                                          \
			pfs_tests[pfs_ntests++] = (struct pfs_test_case){ #name, test_##name }; \
	}                                                                               \
	static void test_##name(void)

#define CHECK(expr)                                                                     \
	do {                                                                            \
		if (!(expr)) {                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
			pfs_test_failed = 1;                                            \
			return;                                                         \
		}                                                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long _a = (long long)(a), _b = (long long)(b);                     \
		if (_a != _b) {                                                         \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b);                     \
			pfs_test_failed = 1;                                            \
			return;                                                         \
		}                                                                       \
	} while (0)

#define PFS_TEST_MAIN()                                                                 \
	int main(int argc, char **argv)                                                 \
	{                                                                               \
		int ran = 0, failed = 0;                                                \
		for (int i = 0; i < pfs_ntests; i++) {                                  \
			if (argc > 1 && strcmp(argv[1], pfs_tests[i].name) != 0)        \
				continue;                                               \
			pfs_test_failed = 0;                                            \
			pfs_tests[i].fn();                                              \
			ran++;                                                          \
			failed += pfs_test_failed;                                      \
			printf("%s %s\n", pfs_test_failed ? "FAIL" : "ok  ", pfs_tests[i].name); \
		}                                                                       \
		if (ran == 0) {                                                         \
			fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)"); \
			return 2;                                                       \
		}                                                                       \
		return failed ? 1 : 0;                                                  \
	}

#endif
