/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: userspace IOAPIC (82093AA register model, version 0x20).
 *
 * With KVM's split irqchip the local APICs are in the kernel and the
 * IOAPIC is here. A pin that fires is turned into an MSI built from its
 * redirection entry and handed to the deliver() callback (KVM_SIGNAL_MSI).
 * Level-triggered pins keep remote IRR until the guest's EOI for their
 * vector comes back (KVM_EXIT_IOAPIC_EOI, or the EOI register); for KVM to
 * report those EOIs it must know the pins' MSI routes, which the
 * routes_changed() callback publishes (KVM_SET_GSI_ROUTING). A pin the
 * guest masks keeps the route it had (as QEMU's split IOAPIC does): Linux
 * masks a oneshot interrupt before its EOI, and that EOI must still exit.
 *
 * A VM on several hosts: the other hosts' KVMs learn the routes from a
 * message, later than an interrupt forwarded to them arrives. Each change
 * of the routes is a generation; a level-triggered pin whose destination
 * may be on another host (the remote_dest() callback) is held pending, as
 * a masked pin is, until every other host has installed the generation
 * that last changed the pin's route (ioapic_routes_acked()). Otherwise its
 * EOI there would not exit, and remote IRR would stay set for good.
 *
 * The register state machine is pure logic; only the callbacks reach KVM.
 */
#ifndef BIGIRON_IOAPIC_H
#define BIGIRON_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS		24
#define IOAPIC_VERSION		0x20

/* MMIO offsets */
#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10
#define IOAPIC_REG_EOI		0x40

/* Indirect registers */
#define IOAPIC_ID		0x00
#define IOAPIC_VER		0x01
#define IOAPIC_ARB		0x02
#define IOAPIC_REDTBL		0x10

/* Redirection entry bits */
#define IOAPIC_RTE_VECTOR	0xFFULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE	(7ULL << 8)
#define IOAPIC_RTE_DESTMODE	(1ULL << 11)	/* 1: logical */
#define IOAPIC_RTE_DELIVS	(1ULL << 12)	/* read-only */
#define IOAPIC_RTE_POLARITY	(1ULL << 13)	/* 1: active low */
#define IOAPIC_RTE_REMOTE_IRR	(1ULL << 14)	/* read-only */
#define IOAPIC_RTE_LEVEL	(1ULL << 15)
#define IOAPIC_RTE_MASKED	(1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT	56
#define IOAPIC_RTE_RO_BITS	(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

#define MSI_ADDR_BASE		0xFEE00000ULL
#define MSI_ADDR_DEST_SHIFT	12
#define MSI_ADDR_DESTMODE_LOGICAL (1U << 2)
#define MSI_DATA_DELMODE_SHIFT	8
#define MSI_DATA_LEVEL		(1U << 15)

struct ioapic_msi {
	uint64_t address;
	uint32_t data;
};

struct ioapic {
	pthread_mutex_t lock;
	uint32_t id;
	uint32_t select;
	uint32_t line;		/* input level per pin (asserted = 1) */
	uint32_t irr;		/* pending, not yet delivered */
	uint64_t redir[IOAPIC_PINS];
	/* per pin, the entry as last unmasked; masked: never unmasked */
	uint64_t route[IOAPIC_PINS];
	uint64_t routes_gen;	/* the generation of the current routes */
	uint64_t routes_acked;	/* installed by every other host */
	uint64_t pin_gen[IOAPIC_PINS];	/* last changed the pin's route */
	uint32_t waiting;	/* level pins held for routes_acked */
	/*
	 * Callbacks run with @lock held and must not call back in;
	 * routes_changed() gets route[].
	 */
	int (*deliver)(void *opaque, const struct ioapic_msi *msi);
	void (*routes_changed)(void *opaque, const uint64_t *redir,
			       uint64_t gen);
	/* NULL: every destination is on this host. */
	bool (*remote_dest)(void *opaque, const struct ioapic_msi *msi);
	void *opaque;
	unsigned long delivered;	/* statistics, for tests and -v */
	unsigned long held;		/* interrupts that waited for routes */
};

void ioapic_init(struct ioapic *io, int (*deliver)(void *, const struct ioapic_msi *),
		 void (*routes_changed)(void *, const uint64_t *, uint64_t),
		 void *opaque);
void ioapic_destroy(struct ioapic *io);

/*
 * A VM on several hosts, before any vCPU runs: @remote_dest tells whether
 * an MSI may reach a vCPU of another host.
 */
void ioapic_set_remote(struct ioapic *io,
		       bool (*remote_dest)(void *, const struct ioapic_msi *));
/*
 * Every other host has installed the routes up to generation @gen: the
 * pins held for them are delivered. Older or unknown generations are
 * ignored.
 */
void ioapic_routes_acked(struct ioapic *io, uint64_t gen);

/* The MSI a redirection entry describes. */
void ioapic_rte_to_msi(uint64_t rte, struct ioapic_msi *msi);

/* Set input @pin to @level (true: asserted). Edges fire on 0 -> 1. */
void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level);
/* The guest EOIed @vector: clear remote IRR, re-deliver if still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* io_handler_fn for the MMIO window; @opaque is the struct ioapic. */
void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data,
		 unsigned int len, bool is_write);

#endif
