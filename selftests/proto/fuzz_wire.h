/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _PROTO_FUZZ_WIRE_H
#define _PROTO_FUZZ_WIRE_H

#include "common.h"

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

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
void fz_zero_mac(const void *priv, const u8 *a, size_t alen, const u8 *b,
		 size_t blen, u8 out[16]);

#endif
