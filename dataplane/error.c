/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names and descriptions of data-plane error codes. The tables are indexed by
 * PFS_ERR_BASE - code, so they must list the codes in order; the static assert
 * below catches a code added to error.h but not here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrordesc_np */
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define NCODES (PFS_ERR_BASE - PFS_ERR_LAST - 1)

static const struct {
	const char *name;
	const char *msg;
} codes[] = {
	{ "PFS_ERR_INVALID_ARG", "invalid argument" },
	{ "PFS_ERR_CAPACITY", "log capacity not a power of two or out of bounds" },
	{ "PFS_ERR_NOMEM", "memory or mapping could not be obtained" },
	{ "PFS_ERR_IO", "log file I/O failed" },
	{ "PFS_ERR_META_CORRUPT", "no valid metadata slot in the log file" },
	{ "PFS_ERR_META_MISMATCH", "log file was made with other parameters" },
	{ "PFS_ERR_BUF_TOO_SMALL", "output buffer too small" },
	{ "PFS_ERR_TRUNCATED", "encoded block shorter than its fields say" },
	{ "PFS_ERR_BAD_MAGIC", "not a PacketFS block or unknown version" },
	{ "PFS_ERR_CHECKSUM", "block checksum mismatch" },
	{ "PFS_ERR_LIMIT", "field exceeds a specification limit" },
	{ "PFS_ERR_POINTER_RANGE", "pointer outside the valid log window" },
	{ "PFS_ERR_POINTER_CHECK", "pointed-to bytes differ from the sender's" },
	{ "PFS_ERR_LITERAL_RANGE", "literals do not fit the log's write window" },
	{ "PFS_ERR_DECOMPRESS", "compressed section is malformed" },
	{ "PFS_ERR_MALFORMED", "block fields are inconsistent" },
	{ "PFS_ERR_OUT_OF_ORDER", "too many out-of-order writes pending in a log" },
	{ "PFS_ERR_CRYPTO", "crypto library failed to initialise" },
	{ "PFS_ERR_AUTH", "packet failed authentication (forged, corrupted or wrong key)" },
	{ "PFS_ERR_REPLAY", "packet number already seen or older than the replay window" },
	{ "PFS_ERR_RING_FULL", "control ring full: its consumer is not draining it" },
	{ "PFS_ERR_RING_CORRUPT", "control ring indices or a record header are inconsistent" },
	{ "PFS_ERR_REGION_INVALID", "not a control region, or its layout is inconsistent" },
	{ "PFS_ERR_REGION_VERSION", "control region has another layout version" },
	{ "PFS_ERR_MSG_VERSION", "control message has a version this side does not speak" },
	{ "PFS_ERR_CANCELLED", "transfer cancelled, or its session removed before it finished" },
	{ "PFS_ERR_PEER_SILENT", "the peer stopped answering: its probe timeouts ran out" },
};

_Static_assert(sizeof(codes) / sizeof(codes[0]) == NCODES,
	       "error.c: codes[] must list every code of enum pfs_error in order");

/* Names of the errno values the data plane actually meets; anything else is
 * reported by number. A list, not an array indexed by errno, because some names
 * share a value (EWOULDBLOCK, ENOTSUP) and we want one stable name each. */
static const struct {
	int no;
	const char *name;
} errno_names[] = {
	{ EPERM, "EPERM" },	      { ENOENT, "ENOENT" },	  { EINTR, "EINTR" },
	{ EIO, "EIO" },		      { EBADF, "EBADF" },	  { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },	      { EACCES, "EACCES" },	  { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },	      { EEXIST, "EEXIST" },	  { ENODEV, "ENODEV" },
	{ ENOTDIR, "ENOTDIR" },	      { EISDIR, "EISDIR" },	  { EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" },	      { EMFILE, "EMFILE" },	  { EFBIG, "EFBIG" },
	{ ENOSPC, "ENOSPC" },	      { EROFS, "EROFS" },	  { EPIPE, "EPIPE" },
	{ ERANGE, "ERANGE" },	      { ENOSYS, "ENOSYS" },	  { EOPNOTSUPP, "EOPNOTSUPP" },
	{ EADDRINUSE, "EADDRINUSE" }, { ENETUNREACH, "ENETUNREACH" },
	{ ECONNRESET, "ECONNRESET" }, { ENOBUFS, "ENOBUFS" },	  { ETIMEDOUT, "ETIMEDOUT" },
	{ ECONNREFUSED, "ECONNREFUSED" },
};

static int is_errno(int err)
{
	return err < 0 && err >= -4095;
}

const char *pfs_strerror(int err)
{
	if (err == PFS_OK)
		return "success";
	if (err < PFS_ERR_BASE && err > PFS_ERR_LAST)
		return codes[PFS_ERR_BASE - err - 1].msg;
	if (is_errno(err)) {
		/* strerrordesc_np returns static text: unlike strerror() it is safe
		 * to call from several workers at once. */
		const char *s = strerrordesc_np(-err);

		return s ? s : "unknown system error";
	}
	return "unknown error code";
}

const char *pfs_errname(int err)
{
	/* Only for errno values outside the table; the text is per thread so
	 * concurrent callers do not overwrite each other's names. */
	static __thread char buf[24];
	size_t i;

	if (err == PFS_OK)
		return "PFS_OK";
	if (err < PFS_ERR_BASE && err > PFS_ERR_LAST)
		return codes[PFS_ERR_BASE - err - 1].name;
	if (!is_errno(err))
		return "PFS_ERR_UNKNOWN";
	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].no == -err)
			return errno_names[i].name;
	snprintf(buf, sizeof(buf), "errno %d", -err);
	return buf;
}
