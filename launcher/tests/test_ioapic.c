// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: userspace IOAPIC.
 */
#include <string.h>

#include "harness.h"
#include "ioapic.h"

static struct ioapic_msi sent[16];
static unsigned int nsent, nroutes;

static int deliver(void *opaque, const struct ioapic_msi *msi)
{
	(void)opaque;
	if (nsent < 16)
		sent[nsent] = *msi;
	nsent++;
	return 1;
}

static void routes(void *opaque, const uint64_t *redir)
{
	(void)opaque;
	(void)redir;
	nroutes++;
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
	nsent = nroutes = 0;
	memset(sent, 0, sizeof(sent));
	ioapic_init(io, deliver, routes, NULL);
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

void suite_ioapic(void)
{
	RUN(ioapic_msi_encoding);
	RUN(ioapic_registers);
	RUN(ioapic_edge);
	RUN(ioapic_masked_edge_is_kept);
	RUN(ioapic_level_remote_irr);
	RUN(ioapic_level_masked_then_unmasked);
}
