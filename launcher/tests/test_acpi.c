// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: ACPI tables.
 */
#include <string.h>

#include "acpi.h"
#include "harness.h"
#include "layout.h"

#define BASE	0xE0000ULL

static uint8_t buf[LAYOUT_ACPI_SIZE];

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static const uint8_t *at(uint64_t addr)
{
	return buf + (addr - BASE);
}

/* Decode an AML PkgLength; returns its value and sets *n to its size. */
static size_t pkglength(const uint8_t *p, size_t *n)
{
	size_t extra = p[0] >> 6, len, i;

	if (!extra) {
		*n = 1;
		return p[0] & 0x3F;
	}
	len = p[0] & 0x0F;
	for (i = 0; i < extra; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + extra;
	return len;
}

static void acpi_checksums_and_lengths(void)
{
	static const unsigned int counts[] = { 1, 2, 4, 64 };
	struct acpi_tables t;
	unsigned int i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		CHECK_EQ(acpi_build(buf, sizeof(buf), BASE, counts[i], NULL,
				    0, &t), 0);
		CHECK_EQ(t.rsdp, BASE);
		CHECK(!memcmp(at(t.rsdp), "RSD PTR ", 8));
		CHECK_EQ(acpi_checksum(at(t.rsdp), 20), 0);
		CHECK_EQ(acpi_checksum(at(t.rsdp), ACPI_RSDP_SIZE), 0);
		CHECK_EQ(at(t.rsdp)[15], 2);
		CHECK_EQ(get32(at(t.rsdp) + 20), ACPI_RSDP_SIZE);
		CHECK_EQ(get64(at(t.rsdp) + 24), t.xsdt);

		CHECK_EQ(get32(at(t.xsdt) + 4), t.xsdt_len);
		CHECK_EQ(t.xsdt_len, ACPI_HDR_SIZE + 16);
		CHECK_EQ(get32(at(t.fadt) + 4), ACPI_FADT_SIZE);
		CHECK_EQ(get32(at(t.dsdt) + 4), t.dsdt_len);
		CHECK_EQ(get32(at(t.madt) + 4), 44 + 8 * counts[i] + 12);
		CHECK_EQ(acpi_checksum(at(t.xsdt), t.xsdt_len), 0);
		CHECK_EQ(acpi_checksum(at(t.fadt), t.fadt_len), 0);
		CHECK_EQ(acpi_checksum(at(t.dsdt), t.dsdt_len), 0);
		CHECK_EQ(acpi_checksum(at(t.madt), t.madt_len), 0);
		CHECK(t.dsdt_len <= ACPI_DSDT_MAX);
		/* 16-byte aligned, no overlaps, inside the buffer. */
		CHECK_EQ(t.xsdt % 16, 0);
		CHECK_EQ(t.fadt % 16, 0);
		CHECK(t.xsdt >= t.rsdp + ACPI_RSDP_SIZE);
		CHECK(t.fadt >= t.xsdt + t.xsdt_len);
		CHECK(t.dsdt >= t.fadt + t.fadt_len);
		CHECK(t.madt >= t.dsdt + t.dsdt_len);
		CHECK(t.used <= sizeof(buf));
	}
}

static void acpi_xsdt_entries(void)
{
	struct acpi_tables t;

	acpi_build(buf, sizeof(buf), BASE, 2, NULL, 0, &t);
	CHECK(!memcmp(at(t.xsdt), "XSDT", 4));
	CHECK_EQ(get64(at(t.xsdt) + 36), t.fadt);
	CHECK_EQ(get64(at(t.xsdt) + 44), t.madt);
	CHECK(!memcmp(at(t.fadt), "FACP", 4));
	CHECK(!memcmp(at(t.madt), "APIC", 4));
	CHECK(!memcmp(at(t.dsdt), "DSDT", 4));
}

static void acpi_fadt_fields(void)
{
	struct acpi_tables t;
	const uint8_t *f;

	acpi_build(buf, sizeof(buf), BASE, 2, NULL, 0, &t);
	f = at(t.fadt);
	CHECK_EQ(f[8], 6);				/* revision */
	CHECK(get32(f + FADT_OFF_FLAGS) & ACPI_FADT_FLAG_HW_REDUCED);
	CHECK(get32(f + FADT_OFF_FLAGS) & ACPI_FADT_FLAG_RESET_REG_SUP);
	CHECK_EQ(get64(f + FADT_OFF_X_DSDT), t.dsdt);
	CHECK_EQ(get32(f + 40), 0);			/* 32-bit DSDT */
	/* Reset register: system I/O, 8 bits, port 0xCF9, value 6. */
	CHECK_EQ(f[FADT_OFF_RESET_REG], 1);
	CHECK_EQ(f[FADT_OFF_RESET_REG + 1], 8);
	CHECK_EQ(get64(f + FADT_OFF_RESET_REG + 4), PORT_RESET);
	CHECK_EQ(f[FADT_OFF_RESET_VALUE], RESET_VALUE);
	/* Sleep control and status registers. */
	CHECK_EQ(f[FADT_OFF_SLEEP_CONTROL], 1);
	CHECK_EQ(f[FADT_OFF_SLEEP_CONTROL + 1], 8);
	CHECK_EQ(get64(f + FADT_OFF_SLEEP_CONTROL + 4), PORT_SLEEP_CONTROL);
	CHECK_EQ(f[FADT_OFF_SLEEP_STATUS], 1);
	CHECK_EQ(get64(f + FADT_OFF_SLEEP_STATUS + 4), PORT_SLEEP_STATUS);
	/* No PM timer, no PM1 blocks. */
	CHECK_EQ(get32(f + 76), 0);
	CHECK_EQ(get32(f + 56), 0);
	CHECK_EQ(get32(f + 64), 0);
}

static void acpi_madt_entries(void)
{
	unsigned int n, count_lapic, count_ioapic;
	struct acpi_tables t;
	const uint8_t *m, *e, *end;

	for (n = 1; n <= 64; n *= 4) {
		acpi_build(buf, sizeof(buf), BASE, n, NULL, 0, &t);
		m = at(t.madt);
		CHECK_EQ(get32(m + 36), LAYOUT_LAPIC);
		CHECK_EQ(get32(m + 40), 0);		/* no PCAT_COMPAT */
		count_lapic = count_ioapic = 0;
		end = m + t.madt_len;
		for (e = m + 44; e < end; e += e[1]) {
			if (!CHECK(e[1] >= 2))
				break;
			if (e[0] == MADT_TYPE_LAPIC) {
				CHECK_EQ(e[1], 8);
				CHECK_EQ(e[2], count_lapic);	/* UID */
				CHECK_EQ(e[3], count_lapic);	/* APIC id */
				CHECK_EQ(get32(e + 4), 1);	/* enabled */
				count_lapic++;
			} else if (e[0] == MADT_TYPE_IOAPIC) {
				CHECK_EQ(e[1], 12);
				CHECK_EQ(get32(e + 4), LAYOUT_IOAPIC);
				CHECK_EQ(get32(e + 8), 0);	/* GSI base */
				count_ioapic++;
			} else {
				CHECK(!"unexpected MADT entry");
			}
		}
		CHECK(e == end);
		CHECK_EQ(count_lapic, n);
		CHECK_EQ(count_ioapic, 1);
	}
}

/* Walk the DSDT's AML: Scope(\_SB) { Device(COM1) {...} }, Name(_S5_). */
static void acpi_dsdt_aml(void)
{
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05,
				      0x02, 0x0A, SLEEP_TYPE_S5, 0x00 };
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0C,
				       0x41, 0xD0, 0x05, 0x01 };
	static const uint8_t io[] = { 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03,
				      0x01, 0x08 };
	static const uint8_t irq[] = { 0x22, 0x10, 0x00, 0x79, 0x00 };
	struct acpi_tables t;
	const uint8_t *d, *p, *dev, *end;
	size_t len, n, scope_len, dev_len;

	acpi_build(buf, sizeof(buf), BASE, 1, NULL, 0, &t);
	d = at(t.dsdt);
	end = d + t.dsdt_len;
	CHECK_EQ(d[8], 2);				/* 64-bit integers */
	p = d + ACPI_HDR_SIZE;
	if (!CHECK(p[0] == 0x10))			/* ScopeOp */
		return;
	scope_len = pkglength(p + 1, &n);
	CHECK(!memcmp(p + 1 + n, "\\_SB_", 5));
	dev = p + 1 + n + 5;
	CHECK_EQ(dev[0], 0x5B);
	CHECK_EQ(dev[1], 0x82);				/* DeviceOp */
	dev_len = pkglength(dev + 2, &len);
	CHECK(!memcmp(dev + 2 + len, "COM1", 4));
	/* The device ends where the scope ends. */
	CHECK(dev + 2 + dev_len == p + 1 + scope_len);
	CHECK(!memcmp(dev + 2 + len + 4, hid, sizeof(hid)));
	CHECK(memmem(dev, dev_len + 2, io, sizeof(io)) != NULL);
	CHECK(memmem(dev, dev_len + 2, irq, sizeof(irq)) != NULL);
	/* \_S5_ follows the scope and ends the table. */
	p += 1 + scope_len;
	CHECK(p + sizeof(s5) == end);
	CHECK(!memcmp(p, s5, sizeof(s5)));
}

/* Device (VRnn) { _HID "LNRO0005", _UID nn, _CRS { Memory32Fixed, IRQ } } */
static void acpi_dsdt_virtio(void)
{
	static const struct acpi_mmio_dev devs[] = {
		{ 0xD0000000, 0x200, 16 },
		{ 0xD0001000, 0x200, 17 },
	};
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0D,
				       'L', 'N', 'R', 'O', '0', '0', '0', '5',
				       0x00 };
	struct acpi_tables t;
	const uint8_t *d, *p, *dev, *end, *scope_end;
	size_t n, len, dev_len, scope_len;
	unsigned int i;

	if (!CHECK(acpi_build(buf, sizeof(buf), BASE, 2, devs, 2, &t) == 0))
		return;
	d = at(t.dsdt);
	end = d + t.dsdt_len;
	CHECK_EQ(acpi_checksum(d, t.dsdt_len), 0);
	CHECK(t.dsdt_len <= ACPI_DSDT_MAX);
	CHECK_EQ(get32(d + 4), t.dsdt_len);
	p = d + ACPI_HDR_SIZE;
	if (!CHECK(p[0] == 0x10))
		return;
	scope_len = pkglength(p + 1, &n);
	scope_end = p + 1 + scope_len;
	CHECK(scope_end < end);
	CHECK(!memcmp(p + 1 + n, "\\_SB_", 5));
	dev = p + 1 + n + 5;
	/* COM1 first, then VR00 and VR01, which end the scope. */
	for (i = 0; i < 3 && dev < scope_end; i++) {
		static const char *const names[] = { "COM1", "VR00", "VR01" };
		uint8_t mem[12], irq[9];

		CHECK_EQ(dev[0], 0x5B);
		CHECK_EQ(dev[1], 0x82);
		dev_len = pkglength(dev + 2, &len);
		CHECK(!memcmp(dev + 2 + len, names[i], 4));
		if (i) {
			const struct acpi_mmio_dev *v = &devs[i - 1];
			uint8_t uid[] = { 0x08, '_', 'U', 'I', 'D',
					  (uint8_t)(i - 1) };

			CHECK(!memcmp(dev + 2 + len + 4, hid, sizeof(hid)));
			CHECK(memmem(dev, dev_len + 2, uid, sizeof(uid)) != NULL);
			/* Memory32Fixed (ReadWrite, base, size) */
			mem[0] = 0x86;
			mem[1] = 9;
			mem[2] = 0;
			mem[3] = 1;
			memcpy(mem + 4, &v->base, 4);
			memcpy(mem + 8, &v->size, 4);
			CHECK(memmem(dev, dev_len + 2, mem, sizeof(mem)) != NULL);
			/* Interrupt (Consumer, Level, ActiveHigh, Exclusive) */
			irq[0] = 0x89;
			irq[1] = 6;
			irq[2] = 0;
			irq[3] = 0x01;
			irq[4] = 1;
			memcpy(irq + 5, &v->gsi, 4);
			CHECK(memmem(dev, dev_len + 2, irq, sizeof(irq)) != NULL);
		}
		dev += 2 + dev_len;
	}
	CHECK_EQ(i, 3);
	CHECK(dev == scope_end);
	CHECK(memmem(d, t.dsdt_len, "LNRO0005", 8) != NULL);

	/* Too many devices for the DSDT. */
	CHECK_EQ(acpi_build(buf, sizeof(buf), BASE, 1, devs,
			    ACPI_MMIO_DEVS_MAX + 1, &t), -1);
}

/* The most devices and vCPUs still fit, checksummed. */
static void acpi_dsdt_virtio_max(void)
{
	struct acpi_mmio_dev devs[ACPI_MMIO_DEVS_MAX];
	struct acpi_tables t;
	unsigned int i;

	for (i = 0; i < ACPI_MMIO_DEVS_MAX; i++) {
		devs[i].base = 0xD0000000 + i * 0x1000;
		devs[i].size = 0x200;
		devs[i].gsi = 16 + i;
	}
	CHECK_EQ(acpi_build(buf, sizeof(buf), BASE, 64, devs,
			    ACPI_MMIO_DEVS_MAX, &t), 0);
	CHECK(t.dsdt_len <= ACPI_DSDT_MAX);
	CHECK(t.madt >= t.dsdt + t.dsdt_len);
	CHECK_EQ(acpi_checksum(at(t.dsdt), t.dsdt_len), 0);
	CHECK(memmem(at(t.dsdt), t.dsdt_len, "VR07", 4) != NULL);
}

static void acpi_buffer_too_small(void)
{
	struct acpi_tables t;

	CHECK_EQ(acpi_build(buf, 256, BASE, 4, NULL, 0, &t), -1);
	CHECK_EQ(acpi_build(buf, sizeof(buf), BASE, 64, NULL, 0, &t), 0);
}

/* Two hosts, 4 vCPUs two on each, 256 MiB homed on each. */
static void acpi_srat_slit(void)
{
	static const uint64_t start[2] = { 0, 256ULL << 20 };
	static const uint64_t size[2] = { 256ULL << 20, 256ULL << 20 };
	static const uint8_t vnode[4] = { 0, 0, 1, 1 };
	const struct acpi_numa numa = {
		.nodes = 2, .start = start, .size = size, .vcpu_node = vnode,
	};
	struct acpi_tables t;
	const uint8_t *e, *d;
	unsigned int i;

	if (!CHECK(acpi_build_numa(buf, sizeof(buf), BASE, 4, NULL, 0, &numa,
				   &t) == 0))
		return;
	CHECK_EQ(t.xsdt_len, ACPI_HDR_SIZE + 32);
	CHECK_EQ(get64(at(t.xsdt) + 52), t.srat);
	CHECK_EQ(get64(at(t.xsdt) + 60), t.slit);
	CHECK_EQ(acpi_checksum(at(t.xsdt), t.xsdt_len), 0);
	CHECK(t.fadt >= t.xsdt + t.xsdt_len);
	CHECK(t.srat >= t.madt + t.madt_len && t.srat % 16 == 0);
	CHECK(t.slit >= t.srat + t.srat_len && t.slit % 16 == 0);
	CHECK_EQ(t.used, t.slit + t.slit_len - BASE);

	CHECK(!memcmp(at(t.srat), "SRAT", 4));
	CHECK_EQ(t.srat_len, ACPI_HDR_SIZE + 12 + 4 * 16 + 2 * 40);
	CHECK_EQ(get32(at(t.srat) + 4), t.srat_len);
	CHECK_EQ(acpi_checksum(at(t.srat), t.srat_len), 0);
	CHECK_EQ(get32(at(t.srat) + ACPI_HDR_SIZE), 1);
	e = at(t.srat) + ACPI_HDR_SIZE + 12;
	for (i = 0; i < 4; i++, e += 16) {
		CHECK_EQ(e[0], 0);
		CHECK_EQ(e[1], 16);
		CHECK_EQ(e[2], vnode[i]);
		CHECK_EQ(e[3], i);
		CHECK_EQ(get32(e + 4), 1);
		CHECK_EQ(e[9] | e[10] | e[11], 0);
	}
	for (i = 0; i < 2; i++, e += 40) {
		CHECK_EQ(e[0], 1);
		CHECK_EQ(e[1], 40);
		CHECK_EQ(get32(e + 2), i);
		CHECK_EQ(get64(e + 8), start[i]);
		CHECK_EQ(get64(e + 16), size[i]);
		CHECK_EQ(get32(e + 28), 1);
	}

	CHECK(!memcmp(at(t.slit), "SLIT", 4));
	CHECK_EQ(t.slit_len, ACPI_HDR_SIZE + 8 + 4);
	CHECK_EQ(acpi_checksum(at(t.slit), t.slit_len), 0);
	CHECK_EQ(get64(at(t.slit) + ACPI_HDR_SIZE), 2);
	d = at(t.slit) + ACPI_HDR_SIZE + 8;
	CHECK_EQ(d[0], 10);
	CHECK_EQ(d[1], ACPI_DISTANCE_REMOTE);
	CHECK_EQ(d[2], ACPI_DISTANCE_REMOTE);
	CHECK_EQ(d[3], 10);
}

static void acpi_numa_refusals(void)
{
	static const uint64_t start[1] = { 0 }, size[1] = { 1ULL << 30 };
	static const uint8_t bad[2] = { 0, 1 };
	struct acpi_numa numa = {
		.nodes = 1, .start = start, .size = size, .vcpu_node = bad,
	};
	struct acpi_tables t;

	/* vCPU 1 on node 1 of a 1-node layout */
	CHECK_EQ(acpi_build_numa(buf, sizeof(buf), BASE, 2, NULL, 0, &numa,
				 &t), -1);
	CHECK_EQ(acpi_build_numa(buf, sizeof(buf), BASE, 1, NULL, 0, &numa,
				 &t), 0);
	numa.nodes = 0;
	CHECK_EQ(acpi_build_numa(buf, sizeof(buf), BASE, 1, NULL, 0, &numa,
				 &t), -1);
	/* the largest layout fits the launcher's ACPI area */
	{
		static uint64_t st[ACPI_NUMA_NODES_MAX], sz[ACPI_NUMA_NODES_MAX];
		static uint8_t vn[64];

		numa.nodes = ACPI_NUMA_NODES_MAX;
		numa.start = st;
		numa.size = sz;
		numa.vcpu_node = vn;
		CHECK_EQ(acpi_build_numa(buf, sizeof(buf), BASE, 64, NULL, 0,
					 &numa, &t), 0);
	}
	/* without a layout there is no SRAT or SLIT */
	CHECK_EQ(acpi_build(buf, sizeof(buf), BASE, 2, NULL, 0, &t), 0);
	CHECK_EQ(t.srat, 0);
	CHECK_EQ(t.slit, 0);
	CHECK_EQ(t.xsdt_len, ACPI_HDR_SIZE + 16);
}

void suite_acpi(void)
{
	RUN(acpi_checksums_and_lengths);
	RUN(acpi_xsdt_entries);
	RUN(acpi_fadt_fields);
	RUN(acpi_madt_entries);
	RUN(acpi_dsdt_aml);
	RUN(acpi_dsdt_virtio);
	RUN(acpi_dsdt_virtio_max);
	RUN(acpi_buffer_too_small);
	RUN(acpi_srat_slit);
	RUN(acpi_numa_refusals);
}
