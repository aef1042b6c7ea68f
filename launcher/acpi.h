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

/*
 * The NUMA layout of a VM spread over hosts, for SRAT and SLIT: node i
 * (proximity domain i) is host i, home of guest-physical
 * [start[i], start[i] + size[i]); vCPU v runs on node vcpu_node[v].
 */
#define ACPI_NUMA_NODES_MAX	64
#define ACPI_DISTANCE_LOCAL	10
/*
 * Another host's memory is a network round trip away, thousands of times
 * a local access; SLIT's scale (10 is local, 255 unreachable) cannot say
 * so, and this is its farthest usable value.
 */
#define ACPI_DISTANCE_REMOTE	254

struct acpi_numa {
	unsigned int nodes;		/* 1..ACPI_NUMA_NODES_MAX */
	const uint64_t *start;
	const uint64_t *size;
	const uint8_t *vcpu_node;	/* ncpus entries */
};

struct acpi_tables {
	uint64_t rsdp;			/* guest addresses */
	uint64_t xsdt, fadt, dsdt, madt, srat, slit;	/* srat, slit: 0 */
	uint32_t xsdt_len, fadt_len, dsdt_len, madt_len, srat_len, slit_len;
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
/*
 * The same, plus SRAT and SLIT for @numa (NULL: none, as acpi_build()).
 * Also -1 if @numa has no node or more than ACPI_NUMA_NODES_MAX, or
 * names a node it does not have for a vCPU.
 */
int acpi_build_numa(uint8_t *buf, size_t size, uint64_t base,
		    unsigned int ncpus, const struct acpi_mmio_dev *devs,
		    unsigned int ndevs, const struct acpi_numa *numa,
		    struct acpi_tables *out);

/* The single tables, for tests; each returns its length. */
size_t acpi_build_rsdp(uint8_t *p, uint64_t xsdt);
size_t acpi_build_xsdt(uint8_t *p, const uint64_t *tables, unsigned int n);
size_t acpi_build_fadt(uint8_t *p, uint64_t dsdt);
size_t acpi_build_dsdt(uint8_t *p, const struct acpi_mmio_dev *devs,
		       unsigned int ndevs);
size_t acpi_build_madt(uint8_t *p, unsigned int ncpus);
size_t acpi_build_srat(uint8_t *p, unsigned int ncpus,
		       const struct acpi_numa *numa);
size_t acpi_build_slit(uint8_t *p, const struct acpi_numa *numa);
size_t acpi_srat_size(unsigned int ncpus, unsigned int nodes);
size_t acpi_slit_size(unsigned int nodes);
/* Upper bounds, to size buffers. */
size_t acpi_madt_size(unsigned int ncpus);
#define ACPI_DSDT_MAX		1024	/* with ACPI_MMIO_DEVS_MAX */

#endif
