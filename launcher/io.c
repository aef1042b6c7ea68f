// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: port I/O and MMIO dispatch by address range.
 */
#include <string.h>

#include "io.h"
#include "log.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

int io_register(struct io_bus *bus, uint64_t base, uint64_t len,
		io_handler_fn *fn, void *opaque, const char *name)
{
	unsigned int i;

	if (!len || base + len < base)
		return -1;
	if (bus->n == IO_RANGES_MAX) {
		log_error("%s: no room to register %s", bus->name, name);
		return -1;
	}
	for (i = 0; i < bus->n; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len) {
			log_error("%s: %s at 0x%llx overlaps %s at 0x%llx",
				  bus->name, name, (unsigned long long)base,
				  r->name, (unsigned long long)r->base);
			return -1;
		}
	}
	bus->ranges[bus->n++] = (struct io_range){
		.base = base, .len = len, .fn = fn, .opaque = opaque,
		.name = name,
	};
	return 0;
}

bool io_dispatch(const struct io_bus *bus, uint64_t addr, uint8_t *data,
		 unsigned int len, bool is_write)
{
	unsigned int i;

	if (!is_write)
		memset(data, 0xFF, len);
	for (i = 0; i < bus->n; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->opaque, addr - r->base, data, len, is_write);
			return true;
		}
	}
	if (is_write) {
		uint64_t v = 0;

		memcpy(&v, data, len < 8 ? len : 8);
		log_ratelimited("%s: unhandled write of 0x%llx (%u bytes) at 0x%llx",
				bus->name, (unsigned long long)v, len,
				(unsigned long long)addr);
	} else {
		log_ratelimited("%s: unhandled read (%u bytes) at 0x%llx",
				bus->name, len, (unsigned long long)addr);
	}
	return false;
}
