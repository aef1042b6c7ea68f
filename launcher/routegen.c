// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: the generations of the IOAPIC routes on the other nodes
 * (see routegen.h).
 */
#include <string.h>

#include "routegen.h"

void routegen_init(struct routegen *g, uint64_t nodes)
{
	memset(g, 0, sizeof(*g));
	g->nodes = nodes;
}

void routegen_sent(struct routegen *g, uint64_t gen, uint64_t now_ms)
{
	unsigned int n;

	if (gen <= g->sent)
		return;
	/* A node that was up to date starts its wait now. */
	for (n = 0; n < CONFIG_NODES_MAX; n++)
		if ((g->nodes >> n) & 1 && g->acked[n] == g->sent)
			g->behind_ms[n] = now_ms;
	g->sent = gen;
}

int routegen_ack(struct routegen *g, unsigned int node, uint64_t gen,
		 uint64_t now_ms)
{
	if (node >= CONFIG_NODES_MAX || !((g->nodes >> node) & 1) ||
	    gen > g->sent)
		return -1;
	if (gen <= g->acked[node])
		return 0;
	g->acked[node] = gen;
	/* Still behind: the next generation's wait counts from here. */
	g->behind_ms[node] = now_ms;
	return 1;
}

uint64_t routegen_installed(const struct routegen *g)
{
	uint64_t min = g->sent;
	unsigned int n;

	for (n = 0; n < CONFIG_NODES_MAX; n++)
		if ((g->nodes >> n) & 1 && g->acked[n] < min)
			min = g->acked[n];
	return min;
}

int routegen_late(const struct routegen *g, uint64_t now_ms,
		  uint64_t timeout_ms, uint64_t *acked)
{
	unsigned int n;

	for (n = 0; n < CONFIG_NODES_MAX; n++) {
		if (!((g->nodes >> n) & 1) || g->acked[n] >= g->sent ||
		    now_ms <= g->behind_ms[n] + timeout_ms)
			continue;
		*acked = g->acked[n];
		return (int)n;
	}
	return -1;
}
