// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: bzImage header parsing, e820 map, boot_params, page tables.
 */
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "harness.h"
#include "layout.h"

#define IMG_SIZE	0x8000
#define SETUP_SECTS	4

static uint8_t img_buf[IMG_SIZE];
static char err[256];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A synthetic bzImage: protocol 2.15, 64-bit, relocatable, 16 MiB pref. */
static uint8_t *make_image(void)
{
	uint8_t *b = img_buf;
	size_t i;

	memset(b, 0, IMG_SIZE);
	b[0x1F1] = SETUP_SECTS;
	put16(b + 0x1FE, 0xAA55);
	b[0x200] = 0xEB;
	b[0x201] = 0x6A;			/* header ends at 0x26C */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020F);
	b[0x211] = LOADED_HIGH;
	put32(b + 0x22C, 0x7FFFFFFF);		/* initrd_addr_max */
	put32(b + 0x230, 0x200000);		/* kernel_alignment */
	b[0x234] = 1;				/* relocatable */
	put16(b + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(b + 0x238, 2047);			/* cmdline_size */
	put64(b + 0x258, 0x1000000);		/* pref_address */
	put32(b + 0x260, 0x100000);		/* init_size */
	for (i = (SETUP_SECTS + 1) * 512; i < IMG_SIZE; i++)
		b[i] = (uint8_t)i;		/* the "kernel" */
	return b;
}

static void boot_parse_good(void)
{
	struct boot_image img;

	CHECK_EQ(boot_parse_bzimage(make_image(), IMG_SIZE, &img, err,
				    sizeof(err)), 0);
	CHECK_EQ(img.version, 0x020F);
	CHECK_EQ(img.setup_size, (SETUP_SECTS + 1) * 512);
	CHECK_EQ(img.kernel_size, IMG_SIZE - (SETUP_SECTS + 1) * 512);
	CHECK(img.kernel == img_buf + (SETUP_SECTS + 1) * 512);
	CHECK_EQ(img.load_addr, 0x1000000);
	CHECK_EQ(img.init_size, 0x100000);
	CHECK_EQ(img.cmdline_size, 2047);
	CHECK_EQ(img.initrd_addr_max, 0x7FFFFFFF);
	CHECK_EQ(img.hdr_end, 0x26C);
}

static void boot_parse_load_address(void)
{
	struct boot_image img;
	uint8_t *b;

	/* No pref_address: 1 MiB rounded up to the 2 MiB alignment. */
	b = make_image();
	put64(b + 0x258, 0);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.load_addr, 0x200000);
	/* Not relocatable: 1 MiB as is. */
	b[0x234] = 0;
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.load_addr, 0x100000);
	/* init_size smaller than the image: the image size wins. */
	b = make_image();
	put32(b + 0x260, 16);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.init_size, img.kernel_size);
	/* setup_sects 0 means 4. */
	b = make_image();
	b[0x1F1] = 0;
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), 0);
	CHECK_EQ(img.setup_size, 5 * 512);
}

static void boot_parse_errors(void)
{
	struct boot_image img;
	uint8_t *b;

	b = make_image();
	memcpy(b + 0x202, "HdrX", 4);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "not a bzImage: no \"HdrS\" magic at offset 0x202");

	b = make_image();
	put16(b + 0x1FE, 0);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "not a bzImage: boot flag is not 0xAA55");

	b = make_image();
	put16(b + 0x206, 0x020A);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "boot protocol 2.10 is too old: need 2.12 or later for the 64-bit entry");

	b = make_image();
	b[0x211] = 0;
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "not a bzImage: zImage kernels load below 1 MiB");

	b = make_image();
	put16(b + 0x236, XLF_CAN_BE_LOADED_ABOVE_4G);
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");

	b = make_image();
	CHECK_EQ(boot_parse_bzimage(b, 0x200, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "too small to be a bzImage (512 bytes)");

	b = make_image();
	b[0x1F1] = 200;
	CHECK_EQ(boot_parse_bzimage(b, IMG_SIZE, &img, err, sizeof(err)), -1);
	CHECK_STREQ(err, "truncated bzImage: setup (102912 bytes) fills the whole file");
}

static void boot_e820_map(void)
{
	struct boot_e820_entry e[8];
	uint64_t mem = 256ULL << 20;
	int n, i;

	n = boot_build_e820(mem, e, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(e[0].addr, 0);
	CHECK_EQ(e[0].size, 0x9FC00);
	CHECK_EQ(e[0].type, E820_TYPE_RAM);
	CHECK_EQ(e[1].addr, 0x9FC00);
	CHECK_EQ(e[1].addr + e[1].size, 0x100000);
	CHECK_EQ(e[1].type, E820_TYPE_RESERVED);
	CHECK_EQ(e[2].addr, 0x100000);
	CHECK_EQ(e[2].addr + e[2].size, mem);
	CHECK_EQ(e[2].type, E820_TYPE_RAM);
	CHECK_EQ(e[3].addr, LAYOUT_KVM_IDENTITY);
	CHECK_EQ(e[3].type, E820_TYPE_RESERVED);
	/* Sorted, no overlaps, ACPI area and boot data inside the map. */
	for (i = 1; i < n; i++)
		CHECK(e[i].addr >= e[i - 1].addr + e[i - 1].size);
	CHECK(LAYOUT_ACPI >= e[1].addr &&
	      LAYOUT_ACPI + LAYOUT_ACPI_SIZE <= e[1].addr + e[1].size);
	CHECK(LAYOUT_BOOT_PARAMS + 4096 <= e[0].size);
	CHECK(LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX <= e[0].size);
	CHECK(LAYOUT_PD + 4 * 4096 <= LAYOUT_CMDLINE);
	/* Too small a table. */
	CHECK_EQ(boot_build_e820(mem, e, 3), -1);
}

static void boot_initrd_placement(void)
{
	struct boot_image img;
	uint64_t mem = 64ULL << 20, a;

	boot_parse_bzimage(make_image(), IMG_SIZE, &img, err, sizeof(err));
	a = boot_initrd_addr(&img, mem, 1000000);
	CHECK_EQ(a & 0xFFF, 0);
	CHECK(a + 1000000 <= mem);
	CHECK(mem - (a + 1000000) < 4096);
	/* initrd_addr_max below the end of RAM caps it. */
	img.initrd_addr_max = 0x2FFFFFF;
	a = boot_initrd_addr(&img, mem, 0x100000);
	CHECK_EQ(a, 0x2F00000);
	/* Would overlap the kernel. */
	CHECK_EQ(boot_initrd_addr(&img, mem, 0x2000000), 0);
	CHECK_EQ(boot_initrd_addr(&img, mem, mem * 2), 0);
}

static void boot_setup_memory(void)
{
	uint64_t mem_size = 32ULL << 20;
	uint8_t *mem = calloc(1, mem_size);
	struct boot_params *bp;
	struct boot_image img;
	struct boot_info info;
	uint8_t *pd;

	if (!CHECK(mem != NULL))
		return;
	boot_parse_bzimage(make_image(), IMG_SIZE, &img, err, sizeof(err));
	CHECK_EQ(boot_setup(mem, mem_size, &img, "console=ttyS0 quiet",
			    0x1F00000, 0x1000, 0xE0000, &info, err,
			    sizeof(err)), 0);
	CHECK(!memcmp(mem + 0x1000000, img.kernel, img.kernel_size));
	CHECK_STREQ((char *)mem + LAYOUT_CMDLINE, "console=ttyS0 quiet");

	bp = (struct boot_params *)(mem + LAYOUT_BOOT_PARAMS);
	CHECK_EQ(bp->hdr.header, 0x53726448);
	CHECK_EQ(bp->hdr.version, 0x020F);
	CHECK_EQ(bp->hdr.type_of_loader, 0xFF);
	CHECK(bp->hdr.loadflags & LOADED_HIGH);
	CHECK_EQ(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	CHECK_EQ(bp->hdr.ramdisk_image, 0x1F00000);
	CHECK_EQ(bp->hdr.ramdisk_size, 0x1000);
	CHECK_EQ(bp->hdr.code32_start, 0x1000000);
	CHECK_EQ(bp->acpi_rsdp_addr, 0xE0000);
	CHECK_EQ(bp->e820_entries, 4);
	CHECK_EQ(bp->e820_table[2].addr + bp->e820_table[2].size, mem_size);
	/* Nothing past the setup header was copied from the image. */
	CHECK_EQ(bp->sentinel, 0);

	CHECK_EQ(info.entry, 0x1000200);
	CHECK_EQ(info.boot_params, LAYOUT_BOOT_PARAMS);
	CHECK_EQ(info.cr3, LAYOUT_PML4);
	CHECK_EQ(info.gdt_base, LAYOUT_GDT);
	CHECK_EQ(info.gdt_limit, BOOT_GDT_ENTRIES * 8 - 1);
	/* Code segment 0x10: present, 64-bit; data 0x18 present. */
	CHECK_EQ(get64(mem + LAYOUT_GDT + BOOT_SEL_CODE64) >> 40 & 0xFF, 0x9B);
	CHECK(get64(mem + LAYOUT_GDT + BOOT_SEL_CODE64) & (1ULL << 53));
	CHECK_EQ(get64(mem + LAYOUT_GDT + BOOT_SEL_DATA) >> 40 & 0xFF, 0x93);

	/* Identity map: PML4 -> PDPT -> 4 PDs of 2 MiB pages. */
	CHECK_EQ(get64(mem + LAYOUT_PML4), LAYOUT_PDPT | 3);
	CHECK_EQ(get64(mem + LAYOUT_PDPT + 8 * 3), (LAYOUT_PD + 3 * 4096) | 3);
	pd = mem + LAYOUT_PD;
	CHECK_EQ(get64(pd), 0x83);
	CHECK_EQ(get64(pd + 8 * 8), (8ULL << 21) | 0x83);
	CHECK_EQ(get64(pd + 8 * 2047), (2047ULL << 21) | 0x83);
	/* Reset vector: mov dx, 0xCF9; mov al, 6; out dx, al. */
	CHECK(!memcmp(mem + 0xFFFF0, "\xFA\xBA\xF9\x0C\xB0\x06\xEE", 7));
	CHECK(LAYOUT_RESET_VECTOR + sizeof(boot_reset_stub) <= LAYOUT_HIGH_RAM);
	free(mem);
}

static void boot_setup_errors(void)
{
	uint8_t *mem = calloc(1, 32ULL << 20);
	struct boot_image img;
	struct boot_info info;
	char longcmd[3000];

	if (!CHECK(mem != NULL))
		return;
	boot_parse_bzimage(make_image(), IMG_SIZE, &img, err, sizeof(err));
	memset(longcmd, 'x', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = '\0';
	CHECK_EQ(boot_setup(mem, 32ULL << 20, &img, longcmd, 0, 0, 0xE0000,
			    &info, err, sizeof(err)), -1);
	CHECK_STREQ(err, "command line is 2999 bytes, the kernel takes at most 2047");
	/* 16 MiB of RAM cannot hold a kernel that goes at 16 MiB. */
	CHECK_EQ(boot_setup(mem, 16ULL << 20, &img, "", 0, 0, 0xE0000, &info,
			    err, sizeof(err)), -1);
	CHECK(strstr(err, "kernel needs RAM up to 0x1100000") != NULL);
	free(mem);
}

void suite_boot(void)
{
	RUN(boot_parse_good);
	RUN(boot_parse_load_address);
	RUN(boot_parse_errors);
	RUN(boot_e820_map);
	RUN(boot_initrd_placement);
	RUN(boot_setup_memory);
	RUN(boot_setup_errors);
}
