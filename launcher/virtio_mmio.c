// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: virtio-mmio transport (version 2) and split virtqueues.
 *
 * Every register value the guest writes and everything it puts in guest
 * memory is untrusted. Ring addresses are checked against guest RAM when
 * a queue is made ready, each descriptor when it is used; descriptor
 * indexes against the queue size; a chain is at most the queue size long
 * (a longer one loops); an avail index more than a queue size ahead of us
 * is malformed. Each descriptor is copied once before it is checked, so
 * the guest cannot change it in between. A malformed queue breaks the
 * device: it sets DEVICE_NEEDS_RESET, raises a configuration interrupt and
 * ignores its queues until the driver writes 0 to Status.
 *
 * Locking: d->lock protects all of a device's state: registers, queues,
 * the chain scratch area, and the device's own state in virtio_blk.c and
 * virtio_net.c; requests are processed with it held. MMIO handlers (vCPU
 * threads, the forwarding thread) and a device's own threads take it.
 * Lock order: d->lock, then the IOAPIC's lock (set_irq()). Devices share
 * no lock.
 *
 * Ordering against the driver, which runs concurrently on other CPUs: an
 * acquire fence after reading avail->idx orders the reads of the ring and
 * the descriptors after it; a release fence before writing used->idx
 * publishes the used element and the data written into the buffers first;
 * a full fence between that write and the read of avail->flags pairs with
 * the driver's full barrier when it re-enables interrupts.
 *
 * At the end: virtio_acpi_devices(), the slot of each device (virtio.h).
 */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "config.h"
#include "layout.h"
#include "log.h"
#include "virtio.h"
#include "virtio_mmio.h"

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

/* [addr, addr + len) lies in guest RAM. */
static bool ram_ok(const struct virtio_dev *d, uint64_t addr, uint64_t len)
{
	return addr <= d->host.mem_size && len <= d->host.mem_size - addr;
}

static void update_irq(struct virtio_dev *d)
{
	bool level = d->isr != 0;

	if (level == d->irq_level)
		return;
	d->irq_level = level;
	d->host.set_irq(d->host.irq_opaque, d->gsi, level);
}

int virtio_dev_init(struct virtio_dev *d, const char *name,
		    uint32_t device_id, uint64_t features,
		    unsigned int nqueues, const struct virtio_dev_ops *ops,
		    const struct virtio_host *host, unsigned int gsi)
{
	memset(d, 0, sizeof(*d));
	if (pthread_mutex_init(&d->lock, NULL))
		return -1;
	d->name = name;
	d->device_id = device_id;
	d->features = features | 1ULL << VIRTIO_F_VERSION_1;
	d->nqueues = nqueues < VIRTIO_QUEUES_MAX ? nqueues : VIRTIO_QUEUES_MAX;
	d->ops = ops;
	d->host = *host;
	d->gsi = gsi;
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

bool virtio_dev_live(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken;
}

void virtio_set_broken(struct virtio_dev *d, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	if (d->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_ratelimited("%s: %s: device needs a reset", d->name, msg);
	d->broken = true;
	d->needs_reset++;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	d->isr |= VIRTIO_INT_CONFIG;
	update_irq(d);
}

/* Status 0: back to the state after power-on. */
static void dev_reset(struct virtio_dev *d)
{
	d->status = 0;
	d->isr = 0;
	update_irq(d);
	d->broken = false;
	d->dev_features_sel = d->drv_features_sel = 0;
	d->driver_features = 0;
	d->queue_sel = 0;
	memset(d->vq, 0, sizeof(d->vq));
	if (d->ops->reset)
		d->ops->reset(d);
}

static void status_write(struct virtio_dev *d, uint32_t v)
{
	uint64_t bad;

	if (v == 0) {
		dev_reset(d);
		return;
	}
	v &= 0xFF & ~VIRTIO_STATUS_NEEDS_RESET;
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		bad = d->driver_features & ~d->features;
		if (bad || !(d->driver_features &
			     1ULL << VIRTIO_F_VERSION_1)) {
			/* The driver reads Status back and gives up. */
			log_ratelimited("%s: driver features 0x%llx refused (offered 0x%llx)",
					d->name,
					(unsigned long long)d->driver_features,
					(unsigned long long)d->features);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	d->status = v | (d->broken ? VIRTIO_STATUS_NEEDS_RESET : 0);
}

/* QueueReady = 1: check the queue before the device ever reads it. */
static void queue_enable(struct virtio_dev *d, unsigned int q)
{
	struct virtq *vq = &d->vq[q];

	if (vq->ready)
		return;
	/* Split rings wrap with the 16-bit indexes: a power of 2. */
	if (!vq->num || vq->num > VIRTIO_QUEUE_NUM_MAX ||
	    (vq->num & (vq->num - 1))) {
		virtio_set_broken(d, "queue %u: size %u is not a power of 2 in 1..%u",
				  q, vq->num, VIRTIO_QUEUE_NUM_MAX);
		return;
	}
	if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3)) {
		virtio_set_broken(d, "queue %u: misaligned rings", q);
		return;
	}
	/* avail: flags, idx, ring[num]; used: flags, idx, ring[num]. */
	if (!ram_ok(d, vq->desc, (uint64_t)VIRTQ_DESC_SIZE * vq->num) ||
	    !ram_ok(d, vq->avail, 4 + 2ULL * vq->num) ||
	    !ram_ok(d, vq->used,
		    4 + (uint64_t)VIRTQ_USED_ELEM_SIZE * vq->num)) {
		virtio_set_broken(d, "queue %u: rings outside guest RAM", q);
		return;
	}
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->ready = true;
}

static struct virtq *sel_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->nqueues ? &d->vq[d->queue_sel] : NULL;
}

static void set_low(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xFFFFFFFFULL) | lo;
}

static void set_high(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xFFFFFFFFULL) | (uint64_t)hi << 32;
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *vq = sel_queue(d);
	/* Queue layout may change only while the queue is not ready. */
	struct virtq *setup = vq && !vq->ready ? vq : NULL;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (d->drv_features_sel == 0)
			set_low(&d->driver_features, v);
		else if (d->drv_features_sel == 1)
			set_high(&d->driver_features, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (setup)
			setup->num = v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (vq && v)
			queue_enable(d, d->queue_sel);
		else if (vq)
			vq->ready = false;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v < d->nqueues && d->vq[v].ready && !d->broken)
			d->ops->notify(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->isr &= ~v;
		update_irq(d);
		break;
	case VIRTIO_MMIO_STATUS:
		status_write(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		if (setup)
			set_low(&setup->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (setup)
			set_high(&setup->desc, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		if (setup)
			set_low(&setup->avail, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (setup)
			set_high(&setup->avail, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		if (setup)
			set_low(&setup->used, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (setup)
			set_high(&setup->used, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break;
	default:
		log_ratelimited("%s: write 0x%x to register 0x%llx ignored",
				d->name, v, (unsigned long long)off);
		break;
	}
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtq *vq = sel_queue(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->dev_features_sel == 0)
			return (uint32_t)d->features;
		if (d->dev_features_sel == 1)
			return (uint32_t)(d->features >> 32);
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		/* 0: there is no such queue */
		return vq ? VIRTIO_QUEUE_NUM_MAX : 0;
	case VIRTIO_MMIO_QUEUE_NUM:
		return vq ? vq->num : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return vq ? (uint32_t)vq->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return vq ? (uint32_t)(vq->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return vq ? (uint32_t)vq->avail : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return vq ? (uint32_t)(vq->avail >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return vq ? (uint32_t)vq->used : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return vq ? (uint32_t)(vq->used >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* Length -1: there is no shared memory region. */
		return 0xFFFFFFFF;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return 0;		/* the config space never changes */
	default:
		return 0;
	}
}

/* Config space: byte-granular reads; both devices' fields are read-only. */
static void config_access(struct virtio_dev *d, uint64_t off, uint8_t *data,
			  unsigned int len, bool is_write)
{
	unsigned int i;

	if (is_write) {
		log_ratelimited("%s: write to config space offset 0x%llx ignored",
				d->name, (unsigned long long)off);
		return;
	}
	for (i = 0; i < len; i++)
		data[i] = off + i < d->config_len ? d->config[off + i] : 0;
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data,
			unsigned int len, bool is_write)
{
	struct virtio_dev *d = opaque;
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(d, offset - VIRTIO_MMIO_CONFIG, data, len,
			      is_write);
	} else if (len != 4 || (offset & 3)) {
		log_ratelimited("%s: %u-byte access at register 0x%llx ignored",
				d->name, len, (unsigned long long)offset);
	} else if (is_write) {
		memcpy(&v, data, 4);
		reg_write(d, offset, le32toh(v));
	} else {
		v = htole32(reg_read(d, offset));
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

int virtq_pop(struct virtio_dev *d, unsigned int q, struct virtio_chain *c)
{
	struct virtq *vq = &d->vq[q];
	uint8_t *mem = d->host.mem;
	uint16_t avail_idx, head, idx, flags, next;
	uint64_t addr;
	uint32_t len;
	uint8_t desc[VIRTQ_DESC_SIZE];
	bool writable = false;
	unsigned int n = 0;

	if (q >= d->nqueues || !vq->ready || d->broken)
		return 0;
	avail_idx = load16(mem + vq->avail + 2);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
		virtio_set_broken(d, "queue %u: avail index %u is more than %u entries ahead of %u",
				  q, avail_idx, vq->num, vq->last_avail);
		return -1;
	}
	/* The ring entry and the descriptors after the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = load16(mem + vq->avail + 4 + 2 * (vq->last_avail % vq->num));
	if (head >= vq->num) {
		virtio_set_broken(d, "queue %u: head %u is not below the queue size %u",
				  q, head, vq->num);
		return -1;
	}

	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	for (idx = head;; idx = next) {
		memcpy(desc, mem + vq->desc + VIRTQ_DESC_SIZE * idx,
		       sizeof(desc));
		memcpy(&addr, desc, 8);
		memcpy(&len, desc + 8, 4);
		memcpy(&flags, desc + 12, 2);
		memcpy(&next, desc + 14, 2);
		addr = le64toh(addr);
		len = le32toh(len);
		flags = le16toh(flags);
		next = le16toh(next);

		if (flags & VIRTQ_DESC_F_INDIRECT) {
			virtio_set_broken(d, "queue %u: indirect descriptor %u (not offered)",
					  q, idx);
			return -1;
		}
		if (!ram_ok(d, addr, len)) {
			virtio_set_broken(d, "queue %u: descriptor %u (0x%llx+0x%x) is outside guest RAM",
					  q, idx, (unsigned long long)addr,
					  len);
			return -1;
		}
		if (flags & VIRTQ_DESC_F_WRITE) {
			writable = true;
			c->nin++;
			c->in_len += len;
		} else if (writable) {
			virtio_set_broken(d, "queue %u: device-readable descriptor %u after a writable one",
					  q, idx);
			return -1;
		} else {
			c->nout++;
			c->out_len += len;
		}
		c->seg[n].p = mem + addr;
		c->seg[n].len = len;
		n++;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		if (next >= vq->num) {
			virtio_set_broken(d, "queue %u: descriptor %u: next %u is not below the queue size %u",
					  q, idx, next, vq->num);
			return -1;
		}
		/* No chain is longer than the table: a longer one loops. */
		if (n == vq->num) {
			virtio_set_broken(d, "queue %u: descriptor chain from %u loops",
					  q, head);
			return -1;
		}
	}
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtio_dev *d, unsigned int q)
{
	d->vq[q].last_avail--;
}

void virtq_push(struct virtio_dev *d, unsigned int q, uint16_t head,
		uint32_t written)
{
	struct virtq *vq = &d->vq[q];
	uint8_t *used = d->host.mem + vq->used;
	uint8_t *e;
	uint32_t v;

	if (!vq->ready)
		return;
	e = used + 4 + VIRTQ_USED_ELEM_SIZE * (vq->used_idx % vq->num);
	v = htole32(head);
	memcpy(e, &v, 4);
	v = htole32(written);
	memcpy(e + 4, &v, 4);
	vq->used_idx++;
	/* The element and the buffer contents before the index. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store16(used + 2, vq->used_idx);
}

void virtq_interrupt(struct virtio_dev *d, unsigned int q)
{
	struct virtq *vq = &d->vq[q];

	if (!vq->ready)
		return;
	/* used->idx is visible before we look at the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load16(d->host.mem + vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT)
		return;
	d->isr |= VIRTIO_INT_VRING;
	update_irq(d);
}

size_t virtio_chain_read(const struct virtio_chain *c, uint64_t off,
			 void *dst, size_t len)
{
	uint8_t *out = dst;
	size_t done = 0, k;
	unsigned int i;

	for (i = 0; i < c->nout && done < len; i++) {
		const struct virtio_seg *s = &c->seg[i];

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		k = s->len - off;
		if (k > len - done)
			k = len - done;
		memcpy(out + done, s->p + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t virtio_chain_write(const struct virtio_chain *c, uint64_t off,
			  const void *src, size_t len)
{
	const uint8_t *in = src;
	size_t done = 0, k;
	unsigned int i;

	for (i = c->nout; i < c->nout + c->nin && done < len; i++) {
		const struct virtio_seg *s = &c->seg[i];

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		k = s->len - off;
		if (k > len - done)
			k = len - done;
		memcpy(s->p + off, in + done, k);
		done += k;
		off = 0;
	}
	return done;
}

/* Where the devices sit; see virtio.h. */
unsigned int virtio_acpi_devices(const struct config *cfg,
				 struct acpi_mmio_dev *devs, unsigned int max)
{
	unsigned int n = 0, want = 0, i;

	if (cfg->disk)
		want++;
	if (cfg->tap[0])
		want++;
	for (i = 0; i < want && n < max; i++, n++) {
		devs[n].base = (uint32_t)(LAYOUT_VIRTIO +
					  i * LAYOUT_VIRTIO_STRIDE);
		devs[n].size = (uint32_t)LAYOUT_VIRTIO_SIZE;
		devs[n].gsi = IRQ_VIRTIO + i;
	}
	return n;
}
