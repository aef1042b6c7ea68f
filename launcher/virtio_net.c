// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: virtio-net.
 *
 * Transmit: on a notify of queue 1, each chain is one frame behind a
 * virtio_net_hdr; the frame goes to the fd with one writev() straight
 * from guest RAM. A frame the fd refuses is dropped and counted.
 *
 * Receive: the rx thread polls the fd (at most VIRTIO_NET_RX_POLL_MS at a
 * time, so it sees the stop flag), reads one frame and copies it, behind
 * a zeroed header, into the next receive buffer. With no buffer free it
 * holds the frame and waits on rx_cond, which a notify of queue 0
 * signals, for at most VIRTIO_NET_RX_HOLD_MS in all before it drops it.
 * Frames that come while the driver is not running are dropped.
 *
 * Locking: dev.lock (see virtio_mmio.c) protects the queues, tx_iov and
 * the statistics; the rx thread takes it to fill a buffer and waits on
 * rx_cond with it. rx_frame belongs to the rx thread alone; stop is
 * atomic.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "virtio_net.h"

static struct virtio_net *to_net(struct virtio_dev *d)
{
	return (struct virtio_net *)d;
}

/* One frame from chain @c to the fd. */
static void tx_one(struct virtio_net *n, const struct virtio_chain *c)
{
	uint64_t skip = VIRTIO_NET_HDR_LEN;
	unsigned int i, k = 0;
	ssize_t r;

	if (c->out_len <= VIRTIO_NET_HDR_LEN ||
	    c->out_len - VIRTIO_NET_HDR_LEN > VIRTIO_NET_FRAME_MAX) {
		log_ratelimited("virtio-net: transmit buffer of %llu bytes dropped",
				(unsigned long long)c->out_len);
		n->tx_dropped++;
		return;
	}
	for (i = 0; i < c->nout; i++) {
		const struct virtio_seg *s = &c->seg[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n->tx_iov[k].iov_base = s->p + skip;
		n->tx_iov[k].iov_len = s->len - skip;
		k++;
		skip = 0;
	}
	do {
		r = writev(n->fd, n->tx_iov, (int)k);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		log_ratelimited("virtio-net: transmit: %s", strerror(errno));
		n->tx_dropped++;
		return;
	}
	n->tx++;
}

static void net_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_net *n = to_net(d);
	struct virtio_chain *c = &d->chain;
	bool pushed = false;

	if (q == VIRTIO_NET_RXQ) {
		pthread_cond_broadcast(&n->rx_cond);
		return;
	}
	while (virtq_pop(d, q, c) > 0) {
		tx_one(n, c);
		virtq_push(d, q, c->head, 0);
		pushed = true;
	}
	if (pushed)
		virtq_interrupt(d, q);
}

static void net_reset(struct virtio_dev *d)
{
	/* A held frame is dropped at once. */
	pthread_cond_broadcast(&to_net(d)->rx_cond);
}

static const struct virtio_dev_ops net_ops = {
	.notify = net_notify,
	.reset = net_reset,
};

/* virtio_net_rx() with dev.lock held. */
static int rx_locked(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	struct virtio_dev *d = &n->dev;
	struct virtio_chain *c = &d->chain;
	uint8_t hdr[VIRTIO_NET_HDR_LEN];
	uint16_t one = htole16(1);
	int r;

	if (!virtio_dev_live(d) || !d->vq[VIRTIO_NET_RXQ].ready) {
		n->rx_dropped++;
		return -1;
	}
	r = virtq_pop(d, VIRTIO_NET_RXQ, c);
	if (r < 0) {
		n->rx_dropped++;
		return -1;
	}
	if (r == 0)
		return 0;
	if (c->in_len < VIRTIO_NET_HDR_LEN + (uint64_t)len) {
		/* Leave the buffer to a frame that fits. */
		virtq_unpop(d, VIRTIO_NET_RXQ);
		log_ratelimited("virtio-net: %zu-byte frame dropped: receive buffer holds %llu",
				len, (unsigned long long)c->in_len);
		n->rx_dropped++;
		return -1;
	}
	/* No offloads: flags, gso_type and the rest zero; one buffer. */
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr + 10, &one, 2);
	virtio_chain_write(c, 0, hdr, sizeof(hdr));
	virtio_chain_write(c, sizeof(hdr), frame, len);
	virtq_push(d, VIRTIO_NET_RXQ, c->head,
		   (uint32_t)(sizeof(hdr) + len));
	virtq_interrupt(d, VIRTIO_NET_RXQ);
	n->rx++;
	return 1;
}

int virtio_net_rx(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	int r;

	pthread_mutex_lock(&n->dev.lock);
	r = rx_locked(n, frame, len);
	pthread_mutex_unlock(&n->dev.lock);
	return r;
}

static void ts_add_ms(struct timespec *ts, long ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Deliver rx_frame, waiting for a buffer up to VIRTIO_NET_RX_HOLD_MS. */
static void rx_deliver(struct virtio_net *n, size_t len)
{
	struct timespec now, until, wake;

	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	ts_add_ms(&until, VIRTIO_NET_RX_HOLD_MS);
	pthread_mutex_lock(&n->dev.lock);
	while (!rx_locked(n, n->rx_frame, len)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (atomic_load(&n->stop) || !ts_before(&now, &until)) {
			n->rx_dropped++;
			break;
		}
		wake = now;
		ts_add_ms(&wake, VIRTIO_NET_RX_POLL_MS);
		if (ts_before(&until, &wake))
			wake = until;
		pthread_cond_timedwait(&n->rx_cond, &n->dev.lock, &wake);
	}
	pthread_mutex_unlock(&n->dev.lock);
}

static void rx_pause(void)
{
	struct timespec ts = { 0, VIRTIO_NET_RX_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

static void *rx_thread(void *arg)
{
	struct virtio_net *n = arg;
	struct pollfd pfd = { .fd = n->fd, .events = POLLIN };
	ssize_t r;

	while (!atomic_load(&n->stop)) {
		r = poll(&pfd, 1, VIRTIO_NET_RX_POLL_MS);
		if (r <= 0)
			continue;		/* timeout or EINTR */
		r = read(n->fd, n->rx_frame, sizeof(n->rx_frame));
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			/* Not expected from a tap: do not spin on it. */
			log_ratelimited("virtio-net: receive: %s",
					r < 0 ? strerror(errno) :
					"end of file");
			rx_pause();
			continue;
		}
		rx_deliver(n, (size_t)r);
	}
	return NULL;
}

int virtio_net_init(struct virtio_net *n, int fd, const uint8_t mac[6],
		    const struct virtio_host *host, unsigned int gsi)
{
	uint64_t features = 1ULL << VIRTIO_NET_F_MAC |
			    1ULL << VIRTIO_NET_F_STATUS;
	pthread_condattr_t attr;
	uint16_t status = htole16(VIRTIO_NET_S_LINK_UP);

	if (virtio_dev_init(&n->dev, "virtio-net", VIRTIO_ID_NET, features,
			    2, &net_ops, host, gsi))
		return -1;
	if (pthread_condattr_init(&attr))
		goto err_dev;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&n->rx_cond, &attr)) {
		pthread_condattr_destroy(&attr);
		goto err_dev;
	}
	pthread_condattr_destroy(&attr);
	n->fd = fd;
	atomic_init(&n->stop, false);
	n->rx_started = false;
	n->tx = n->rx = n->rx_dropped = n->tx_dropped = 0;
	memcpy(n->dev.config + VIRTIO_NET_CFG_MAC, mac, 6);
	memcpy(n->dev.config + VIRTIO_NET_CFG_STATUS, &status, 2);
	n->dev.config_len = VIRTIO_NET_CFG_LEN;
	return 0;

err_dev:
	virtio_dev_destroy(&n->dev);
	return -1;
}

int virtio_net_start(struct virtio_net *n)
{
	int err;

	err = pthread_create(&n->rx_thread, NULL, rx_thread, n);
	if (err) {
		log_error("virtio-net: receive thread: %s", strerror(err));
		return -1;
	}
	n->rx_started = true;
	return 0;
}

void virtio_net_stop(struct virtio_net *n)
{
	if (!n->rx_started)
		return;
	atomic_store(&n->stop, true);
	pthread_mutex_lock(&n->dev.lock);
	pthread_cond_broadcast(&n->rx_cond);
	pthread_mutex_unlock(&n->dev.lock);
	pthread_join(n->rx_thread, NULL);
	n->rx_started = false;
}

void virtio_net_destroy(struct virtio_net *n)
{
	virtio_net_stop(n);
	pthread_cond_destroy(&n->rx_cond);
	virtio_dev_destroy(&n->dev);
}

void virtio_net_print_stats(struct virtio_net *n)
{
	pthread_mutex_lock(&n->dev.lock);
	log_info("virtio-net: tx=%lu rx=%lu rx_dropped=%lu tx_dropped=%lu",
		 n->tx, n->rx, n->rx_dropped, n->tx_dropped);
	pthread_mutex_unlock(&n->dev.lock);
}
