/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the command-line tools share: the error report the TypeScript side
 * parses ({"error":{"code":"PFS_ERR_…","message":"…"}} on stderr, exit 1) and
 * a monotonic clock.
 */
#ifndef PFS_TOOL_H
#define PFS_TOOL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "{\"error\":{\"code\":\"%s\",\"message\":\"", pfs_errname(code));
	for (const char *p = msg; *p; p++) {
		/* JSON string: escape quotes and backslashes, drop control bytes */
		if (*p == '"' || *p == '\\')
			fputc('\\', stderr);
		if ((unsigned char)*p >= 0x20)
			fputc(*p, stderr);
	}
	fprintf(stderr, "\"}}\n");
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
