// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), with the 64-bit and the 128-bit output, written from the paper's
 * description. Test-only: it stands in for the kernel's keyed MAC behind
 * bi_mac_fn; the MAC input is the concatenation a || b.
 */
#include "common.h"

#define ROTL(x, b)	(u64)(((x) << (b)) | ((x) >> (64 - (b))))

struct sip {
	u64 v0, v1, v2, v3;
	u64 tail;		/* pending bytes, little-endian */
	unsigned int ntail;
	u64 len;
};

static void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static void sip_init(struct sip *s, const u8 key[16], bool wide)
{
	u64 k0 = bi_get_le64(key), k1 = bi_get_le64(key + 8);

	s->v0 = k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k1 ^ 0x7465646279746573ULL;
	if (wide)
		s->v1 ^= 0xee;
	s->tail = 0;
	s->ntail = 0;
	s->len = 0;
}

static void sip_block(struct sip *s, u64 m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void sip_update(struct sip *s, const u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		s->tail |= (u64)p[i] << (8 * s->ntail);
		if (++s->ntail == 8) {
			sip_block(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
	s->len += n;
}

static u64 sip_final(struct sip *s, bool wide, u64 *second)
{
	u64 out;

	sip_block(s, s->tail | (s->len & 0xff) << 56);
	s->v2 ^= wide ? 0xee : 0xff;
	sip_round(s);
	sip_round(s);
	sip_round(s);
	sip_round(s);
	out = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
	if (wide) {
		s->v1 ^= 0xdd;
		sip_round(s);
		sip_round(s);
		sip_round(s);
		sip_round(s);
		*second = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
	}
	return out;
}

u64 siphash24_64(const u8 key[16], const u8 *m, size_t len)
{
	struct sip s;

	sip_init(&s, key, false);
	sip_update(&s, m, len);
	return sip_final(&s, false, NULL);
}

void siphash24_128(const u8 key[16], const u8 *a, size_t alen,
		   const u8 *b, size_t blen, u8 out[16])
{
	struct sip s;
	u64 lo, hi;

	sip_init(&s, key, true);
	sip_update(&s, a, alen);
	if (blen)
		sip_update(&s, b, blen);
	lo = sip_final(&s, true, &hi);
	bi_put_le64(out, lo);
	bi_put_le64(out + 8, hi);
}
