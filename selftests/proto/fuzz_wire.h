/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PROTO_FUZZ_WIRE_H
#define _PROTO_FUZZ_WIRE_H

#include "common.h"
#include "coh.h"
#include "link.h"

/* The fuzzed node is node 0 of 3, with 4 pages; these are its peers'. */
#define FZ_NODES	3
#define FZ_PAGES	4
#define FZ_CLUSTER	7
#define FZ_BOOT	0x55555555u
#define FZ_PEER_BOOT(n)	(0x01010101u * (n))

/* Input opcodes (first byte: bit 0 set selects the real MAC). */
#define FZ_OP_FRAME	0	/* u16 length, then the frame */
#define FZ_OP_LOCAL	2	/* u8: page = b % 4, action = b / 4 % 4 */
#define FZ_OP_TIME	3	/* u8: advance time, run every timer */

/* frames seen, decoded, delivered by the link, accepted by coh */
extern u64 fz_count[4];

/*
 * What the code under test returned or counted, summed over every input
 * run since the start: bi_wire_decode()'s result per reason and the type
 * of every frame it accepted, and the drop counters of the reassembly
 * (the driver's own bi_reasm and each peer's), of the link (per peer) and
 * of the protocol, added up at the end of each input.
 */
struct fz_cover {
	u64 decoded[BI_MSG_TYPE_MAX];
	u64 wire[BI_WIRE_DROP_NR];
	u64 reasm[BI_REASM_DROP_NR];
	u64 link[BI_LINK_DROP_NR];
	u64 coh[BI_COH_DROP_NR];
};

extern struct fz_cover fz_cover;

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
void fz_zero_mac(const void *priv, const u8 *a, size_t alen, const u8 *b,
		 size_t blen, u8 out[16]);

#endif
