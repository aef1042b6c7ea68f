// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and controls of each VM, in sysfs and debugfs.
 *
 * sysfs is ABI, one read-only value per file, in decimal:
 *
 *   /sys/kernel/bigiron/vm<id>/read_faults     faults that brought a page
 *                                              into a mapping
 *   /sys/kernel/bigiron/vm<id>/write_upgrades  read-only pages made writable
 *   /sys/kernel/bigiron/vm<id>/resident_pages  guest pages held by this host
 *   /sys/kernel/bigiron/vm<id>/mem_size        guest RAM in bytes
 *
 * debugfs is for humans and tests and may change:
 *
 *   /sys/kernel/debug/bigiron/vm<id>/stats      "name value" lines
 *   /sys/kernel/debug/bigiron/vm<id>/unmap      write "all" or a page index:
 *       remove the page(s) from every mapping; the content stays in this
 *       host's page cache and the next access faults again
 *   /sys/kernel/debug/bigiron/vm<id>/wrprotect  write "all" or a page index:
 *       make the page(s) read-only in every mapping; the next write runs
 *       the write upgrade again
 *
 * A VM with a cluster has more (dsm.c): counters in sysfs vm<id>/, and in
 * debugfs vm<id>/coherence, vm<id>/fault_hist and the vm<id>/evict control
 * (give this node's copies of the page(s) back to their home).
 *
 * Lifetime: the vm<id> directories are removed in bigiron_stats_del_vm()
 * before the VM is freed.  Both kernfs and debugfs wait there for readers
 * and writers already inside a handler, and fail later calls on files that
 * are still open, so a handler never sees a freed VM.
 */

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kobject.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "bigiron.h"

static struct kset *bigiron_kset;
static struct dentry *bigiron_debugfs_root;

/**
 * bigiron_stats_read - fill the counters of @st from @vm
 * @vm: the VM
 * @st: ioctl argument; its size, flags and reserved fields are left alone
 */
void bigiron_stats_read(struct bigiron_vm *vm, struct bigiron_vm_stats *st)
{
	st->read_faults = atomic64_read(&vm->read_faults);
	st->write_upgrades = atomic64_read(&vm->write_upgrades);
	st->resident_pages = bigiron_mem_resident_pages(vm);
	st->mem_size = vm->mem_size;
}

static struct bigiron_vm *kobj_to_vm(struct kobject *kobj)
{
	return container_of(kobj, struct bigiron_vm, kobj);
}

static ssize_t read_faults_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic64_read(&kobj_to_vm(kobj)->read_faults));
}

static ssize_t write_upgrades_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (u64)atomic64_read(&kobj_to_vm(kobj)->write_upgrades));
}

static ssize_t resident_pages_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n",
			  bigiron_mem_resident_pages(kobj_to_vm(kobj)));
}

static ssize_t mem_size_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", kobj_to_vm(kobj)->mem_size);
}

static struct kobj_attribute read_faults_attr = __ATTR_RO(read_faults);
static struct kobj_attribute write_upgrades_attr = __ATTR_RO(write_upgrades);
static struct kobj_attribute resident_pages_attr = __ATTR_RO(resident_pages);
static struct kobj_attribute mem_size_attr = __ATTR_RO(mem_size);

static struct attribute *bigiron_vm_attrs[] = {
	&read_faults_attr.attr,
	&write_upgrades_attr.attr,
	&resident_pages_attr.attr,
	&mem_size_attr.attr,
	NULL
};

static const struct attribute_group bigiron_vm_group = {
	.attrs = bigiron_vm_attrs,
};

/* The default groups of every VM's kobject (see vm.c). */
const struct attribute_group *bigiron_vm_groups[] = {
	&bigiron_vm_group,
	NULL
};

static int bigiron_stats_show(struct seq_file *m, void *unused)
{
	struct bigiron_vm_stats st;

	bigiron_stats_read(m->private, &st);
	seq_printf(m, "read_faults %llu\n", st.read_faults);
	seq_printf(m, "write_upgrades %llu\n", st.write_upgrades);
	seq_printf(m, "resident_pages %llu\n", st.resident_pages);
	seq_printf(m, "mem_size %llu\n", st.mem_size);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bigiron_stats);

/* Parse "all" or one page index written to a control file. */
int bigiron_debugfs_parse_pages(struct bigiron_vm *vm,
				const char __user *ubuf, size_t count,
				pgoff_t *first, pgoff_t *nr)
{
	char buf[24];
	u64 index;
	int err;

	if (!count || count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	if (sysfs_streq(buf, "all")) {
		*first = 0;
		*nr = bigiron_vm_nr_pages(vm);
		return 0;
	}

	err = kstrtou64(buf, 0, &index);
	if (err)
		return err;
	if (index >= bigiron_vm_nr_pages(vm))
		return -EINVAL;
	*first = index;
	*nr = 1;
	return 0;
}

/* A debugfs control: apply @op to the pages named in the user's text. */
static ssize_t bigiron_debugfs_pages_write(struct file *file,
					   const char __user *ubuf,
					   size_t count,
					   void (*op)(struct bigiron_vm *vm,
						      pgoff_t first,
						      pgoff_t nr))
{
	struct bigiron_vm *vm = file->private_data;
	pgoff_t first, nr;
	int err;

	err = bigiron_debugfs_parse_pages(vm, ubuf, count, &first, &nr);
	if (err)
		return err;
	op(vm, first, nr);
	return count;
}

static ssize_t bigiron_unmap_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return bigiron_debugfs_pages_write(file, ubuf, count,
					   bigiron_mem_unmap);
}

static ssize_t bigiron_wrprotect_write(struct file *file,
				       const char __user *ubuf, size_t count,
				       loff_t *ppos)
{
	return bigiron_debugfs_pages_write(file, ubuf, count,
					   bigiron_mem_wrprotect);
}

static const struct file_operations bigiron_unmap_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= bigiron_unmap_write,
	.llseek	= noop_llseek,
};

static const struct file_operations bigiron_wrprotect_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= bigiron_wrprotect_write,
	.llseek	= noop_llseek,
};

/**
 * bigiron_stats_add_vm - publish @vm in sysfs and debugfs
 * @vm: VM being created; its kobject is initialised and not yet added
 *
 * Return: 0 or a negative errno; debugfs failures are not errors.
 */
int bigiron_stats_add_vm(struct bigiron_vm *vm)
{
	char name[16];
	int err;

	vm->kobj.kset = bigiron_kset;
	err = kobject_add(&vm->kobj, NULL, "vm%u", vm->id);
	if (err)
		return err;
	kobject_uevent(&vm->kobj, KOBJ_ADD);

	snprintf(name, sizeof(name), "vm%u", vm->id);
	vm->debugfs = debugfs_create_dir(name, bigiron_debugfs_root);
	debugfs_create_file("stats", 0444, vm->debugfs, vm,
			    &bigiron_stats_fops);
	debugfs_create_file("unmap", 0200, vm->debugfs, vm,
			    &bigiron_unmap_fops);
	debugfs_create_file("wrprotect", 0200, vm->debugfs, vm,
			    &bigiron_wrprotect_fops);
	return 0;
}

/*
 * Remove what bigiron_stats_add_vm() published.  Returns once no handler
 * runs on @vm any more; the kobject itself is put by the caller.
 */
void bigiron_stats_del_vm(struct bigiron_vm *vm)
{
	debugfs_remove(vm->debugfs);
	vm->debugfs = NULL;
	kobject_uevent(&vm->kobj, KOBJ_REMOVE);
	kobject_del(&vm->kobj);
}

int bigiron_stats_init(void)
{
	bigiron_kset = kset_create_and_add("bigiron", NULL, kernel_kobj);
	if (!bigiron_kset)
		return -ENOMEM;

	bigiron_debugfs_root = debugfs_create_dir("bigiron", NULL);
	return 0;
}

void bigiron_stats_exit(void)
{
	debugfs_remove(bigiron_debugfs_root);
	kset_unregister(bigiron_kset);
}
