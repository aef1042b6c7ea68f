// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: virtio-mmio transport, split virtqueues, virtio-blk and
 * virtio-net, driven like a guest driver would over a fake guest RAM.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "config.h"
#include "harness.h"
#include "layout.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "virtio_net.h"

#define RAM_SIZE	(1U << 20)
#define QSIZE		8
/* Rings of queue q at RING(q) + 0 (desc), + 0x100 (avail), + 0x200 (used) */
#define RING(q)		(0x1000U + 0x1000U * (q))
#define DESC(q)		RING(q)
#define AVAIL(q)	(RING(q) + 0x100)
#define USED(q)		(RING(q) + 0x200)
#define DATA		0x10000U

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static bool irq_line[32];
static unsigned int irq_changes;

static void fake_irq(void *opaque, unsigned int gsi, bool level)
{
	(void)opaque;
	if (gsi < 32)
		irq_line[gsi] = level;
	irq_changes++;
}

static const struct virtio_host host = {
	.mem = ram,
	.mem_size = RAM_SIZE,
	.set_irq = fake_irq,
	.irq_opaque = NULL,
};

static uint32_t rd(struct virtio_dev *d, uint32_t off)
{
	uint32_t v;

	virtio_mmio_access(d, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct virtio_dev *d, uint32_t off, uint32_t v)
{
	virtio_mmio_access(d, off, (uint8_t *)&v, 4, true);
}

static uint16_t get16(uint32_t gpa)
{
	uint16_t v;

	memcpy(&v, ram + gpa, 2);
	return v;
}

static uint32_t get32(uint32_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

static void put16(uint32_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

/* Driver side: reset, negotiate @features, set up @nq queues, DRIVER_OK. */
static void drv_start(struct virtio_dev *d, uint64_t features,
		      unsigned int nq)
{
	unsigned int q;

	memset(ram, 0, RAM_SIZE);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (q = 0; q < nq; q++) {
		wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(d, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(q));
		wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL(q));
		wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED(q));
		wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
	   VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	   VIRTIO_STATUS_DRIVER_OK);
}

struct buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Descriptor @i of queue @q. */
static void set_desc(unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *p = ram + DESC(q) + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Make @head the next avail entry of queue @q. */
static void offer(unsigned int q, uint16_t head)
{
	uint16_t idx = get16(AVAIL(q) + 2);

	put16(AVAIL(q) + 4 + 2 * (idx % QSIZE), head);
	put16(AVAIL(q) + 2, (uint16_t)(idx + 1));
}

/* Put @n buffers as one chain starting at descriptor @first, offer it. */
static void add_chain(unsigned int q, uint16_t first, const struct buf *b,
		      unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		set_desc(q, (uint16_t)(first + i), b[i].addr, b[i].len,
			 (uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(first + i + 1));
	offer(q, first);
}

static uint16_t used_idx(unsigned int q)
{
	return get16(USED(q) + 2);
}

static uint32_t used_id(unsigned int q, unsigned int i)
{
	return get32(USED(q) + 4 + 8 * (i % QSIZE));
}

static uint32_t used_len(unsigned int q, unsigned int i)
{
	return get32(USED(q) + 4 + 8 * (i % QSIZE) + 4);
}

/* A disk of @sectors sectors, byte i of it (i * 7) & 0xFF. */
static int make_disk(char *path, size_t pathlen, unsigned int sectors)
{
	uint8_t data[512];
	unsigned int s, i;
	int fd;

	snprintf(path, pathlen, "/tmp/bigiron-disk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (s = 0; s < sectors; s++) {
		for (i = 0; i < 512; i++)
			data[i] = (uint8_t)((s * 512 + i) * 7);
		if (pwrite(fd, data, 512, s * 512) != 512) {
			close(fd);
			unlink(path);
			return -1;
		}
	}
	return fd;
}

struct blk_fixture {
	struct virtio_blk b;
	char path[64];
	int fd;
};

static bool blk_open(struct blk_fixture *f, bool readonly)
{
	memset(irq_line, 0, sizeof(irq_line));	/* a fresh device's line */
	f->fd = make_disk(f->path, sizeof(f->path), 8);
	if (!CHECK(f->fd >= 0))
		return false;
	if (!CHECK(virtio_blk_init(&f->b, f->fd, 8 * 512, readonly, &host,
				   IRQ_VIRTIO) == 0)) {
		close(f->fd);
		unlink(f->path);
		return false;
	}
	drv_start(&f->b.dev, 1ULL << VIRTIO_F_VERSION_1, 1);
	return true;
}

static void blk_close(struct blk_fixture *f)
{
	virtio_blk_destroy(&f->b);
	close(f->fd);
	unlink(f->path);
}

/* A request: header at DATA, data at DATA + 0x1000, status at DATA + 0x100. */
#define REQ_HDR		DATA
#define REQ_STATUS	(DATA + 0x100)
#define REQ_DATA	(DATA + 0x1000)

static void blk_req(struct virtio_dev *d, uint16_t first, uint32_t type,
		    uint64_t sector, uint32_t len, bool data_write)
{
	struct buf b[3] = {
		{ REQ_HDR, 16, false },
		{ REQ_DATA, len, data_write },
		{ REQ_STATUS, 1, true },
	};
	uint32_t zero = 0;

	memcpy(ram + REQ_HDR, &type, 4);
	memcpy(ram + REQ_HDR + 4, &zero, 4);
	memcpy(ram + REQ_HDR + 8, &sector, 8);
	ram[REQ_STATUS] = 0xAA;
	if (len) {
		add_chain(0, first, b, 3);
	} else {
		b[1] = b[2];
		add_chain(0, first, b, 2);
	}
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void virtio_registers(void)
{
	struct blk_fixture f;
	struct virtio_dev *d;
	uint8_t cfg[8];
	uint64_t cap;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	CHECK_EQ(rd(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(d, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_FEATURES), 1);	/* VERSION_1 */
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_FEATURES),
		 1U << VIRTIO_BLK_F_SEG_MAX | 1U << VIRTIO_BLK_F_BLK_SIZE |
		 1U << VIRTIO_BLK_F_FLUSH);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);	/* no queue 1 */
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 0x0F);
	CHECK_EQ(rd(d, VIRTIO_MMIO_CONFIG_GENERATION), 0);

	/* Config space: capacity in two halves, byte reads, blk_size. */
	cap = (uint64_t)rd(d, VIRTIO_MMIO_CONFIG) |
	      (uint64_t)rd(d, VIRTIO_MMIO_CONFIG + 4) << 32;
	CHECK_EQ(cap, 8);
	virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, cfg, 1, false);
	CHECK_EQ(cfg[0], 8);
	virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, cfg, 8, false);
	CHECK_EQ(cfg[0], 8);
	CHECK_EQ(rd(d, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_SEG_MAX), 254);
	CHECK_EQ(rd(d, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CFG_BLK_SIZE), 512);
	CHECK_EQ(rd(d, VIRTIO_MMIO_CONFIG + 0x40), 0);

	/* Without VERSION_1 FEATURES_OK does not stick. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(d, VIRTIO_MMIO_STATUS, 3);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1U << VIRTIO_BLK_F_FLUSH);
	wr(d, VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 3);
	/* Nor with a feature that was not offered. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, 3);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1U << VIRTIO_BLK_F_RO);
	wr(d, VIRTIO_MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 3);
	blk_close(&f);
}

static void virtio_blk_read_write(void)
{
	struct blk_fixture f;
	struct virtio_dev *d;
	uint8_t back[512];
	unsigned int i;
	bool same = true;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	/* Write sector 3 with 0x5A, in two descriptors of 256 bytes. */
	{
		struct buf b[4] = {
			{ REQ_HDR, 16, false },
			{ REQ_DATA, 256, false },
			{ REQ_DATA + 256, 256, false },
			{ REQ_STATUS, 1, true },
		};
		uint32_t type = VIRTIO_BLK_T_OUT, zero = 0;
		uint64_t sector = 3;

		memcpy(ram + REQ_HDR, &type, 4);
		memcpy(ram + REQ_HDR + 4, &zero, 4);
		memcpy(ram + REQ_HDR + 8, &sector, 8);
		memset(ram + REQ_DATA, 0x5A, 512);
		ram[REQ_STATUS] = 0xAA;
		add_chain(0, 0, b, 4);
		wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(used_id(0, 0), 0);
	CHECK_EQ(used_len(0, 0), 1);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	CHECK_EQ(pread(f.fd, back, 512, 3 * 512), 512);
	for (i = 0; i < 512; i++)
		same &= back[i] == 0x5A;
	CHECK(same);

	/* Read sector 1 (untouched) and sector 3 (just written). */
	memset(ram + REQ_DATA, 0, 1024);
	blk_req(d, 4, VIRTIO_BLK_T_IN, 1, 512, true);
	CHECK_EQ(used_idx(0), 2);
	CHECK_EQ(used_id(0, 1), 4);
	CHECK_EQ(used_len(0, 1), 513);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	for (i = 0, same = true; i < 512; i++)
		same &= ram[REQ_DATA + i] == (uint8_t)((512 + i) * 7);
	CHECK(same);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 3, 512, true);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	CHECK_EQ(ram[REQ_DATA], 0x5A);
	CHECK_EQ(ram[REQ_DATA + 511], 0x5A);

	/* Flush, then the last sector and one past the end. */
	blk_req(d, 4, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 7, 512, true);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	blk_req(d, 4, VIRTIO_BLK_T_IN, 8, 512, true);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_IOERR);
	blk_req(d, 0, VIRTIO_BLK_T_OUT, 7, 1024, false);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_IOERR);
	blk_req(d, 4, VIRTIO_BLK_T_IN, ~0ULL / 256, 512, true);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_IOERR);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 100, true);	/* not whole sectors */
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_IOERR);
	blk_req(d, 4, 42, 0, 0, false);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(used_idx(0), 10);
	CHECK_EQ(f.b.reads, 6);
	CHECK_EQ(f.b.writes, 2);
	CHECK_EQ(f.b.flushes, 1);
	CHECK_EQ(f.b.errors, 5);
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	blk_close(&f);
}

static void virtio_blk_get_id(void)
{
	struct blk_fixture f;

	if (!blk_open(&f, false))
		return;
	memset(ram + REQ_DATA, 0xFF, 32);
	blk_req(&f.b.dev, 0, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES,
		true);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	CHECK_STREQ((const char *)ram + REQ_DATA, "bigiron-disk0");
	CHECK_EQ(ram[REQ_DATA + 19], 0);
	CHECK_EQ(ram[REQ_DATA + 20], 0xFF);
	blk_close(&f);
}

static void virtio_blk_readonly(void)
{
	struct blk_fixture f;
	uint8_t back;

	if (!blk_open(&f, true))
		return;
	CHECK(f.b.dev.features & 1ULL << VIRTIO_BLK_F_RO);
	CHECK(!(f.b.dev.features & 1ULL << VIRTIO_BLK_F_FLUSH));
	memset(ram + REQ_DATA, 0x11, 512);
	blk_req(&f.b.dev, 0, VIRTIO_BLK_T_OUT, 0, 512, false);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_IOERR);
	CHECK_EQ(pread(f.fd, &back, 1, 0), 1);
	CHECK_EQ(back, 0);
	blk_close(&f);
}

static void virtio_interrupt_ack(void)
{
	struct blk_fixture f;
	struct virtio_dev *d;
	unsigned int changes;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	CHECK(!irq_line[IRQ_VIRTIO]);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK(irq_line[IRQ_VIRTIO]);
	CHECK_EQ(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_VRING);
	/* Still asserted until the ACK; a second completion changes nothing. */
	changes = irq_changes;
	blk_req(d, 4, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK(irq_line[IRQ_VIRTIO]);
	CHECK_EQ(irq_changes, changes);
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_VRING);
	CHECK(!irq_line[IRQ_VIRTIO]);
	CHECK_EQ(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* VIRTQ_AVAIL_F_NO_INTERRUPT: the request completes silently. */
	put16(AVAIL(0), VIRTQ_AVAIL_F_NO_INTERRUPT);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(used_idx(0), 3);
	CHECK(!irq_line[IRQ_VIRTIO]);
	put16(AVAIL(0), 0);
	blk_req(d, 4, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK(irq_line[IRQ_VIRTIO]);

	/* A reset drops the line. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	CHECK(!irq_line[IRQ_VIRTIO]);
	blk_close(&f);
}

/* The device is broken: NEEDS_RESET, config interrupt, queue ignored. */
static void check_broken(struct virtio_dev *d, uint16_t used)
{
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(irq_line[d->gsi]);
	CHECK_EQ(used_idx(0), used);
}

static void virtio_chain_outside_ram(void)
{
	static const uint64_t bad[] = {
		RAM_SIZE, RAM_SIZE - 8, ~0ULL - 4, 1ULL << 40,
	};
	struct blk_fixture f;
	struct virtio_dev *d;
	unsigned int i;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf b[3] = {
			{ REQ_HDR, 16, false },
			{ bad[i], 512, true },
			{ REQ_STATUS, 1, true },
		};

		drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
		blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 512, true);
		CHECK_EQ(used_idx(0), 1);
		add_chain(0, 4, b, 3);
		wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		check_broken(d, 1);
		/* Ignored from now on, even good requests. */
		blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 512, true);
		check_broken(d, 1);
	}
	/* A reset makes it usable again. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	CHECK(!irq_line[d->gsi]);
	blk_req(d, 0, VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	CHECK_EQ(f.b.dev.needs_reset, 4);
	blk_close(&f);
}

static void virtio_chain_loop(void)
{
	struct blk_fixture f;
	struct virtio_dev *d;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	/* 0 -> 1 -> 2 -> 0 ... */
	set_desc(0, 0, REQ_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(0, 1, REQ_DATA, 512, VIRTQ_DESC_F_NEXT, 2);
	set_desc(0, 2, REQ_DATA, 512, VIRTQ_DESC_F_NEXT, 0);
	offer(0, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);

	/* A descriptor that chains to itself. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	set_desc(0, 5, REQ_HDR, 16, VIRTQ_DESC_F_NEXT, 5);
	offer(0, 5);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);

	/* next beyond the queue; head beyond the queue. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	set_desc(0, 0, REQ_HDR, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	offer(0, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	offer(0, QSIZE + 3);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);

	/* An avail index far ahead; an indirect descriptor. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	put16(AVAIL(0) + 2, QSIZE + 1);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	set_desc(0, 0, REQ_HDR, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);

	/* A readable descriptor after a writable one. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	set_desc(0, 0, REQ_STATUS, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(0, 1, REQ_HDR, 16, 0, 0);
	offer(0, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	check_broken(d, 0);

	/* The longest chain that does not loop is fine: QSIZE descriptors. */
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1, 1);
	{
		struct buf b[QSIZE];
		unsigned int i;

		b[0] = (struct buf){ REQ_HDR, 16, false };
		for (i = 1; i < QSIZE - 1; i++)
			b[i] = (struct buf){ REQ_DATA + 512 * (i - 1), 512,
					     true };
		b[QSIZE - 1] = (struct buf){ REQ_STATUS, 1, true };
		memset(ram + REQ_HDR, 0, 16);	/* IN, sector 0 */
		add_chain(0, 0, b, QSIZE);
		wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(ram[REQ_STATUS], VIRTIO_BLK_S_OK);
	CHECK_EQ(used_len(0, 0), 512 * (QSIZE - 2) + 1);
	CHECK(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	blk_close(&f);
}

static void virtio_queue_setup_checks(void)
{
	struct blk_fixture f;
	struct virtio_dev *d;

	if (!blk_open(&f, false))
		return;
	d = &f.b.dev;
	/* Used ring past the end of RAM. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 256);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(0));
	wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL(0));
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, RAM_SIZE - 0x100);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Too large a queue; a misaligned ring; a high address. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 257);
	wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED(0));
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, 6);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(0) + 8);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC(0));
	wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
	wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 0);
	/* A queue that is not ready is ignored, without breaking anything. */
	wr(d, VIRTIO_MMIO_STATUS, 0);
	offer(0, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 0);
	/* Odd-sized register accesses are ignored. */
	{
		uint8_t b = 0x55;

		virtio_mmio_access(d, VIRTIO_MMIO_STATUS, &b, 1, true);
		CHECK_EQ(rd(d, VIRTIO_MMIO_STATUS), 0);
	}
	blk_close(&f);
}

static bool wait_used(unsigned int q, uint16_t want)
{
	struct timespec ts = { 0, 10 * 1000000L };
	unsigned int i;

	for (i = 0; i < 300; i++) {
		if (__atomic_load_n((uint16_t *)(ram + USED(q) + 2),
				    __ATOMIC_ACQUIRE) == want)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void virtio_net_tx_rx(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t frame[60] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
					   0x52, 0x54, 0, 0x12, 0x34, 0x56,
					   0x08, 0x06, 1, 2, 3 };
	struct virtio_net *n;
	struct virtio_dev *d;
	uint8_t got[128], hdr[12] = { 0 };
	int sv[2];
	ssize_t r;

	if (!CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0))
		return;
	memset(irq_line, 0, sizeof(irq_line));
	n = calloc(1, sizeof(*n));
	if (!CHECK(n && virtio_net_init(n, sv[0], mac, &host,
					IRQ_VIRTIO + 1) == 0)) {
		free(n);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	d = &n->dev;
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	CHECK_EQ(rd(d, VIRTIO_MMIO_DEVICE_FEATURES),
		 1U << VIRTIO_NET_F_MAC | 1U << VIRTIO_NET_F_STATUS);
	virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, got, 8, false);
	CHECK(!memcmp(got, mac, 6));
	CHECK_EQ(got[6], VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(got[7], 0);

	/* Before the driver runs, frames are dropped. */
	CHECK_EQ(virtio_net_rx(n, frame, sizeof(frame)), -1);
	drv_start(d, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_NET_F_MAC,
		  2);
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(d, VIRTIO_MMIO_QUEUE_READY), 1);

	/* TX: header and frame start share a descriptor, the rest follows. */
	{
		struct buf b[2] = {
			{ DATA, 12 + 20, false },
			{ DATA + 0x100, sizeof(frame) - 20, false },
		};

		memcpy(ram + DATA, hdr, 12);
		memcpy(ram + DATA + 12, frame, 20);
		memcpy(ram + DATA + 0x100, frame + 20, sizeof(frame) - 20);
		add_chain(1, 0, b, 2);
		wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	}
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(used_len(1, 0), 0);
	r = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
	CHECK_EQ(r, sizeof(frame));
	CHECK(!memcmp(got, frame, sizeof(frame)));
	CHECK(irq_line[IRQ_VIRTIO + 1]);
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	CHECK(!irq_line[IRQ_VIRTIO + 1]);

	/* RX: no buffer yet; one too small is left alone; one that fits. */
	CHECK_EQ(virtio_net_rx(n, frame, sizeof(frame)), 0);
	{
		struct buf small = { DATA + 0x1000, 40, true };
		struct buf big[2] = {
			{ DATA + 0x2000, 12, true },
			{ DATA + 0x3000, 1514, true },
		};

		add_chain(0, 0, &small, 1);
		CHECK_EQ(virtio_net_rx(n, frame, sizeof(frame)), -1);
		CHECK_EQ(used_idx(0), 0);
		/* Replace it by a fitting one, as if it had been there. */
		put16(AVAIL(0) + 2, 0);
		memset(ram + DATA + 0x2000, 0xEE, 12);
		add_chain(0, 2, big, 2);
	}
	CHECK_EQ(virtio_net_rx(n, frame, sizeof(frame)), 1);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(used_id(0, 0), 2);
	CHECK_EQ(used_len(0, 0), 12 + sizeof(frame));
	CHECK(!memcmp(ram + DATA + 0x2000, hdr, 10));
	CHECK_EQ(get16(DATA + 0x2000 + 10), 1);		/* num_buffers */
	CHECK(!memcmp(ram + DATA + 0x3000, frame, sizeof(frame)));
	CHECK(irq_line[IRQ_VIRTIO + 1]);

	/* The thread: a frame from the other end lands in a buffer. */
	if (CHECK(virtio_net_start(n) == 0)) {
		struct buf b = { DATA + 0x4000, 2048, true };

		CHECK_EQ(send(sv[1], frame, 42, 0), 42);
		/* It waits for a buffer; the notify wakes it up. */
		add_chain(0, 4, &b, 1);
		wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		CHECK(wait_used(0, 2));
		CHECK_EQ(used_len(0, 1), 12 + 42);
		CHECK(!memcmp(ram + DATA + 0x4000 + 12, frame, 42));
		virtio_net_stop(n);
	}
	CHECK_EQ(n->tx, 1);
	CHECK_EQ(n->rx, 2);
	CHECK_EQ(n->rx_dropped, 2);
	virtio_net_destroy(n);
	free(n);
	close(sv[0]);
	close(sv[1]);
}

/* The thread stops promptly while it holds a frame for want of buffers. */
static void virtio_net_stop_holding(void)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	uint8_t frame[60] = { 0 };
	struct timespec a, b, ts = { 0, 50 * 1000000L };
	struct virtio_net *n;
	int sv[2];
	long ms;

	if (!CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0))
		return;
	n = calloc(1, sizeof(*n));
	if (!CHECK(n && virtio_net_init(n, sv[0], mac, &host, 20) == 0)) {
		free(n);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	drv_start(&n->dev, 1ULL << VIRTIO_F_VERSION_1, 2);
	if (CHECK(virtio_net_start(n) == 0)) {
		CHECK_EQ(send(sv[1], frame, sizeof(frame), 0), sizeof(frame));
		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &a);
		virtio_net_stop(n);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 +
		     (b.tv_nsec - a.tv_nsec) / 1000000;
		CHECK(ms < 500);
		CHECK_EQ(n->rx, 0);
	}
	virtio_net_destroy(n);
	free(n);
	close(sv[0]);
	close(sv[1]);
}

static void virtio_slots(void)
{
	struct acpi_mmio_dev devs[VIRTIO_DEVS_MAX];
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ(virtio_acpi_devices(&cfg, devs, VIRTIO_DEVS_MAX), 0);
	strcpy(cfg.tap, "tap0");
	CHECK_EQ(virtio_acpi_devices(&cfg, devs, VIRTIO_DEVS_MAX), 1);
	CHECK_EQ(devs[0].base, 0xD0000000);
	CHECK_EQ(devs[0].size, 0x200);
	CHECK_EQ(devs[0].gsi, 16);
	cfg.disk = (char *)"disk.img";
	CHECK_EQ(virtio_acpi_devices(&cfg, devs, VIRTIO_DEVS_MAX), 2);
	CHECK_EQ(devs[1].base, 0xD0001000);
	CHECK_EQ(devs[1].gsi, 17);
	CHECK_EQ(virtio_acpi_devices(&cfg, devs, 1), 1);
}

void suite_virtio(void)
{
	RUN(virtio_registers);
	RUN(virtio_blk_read_write);
	RUN(virtio_blk_get_id);
	RUN(virtio_blk_readonly);
	RUN(virtio_interrupt_ack);
	RUN(virtio_chain_outside_ram);
	RUN(virtio_chain_loop);
	RUN(virtio_queue_setup_checks);
	RUN(virtio_net_tx_rx);
	RUN(virtio_net_stop_holding);
	RUN(virtio_slots);
}
