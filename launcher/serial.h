/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: 16550A UART (8250 family), as the PC's COM1.
 *
 * Pure register state machine: bytes the guest sends go to the tx()
 * callback, the interrupt output goes to the irq() callback (level: true
 * while an enabled interrupt is pending; an edge-triggered IOAPIC pin
 * fires on each rising edge), received bytes come in via serial_receive().
 */
#ifndef BIGIRON_SERIAL_H
#define BIGIRON_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SERIAL_FIFO_SIZE	16

/* Register offsets */
#define UART_RX		0	/* in, DLAB=0 */
#define UART_TX		0	/* out, DLAB=0 */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1	/* DLAB=0 */
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01
#define UART_IER_THRI	0x02
#define UART_IER_RLSI	0x04
#define UART_IER_MSI	0x08

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_FIFO	0xC0	/* FIFOs enabled */

#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLR_RX	0x02
#define UART_FCR_CLR_TX	0x04

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

struct serial8250 {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_pending;	/* THRE interrupt not yet acknowledged */
	bool irq_level;		/* last level given to irq() */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	/* Callbacks run with @lock held. */
	void (*tx)(void *opaque, uint8_t c);
	void (*irq)(void *opaque, bool level);
	void *opaque;
};

void serial_init(struct serial8250 *s, void (*tx)(void *, uint8_t),
		 void (*irq)(void *, bool), void *opaque);
void serial_destroy(struct serial8250 *s);

uint8_t serial_read(struct serial8250 *s, unsigned int reg);
void serial_write(struct serial8250 *s, unsigned int reg, uint8_t val);
/* Queue up to @n received bytes; returns how many fit in the FIFO. */
unsigned int serial_receive(struct serial8250 *s, const uint8_t *buf,
			    unsigned int n);

/* io_handler_fn for the 8 ports; @opaque is the struct serial8250. */
void serial_pio(void *opaque, uint64_t offset, uint8_t *data,
		unsigned int len, bool is_write);

#endif
