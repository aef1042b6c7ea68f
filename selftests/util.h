/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the bigiron selftests: loading the module, opening
 * /dev/bigiron, creating VMs and reading their counters.
 *
 * Environment: BIGIRON_KO names the module file to load when bigiron is not
 * loaded yet (default /bigiron/bigiron.ko).
 */
#ifndef BIGIRON_SELFTESTS_UTIL_H
#define BIGIRON_SELFTESTS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uapi/linux/bigiron.h>

#define BI_DEV		"/dev/bigiron"
#define BI_SYSFS	"/sys/kernel/bigiron"
#define BI_DEBUGFS	"/sys/kernel/debug/bigiron"
#define BI_MODULE_SYSFS	"/sys/module/bigiron"

static inline const char *bi_ko_path(void)
{
	const char *path = getenv("BIGIRON_KO");

	return path && *path ? path : "/bigiron/bigiron.ko";
}

static inline bool bi_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static inline bool bi_module_loaded(void)
{
	return bi_exists(BI_MODULE_SYSFS);
}

/* Load the module file with parameters; return 0 or -errno. */
static inline int bi_load_module(const char *params)
{
	int fd, ret;

	fd = open(bi_ko_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static inline int bi_unload_module(void)
{
	return syscall(SYS_delete_module, "bigiron", O_NONBLOCK) ? -errno : 0;
}

/* Make sure bigiron is loaded; return 0 or -errno. */
static inline int bi_ensure_module(void)
{
	int ret;

	if (bi_module_loaded())
		return 0;
	ret = bi_load_module("");
	return ret == -EEXIST ? 0 : ret;
}

static inline int bi_open_dev(void)
{
	return open(BI_DEV, O_RDWR | O_CLOEXEC);
}

/* Create a VM; return 0 with *out filled, or -errno. */
static inline int bi_vm_create(int devfd, uint64_t mem_size, uint32_t flags,
			       struct bigiron_vm_create *out)
{
	struct bigiron_vm_create arg = {
		.size = sizeof(arg),
		.flags = flags,
		.mem_size = mem_size,
		.mem_fd = -1,
	};

	int ret;

	ret = ioctl(devfd, BIGIRON_VM_CREATE, &arg) ? -errno : 0;
	if (out)
		*out = arg;
	return ret;
}

static inline int bi_get_stats(int devfd, struct bigiron_vm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(devfd, BIGIRON_VM_GET_STATS, st) ? -errno : 0;
}

/* Read one decimal value from a file; return 0 or -errno. */
static inline int bi_read_u64_file(const char *path, uint64_t *val)
{
	char buf[64];
	ssize_t len;
	int fd;

	*val = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return len < 0 ? -errno : -ENODATA;
	buf[len] = '\0';
	*val = strtoull(buf, NULL, 10);
	return 0;
}

static inline int bi_vm_sysfs_u64(uint32_t vm_id, const char *name,
				  uint64_t *val)
{
	char path[128];

	snprintf(path, sizeof(path), BI_SYSFS "/vm%" PRIu32 "/%s", vm_id,
		 name);
	return bi_read_u64_file(path, val);
}

static inline bool bi_vm_sysfs_exists(uint32_t vm_id)
{
	char path[128];

	snprintf(path, sizeof(path), BI_SYSFS "/vm%" PRIu32, vm_id);
	return bi_exists(path);
}

/* Mount debugfs if needed; return true when bigiron's directory is there. */
static inline bool bi_debugfs_ready(void)
{
	if (!bi_exists(BI_DEBUGFS))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	return bi_exists(BI_DEBUGFS);
}

/* Write a string to a debugfs control of a VM; return 0 or -errno. */
static inline int bi_vm_debugfs_write(uint32_t vm_id, const char *name,
				      const char *val)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%" PRIu32 "/%s", vm_id,
		 name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, val, strlen(val));
	close(fd);
	if (len < 0)
		return -errno;
	return len == (ssize_t)strlen(val) ? 0 : -EIO;
}

static inline size_t bi_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

#endif /* BIGIRON_SELFTESTS_UTIL_H */
