// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: the I/O node's virtio devices.
 *
 * Opens what vm.conf names (the disk image, the tap interface), creates
 * the devices of virtio_blk.c and virtio_net.c on guest RAM, registers
 * their windows on vm->mmio in the slots virtio_acpi_devices() gives the
 * DSDT, and starts the network receive thread. Teardown, after the vCPUs
 * are joined, stops that thread, prints the statistics and closes all.
 *
 * Locking: none here; setup and teardown run on the main thread while no
 * vCPU runs. Each device has its own lock (virtio_mmio.c); interrupts go
 * to ioapic_set_irq(), which is thread-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/if_tun.h>

#include "acpi.h"
#include "log.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_net.h"
#include "vm.h"

struct vm_virtio {
	struct virtio_blk *blk;		/* NULL: none, or not set up */
	int disk_fd;
	struct virtio_net *net;		/* NULL: no tap, or not set up */
	int tap_fd;
};

static void virtio_irq(void *opaque, unsigned int gsi, bool level)
{
	struct vm *vm = opaque;

	ioapic_set_irq(&vm->ioapic, gsi, level);
}

/* The disk image: a regular file or block device of whole sectors. */
static int open_disk(const struct config *cfg, int *fdp, uint64_t *sizep)
{
	const char *path = cfg->disk;
	struct stat st;
	off_t end;
	int fd;

	fd = open(path, (cfg->disk_readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		log_error("disk %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		log_error("disk %s: %s", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		log_error("disk %s: not a regular file or a block device",
			  path);
		goto err;
	}
	/* Block devices report their size only this way. */
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		log_error("disk %s: %s", path, strerror(errno));
		goto err;
	}
	if (end == 0 || end % VIRTIO_BLK_SECTOR) {
		log_error("disk %s: its size, %lld bytes, is not a positive multiple of %d",
			  path, (long long)end, VIRTIO_BLK_SECTOR);
		goto err;
	}
	/* Two VMs writing one image corrupt it: shared only if read-only. */
	if (flock(fd, (cfg->disk_readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		log_error("disk %s: %s", path, errno == EWOULDBLOCK ?
			  "in use by another process (it holds a lock on it)" :
			  strerror(errno));
		goto err;
	}
	*fdp = fd;
	*sizep = (uint64_t)end;
	return 0;

err:
	close(fd);
	return -1;
}

/* Attach to tap interface @name (the kernel creates it if it may). */
static int open_tap(const char *name)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		log_error("tap %s: /dev/net/tun: %s", name, strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	/* config.c allows at most IFNAMSIZ - 1 characters. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		log_error("tap %s: cannot attach: %s (is it a tap interface this user may use? ip tuntap add %s mode tap user USER)",
			  name, strerror(errno), name);
		close(fd);
		return -1;
	}
	return fd;
}

static int setup_blk(struct vm *vm, struct vm_virtio *v,
		     const struct virtio_host *host,
		     const struct acpi_mmio_dev *slot)
{
	const struct config *cfg = vm->cfg;
	struct virtio_blk *b;
	uint64_t size;

	if (open_disk(cfg, &v->disk_fd, &size))
		return -1;
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("virtio-blk: out of memory");
		return -1;
	}
	if (virtio_blk_init(b, v->disk_fd, size, cfg->disk_readonly, host,
			    slot->gsi)) {
		log_error("virtio-blk: cannot initialise");
		free(b);
		return -1;
	}
	v->blk = b;
	if (io_register(&vm->mmio, slot->base, slot->size, virtio_mmio_access,
			&b->dev, "virtio-blk"))
		return -1;
	log_debug("virtio-blk: %s, %llu sectors%s, at 0x%x, GSI %u",
		  cfg->disk, (unsigned long long)(size / VIRTIO_BLK_SECTOR),
		  cfg->disk_readonly ? ", read-only" : "", slot->base,
		  slot->gsi);
	return 0;
}

static int setup_net(struct vm *vm, struct vm_virtio *v,
		     const struct virtio_host *host,
		     const struct acpi_mmio_dev *slot)
{
	const struct config *cfg = vm->cfg;
	struct virtio_net *n;

	v->tap_fd = open_tap(cfg->tap);
	if (v->tap_fd < 0)
		return -1;
	n = calloc(1, sizeof(*n));
	if (!n) {
		log_error("virtio-net: out of memory");
		return -1;
	}
	if (virtio_net_init(n, v->tap_fd, cfg->net_mac, host, slot->gsi)) {
		log_error("virtio-net: cannot initialise");
		free(n);
		return -1;
	}
	v->net = n;
	if (io_register(&vm->mmio, slot->base, slot->size, virtio_mmio_access,
			&n->dev, "virtio-net") ||
	    virtio_net_start(n))
		return -1;
	log_debug("virtio-net: tap %s, at 0x%x, GSI %u", cfg->tap,
		  slot->base, slot->gsi);
	return 0;
}

int virtio_setup(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	struct acpi_mmio_dev slots[VIRTIO_DEVS_MAX];
	struct virtio_host host = {
		.mem = vm->mem,
		.mem_size = vm->mem_size,
		.set_irq = virtio_irq,
		.irq_opaque = vm,
	};
	struct vm_virtio *v;
	unsigned int i = 0;

	if (!virtio_acpi_devices(cfg, slots, VIRTIO_DEVS_MAX))
		return 0;
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_error("virtio: out of memory");
		return -1;
	}
	v->disk_fd = v->tap_fd = -1;
	vm->virtio = v;
	/* The order of virtio_acpi_devices(): disk, then network. */
	if (cfg->disk && setup_blk(vm, v, &host, &slots[i++]))
		return -1;
	if (cfg->tap[0] && setup_net(vm, v, &host, &slots[i++]))
		return -1;
	return 0;
}

void virtio_teardown(struct vm *vm)
{
	struct vm_virtio *v = vm->virtio;

	if (!v)
		return;
	if (v->net)
		virtio_net_stop(v->net);
	if (v->blk) {
		virtio_blk_print_stats(v->blk);
		virtio_blk_destroy(v->blk);
		free(v->blk);
	}
	if (v->net) {
		virtio_net_print_stats(v->net);
		virtio_net_destroy(v->net);
		free(v->net);
	}
	if (v->tap_fd >= 0)
		close(v->tap_fd);
	if (v->disk_fd >= 0)
		close(v->disk_fd);
	free(v);
	vm->virtio = NULL;
}
