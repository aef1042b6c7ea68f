/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: Linux x86 boot protocol (Documentation/x86/boot.rst).
 *
 * Pure logic over a buffer that holds guest RAM: parse a bzImage header,
 * place kernel, initrd and command line, fill boot_params with an e820
 * map, and build the GDT and identity page tables for a 64-bit entry.
 */
#ifndef BIGIRON_BOOT_H
#define BIGIRON_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#define BOOT_MIN_VERSION	0x020C	/* 2.12: xloadflags, 64-bit entry */

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2

/* Boot GDT selectors (see boot_setup()). */
#define BOOT_SEL_CODE64		0x10
#define BOOT_SEL_DATA		0x18
#define BOOT_SEL_TSS		0x20
#define BOOT_GDT_ENTRIES	6	/* the TSS descriptor takes two */

struct boot_image {
	const uint8_t *data;	/* whole bzImage file */
	size_t size;
	uint16_t version;	/* boot protocol, e.g. 0x020F */
	size_t setup_size;	/* real-mode part, bytes */
	size_t hdr_end;		/* setup header ends here in the file */
	const uint8_t *kernel;	/* protected-mode part */
	size_t kernel_size;
	uint64_t load_addr;	/* where the protected-mode part goes */
	uint64_t init_size;	/* bytes the kernel needs from load_addr */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;	/* without the terminating NUL */
};

/* Where things went, for the initial vCPU state and for messages. */
struct boot_info {
	uint64_t entry;		/* 64-bit entry point (load_addr + 0x200) */
	uint64_t boot_params;	/* RSI at entry */
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint64_t initrd_addr;
	uint64_t initrd_size;
	unsigned int e820_entries;
};

/* Returns 0, or -1 with the reason in @err. */
int boot_parse_bzimage(const uint8_t *data, size_t size,
		       struct boot_image *img, char *err, size_t errlen);

/*
 * Fill @tab (at most @max entries) with the map of a guest with @mem_size
 * bytes of RAM. Returns the number of entries, or -1 if @max is too small.
 */
int boot_build_e820(uint64_t mem_size, struct boot_e820_entry *tab,
		    unsigned int max);

/* Where an initrd of @size bytes goes; 0 if it does not fit. */
uint64_t boot_initrd_addr(const struct boot_image *img, uint64_t mem_size,
			  uint64_t size);

/*
 * The real-mode code at the reset vector (F000:FFF0): it writes
 * RESET_VALUE to PORT_RESET. See boot.c for why the guest jumps there.
 */
extern const uint8_t boot_reset_stub[10];

/*
 * Write kernel, command line, boot_params, GDT and page tables into @mem
 * (@mem_size bytes of guest RAM at guest physical 0). The initrd, if any,
 * must already be at @initrd_addr. @rsdp is the RSDP's guest address.
 */
int boot_setup(uint8_t *mem, uint64_t mem_size, const struct boot_image *img,
	       const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
	       uint64_t rsdp, struct boot_info *info, char *err, size_t errlen);

#endif
