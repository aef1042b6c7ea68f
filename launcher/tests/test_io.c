// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: I/O dispatch by address range.
 */
#include "harness.h"
#include "io.h"

static uint64_t last_offset;
static unsigned int last_len, calls;
static bool last_write;

static void handler(void *opaque, uint64_t offset, uint8_t *data,
		    unsigned int len, bool is_write)
{
	last_offset = offset;
	last_len = len;
	last_write = is_write;
	calls++;
	if (!is_write)
		data[0] = *(uint8_t *)opaque;
}

static void io_register_and_dispatch(void)
{
	static uint8_t tag_a = 0xA, tag_b = 0xB;
	uint8_t data[4] = { 0 };
	struct io_bus bus;

	io_bus_init(&bus, "pio");
	CHECK_EQ(io_register(&bus, 0x3F8, 8, handler, &tag_a, "a"), 0);
	CHECK_EQ(io_register(&bus, 0x600, 1, handler, &tag_b, "b"), 0);
	/* Overlaps and empty ranges are refused. */
	CHECK_EQ(io_register(&bus, 0x3FF, 2, handler, &tag_b, "c"), -1);
	CHECK_EQ(io_register(&bus, 0x3F0, 9, handler, &tag_b, "d"), -1);
	CHECK_EQ(io_register(&bus, 0x700, 0, handler, &tag_b, "e"), -1);

	CHECK(io_dispatch(&bus, 0x3FD, data, 1, false));
	CHECK_EQ(last_offset, 5);
	CHECK_EQ(data[0], 0xA);
	CHECK(io_dispatch(&bus, 0x600, data, 1, true));
	CHECK_EQ(last_offset, 0);
	CHECK(last_write);
	CHECK(io_dispatch(&bus, 0x3F8, data, 2, false));
	CHECK_EQ(last_len, 2);
}

static void io_unhandled(void)
{
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct io_bus bus;

	io_bus_init(&bus, "pio");
	io_register(&bus, 0x3F8, 8, handler, data, "a");
	calls = 0;
	CHECK(!io_dispatch(&bus, 0x3F7, data, 4, false));
	CHECK_EQ(data[0], 0xFF);
	CHECK_EQ(data[3], 0xFF);
	CHECK(!io_dispatch(&bus, 0x400, data, 1, true));
	CHECK_EQ(calls, 0);
}

static void io_table_full(void)
{
	struct io_bus bus;
	unsigned int i;

	io_bus_init(&bus, "mmio");
	for (i = 0; i < IO_RANGES_MAX; i++)
		CHECK_EQ(io_register(&bus, 0x1000 * i, 0x10, handler, NULL,
				     "x"), 0);
	CHECK_EQ(io_register(&bus, 0x100000, 0x10, handler, NULL, "y"), -1);
}

void suite_io(void)
{
	RUN(io_register_and_dispatch);
	RUN(io_unhandled);
	RUN(io_table_full);
}
