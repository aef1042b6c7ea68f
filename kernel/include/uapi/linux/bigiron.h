/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bigiron: ioctl ABI of /dev/bigiron, shared by bigiron.ko and its tools.
 *
 * Every argument structure starts with a __u32 size that must equal the
 * size of the structure the caller was built against, and a __u32 flags
 * word; unknown flags, wrong sizes and non-zero reserved or padding fields
 * are rejected with -EINVAL. Unknown commands get -ENOTTY.
 *
 * One open file of /dev/bigiron holds at most one VM. BIGIRON_VM_CREATE
 * creates it and returns a new file descriptor for its guest-memory file;
 * the caller mmap()s that file MAP_SHARED and hands the mapping to KVM.
 * The VM lives until both the /dev/bigiron file and every reference to the
 * memory file (descriptors and mappings) are gone.
 */
#ifndef _UAPI_LINUX_BIGIRON_H
#define _UAPI_LINUX_BIGIRON_H

#include <linux/const.h>
#include <linux/types.h>
#include <linux/ioctl.h>

#define BIGIRON_ABI_VERSION	1
#define BIGIRON_IOCTL_MAGIC	0xBE

/* Largest guest RAM one VM may have, in bytes (1 TiB). */
#define BIGIRON_MAX_MEM_SIZE	_BITULL(40)

/* BIGIRON_GET_VERSION: no size or flags in; all fields out. */
struct bigiron_version {
	__u32 abi_version;	/* out: BIGIRON_ABI_VERSION */
	__u32 features;		/* out: BIGIRON_FEAT_* bits */
	__u64 reserved[3];	/* out: zero */
};

/* BIGIRON_VM_CREATE */
#define BIGIRON_VM_CREATE_CLOEXEC	_BITUL(0) /* memory fd gets O_CLOEXEC */
#define BIGIRON_VM_CREATE_FLAGS		(BIGIRON_VM_CREATE_CLOEXEC)

struct bigiron_vm_create {
	__u32 size;		/* in: sizeof(struct bigiron_vm_create) */
	__u32 flags;		/* in: BIGIRON_VM_CREATE_* */
	/* in: guest RAM bytes, a non-zero multiple of 4096, at most
	 * BIGIRON_MAX_MEM_SIZE
	 */
	__u64 mem_size;
	__s32 mem_fd;		/* out: guest-memory file descriptor */
	__u32 vm_id;		/* out: names /sys/kernel/bigiron/vm<id> */
	__u64 reserved[4];	/* in: must be zero */
};

/* BIGIRON_VM_GET_STATS */
struct bigiron_vm_stats {
	__u32 size;		/* in: sizeof(struct bigiron_vm_stats) */
	__u32 flags;		/* in: must be zero */
	__u64 read_faults;	/* out: faults that brought a page in */
	__u64 write_upgrades;	/* out: read-only to writable upgrades */
	__u64 resident_pages;	/* out: pages of guest RAM held here */
	__u64 mem_size;		/* out: guest RAM bytes */
	__u64 reserved[8];	/* in: must be zero; out: zero */
};

#define BIGIRON_GET_VERSION \
	_IOR(BIGIRON_IOCTL_MAGIC, 0x00, struct bigiron_version)
#define BIGIRON_VM_CREATE \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x01, struct bigiron_vm_create)
#define BIGIRON_VM_GET_STATS \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x02, struct bigiron_vm_stats)

#endif /* _UAPI_LINUX_BIGIRON_H */
