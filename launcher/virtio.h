/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: virtio devices of the I/O node (virtio-mmio transport,
 * virtio-blk, virtio-net).
 *
 * The guest finds them in the DSDT (_HID "LNRO0005"). Slot i holds the
 * i-th device vm.conf asks for, the disk first, then the network device:
 * registers at LAYOUT_VIRTIO + i * LAYOUT_VIRTIO_STRIDE, interrupt on
 * IOAPIC pin IRQ_VIRTIO + i (level, active high).
 */
#ifndef BIGIRON_VIRTIO_H
#define BIGIRON_VIRTIO_H

struct acpi_mmio_dev;
struct config;
struct vm;

#define VIRTIO_DEVS_MAX		2	/* disk, network */

/*
 * The devices @cfg asks for, in slot order, for the DSDT: fills @devs
 * (room for @max) and returns how many there are.
 */
unsigned int virtio_acpi_devices(const struct config *cfg,
				 struct acpi_mmio_dev *devs, unsigned int max);

/*
 * On the I/O node: create the devices vm.conf asks for, register their
 * MMIO windows on vm->mmio and their threads. 0, or -1 (reported).
 */
int virtio_setup(struct vm *vm);
/*
 * Stop the devices' threads, print their statistics and free them; safe
 * after a failed setup.
 */
void virtio_teardown(struct vm *vm);

#endif
