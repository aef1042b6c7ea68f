/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A simulated unreliable network for the link and protocol tests: every
 * frame gets a random delay (so frames overtake each other), and may be
 * lost or duplicated; a node can be cut off (crash). Deterministic for a
 * given seed.
 */
#ifndef _PROTO_SIM_H
#define _PROTO_SIM_H

#include "common.h"

struct net_cfg {
	u32 loss_ppm;		/* per million frames */
	u32 dup_ppm;
	u64 delay_min_ns;
	u64 delay_max_ns;
};

struct net_frame {
	u64 time;
	u64 order;		/* FIFO among equal times */
	u16 src, dst;
	u16 len;
	u8 *buf;
};

struct net {
	struct net_cfg cfg;
	struct rng rng;
	struct net_frame *heap;
	size_t nr, cap;
	u64 order;
	u64 cut;		/* nodes cut off: nothing in or out */
	u64 sent, lost, dups, delivered;
};

void net_init(struct net *n, const struct net_cfg *cfg, u64 seed);
void net_free(struct net *n);
/* Queue a frame made of hdr and frag (a copy is taken). */
void net_xmit(struct net *n, u16 src, u16 dst, const u8 *hdr, size_t hlen,
	      const u8 *frag, size_t flen, u64 now);
/* Time of the next frame, or 0 when none. */
u64 net_next_time(const struct net *n);
/* Pop the next frame; the caller frees f->buf. */
bool net_pop(struct net *n, struct net_frame *f);

#endif
