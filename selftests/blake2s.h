/* SPDX-License-Identifier: GPL-2.0 */
/*
 * BLAKE2s for the selftests, written from RFC 7693 so that what the module
 * puts on the wire can be checked against something that is not the
 * kernel's crypto library: keyed or not, any digest length 1..32 bytes,
 * the input given in any number of pieces.  Small and slow on purpose;
 * bigiron_cluster checks it against reference vectors before trusting it.
 *
 * RFC 7693 in short: the state h[0..7] starts as the IV (SHA-256's)
 * with the parameter block's first word mixed into h[0] (digest length,
 * key length, fanout 1, depth 1), so a 16-byte digest is not a prefix of
 * the 32-byte one.  A key, zero-padded to a 64-byte block, is hashed as
 * the first block.  Every 64-byte block goes through the compression
 * function F with the byte count t so far (the block included); the last
 * block, zero-padded, is compressed with the final flag, and never an
 * empty block unless the whole input (key included) is empty.
 */
#ifndef BIGIRON_SELFTESTS_BLAKE2S_H
#define BIGIRON_SELFTESTS_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define B2S_BLOCK	64
#define B2S_MAX_OUT	32
#define B2S_MAX_KEY	32

struct b2s_state {
	uint32_t h[8];
	uint32_t t[2];		/* bytes compressed: a 64-bit counter */
	uint8_t buf[B2S_BLOCK];	/* pending bytes, held back for F */
	size_t buflen;
	size_t outlen;
};

static const uint32_t b2s_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Message word schedule of rounds 0..9 (RFC 7693 section 2.7). */
static const uint8_t b2s_sigma[10][16] = {
	{  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10,  4,  8,  9, 15, 13,  6,  1, 12,  0,  2, 11,  7,  5,  3 },
	{ 11,  8, 12,  0,  5,  2, 15, 13, 10, 14,  3,  6,  7,  1,  9,  4 },
	{  7,  9,  3,  1, 13, 12, 11, 14,  2,  6,  5, 10,  4,  0, 15,  8 },
	{  9,  0,  5,  7,  2,  4, 10, 15, 14,  1, 11, 12,  6,  8,  3, 13 },
	{  2, 12,  6, 10,  0, 11,  8,  3,  4, 13,  7,  5, 15, 14,  1,  9 },
	{ 12,  5,  1, 15, 14, 13,  4, 10,  0,  7,  6,  3,  9,  2,  8, 11 },
	{ 13, 11,  7, 14, 12,  1,  3,  9,  5,  0, 15,  4,  8,  6,  2, 10 },
	{  6, 15, 14,  9, 11,  3,  0,  8, 12,  2, 13,  7,  1,  4, 10,  5 },
	{ 10,  2,  8,  4,  7,  6,  1,  5, 15, 11,  9, 14,  3, 12, 13,  0 },
};

static inline uint32_t b2s_ror32(uint32_t x, unsigned int n)
{
	return x >> n | x << (32 - n);
}

static inline uint32_t b2s_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The mixing function G (section 3.1), rotations 16, 12, 8, 7. */
static inline void b2s_g(uint32_t v[16], int a, int b, int c, int d,
			 uint32_t x, uint32_t y)
{
	v[a] = v[a] + v[b] + x;
	v[d] = b2s_ror32(v[d] ^ v[a], 16);
	v[c] = v[c] + v[d];
	v[b] = b2s_ror32(v[b] ^ v[c], 12);
	v[a] = v[a] + v[b] + y;
	v[d] = b2s_ror32(v[d] ^ v[a], 8);
	v[c] = v[c] + v[d];
	v[b] = b2s_ror32(v[b] ^ v[c], 7);
}

/* The compression function F (section 3.2) on one 64-byte block. */
static inline void b2s_compress(struct b2s_state *s,
				const uint8_t block[B2S_BLOCK], bool last)
{
	uint32_t v[16], m[16];
	const uint8_t *sg;
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = b2s_get_le32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = b2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] = ~v[14];
	for (r = 0; r < 10; r++) {
		sg = b2s_sigma[r];
		b2s_g(v, 0, 4,  8, 12, m[sg[0]],  m[sg[1]]);
		b2s_g(v, 1, 5,  9, 13, m[sg[2]],  m[sg[3]]);
		b2s_g(v, 2, 6, 10, 14, m[sg[4]],  m[sg[5]]);
		b2s_g(v, 3, 7, 11, 15, m[sg[6]],  m[sg[7]]);
		b2s_g(v, 0, 5, 10, 15, m[sg[8]],  m[sg[9]]);
		b2s_g(v, 1, 6, 11, 12, m[sg[10]], m[sg[11]]);
		b2s_g(v, 2, 7,  8, 13, m[sg[12]], m[sg[13]]);
		b2s_g(v, 3, 4,  9, 14, m[sg[14]], m[sg[15]]);
	}
	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
}

static inline void b2s_count(struct b2s_state *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

static inline void b2s_update(struct b2s_state *s, const void *in,
			      size_t len)
{
	const uint8_t *p = in;
	size_t n;

	while (len) {
		/* a full buffer waits until more input shows it is not last */
		if (s->buflen == B2S_BLOCK) {
			b2s_count(s, B2S_BLOCK);
			b2s_compress(s, s->buf, false);
			s->buflen = 0;
		}
		n = B2S_BLOCK - s->buflen;
		if (n > len)
			n = len;
		memcpy(s->buf + s->buflen, p, n);
		s->buflen += n;
		p += n;
		len -= n;
	}
}

/*
 * Start a hash of outlen bytes (1..32) with a key of keylen bytes (0..32);
 * returns 0, or -1 for lengths out of range.
 */
static inline int b2s_init(struct b2s_state *s, size_t outlen,
			   const void *key, size_t keylen)
{
	uint8_t block[B2S_BLOCK];
	int i;

	memset(s, 0, sizeof(*s));
	if (!outlen || outlen > B2S_MAX_OUT || keylen > B2S_MAX_KEY)
		return -1;
	for (i = 0; i < 8; i++)
		s->h[i] = b2s_iv[i];
	/* parameter block word 0: depth 1, fanout 1, key length, outlen */
	s->h[0] ^= 0x01010000 | (uint32_t)keylen << 8 | (uint32_t)outlen;
	s->outlen = outlen;
	if (keylen) {
		memset(block, 0, sizeof(block));
		memcpy(block, key, keylen);
		b2s_update(s, block, sizeof(block));
	}
	return 0;
}

static inline void b2s_final(struct b2s_state *s, uint8_t *out)
{
	uint8_t digest[B2S_MAX_OUT];
	int i;

	b2s_count(s, (uint32_t)s->buflen);
	memset(s->buf + s->buflen, 0, B2S_BLOCK - s->buflen);
	b2s_compress(s, s->buf, true);
	for (i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)s->h[i];
		digest[4 * i + 1] = (uint8_t)(s->h[i] >> 8);
		digest[4 * i + 2] = (uint8_t)(s->h[i] >> 16);
		digest[4 * i + 3] = (uint8_t)(s->h[i] >> 24);
	}
	memcpy(out, digest, s->outlen);
	memset(s, 0, sizeof(*s));
}

/* One-shot: out = BLAKE2s-(8 * outlen)(key, in); returns 0 or -1. */
static inline int b2s(uint8_t *out, size_t outlen, const void *key,
		      size_t keylen, const void *in, size_t inlen)
{
	struct b2s_state s;

	if (b2s_init(&s, outlen, key, keylen))
		return -1;
	b2s_update(&s, in, inlen);
	b2s_final(&s, out);
	return 0;
}

#endif /* BIGIRON_SELFTESTS_BLAKE2S_H */
