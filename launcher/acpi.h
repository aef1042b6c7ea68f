/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: ACPI tables for a hardware-reduced x86 guest.
 *
 * Pure logic: tables are built into a caller's buffer that will sit at a
 * given guest physical address. The guest gets RSDP, XSDT, FADT (with
 * HW_REDUCED_ACPI: no PIC, no PIT, no SCI, no PM timer), a tiny DSDT
 * (\_S5_, COM1 and one device per virtio-mmio window) and a MADT listing
 * every vCPU and the IOAPIC.
 */
#ifndef BIGIRON_ACPI_H
#define BIGIRON_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_HDR_SIZE		36
#define ACPI_RSDP_SIZE		36
#define ACPI_FADT_SIZE		276	/* revision 6 */
#define ACPI_FADT_REVISION	6
#define ACPI_FADT_FLAG_WBINVD		(1U << 0)
#define ACPI_FADT_FLAG_C1		(1U << 2)
#define ACPI_FADT_FLAG_PWR_BUTTON	(1U << 4)
#define ACPI_FADT_FLAG_SLP_BUTTON	(1U << 5)
#define ACPI_FADT_FLAG_RESET_REG_SUP	(1U << 10)
#define ACPI_FADT_FLAG_HW_REDUCED	(1U << 20)
#define ACPI_BOOT_ARCH_NO_VGA		(1U << 2)
#define ACPI_BOOT_ARCH_NO_CMOS_RTC	(1U << 5)

/* Byte offsets in the FADT (ACPI 6.x, include/acpi/actbl.h). */
#define FADT_OFF_SCI_INT	46
#define FADT_OFF_BOOT_ARCH	109
#define FADT_OFF_FLAGS		112
#define FADT_OFF_RESET_REG	116
#define FADT_OFF_RESET_VALUE	128
#define FADT_OFF_MINOR_REV	131
#define FADT_OFF_X_DSDT		140
#define FADT_OFF_SLEEP_CONTROL	244
#define FADT_OFF_SLEEP_STATUS	256
#define FADT_OFF_HYPERVISOR_ID	268

#define MADT_TYPE_LAPIC		0
#define MADT_TYPE_IOAPIC	1
#define MADT_LAPIC_ENABLED	1
#define ACPI_IOAPIC_ID		0

/*
 * A virtio-mmio device for the DSDT: Device (VRnn) with _HID "LNRO0005"
 * (what the guest's virtio_mmio driver matches), _UID nn and a _CRS of
 * its register window and its level-triggered, active-high GSI.
 */
#define ACPI_VIRTIO_HID		"LNRO0005"
#define ACPI_MMIO_DEVS_MAX	8

struct acpi_mmio_dev {
	uint32_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_tables {
	uint64_t rsdp;			/* guest addresses */
	uint64_t xsdt, fadt, dsdt, madt;
	uint32_t xsdt_len, fadt_len, dsdt_len, madt_len;
	size_t used;			/* bytes of the buffer used */
};

/* Sum of @len bytes, mod 256; a valid table sums to 0. */
uint8_t acpi_checksum(const void *p, size_t len);

/*
 * Build every table into @buf (@size bytes, to be placed at guest
 * physical @base, which must be 16-byte aligned and below 4 GiB), with
 * the @ndevs virtio-mmio devices of @devs in the DSDT.
 * Returns 0, or -1 if @buf is too small or @ndevs above
 * ACPI_MMIO_DEVS_MAX.
 */
int acpi_build(uint8_t *buf, size_t size, uint64_t base, unsigned int ncpus,
	       const struct acpi_mmio_dev *devs, unsigned int ndevs,
	       struct acpi_tables *out);

/* The single tables, for tests; each returns its length. */
size_t acpi_build_rsdp(uint8_t *p, uint64_t xsdt);
size_t acpi_build_xsdt(uint8_t *p, const uint64_t *tables, unsigned int n);
size_t acpi_build_fadt(uint8_t *p, uint64_t dsdt);
size_t acpi_build_dsdt(uint8_t *p, const struct acpi_mmio_dev *devs,
		       unsigned int ndevs);
size_t acpi_build_madt(uint8_t *p, unsigned int ncpus);
/* Upper bounds, to size buffers. */
size_t acpi_madt_size(unsigned int ncpus);
#define ACPI_DSDT_MAX		1024	/* with ACPI_MMIO_DEVS_MAX */

#endif
