/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PFS_COMPILER_H
#define PFS_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define PFS_CACHELINE 64

#endif
