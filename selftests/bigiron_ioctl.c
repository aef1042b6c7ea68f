// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_ioctl: the ioctl ABI of /dev/bigiron, valid and invalid input.
 *
 * Errors checked:
 *   bad size field, unknown flag, non-zero reserved, bad mem_size  EINVAL
 *   unknown command, known number with another encoded size      ENOTTY
 *   bad user pointer                                             EFAULT
 *   VM_GET_STATS before VM_CREATE on that file                   ENXIO
 *   second VM_CREATE on one file                                 EEXIST
 */
#include <dirent.h>
#include <sys/mman.h>

#include "tap.h"
#include "util.h"

#define MiB		(1024ULL * 1024)
#define VM_SIZE		(16 * MiB)

static int open_dev_or_fail(void)
{
	int fd = bi_open_dev();

	if (fd < 0)
		tap_diag("open %s: %s", BI_DEV, strerror(errno));
	return fd;
}

static struct bigiron_vm_create good_create(void)
{
	struct bigiron_vm_create arg = {
		.size = sizeof(arg),
		.mem_size = VM_SIZE,
	};

	return arg;
}

/* ioctl() result as 0 or -errno. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int count_vm_dirs(void)
{
	struct dirent *de;
	DIR *dir;
	int n = 0;

	dir = opendir(BI_SYSFS);
	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		n += !strncmp(de->d_name, "vm", 2);
	closedir(dir);
	return n;
}

/* Lowest free descriptor number. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int test_get_version(void)
{
	struct bigiron_version ver;
	int fd = open_dev_or_fail();

	TAP_CHECK(fd >= 0, "no device");
	memset(&ver, 0xff, sizeof(ver));
	TAP_CHECK(xioctl(fd, BIGIRON_GET_VERSION, &ver) == 0, "%s",
		  strerror(errno));
	TAP_CHECK(ver.abi_version == BIGIRON_ABI_VERSION, "abi %u",
		  ver.abi_version);
	TAP_CHECK(!ver.reserved[0] && !ver.reserved[1] && !ver.reserved[2],
		  "reserved not zero");
	tap_diag("abi_version %u features 0x%x", ver.abi_version,
		 ver.features);
	return TAP_PASS;
}

static int expect_create_einval(int fd, struct bigiron_vm_create arg,
				const char *what)
{
	int ret = xioctl(fd, BIGIRON_VM_CREATE, &arg);

	if (ret != -EINVAL) {
		tap_diag("%s: got %d (%s), want EINVAL", what, ret,
			 strerror(-ret));
		return TAP_FAIL;
	}
	return TAP_PASS;
}

static int test_create_bad_size_field(void)
{
	struct bigiron_vm_create arg = good_create();
	int fd = open_dev_or_fail(), bad = 0;

	TAP_CHECK(fd >= 0, "no device");
	arg.size = sizeof(arg) - 8;
	bad |= expect_create_einval(fd, arg, "size - 8");
	arg.size = sizeof(arg) + 8;
	bad |= expect_create_einval(fd, arg, "size + 8");
	arg.size = 0;
	bad |= expect_create_einval(fd, arg, "size 0");
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_create_unknown_flag(void)
{
	struct bigiron_vm_create arg = good_create();
	int fd = open_dev_or_fail(), bad = 0, bit;

	TAP_CHECK(fd >= 0, "no device");
	for (bit = 0; bit < 32; bit++) {
		if (BIGIRON_VM_CREATE_FLAGS & (1U << bit))
			continue;
		arg.flags = 1U << bit;
		bad |= expect_create_einval(fd, arg, "unknown flag");
	}
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_create_reserved_nonzero(void)
{
	struct bigiron_vm_create arg;
	int fd = open_dev_or_fail(), bad = 0;
	unsigned int i;

	TAP_CHECK(fd >= 0, "no device");
	for (i = 0; i < sizeof(arg.reserved) / sizeof(arg.reserved[0]); i++) {
		arg = good_create();
		arg.reserved[i] = 1ULL << (i * 13);
		bad |= expect_create_einval(fd, arg, "reserved");
	}
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_create_bad_mem_size(void)
{
	struct bigiron_vm_create arg = good_create();
	uint64_t max_mb;
	int fd = open_dev_or_fail(), bad = 0;

	TAP_CHECK(fd >= 0, "no device");
	arg.mem_size = 0;
	bad |= expect_create_einval(fd, arg, "mem_size 0");
	arg.mem_size = 4096 + 1;
	bad |= expect_create_einval(fd, arg, "mem_size 4097");
	arg.mem_size = 2048;
	bad |= expect_create_einval(fd, arg, "mem_size 2048");
	arg.mem_size = VM_SIZE - 512;
	bad |= expect_create_einval(fd, arg, "mem_size 16 MiB - 512");
	arg.mem_size = BIGIRON_MAX_MEM_SIZE + 4096;
	bad |= expect_create_einval(fd, arg, "mem_size max + 4096");
	arg.mem_size = -4096ULL;
	bad |= expect_create_einval(fd, arg, "mem_size 2^64 - 4096");

	TAP_CHECK(bi_read_u64_file(BI_MODULE_SYSFS "/parameters/max_mem_mb",
				   &max_mb) == 0, "max_mem_mb unreadable");
	tap_diag("max_mem_mb %" PRIu64, max_mb);
	if (max_mb && max_mb < (BIGIRON_MAX_MEM_SIZE >> 20)) {
		arg.mem_size = max_mb * MiB + 4096;
		bad |= expect_create_einval(fd, arg, "max_mem_mb + 4096");
	}
	/* A failed create leaves the file free for a good one. */
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, NULL) == 0,
		  "good create after bad ones failed");
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_unknown_command(void)
{
	char buf[256] = { 0 };
	int fd = open_dev_or_fail(), ret, bad = 0;
	unsigned long cmds[] = {
		_IO(BIGIRON_IOCTL_MAGIC, 0x7f),
		_IOWR(BIGIRON_IOCTL_MAGIC, 0x03, struct bigiron_vm_stats),
		_IOR('K', 0x00, struct bigiron_version),
		_IO(0, 0),
		0xffffffffUL,
	};
	unsigned int i;

	TAP_CHECK(fd >= 0, "no device");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ret = xioctl(fd, cmds[i], buf);
		if (ret != -ENOTTY) {
			tap_diag("cmd 0x%lx: %d, want ENOTTY", cmds[i], ret);
			bad = 1;
		}
	}
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_wrong_encoded_size(void)
{
	char buf[256] = { 0 };
	int fd = open_dev_or_fail(), ret, bad = 0;
	unsigned long cmds[] = {
		_IOR(BIGIRON_IOCTL_MAGIC, 0x00, uint64_t),
		_IOWR(BIGIRON_IOCTL_MAGIC, 0x01, uint64_t),
		_IOWR(BIGIRON_IOCTL_MAGIC, 0x01, char[sizeof(struct bigiron_vm_create) + 8]),
		_IOWR(BIGIRON_IOCTL_MAGIC, 0x02, char[sizeof(struct bigiron_vm_stats) - 8]),
		_IOW(BIGIRON_IOCTL_MAGIC, 0x01, struct bigiron_vm_create),
		_IO(BIGIRON_IOCTL_MAGIC, 0x00),
	};
	unsigned int i;

	TAP_CHECK(fd >= 0, "no device");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ret = xioctl(fd, cmds[i], buf);
		if (ret != -ENOTTY) {
			tap_diag("cmd 0x%lx: %d, want ENOTTY", cmds[i], ret);
			bad = 1;
		}
	}
	return bad ? TAP_FAIL : TAP_PASS;
}

static int test_bad_pointer(void)
{
	struct bigiron_vm_create arg = good_create();
	int fd = open_dev_or_fail(), ret, bad = 0;
	void *ptrs[] = { NULL, (void *)1, (void *)-4096L,
			 (void *)0xffff800000000000UL };
	unsigned int i;

	TAP_CHECK(fd >= 0, "no device");
	for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		ret = xioctl(fd, BIGIRON_GET_VERSION, ptrs[i]);
		bad |= ret != -EFAULT;
		ret = xioctl(fd, BIGIRON_VM_CREATE, ptrs[i]);
		bad |= ret != -EFAULT;
		ret = xioctl(fd, BIGIRON_VM_GET_STATS, ptrs[i]);
		bad |= ret != -EFAULT;
		if (bad) {
			tap_diag("pointer %p: %d", ptrs[i], ret);
			return TAP_FAIL;
		}
	}
	/* And with a VM present. */
	TAP_CHECK(xioctl(fd, BIGIRON_VM_CREATE, &arg) == 0, "create: %s",
		  strerror(errno));
	TAP_CHECK(xioctl(fd, BIGIRON_VM_GET_STATS, (void *)8) == -EFAULT,
		  "stats with VM");
	return TAP_PASS;
}

static int test_create_copy_out_fault(void)
{
	struct bigiron_vm_create *arg;
	int fd = open_dev_or_fail(), free_fd, dirs, ret;
	size_t page = bi_page_size();

	TAP_CHECK(fd >= 0, "no device");
	arg = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TAP_CHECK(arg != MAP_FAILED, "mmap");
	*arg = good_create();
	TAP_CHECK(mprotect(arg, page, PROT_READ) == 0, "mprotect");

	free_fd = lowest_free_fd();
	dirs = count_vm_dirs();
	/* The arguments can be read but not written back. */
	ret = xioctl(fd, BIGIRON_VM_CREATE, arg);
	TAP_CHECK(ret == -EFAULT, "got %d, want EFAULT", ret);
	TAP_CHECK(lowest_free_fd() == free_fd, "descriptor leaked");
	TAP_CHECK(count_vm_dirs() == dirs, "VM left behind: %d dirs, was %d",
		  count_vm_dirs(), dirs);

	/* The file has no VM: stats fail, a good create works. */
	TAP_CHECK(xioctl(fd, BIGIRON_VM_GET_STATS,
			 &(struct bigiron_vm_stats){ .size = sizeof(struct bigiron_vm_stats) })
		  == -ENXIO, "stats after failed create");
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, NULL) == 0,
		  "create after failed create");
	return TAP_PASS;
}

static int test_stats_before_create(void)
{
	struct bigiron_vm_stats st;
	int fd = open_dev_or_fail(), ret;

	TAP_CHECK(fd >= 0, "no device");
	ret = bi_get_stats(fd, &st);
	TAP_CHECK(ret == -ENXIO, "got %d (%s), want ENXIO", ret,
		  strerror(-ret));
	return TAP_PASS;
}

static int test_stats_bad_args(void)
{
	struct bigiron_vm_stats st;
	int fd = open_dev_or_fail(), ret, i;

	TAP_CHECK(fd >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, NULL) == 0, "create");

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st) - 8;
	TAP_CHECK(xioctl(fd, BIGIRON_VM_GET_STATS, &st) == -EINVAL, "size");
	st.size = sizeof(st);
	st.flags = 1;
	TAP_CHECK(xioctl(fd, BIGIRON_VM_GET_STATS, &st) == -EINVAL, "flags");
	for (i = 0; i < 8; i++) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.reserved[i] = 1;
		ret = xioctl(fd, BIGIRON_VM_GET_STATS, &st);
		TAP_CHECK(ret == -EINVAL, "reserved[%d]: %d", i, ret);
	}
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.read_faults = 12345;	/* out fields may hold anything on input */
	TAP_CHECK(xioctl(fd, BIGIRON_VM_GET_STATS, &st) == 0, "good stats");
	TAP_CHECK(st.mem_size == VM_SIZE, "mem_size %" PRIu64,
		  (uint64_t)st.mem_size);
	TAP_CHECK(st.read_faults == 0 && st.write_upgrades == 0 &&
		  st.resident_pages == 0, "fresh VM has counts");
	for (i = 0; i < 8; i++)
		TAP_CHECK(st.reserved[i] == 0, "reserved out");
	return TAP_PASS;
}

static int test_create_ok(void)
{
	struct bigiron_vm_create arg = good_create();
	uint64_t val;
	struct stat st;
	int fd = open_dev_or_fail();

	TAP_CHECK(fd >= 0, "no device");
	arg.mem_fd = -12345;
	arg.vm_id = 0xdeadbeef;
	TAP_CHECK(xioctl(fd, BIGIRON_VM_CREATE, &arg) == 0, "create: %s",
		  strerror(errno));
	tap_diag("mem_fd %d vm_id %u", arg.mem_fd, arg.vm_id);
	TAP_CHECK(arg.mem_fd >= 0, "mem_fd %d", arg.mem_fd);
	TAP_CHECK(fcntl(arg.mem_fd, F_GETFD) >= 0, "mem_fd not open");
	TAP_CHECK((fcntl(arg.mem_fd, F_GETFL) & O_ACCMODE) == O_RDWR,
		  "mem_fd not read-write");
	TAP_CHECK(bi_vm_sysfs_exists(arg.vm_id), "no sysfs dir");
	TAP_CHECK(bi_vm_sysfs_u64(arg.vm_id, "mem_size", &val) == 0 &&
		  val == VM_SIZE, "sysfs mem_size");
	TAP_CHECK(fstat(arg.mem_fd, &st) == 0, "fstat");
	TAP_CHECK(S_ISREG(st.st_mode), "mode 0%o", st.st_mode);
	TAP_CHECK(st.st_size == (off_t)VM_SIZE, "st_size %lld",
		  (long long)st.st_size);
	return TAP_PASS;
}

static int test_double_create(void)
{
	struct bigiron_vm_create a, b = good_create();
	int fd = open_dev_or_fail(), ret;

	TAP_CHECK(fd >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, &a) == 0, "first create");
	ret = xioctl(fd, BIGIRON_VM_CREATE, &b);
	TAP_CHECK(ret == -EEXIST, "second create: %d", ret);
	/* Still the first VM. */
	TAP_CHECK(bi_vm_sysfs_exists(a.vm_id), "first VM gone");
	return TAP_PASS;
}

static int test_two_files_two_vms(void)
{
	struct bigiron_vm_create a, b;
	int fd1 = open_dev_or_fail(), fd2 = open_dev_or_fail();

	TAP_CHECK(fd1 >= 0 && fd2 >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd1, VM_SIZE, 0, &a) == 0, "create 1");
	TAP_CHECK(bi_vm_create(fd2, 2 * VM_SIZE, 0, &b) == 0, "create 2");
	TAP_CHECK(a.vm_id != b.vm_id, "same vm_id %u", a.vm_id);
	TAP_CHECK(a.mem_fd != b.mem_fd, "same mem_fd");
	return TAP_PASS;
}

static int test_cloexec_flag(void)
{
	struct bigiron_vm_create a, b;
	int fd1 = open_dev_or_fail(), fd2 = open_dev_or_fail();

	TAP_CHECK(fd1 >= 0 && fd2 >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd1, VM_SIZE, 0, &a) == 0, "create");
	TAP_CHECK(bi_vm_create(fd2, VM_SIZE, BIGIRON_VM_CREATE_CLOEXEC,
			       &b) == 0, "create cloexec");
	TAP_CHECK(!(fcntl(a.mem_fd, F_GETFD) & FD_CLOEXEC), "cloexec set");
	TAP_CHECK(fcntl(b.mem_fd, F_GETFD) & FD_CLOEXEC, "cloexec not set");
	return TAP_PASS;
}

static int test_map_private_refused(void)
{
	struct bigiron_vm_create a;
	int fd = open_dev_or_fail();
	void *p;

	TAP_CHECK(fd >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, &a) == 0, "create");
	p = mmap(NULL, VM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 a.mem_fd, 0);
	TAP_CHECK(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE: %p %s",
		  p, strerror(errno));
	p = mmap(NULL, VM_SIZE, PROT_READ, MAP_PRIVATE, a.mem_fd, 0);
	TAP_CHECK(p == MAP_FAILED && errno == EINVAL,
		  "read-only MAP_PRIVATE: %p %s", p, strerror(errno));
	p = mmap(NULL, VM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 a.mem_fd, 0);
	TAP_CHECK(p != MAP_FAILED, "MAP_SHARED: %s", strerror(errno));
	return TAP_PASS;
}

static int test_memfd_fixed_size(void)
{
	struct bigiron_vm_create a;
	char buf[16] = { 0 };
	struct stat st;
	int fd = open_dev_or_fail();

	TAP_CHECK(fd >= 0, "no device");
	TAP_CHECK(bi_vm_create(fd, VM_SIZE, 0, &a) == 0, "create");
	TAP_CHECK(ftruncate(a.mem_fd, VM_SIZE / 2) == -1 && errno == EINVAL,
		  "shrink: %s", strerror(errno));
	TAP_CHECK(ftruncate(a.mem_fd, 2 * VM_SIZE) == -1 && errno == EINVAL,
		  "grow: %s", strerror(errno));
	TAP_CHECK(fstat(a.mem_fd, &st) == 0 && st.st_size == (off_t)VM_SIZE,
		  "size changed");
	/* No read()/write() on guest RAM; only mmap(). */
	TAP_CHECK(read(a.mem_fd, buf, sizeof(buf)) < 0, "read worked");
	TAP_CHECK(write(a.mem_fd, buf, sizeof(buf)) < 0, "write worked");
	return TAP_PASS;
}

/* xorshift: reproducible input for the random cases. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int test_random_input(void)
{
	union {
		uint64_t raw[64];
		struct bigiron_vm_create create;
	} buf;
	unsigned int dir, nr, size;
	int fd = -1, i, j, created = 0;
	unsigned long cmd;
	void *arg;

	for (i = 0; i < 20000; i++) {
		if (i % 1000 == 0) {
			if (fd >= 0)
				close(fd);
			fd = open_dev_or_fail();
			TAP_CHECK(fd >= 0, "no device");
		}
		for (j = 0; j < 64; j++)
			buf.raw[j] = rnd();
		/* Mostly our own commands, with random arguments. */
		switch (rnd() % 4) {
		case 0:
			cmd = BIGIRON_VM_CREATE;
			buf.create.size = sizeof(buf.create);
			if (rnd() % 2)
				memset(buf.create.reserved, 0,
				       sizeof(buf.create.reserved));
			break;
		case 1:
			cmd = BIGIRON_VM_GET_STATS;
			break;
		default:
			dir = rnd() % 4;
			nr = rnd() % 8;
			size = rnd() % sizeof(buf);
			cmd = _IOC(dir, BIGIRON_IOCTL_MAGIC, nr, size);
			break;
		}
		arg = rnd() % 8 ? (void *)&buf : (void *)(uintptr_t)rnd();
		if (ioctl(fd, cmd, arg) == 0 && cmd == BIGIRON_VM_CREATE)
			created++;
	}
	close(fd);
	tap_diag("%d random creates succeeded", created);
	return TAP_PASS;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "get_version", test_get_version },
		{ "create_bad_size_field", test_create_bad_size_field },
		{ "create_unknown_flag", test_create_unknown_flag },
		{ "create_reserved_nonzero", test_create_reserved_nonzero },
		{ "create_bad_mem_size", test_create_bad_mem_size },
		{ "unknown_command", test_unknown_command },
		{ "wrong_encoded_size", test_wrong_encoded_size },
		{ "bad_pointer", test_bad_pointer },
		{ "create_copy_out_fault", test_create_copy_out_fault },
		{ "stats_before_create", test_stats_before_create },
		{ "stats_bad_args", test_stats_bad_args },
		{ "create_ok", test_create_ok },
		{ "double_create", test_double_create },
		{ "two_files_two_vms", test_two_files_two_vms },
		{ "cloexec_flag", test_cloexec_flag },
		{ "map_private_refused", test_map_private_refused },
		{ "memfd_fixed_size", test_memfd_fixed_size },
		{ "random_input", test_random_input },
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
