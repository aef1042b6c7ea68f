// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: 16550A UART state machine.
 */
#include <string.h>

#include "harness.h"
#include "serial.h"

static char out[64];
static unsigned int nout, rises, falls;
static bool level;

static void tx(void *opaque, uint8_t c)
{
	(void)opaque;
	if (nout < sizeof(out) - 1)
		out[nout++] = (char)c;
}

static void irq(void *opaque, bool l)
{
	(void)opaque;
	if (l && !level)
		rises++;
	if (!l && level)
		falls++;
	level = l;
}

static void setup(struct serial8250 *s)
{
	memset(out, 0, sizeof(out));
	nout = rises = falls = 0;
	level = false;
	serial_init(s, tx, irq, NULL);
}

static void serial_reset_state(void)
{
	struct serial8250 s;

	setup(&s);
	CHECK_EQ(serial_read(&s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(serial_read(&s, UART_IER), 0);
	CHECK_EQ(serial_read(&s, UART_MSR) & 0xF0,
		 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	CHECK(!level);
	serial_destroy(&s);
}

static void serial_transmit(void)
{
	struct serial8250 s;

	setup(&s);
	serial_write(&s, UART_TX, 'o');
	serial_write(&s, UART_TX, 'k');
	CHECK_STREQ(out, "ok");
	CHECK_EQ(serial_read(&s, UART_LSR) & 0x60, 0x60);
	CHECK(!level);			/* no interrupt enabled */
	serial_destroy(&s);
}

static void serial_thre_interrupt(void)
{
	struct serial8250 s;

	setup(&s);
	/* Enabling ETBEI with THR empty raises the THRE interrupt. */
	serial_write(&s, UART_IER, UART_IER_THRI);
	CHECK(level);
	CHECK_EQ(rises, 1);
	/* Reading IIR reports it and acknowledges it. */
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_THRI);
	CHECK(!level);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_NO_INT);
	/* Every byte sent empties THR again: a new edge each time. */
	serial_write(&s, UART_TX, 'a');
	CHECK(level);
	CHECK_EQ(rises, 2);
	serial_write(&s, UART_TX, 'b');
	CHECK_EQ(rises, 3);
	CHECK(level);
	/* Disabling ETBEI drops the line. */
	serial_write(&s, UART_IER, 0);
	CHECK(!level);
	/* Re-enabling with THR empty raises it again. */
	serial_write(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(rises, 4);
	/* A write to IER that keeps ETBEI set does not re-arm it. */
	serial_read(&s, UART_IIR);
	serial_write(&s, UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK(!level);
	serial_destroy(&s);
}

static void serial_receive_interrupt(void)
{
	struct serial8250 s;
	const uint8_t in[3] = { 'x', 'y', 'z' };

	setup(&s);
	/* Without FIFOs the receiver holds one byte. */
	CHECK_EQ(serial_receive(&s, in, 3), 1);
	CHECK(serial_read(&s, UART_LSR) & UART_LSR_DR);
	CHECK(!level);			/* ERBFI off */
	serial_write(&s, UART_IER, UART_IER_RDI);
	CHECK(level);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(serial_read(&s, UART_RX), 'x');
	CHECK(!level);
	CHECK(!(serial_read(&s, UART_LSR) & UART_LSR_DR));
	/* With FIFOs: 16 bytes, and IIR says FIFOs are on. */
	serial_write(&s, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	CHECK_EQ(serial_receive(&s, in, 3), 3);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI);
	CHECK_EQ(serial_read(&s, UART_RX), 'x');
	CHECK_EQ(serial_read(&s, UART_RX), 'y');
	CHECK_EQ(serial_read(&s, UART_RX), 'z');
	CHECK(!level);
	/* FCR can clear the receive FIFO. */
	serial_receive(&s, in, 2);
	serial_write(&s, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX);
	CHECK(!(serial_read(&s, UART_LSR) & UART_LSR_DR));
	serial_destroy(&s);
}

static void serial_rx_priority_over_thre(void)
{
	struct serial8250 s;
	const uint8_t c = 'q';

	setup(&s);
	serial_write(&s, UART_IER, UART_IER_THRI | UART_IER_RDI);
	serial_receive(&s, &c, 1);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_RDI);
	/* THRE still pending behind it. */
	CHECK_EQ(serial_read(&s, UART_RX), 'q');
	CHECK(level);
	CHECK_EQ(serial_read(&s, UART_IIR), UART_IIR_THRI);
	CHECK(!level);
	serial_destroy(&s);
}

static void serial_divisor_and_scratch(void)
{
	struct serial8250 s;

	setup(&s);
	serial_write(&s, UART_LCR, UART_LCR_DLAB | 0x03);
	serial_write(&s, UART_DLL, 0x01);
	serial_write(&s, UART_DLM, 0x02);
	CHECK_EQ(serial_read(&s, UART_DLL), 0x01);
	CHECK_EQ(serial_read(&s, UART_DLM), 0x02);
	CHECK_EQ(nout, 0);		/* DLL is not THR */
	serial_write(&s, UART_LCR, 0x03);
	CHECK_EQ(serial_read(&s, UART_LCR), 0x03);
	CHECK_EQ(serial_read(&s, UART_IER), 0);	/* DLM is not IER */
	serial_write(&s, UART_SCR, 0x5A);
	CHECK_EQ(serial_read(&s, UART_SCR), 0x5A);
	/* Linux's probe: IER keeps the low four bits only. */
	serial_write(&s, UART_IER, 0xFF);
	CHECK_EQ(serial_read(&s, UART_IER), 0x0F);
	serial_destroy(&s);
}

static void serial_loopback(void)
{
	struct serial8250 s;
	const uint8_t c = '!';

	setup(&s);
	serial_write(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR |
		     UART_MCR_OUT2);
	CHECK_EQ(serial_read(&s, UART_MSR) & 0xF0,
		 UART_MSR_DSR | UART_MSR_DCD);
	serial_write(&s, UART_TX, 'L');
	CHECK_EQ(nout, 0);
	CHECK(serial_read(&s, UART_LSR) & UART_LSR_DR);
	CHECK_EQ(serial_read(&s, UART_RX), 'L');
	/* Outside input is not seen while looping back. */
	CHECK_EQ(serial_receive(&s, &c, 1), 0);
	serial_write(&s, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(serial_read(&s, UART_MSR) & 0xF0,
		 UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	serial_write(&s, UART_TX, 'T');
	CHECK_STREQ(out, "T");
	serial_destroy(&s);
}

static void serial_port_io(void)
{
	struct serial8250 s;
	uint8_t d[2] = { 'h', 'i' };

	setup(&s);
	serial_pio(&s, 0, d, 1, true);
	CHECK_STREQ(out, "h");
	serial_pio(&s, 5, d, 1, false);
	CHECK_EQ(d[0], UART_LSR_THRE | UART_LSR_TEMT);
	serial_destroy(&s);
}

void suite_serial(void)
{
	RUN(serial_reset_state);
	RUN(serial_transmit);
	RUN(serial_thre_interrupt);
	RUN(serial_receive_interrupt);
	RUN(serial_rx_priority_over_thre);
	RUN(serial_divisor_and_scratch);
	RUN(serial_loopback);
	RUN(serial_port_io);
}
