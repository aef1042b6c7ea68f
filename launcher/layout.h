/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: guest physical address map.
 *
 *   0x00000000  RAM       real-mode IVT and BDA (left zero)
 *   0x00001000  RAM       boot GDT
 *   0x00007000  RAM       boot_params ("zero page")
 *   0x00009000  RAM       boot page tables: PML4, PDPT, 4 PDs (to 0xEFFF)
 *   0x00020000  RAM       kernel command line
 *   0x0009FC00  reserved  EBDA, VGA hole, BIOS area
 *   0x000E0000  reserved    ACPI tables, RSDP first (legacy scan area)
 *   0x000FFFF0  reserved    reset vector: a stub that resets the VM
 *   0x00100000  RAM       kernel (at its pref_address), initrd at the top
 *   memory end            (at most CONFIG_MEM_MAX, below 0xC0000000)
 *   0xD0000000  MMIO      virtio-mmio devices, one 4 KiB slot each
 *   0xFEC00000  MMIO      IOAPIC (emulated here)
 *   0xFEE00000  MMIO      local APICs (in KVM)
 *   0xFEFFC000  reserved  KVM identity-map page, then its 3-page TSS
 *
 * Everything the launcher writes before the kernel runs lies in RAM below
 * 1 MiB except kernel and initrd; boot_params and the command line are
 * copied by the kernel early, the page tables and GDT are dropped as soon
 * as it loads its own.
 */
#ifndef BIGIRON_LAYOUT_H
#define BIGIRON_LAYOUT_H

#define LAYOUT_GDT		0x1000ULL
#define LAYOUT_BOOT_PARAMS	0x7000ULL
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_PDPT		0xA000ULL
#define LAYOUT_PD		0xB000ULL	/* 4 pages: 4 GiB of 2 MiB pages */
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_CMDLINE_MAX	0x10000ULL	/* up to the next boot area */
#define LAYOUT_EBDA		0x9FC00ULL
#define LAYOUT_ACPI		0xE0000ULL	/* RSDP here, tables after it */
#define LAYOUT_ACPI_SIZE	0x10000ULL
#define LAYOUT_RESET_VECTOR	0xFFFF0ULL	/* F000:FFF0 */
#define LAYOUT_HIGH_RAM		0x100000ULL
#define LAYOUT_MMIO_START	0xC0000000ULL
#define LAYOUT_VIRTIO		0xD0000000ULL	/* device i at + i * STRIDE */
#define LAYOUT_VIRTIO_STRIDE	0x1000ULL
#define LAYOUT_VIRTIO_SIZE	0x200ULL	/* registers and config space */
#define LAYOUT_IOAPIC		0xFEC00000ULL
#define LAYOUT_IOAPIC_SIZE	0x1000ULL
#define LAYOUT_LAPIC		0xFEE00000ULL
#define LAYOUT_KVM_IDENTITY	0xFEFFC000ULL	/* KVM_SET_IDENTITY_MAP_ADDR */
#define LAYOUT_KVM_TSS		0xFEFFD000ULL	/* KVM_SET_TSS_ADDR, 3 pages */
#define LAYOUT_KVM_RESERVED_SIZE 0x4000ULL

/* Port I/O used by the platform (see power.c, serial.c). */
#define PORT_COM1		0x3F8
#define IRQ_COM1		4
#define PORT_SLEEP_CONTROL	0x600	/* FADT SLEEP_CONTROL_REG, 8 bits */
#define PORT_SLEEP_STATUS	0x601	/* FADT SLEEP_STATUS_REG, 8 bits */
#define PORT_RESET		0xCF9	/* FADT RESET_REG, 8 bits */
#define PORT_I8042_COMMAND	0x64	/* only the reset pulse (0xFE) */
#define RESET_VALUE		0x06
/* virtio device i: IOAPIC pin (GSI) IRQ_VIRTIO + i, level, active high. */
#define IRQ_VIRTIO		16

/* \_S5_ sleep type; the guest writes SLP_TYP << 2 | SLP_EN to the port. */
#define SLEEP_TYPE_S5		5

#endif
