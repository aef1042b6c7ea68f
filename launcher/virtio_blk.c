// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: virtio-blk.
 *
 * A request is a chain: a 16-byte header (type, reserved, sector) in the
 * device-readable part, then the data (readable for OUT, writable for IN
 * and GET_ID), and a status byte, the last writable byte. The header is
 * copied out once; sector ranges are checked against the disk size before
 * any I/O. Data moves straight between the image and guest RAM.
 *
 * Locking: requests are served in the QueueNotify handler with dev.lock
 * held (see virtio_mmio.c), which also protects the statistics. The disk
 * has no thread of its own; a slow image stalls the vCPU that notified
 * and any other access to this device, not the rest of the VM.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "virtio_blk.h"

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

#define BLK_HDR_LEN	16

static struct virtio_blk *to_blk(struct virtio_dev *d)
{
	return (struct virtio_blk *)d;
}

/* All of @len bytes at @off, whatever EINTR and short transfers say. */
static int io_full(int fd, uint8_t *p, size_t len, uint64_t off, bool write)
{
	ssize_t r;

	while (len) {
		if (write)
			r = pwrite(fd, p, len, (off_t)off);
		else
			r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_ratelimited("virtio-blk: %s at offset %llu: %s",
					write ? "write" : "read",
					(unsigned long long)off,
					r < 0 ? strerror(errno) :
					"unexpected end of file");
			return -1;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * Move @len bytes between the image at @off and the chain: from its
 * readable part after @skip bytes (write), or into its writable part
 * (read).
 */
static int blk_io(struct virtio_blk *b, const struct virtio_chain *c,
		  bool write, uint64_t skip, uint64_t len, uint64_t off)
{
	unsigned int first = write ? 0 : c->nout;
	unsigned int end = write ? c->nout : c->nout + c->nin;
	unsigned int i;
	uint64_t k;

	for (i = first; i < end && len; i++) {
		const struct virtio_seg *s = &c->seg[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		k = s->len - skip;
		if (k > len)
			k = len;
		if (io_full(b->fd, s->p + skip, (size_t)k, off, write))
			return -1;
		skip = 0;
		off += k;
		len -= k;
	}
	return len ? -1 : 0;
}

/* @len bytes from @sector lie on the disk, in whole sectors. */
static bool range_ok(const struct virtio_blk *b, uint64_t sector,
		     uint64_t len)
{
	uint64_t sectors = b->size / VIRTIO_BLK_SECTOR;

	if (len % VIRTIO_BLK_SECTOR || sector > sectors)
		return false;
	return len <= b->size - sector * VIRTIO_BLK_SECTOR;
}

/* Serve one request; returns its status. */
static uint8_t blk_request(struct virtio_blk *b, const struct virtio_chain *c)
{
	char id[VIRTIO_BLK_ID_BYTES];
	struct blk_req_hdr h;
	uint64_t len, off;
	uint32_t type;

	if (virtio_chain_read(c, 0, &h, BLK_HDR_LEN) < BLK_HDR_LEN) {
		log_ratelimited("virtio-blk: request of %llu bytes has no header",
				(unsigned long long)c->out_len);
		return VIRTIO_BLK_S_IOERR;
	}
	type = le32toh(h.type);
	h.sector = le64toh(h.sector);
	off = h.sector * VIRTIO_BLK_SECTOR;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		b->reads++;
		len = c->in_len - 1;
		if (!range_ok(b, h.sector, len)) {
			log_ratelimited("virtio-blk: read of %llu bytes at sector %llu: beyond the disk",
					(unsigned long long)len,
					(unsigned long long)h.sector);
			return VIRTIO_BLK_S_IOERR;
		}
		if (blk_io(b, c, false, 0, len, off))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		b->writes++;
		len = c->out_len - BLK_HDR_LEN;
		if (b->readonly) {
			log_ratelimited("virtio-blk: write to a read-only disk");
			return VIRTIO_BLK_S_IOERR;
		}
		if (!range_ok(b, h.sector, len)) {
			log_ratelimited("virtio-blk: write of %llu bytes at sector %llu: beyond the disk",
					(unsigned long long)len,
					(unsigned long long)h.sector);
			return VIRTIO_BLK_S_IOERR;
		}
		if (blk_io(b, c, true, BLK_HDR_LEN, len, off))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		b->flushes++;
		if (!b->readonly && fdatasync(b->fd) < 0) {
			log_ratelimited("virtio-blk: flush: %s",
					strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		/* Up to 20 bytes, NUL-padded, not NUL-terminated if 20. */
		memset(id, 0, sizeof(id));
		memcpy(id, VIRTIO_BLK_SERIAL, sizeof(VIRTIO_BLK_SERIAL) - 1);
		len = c->in_len - 1;
		virtio_chain_write(c, 0, id,
				   len < sizeof(id) ? (size_t)len : sizeof(id));
		return VIRTIO_BLK_S_OK;
	default:
		log_ratelimited("virtio-blk: request type %u not supported",
				type);
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_blk *b = to_blk(d);
	struct virtio_chain *c = &d->chain;
	bool pushed = false;
	uint8_t status;

	while (virtq_pop(d, q, c) > 0) {
		if (!c->in_len) {
			virtio_set_broken(d, "queue %u: request %u has no status byte",
					  q, c->head);
			break;
		}
		status = blk_request(b, c);
		if (status != VIRTIO_BLK_S_OK)
			b->errors++;
		virtio_chain_write(c, c->in_len - 1, &status, 1);
		/* Everything writable counts: data (IN, GET_ID) and status. */
		virtq_push(d, q, c->head,
			   c->in_len > UINT32_MAX ? UINT32_MAX :
			   (uint32_t)c->in_len);
		pushed = true;
	}
	if (pushed)
		virtq_interrupt(d, q);
}

static const struct virtio_dev_ops blk_ops = {
	.notify = blk_notify,
};

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

int virtio_blk_init(struct virtio_blk *b, int fd, uint64_t size,
		    bool readonly, const struct virtio_host *host,
		    unsigned int gsi)
{
	uint64_t features = 1ULL << VIRTIO_BLK_F_SEG_MAX |
			    1ULL << VIRTIO_BLK_F_BLK_SIZE;

	/* A read-only disk has nothing to flush. */
	if (readonly)
		features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		features |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (virtio_dev_init(&b->dev, "virtio-blk", VIRTIO_ID_BLOCK, features,
			    1, &blk_ops, host, gsi))
		return -1;
	b->fd = fd;
	b->size = size;
	b->readonly = readonly;
	b->reads = b->writes = b->flushes = b->errors = 0;
	put_le64(b->dev.config + VIRTIO_BLK_CFG_CAPACITY,
		 size / VIRTIO_BLK_SECTOR);
	put_le32(b->dev.config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
	put_le32(b->dev.config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
	b->dev.config_len = VIRTIO_BLK_CFG_LEN;
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	virtio_dev_destroy(&b->dev);
}

void virtio_blk_print_stats(struct virtio_blk *b)
{
	pthread_mutex_lock(&b->dev.lock);
	log_info("virtio-blk: reads=%lu writes=%lu flushes=%lu errors=%lu",
		 b->reads, b->writes, b->flushes, b->errors);
	pthread_mutex_unlock(&b->dev.lock);
}
