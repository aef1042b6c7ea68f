/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: internal interfaces between the files of bigiron.ko.
 *
 *   main.c   module init and exit
 *   dev.c    /dev/bigiron and its ioctls
 *   vm.c     VM objects: creation, references, teardown
 *   mem.c    the guest-memory file and its page faults
 *   stats.c  counters in sysfs and debugfs
 *   cluster.c, peer.c, eth.c, dsm.c
 *            multi-host VMs: the cluster, its links, the Ethernet
 *            transport, coherent memory (cluster.h)
 *   ssi.c    interrupts between hosts, the launchers' messages
 */
#ifndef _BIGIRON_H
#define _BIGIRON_H

#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/types.h>

#include <uapi/linux/bigiron.h>

struct bigiron_cluster;
struct dentry;
struct file;
struct folio;
struct inode;
struct vfsmount;

/**
 * struct bigiron_vm - one guest VM as seen by this host
 * @ref: users of the VM: the /dev/bigiron file that created it and the
 *	guest-memory file (which its mappings keep open).  The last
 *	bigiron_vm_put() tears the VM down.
 * @id: number from an IDA; names vm<id> in sysfs and debugfs
 * @mem_size: guest RAM in bytes, a multiple of PAGE_SIZE; never changes
 * @mnt: pinned mount of the private file system that holds @inode
 * @inode: guest-memory inode; its page cache is the guest RAM held here
 * @kobj: /sys/kernel/bigiron/vm<id>; its release frees this structure
 * @debugfs: /sys/kernel/debug/bigiron/vm<id>
 * @read_faults: faults that brought a page into a mapping
 * @write_upgrades: read-only pages made writable
 * @cluster: this host's node instance, set once by SET_CLUSTER (published
 *	with smp_store_release()), NULL for a single-host VM
 */
struct bigiron_vm {
	struct kref ref;
	u32 id;
	u64 mem_size;
	struct vfsmount *mnt;
	struct inode *inode;
	struct kobject kobj;
	struct dentry *debugfs;
	atomic64_t read_faults;
	atomic64_t write_upgrades;
	struct bigiron_cluster *cluster;
};

static inline pgoff_t bigiron_vm_nr_pages(const struct bigiron_vm *vm)
{
	return vm->mem_size >> PAGE_SHIFT;
}

/* dev.c */
int bigiron_dev_init(void);
void bigiron_dev_exit(void);

/* vm.c */
struct bigiron_vm *bigiron_vm_create(u64 mem_size);
struct bigiron_vm *bigiron_vm_get(struct bigiron_vm *vm);
void bigiron_vm_put(struct bigiron_vm *vm);

/* mem.c */
int bigiron_mem_init(struct bigiron_vm *vm);
void bigiron_mem_destroy(struct bigiron_vm *vm);
struct file *bigiron_mem_open(struct bigiron_vm *vm);
unsigned long bigiron_mem_resident_pages(struct bigiron_vm *vm);
void bigiron_mem_wrprotect(struct bigiron_vm *vm, pgoff_t first, pgoff_t nr);
void bigiron_mem_unmap(struct bigiron_vm *vm, pgoff_t first, pgoff_t nr);

/* dsm.c */
int bigiron_dsm_module_init(void);
void bigiron_dsm_module_exit(void);
struct folio *bigiron_dsm_access(struct bigiron_cluster *cl, u64 page,
				 bool write, struct folio *folio, gfp_t gfp);

/* stats.c */
extern const struct attribute_group *bigiron_vm_groups[];
int bigiron_stats_init(void);
void bigiron_stats_exit(void);
int bigiron_stats_add_vm(struct bigiron_vm *vm);
void bigiron_stats_del_vm(struct bigiron_vm *vm);
void bigiron_stats_read(struct bigiron_vm *vm, struct bigiron_vm_stats *st);
int bigiron_debugfs_parse_pages(struct bigiron_vm *vm,
				const char __user *ubuf, size_t count,
				pgoff_t *first, pgoff_t *nr);

/* cluster.c */
int bigiron_cluster_set(struct bigiron_vm *vm, const void __user *uarg);
int bigiron_cluster_join(struct bigiron_vm *vm, void __user *uarg);
int bigiron_cluster_ping(struct bigiron_vm *vm, void __user *uarg);
void bigiron_cluster_destroy(struct bigiron_vm *vm);

/* ssi.c */
int bigiron_ssi_module_init(void);
void bigiron_ssi_module_exit(void);
int bigiron_ssi_set_kvm(struct bigiron_vm *vm, void __user *uarg);
int bigiron_ssi_send(struct bigiron_vm *vm, void __user *uarg);
int bigiron_ssi_recv_ioctl(struct bigiron_vm *vm, void __user *uarg);

#endif /* _BIGIRON_H */
