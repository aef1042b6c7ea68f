/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: virtio-blk (device id 2) over a file descriptor.
 *
 * One request queue; requests are served synchronously, in the
 * QueueNotify handler, with pread/pwrite/fdatasync on the image.
 */
#ifndef BIGIRON_VIRTIO_BLK_H
#define BIGIRON_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define VIRTIO_ID_BLOCK		2

#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_SECTOR	512
#define VIRTIO_BLK_ID_BYTES	20
#define VIRTIO_BLK_SERIAL	"bigiron-disk0"
/* Data segments per request: the queue less header and status. */
#define VIRTIO_BLK_SEG_MAX	(VIRTIO_QUEUE_NUM_MAX - 2)

/* Config space offsets */
#define VIRTIO_BLK_CFG_CAPACITY	0	/* le64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SEG_MAX	12	/* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE	20	/* le32 */
#define VIRTIO_BLK_CFG_LEN	24

struct virtio_blk {
	struct virtio_dev dev;	/* first: the ops get a virtio_dev */
	int fd;
	uint64_t size;		/* bytes, a multiple of 512 */
	bool readonly;
	/* Statistics, under dev.lock */
	unsigned long reads, writes, flushes, errors;
};

/*
 * A disk of @size bytes (a multiple of 512) on @fd, which the caller
 * keeps open until virtio_blk_destroy(). Returns 0, or -1.
 */
int virtio_blk_init(struct virtio_blk *b, int fd, uint64_t size,
		    bool readonly, const struct virtio_host *host,
		    unsigned int gsi);
void virtio_blk_destroy(struct virtio_blk *b);
/* "virtio-blk: reads=N writes=N flushes=N errors=N" through log_info. */
void virtio_blk_print_stats(struct virtio_blk *b);

#endif
