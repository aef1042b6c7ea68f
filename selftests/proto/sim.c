// SPDX-License-Identifier: GPL-2.0
/* The simulated network of sim.h: a binary heap of frames by time. */
#include "sim.h"

void net_init(struct net *n, const struct net_cfg *cfg, u64 seed)
{
	memset(n, 0, sizeof(*n));
	n->cfg = *cfg;
	n->rng.s = seed ^ 0x6e6574ULL;
}

void net_free(struct net *n)
{
	size_t i;

	for (i = 0; i < n->nr; i++)
		free(n->heap[i].buf);
	free(n->heap);
	memset(n, 0, sizeof(*n));
}

static bool net_less(const struct net_frame *a, const struct net_frame *b)
{
	return a->time < b->time || (a->time == b->time && a->order < b->order);
}

static void net_push(struct net *n, struct net_frame *f)
{
	size_t i;

	if (n->nr == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 256;
		n->heap = realloc(n->heap, n->cap * sizeof(*n->heap));
		if (!n->heap)
			abort();
	}
	i = n->nr++;
	while (i && net_less(f, &n->heap[(i - 1) / 2])) {
		n->heap[i] = n->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	n->heap[i] = *f;
}

bool net_pop(struct net *n, struct net_frame *out)
{
	struct net_frame last;
	size_t i = 0, c;

	if (!n->nr)
		return false;
	*out = n->heap[0];
	last = n->heap[--n->nr];
	for (;;) {
		c = 2 * i + 1;
		if (c >= n->nr)
			break;
		if (c + 1 < n->nr && net_less(&n->heap[c + 1], &n->heap[c]))
			c++;
		if (!net_less(&n->heap[c], &last))
			break;
		n->heap[i] = n->heap[c];
		i = c;
	}
	if (n->nr)
		n->heap[i] = last;
	n->delivered++;
	return true;
}

u64 net_next_time(const struct net *n)
{
	return n->nr ? n->heap[0].time : 0;
}

static void net_one(struct net *n, u16 src, u16 dst, const u8 *hdr,
		    size_t hlen, const u8 *frag, size_t flen, u64 now)
{
	struct net_frame f;
	u64 span = n->cfg.delay_max_ns - n->cfg.delay_min_ns;

	f.time = now + n->cfg.delay_min_ns + (span ? rng_below(&n->rng, span + 1) : 0);
	f.order = n->order++;
	f.src = src;
	f.dst = dst;
	f.len = (u16)(hlen + flen);
	f.buf = malloc(hlen + flen ? hlen + flen : 1);
	if (!f.buf)
		abort();
	memcpy(f.buf, hdr, hlen);
	if (flen)
		memcpy(f.buf + hlen, frag, flen);
	net_push(n, &f);
}

void net_xmit(struct net *n, u16 src, u16 dst, const u8 *hdr, size_t hlen,
	      const u8 *frag, size_t flen, u64 now)
{
	n->sent++;
	if (((n->cut >> src) & 1) || ((n->cut >> dst) & 1)) {
		n->lost++;
		return;
	}
	if (rng_below(&n->rng, 1000000) < n->cfg.loss_ppm) {
		n->lost++;
		return;
	}
	net_one(n, src, dst, hdr, hlen, frag, flen, now);
	if (rng_below(&n->rng, 1000000) < n->cfg.dup_ppm) {
		n->dups++;
		net_one(n, src, dst, hdr, hlen, frag, flen, now);
	}
}
