// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: userspace IOAPIC.
 *
 * Locking: io->lock protects all state. Callers may hold a device lock
 * (serial) when they call ioapic_set_irq(); the order is device lock, then
 * io->lock. The deliver() and routes_changed() callbacks run under
 * io->lock and only make KVM ioctls and send messages (routes_changed()
 * takes ssi->lock briefly, which is never held while taking io->lock);
 * remote_dest() only reads the configuration.
 */
#include <string.h>

#include "ioapic.h"

void ioapic_rte_to_msi(uint64_t rte, struct ioapic_msi *msi)
{
	uint32_t dest = (uint32_t)(rte >> IOAPIC_RTE_DEST_SHIFT) & 0xFF;
	uint32_t delmode = (uint32_t)((rte & IOAPIC_RTE_DELMODE) >>
				      IOAPIC_RTE_DELMODE_SHIFT);

	msi->address = MSI_ADDR_BASE | dest << MSI_ADDR_DEST_SHIFT;
	if (rte & IOAPIC_RTE_DESTMODE)
		msi->address |= MSI_ADDR_DESTMODE_LOGICAL;
	msi->data = (uint32_t)(rte & IOAPIC_RTE_VECTOR) |
		    delmode << MSI_DATA_DELMODE_SHIFT;
	if (rte & IOAPIC_RTE_LEVEL)
		msi->data |= MSI_DATA_LEVEL;
}

void ioapic_init(struct ioapic *io,
		 int (*deliver)(void *, const struct ioapic_msi *),
		 void (*routes_changed)(void *, const uint64_t *, uint64_t),
		 void *opaque)
{
	unsigned int i;

	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	for (i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = io->route[i] = IOAPIC_RTE_MASKED;
	io->deliver = deliver;
	io->routes_changed = routes_changed;
	io->opaque = opaque;
}

void ioapic_destroy(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

void ioapic_set_remote(struct ioapic *io,
		       bool (*remote_dest)(void *, const struct ioapic_msi *))
{
	pthread_mutex_lock(&io->lock);
	io->remote_dest = remote_dest;
	pthread_mutex_unlock(&io->lock);
}

/*
 * Must level-triggered @pin, about to send @msi, wait until the other
 * hosts have its route? Only while some host may lack it and @msi may
 * reach a vCPU there.
 */
static bool ioapic_wait_routes(struct ioapic *io, unsigned int pin,
			       const struct ioapic_msi *msi)
{
	return io->pin_gen[pin] > io->routes_acked && io->remote_dest &&
	       io->remote_dest(io->opaque, msi);
}

/* Deliver every pending, unmasked pin. */
static void ioapic_service_locked(struct ioapic *io)
{
	struct ioapic_msi msi;
	unsigned int pin;

	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *rte = &io->redir[pin];
		uint32_t bit = 1U << pin;

		if (!(io->irr & bit) || (*rte & IOAPIC_RTE_MASKED)) {
			io->waiting &= ~bit;
			continue;
		}
		ioapic_rte_to_msi(*rte, &msi);
		if (*rte & IOAPIC_RTE_LEVEL) {
			if (*rte & IOAPIC_RTE_REMOTE_IRR)
				continue;
			if (ioapic_wait_routes(io, pin, &msi)) {
				/* Still pending; ioapic_routes_acked() retries. */
				if (!(io->waiting & bit))
					io->held++;
				io->waiting |= bit;
				continue;
			}
			*rte |= IOAPIC_RTE_REMOTE_IRR;
		} else {
			io->irr &= ~bit;
		}
		io->waiting &= ~bit;
		io->delivered++;
		if (io->deliver)
			io->deliver(io->opaque, &msi);
	}
}

void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level)
{
	uint32_t mask = 1U << pin;
	bool old;

	if (pin >= IOAPIC_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	old = io->line & mask;
	if (level)
		io->line |= mask;
	else
		io->line &= ~mask;
	if (io->redir[pin] & IOAPIC_RTE_LEVEL) {
		if (level)
			io->irr |= mask;
		else
			io->irr &= ~mask;
	} else if (level && !old) {
		/*
		 * An edge on a masked pin stays pending until the pin is
		 * unmasked, so Linux masking a pin around its setup loses
		 * no interrupt.
		 */
		io->irr |= mask;
	}
	ioapic_service_locked(io);
	pthread_mutex_unlock(&io->lock);
}

static void ioapic_eoi_locked(struct ioapic *io, uint8_t vector)
{
	unsigned int pin;

	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *rte = &io->redir[pin];

		if ((*rte & IOAPIC_RTE_VECTOR) != vector ||
		    !(*rte & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
		/* Still asserted: irr is still set, deliver again. */
	}
	ioapic_service_locked(io);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	ioapic_eoi_locked(io, vector);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_routes_acked(struct ioapic *io, uint64_t gen)
{
	pthread_mutex_lock(&io->lock);
	if (gen > io->routes_acked && gen <= io->routes_gen) {
		io->routes_acked = gen;
		ioapic_service_locked(io);
	}
	pthread_mutex_unlock(&io->lock);
}

/*
 * Does unmasked entry @rte give KVM the same route as @route, a pin's
 * last one (kvm_set_ioapic_routes(): none when masked, else its MSI)?
 */
static bool ioapic_same_route(uint64_t route, uint64_t rte)
{
	struct ioapic_msi ma, mb;

	if (route & IOAPIC_RTE_MASKED)
		return false;
	ioapic_rte_to_msi(route, &ma);
	ioapic_rte_to_msi(rte, &mb);
	return ma.address == mb.address && ma.data == mb.data;
}

static uint32_t ioapic_read_locked(struct ioapic *io)
{
	uint32_t reg = io->select;
	unsigned int pin;

	switch (reg) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return (io->id & 0xF) << 24;
	case IOAPIC_VER:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	}
	if (reg >= IOAPIC_REDTBL && reg < IOAPIC_REDTBL + 2 * IOAPIC_PINS) {
		pin = (reg - IOAPIC_REDTBL) / 2;
		if (reg & 1)
			return (uint32_t)(io->redir[pin] >> 32);
		return (uint32_t)io->redir[pin];
	}
	return 0;
}

static void ioapic_write_locked(struct ioapic *io, uint32_t val)
{
	uint32_t reg = io->select;
	uint64_t old, rte;
	unsigned int pin;

	if (reg == IOAPIC_ID) {
		io->id = (val >> 24) & 0xF;
		return;
	}
	if (reg < IOAPIC_REDTBL || reg >= IOAPIC_REDTBL + 2 * IOAPIC_PINS)
		return;
	pin = (reg - IOAPIC_REDTBL) / 2;
	old = rte = io->redir[pin];
	if (reg & 1) {
		rte = (rte & 0xFFFFFFFFULL) | (uint64_t)val << 32;
	} else {
		rte = (rte & ~0xFFFFFFFFULL) | val;
		rte = (rte & ~IOAPIC_RTE_RO_BITS) | (old & IOAPIC_RTE_RO_BITS);
	}
	if (!(rte & IOAPIC_RTE_LEVEL)) {
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
		/* A level pin turned edge: forget its level. */
		if (old & IOAPIC_RTE_LEVEL)
			io->irr &= ~(1U << pin);
	} else if (!(old & IOAPIC_RTE_LEVEL)) {
		/* An edge pin turned level: pending follows the line. */
		io->irr = (io->irr & ~(1U << pin)) | (io->line & (1U << pin));
	}
	io->redir[pin] = rte;
	/* Masking keeps the route; an unmasked entry may change it. */
	if (!(rte & IOAPIC_RTE_MASKED) &&
	    !ioapic_same_route(io->route[pin], rte)) {
		io->route[pin] = rte;
		/* a new generation, which this pin waits for if level */
		io->pin_gen[pin] = ++io->routes_gen;
		if (io->routes_changed)
			io->routes_changed(io->opaque, io->route,
					   io->routes_gen);
	}
	ioapic_service_locked(io);
}

void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data,
		 unsigned int len, bool is_write)
{
	struct ioapic *io = opaque;
	uint32_t val = 0;

	if (len > 4)
		len = 4;
	if (is_write)
		memcpy(&val, data, len);
	pthread_mutex_lock(&io->lock);
	switch (offset) {
	case IOAPIC_REG_SELECT:
		if (is_write)
			io->select = val & 0xFF;
		else
			val = io->select;
		break;
	case IOAPIC_REG_WINDOW:
		if (is_write)
			ioapic_write_locked(io, val);
		else
			val = ioapic_read_locked(io);
		break;
	case IOAPIC_REG_EOI:
		if (is_write)
			ioapic_eoi_locked(io, (uint8_t)val);
		else
			val = 0;
		break;
	default:
		val = 0;
		break;
	}
	pthread_mutex_unlock(&io->lock);
	if (!is_write)
		memcpy(data, &val, len);
}
