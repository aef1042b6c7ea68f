// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: ACPI tables for a hardware-reduced x86 guest.
 *
 * Hardware-reduced ACPI (FADT flag HW_REDUCED_ACPI) makes Linux skip the
 * 8259 PIC and the PIT (arch/x86/kernel/acpi/boot.c,
 * acpi_generic_reduced_hw_init), which a split irqchip does not provide.
 * Power-off goes through the FADT sleep control register and the \_S5_
 * sleep type in the DSDT, reset through the FADT reset register.
 */
#include <string.h>

#include "acpi.h"
#include "layout.h"

#define ACPI_OEM_ID		"BIGIRN"
#define ACPI_OEM_TABLE_ID	"BIGIRON "
#define ACPI_CREATOR_ID		"BIGI"
#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

/* Fill the common header; the checksum is set by header_finish(). */
static void header_init(uint8_t *p, const char *sig, uint32_t len,
			uint8_t rev)
{
	memset(p, 0, len);
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, ACPI_OEM_ID, 6);
	memcpy(p + 16, ACPI_OEM_TABLE_ID, 8);
	put32(p + 24, 1);			/* OEM revision */
	memcpy(p + 28, ACPI_CREATOR_ID, 4);
	put32(p + 32, 1);			/* creator revision */
}

static void header_finish(uint8_t *p, uint32_t len)
{
	p[9] = 0;
	p[9] = (uint8_t)-acpi_checksum(p, len);
}

/* Generic Address Structure: one byte of I/O port space. */
static void gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = ACPI_GAS_SYSTEM_IO;
	p[1] = 8;				/* bit width */
	p[2] = 0;				/* bit offset */
	p[3] = ACPI_GAS_ACCESS_BYTE;
	put64(p + 4, port);
}

size_t acpi_build_rsdp(uint8_t *p, uint64_t xsdt)
{
	memset(p, 0, ACPI_RSDP_SIZE);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2;				/* revision: ACPI 2.0+ */
	put32(p + 16, 0);			/* no RSDT */
	put32(p + 20, ACPI_RSDP_SIZE);
	put64(p + 24, xsdt);
	p[8] = (uint8_t)-acpi_checksum(p, 20);
	p[32] = (uint8_t)-acpi_checksum(p, ACPI_RSDP_SIZE);
	return ACPI_RSDP_SIZE;
}

size_t acpi_build_xsdt(uint8_t *p, const uint64_t *tables, unsigned int n)
{
	uint32_t len = ACPI_HDR_SIZE + 8 * n;
	unsigned int i;

	header_init(p, "XSDT", len, 1);
	for (i = 0; i < n; i++)
		put64(p + ACPI_HDR_SIZE + 8 * i, tables[i]);
	header_finish(p, len);
	return len;
}

size_t acpi_build_fadt(uint8_t *p, uint64_t dsdt)
{
	header_init(p, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
	/*
	 * No SCI is wired in reduced mode (Linux ignores it there), but give
	 * the conventional ISA IRQ 9 rather than a misleading 0.
	 */
	put16(p + FADT_OFF_SCI_INT, 9);
	put16(p + FADT_OFF_BOOT_ARCH,
	      ACPI_BOOT_ARCH_NO_VGA | ACPI_BOOT_ARCH_NO_CMOS_RTC);
	put32(p + FADT_OFF_FLAGS,
	      ACPI_FADT_FLAG_WBINVD | ACPI_FADT_FLAG_C1 |
	      ACPI_FADT_FLAG_PWR_BUTTON | ACPI_FADT_FLAG_SLP_BUTTON |
	      ACPI_FADT_FLAG_RESET_REG_SUP | ACPI_FADT_FLAG_HW_REDUCED);
	gas_io8(p + FADT_OFF_RESET_REG, PORT_RESET);
	p[FADT_OFF_RESET_VALUE] = RESET_VALUE;
	p[FADT_OFF_MINOR_REV] = 0;
	put64(p + FADT_OFF_X_DSDT, dsdt);	/* the 32-bit DSDT stays 0 */
	gas_io8(p + FADT_OFF_SLEEP_CONTROL, PORT_SLEEP_CONTROL);
	gas_io8(p + FADT_OFF_SLEEP_STATUS, PORT_SLEEP_STATUS);
	memcpy(p + FADT_OFF_HYPERVISOR_ID, "BIGIRON", 8);
	header_finish(p, ACPI_FADT_SIZE);
	return ACPI_FADT_SIZE;
}

/*
 * AML encoding. PkgLength counts itself: one byte up to 63, else a lead
 * byte (0x40 | low nibble, bits 6-7 = extra bytes) and the rest.
 */
static size_t aml_pkglength(uint8_t *p, size_t body)
{
	size_t total;

	if (body + 1 < 0x40) {
		p[0] = (uint8_t)(body + 1);
		return 1;
	}
	total = body + 2;			/* fits 0xFFF: tables are tiny */
	p[0] = (uint8_t)(0x40 | (total & 0xF));
	p[1] = (uint8_t)(total >> 4);
	return 2;
}

/* @op (1 or 2 bytes), PkgLength, then @body. Returns the bytes written. */
static size_t aml_package(uint8_t *p, const uint8_t *op, size_t oplen,
			  const uint8_t *body, size_t bodylen)
{
	size_t n;

	memcpy(p, op, oplen);
	n = oplen + aml_pkglength(p + oplen, bodylen);
	memmove(p + n, body, bodylen);
	return n + bodylen;
}

#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE		0x0A
#define AML_WORD		0x0B
#define AML_DWORD		0x0C
#define AML_STRING		0x0D
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_EXT			0x5B
#define AML_DEVICE		0x82	/* after AML_EXT */
#define AML_ROOT		0x5C	/* '\' */
#define EISAID_PNP0501		0x0105D041 /* EisaId("PNP0501"), 16550 */

/* Resource descriptors (ACPI 6.x, 6.4) */
#define RES_MEMORY32_FIXED	0x86	/* large item, 9 bytes of data */
#define RES_MEM_READWRITE	0x01
#define RES_EXT_IRQ		0x89	/* large item */
#define RES_IRQ_CONSUMER	0x01	/* flags: bit 1 clear = level, */
					/* bit 2 clear = active high, */
					/* bit 3 clear = exclusive */
#define RES_END_TAG		0x79

static const uint8_t op_scope[] = { AML_SCOPE };
static const uint8_t op_device[] = { AML_EXT, AML_DEVICE };
static const uint8_t op_buffer[] = { AML_BUFFER };
static const uint8_t op_package[] = { AML_PACKAGE };

/* The shortest encoding of an integer constant. */
static size_t aml_integer(uint8_t *p, uint32_t v)
{
	if (v <= 1) {
		p[0] = v ? AML_ONE : AML_ZERO;
		return 1;
	}
	if (v <= 0xFF) {
		p[0] = AML_BYTE;
		p[1] = (uint8_t)v;
		return 2;
	}
	if (v <= 0xFFFF) {
		p[0] = AML_WORD;
		put16(p + 1, (uint16_t)v);
		return 3;
	}
	p[0] = AML_DWORD;
	put32(p + 1, v);
	return 5;
}

/* Name (@name, Buffer () { @res }): a _CRS resource template. */
static size_t aml_name_buffer(uint8_t *p, const char *name,
			      const uint8_t *res, size_t len)
{
	uint8_t tmp[64];
	size_t n = 0, k;

	p[n++] = AML_NAME;
	memcpy(p + n, name, 4);
	n += 4;
	k = aml_integer(tmp, (uint32_t)len);	/* BufferSize */
	memcpy(tmp + k, res, len);
	n += aml_package(p + n, op_buffer, 1, tmp, k + len);
	return n;
}

/* Device (COM1) { _HID, _UID, _CRS }, into @p. */
static size_t aml_com1(uint8_t *p)
{
	static const uint8_t crs[] = {
		/* IO(Decode16, 0x3F8, 0x3F8, 1, 8) */
		0x47, 0x01, PORT_COM1 & 0xFF, PORT_COM1 >> 8,
		PORT_COM1 & 0xFF, PORT_COM1 >> 8, 0x01, 0x08,
		/* IRQNoFlags() {4}: edge, active high */
		0x22, 1 << IRQ_COM1, 0x00,
		/* EndTag */
		RES_END_TAG, 0x00,
	};
	uint8_t dev[96];
	size_t d = 0;

	memcpy(dev + d, "COM1", 4);
	d += 4;
	dev[d++] = AML_NAME;
	memcpy(dev + d, "_HID", 4);
	d += 4;
	dev[d++] = AML_DWORD;
	put32(dev + d, EISAID_PNP0501);
	d += 4;
	dev[d++] = AML_NAME;
	memcpy(dev + d, "_UID", 4);
	d += 4;
	dev[d++] = AML_ZERO;
	d += aml_name_buffer(dev + d, "_CRS", crs, sizeof(crs));
	return aml_package(p, op_device, 2, dev, d);
}

/*
 * Device (VRnn) {
 *	Name (_HID, "LNRO0005")
 *	Name (_UID, nn)
 *	Name (_CRS, ResourceTemplate () {
 *		Memory32Fixed (ReadWrite, base, size)
 *		Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive)
 *			{ gsi }
 *	})
 * }
 */
static size_t aml_virtio_mmio(uint8_t *p, unsigned int uid,
			      const struct acpi_mmio_dev *v)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t crs[12 + 9 + 2], dev[96];
	size_t d = 0, c = 0;

	crs[c++] = RES_MEMORY32_FIXED;
	put16(crs + c, 9);
	c += 2;
	crs[c++] = RES_MEM_READWRITE;
	put32(crs + c, v->base);
	c += 4;
	put32(crs + c, v->size);
	c += 4;
	crs[c++] = RES_EXT_IRQ;
	put16(crs + c, 6);
	c += 2;
	crs[c++] = RES_IRQ_CONSUMER;
	crs[c++] = 1;				/* one interrupt */
	put32(crs + c, v->gsi);
	c += 4;
	crs[c++] = RES_END_TAG;
	crs[c++] = 0x00;			/* checksum 0: not computed */

	dev[d++] = 'V';
	dev[d++] = 'R';
	dev[d++] = (uint8_t)hex[(uid >> 4) & 0xF];
	dev[d++] = (uint8_t)hex[uid & 0xF];
	dev[d++] = AML_NAME;
	memcpy(dev + d, "_HID", 4);
	d += 4;
	dev[d++] = AML_STRING;
	memcpy(dev + d, ACPI_VIRTIO_HID, sizeof(ACPI_VIRTIO_HID));
	d += sizeof(ACPI_VIRTIO_HID);		/* with the NUL */
	dev[d++] = AML_NAME;
	memcpy(dev + d, "_UID", 4);
	d += 4;
	d += aml_integer(dev + d, uid);
	d += aml_name_buffer(dev + d, "_CRS", crs, c);
	return aml_package(p, op_device, 2, dev, d);
}

size_t acpi_build_dsdt(uint8_t *p, const struct acpi_mmio_dev *devs,
		       unsigned int ndevs)
{
	uint8_t scope[ACPI_DSDT_MAX], tmp[8];
	uint8_t body[ACPI_DSDT_MAX - ACPI_HDR_SIZE];
	size_t s = 0, n, len;
	unsigned int i;

	/* Scope (\_SB) { Device (COM1), Device (VR00), ... } */
	scope[s++] = AML_ROOT;
	memcpy(scope + s, "_SB_", 4);
	s += 4;
	s += aml_com1(scope + s);
	for (i = 0; i < ndevs && i < ACPI_MMIO_DEVS_MAX; i++)
		s += aml_virtio_mmio(scope + s, i, &devs[i]);

	n = aml_package(body, op_scope, 1, scope, s);

	/* Name (_S5_, Package () { SLEEP_TYPE_S5, 0 }) */
	body[n++] = AML_NAME;
	memcpy(body + n, "_S5_", 4);
	n += 4;
	tmp[0] = 2;				/* NumElements */
	tmp[1] = AML_BYTE;
	tmp[2] = SLEEP_TYPE_S5;
	tmp[3] = AML_ZERO;
	n += aml_package(body + n, op_package, 1, tmp, 4);

	/* Revision 2: integers are 64 bits wide. */
	len = ACPI_HDR_SIZE + n;
	header_init(p, "DSDT", (uint32_t)len, 2);
	memcpy(p + ACPI_HDR_SIZE, body, n);
	header_finish(p, (uint32_t)len);
	return len;
}

size_t acpi_madt_size(unsigned int ncpus)
{
	return ACPI_HDR_SIZE + 8 + 8 * (size_t)ncpus + 12;
}

size_t acpi_build_madt(uint8_t *p, unsigned int ncpus)
{
	uint32_t len = (uint32_t)acpi_madt_size(ncpus);
	uint8_t *e = p + ACPI_HDR_SIZE + 8;
	unsigned int i;

	header_init(p, "APIC", len, 5);
	put32(p + ACPI_HDR_SIZE, (uint32_t)LAYOUT_LAPIC);
	/* Flags 0: no PCAT_COMPAT, there is no 8259 to disable. */
	put32(p + ACPI_HDR_SIZE + 4, 0);
	for (i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;			/* ACPI processor UID */
		e[3] = (uint8_t)i;			/* APIC ID = vCPU id */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = 12;
	e[2] = ACPI_IOAPIC_ID;
	e[3] = 0;
	put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(e + 8, 0);				/* GSI base */
	/*
	 * No Interrupt Source Overrides: the only ISA interrupt, COM1's
	 * IRQ 4, is GSI 4, edge, active high, which is the default.
	 */
	header_finish(p, len);
	return len;
}

/*
 * SRAT (ACPI 6.x, 5.2.16): 12 bytes after the header (the first a
 * reserved 32-bit 1), a Processor Local APIC Affinity entry (type 0,
 * 16 bytes) per vCPU and a Memory Affinity entry (type 1, 40 bytes) per
 * node.
 */
#define SRAT_TYPE_LAPIC		0
#define SRAT_TYPE_MEMORY	1
#define SRAT_ENABLED		1

size_t acpi_srat_size(unsigned int ncpus, unsigned int nodes)
{
	return ACPI_HDR_SIZE + 12 + 16 * (size_t)ncpus + 40 * (size_t)nodes;
}

size_t acpi_build_srat(uint8_t *p, unsigned int ncpus,
		       const struct acpi_numa *numa)
{
	uint32_t len = (uint32_t)acpi_srat_size(ncpus, numa->nodes);
	uint8_t *e = p + ACPI_HDR_SIZE + 12;
	unsigned int i;

	header_init(p, "SRAT", len, 3);
	put32(p + ACPI_HDR_SIZE, 1);
	for (i = 0; i < ncpus; i++, e += 16) {
		e[0] = SRAT_TYPE_LAPIC;
		e[1] = 16;
		e[2] = numa->vcpu_node[i];	/* proximity domain, bits 7:0 */
		e[3] = (uint8_t)i;		/* APIC ID, as in the MADT */
		put32(e + 4, SRAT_ENABLED);
	}
	for (i = 0; i < numa->nodes; i++, e += 40) {
		e[0] = SRAT_TYPE_MEMORY;
		e[1] = 40;
		put32(e + 2, i);
		put64(e + 8, numa->start[i]);
		put64(e + 16, numa->size[i]);
		put32(e + 28, SRAT_ENABLED);
	}
	header_finish(p, len);
	return len;
}

/* SLIT (5.2.17): the number of localities, then their distance matrix. */
size_t acpi_slit_size(unsigned int nodes)
{
	return ACPI_HDR_SIZE + 8 + (size_t)nodes * nodes;
}

size_t acpi_build_slit(uint8_t *p, const struct acpi_numa *numa)
{
	uint32_t len = (uint32_t)acpi_slit_size(numa->nodes);
	uint8_t *d = p + ACPI_HDR_SIZE + 8;
	unsigned int i, j;

	header_init(p, "SLIT", len, 1);
	put64(p + ACPI_HDR_SIZE, numa->nodes);
	for (i = 0; i < numa->nodes; i++)
		for (j = 0; j < numa->nodes; j++)
			*d++ = i == j ? ACPI_DISTANCE_LOCAL :
					ACPI_DISTANCE_REMOTE;
	header_finish(p, len);
	return len;
}

static uint64_t align16(uint64_t v)
{
	return (v + 15) & ~15ULL;
}

int acpi_build(uint8_t *buf, size_t size, uint64_t base, unsigned int ncpus,
	       const struct acpi_mmio_dev *devs, unsigned int ndevs,
	       struct acpi_tables *out)
{
	return acpi_build_numa(buf, size, base, ncpus, devs, ndevs, NULL,
			       out);
}

int acpi_build_numa(uint8_t *buf, size_t size, uint64_t base,
		    unsigned int ncpus, const struct acpi_mmio_dev *devs,
		    unsigned int ndevs, const struct acpi_numa *numa,
		    struct acpi_tables *out)
{
	uint64_t tables[4];
	unsigned int ntables = 2, i;
	uint64_t off;

	memset(out, 0, sizeof(*out));
	if (ndevs > ACPI_MMIO_DEVS_MAX)
		return -1;
	if (numa) {
		if (!numa->nodes || numa->nodes > ACPI_NUMA_NODES_MAX)
			return -1;
		for (i = 0; i < ncpus; i++)
			if (numa->vcpu_node[i] >= numa->nodes)
				return -1;
	}
	/*
	 * Layout: RSDP, XSDT (room for 4 entries), FADT, DSDT, MADT, then
	 * SRAT and SLIT with a NUMA layout, each 16-byte aligned.
	 */
	out->rsdp = base;
	out->xsdt = align16(base + ACPI_RSDP_SIZE);
	out->fadt = align16(out->xsdt + ACPI_HDR_SIZE + 8 * 4);
	out->dsdt = align16(out->fadt + ACPI_FADT_SIZE);
	out->madt = align16(out->dsdt + ACPI_DSDT_MAX);
	off = out->madt + acpi_madt_size(ncpus);
	if (numa) {
		out->srat = align16(off);
		out->slit = align16(out->srat +
				    acpi_srat_size(ncpus, numa->nodes));
		off = out->slit + acpi_slit_size(numa->nodes);
	}
	off -= base;
	if (off > size)
		return -1;
	memset(buf, 0, off);

	out->dsdt_len = (uint32_t)acpi_build_dsdt(buf + (out->dsdt - base),
						  devs, ndevs);
	out->madt_len = (uint32_t)acpi_build_madt(buf + (out->madt - base),
						  ncpus);
	out->fadt_len = (uint32_t)acpi_build_fadt(buf + (out->fadt - base),
						  out->dsdt);
	tables[0] = out->fadt;
	tables[1] = out->madt;
	if (numa) {
		out->srat_len = (uint32_t)acpi_build_srat(buf + (out->srat - base),
							  ncpus, numa);
		out->slit_len = (uint32_t)acpi_build_slit(buf + (out->slit - base),
							  numa);
		tables[ntables++] = out->srat;
		tables[ntables++] = out->slit;
	}
	out->xsdt_len = (uint32_t)acpi_build_xsdt(buf + (out->xsdt - base),
						  tables, ntables);
	acpi_build_rsdp(buf, out->xsdt);
	out->used = off;
	return 0;
}
