// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: virtio devices (placeholder until the devices land).
 */
#include "virtio.h"
#include "vm.h"

int virtio_setup(struct vm *vm)
{
	(void)vm;
	return 0;
}

void virtio_teardown(struct vm *vm)
{
	(void)vm;
}
