// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_module: loading and unloading bigiron.ko.
 *
 * Anything that can still reach a VM pins the module: an open /dev/bigiron,
 * an open guest-memory file, or only a mapping of it.  While pinned,
 * delete_module(O_NONBLOCK) fails; the kernel answers EWOULDBLOCK (EAGAIN)
 * for a module in use, EBUSY is accepted too.  Once everything is closed
 * the module unloads, its device and sysfs entries go, and it loads again.
 *
 * Cases that unload need the module file (BIGIRON_KO, default
 * /bigiron/bigiron.ko) to load it again, and are skipped without it.  The
 * module is left loaded at the end.
 */
#include <sys/mman.h>

#include "tap.h"
#include "util.h"

#define MiB	(1024ULL * 1024)

static bool unload_refused(void)
{
	int ret = bi_unload_module();

	if (ret == -EWOULDBLOCK || ret == -EBUSY)
		return bi_module_loaded();
	tap_diag("delete_module: %d (%s)", ret, strerror(-ret));
	return false;
}

static bool ko_available(void)
{
	return access(bi_ko_path(), R_OK) == 0;
}

static int test_loaded(void)
{
	struct bigiron_version ver;
	int ret, fd;

	ret = bi_ensure_module();
	TAP_CHECK(ret == 0, "load %s: %s", bi_ko_path(), strerror(-ret));
	TAP_CHECK(bi_module_loaded(), "no " BI_MODULE_SYSFS);
	TAP_CHECK(bi_exists(BI_SYSFS), "no " BI_SYSFS);
	fd = bi_open_dev();
	TAP_CHECK(fd >= 0, "open " BI_DEV ": %s", strerror(errno));
	TAP_CHECK(ioctl(fd, BIGIRON_GET_VERSION, &ver) == 0 &&
		  ver.abi_version == BIGIRON_ABI_VERSION, "GET_VERSION");
	return TAP_PASS;
}

static int test_dev_mode(void)
{
	struct stat st;

	TAP_CHECK(stat(BI_DEV, &st) == 0, "stat: %s", strerror(errno));
	TAP_CHECK(S_ISCHR(st.st_mode), "not a character device");
	TAP_CHECK((st.st_mode & 0777) == 0600, "mode 0%o", st.st_mode & 0777);
	return TAP_PASS;
}

static int test_busy_dev_open(void)
{
	int fd = bi_open_dev();

	TAP_CHECK(fd >= 0, "open: %s", strerror(errno));
	TAP_CHECK(unload_refused(), "unloaded with " BI_DEV " open");
	close(fd);
	return TAP_PASS;
}

static int test_busy_memfd_open(void)
{
	struct bigiron_vm_create arg;
	int fd = bi_open_dev();

	TAP_CHECK(fd >= 0, "open: %s", strerror(errno));
	TAP_CHECK(bi_vm_create(fd, 4 * MiB, 0, &arg) == 0, "create");
	close(fd);
	TAP_CHECK(unload_refused(), "unloaded with memory file open");
	close(arg.mem_fd);
	return TAP_PASS;
}

static int test_busy_mapping_only(void)
{
	struct bigiron_vm_create arg;
	volatile uint8_t *map;
	int fd = bi_open_dev();

	TAP_CHECK(fd >= 0, "open: %s", strerror(errno));
	TAP_CHECK(bi_vm_create(fd, 4 * MiB, 0, &arg) == 0, "create");
	map = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED,
		   arg.mem_fd, 0);
	TAP_CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	map[0] = 0x42;
	close(arg.mem_fd);
	close(fd);
	TAP_CHECK(unload_refused(), "unloaded with a mapping alive");
	TAP_CHECK(map[0] == 0x42, "data lost");
	map[4096] = 0x43;
	TAP_CHECK(munmap((void *)map, 4 * MiB) == 0, "munmap");
	return TAP_PASS;
}

static int test_refcnt_zero_when_idle(void)
{
	uint64_t refcnt;

	TAP_CHECK(bi_read_u64_file(BI_MODULE_SYSFS "/refcnt", &refcnt) == 0,
		  "read refcnt");
	TAP_CHECK(refcnt == 0, "refcnt %" PRIu64 " with nothing open", refcnt);
	return TAP_PASS;
}

static int test_unload_when_idle(void)
{
	int ret;

	if (!ko_available())
		return tap_skip("%s not readable, could not reload",
				bi_ko_path());
	ret = bi_unload_module();
	TAP_CHECK(ret == 0, "delete_module: %s", strerror(-ret));
	TAP_CHECK(!bi_module_loaded(), BI_MODULE_SYSFS " still there");
	TAP_CHECK(!bi_exists(BI_DEV), BI_DEV " still there");
	TAP_CHECK(!bi_exists("/sys/class/misc/bigiron"), "misc class entry");
	TAP_CHECK(!bi_exists(BI_SYSFS), BI_SYSFS " still there");
	return TAP_PASS;
}

static int test_reload(void)
{
	struct bigiron_vm_create arg;
	int ret, fd;

	if (!ko_available())
		return tap_skip("%s not readable", bi_ko_path());
	ret = bi_load_module("");
	TAP_CHECK(ret == 0, "finit_module: %s", strerror(-ret));
	TAP_CHECK(bi_exists(BI_DEV), BI_DEV " missing after reload");
	fd = bi_open_dev();
	TAP_CHECK(fd >= 0, "open: %s", strerror(errno));
	TAP_CHECK(bi_vm_create(fd, 4 * MiB, 0, &arg) == 0, "create");
	TAP_CHECK(bi_vm_sysfs_exists(arg.vm_id), "no sysfs dir");
	return TAP_PASS;
}

static int test_reload_with_max_mem(void)
{
	struct bigiron_vm_create arg;
	uint64_t val;
	int ret, fd;

	if (!ko_available())
		return tap_skip("%s not readable", bi_ko_path());
	ret = bi_unload_module();
	TAP_CHECK(ret == 0, "delete_module: %s", strerror(-ret));
	ret = bi_load_module("max_mem_mb=16");
	TAP_CHECK(ret == 0, "finit_module: %s", strerror(-ret));
	TAP_CHECK(bi_read_u64_file(BI_MODULE_SYSFS "/parameters/max_mem_mb",
				   &val) == 0 && val == 16, "parameter %" PRIu64,
		  val);
	fd = bi_open_dev();
	TAP_CHECK(fd >= 0, "open: %s", strerror(errno));
	ret = bi_vm_create(fd, 16 * MiB + 4096, 0, &arg);
	TAP_CHECK(ret == -EINVAL, "16 MiB + 4 KiB: %d", ret);
	ret = bi_vm_create(fd, 16 * MiB, 0, &arg);
	TAP_CHECK(ret == 0, "16 MiB: %d", ret);
	close(arg.mem_fd);
	close(fd);

	ret = bi_unload_module();
	TAP_CHECK(ret == 0, "delete_module: %s", strerror(-ret));
	ret = bi_load_module("");
	TAP_CHECK(ret == 0, "finit_module: %s", strerror(-ret));
	TAP_CHECK(bi_read_u64_file(BI_MODULE_SYSFS "/parameters/max_mem_mb",
				   &val) == 0 && val > 0,
		  "default max_mem_mb %" PRIu64, val);
	tap_diag("default max_mem_mb %" PRIu64, val);
	return TAP_PASS;
}

static int test_left_loaded(void)
{
	int ret = bi_ensure_module();

	TAP_CHECK(ret == 0, "load: %s", strerror(-ret));
	TAP_CHECK(bi_exists(BI_DEV), BI_DEV " missing");
	return TAP_PASS;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "loaded", test_loaded },
		{ "dev_mode", test_dev_mode },
		{ "busy_dev_open", test_busy_dev_open },
		{ "busy_memfd_open", test_busy_memfd_open },
		{ "busy_mapping_only", test_busy_mapping_only },
		{ "refcnt_zero_when_idle", test_refcnt_zero_when_idle },
		{ "unload_when_idle", test_unload_when_idle },
		{ "reload", test_reload },
		{ "reload_with_max_mem", test_reload_with_max_mem },
		{ "left_loaded", test_left_loaded },
	};

	if (!bi_module_loaded() && !ko_available())
		tap_skip_all("bigiron not loaded and no module file");
	return tap_run(cases, TAP_NCASES(cases));
}
