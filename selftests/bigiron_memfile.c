// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_memfile: the guest-memory file of a VM.
 *
 * Each case creates a 64 MiB VM, maps its memory file MAP_SHARED and checks
 * what a VMM and KVM rely on: pages read as zero, faults and write upgrades
 * are counted (ioctl, sysfs, debugfs), every mapping sees the same pages,
 * access beyond the end raises SIGBUS, GUP works, and the VM's sysfs and
 * debugfs entries go away with its last reference.  The debugfs controls
 * "unmap" and "wrprotect" (the coherence hooks) must make the next access
 * fault again without losing data.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "tap.h"
#include "util.h"

#define MiB		(1024ULL * 1024)
#define VM_SIZE		(64 * MiB)

struct vm {
	int devfd;
	int memfd;
	uint32_t id;
	size_t size;
	size_t page;
	volatile uint8_t *map;
};

static int vm_setup(struct vm *vm)
{
	struct bigiron_vm_create arg;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->page = bi_page_size();
	vm->size = VM_SIZE;
	vm->devfd = bi_open_dev();
	if (vm->devfd < 0) {
		tap_diag("open %s: %s", BI_DEV, strerror(errno));
		return TAP_FAIL;
	}
	ret = bi_vm_create(vm->devfd, vm->size, 0, &arg);
	if (ret) {
		tap_diag("create: %s", strerror(-ret));
		return TAP_FAIL;
	}
	vm->memfd = arg.mem_fd;
	vm->id = arg.vm_id;
	vm->map = mmap(NULL, vm->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->memfd, 0);
	if (vm->map == MAP_FAILED) {
		tap_diag("mmap: %s", strerror(errno));
		return TAP_FAIL;
	}
	return TAP_PASS;
}

#define VM_SETUP(vm)							\
	do {								\
		if (vm_setup(vm) != TAP_PASS)				\
			return TAP_FAIL;				\
	} while (0)

static struct bigiron_vm_stats vm_stats(struct vm *vm)
{
	struct bigiron_vm_stats st;

	if (bi_get_stats(vm->devfd, &st)) {
		tap_diag("GET_STATS: %s", strerror(errno));
		memset(&st, 0xff, sizeof(st));
	}
	return st;
}

static uint8_t pattern(size_t page, unsigned int salt)
{
	return (uint8_t)(page * 7 + salt * 13 + 1);
}

/* Read one byte of each page in [first, first + n) and return their sum. */
static unsigned int touch_read(struct vm *vm, size_t first, size_t n)
{
	unsigned int sum = 0;
	size_t i;

	for (i = first; i < first + n; i++)
		sum += vm->map[i * vm->page];
	return sum;
}

static void fill_pages(volatile uint8_t *map, size_t page, size_t first,
		       size_t n, unsigned int salt)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		map[i * page] = pattern(i, salt);
		map[i * page + page - 1] = pattern(i, salt);
	}
}

/* Return the first page in [first, first + n) without the pattern, or -1. */
static long check_pages(volatile uint8_t *map, size_t page, size_t first,
			size_t n, unsigned int salt)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (map[i * page] != pattern(i, salt) ||
		    map[i * page + page - 1] != pattern(i, salt))
			return (long)i;
	}
	return -1;
}

static int test_read_fault_zero(void)
{
	struct bigiron_vm_stats before, after;
	uint64_t sys_faults, sys_resident;
	struct vm vm;
	size_t i;

	VM_SETUP(&vm);
	before = vm_stats(&vm);
	TAP_CHECK(before.read_faults == 0 && before.resident_pages == 0,
		  "fresh VM: %llu faults, %llu resident",
		  (unsigned long long)before.read_faults,
		  (unsigned long long)before.resident_pages);

	for (i = 0; i < vm.page; i++)
		TAP_CHECK(vm.map[i] == 0, "byte %zu is 0x%x", i, vm.map[i]);

	after = vm_stats(&vm);
	TAP_CHECK(after.read_faults == 1, "read_faults %llu",
		  (unsigned long long)after.read_faults);
	TAP_CHECK(after.write_upgrades == 0, "write_upgrades %llu",
		  (unsigned long long)after.write_upgrades);
	TAP_CHECK(after.resident_pages == 1, "resident_pages %llu",
		  (unsigned long long)after.resident_pages);
	TAP_CHECK(bi_vm_sysfs_u64(vm.id, "read_faults", &sys_faults) == 0,
		  "sysfs read_faults");
	TAP_CHECK(sys_faults == after.read_faults, "sysfs read_faults %" PRIu64,
		  sys_faults);
	TAP_CHECK(bi_vm_sysfs_u64(vm.id, "resident_pages", &sys_resident) == 0
		  && sys_resident == 1, "sysfs resident_pages %" PRIu64,
		  sys_resident);
	return TAP_PASS;
}

static int test_write_upgrade(void)
{
	struct bigiron_vm_stats st;
	uint64_t sys_upgrades;
	struct vm vm;

	VM_SETUP(&vm);
	touch_read(&vm, 1, 1);
	st = vm_stats(&vm);
	TAP_CHECK(st.read_faults == 1 && st.write_upgrades == 0,
		  "after read: %llu/%llu",
		  (unsigned long long)st.read_faults,
		  (unsigned long long)st.write_upgrades);

	vm.map[vm.page] = 0x5a;
	st = vm_stats(&vm);
	TAP_CHECK(st.read_faults == 1, "write faulted again: %llu",
		  (unsigned long long)st.read_faults);
	TAP_CHECK(st.write_upgrades == 1, "write_upgrades %llu",
		  (unsigned long long)st.write_upgrades);

	/* Already writable: no more upgrades. */
	vm.map[vm.page + 1] = 0x5b;
	st = vm_stats(&vm);
	TAP_CHECK(st.write_upgrades == 1, "second write upgraded again");
	TAP_CHECK(bi_vm_sysfs_u64(vm.id, "write_upgrades", &sys_upgrades) == 0
		  && sys_upgrades == 1, "sysfs write_upgrades %" PRIu64,
		  sys_upgrades);
	TAP_CHECK(vm.map[vm.page] == 0x5a && vm.map[vm.page + 1] == 0x5b,
		  "data");
	return TAP_PASS;
}

static int test_write_fresh_page(void)
{
	struct bigiron_vm_stats st;
	struct vm vm;

	VM_SETUP(&vm);
	vm.map[2 * vm.page] = 1;
	st = vm_stats(&vm);
	TAP_CHECK(st.read_faults == 1 && st.write_upgrades == 1,
		  "faults %llu upgrades %llu",
		  (unsigned long long)st.read_faults,
		  (unsigned long long)st.write_upgrades);
	TAP_CHECK(st.resident_pages == 1, "resident %llu",
		  (unsigned long long)st.resident_pages);
	return TAP_PASS;
}

static int test_resident_pages(void)
{
	struct bigiron_vm_stats st;
	uint64_t sys_resident;
	struct vm vm;
	size_t nr;

	VM_SETUP(&vm);
	nr = vm.size / vm.page;
	TAP_CHECK(touch_read(&vm, 0, 100) == 0, "not zero");
	st = vm_stats(&vm);
	TAP_CHECK(st.resident_pages == 100, "resident %llu after 100",
		  (unsigned long long)st.resident_pages);

	touch_read(&vm, 0, nr);
	st = vm_stats(&vm);
	TAP_CHECK(st.resident_pages == nr, "resident %llu, want %zu",
		  (unsigned long long)st.resident_pages, nr);
	TAP_CHECK(st.read_faults == nr, "read_faults %llu, want %zu",
		  (unsigned long long)st.read_faults, nr);
	TAP_CHECK(bi_vm_sysfs_u64(vm.id, "resident_pages", &sys_resident) == 0
		  && sys_resident == nr, "sysfs resident %" PRIu64,
		  sys_resident);
	return TAP_PASS;
}

static int test_second_mapping(void)
{
	volatile uint8_t *map2;
	struct vm vm;
	long bad;

	VM_SETUP(&vm);
	map2 = mmap(NULL, vm.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vm.memfd, 0);
	TAP_CHECK(map2 != MAP_FAILED, "mmap 2: %s", strerror(errno));

	fill_pages(vm.map, vm.page, 0, 64, 1);
	bad = check_pages(map2, vm.page, 0, 64, 1);
	TAP_CHECK(bad < 0, "map 2 misses page %ld", bad);

	fill_pages(map2, vm.page, 32, 64, 2);
	bad = check_pages(vm.map, vm.page, 32, 64, 2);
	TAP_CHECK(bad < 0, "map 1 misses page %ld", bad);

	/* A mapping at an offset sees the same pages. */
	map2 = mmap(NULL, 8 * vm.page, PROT_READ, MAP_SHARED, vm.memfd,
		    32 * vm.page);
	TAP_CHECK(map2 != MAP_FAILED, "mmap at offset: %s", strerror(errno));
	bad = check_pages(map2 - 32 * vm.page, vm.page, 32, 8, 2);
	TAP_CHECK(bad < 0, "offset map misses page %ld", bad);
	return TAP_PASS;
}

static int test_dup_fd_mapping(void)
{
	volatile uint8_t *map2;
	struct vm vm;
	int fd2;
	long bad;

	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 100, 50, 3);
	fd2 = dup(vm.memfd);
	TAP_CHECK(fd2 >= 0, "dup");
	close(vm.memfd);
	map2 = mmap(NULL, vm.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd2,
		    0);
	TAP_CHECK(map2 != MAP_FAILED, "mmap dup: %s", strerror(errno));
	bad = check_pages(map2, vm.page, 100, 50, 3);
	TAP_CHECK(bad < 0, "dup map misses page %ld", bad);
	fill_pages(map2, vm.page, 120, 10, 4);
	bad = check_pages(vm.map, vm.page, 120, 10, 4);
	TAP_CHECK(bad < 0, "first map misses page %ld", bad);
	return TAP_PASS;
}

static int test_fork_shares(void)
{
	struct vm vm;
	int status;
	pid_t pid;
	long bad;

	VM_SETUP(&vm);
	pid = fork();
	TAP_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		fill_pages(vm.map, vm.page, 200, 20, 5);
		_exit(0);
	}
	TAP_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0, "child");
	bad = check_pages(vm.map, vm.page, 200, 20, 5);
	TAP_CHECK(bad < 0, "parent misses page %ld", bad);
	return TAP_PASS;
}

static sigjmp_buf sigbus_env;
static volatile sig_atomic_t sigbus_seen;

static void on_sigbus(int sig)
{
	(void)sig;
	sigbus_seen++;
	siglongjmp(sigbus_env, 1);
}

/* Access *p; return 1 when it raised SIGBUS. */
static int access_sigbus(volatile uint8_t *p, int write)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;

	sigbus_seen = 0;
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(sigbus_env, 1)) {
		if (write)
			*p = 1;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old, NULL);
	return sigbus_seen != 0;
}

static int test_sigbus_beyond_size(void)
{
	volatile uint8_t *map, *tail;
	struct bigiron_vm_stats st;
	struct vm vm;

	VM_SETUP(&vm);
	map = mmap(NULL, vm.size + 2 * vm.page, PROT_READ | PROT_WRITE,
		   MAP_SHARED, vm.memfd, 0);
	TAP_CHECK(map != MAP_FAILED, "mmap past end: %s", strerror(errno));
	TAP_CHECK(!access_sigbus(map + vm.size - 1, 0), "last byte");
	TAP_CHECK(!access_sigbus(map + vm.size - 1, 1), "last byte write");
	TAP_CHECK(access_sigbus(map + vm.size, 0), "no SIGBUS at end");
	TAP_CHECK(access_sigbus(map + vm.size + vm.page, 1),
		  "no SIGBUS on write past end");

	tail = mmap(NULL, vm.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vm.memfd, vm.size);
	TAP_CHECK(tail != MAP_FAILED, "mmap at end: %s", strerror(errno));
	TAP_CHECK(access_sigbus(tail, 0), "no SIGBUS in mapping at end");

	st = vm_stats(&vm);
	TAP_CHECK(st.resident_pages == 1, "resident %llu",
		  (unsigned long long)st.resident_pages);
	return TAP_PASS;
}

static int test_gup(void)
{
	struct bigiron_vm_stats st;
	uint8_t buf[256], zero[256] = { 0 };
	struct iovec local, remote;
	volatile uint8_t *p;
	struct vm vm;
	ssize_t n;
	size_t i;

	VM_SETUP(&vm);
	p = vm.map + 300 * vm.page;
	/* process_vm_readv()/writev() reach the pages through GUP, as KVM. */
	memset(buf, 0xee, sizeof(buf));
	local = (struct iovec){ buf, sizeof(buf) };
	remote = (struct iovec){ (void *)p, sizeof(buf) };
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	TAP_CHECK(n == (ssize_t)sizeof(buf), "readv: %zd %s", n,
		  strerror(errno));
	TAP_CHECK(!memcmp(buf, zero, sizeof(buf)), "not zero");
	st = vm_stats(&vm);
	TAP_CHECK(st.read_faults == 1 && st.write_upgrades == 0,
		  "after GUP read: %llu/%llu",
		  (unsigned long long)st.read_faults,
		  (unsigned long long)st.write_upgrades);

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	TAP_CHECK(n == (ssize_t)sizeof(buf), "writev: %zd %s", n,
		  strerror(errno));
	st = vm_stats(&vm);
	TAP_CHECK(st.write_upgrades == 1, "after GUP write: %llu upgrades",
		  (unsigned long long)st.write_upgrades);
	for (i = 0; i < sizeof(buf); i++)
		TAP_CHECK(p[i] == (uint8_t)i, "byte %zu", i);
	return TAP_PASS;
}

static int test_concurrent_faults(void)
{
	const int nproc = 4;
	struct bigiron_vm_stats st;
	size_t nr, i, j;
	struct vm vm;
	int k, status;
	pid_t pid;

	VM_SETUP(&vm);
	nr = vm.size / vm.page;
	for (k = 0; k < nproc; k++) {
		pid = fork();
		TAP_CHECK(pid >= 0, "fork");
		if (pid)
			continue;
		/* Each child starts elsewhere and writes its own byte. */
		for (j = 0; j < nr; j++) {
			i = (j + k * nr / nproc) % nr;
			vm.map[i * vm.page + k] = pattern(i, k);
		}
		_exit(0);
	}
	for (k = 0; k < nproc; k++) {
		TAP_CHECK(wait(&status) > 0 && WIFEXITED(status) &&
			  WEXITSTATUS(status) == 0, "child failed");
	}
	for (i = 0; i < nr; i++) {
		for (k = 0; k < nproc; k++)
			TAP_CHECK(vm.map[i * vm.page + k] == pattern(i, k),
				  "page %zu byte %d", i, k);
	}
	st = vm_stats(&vm);
	TAP_CHECK(st.resident_pages == nr, "resident %llu",
		  (unsigned long long)st.resident_pages);
	TAP_CHECK(st.read_faults >= nr, "read_faults %llu",
		  (unsigned long long)st.read_faults);
	return TAP_PASS;
}

/* Read the "name value" lines of the debugfs stats file. */
static int debugfs_stats(uint32_t id, struct bigiron_vm_stats *st)
{
	char path[128], name[64];
	unsigned long long val;
	FILE *f;
	int n = 0;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%" PRIu32 "/stats", id);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %llu", name, &val) == 2) {
		n++;
		if (!strcmp(name, "read_faults"))
			st->read_faults = val;
		else if (!strcmp(name, "write_upgrades"))
			st->write_upgrades = val;
		else if (!strcmp(name, "resident_pages"))
			st->resident_pages = val;
		else if (!strcmp(name, "mem_size"))
			st->mem_size = val;
	}
	fclose(f);
	return n >= 4 ? 0 : -ENODATA;
}

static int test_debugfs_stats(void)
{
	struct bigiron_vm_stats st, dst;
	struct vm vm;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 0, 10, 6);
	touch_read(&vm, 10, 5);
	st = vm_stats(&vm);
	TAP_CHECK(debugfs_stats(vm.id, &dst) == 0, "debugfs stats");
	TAP_CHECK(dst.read_faults == st.read_faults &&
		  dst.write_upgrades == st.write_upgrades &&
		  dst.resident_pages == st.resident_pages &&
		  dst.mem_size == vm.size, "debugfs %llu/%llu/%llu/%llu",
		  (unsigned long long)dst.read_faults,
		  (unsigned long long)dst.write_upgrades,
		  (unsigned long long)dst.resident_pages,
		  (unsigned long long)dst.mem_size);
	TAP_CHECK(st.read_faults == 15 && st.write_upgrades == 10,
		  "counts %llu/%llu", (unsigned long long)st.read_faults,
		  (unsigned long long)st.write_upgrades);
	return TAP_PASS;
}

static int test_unmap_refaults(void)
{
	struct bigiron_vm_stats a, b;
	struct vm vm;
	long bad;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 0, 8, 7);
	a = vm_stats(&vm);
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "unmap", "all") == 0,
		  "unmap all: %s", strerror(errno));

	/* Reading faults every page in again; the data is still there. */
	bad = check_pages(vm.map, vm.page, 0, 8, 7);
	TAP_CHECK(bad < 0, "page %ld lost its data", bad);
	b = vm_stats(&vm);
	TAP_CHECK(b.read_faults == a.read_faults + 8, "read_faults %llu -> %llu",
		  (unsigned long long)a.read_faults,
		  (unsigned long long)b.read_faults);
	TAP_CHECK(b.write_upgrades == a.write_upgrades, "read upgraded");
	TAP_CHECK(b.resident_pages == a.resident_pages, "resident %llu -> %llu",
		  (unsigned long long)a.resident_pages,
		  (unsigned long long)b.resident_pages);

	/* Pages came back read-only: writing upgrades again. */
	fill_pages(vm.map, vm.page, 0, 8, 8);
	a = vm_stats(&vm);
	TAP_CHECK(a.write_upgrades == b.write_upgrades + 8,
		  "write_upgrades %llu -> %llu",
		  (unsigned long long)b.write_upgrades,
		  (unsigned long long)a.write_upgrades);

	/* One page only. */
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "unmap", "3") == 0, "unmap 3");
	touch_read(&vm, 0, 8);
	b = vm_stats(&vm);
	TAP_CHECK(b.read_faults == a.read_faults + 1, "read_faults %llu -> %llu",
		  (unsigned long long)a.read_faults,
		  (unsigned long long)b.read_faults);
	bad = check_pages(vm.map, vm.page, 0, 8, 8);
	TAP_CHECK(bad < 0, "page %ld lost its data", bad);

	/* Bad input is refused. */
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "unmap", "16384") == -EINVAL,
		  "page past the end accepted");
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "unmap", "nonsense") == -EINVAL,
		  "nonsense accepted");
	return TAP_PASS;
}

static int test_wrprotect_reupgrades(void)
{
	struct bigiron_vm_stats a, b;
	struct vm vm;
	long bad;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 0, 8, 9);
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "wrprotect", "all") == 0,
		  "wrprotect all: %s", strerror(errno));
	a = vm_stats(&vm);

	/* Still mapped: reading does not fault. */
	bad = check_pages(vm.map, vm.page, 0, 8, 9);
	TAP_CHECK(bad < 0, "page %ld lost its data", bad);
	b = vm_stats(&vm);
	TAP_CHECK(b.read_faults == a.read_faults, "read faulted");

	/* But read-only: every write upgrades again. */
	fill_pages(vm.map, vm.page, 0, 8, 10);
	b = vm_stats(&vm);
	TAP_CHECK(b.write_upgrades == a.write_upgrades + 8,
		  "write_upgrades %llu -> %llu",
		  (unsigned long long)a.write_upgrades,
		  (unsigned long long)b.write_upgrades);
	TAP_CHECK(b.read_faults == a.read_faults, "write faulted");
	bad = check_pages(vm.map, vm.page, 0, 8, 10);
	TAP_CHECK(bad < 0, "page %ld lost its data", bad);

	/* One page only. */
	TAP_CHECK(bi_vm_debugfs_write(vm.id, "wrprotect", "5") == 0,
		  "wrprotect 5");
	fill_pages(vm.map, vm.page, 0, 8, 11);
	a = vm_stats(&vm);
	TAP_CHECK(a.write_upgrades == b.write_upgrades + 1,
		  "write_upgrades %llu -> %llu",
		  (unsigned long long)b.write_upgrades,
		  (unsigned long long)a.write_upgrades);
	return TAP_PASS;
}

static int test_vm_outlives_memfd(void)
{
	struct bigiron_vm_stats st;
	struct vm vm;

	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 0, 10, 12);
	munmap((void *)vm.map, vm.size);
	close(vm.memfd);
	/* The /dev/bigiron file still holds the VM and its RAM. */
	st = vm_stats(&vm);
	TAP_CHECK(st.resident_pages == 10 && st.write_upgrades == 10,
		  "resident %llu upgrades %llu",
		  (unsigned long long)st.resident_pages,
		  (unsigned long long)st.write_upgrades);
	TAP_CHECK(bi_vm_sysfs_exists(vm.id), "sysfs dir gone early");
	close(vm.devfd);
	TAP_CHECK(!bi_vm_sysfs_exists(vm.id), "sysfs dir left behind");
	return TAP_PASS;
}

static int test_mapping_keeps_vm(void)
{
	struct vm vm;
	long bad;

	VM_SETUP(&vm);
	fill_pages(vm.map, vm.page, 0, 10, 13);
	close(vm.memfd);
	close(vm.devfd);
	TAP_CHECK(bi_vm_sysfs_exists(vm.id), "sysfs dir gone with mapping");
	bad = check_pages(vm.map, vm.page, 0, 10, 13);
	TAP_CHECK(bad < 0, "page %ld lost", bad);
	fill_pages(vm.map, vm.page, 10, 10, 14);
	TAP_CHECK(munmap((void *)vm.map, vm.size) == 0, "munmap");
	TAP_CHECK(!bi_vm_sysfs_exists(vm.id), "sysfs dir left behind");
	return TAP_PASS;
}

static int test_entries_vanish(void)
{
	char path[128];
	struct vm vm;

	VM_SETUP(&vm);
	bi_debugfs_ready();
	touch_read(&vm, 0, 1);
	TAP_CHECK(bi_vm_sysfs_exists(vm.id), "no sysfs dir");
	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%" PRIu32, vm.id);
	if (!bi_exists(BI_DEBUGFS))
		tap_diag("debugfs not available, checking sysfs only");
	else
		TAP_CHECK(bi_exists(path), "no debugfs dir");
	munmap((void *)vm.map, vm.size);
	close(vm.memfd);
	close(vm.devfd);
	TAP_CHECK(!bi_vm_sysfs_exists(vm.id), "sysfs dir left behind");
	TAP_CHECK(!bi_exists(path), "debugfs dir left behind");
	return TAP_PASS;
}

static int test_open_files_across_destroy(void)
{
	char path[128], buf[64];
	int sysfd, dbgfd = -1;
	struct vm vm;
	ssize_t n;

	VM_SETUP(&vm);
	touch_read(&vm, 0, 3);
	snprintf(path, sizeof(path), BI_SYSFS "/vm%" PRIu32 "/read_faults",
		 vm.id);
	sysfd = open(path, O_RDONLY);
	TAP_CHECK(sysfd >= 0, "open %s", path);
	TAP_CHECK(pread(sysfd, buf, sizeof(buf), 0) > 0, "first read");
	if (bi_debugfs_ready()) {
		snprintf(path, sizeof(path), BI_DEBUGFS "/vm%" PRIu32 "/stats",
			 vm.id);
		dbgfd = open(path, O_RDONLY);
		TAP_CHECK(dbgfd >= 0, "open %s", path);
	}

	munmap((void *)vm.map, vm.size);
	close(vm.memfd);
	close(vm.devfd);
	TAP_CHECK(!bi_vm_sysfs_exists(vm.id), "sysfs dir left behind");

	/* The files are still open; reading them must fail cleanly. */
	n = pread(sysfd, buf, sizeof(buf), 0);
	TAP_CHECK(n < 0, "sysfs read after destroy gave %zd", n);
	tap_diag("sysfs read after destroy: %s", strerror(errno));
	close(sysfd);
	if (dbgfd >= 0) {
		n = read(dbgfd, buf, sizeof(buf));
		TAP_CHECK(n < 0, "debugfs read after destroy gave %zd", n);
		tap_diag("debugfs read after destroy: %s", strerror(errno));
		close(dbgfd);
	}
	return TAP_PASS;
}

/* Run fn in a child until killed; return its pid. */
static pid_t start_loop(void (*fn)(uint32_t id, size_t nr,
				   volatile unsigned int *done),
			uint32_t id, size_t nr, volatile unsigned int *done)
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(id, nr, done);
		_exit(0);
	}
	return pid;
}

/* A counter shared with the children. */
static volatile unsigned int *shared_counter(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void hooks_loop(uint32_t id, size_t nr, volatile unsigned int *done)
{
	char page[32];
	unsigned int i;

	for (i = 0;; i++) {
		snprintf(page, sizeof(page), "%zu", (size_t)(i * 7) % nr);
		bi_vm_debugfs_write(id, "unmap", i % 16 ? page : "all");
		bi_vm_debugfs_write(id, "wrprotect", i % 16 ? page : "all");
		*done = i + 1;
	}
}

static int test_hooks_race_faults(void)
{
	const size_t nr = 64;
	volatile unsigned int *done = shared_counter();
	struct bigiron_vm_stats st;
	unsigned int round;
	struct vm vm;
	int status;
	pid_t pid;
	long bad;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	TAP_CHECK(done, "mmap");
	VM_SETUP(&vm);
	pid = start_loop(hooks_loop, vm.id, nr, done);
	TAP_CHECK(pid > 0, "fork");
	/*
	 * Data must survive every unmap and write-protect in between.  Go on
	 * until the other process used the hooks many times.
	 */
	for (round = 0; *done < 200; round++) {
		fill_pages(vm.map, vm.page, 0, nr, round);
		bad = check_pages(vm.map, vm.page, 0, nr, round);
		if (bad >= 0)
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	TAP_CHECK(bad < 0, "round %u: page %ld lost its data", round, bad);
	st = vm_stats(&vm);
	tap_diag("%u rounds, %u hook calls, read_faults %llu write_upgrades %llu",
		 round, *done, (unsigned long long)st.read_faults,
		 (unsigned long long)st.write_upgrades);
	TAP_CHECK(st.resident_pages == nr, "resident %llu",
		  (unsigned long long)st.resident_pages);
	TAP_CHECK(st.write_upgrades > nr + 50, "hooks had little effect");
	return TAP_PASS;
}

static void readers_loop(uint32_t id, size_t nr,
			 volatile unsigned int *done)
{
	static const char * const names[] = {
		"read_faults", "write_upgrades", "resident_pages", "mem_size",
	};
	char path[128], buf[256];
	unsigned int i;
	uint64_t val;
	ssize_t n;
	int fd;

	(void)id;
	(void)nr;
	(void)n;
	for (i = 0;; i++) {
		/* Whatever VM ids exist at the moment. */
		bi_vm_sysfs_u64(i % 8, names[i % 4], &val);
		snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/stats", i % 8);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			/* Fails once the VM is gone; must not crash. */
			n = read(fd, buf, sizeof(buf));
			close(fd);
		}
		bi_vm_debugfs_write(i % 8, "unmap", "all");
		*done = i + 1;
	}
}

static int test_readers_race_destroy(void)
{
	volatile unsigned int *done = shared_counter();
	unsigned int round;
	struct vm vm;
	int status;
	pid_t pid;

	bi_debugfs_ready();
	TAP_CHECK(done, "mmap");
	pid = start_loop(readers_loop, 0, 0, done);
	TAP_CHECK(pid > 0, "fork");
	for (round = 0; round < 100; round++) {
		if (vm_setup(&vm) != TAP_PASS)
			break;
		fill_pages(vm.map, vm.page, 0, 4, round);
		munmap((void *)vm.map, vm.size);
		close(vm.memfd);
		close(vm.devfd);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	tap_diag("%u reader rounds", *done);
	TAP_CHECK(round == 100, "VM setup failed in round %u", round);
	return TAP_PASS;
}

/* Value of one /proc/meminfo line, in kB, or -1. */
static long meminfo_kb(const char *key)
{
	char line[128];
	size_t len = strlen(key);
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static int test_unevictable_and_freed(void)
{
	long before, during, after, want = VM_SIZE / 1024;
	struct vm vm;

	before = meminfo_kb("Unevictable");
	if (before < 0)
		return tap_skip("no Unevictable in /proc/meminfo");
	VM_SETUP(&vm);
	touch_read(&vm, 0, vm.size / vm.page);
	during = meminfo_kb("Unevictable");
	munmap((void *)vm.map, vm.size);
	close(vm.memfd);
	close(vm.devfd);
	after = meminfo_kb("Unevictable");
	tap_diag("Unevictable kB: before %ld, with VM %ld, after %ld", before,
		 during, after);
	/* Allow for per-CPU LRU batches not yet drained. */
	TAP_CHECK(during - before >= want - want / 8, "guest RAM evictable");
	TAP_CHECK(during - after >= want - want / 8, "guest RAM not freed");
	return TAP_PASS;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "read_fault_zero", test_read_fault_zero },
		{ "write_upgrade", test_write_upgrade },
		{ "write_fresh_page", test_write_fresh_page },
		{ "resident_pages", test_resident_pages },
		{ "second_mapping", test_second_mapping },
		{ "dup_fd_mapping", test_dup_fd_mapping },
		{ "fork_shares", test_fork_shares },
		{ "sigbus_beyond_size", test_sigbus_beyond_size },
		{ "gup", test_gup },
		{ "concurrent_faults", test_concurrent_faults },
		{ "debugfs_stats", test_debugfs_stats },
		{ "unmap_refaults", test_unmap_refaults },
		{ "wrprotect_reupgrades", test_wrprotect_reupgrades },
		{ "vm_outlives_memfd", test_vm_outlives_memfd },
		{ "mapping_keeps_vm", test_mapping_keeps_vm },
		{ "entries_vanish", test_entries_vanish },
		{ "open_files_across_destroy", test_open_files_across_destroy },
		{ "hooks_race_faults", test_hooks_race_faults },
		{ "readers_race_destroy", test_readers_race_destroy },
		{ "unevictable_and_freed", test_unevictable_and_freed },
	};
	int ret;

	ret = bi_ensure_module();
	if (ret) {
		printf("# cannot load %s: %s\n", bi_ko_path(), strerror(-ret));
		tap_skip_all("bigiron module not available");
	}
	if (!bi_exists(BI_DEV))
		tap_skip_all(BI_DEV " missing");
	return tap_run(cases, TAP_NCASES(cases));
}
