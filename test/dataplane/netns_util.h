/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the C tests that build network namespaces share (neigh_test.c,
 * io_xdp_test.c): a monotonic clock, shell commands (ip, ethtool) built like
 * printf, and the skip exit that ctest reads as SKIP_RETURN_CODE 77 (set for
 * those tests in CMakeLists.txt). Each test keeps its own topology and its
 * own clean-up, registered with atexit, which skip() runs too.
 */
#ifndef PFS_NETNS_UTIL_H
#define PFS_NETNS_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PFS_TEST_SKIP 77

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs a shell command built like printf; 0 when it exited 0. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

/* Ends the test as skipped, saying why (atexit handlers clean up). */
static void skip(const char *why) __attribute__((noreturn, unused));
static void skip(const char *why)
{
	printf("skip: %s\n", why);
	fflush(stdout);
	exit(PFS_TEST_SKIP);
}

#endif
