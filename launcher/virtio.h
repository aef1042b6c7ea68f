/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: virtio devices of the I/O node (virtio-mmio transport,
 * virtio-blk, virtio-net).
 */
#ifndef BIGIRON_VIRTIO_H
#define BIGIRON_VIRTIO_H

struct vm;

/*
 * On the I/O node: create the devices vm.conf asks for, register their
 * MMIO windows on vm->mmio and their threads. 0, or -1 (reported).
 */
int virtio_setup(struct vm *vm);
/* Stop the devices' threads and free them; safe after a failed setup. */
void virtio_teardown(struct vm *vm);

#endif
