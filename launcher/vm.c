// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: set up, run and tear down the virtual machine.
 *
 * Setup reads top to bottom: /dev/kvm, /dev/bigiron, the VM, in a cluster
 * the join of the other nodes, its RAM, the guest image and tables (on the
 * I/O node only), the devices, the vCPUs and their threads. The
 * threads wait for vm_run() to let them go, so every mapping and every
 * thread stack exists before the first KVM_RUN. Teardown mirrors setup.
 *
 * Locking: start_lock/start_cond guard the start flag only. The stop
 * reason is an atomic; stop_msg is written once, by the thread that set it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi.h"
#include "boot.h"
#include "cluster.h"
#include "layout.h"
#include "log.h"
#include "virtio.h"
#include "vm.h"

#define KERNEL_MAX_SIZE		(256ULL << 20)

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static bool start_go;

bool vm_stopping(const struct vm *vm)
{
	return atomic_load(&vm->stop) != VM_RUNNING;
}

static void vm_do_stop(struct vm *vm, enum vm_stop reason, bool tell,
		       const char *fmt, va_list ap)
{
	int expected = VM_RUNNING;
	unsigned int i;

	if (!atomic_compare_exchange_strong(&vm->stop, &expected, (int)reason))
		return;
	vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
	if (tell)
		ssi_send_stop(vm, reason, vm->stop_msg);
	if (reason == VM_STOP_ERROR)
		log_error("%s", vm->stop_msg);
	else
		log_info("%s", vm->stop_msg);

	for (i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_kill(vm->main_thread, VM_SIG_STOPPED);
}

void vm_request_stop(struct vm *vm, enum vm_stop reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_do_stop(vm, reason, true, fmt, ap);
	va_end(ap);
}

void vm_request_stop_remote(struct vm *vm, enum vm_stop reason,
			    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_do_stop(vm, reason, false, fmt, ap);
	va_end(ap);
}

static void kick_handler(int sig)
{
	(void)sig;		/* only there to make KVM_RUN return EINTR */
}

static int read_file(const char *what, const char *path, uint8_t **out,
		     size_t *size)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > KERNEL_MAX_SIZE) {
		log_error("%s %s: not a regular file of at most 256 MiB", what,
			  path);
		close(fd);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		log_error("out of memory");
		close(fd);
		return -1;
	}
	while (done < (size_t)st.st_size) {
		r = read(fd, buf + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_error("%s %s: %s", what, path,
				  r < 0 ? strerror(errno) : "short read");
			free(buf);
			close(fd);
			return -1;
		}
		done += (size_t)r;
	}
	close(fd);
	*out = buf;
	*size = done;
	return 0;
}

/* Read the initrd straight into guest RAM at the top of the allowed range. */
static int load_initrd(struct vm *vm, const struct boot_image *img,
		       uint64_t *addr, uint64_t *size)
{
	const char *path = vm->cfg->initrd;
	struct stat st;
	uint64_t done = 0;
	ssize_t r;
	int fd;

	*addr = *size = 0;
	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_error("initrd %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("initrd %s: not a regular file", path);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	*addr = boot_initrd_addr(img, vm->mem_size, *size);
	if (!*addr) {
		log_error("initrd %s (%llu bytes) does not fit between the kernel (ends at 0x%llx) and the end of RAM or initrd_addr_max (0x%x)",
			  path, (unsigned long long)*size,
			  (unsigned long long)(img->load_addr + img->init_size),
			  img->initrd_addr_max);
		close(fd);
		return -1;
	}
	while (done < *size) {
		r = read(fd, vm->mem + *addr + done, *size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_error("initrd %s: %s", path,
				  r < 0 ? strerror(errno) : "short read");
			close(fd);
			return -1;
		}
		done += (uint64_t)r;
	}
	close(fd);
	return 0;
}

/*
 * The guest's NUMA layout for SRAT and SLIT: with a cluster, one node per
 * host, home of its [node.N] memory and running its vCPUs, so that the
 * guest allocates a CPU's memory where that CPU runs. NULL without one.
 */
static const struct acpi_numa *vm_numa(const struct config *cfg,
				       struct acpi_numa *numa,
				       uint64_t *start, uint64_t *size,
				       uint8_t *vcpu_node)
{
	unsigned int n, v;

	if (!cfg->cluster.nr_nodes)
		return NULL;
	for (n = 0; n < cfg->cluster.nr_nodes; n++) {
		start[n] = cfg->cluster.nodes[n].home_start;
		size[n] = cfg->cluster.nodes[n].home_size;
		for (v = 0; v < cfg->vcpus; v++)
			if (cfg->cluster.nodes[n].vcpu_mask & (1ULL << v))
				vcpu_node[v] = (uint8_t)n;
	}
	numa->nodes = cfg->cluster.nr_nodes;
	numa->start = start;
	numa->size = size;
	numa->vcpu_node = vcpu_node;
	return numa;
}

static int vm_load_guest(struct vm *vm, struct boot_info *info)
{
	const struct config *cfg = vm->cfg;
	struct acpi_mmio_dev vdevs[VIRTIO_DEVS_MAX];
	uint64_t start[CONFIG_NODES_MAX], size[CONFIG_NODES_MAX];
	uint8_t vcpu_node[CONFIG_VCPUS_MAX] = { 0 };
	struct acpi_numa numa;
	struct acpi_tables acpi;
	struct boot_image img;
	uint64_t initrd_addr, initrd_size;
	char *cmdline = NULL;
	uint8_t *kernel;
	size_t ksize;
	char err[256];
	int ret = -1, khz;

	if (read_file("kernel", cfg->kernel, &kernel, &ksize))
		return -1;
	/*
	 * Over several hosts the guest's clock is the TSC (cpuid.c), and a
	 * hardware-reduced guest has no PIT or HPET to measure it against:
	 * the command line tells it the frequency KVM runs it at.
	 */
	if (vm->ssi.active) {
		khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
		if (khz <= 0) {
			log_error("KVM_GET_TSC_KHZ: %s", strerror(errno));
			goto out;
		}
		if (asprintf(&cmdline, "%s tsc_early_khz=%d", cfg->cmdline,
			     khz) < 0) {
			cmdline = NULL;
			log_error("out of memory");
			goto out;
		}
	}
	if (boot_parse_bzimage(kernel, ksize, &img, err, sizeof(err))) {
		log_error("kernel %s: %s", cfg->kernel, err);
		goto out;
	}
	if (load_initrd(vm, &img, &initrd_addr, &initrd_size))
		goto out;
	if (acpi_build_numa(vm->mem + LAYOUT_ACPI, LAYOUT_ACPI_SIZE,
			    LAYOUT_ACPI, vm->nvcpus, vdevs,
			    virtio_acpi_devices(cfg, vdevs, VIRTIO_DEVS_MAX),
			    vm_numa(cfg, &numa, start, size, vcpu_node),
			    &acpi)) {
		log_error("ACPI tables do not fit in %llu bytes",
			  (unsigned long long)LAYOUT_ACPI_SIZE);
		goto out;
	}
	if (boot_setup(vm->mem, vm->mem_size, &img,
		       cmdline ? cmdline : cfg->cmdline, initrd_addr,
		       initrd_size, acpi.rsdp, info, err, sizeof(err))) {
		log_error("kernel %s: %s", cfg->kernel, err);
		goto out;
	}
	log_debug("kernel: boot protocol %u.%02u, loaded at 0x%llx, entry 0x%llx",
		  img.version >> 8, img.version & 0xFF,
		  (unsigned long long)img.load_addr,
		  (unsigned long long)info->entry);
	if (initrd_size)
		log_debug("initrd: %llu bytes at 0x%llx",
			  (unsigned long long)initrd_size,
			  (unsigned long long)initrd_addr);
	ret = 0;
out:
	free(cmdline);
	free(kernel);
	return ret;
}

static int ioapic_deliver(void *opaque, const struct ioapic_msi *msi)
{
	return kvm_signal_msi(opaque, msi->address, msi->data);
}

static void ioapic_routes(void *opaque, const uint64_t *redir, uint64_t gen)
{
	kvm_set_ioapic_routes(opaque, redir);
	/* the other hosts' KVMs report these vectors' EOIs too */
	ssi_send_routes(opaque, redir, gen);
}

/* May @msi reach a vCPU of another host? (the IOAPIC then waits for routes) */
static bool ioapic_remote_dest(void *opaque, const struct ioapic_msi *msi)
{
	struct vm *vm = opaque;

	return cluster_dest_may_be_remote(vm->cfg, vm->self,
					  (uint32_t)(msi->address >>
						     MSI_ADDR_DEST_SHIFT) & 0xFF,
					  msi->address &
					  MSI_ADDR_DESTMODE_LOGICAL);
}

static void com1_irq(void *opaque, bool level)
{
	struct vm *vm = opaque;

	ioapic_set_irq(&vm->ioapic, IRQ_COM1, level);
}

static int vm_setup_devices(struct vm *vm)
{
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	/* Elsewhere every access goes to the I/O node (vcpu.c). */
	if (!cluster_is_io_node(vm->cfg, vm->self))
		return 0;
	ioapic_init(&vm->ioapic, ioapic_deliver, ioapic_routes, vm);
	if (vm->ssi.active)
		ioapic_set_remote(&vm->ioapic, ioapic_remote_dest);
	serial_init(&vm->com1, console_tx, com1_irq, vm);
	vm->devices_ready = true;

	if (io_register(&vm->mmio, LAYOUT_IOAPIC, LAYOUT_IOAPIC_SIZE,
			ioapic_mmio, &vm->ioapic, "ioapic") ||
	    io_register(&vm->pio, PORT_COM1, 8, serial_pio, &vm->com1, "com1") ||
	    power_init(vm))
		return -1;
	/* virtio: the I/O node's devices */
	if (virtio_setup(vm))
		return -1;
	return 0;
}

/*
 * Signals: the main thread takes INT, TERM, HUP and VM_SIG_STOPPED with
 * sigwait(); every thread blocks them. vCPU threads unblock VM_SIG_KICK,
 * whose handler does nothing and is installed without SA_RESTART.
 */
static int vm_setup_signals(struct vm *vm)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VM_SIG_KICK, &sa, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, VM_SIG_STOPPED);
	sigaddset(&set, VM_SIG_KICK);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vm->main_thread = pthread_self();
	return 0;
}

/*
 * Which vCPUs this host runs is cluster_host_vcpus()'s decision. vCPU 0
 * starts the guest at the kernel's entry point, so it runs where the
 * kernel is loaded: on the I/O node.
 */
static int vm_pick_vcpus(struct vm *vm)
{
	const struct config *cfg = vm->cfg;

	vm->nvcpus = cfg->vcpus;
	vm->vcpus_here = cluster_host_vcpus(cfg, vm->self);
	if (cfg->cluster.nr_nodes &&
	    !(cluster_host_vcpus(cfg, cfg->cluster.io_node) & 1)) {
		log_error("vCPU 0 boots the guest and must run on the I/O node (node %u)",
			  cfg->cluster.io_node);
		return -1;
	}
	return 0;
}

static bool vm_vcpu_here(const struct vm *vm, unsigned int id)
{
	return (vm->vcpus_here >> id) & 1;
}

int vm_setup(struct vm *vm, const struct config *cfg, unsigned int self)
{
	struct boot_info info;
	bool io_node = cluster_is_io_node(cfg, self);
	const char *bypass;
	unsigned int i;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->self = self;
	ssi_init(vm);
	vm->kvm_fd = vm->vm_fd = vm->bigiron_fd = vm->mem_fd = -1;
	for (i = 0; i < CONFIG_VCPUS_MAX; i++)
		vm->vcpus[i].fd = -1;
	atomic_init(&vm->stop, VM_RUNNING);

	if (vm_setup_signals(vm))
		return -1;
	/*
	 * KVM's shadow paging keeps its copy of a guest page table in step by
	 * trapping the guest's writes to it, which only sees the vCPUs of
	 * this host: a page-table write on another host would leave this
	 * host's vCPUs translating through a stale copy. With EPT/NPT the
	 * CPU walks the guest's page tables in guest memory, which bigiron
	 * keeps coherent.
	 */
	if (vm->ssi.active && cluster_tdp_enabled("/sys") == 0) {
		log_error("a VM on several hosts needs KVM's two-dimensional paging (kvm_intel ept=Y, kvm_amd npt=Y): with shadow paging, a guest page-table write on another host would go unseen here");
		return -1;
	}
	/* IPIs delivered in hardware skip the module's forwarding. */
	bypass = vm->ssi.active ? cluster_ipi_bypass("/sys") : NULL;
	if (bypass) {
		log_error("a VM on several hosts needs every IPI to exit to KVM, where bigiron forwards it to the other hosts, but %s=Y delivers some in hardware; set it off on every host (options %s=0 in /etc/modprobe.d/, then reload the module)",
			  bypass, bypass);
		return -1;
	}
	/*
	 * Intel SDM vol. 3C, "EPT Violations": with EPT accessed and dirty
	 * flags on, processor accesses to guest paging-structure entries are
	 * treated as writes. Then each host's vCPUs need the guest's page
	 * tables writable and take them from each other on every walk; with
	 * the flags off, walks only read, and the page tables are shared.
	 */
	if (vm->ssi.active && cluster_ept_ad_enabled("/sys") == 1)
		log_info("warning: kvm_intel eptad=Y makes every guest page-table walk a write, so the guest's page tables move between hosts on each walk; set it off on every host: echo 'options kvm_intel eptad=0' >/etc/modprobe.d/bigiron-kvm.conf, then reload kvm_intel (README, \"One VM on several hosts\")");
	if (kvm_open(vm) || guestmem_open(vm) || kvm_create_vm(vm) ||
	    guestmem_create(vm, cfg->memory))
		return -1;
	if (cfg->cluster.nr_nodes && guestmem_join(vm))
		return -1;
	if (vm_pick_vcpus(vm))
		return -1;

	if (guestmem_map(vm) || kvm_set_memory(vm))
		return -1;
	/* Only the I/O node writes the guest image and tables into RAM. */
	memset(&info, 0, sizeof(info));
	if (io_node && vm_load_guest(vm, &info))
		return -1;
	if (vm_setup_devices(vm))
		return -1;
	for (i = 0; i < vm->nvcpus; i++) {
		if (vm_vcpu_here(vm, i) && vcpu_create(vm, i))
			return -1;
	}
	if (vm->vcpus_here &&
	    vcpu_refresh_apic_map(&vm->vcpus[63 - __builtin_clzll(vm->vcpus_here)]))
		return -1;
	if (io_node && vcpu_setup_boot(&vm->vcpus[0], &info))
		return -1;
	if (io_node && console_start(&vm->com1))
		return -1;
	for (i = 0; i < vm->nvcpus; i++) {
		if (vm_vcpu_here(vm, i) && vcpu_start(&vm->vcpus[i]))
			return -1;
	}
	/* Several hosts: nobody runs a vCPU before every host can take IPIs. */
	return ssi_start(vm);
}

/* Called by each vCPU thread before its first KVM_RUN. */
void vm_wait_start(struct vm *vm)
{
	(void)vm;
	pthread_mutex_lock(&start_lock);
	while (!start_go)
		pthread_cond_wait(&start_cond, &start_lock);
	pthread_mutex_unlock(&start_lock);
}

static void vm_release_vcpus(void)
{
	pthread_mutex_lock(&start_lock);
	start_go = true;
	pthread_cond_broadcast(&start_cond);
	pthread_mutex_unlock(&start_lock);
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, VM_SIG_STOPPED);

	log_debug("starting %u vCPU(s), %llu MiB", vm->nvcpus,
		  (unsigned long long)(vm->mem_size >> 20));
	vm_release_vcpus();
	while (!vm_stopping(vm)) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != VM_SIG_STOPPED)
			vm_request_stop(vm, VM_STOP_SIGNAL, "stopped by signal %s",
					sig == SIGINT ? "SIGINT" :
					sig == SIGTERM ? "SIGTERM" : "SIGHUP");
	}

	ssi_stop(vm);
	switch (atomic_load(&vm->stop)) {
	case VM_STOP_POWEROFF:
		return 0;
	case VM_STOP_RESET:
		return 2;
	default:
		return 1;
	}
}

void vm_teardown(struct vm *vm)
{
	unsigned int i;

	/*
	 * After a setup error, threads parked at the start line see the stop
	 * and leave without running; the error was reported already.
	 */
	if (!vm_stopping(vm))
		atomic_store(&vm->stop, VM_STOP_ERROR);
	vm_release_vcpus();
	for (i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].thread_started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].thread_started = false;
	}
	console_stop();
	ssi_destroy(vm);
	/* virtio: before the memory it reads goes away */
	virtio_teardown(vm);

	if (vm->mem_fd >= 0)
		guestmem_print_stats(vm);

	for (i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	vm->vm_fd = -1;
	guestmem_close(vm);
	kvm_close(vm);
	if (vm->devices_ready) {
		serial_destroy(&vm->com1);
		ioapic_destroy(&vm->ioapic);
	}
	pthread_mutex_destroy(&vm->ssi.lock);
	pthread_cond_destroy(&vm->ssi.cond);
}

int vm_check(const struct config *cfg, unsigned int self)
{
	struct boot_image img;
	struct stat st;
	uint8_t *kernel;
	size_t ksize;
	char err[256];
	int ret = -1;

	if (!cluster_is_io_node(cfg, self)) {
		printf("# kernel, initrd: not loaded on this host (node %u loads them)\n",
		       cfg->cluster.io_node);
		return 0;
	}
	if (read_file("kernel", cfg->kernel, &kernel, &ksize))
		return -1;
	if (boot_parse_bzimage(kernel, ksize, &img, err, sizeof(err))) {
		log_error("kernel %s: %s", cfg->kernel, err);
		goto out;
	}
	if (img.load_addr + img.init_size > cfg->memory) {
		log_error("kernel %s needs RAM up to 0x%llx, memory is 0x%llx",
			  cfg->kernel,
			  (unsigned long long)(img.load_addr + img.init_size),
			  (unsigned long long)cfg->memory);
		goto out;
	}
	if (strlen(cfg->cmdline) > img.cmdline_size) {
		log_error("cmdline is %zu bytes, kernel %s takes at most %u",
			  strlen(cfg->cmdline), cfg->kernel, img.cmdline_size);
		goto out;
	}
	printf("# kernel: boot protocol %u.%02u, loads at 0x%llx, needs 0x%llx bytes\n",
	       img.version >> 8, img.version & 0xFF,
	       (unsigned long long)img.load_addr,
	       (unsigned long long)img.init_size);
	if (cfg->initrd) {
		if (stat(cfg->initrd, &st) < 0 || !S_ISREG(st.st_mode)) {
			log_error("initrd %s: %s", cfg->initrd,
				  errno ? strerror(errno) : "not a regular file");
			goto out;
		}
		if (!boot_initrd_addr(&img, cfg->memory, (uint64_t)st.st_size)) {
			log_error("initrd %s (%llu bytes) does not fit in memory with the kernel",
				  cfg->initrd, (unsigned long long)st.st_size);
			goto out;
		}
		printf("# initrd: %llu bytes\n", (unsigned long long)st.st_size);
	}
	ret = 0;
out:
	free(kernel);
	return ret;
}
