/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: virtio-net (device id 1) over a packet file descriptor
 * (a tap opened with IFF_TAP | IFF_NO_PI: one read or write, one frame).
 *
 * No offloads and no mergeable receive buffers: every buffer starts with
 * the 12-byte virtio_net_hdr of VIRTIO_F_VERSION_1. Queue 0 receives,
 * queue 1 transmits. Transmission happens in the QueueNotify handler; a
 * thread reads the fd and fills receive buffers.
 */
#ifndef BIGIRON_VIRTIO_NET_H
#define BIGIRON_VIRTIO_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio_mmio.h"

#define VIRTIO_ID_NET		1

#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

#define VIRTIO_NET_RXQ		0
#define VIRTIO_NET_TXQ		1
#define VIRTIO_NET_HDR_LEN	12	/* with num_buffers */
#define VIRTIO_NET_FRAME_MAX	(65535 + 18)	/* MTU 65535, VLAN */

/* Config space offsets */
#define VIRTIO_NET_CFG_MAC	0	/* 6 bytes */
#define VIRTIO_NET_CFG_STATUS	6	/* le16 */
#define VIRTIO_NET_CFG_LEN	8

/* Receive: how long a frame waits for a buffer before it is dropped. */
#define VIRTIO_NET_RX_POLL_MS	100	/* the longest wait */
#define VIRTIO_NET_RX_HOLD_MS	1000

struct virtio_net {
	struct virtio_dev dev;	/* first: the ops get a virtio_dev */
	int fd;
	/*
	 * Signalled with dev.lock held when the driver adds receive
	 * buffers, resets the device, or the thread must stop.
	 */
	pthread_cond_t rx_cond;
	atomic_bool stop;
	bool rx_started;
	pthread_t rx_thread;
	/* Statistics, under dev.lock */
	unsigned long tx, rx, rx_dropped, tx_dropped;
	struct iovec tx_iov[VIRTIO_QUEUE_NUM_MAX];	/* under dev.lock */
	uint8_t rx_frame[VIRTIO_NET_FRAME_MAX];	/* the rx thread's */
};

/* Returns 0, or -1. The caller keeps @fd open until destroy. */
int virtio_net_init(struct virtio_net *n, int fd, const uint8_t mac[6],
		    const struct virtio_host *host, unsigned int gsi);
/* Start the receive thread: 0, or -1 (reported). */
int virtio_net_start(struct virtio_net *n);
/* Stop and join the receive thread, if it runs; within about 100 ms. */
void virtio_net_stop(struct virtio_net *n);
void virtio_net_destroy(struct virtio_net *n);

/*
 * Hand the guest one frame: 1 if it went into a receive buffer, 0 if
 * there is no buffer now (try again later), -1 if it was dropped (the
 * driver is not running, or the frame is larger than the buffer).
 */
int virtio_net_rx(struct virtio_net *n, const uint8_t *frame, size_t len);

/* "virtio-net: tx=N rx=N rx_dropped=N tx_dropped=N" through log_info. */
void virtio_net_print_stats(struct virtio_net *n);

#endif
