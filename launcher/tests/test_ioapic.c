// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: userspace IOAPIC, and the generations of its routes on the
 * other hosts of a VM on several hosts (routegen.c).
 */
#include <string.h>

#include "harness.h"
#include "ioapic.h"
#include "routegen.h"

static struct ioapic_msi sent[16];
static unsigned int nsent, nroutes;
static uint64_t last_gen;	/* of the last routes_changed() */
static uint64_t last_routes[IOAPIC_PINS];
static bool remote;		/* what remote_dest() answers */
static unsigned int nremote;	/* remote_dest() calls */

static int deliver(void *opaque, const struct ioapic_msi *msi)
{
	(void)opaque;
	if (nsent < 16)
		sent[nsent] = *msi;
	nsent++;
	return 1;
}

static void routes(void *opaque, const uint64_t *redir, uint64_t gen)
{
	(void)opaque;
	nroutes++;
	last_gen = gen;
	memcpy(last_routes, redir, sizeof(last_routes));
}

static bool remote_dest(void *opaque, const struct ioapic_msi *msi)
{
	(void)opaque;
	(void)msi;
	nremote++;
	return remote;
}

static uint32_t mmio_read(struct ioapic *io, uint64_t off)
{
	uint32_t v = 0;

	ioapic_mmio(io, off, (uint8_t *)&v, 4, false);
	return v;
}

static void mmio_write(struct ioapic *io, uint64_t off, uint32_t v)
{
	ioapic_mmio(io, off, (uint8_t *)&v, 4, true);
}

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
	mmio_write(io, IOAPIC_REG_SELECT, reg);
	return mmio_read(io, IOAPIC_REG_WINDOW);
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	mmio_write(io, IOAPIC_REG_SELECT, reg);
	mmio_write(io, IOAPIC_REG_WINDOW, v);
}

static void set_rte(struct ioapic *io, unsigned int pin, uint64_t rte)
{
	reg_write(io, IOAPIC_REDTBL + 2 * pin + 1, (uint32_t)(rte >> 32));
	reg_write(io, IOAPIC_REDTBL + 2 * pin, (uint32_t)rte);
}

static void setup(struct ioapic *io)
{
	nsent = nroutes = nremote = 0;
	last_gen = 0;
	remote = false;
	memset(sent, 0, sizeof(sent));
	ioapic_init(io, deliver, routes, NULL);
}

/* An IOAPIC of a VM on several hosts whose destinations are remote. */
static void setup_cluster(struct ioapic *io)
{
	setup(io);
	ioapic_set_remote(io, remote_dest);
	remote = true;
}

static bool remote_irr(struct ioapic *io, unsigned int pin)
{
	return reg_read(io, IOAPIC_REDTBL + 2 * pin) & IOAPIC_RTE_REMOTE_IRR;
}

static void ioapic_msi_encoding(void)
{
	struct ioapic_msi m;

	/* Fixed, physical, edge, vector 0x30, APIC id 2. */
	ioapic_rte_to_msi(0x30 | 2ULL << 56, &m);
	CHECK_EQ(m.address, 0xFEE02000);
	CHECK_EQ(m.data, 0x30);
	/* Logical destination 0x0F, lowest priority (1), level. */
	ioapic_rte_to_msi(0x41 | 1ULL << 8 | IOAPIC_RTE_DESTMODE |
			  IOAPIC_RTE_LEVEL | 0x0FULL << 56, &m);
	CHECK_EQ(m.address, 0xFEE0F004);
	CHECK_EQ(m.data, 0x41 | 1 << 8 | 1 << 15);
	/* NMI (4), APIC id 255; mask and polarity do not leak in. */
	ioapic_rte_to_msi(0x02 | 4ULL << 8 | IOAPIC_RTE_MASKED |
			  IOAPIC_RTE_POLARITY | 0xFFULL << 56, &m);
	CHECK_EQ(m.address, 0xFEEFF000);
	CHECK_EQ(m.data, 0x402);
}

static void ioapic_registers(void)
{
	struct ioapic io;
	unsigned int pin;

	setup(&io);
	CHECK_EQ(reg_read(&io, IOAPIC_VER), 0x00170020);
	CHECK_EQ(reg_read(&io, IOAPIC_ID), 0);
	reg_write(&io, IOAPIC_ID, 0x05000000);
	CHECK_EQ(reg_read(&io, IOAPIC_ID), 0x05000000);
	CHECK_EQ(mmio_read(&io, IOAPIC_REG_SELECT), IOAPIC_ID);
	/* Every pin starts masked. */
	for (pin = 0; pin < IOAPIC_PINS; pin++)
		CHECK(reg_read(&io, IOAPIC_REDTBL + 2 * pin) & IOAPIC_RTE_MASKED);
	set_rte(&io, 7, 0x31 | 3ULL << 56);
	CHECK_EQ(reg_read(&io, IOAPIC_REDTBL + 14), 0x31);
	CHECK_EQ(reg_read(&io, IOAPIC_REDTBL + 15), 0x03000000);
	CHECK(nroutes > 0);
	/* Read-only bits stay clear. */
	reg_write(&io, IOAPIC_REDTBL + 14, 0x31 | IOAPIC_RTE_RO_BITS);
	CHECK_EQ(reg_read(&io, IOAPIC_REDTBL + 14), 0x31);
	/* Beyond the last pin: reads 0, writes ignored. */
	reg_write(&io, IOAPIC_REDTBL + 2 * IOAPIC_PINS, 0x1234);
	CHECK_EQ(reg_read(&io, IOAPIC_REDTBL + 2 * IOAPIC_PINS), 0);
	ioapic_destroy(&io);
}

static void ioapic_edge(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 4, 0x24 | 1ULL << 56);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent[0].address, 0xFEE01000);
	CHECK_EQ(sent[0].data, 0x24);
	/* Staying high is no new edge; low then high is. */
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(nsent, 1);
	ioapic_set_irq(&io, 4, false);
	CHECK_EQ(nsent, 1);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(nsent, 2);
	/* Edge remote IRR never sticks. */
	CHECK(!(reg_read(&io, IOAPIC_REDTBL + 8) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_destroy(&io);
}

static void ioapic_masked_edge_is_kept(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 4, 0x24 | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 4, true);
	ioapic_set_irq(&io, 4, false);
	CHECK_EQ(nsent, 0);
	set_rte(&io, 4, 0x24);
	CHECK_EQ(nsent, 1);
	set_rte(&io, 4, 0x25);
	CHECK_EQ(nsent, 1);		/* delivered once only */
	ioapic_destroy(&io);
}

static void ioapic_level_remote_irr(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 10, 0x50 | IOAPIC_RTE_LEVEL);
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent[0].data, 0x50 | 1 << 15);
	CHECK(reg_read(&io, IOAPIC_REDTBL + 20) & IOAPIC_RTE_REMOTE_IRR);
	/* Still asserted, but remote IRR holds it back. */
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 1);
	/* EOI for another vector changes nothing. */
	ioapic_eoi(&io, 0x51);
	CHECK_EQ(nsent, 1);
	/* EOI while still asserted: delivered again. */
	ioapic_eoi(&io, 0x50);
	CHECK_EQ(nsent, 2);
	/* Deassert, EOI: remote IRR clears, nothing more. */
	ioapic_set_irq(&io, 10, false);
	ioapic_eoi(&io, 0x50);
	CHECK_EQ(nsent, 2);
	CHECK(!(reg_read(&io, IOAPIC_REDTBL + 20) & IOAPIC_RTE_REMOTE_IRR));
	/* The EOI register (version 0x20) works like an EOI exit. */
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 3);
	ioapic_set_irq(&io, 10, false);
	mmio_write(&io, IOAPIC_REG_EOI, 0x50);
	CHECK(!(reg_read(&io, IOAPIC_REDTBL + 20) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_destroy(&io);
}

static void ioapic_level_masked_then_unmasked(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(nsent, 0);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL);
	CHECK_EQ(nsent, 1);
	/* Deasserted while masked: nothing on unmask. */
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x60);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(io.delivered, 1);
	ioapic_destroy(&io);
}

/*
 * A level entry changed: its interrupt waits, pending, until every other
 * host has the routes of that change, then goes out exactly once.
 */
static void ioapic_level_waits_for_routes(void)
{
	struct ioapic io;

	setup_cluster(&io);
	set_rte(&io, 10, 0x50 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	CHECK_EQ(nroutes, 1);		/* the high half alone changed no route */
	CHECK_EQ(last_gen, 1);
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(io.held, 1);
	CHECK(nremote > 0);
	CHECK(!remote_irr(&io, 10));
	/* EOIs and more of the same level change nothing while it waits. */
	ioapic_eoi(&io, 0x50);
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(io.held, 1);
	/* Stale and forged generations release nothing. */
	ioapic_routes_acked(&io, 0);
	CHECK_EQ(nsent, 0);
	ioapic_routes_acked(&io, 2);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(io.routes_acked, 0);
	/* The acknowledgement: delivered once, remote IRR set. */
	ioapic_routes_acked(&io, 1);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent[0].address, 0xFEE02000);
	CHECK_EQ(sent[0].data, 0x50 | 1 << 15);
	CHECK(remote_irr(&io, 10));
	ioapic_routes_acked(&io, 1);
	CHECK_EQ(nsent, 1);
	/* From now on it needs no wait: the EOI delivers again at once. */
	ioapic_eoi(&io, 0x50);
	CHECK_EQ(nsent, 2);
	CHECK_EQ(io.held, 1);
	CHECK_EQ(io.delivered, 2);
	ioapic_destroy(&io);
}

/* Deasserted while it waited: nothing is delivered after the ack. */
static void ioapic_level_wait_then_deassert(void)
{
	struct ioapic io;

	setup_cluster(&io);
	set_rte(&io, 11, 0x51 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	ioapic_set_irq(&io, 11, true);
	ioapic_set_irq(&io, 11, false);
	ioapic_routes_acked(&io, last_gen);
	CHECK_EQ(nsent, 0);
	CHECK(!remote_irr(&io, 11));
	/* Asserted again: generation acknowledged, delivered at once. */
	ioapic_set_irq(&io, 11, true);
	CHECK_EQ(nsent, 1);
	ioapic_destroy(&io);
}

/*
 * A change that leaves the route alone (polarity, mask) is no generation,
 * and another pin's change does not hold this one.
 */
static void ioapic_route_generations(void)
{
	struct ioapic io;
	uint64_t gen;

	setup_cluster(&io);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	ioapic_routes_acked(&io, last_gen);
	gen = last_gen;
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_POLARITY |
		2ULL << 56);
	CHECK_EQ(last_gen, gen);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(nsent, 1);
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x60);
	/* Pin 3 changes; pin 9 still fires at once. */
	set_rte(&io, 3, 0x33 | IOAPIC_RTE_LEVEL | 1ULL << 56);
	CHECK_EQ(last_gen, gen + 1);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(nsent, 2);
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x60);
	/* Mask, unmask: the route stayed, it fires at once. */
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED |
		2ULL << 56);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	CHECK_EQ(last_gen, gen + 1);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(nsent, 3);
	/* A new destination is a new route, waited for. */
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x60);
	set_rte(&io, 9, 0x60 | IOAPIC_RTE_LEVEL | 3ULL << 56);
	CHECK_EQ(last_gen, gen + 2);
	ioapic_set_irq(&io, 9, true);
	CHECK_EQ(nsent, 3);
	ioapic_routes_acked(&io, gen + 1);
	CHECK_EQ(nsent, 3);
	ioapic_routes_acked(&io, gen + 2);
	CHECK_EQ(nsent, 4);
	CHECK_EQ(sent[3].address, 0xFEE03000);
	CHECK_EQ(io.held, 1);
	ioapic_destroy(&io);
}

/*
 * A masked pin keeps its last route, so that the EOI of an interrupt in
 * service when the guest masked it still exits; a pin never unmasked has
 * none.
 */
static void ioapic_masked_pin_keeps_route(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 7, 0x70 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED |
		1ULL << 56);
	CHECK_EQ(nroutes, 0);
	set_rte(&io, 7, 0x70 | IOAPIC_RTE_LEVEL | 1ULL << 56);
	CHECK_EQ(nroutes, 1);
	CHECK_EQ(last_routes[7], 0x70 | IOAPIC_RTE_LEVEL | 1ULL << 56);
	CHECK(last_routes[8] & IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 7, true);
	CHECK_EQ(nsent, 1);
	/* Masked while in service (oneshot), then the EOI. */
	set_rte(&io, 7, 0x70 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED |
		1ULL << 56);
	CHECK_EQ(nroutes, 1);
	ioapic_set_irq(&io, 7, false);
	ioapic_eoi(&io, 0x70);
	CHECK(!remote_irr(&io, 7));
	/* Masked with a new vector: the route changes at the unmask. */
	set_rte(&io, 7, 0x71 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED |
		1ULL << 56);
	CHECK_EQ(nroutes, 1);
	set_rte(&io, 7, 0x71 | IOAPIC_RTE_LEVEL | 1ULL << 56);
	CHECK_EQ(nroutes, 2);
	CHECK_EQ(last_routes[7] & IOAPIC_RTE_VECTOR, 0x71);
	ioapic_destroy(&io);
}

/* Edge entries, and level ones for this host's vCPUs, never wait. */
static void ioapic_no_wait_edge_or_local(void)
{
	struct ioapic io;

	setup_cluster(&io);
	set_rte(&io, 4, 0x24 | 2ULL << 56);
	ioapic_set_irq(&io, 4, true);
	CHECK_EQ(nsent, 1);
	CHECK_EQ(sent[0].data, 0x24);
	/* A level entry turned edge does not wait either. */
	set_rte(&io, 5, 0x25 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	set_rte(&io, 5, 0x25 | 2ULL << 56);
	ioapic_set_irq(&io, 5, true);
	CHECK_EQ(nsent, 2);
	/* A level entry whose destination is on this host. */
	remote = false;
	set_rte(&io, 6, 0x26 | IOAPIC_RTE_LEVEL);
	ioapic_set_irq(&io, 6, true);
	CHECK_EQ(nsent, 3);
	CHECK_EQ(sent[2].data, 0x26 | 1 << 15);
	CHECK_EQ(io.held, 0);
	CHECK_EQ(io.routes_acked, 0);
	ioapic_destroy(&io);
}

/* One host: no remote_dest(), no generation is ever waited for. */
static void ioapic_single_host_no_wait(void)
{
	struct ioapic io;

	setup(&io);
	set_rte(&io, 10, 0x50 | IOAPIC_RTE_LEVEL | 2ULL << 56);
	CHECK_EQ(last_gen, 1);
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 1);
	set_rte(&io, 10, 0x50 | IOAPIC_RTE_LEVEL | 1ULL << 56);
	ioapic_set_irq(&io, 10, false);
	ioapic_eoi(&io, 0x50);
	ioapic_set_irq(&io, 10, true);
	CHECK_EQ(nsent, 2);
	CHECK_EQ(io.held, 0);
	CHECK_EQ(nremote, 0);
	ioapic_destroy(&io);
}

/* The acknowledgements of two other nodes, 1 and 2 (this is node 0). */
static void routegen_acks(void)
{
	struct routegen g;

	routegen_init(&g, 0x6);
	CHECK_EQ(routegen_installed(&g), 0);
	/* Nothing sent: any acknowledgement is forged. */
	CHECK_EQ(routegen_ack(&g, 1, 1, 10), -1);
	routegen_sent(&g, 1, 100);
	CHECK_EQ(routegen_installed(&g), 0);
	CHECK_EQ(routegen_ack(&g, 1, 1, 110), 1);
	CHECK_EQ(routegen_installed(&g), 0);	/* node 2 has not */
	/* A generation never sent, a node that does not acknowledge. */
	CHECK_EQ(routegen_ack(&g, 2, 2, 120), -1);
	CHECK_EQ(routegen_ack(&g, 0, 1, 120), -1);
	CHECK_EQ(routegen_ack(&g, 3, 1, 120), -1);
	CHECK_EQ(routegen_ack(&g, 64, 1, 120), -1);
	CHECK_EQ(routegen_ack(&g, 70000, 1, 120), -1);
	CHECK_EQ(routegen_installed(&g), 0);
	CHECK_EQ(routegen_ack(&g, 2, 1, 130), 1);
	CHECK_EQ(routegen_installed(&g), 1);
	/* Duplicate. */
	CHECK_EQ(routegen_ack(&g, 2, 1, 140), 0);
	routegen_sent(&g, 2, 200);
	routegen_sent(&g, 3, 210);
	routegen_sent(&g, 3, 220);	/* not newer: ignored */
	CHECK_EQ(g.sent, 3);
	CHECK_EQ(routegen_ack(&g, 1, 3, 230), 1);
	CHECK_EQ(routegen_ack(&g, 2, 2, 240), 1);
	CHECK_EQ(routegen_installed(&g), 2);
	/* Stale: an older generation than the node has. */
	CHECK_EQ(routegen_ack(&g, 2, 1, 250), 0);
	CHECK_EQ(routegen_ack(&g, 1, 2, 250), 0);
	CHECK_EQ(routegen_installed(&g), 2);
	CHECK_EQ(routegen_ack(&g, 2, 3, 260), 1);
	CHECK_EQ(routegen_installed(&g), 3);
}

/* A node that does not catch up within the timeout is named. */
static void routegen_timeout(void)
{
	struct routegen g;
	uint64_t acked = 99;

	routegen_init(&g, 0x6);
	CHECK_EQ(routegen_late(&g, 1000000, 1000, &acked), -1);
	routegen_sent(&g, 1, 1000);
	CHECK_EQ(routegen_late(&g, 2000, 1000, &acked), -1);
	CHECK_EQ(routegen_ack(&g, 1, 1, 1500), 1);
	CHECK_EQ(routegen_late(&g, 2001, 1000, &acked), 2);
	CHECK_EQ(acked, 0);
	CHECK_EQ(routegen_ack(&g, 2, 1, 2100), 1);
	CHECK_EQ(routegen_late(&g, 900000, 1000, &acked), -1);
	/* Node 1 behind from 3000; its partial progress restarts the wait. */
	routegen_sent(&g, 2, 3000);
	routegen_sent(&g, 3, 3500);
	CHECK_EQ(routegen_ack(&g, 2, 3, 3100), 1);
	CHECK_EQ(routegen_late(&g, 3900, 1000, &acked), -1);
	CHECK_EQ(routegen_ack(&g, 1, 2, 3900), 1);
	CHECK_EQ(routegen_late(&g, 4800, 1000, &acked), -1);
	CHECK_EQ(routegen_late(&g, 4901, 1000, &acked), 1);
	CHECK_EQ(acked, 2);
	/* Forged and stale answers do not restart it. */
	CHECK_EQ(routegen_ack(&g, 1, 9, 4950), -1);
	CHECK_EQ(routegen_ack(&g, 1, 1, 4950), 0);
	CHECK_EQ(routegen_late(&g, 4960, 1000, &acked), 1);
	/* No other node (one host): nothing to wait for. */
	routegen_init(&g, 0);
	routegen_sent(&g, 5, 0);
	CHECK_EQ(routegen_installed(&g), 5);
	CHECK_EQ(routegen_late(&g, 100000, 1000, &acked), -1);
}

void suite_ioapic(void)
{
	RUN(ioapic_msi_encoding);
	RUN(ioapic_registers);
	RUN(ioapic_edge);
	RUN(ioapic_masked_edge_is_kept);
	RUN(ioapic_level_remote_irr);
	RUN(ioapic_level_masked_then_unmasked);
	RUN(ioapic_level_waits_for_routes);
	RUN(ioapic_level_wait_then_deassert);
	RUN(ioapic_route_generations);
	RUN(ioapic_masked_pin_keeps_route);
	RUN(ioapic_no_wait_edge_or_local);
	RUN(ioapic_single_host_no_wait);
	RUN(routegen_acks);
	RUN(routegen_timeout);
}
