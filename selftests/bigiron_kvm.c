// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_kvm: a KVM guest running on bigiron memory.
 *
 * A tiny real-mode guest reads a byte, adds one and writes it to another
 * page, then stops with an OUT.  Its RAM is a MAP_SHARED mapping of a
 * bigiron memory file, so KVM reaches the pages through GUP and the
 * module's fault handlers:
 *
 *   guest read of a page this host never touched   .fault (read_faults)
 *   guest write                                    .page_mkwrite
 *   host "unmap" (debugfs)                         KVM drops its mapping;
 *                                                  the guest faults again
 *   host "wrprotect" (debugfs)                     the guest's next write
 *                                                  upgrades again
 *
 * and the guest must always see the host's latest data and the host the
 * guest's.  Skipped when /dev/kvm is missing.
 */
#include <linux/kvm.h>
#include <sys/mman.h>

#include "tap.h"
#include "util.h"

#define GUEST_SIZE	(1024 * 1024)
#define CODE_GPA	0x1000
#define SRC_GPA		0x2000
#define DST_GPA		0x3000
#define DONE_PORT	0x10

/* Real mode, CS = 0: al = [SRC]; al++; [DST] = al; out DONE_PORT, al; hlt */
static const uint8_t guest_code[] = {
	0xa0, SRC_GPA & 0xff, SRC_GPA >> 8,	/* mov al, [SRC_GPA] */
	0xfe, 0xc0,				/* inc al */
	0xa2, DST_GPA & 0xff, DST_GPA >> 8,	/* mov [DST_GPA], al */
	0xe6, DONE_PORT,			/* out DONE_PORT, al */
	0xf4,					/* hlt */
};

struct kvm_env {
	int devfd, memfd, kvmfd, vmfd, vcpufd;
	uint32_t id;
	volatile uint8_t *mem;
	struct kvm_run *run;
};

static int kvm_env_setup(struct kvm_env *e)
{
	struct kvm_userspace_memory_region region;
	struct bigiron_vm_create arg;
	struct kvm_sregs sregs;
	int ret, run_size;

	memset(e, 0, sizeof(*e));
	e->devfd = bi_open_dev();
	TAP_CHECK(e->devfd >= 0, "open %s: %s", BI_DEV, strerror(errno));
	ret = bi_vm_create(e->devfd, GUEST_SIZE, 0, &arg);
	TAP_CHECK(ret == 0, "create: %s", strerror(-ret));
	e->memfd = arg.mem_fd;
	e->id = arg.vm_id;
	e->mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      e->memfd, 0);
	TAP_CHECK(e->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	memcpy((void *)(e->mem + CODE_GPA), guest_code, sizeof(guest_code));

	e->kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TAP_CHECK(e->kvmfd >= 0, "open /dev/kvm: %s", strerror(errno));
	e->vmfd = ioctl(e->kvmfd, KVM_CREATE_VM, 0);
	TAP_CHECK(e->vmfd >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = GUEST_SIZE,
		.userspace_addr = (uintptr_t)e->mem,
	};
	TAP_CHECK(ioctl(e->vmfd, KVM_SET_USER_MEMORY_REGION, &region) == 0,
		  "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	e->vcpufd = ioctl(e->vmfd, KVM_CREATE_VCPU, 0);
	TAP_CHECK(e->vcpufd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	run_size = ioctl(e->kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TAP_CHECK(run_size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	e->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      e->vcpufd, 0);
	TAP_CHECK(e->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));

	TAP_CHECK(ioctl(e->vcpufd, KVM_GET_SREGS, &sregs) == 0, "GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	TAP_CHECK(ioctl(e->vcpufd, KVM_SET_SREGS, &sregs) == 0, "SET_SREGS");
	return TAP_PASS;
}

/* Run the guest from its first instruction to its OUT. */
static int run_guest(struct kvm_env *e)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };

	TAP_CHECK(ioctl(e->vcpufd, KVM_SET_REGS, &regs) == 0, "SET_REGS");
	TAP_CHECK(ioctl(e->vcpufd, KVM_RUN, 0) == 0, "KVM_RUN: %s",
		  strerror(errno));
	TAP_CHECK(e->run->exit_reason == KVM_EXIT_IO &&
		  e->run->io.port == DONE_PORT, "exit reason %u",
		  e->run->exit_reason);
	return TAP_PASS;
}

#define KVM_SETUP(e)							\
	do {								\
		if (kvm_env_setup(e) != TAP_PASS)			\
			return TAP_FAIL;				\
	} while (0)

#define RUN_GUEST(e)							\
	do {								\
		if (run_guest(e) != TAP_PASS)				\
			return TAP_FAIL;				\
	} while (0)

static struct bigiron_vm_stats stats(struct kvm_env *e)
{
	struct bigiron_vm_stats st;

	if (bi_get_stats(e->devfd, &st))
		memset(&st, 0, sizeof(st));
	return st;
}

static int test_guest_faults_in_pages(void)
{
	struct bigiron_vm_stats a, b;
	struct kvm_env e;

	KVM_SETUP(&e);
	a = stats(&e);
	RUN_GUEST(&e);
	b = stats(&e);
	tap_diag("guest run: read_faults +%llu write_upgrades +%llu",
		 (unsigned long long)(b.read_faults - a.read_faults),
		 (unsigned long long)(b.write_upgrades - a.write_upgrades));
	/* SRC read and DST written: two pages in, one made writable. */
	TAP_CHECK(b.read_faults >= a.read_faults + 2, "guest read not seen");
	TAP_CHECK(b.write_upgrades >= a.write_upgrades + 1,
		  "guest write not seen");
	TAP_CHECK(b.resident_pages == 3, "resident %llu",
		  (unsigned long long)b.resident_pages);
	TAP_CHECK(e.mem[DST_GPA] == 1, "host sees %u", e.mem[DST_GPA]);
	return TAP_PASS;
}

static int test_unmap_refaults_guest(void)
{
	struct bigiron_vm_stats a, b;
	struct kvm_env e;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	KVM_SETUP(&e);
	RUN_GUEST(&e);
	e.mem[SRC_GPA] = 41;
	TAP_CHECK(bi_vm_debugfs_write(e.id, "unmap", "all") == 0, "unmap");
	a = stats(&e);
	RUN_GUEST(&e);
	b = stats(&e);
	tap_diag("after unmap: read_faults +%llu write_upgrades +%llu",
		 (unsigned long long)(b.read_faults - a.read_faults),
		 (unsigned long long)(b.write_upgrades - a.write_upgrades));
	/* Code, SRC and DST all came back through .fault. */
	TAP_CHECK(b.read_faults >= a.read_faults + 3, "guest did not refault");
	TAP_CHECK(b.write_upgrades >= a.write_upgrades + 1,
		  "guest write did not upgrade");
	TAP_CHECK(e.mem[DST_GPA] == 42, "host sees %u, want 42",
		  e.mem[DST_GPA]);
	return TAP_PASS;
}

static int test_wrprotect_reupgrades_guest(void)
{
	struct bigiron_vm_stats a, b;
	struct kvm_env e;

	if (!bi_debugfs_ready())
		return tap_skip("debugfs not available");
	KVM_SETUP(&e);
	RUN_GUEST(&e);
	e.mem[SRC_GPA] = 99;
	TAP_CHECK(bi_vm_debugfs_write(e.id, "wrprotect", "all") == 0,
		  "wrprotect");
	a = stats(&e);
	RUN_GUEST(&e);
	b = stats(&e);
	tap_diag("after wrprotect: read_faults +%llu write_upgrades +%llu",
		 (unsigned long long)(b.read_faults - a.read_faults),
		 (unsigned long long)(b.write_upgrades - a.write_upgrades));
	TAP_CHECK(b.read_faults == a.read_faults, "pages were refaulted");
	TAP_CHECK(b.write_upgrades >= a.write_upgrades + 1,
		  "guest write did not upgrade");
	TAP_CHECK(e.mem[DST_GPA] == 100, "host sees %u, want 100",
		  e.mem[DST_GPA]);

	/* And the guest sees the host's writes without any hook at all. */
	e.mem[SRC_GPA] = 7;
	RUN_GUEST(&e);
	TAP_CHECK(e.mem[DST_GPA] == 8, "host sees %u, want 8", e.mem[DST_GPA]);
	return TAP_PASS;
}

static int test_vm_teardown(void)
{
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };
	struct kvm_env e;
	int ret;

	KVM_SETUP(&e);
	RUN_GUEST(&e);
	/* The mapping alone keeps the memory alive for KVM. */
	close(e.memfd);
	close(e.devfd);
	e.mem[SRC_GPA] = 5;
	RUN_GUEST(&e);
	TAP_CHECK(e.mem[DST_GPA] == 6, "host sees %u, want 6", e.mem[DST_GPA]);

	/*
	 * Without it the VM goes although KVM still has the memslot: KVM
	 * learns through its MMU notifier and fails the next run.
	 */
	munmap((void *)e.mem, GUEST_SIZE);
	TAP_CHECK(!bi_vm_sysfs_exists(e.id), "VM left behind");
	TAP_CHECK(ioctl(e.vcpufd, KVM_SET_REGS, &regs) == 0, "SET_REGS");
	ret = ioctl(e.vcpufd, KVM_RUN, 0);
	tap_diag("KVM_RUN without memory: %d (%s), exit reason %u", ret,
		 ret ? strerror(errno) : "ok", e.run->exit_reason);
	TAP_CHECK(ret < 0 || e.run->exit_reason != KVM_EXIT_IO,
		  "guest ran without memory");
	return TAP_PASS;
}

int main(void)
{
	static const struct tap_case cases[] = {
		{ "guest_faults_in_pages", test_guest_faults_in_pages },
		{ "unmap_refaults_guest", test_unmap_refaults_guest },
		{ "wrprotect_reupgrades_guest",
		  test_wrprotect_reupgrades_guest },
		{ "vm_teardown", test_vm_teardown },
	};
	int ret;

	ret = bi_ensure_module();
	if (ret) {
		printf("# cannot load %s: %s\n", bi_ko_path(), strerror(-ret));
		tap_skip_all("bigiron module not available");
	}
	if (!bi_exists(BI_DEV))
		tap_skip_all(BI_DEV " missing");
	if (!bi_exists("/dev/kvm"))
		tap_skip_all("/dev/kvm missing");
	return tap_run(cases, TAP_NCASES(cases));
}
