/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: virtio-mmio transport (version 2, "modern") and split
 * virtqueues, shared by virtio-blk and virtio-net.
 *
 * Pure logic over a guest RAM buffer: the interrupt line goes to a
 * set_irq() callback, the device-specific part sits behind struct
 * virtio_dev_ops. Register layout and bits follow the virtio 1.x
 * specification (virtio-mmio, split virtqueues).
 */
#ifndef BIGIRON_VIRTIO_MMIO_H
#define BIGIRON_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION_2	2
#define VIRTIO_MMIO_VENDOR	0x4E524942	/* "BIRN" */
#define VIRTIO_QUEUE_NUM_MAX	256
#define VIRTIO_QUEUES_MAX	2
#define VIRTIO_CONFIG_MAX	64

/* Register offsets */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

/* Device status */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* InterruptStatus bits */
#define VIRTIO_INT_VRING		0x1
#define VIRTIO_INT_CONFIG		0x2

/* Feature bits common to every device */
#define VIRTIO_F_VERSION_1		32

/* Split virtqueue layout */
#define VIRTQ_DESC_F_NEXT		1
#define VIRTQ_DESC_F_WRITE		2
#define VIRTQ_DESC_F_INDIRECT		4
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_DESC_SIZE			16
#define VIRTQ_USED_ELEM_SIZE		8

struct virtq {
	uint32_t num;		/* QueueNum, checked when made ready */
	bool ready;
	uint64_t desc, avail, used;	/* guest physical */
	uint16_t last_avail;	/* next avail ring entry to take */
	uint16_t used_idx;	/* our copy of used->idx */
};

/* A piece of guest RAM a descriptor names, already bounds-checked. */
struct virtio_seg {
	uint8_t *p;
	uint32_t len;
};

/*
 * One descriptor chain taken from the avail ring: the device-readable
 * segments first (nout of them, out_len bytes), then the device-writable
 * ones (nin, in_len bytes).
 */
struct virtio_chain {
	uint16_t head;
	unsigned int nout, nin;
	uint64_t out_len, in_len;
	struct virtio_seg seg[VIRTIO_QUEUE_NUM_MAX];
};

struct virtio_dev;

/* Both run with the device lock held. */
struct virtio_dev_ops {
	/* The driver wrote @q (a ready queue) to QueueNotify. */
	void (*notify)(struct virtio_dev *d, unsigned int q);
	/* The driver wrote 0 to Status; the transport is reset already. */
	void (*reset)(struct virtio_dev *d);
};

/* What the host side gives every device. */
struct virtio_host {
	uint8_t *mem;		/* guest RAM, guest physical 0 */
	uint64_t mem_size;
	/* Drive interrupt line @gsi (level, true: asserted). */
	void (*set_irq)(void *opaque, unsigned int gsi, bool level);
	void *irq_opaque;
};

struct virtio_dev {
	pthread_mutex_t lock;	/* all below, and the device's state */
	const char *name;	/* "virtio-blk", for messages */
	uint32_t device_id;
	uint64_t features;	/* offered */
	unsigned int nqueues;
	const struct virtio_dev_ops *ops;
	struct virtio_host host;
	unsigned int gsi;
	uint8_t config[VIRTIO_CONFIG_MAX];	/* device config space */
	size_t config_len;

	uint32_t status;
	uint32_t isr;		/* InterruptStatus */
	bool irq_level;		/* what set_irq() was last told */
	bool broken;		/* NEEDS_RESET until the driver resets */
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	struct virtq vq[VIRTIO_QUEUES_MAX];
	struct virtio_chain chain;	/* scratch for requests */
	unsigned long needs_reset;	/* times the device was broken */
};

/*
 * Set up the transport of @d; the device fills d->config afterwards.
 * Returns 0, or -1 if the lock cannot be created.
 */
int virtio_dev_init(struct virtio_dev *d, const char *name,
		    uint32_t device_id, uint64_t features,
		    unsigned int nqueues, const struct virtio_dev_ops *ops,
		    const struct virtio_host *host, unsigned int gsi);
void virtio_dev_destroy(struct virtio_dev *d);

/* io_handler_fn for the device's window; @opaque is the virtio_dev. */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data,
			unsigned int len, bool is_write);

/*
 * For the devices, with d->lock held.
 *
 * virtq_pop(): take the next chain of queue @q into @c. Returns 1, 0 if
 * there is none (or the queue or device is not usable), or -1 if the
 * queue is malformed: the device is then broken (DEVICE_NEEDS_RESET) and
 * ignores its queues until the driver resets it.
 */
int virtq_pop(struct virtio_dev *d, unsigned int q, struct virtio_chain *c);
/* Give back the chain virtq_pop() just took: the next pop returns it. */
void virtq_unpop(struct virtio_dev *d, unsigned int q);
/* Return chain @head to the driver, @written bytes written into it. */
void virtq_push(struct virtio_dev *d, unsigned int q, uint16_t head,
		uint32_t written);
/* Interrupt the driver for queue @q unless it asked not to be. */
void virtq_interrupt(struct virtio_dev *d, unsigned int q);
/* The driver completed setup and the device is not broken. */
bool virtio_dev_live(const struct virtio_dev *d);
/* Mark the device DEVICE_NEEDS_RESET and say why (rate-limited). */
void virtio_set_broken(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Copy between a chain and a buffer: @off counts from the start of the
 * device-readable (read) or device-writable (write) part. Both return
 * the bytes copied, less than @len if the part is shorter.
 */
size_t virtio_chain_read(const struct virtio_chain *c, uint64_t off,
			 void *dst, size_t len);
size_t virtio_chain_write(const struct virtio_chain *c, uint64_t off,
			  const void *src, size_t len);

#endif
