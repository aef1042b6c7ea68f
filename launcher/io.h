/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: port I/O and MMIO dispatch by address range.
 *
 * Devices register their ranges before any vCPU runs; the tables are
 * read-only afterwards, so dispatch takes no lock (devices lock their
 * own state).
 */
#ifndef BIGIRON_IO_H
#define BIGIRON_IO_H

#include <stdbool.h>
#include <stdint.h>

#define IO_RANGES_MAX	32

/*
 * @offset is relative to the registered base. On a read the handler
 * fills @data[0..len); it is pre-filled with all ones.
 */
typedef void io_handler_fn(void *opaque, uint64_t offset, uint8_t *data,
			   unsigned int len, bool is_write);

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_fn *fn;
	void *opaque;
	const char *name;
};

struct io_bus {
	const char *name;		/* "pio" or "mmio", for messages */
	unsigned int n;
	struct io_range ranges[IO_RANGES_MAX];
};

void io_bus_init(struct io_bus *bus, const char *name);
/* Returns 0, or -1 if the range overlaps another or the table is full. */
int io_register(struct io_bus *bus, uint64_t base, uint64_t len,
		io_handler_fn *fn, void *opaque, const char *name);
/*
 * Hand an access to the range that holds @addr. Returns true if some
 * handler took it; otherwise reads see all ones and writes are dropped.
 */
bool io_dispatch(const struct io_bus *bus, uint64_t addr, uint8_t *data,
		 unsigned int len, bool is_write);

#endif
