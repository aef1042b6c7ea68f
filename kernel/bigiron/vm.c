// SPDX-License-Identifier: GPL-2.0
/*
 * VM objects.
 *
 * Lifetime: a VM is created by BIGIRON_VM_CREATE with one reference for the
 * /dev/bigiron file that created it; the guest-memory file takes a second
 * one, which its mappings keep through the file.  The last bigiron_vm_put()
 * unpublishes the VM (sysfs and debugfs, whose removal waits for running
 * readers), frees the guest RAM and the id, and drops the kobject, whose
 * release frees the memory.  Teardown may sleep: every put happens in
 * process context (file release or an ioctl's error path).
 */

#include <linux/err.h>
#include <linux/idr.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/slab.h>

#include "bigiron.h"

static DEFINE_IDA(bigiron_vm_ida);

static void bigiron_vm_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct bigiron_vm, kobj));
}

static const struct kobj_type bigiron_vm_ktype = {
	.release	= bigiron_vm_kobj_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= bigiron_vm_groups,
};

/**
 * bigiron_vm_create - create a VM with @mem_size bytes of zeroed guest RAM
 * @mem_size: guest RAM bytes, already checked by the caller
 *
 * Return: the VM with one reference, published in sysfs and debugfs, or an
 * ERR_PTR().
 */
struct bigiron_vm *bigiron_vm_create(u64 mem_size)
{
	struct bigiron_vm *vm;
	int id, err;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	/* From here on, kobject_put() frees vm. */
	kobject_init(&vm->kobj, &bigiron_vm_ktype);
	kref_init(&vm->ref);
	vm->mem_size = mem_size;
	atomic64_set(&vm->read_faults, 0);
	atomic64_set(&vm->write_upgrades, 0);

	id = ida_alloc(&bigiron_vm_ida, GFP_KERNEL);
	if (id < 0) {
		err = id;
		goto err_kobj;
	}
	vm->id = id;

	err = bigiron_mem_init(vm);
	if (err)
		goto err_id;

	err = bigiron_stats_add_vm(vm);
	if (err)
		goto err_mem;

	return vm;

err_mem:
	bigiron_mem_destroy(vm);
err_id:
	ida_free(&bigiron_vm_ida, vm->id);
err_kobj:
	kobject_put(&vm->kobj);
	return ERR_PTR(err);
}

struct bigiron_vm *bigiron_vm_get(struct bigiron_vm *vm)
{
	kref_get(&vm->ref);
	return vm;
}

static void bigiron_vm_release(struct kref *ref)
{
	struct bigiron_vm *vm = container_of(ref, struct bigiron_vm, ref);

	bigiron_cluster_destroy(vm);
	bigiron_stats_del_vm(vm);
	bigiron_mem_destroy(vm);
	ida_free(&bigiron_vm_ida, vm->id);
	kobject_put(&vm->kobj);
}

void bigiron_vm_put(struct bigiron_vm *vm)
{
	might_sleep();
	kref_put(&vm->ref, bigiron_vm_release);
}
