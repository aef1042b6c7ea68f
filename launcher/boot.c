// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: Linux x86 boot protocol (Documentation/x86/boot.rst).
 *
 * The kernel is entered at its 64-bit entry point (load address + 0x200)
 * with RSI pointing at boot_params, in long mode with flat segments and an
 * identity map of the first 4 GiB, as the protocol's "64-bit boot
 * protocol" section asks. No real-mode setup code runs, so boot_params is
 * all the kernel learns from us: the setup header copied from the image,
 * our fields in it, the e820 map and the RSDP address.
 */
#include <stdio.h>
#include <string.h>

#include "boot.h"
#include "layout.h"

#define SETUP_HDR_OFFSET	0x1F1
#define SETUP_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG		0xAA55
#define DEFAULT_SETUP_SECTS	4
#define ENTRY64_OFFSET		0x200
#define LOADER_TYPE_UNDEFINED	0xFF

#define PTE_PRESENT		(1ULL << 0)
#define PTE_WRITE		(1ULL << 1)
#define PTE_LARGE		(1ULL << 7)
#define PAGE_SIZE_2M		(1ULL << 21)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));	/* x86 guest, x86 host: little endian */
}

/* Offset of a setup_header field in the image and in boot_params. */
#define HDR_OFF(field) \
	(SETUP_HDR_OFFSET + __builtin_offsetof(struct setup_header, field))

int boot_parse_bzimage(const uint8_t *data, size_t size,
		       struct boot_image *img, char *err, size_t errlen)
{
	uint32_t align;
	uint64_t pref;
	size_t sects;

	memset(img, 0, sizeof(*img));
	if (size < SETUP_HDR_OFFSET + sizeof(struct setup_header)) {
		snprintf(err, errlen, "too small to be a bzImage (%zu bytes)",
			 size);
		return -1;
	}
	if (get32(data + HDR_OFF(header)) != SETUP_MAGIC) {
		snprintf(err, errlen,
			 "not a bzImage: no \"HdrS\" magic at offset 0x202");
		return -1;
	}
	if (get16(data + HDR_OFF(boot_flag)) != BOOT_FLAG) {
		snprintf(err, errlen,
			 "not a bzImage: boot flag is not 0xAA55");
		return -1;
	}
	img->version = get16(data + HDR_OFF(version));
	if (img->version < BOOT_MIN_VERSION) {
		snprintf(err, errlen,
			 "boot protocol %u.%02u is too old: need %u.%02u or later for the 64-bit entry",
			 img->version >> 8, img->version & 0xFF,
			 BOOT_MIN_VERSION >> 8, BOOT_MIN_VERSION & 0xFF);
		return -1;
	}
	if (!(data[HDR_OFF(loadflags)] & LOADED_HIGH)) {
		snprintf(err, errlen,
			 "not a bzImage: zImage kernels load below 1 MiB");
		return -1;
	}
	if (!(get16(data + HDR_OFF(xloadflags)) & XLF_KERNEL_64)) {
		snprintf(err, errlen,
			 "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
		return -1;
	}

	sects = data[HDR_OFF(setup_sects)];
	if (!sects)
		sects = DEFAULT_SETUP_SECTS;
	img->setup_size = (sects + 1) * 512;
	if (img->setup_size >= size) {
		snprintf(err, errlen,
			 "truncated bzImage: setup (%zu bytes) fills the whole file",
			 img->setup_size);
		return -1;
	}
	/* The header ends at 0x202 + the byte at 0x201 (the jump offset). */
	img->hdr_end = 0x202 + (size_t)data[0x201];
	if (img->hdr_end > SETUP_HDR_OFFSET + sizeof(struct setup_header))
		img->hdr_end = SETUP_HDR_OFFSET + sizeof(struct setup_header);

	img->data = data;
	img->size = size;
	img->kernel = data + img->setup_size;
	img->kernel_size = size - img->setup_size;
	img->init_size = get32(data + HDR_OFF(init_size));
	if (img->init_size < img->kernel_size)
		img->init_size = img->kernel_size;
	img->initrd_addr_max = get32(data + HDR_OFF(initrd_addr_max));
	img->cmdline_size = get32(data + HDR_OFF(cmdline_size));

	/*
	 * Load where the kernel prefers to run: it decompresses itself at
	 * max(load address, LOAD_PHYSICAL_ADDR) anyway, so this needs no
	 * more RAM than any other choice. A relocatable kernel gets the
	 * address rounded up to its alignment.
	 */
	pref = get64(data + HDR_OFF(pref_address));
	align = get32(data + HDR_OFF(kernel_alignment));
	if (pref < LAYOUT_HIGH_RAM)
		pref = LAYOUT_HIGH_RAM;
	if (data[HDR_OFF(relocatable_kernel)] && align &&
	    !(align & (align - 1)))
		pref = (pref + align - 1) & ~(uint64_t)(align - 1);
	img->load_addr = pref;
	return 0;
}

int boot_build_e820(uint64_t mem_size, struct boot_e820_entry *tab,
		    unsigned int max)
{
	const struct boot_e820_entry map[] = {
		{ 0, LAYOUT_EBDA, E820_TYPE_RAM },
		{ LAYOUT_EBDA, LAYOUT_HIGH_RAM - LAYOUT_EBDA,
		  E820_TYPE_RESERVED },
		{ LAYOUT_HIGH_RAM, mem_size - LAYOUT_HIGH_RAM, E820_TYPE_RAM },
		{ LAYOUT_KVM_IDENTITY, LAYOUT_KVM_RESERVED_SIZE,
		  E820_TYPE_RESERVED },
	};
	unsigned int i, n = sizeof(map) / sizeof(map[0]);

	if (max < n || mem_size <= LAYOUT_HIGH_RAM)
		return -1;
	for (i = 0; i < n; i++)
		tab[i] = map[i];
	return (int)n;
}

uint64_t boot_initrd_addr(const struct boot_image *img, uint64_t mem_size,
			  uint64_t size)
{
	uint64_t top = mem_size, addr;

	if (img->initrd_addr_max && (uint64_t)img->initrd_addr_max + 1 < top)
		top = (uint64_t)img->initrd_addr_max + 1;
	if (size > top)
		return 0;
	addr = (top - size) & ~0xFFFULL;
	if (addr < img->load_addr + img->init_size)
		return 0;
	return addr;
}

/*
 * Linux on x86 reboots through EFI when ACPI is hardware-reduced
 * (arch/x86/kernel/reboot.c, efi_reboot_required()); without EFI it falls
 * back to jumping to the BIOS reset vector F000:FFF0 in real mode. There
 * is no BIOS here, so the vector holds this stub, which resets the VM
 * through the reset register like the ACPI path would have.
 */
const uint8_t boot_reset_stub[10] = {
	0xFA,				/* cli */
	0xBA, PORT_RESET & 0xFF, PORT_RESET >> 8, /* mov dx, PORT_RESET */
	0xB0, RESET_VALUE,		/* mov al, RESET_VALUE */
	0xEE,				/* out dx, al */
	0xF4,				/* hlt */
	0xEB, 0xFD,			/* jmp hlt */
};

static void build_gdt(uint8_t *mem, struct boot_info *info)
{
	const uint64_t gdt[BOOT_GDT_ENTRIES] = {
		0,
		0,
		/* 0x10: code, 64-bit (L), present, DPL 0, execute/read */
		0x00AF9B000000FFFFULL,
		/* 0x18: data, 32-bit flat, present, DPL 0, read/write */
		0x00CF93000000FFFFULL,
		/* 0x20: 64-bit TSS (busy), base 0, limit 0x67; 16 bytes */
		0x00008B0000000067ULL,
		0,
	};

	memcpy(mem + LAYOUT_GDT, gdt, sizeof(gdt));
	info->gdt_base = LAYOUT_GDT;
	info->gdt_limit = sizeof(gdt) - 1;
}

/* Identity map of 0..4 GiB with 2 MiB pages. */
static void build_page_tables(uint8_t *mem, struct boot_info *info)
{
	uint8_t *pml4 = mem + LAYOUT_PML4;
	uint8_t *pdpt = mem + LAYOUT_PDPT;
	uint8_t *pd = mem + LAYOUT_PD;
	unsigned int i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	put64(pml4, LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE);
	for (i = 0; i < 4; i++)
		put64(pdpt + 8 * i, (LAYOUT_PD + 4096ULL * i) |
		      PTE_PRESENT | PTE_WRITE);
	for (i = 0; i < 4 * 512; i++)
		put64(pd + 8 * i, (uint64_t)i * PAGE_SIZE_2M |
		      PTE_PRESENT | PTE_WRITE | PTE_LARGE);
	info->cr3 = LAYOUT_PML4;
}

int boot_setup(uint8_t *mem, uint64_t mem_size, const struct boot_image *img,
	       const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
	       uint64_t rsdp, struct boot_info *info, char *err, size_t errlen)
{
	struct boot_params *bp;
	size_t cmdlen = strlen(cmdline);
	int n;

	memset(info, 0, sizeof(*info));
	if (img->load_addr + img->init_size > mem_size) {
		snprintf(err, errlen,
			 "kernel needs RAM up to 0x%llx (load address 0x%llx + init_size 0x%llx), guest RAM ends at 0x%llx",
			 (unsigned long long)(img->load_addr + img->init_size),
			 (unsigned long long)img->load_addr,
			 (unsigned long long)img->init_size,
			 (unsigned long long)mem_size);
		return -1;
	}
	if (cmdlen > img->cmdline_size || cmdlen >= LAYOUT_CMDLINE_MAX) {
		snprintf(err, errlen,
			 "command line is %zu bytes, the kernel takes at most %u",
			 cmdlen, img->cmdline_size);
		return -1;
	}

	memcpy(mem + img->load_addr, img->kernel, img->kernel_size);
	memcpy(mem + LAYOUT_CMDLINE, cmdline, cmdlen + 1);

	bp = (struct boot_params *)(mem + LAYOUT_BOOT_PARAMS);
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + SETUP_HDR_OFFSET, img->data + SETUP_HDR_OFFSET,
	       img->hdr_end - SETUP_HDR_OFFSET);
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xFE00;
	bp->hdr.code32_start = (uint32_t)img->load_addr;
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->acpi_rsdp_addr = rsdp;
	n = boot_build_e820(mem_size, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0) {
		snprintf(err, errlen, "cannot build the e820 map");
		return -1;
	}
	bp->e820_entries = (uint8_t)n;

	build_gdt(mem, info);
	build_page_tables(mem, info);
	memcpy(mem + LAYOUT_RESET_VECTOR, boot_reset_stub,
	       sizeof(boot_reset_stub));

	info->entry = img->load_addr + ENTRY64_OFFSET;
	info->boot_params = LAYOUT_BOOT_PARAMS;
	info->initrd_addr = initrd_addr;
	info->initrd_size = initrd_size;
	info->e820_entries = (unsigned int)n;
	return 0;
}
