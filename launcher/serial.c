// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: 16550A UART.
 *
 * Transmission is instantaneous: a byte written to THR goes straight to
 * tx(), so THR and the shift register are empty again at once (LSR THRE
 * and TEMT always set). The THRE interrupt is raised each time THR becomes
 * empty with ETBEI set, and when ETBEI is switched on while THR is empty;
 * it is acknowledged by reading IIR while it is the reported source, or by
 * writing THR. Linux's tty output waits for exactly these interrupts.
 *
 * Locking: s->lock protects all state; tx() and irq() run under it, and
 * irq() takes the IOAPIC lock (order: serial, then ioapic).
 */
#include <string.h>

#include "serial.h"

void serial_init(struct serial8250 *s, void (*tx)(void *, uint8_t),
		 void (*irq)(void *, bool), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->dll = 0x0C;			/* 9600 baud */
	s->tx = tx;
	s->irq = irq;
	s->opaque = opaque;
}

void serial_destroy(struct serial8250 *s)
{
	pthread_mutex_destroy(&s->lock);
}

static unsigned int rx_capacity(const struct serial8250 *s)
{
	return (s->fcr & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

static uint8_t serial_iir_locked(const struct serial8250 *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_OE))
		return fifo | UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_pending)
		return fifo | UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & 0x0F))
		return fifo | UART_IIR_MSI;
	return fifo | UART_IIR_NO_INT;
}

static void serial_update_irq_locked(struct serial8250 *s)
{
	bool level = !(serial_iir_locked(s) & UART_IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->irq)
		s->irq(s->opaque, level);
}

static void rx_push_locked(struct serial8250 *s, uint8_t c)
{
	if (s->rx_count >= rx_capacity(s)) {
		s->lsr |= UART_LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
	s->rx_count++;
	s->lsr |= UART_LSR_DR;
}

/* In loopback the modem inputs follow the modem outputs. */
static uint8_t loopback_msr(uint8_t mcr)
{
	uint8_t msr = 0;

	if (mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static void set_msr_locked(struct serial8250 *s, uint8_t status)
{
	uint8_t old = s->msr, delta = 0;

	if ((old ^ status) & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if ((old ^ status) & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(status & UART_MSR_RI))
		delta |= UART_MSR_TERI;
	if ((old ^ status) & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	s->msr = status | (old & 0x0F) | delta;
}

uint8_t serial_read(struct serial8250 *s, unsigned int reg)
{
	uint8_t val = 0xFF;

	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB) {
			val = s->dll;
			break;
		}
		val = 0;
		if (s->rx_count) {
			val = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
			s->rx_count--;
		}
		if (!s->rx_count)
			s->lsr &= ~UART_LSR_DR;
		break;
	case UART_IER:
		val = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		val = serial_iir_locked(s);
		if ((val & 0x0F) == UART_IIR_THRI)
			s->thr_pending = false;
		break;
	case UART_LCR:
		val = s->lcr;
		break;
	case UART_MCR:
		val = s->mcr;
		break;
	case UART_LSR:
		val = s->lsr;
		s->lsr &= ~UART_LSR_OE;	/* error bits clear on read */
		break;
	case UART_MSR:
		val = s->msr;
		s->msr &= 0xF0;		/* delta bits clear on read */
		break;
	case UART_SCR:
		val = s->scr;
		break;
	}
	serial_update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return val;
}

void serial_write(struct serial8250 *s, unsigned int reg, uint8_t val)
{
	uint8_t old;

	pthread_mutex_lock(&s->lock);
	switch (reg) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			rx_push_locked(s, val);
		else if (s->tx)
			s->tx(s->opaque, val);
		/* Sent at once: THR is empty again. */
		s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		s->thr_pending = true;
		/*
		 * Drop the line for the write itself so that a THRE still
		 * pending from before makes a fresh edge now.
		 */
		if (s->irq_level && (s->ier & UART_IER_THRI) &&
		    (serial_iir_locked(s) & 0x0F) == UART_IIR_THRI) {
			s->irq_level = false;
			if (s->irq)
				s->irq(s->opaque, false);
		}
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		old = s->ier;
		s->ier = val & 0x0F;
		if (!(old & UART_IER_THRI) && (s->ier & UART_IER_THRI) &&
		    (s->lsr & UART_LSR_THRE))
			s->thr_pending = true;
		break;
	case UART_FCR:
		if ((val ^ s->fcr) & UART_FCR_ENABLE)
			val |= UART_FCR_CLR_RX | UART_FCR_CLR_TX;
		if (val & UART_FCR_CLR_RX) {
			s->rx_head = s->rx_count = 0;
			s->lsr &= ~UART_LSR_DR;
		}
		s->fcr = val & 0xC9;	/* enable, DMA mode, trigger level */
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		old = s->mcr;
		s->mcr = val & 0x1F;
		if (s->mcr & UART_MCR_LOOP)
			set_msr_locked(s, loopback_msr(s->mcr));
		else if (old & UART_MCR_LOOP)
			set_msr_locked(s, UART_MSR_DCD | UART_MSR_DSR |
				       UART_MSR_CTS);
		break;
	case UART_LSR:
	case UART_MSR:
		break;		/* read-only here */
	case UART_SCR:
		s->scr = val;
		break;
	}
	serial_update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

unsigned int serial_receive(struct serial8250 *s, const uint8_t *buf,
			    unsigned int n)
{
	unsigned int done = 0;

	pthread_mutex_lock(&s->lock);
	/* Bytes from outside are not seen in loopback mode. */
	if (!(s->mcr & UART_MCR_LOOP)) {
		while (done < n && s->rx_count < rx_capacity(s))
			rx_push_locked(s, buf[done++]);
		serial_update_irq_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return done;
}

void serial_pio(void *opaque, uint64_t offset, uint8_t *data,
		unsigned int len, bool is_write)
{
	struct serial8250 *s = opaque;
	unsigned int i;

	/* Wider accesses are byte accesses to consecutive registers. */
	for (i = 0; i < len && offset + i < 8; i++) {
		if (is_write)
			serial_write(s, (unsigned int)(offset + i), data[i]);
		else
			data[i] = serial_read(s, (unsigned int)(offset + i));
	}
}
