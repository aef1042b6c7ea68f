/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: which generation of the IOAPIC routes every other node
 * has installed, for a VM on several hosts.
 *
 * The I/O node numbers each routes table it sends (SSI_ROUTES) with a
 * generation that only grows; a node answers SSI_ROUTES_ACK with the
 * generation once its KVM has the table. This keeps, per node, the newest
 * generation it acknowledged and since when it has been behind, so that
 * the IOAPIC can hold level-triggered interrupts until the routes they
 * need are everywhere, and the VM stops when a node never catches up.
 *
 * Pure logic; the caller locks.
 */
#ifndef BIGIRON_ROUTEGEN_H
#define BIGIRON_ROUTEGEN_H

#include <stdint.h>

#include "config.h"

struct routegen {
	uint64_t nodes;				/* the nodes that acknowledge */
	uint64_t sent;				/* the newest generation sent */
	uint64_t acked[CONFIG_NODES_MAX];	/* per node */
	/* per node: behind since then, or since its last acknowledgement */
	uint64_t behind_ms[CONFIG_NODES_MAX];
};

/* Nothing sent yet; @nodes (bit n: node n) acknowledge what is sent. */
void routegen_init(struct routegen *g, uint64_t nodes);
/*
 * Generation @gen went to every node at @now_ms. A generation not newer
 * than the last one sent is ignored.
 */
void routegen_sent(struct routegen *g, uint64_t gen, uint64_t now_ms);
/*
 * Node @node acknowledged generation @gen at @now_ms: 1 when that moves
 * the node forward, 0 when it had acknowledged @gen already (a duplicate
 * or a stale answer), -1 when @gen was never sent or @node is not one
 * that acknowledges (a forged answer; the caller drops it).
 */
int routegen_ack(struct routegen *g, unsigned int node, uint64_t gen,
		 uint64_t now_ms);
/* The newest generation that every node has installed. */
uint64_t routegen_installed(const struct routegen *g);
/*
 * A node that has been behind for more than @timeout_ms at @now_ms (no
 * acknowledgement since it fell behind or since its last one): its id,
 * with the newest generation it installed in *@acked; -1 when none is.
 */
int routegen_late(const struct routegen *g, uint64_t now_ms,
		  uint64_t timeout_ms, uint64_t *acked);

#endif
