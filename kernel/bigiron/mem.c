// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-memory file.
 *
 * Guest RAM is the page cache of one inode per VM, on a private pseudo file
 * system.  The launcher mmap()s the file MAP_SHARED and hands the mapping
 * to KVM, which resolves guest accesses through GUP and therefore through
 * the vm_operations below; every later change of a host PTE reaches KVM
 * through its MMU notifier.  This gives the module the three hooks the
 * coherence protocol needs:
 *
 *   .fault          a page enters a mapping (read-only)
 *   .page_mkwrite   a read-only page becomes writable
 *   folio_mkclean / unmap_mapping_range
 *                   take write access or the whole page back
 *
 * The pages are ordinary page-cache pages (no special PTEs), so GUP and
 * KVM see them like any shared file mapping.
 *
 * A VM with a cluster (cluster.c) holds only some pages, with only some
 * rights: its faults go through bigiron_dsm_access(), which waits for the
 * coherence protocol (dsm.c) without holding any lock, killable and
 * bounded, and ends a fault that cannot be served with SIGBUS and a log
 * line naming the node.  Never VM_FAULT_RETRY (see bigiron_mem_fault()).
 *
 * Locking of a single-host VM, outermost first:
 *   mmap_lock (held by the fault core)
 *     mapping->invalidate_lock: shared while .fault looks a page up or adds
 *       it, exclusive while pages are unmapped, so that a fault cannot
 *       install a page in the middle of taking it away
 *       folio lock
 *         i_mmap_rwsem and page-table locks (inside rmap walks and unmaps)
 * With a cluster, dsm.c's page bucket lock takes the invalidate lock's
 * place (see there).
 */

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/highmem.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/pseudo_fs.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "bigiron.h"

/* "bigi": f_type of the private file system in statfs(2). */
#define BIGIRON_FS_MAGIC	0x62696769

/*
 * The file system is mounted while at least one VM exists, not for the
 * module's whole life: the superblock holds a reference on the module
 * (bigiron_fs_type.owner), and the last file of a VM drops its mount
 * reference only after its release and eviction have run, so module code
 * is never left running after its last reference is gone.
 */
static struct vfsmount *bigiron_mnt;
static int bigiron_mnt_count;

/*
 * Content of a page of a single-host VM never touched before: zeroes.
 * (With a cluster, dsm.c decides where a page's content comes from.)
 */
static int bigiron_mem_fetch(struct bigiron_vm *vm, pgoff_t index,
			     struct folio *folio)
{
	folio_zero_range(folio, 0, folio_size(folio));
	return 0;
}

/*
 * Find the page at @index in the page cache or bring it in.
 * Return: the folio, locked and with a reference, or an ERR_PTR().
 */
static struct folio *bigiron_mem_get_folio(struct bigiron_vm *vm,
					   struct address_space *mapping,
					   pgoff_t index, gfp_t gfp)
{
	struct folio *folio;
	int err;

	for (;;) {
		folio = filemap_lock_folio(mapping, index);
		if (folio)
			return folio;

		folio = filemap_alloc_folio(gfp, 0);
		if (!folio)
			return ERR_PTR(-ENOMEM);

		err = bigiron_mem_fetch(vm, index, folio);
		if (err)
			goto err_put;
		__folio_mark_uptodate(folio);

		/* On success the folio is locked and on the LRU. */
		err = filemap_add_folio(mapping, folio, index, gfp);
		if (!err)
			return folio;
		if (err != -EEXIST)
			goto err_put;

		/* Another fault added this page first: use its copy. */
		folio_put(folio);
		cond_resched();
	}

err_put:
	folio_put(folio);
	return ERR_PTR(err);
}

/*
 * A fault that could not be served: SIGBUS for the faulting task (KVM_RUN
 * fails with -EFAULT), or OOM.  A fatal signal ends the task anyway.
 */
static vm_fault_t bigiron_mem_error(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * A page enters a mapping.  With .page_mkwrite present the core maps it
 * read-only on a read, and calls .page_mkwrite next on a write.
 *
 * Never answers VM_FAULT_RETRY: KVM's first attempt carries
 * FAULT_FLAG_RETRY_NOWAIT, and a retry would send it into an async page
 * fault whose worker faults the page in for writing.
 */
static vm_fault_t bigiron_mem_fault(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct bigiron_vm *vm = file->private_data;
	struct address_space *mapping = file->f_mapping;
	struct bigiron_cluster *cl;
	struct folio *folio;

	if (vmf->pgoff >= bigiron_vm_nr_pages(vm))
		return VM_FAULT_SIGBUS;

	/* pairs with SET_CLUSTER's smp_store_release() */
	cl = smp_load_acquire(&vm->cluster);
	if (cl) {
		folio = bigiron_dsm_access(cl, vmf->pgoff,
					   vmf->flags & FAULT_FLAG_WRITE, NULL,
					   vmf->gfp_mask);
		if (IS_ERR(folio))
			return bigiron_mem_error(PTR_ERR(folio));
		goto found;
	}

	filemap_invalidate_lock_shared(mapping);
	folio = bigiron_mem_get_folio(vm, mapping, vmf->pgoff, vmf->gfp_mask);
	filemap_invalidate_unlock_shared(mapping);
	if (IS_ERR(folio))
		return vmf_error(PTR_ERR(folio));

	if (unlikely(!folio_test_uptodate(folio))) {
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_SIGBUS;
	}

found:
	atomic64_inc(&vm->read_faults);
	vmf->page = folio_file_page(folio, vmf->pgoff);
	return VM_FAULT_LOCKED;
}

/*
 * A read-only page is about to become writable.  With a cluster this is
 * where exclusive ownership of the page is acquired, without the page lock
 * held while waiting.
 */
static vm_fault_t bigiron_mem_page_mkwrite(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct bigiron_vm *vm = file->private_data;
	struct folio *folio = page_folio(vmf->page);
	struct bigiron_cluster *cl;
	struct folio *got;

	/* pairs with SET_CLUSTER's smp_store_release() */
	cl = smp_load_acquire(&vm->cluster);
	if (cl) {
		got = bigiron_dsm_access(cl, vmf->pgoff, true, folio,
					 vmf->gfp_mask);
		if (got == ERR_PTR(-EAGAIN))
			return VM_FAULT_NOPAGE;
		if (IS_ERR(got))
			return bigiron_mem_error(PTR_ERR(got));
		goto locked;
	}

	folio_lock(folio);
	if (folio->mapping != file->f_mapping) {
		/* Taken away meanwhile: let the core fault it in again. */
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}

locked:
	folio_mark_dirty(folio);
	atomic64_inc(&vm->write_upgrades);
	return VM_FAULT_LOCKED;
}

static const struct vm_operations_struct bigiron_mem_vm_ops = {
	.fault		= bigiron_mem_fault,
	.page_mkwrite	= bigiron_mem_page_mkwrite,
};

static int bigiron_mem_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* A private mapping would give KVM copies nobody keeps coherent. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	vma->vm_ops = &bigiron_mem_vm_ops;
	return 0;
}

static int bigiron_mem_release(struct inode *inode, struct file *file)
{
	bigiron_vm_put(file->private_data);
	return 0;
}

/*
 * .owner: the file holds a module reference, taken in bigiron_mem_open()
 * and dropped by the VFS after .release.  Mappings hold the file.
 */
static const struct file_operations bigiron_mem_fops = {
	.owner		= THIS_MODULE,
	.mmap		= bigiron_mem_mmap,
	.release	= bigiron_mem_release,
};

/*
 * No .writepage: guest RAM is never written back nor reclaimed (the mapping
 * is unevictable); dirty pages only stay dirty.  No .migrate_folio, as for
 * ramfs: clean pages may still move, dirty ones stay where they are.
 */
static const struct address_space_operations bigiron_mem_aops = {
	.dirty_folio	= noop_dirty_folio,
};

/* Guest RAM has a fixed size: ftruncate() may not change it. */
static int bigiron_mem_setattr(struct user_namespace *mnt_userns,
			       struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);

	if ((attr->ia_valid & ATTR_SIZE) &&
	    attr->ia_size != i_size_read(inode))
		return -EINVAL;
	return simple_setattr(mnt_userns, dentry, attr);
}

static const struct inode_operations bigiron_mem_iops = {
	.setattr	= bigiron_mem_setattr,
};

static void bigiron_mem_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
}

static const struct super_operations bigiron_fs_sops = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.evict_inode	= bigiron_mem_evict_inode,
};

static int bigiron_fs_init_fs_context(struct fs_context *fc)
{
	struct pseudo_fs_context *ctx;

	ctx = init_pseudo(fc, BIGIRON_FS_MAGIC);
	if (!ctx)
		return -ENOMEM;
	ctx->ops = &bigiron_fs_sops;
	return 0;
}

static struct file_system_type bigiron_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "bigiron",
	.init_fs_context	= bigiron_fs_init_fs_context,
	.kill_sb		= kill_anon_super,
};

/**
 * bigiron_mem_init - give @vm its guest-memory inode
 * @vm: VM being created
 *
 * Return: 0 or a negative errno.
 */
int bigiron_mem_init(struct bigiron_vm *vm)
{
	struct inode *inode;
	int err;

	err = simple_pin_fs(&bigiron_fs_type, &bigiron_mnt, &bigiron_mnt_count);
	if (err)
		return err;
	/* Stable while this VM's pin is held. */
	vm->mnt = bigiron_mnt;

	inode = alloc_anon_inode(vm->mnt->mnt_sb);
	if (IS_ERR(inode)) {
		err = PTR_ERR(inode);
		goto err_unpin;
	}

	/* A regular file: mmap() then allows offsets beyond 2 GiB. */
	inode->i_mode |= S_IFREG;
	inode->i_op = &bigiron_mem_iops;
	inode->i_mapping->a_ops = &bigiron_mem_aops;
	mapping_set_gfp_mask(inode->i_mapping, GFP_HIGHUSER);
	mapping_set_unevictable(inode->i_mapping);
	i_size_write(inode, vm->mem_size);
	vm->inode = inode;
	return 0;

err_unpin:
	simple_release_fs(&bigiron_mnt, &bigiron_mnt_count);
	return err;
}

/*
 * Drop the VM's reference on its inode; the last one evicts it and frees
 * the guest RAM (bigiron_mem_evict_inode()).
 */
void bigiron_mem_destroy(struct bigiron_vm *vm)
{
	iput(vm->inode);
	vm->inode = NULL;
	simple_release_fs(&bigiron_mnt, &bigiron_mnt_count);
	vm->mnt = NULL;
}

/**
 * bigiron_mem_open - open a new file on the guest memory of @vm
 * @vm: the VM; the file takes a reference on it
 *
 * Return: the file, opened read-write, or an ERR_PTR().
 */
struct file *bigiron_mem_open(struct bigiron_vm *vm)
{
	char name[24];
	struct file *file;

	/* Dropped by the VFS with .owner when the file is released. */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENOENT);

	snprintf(name, sizeof(name), "bigiron-vm%u", vm->id);
	/* On success the file's dentry owns this inode reference. */
	ihold(vm->inode);
	file = alloc_file_pseudo(vm->inode, vm->mnt, name, O_RDWR,
				 &bigiron_mem_fops);
	if (IS_ERR(file))
		goto err_inode;

	file->f_flags |= O_LARGEFILE;
	file->private_data = bigiron_vm_get(vm);
	return file;

err_inode:
	iput(vm->inode);
	module_put(THIS_MODULE);
	return file;
}

unsigned long bigiron_mem_resident_pages(struct bigiron_vm *vm)
{
	return READ_ONCE(vm->inode->i_mapping->nrpages);
}

static void bigiron_mem_wrprotect_folio(struct address_space *mapping,
					struct folio *folio)
{
	folio_lock(folio);
	/*
	 * A PTE that was dirty moves its dirty bit to the folio: the data
	 * stays, only write access goes.
	 */
	if (folio->mapping == mapping && folio_mkclean(folio))
		folio_mark_dirty(folio);
	folio_unlock(folio);
}

/**
 * bigiron_mem_wrprotect - take write access to guest pages away
 * @vm: the VM
 * @first: first page index
 * @nr: number of pages
 *
 * Every mapping of the resident pages among [@first, @first + @nr) becomes
 * read-only, and KVM's MMU notifier write-protects its SPTEs.  The pages
 * and their content stay; the next write to each runs .page_mkwrite.
 */
void bigiron_mem_wrprotect(struct bigiron_vm *vm, pgoff_t first, pgoff_t nr)
{
	struct address_space *mapping = vm->inode->i_mapping;
	struct folio_batch fbatch;
	pgoff_t index = first;
	unsigned int i;

	if (!nr)
		return;

	folio_batch_init(&fbatch);
	while (filemap_get_folios(mapping, &index, first + nr - 1, &fbatch)) {
		for (i = 0; i < folio_batch_count(&fbatch); i++)
			bigiron_mem_wrprotect_folio(mapping, fbatch.folios[i]);
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

static void bigiron_mem_unmap_locked(struct bigiron_vm *vm, pgoff_t first,
				     pgoff_t nr)
{
	struct address_space *mapping = vm->inode->i_mapping;

	lockdep_assert_held_write(&mapping->invalidate_lock);

	unmap_mapping_range(mapping, (loff_t)first << PAGE_SHIFT,
			    (loff_t)nr << PAGE_SHIFT, 0);
}

/**
 * bigiron_mem_unmap - remove guest pages from every mapping
 * @vm: the VM
 * @first: first page index
 * @nr: number of pages
 *
 * Zaps every PTE of [@first, @first + @nr); KVM's MMU notifier zaps the
 * SPTEs and flushes the vCPUs' TLBs.  The pages stay in the page cache with
 * their content (with one host there is nobody to hand them to); the next
 * access to each runs .fault again.
 */
void bigiron_mem_unmap(struct bigiron_vm *vm, pgoff_t first, pgoff_t nr)
{
	struct address_space *mapping = vm->inode->i_mapping;

	if (!nr)
		return;

	filemap_invalidate_lock(mapping);
	bigiron_mem_unmap_locked(vm, first, nr);
	filemap_invalidate_unlock(mapping);
}
