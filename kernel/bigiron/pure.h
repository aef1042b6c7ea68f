/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: portability header of the pure-C core (coherence directory,
 * reliable link, wire codec).
 *
 * Those files compile unchanged into bigiron.ko and into the userspace
 * tests in selftests/proto. They make no kernel call: no allocation, no
 * lock, no clock, no printing. This header gives them the kernel's integer
 * types, memcpy/memset, errno values, a warning macro for broken internal
 * invariants (never for anything a peer sends), READ_ONCE/WRITE_ONCE and
 * an atomic OR.
 */
#ifndef _BIGIRON_PURE_H
#define _BIGIRON_PURE_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/atomic.h>

#define BI_WARN_ON(cond)	WARN_ON_ONCE(cond)
#define BI_READ_ONCE(x)		READ_ONCE(x)
#define BI_WRITE_ONCE(x, v)	WRITE_ONCE(x, v)
#define BI_STATIC_ASSERT(e, msg) static_assert(e, msg)

/* Atomic *p |= v (a compare-and-exchange loop; 64-bit hosts). */
static inline void bi_or_u64(u64 *p, u64 v)
{
	u64 old = READ_ONCE(*p);

	while (!try_cmpxchg64(p, &old, old | v))
		;
}

#else /* userspace */

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

#ifndef BI_PURE_TYPES
#define BI_PURE_TYPES
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#endif

/*
 * Called when an internal invariant is broken; the test programs define
 * it (print and abort), so that a bug stops the test at once.
 */
void bi_pure_warn(const char *file, int line, const char *cond);

#define BI_WARN_ON(cond) ({						\
	bool __bi_c = !!(cond);						\
	if (__bi_c)							\
		bi_pure_warn(__FILE__, __LINE__, #cond);		\
	__bi_c;								\
})
#define BI_READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BI_WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BI_STATIC_ASSERT(e, msg) static_assert(e, msg)
static inline void bi_or_u64(u64 *p, u64 v)
{
	__atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* __KERNEL__ */

/* Little-endian accessors for byte buffers of any alignment. */
static inline u16 bi_get_le16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 bi_get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
	       (u32)p[3] << 24;
}

static inline u64 bi_get_le64(const u8 *p)
{
	return (u64)bi_get_le32(p) | (u64)bi_get_le32(p + 4) << 32;
}

static inline void bi_put_le16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void bi_put_le32(u8 *p, u32 v)
{
	bi_put_le16(p, (u16)v);
	bi_put_le16(p + 2, (u16)(v >> 16));
}

static inline void bi_put_le64(u8 *p, u64 v)
{
	bi_put_le32(p, (u32)v);
	bi_put_le32(p + 4, (u32)(v >> 32));
}

/*
 * Extended sequence numbers: the 64-bit value whose low 32 bits are lo,
 * nearest to ref (at most 2^31 - 1 above it or 2^31 below it), and never
 * below 0 (the low half alone, then).
 */
static inline u64 bi_seq_extend(u64 ref, u32 lo)
{
	s32 d = (s32)(lo - (u32)ref);

	if (d < 0 && ref < (u64)-(s64)d)
		return lo;
	return ref + (u64)(s64)d;
}

/* Deadlines: 0 means "no deadline". */
static inline bool bi_expired(u64 deadline, u64 now)
{
	return deadline && now >= deadline;
}

static inline u64 bi_min_deadline(u64 a, u64 b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

#endif /* _BIGIRON_PURE_H */
