// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/bigiron: the control device.  Each open file may create one VM; the
 * VM_CREATE ioctl hands back a descriptor for the VM's guest-memory file.
 *
 * Locking: bigiron_dev_file.lock serialises VM creation on one open file and
 * publishes bigiron_dev_file.vm.  It is the outermost bigiron lock; no other
 * bigiron lock is held while taking it.
 */

#include <linux/compat.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lockdep.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "bigiron.h"

static unsigned long max_mem_mb;
module_param(max_mem_mb, ulong, 0644);
MODULE_PARM_DESC(max_mem_mb,
		 "Largest guest RAM one VM may have on this host, in MiB (0 or unset: all RAM of this host)");

/* State of one open file of /dev/bigiron. */
struct bigiron_dev_file {
	struct mutex lock;	/* serialises VM creation; protects @vm */
	struct bigiron_vm *vm;	/* created by this file, holds a reference */
};

static u64 bigiron_dev_max_mem_mb(void)
{
	unsigned long mb = READ_ONCE(max_mem_mb);

	if (!mb)
		mb = totalram_pages() >> (20 - PAGE_SHIFT);
	return mb;
}

static int bigiron_dev_check_create(const struct bigiron_vm_create *arg)
{
	if (arg->size != sizeof(*arg))
		return -EINVAL;
	if (arg->flags & ~BIGIRON_VM_CREATE_FLAGS)
		return -EINVAL;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!arg->mem_size || !IS_ALIGNED(arg->mem_size, PAGE_SIZE))
		return -EINVAL;
	if (arg->mem_size > BIGIRON_MAX_MEM_SIZE)
		return -EINVAL;
	if (DIV_ROUND_UP(arg->mem_size, SZ_1M) > bigiron_dev_max_mem_mb())
		return -EINVAL;
	return 0;
}

static int bigiron_dev_get_version(void __user *uarg)
{
	struct bigiron_version ver = {
		.abi_version = BIGIRON_ABI_VERSION,
	};

	if (copy_to_user(uarg, &ver, sizeof(ver)))
		return -EFAULT;
	return 0;
}

static int bigiron_dev_vm_create(struct bigiron_dev_file *df, void __user *uarg)
{
	struct bigiron_vm_create arg;
	struct bigiron_vm *vm;
	struct file *file;
	int fd, err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = bigiron_dev_check_create(&arg);
	if (err)
		return err;

	mutex_lock(&df->lock);
	if (df->vm) {
		err = -EEXIST;
		goto out_unlock;
	}

	vm = bigiron_vm_create(arg.mem_size);
	if (IS_ERR(vm)) {
		err = PTR_ERR(vm);
		goto out_unlock;
	}

	file = bigiron_mem_open(vm);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_vm;
	}

	fd = get_unused_fd_flags(arg.flags & BIGIRON_VM_CREATE_CLOEXEC ?
				 O_CLOEXEC : 0);
	if (fd < 0) {
		err = fd;
		goto err_file;
	}

	arg.mem_fd = fd;
	arg.vm_id = vm->id;
	if (copy_to_user(uarg, &arg, sizeof(arg))) {
		err = -EFAULT;
		goto err_fd;
	}

	/* Nothing can fail from here on: the descriptor becomes visible. */
	fd_install(fd, file);
	df->vm = vm;
	mutex_unlock(&df->lock);
	return 0;

err_fd:
	put_unused_fd(fd);
err_file:
	fput(file);
err_vm:
	bigiron_vm_put(vm);
out_unlock:
	mutex_unlock(&df->lock);
	return err;
}

static int bigiron_dev_vm_get_stats_locked(struct bigiron_dev_file *df,
					   struct bigiron_vm_stats *st)
{
	lockdep_assert_held(&df->lock);

	if (!df->vm)
		return -ENXIO;
	bigiron_stats_read(df->vm, st);
	return 0;
}

static int bigiron_dev_vm_get_stats(struct bigiron_dev_file *df,
				    void __user *uarg)
{
	struct bigiron_vm_stats st;
	int err;

	if (copy_from_user(&st, uarg, sizeof(st)))
		return -EFAULT;
	if (st.size != sizeof(st) || st.flags)
		return -EINVAL;
	if (memchr_inv(st.reserved, 0, sizeof(st.reserved)))
		return -EINVAL;

	mutex_lock(&df->lock);
	err = bigiron_dev_vm_get_stats_locked(df, &st);
	mutex_unlock(&df->lock);
	if (err)
		return err;

	if (copy_to_user(uarg, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static int bigiron_dev_vm_set_cluster(struct bigiron_dev_file *df,
				      const void __user *uarg)
{
	int err;

	mutex_lock(&df->lock);
	err = df->vm ? bigiron_cluster_set(df->vm, uarg) : -ENXIO;
	mutex_unlock(&df->lock);
	return err;
}

/* A reference on the file's VM, for ioctls that wait without df->lock. */
static struct bigiron_vm *bigiron_dev_get_vm(struct bigiron_dev_file *df)
{
	struct bigiron_vm *vm;

	mutex_lock(&df->lock);
	vm = df->vm ? bigiron_vm_get(df->vm) : NULL;
	mutex_unlock(&df->lock);
	return vm;
}

/*
 * An ioctl on the file's VM that may wait: it runs with a reference on the
 * VM and without df->lock.
 */
static int bigiron_dev_vm_call(struct bigiron_dev_file *df, void __user *uarg,
			       int (*fn)(struct bigiron_vm *, void __user *))
{
	struct bigiron_vm *vm = bigiron_dev_get_vm(df);
	int err;

	if (!vm)
		return -ENXIO;
	err = fn(vm, uarg);
	bigiron_vm_put(vm);
	return err;
}

static long bigiron_dev_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct bigiron_dev_file *df = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case BIGIRON_GET_VERSION:
		return bigiron_dev_get_version(uarg);
	case BIGIRON_VM_CREATE:
		return bigiron_dev_vm_create(df, uarg);
	case BIGIRON_VM_GET_STATS:
		return bigiron_dev_vm_get_stats(df, uarg);
	case BIGIRON_VM_SET_CLUSTER:
		return bigiron_dev_vm_set_cluster(df, uarg);
	case BIGIRON_VM_JOIN:
		return bigiron_dev_vm_call(df, uarg, bigiron_cluster_join);
	case BIGIRON_VM_PING:
		return bigiron_dev_vm_call(df, uarg, bigiron_cluster_ping);
	case BIGIRON_VM_SET_KVM:
		return bigiron_dev_vm_call(df, uarg, bigiron_ssi_set_kvm);
	case BIGIRON_VM_SEND:
		return bigiron_dev_vm_call(df, uarg, bigiron_ssi_send);
	case BIGIRON_VM_RECV:
		return bigiron_dev_vm_call(df, uarg, bigiron_ssi_recv_ioctl);
	default:
		return -ENOTTY;
	}
}

static int bigiron_dev_open(struct inode *inode, struct file *file)
{
	struct bigiron_dev_file *df;

	df = kzalloc(sizeof(*df), GFP_KERNEL);
	if (!df)
		return -ENOMEM;
	mutex_init(&df->lock);

	/* Replaces the miscdevice pointer that misc_open() left here. */
	file->private_data = df;
	return 0;
}

static int bigiron_dev_release(struct inode *inode, struct file *file)
{
	struct bigiron_dev_file *df = file->private_data;

	if (df->vm)
		bigiron_vm_put(df->vm);
	mutex_destroy(&df->lock);
	kfree(df);
	return 0;
}

/*
 * .owner makes every open file pin the module, so it cannot be unloaded
 * while a VM can still be reached.
 */
static const struct file_operations bigiron_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= bigiron_dev_open,
	.release	= bigiron_dev_release,
	.unlocked_ioctl	= bigiron_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice bigiron_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "bigiron",
	.fops	= &bigiron_dev_fops,
	.mode	= 0600,
};

int bigiron_dev_init(void)
{
	if (!max_mem_mb)
		max_mem_mb = bigiron_dev_max_mem_mb();

	return misc_register(&bigiron_miscdev);
}

void bigiron_dev_exit(void)
{
	misc_deregister(&bigiron_miscdev);
}
