/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared code of the userspace protocol tests: TAP output, a seeded
 * PRNG, and the hook that turns a broken internal invariant of the pure-C
 * core into an immediate abort.
 */
#ifndef _PROTO_COMMON_H
#define _PROTO_COMMON_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "pure.h"

/* splitmix64: small, fast, and the same sequence on every machine. */
struct rng {
	u64 s;
};

static inline u64 rng_next(struct rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static inline u64 rng_below(struct rng *r, u64 n)
{
	return rng_next(r) % n;
}

/* True with probability num/den. */
static inline bool rng_chance(struct rng *r, u64 num, u64 den)
{
	return rng_below(r, den) < num;
}

/* TAP 13 output; tap_exit() prints the plan and returns the exit code. */
void tap_ok(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_exit(void);
extern unsigned int tap_failed;

/* Test-only keyed MAC: SipHash-2-4 with 128-bit output (siphash.c). */
void siphash24_128(const u8 key[16], const u8 *a, size_t alen,
		   const u8 *b, size_t blen, u8 out[16]);
u64 siphash24_64(const u8 key[16], const u8 *m, size_t len);

#endif
