// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-ssicheck: runs inside a guest whose vCPUs may be spread over
 * several hosts. Each test pins one thread to each online CPU, so that on a
 * multi-host VM the threads run on different hosts and every shared page
 * has to travel between them.
 *
 *   bigiron-ssicheck memory N [VM_MIB [rewrite]]
 *                                        pattern over >= 90% of MemTotal
 *   bigiron-ssicheck counter N [ITERS]   atomic increments from every CPU
 *   bigiron-ssicheck pingpong N [ROUNDS] flag and clock between CPU 0 and
 *                                        the last CPU
 *
 * N is the test's number. Each prints one result line,
 *   ssicheck: ok N - NAME # detail    or    ssicheck: not ok N - NAME # why
 * (not plain TAP, so that the lab host does not count it by accident: it
 * reads these lines and reports them as its own), details of a failure on
 * lines before it, and exits 0 only when the test passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

/*
 * Chunks of one transparent huge page (x86-64: 2 MiB), aligned so that the
 * kernel can back each with one: its first touch is then one fault that
 * clears it, not 512 faults that each take the shared mm's mmap_lock (and
 * on a VM spread over hosts each move that lock's page between them).
 * Small enough that the stop at the MemFree floor comes close to it.
 */
#define CHUNK (2UL << 20)
#define CHUNK_WORDS (CHUNK / sizeof(uint64_t))
/*
 * Near the floor, chunks of small pages: a whole huge page no longer
 * fits, and stopping there would leave up to a huge page per thread.
 */
#define SMALL (256UL << 10)
#define MAX_CPUS 256
#define MIB(x) ((unsigned long)((x) >> 20))

static int test_no;
static const char *test_name;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("ssicheck: %s %d - %s # ", ok ? "ok" : "not ok", test_no,
	       test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A detail line, printed before the result line; threads share stdout. */
static void note(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&print_lock);
	printf("ssicheck: # %s: ", test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long read_long(const char *path)
{
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1;
	fclose(f);
	return val;
}

/*
 * The online CPUs, in order, from /sys/devices/system/cpu/online ("0-1,3"):
 * not this process's affinity, which leaves out CPUs isolated with
 * isolcpus= (the tests pin a thread to each CPU explicitly).
 */
static int cpu_list(int *cpus)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	int n = 0, lo, hi;
	char sep;

	if (!f)
		return 0;
	while (n < MAX_CPUS && fscanf(f, "%d", &lo) == 1) {
		hi = lo;
		sep = (char)fgetc(f);
		if (sep == '-') {
			if (fscanf(f, "%d", &hi) != 1)
				break;
			sep = (char)fgetc(f);
		}
		for (int c = lo; c <= hi && n < MAX_CPUS; c++)
			cpus[n++] = c;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* ---------------------------------------------------------------- memory */

#define SEED_A 0x9e3779b97f4a7c15ULL
#define SEED_B 0xc2b2ae3d27d4eb4fULL

struct part {
	int cpu;
	size_t want;		/* CHUNKs worth of bytes to allocate */
	size_t slots;		/* chunks it may have: want, and SMALL ones */
	size_t nchunks;		/* chunks allocated */
	uint64_t **chunks;
	size_t *words;		/* words of each chunk: CHUNK or SMALL's */
	size_t bytes;		/* of all its chunks */
	uint64_t first;		/* index of its first word in the whole area */
	size_t bad;		/* bad words this thread found */
	int pin_err;
};

static struct part parts[MAX_CPUS];
static int nparts;
static pthread_barrier_t barrier;
static long floor_kib;		/* MemFree floor, besides chunks in flight */
static long inflight_kib;	/* of the chunks being mapped and touched now */

static void fill_part(struct part *p, uint64_t seed)
{
	for (size_t c = 0; c < p->nchunks; c++) {
		uint64_t base = p->first + c * CHUNK_WORDS;

		for (size_t i = 0; i < p->words[c]; i++)
			p->chunks[c][i] = pattern(base + i, seed);
	}
}

/* Bad words of part p as read by this thread, the first few printed. */
static size_t verify_part(const struct part *p, uint64_t seed, int reader,
			  const char *phase)
{
	size_t bad = 0;

	for (size_t c = 0; c < p->nchunks; c++) {
		uint64_t base = p->first + c * CHUNK_WORDS;

		for (size_t i = 0; i < p->words[c]; i++) {
			uint64_t want = pattern(base + i, seed);
			uint64_t got = p->chunks[c][i];

			if (got == want)
				continue;
			if (bad < 5)
				note("%s: CPU %d reading CPU %d's part: word %llu at %p: got %016llx want %016llx",
				     phase, reader, p->cpu,
				     (unsigned long long)(base + i),
				     (void *)&p->chunks[c][i],
				     (unsigned long long)got,
				     (unsigned long long)want);
			bad++;
		}
	}
	return bad;
}

/*
 * An anonymous chunk of CHUNK bytes, CHUNK-aligned so that one huge page
 * can back it, or of SMALL bytes in small pages; NULL if mmap failed.
 */
static uint64_t *map_chunk(size_t size)
{
	uintptr_t a, b;
	char *m;

	if (size != CHUNK) {
		m = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		madvise(m, size, MADV_NOHUGEPAGE);
		return (uint64_t *)m;
	}
	m = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)m + CHUNK - 1) & ~(CHUNK - 1);
	b = a + CHUNK;
	if (a > (uintptr_t)m)
		munmap(m, a - (uintptr_t)m);
	if ((uintptr_t)m + 2 * CHUNK > b)
		munmap((void *)b, (uintptr_t)m + 2 * CHUNK - b);
	/* a hint: Debian's default is "always", a kernel may say "madvise" */
	madvise((void *)a, CHUNK, MADV_HUGEPAGE);
	return (uint64_t *)a;
}

static double phase_t0;
static int rewrite;	/* pass B: each part rewritten by the next CPU */

/* Waits for every thread; the first one notes how long the phase took. */
static void phase_done(int idx, const char *what)
{
	double t;

	pthread_barrier_wait(&barrier);
	if (idx)
		return;
	t = now();
	note("%s in %.1f s", what, t - phase_t0);
	phase_t0 = t;
}

/*
 * Thread i: allocate and write part i (pass A), verify it, verify part
 * i+1 (written on another CPU, on a multi-host VM another host); with
 * "rewrite", also write part i+1 (pass B) and last verify part i, which
 * thread i-1 wrote.
 */
static void *memory_thread(void *arg)
{
	struct part *me = arg;
	int idx = (int)(me - parts);
	struct part *next = &parts[(idx + 1) % nparts];

	me->pin_err = pin(me->cpu) ? errno : 0;
	for (size_t c = 0; c < me->slots && me->bytes < me->want * CHUNK; c++) {
		size_t size = me->want * CHUNK - me->bytes < CHUNK ? SMALL : CHUNK;
		uint64_t *m = NULL;

		/*
		 * Stop short of the OOM killer: it cannot be recovered from.
		 * A thread counts its chunk in flight before it reads
		 * MemFree and until the chunk is touched, and needs room
		 * for every chunk then in flight: of two threads racing for
		 * the last room, the second sees the first's reservation,
		 * or MemFree after the first's touch.  A huge page that does
		 * not fit any more is tried as SMALL bytes of small pages.
		 */
		for (;;) {
			long need = __atomic_add_fetch(&inflight_kib,
						       (long)(size >> 10),
						       __ATOMIC_SEQ_CST);

			if (meminfo_kib("MemFree") >= floor_kib + need)
				m = map_chunk(size);
			if (m || size == SMALL)
				break;
			__atomic_fetch_sub(&inflight_kib, (long)(size >> 10),
					   __ATOMIC_SEQ_CST);
			size = SMALL;
		}
		if (!m) {
			__atomic_fetch_sub(&inflight_kib, (long)(size >> 10),
					   __ATOMIC_SEQ_CST);
			break;
		}
		me->chunks[c] = m;
		me->words[c] = size / sizeof(uint64_t);
		me->nchunks = c + 1;
		me->bytes += size;
		/* Touch it now, so that MemFree follows. */
		for (size_t i = 0; i < me->words[c]; i++)
			m[i] = pattern(me->first + c * CHUNK_WORDS + i, SEED_A);
		__atomic_fetch_sub(&inflight_kib, (long)(size >> 10),
				   __ATOMIC_SEQ_CST);
	}
	phase_done(idx, "pass A written");
	me->bad += verify_part(me, SEED_A, me->cpu, "own part, pass A");
	phase_done(idx, "own parts verified");
	me->bad += verify_part(next, SEED_A, me->cpu, "next part, pass A");
	phase_done(idx, "next parts verified");
	if (!rewrite)
		return NULL;
	fill_part(next, SEED_B);
	phase_done(idx, "next parts rewritten (pass B)");
	me->bad += verify_part(me, SEED_B, me->cpu, "own part, pass B written by the previous CPU");
	phase_done(idx, "own parts verified again");
	return NULL;
}

/* Gives the page cache and reclaimable slab back, so MemFree counts them. */
static void drop_caches(void)
{
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");

	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
}

/* Where the kernel's memory is, in a note: which part grew, on a shortfall. */
static void note_meminfo(const char *when)
{
	note("%s: MemFree %ld Shmem %ld Slab %ld PageTables %ld KernelStack %ld Percpu %ld kB",
	     when, meminfo_kib("MemFree"), meminfo_kib("Shmem"),
	     meminfo_kib("Slab"), meminfo_kib("PageTables"),
	     meminfo_kib("KernelStack"), meminfo_kib("Percpu"));
}

static int test_memory(long vm_mib)
{
	int cpus[MAX_CPUS];
	long total_kib, free_kib;
	size_t target, per, extra, covered = 0, bad = 0;
	pthread_t tid[MAX_CPUS];
	double t0, secs;
	long huge_kib;
	unsigned long pct_total, pct_vm;
	char where[512];
	int n = 0;

	drop_caches();
	total_kib = meminfo_kib("MemTotal");
	free_kib = meminfo_kib("MemFree");
	note_meminfo("before");
	nparts = cpu_list(cpus);
	if (nparts < 1 || total_kib <= 0 || free_kib <= 0) {
		result(0, "no CPUs or no /proc/meminfo");
		return 1;
	}
	/*
	 * Aim at 95% of MemTotal, but leave MemFree a floor: the kernel's
	 * min watermark (below it the OOM killer ends the test) and 2 MiB
	 * for the test's page tables and the kernel's own needs meanwhile.
	 * Each chunk being allocated and touched is kept above it too
	 * (memory_thread()).
	 */
	floor_kib = read_long("/proc/sys/vm/min_free_kbytes");
	if (floor_kib < 0)
		floor_kib = total_kib / 64;
	floor_kib += 2048;
	target = (size_t)total_kib * 1024 / 100 * 95;
	/* The threads' own checks keep MemFree above the floor. */
	if ((size_t)(free_kib - floor_kib) * 1024 < target)
		target = (size_t)(free_kib - floor_kib) * 1024;
	/* The chunks that do not divide evenly go to the first parts. */
	per = target / CHUNK / (size_t)nparts;
	extra = target / CHUNK % (size_t)nparts;
	for (int i = 0; i < nparts; i++) {
		parts[i].cpu = cpus[i];
		parts[i].want = per + ((size_t)i < extra);
		/* the last huge pages' worth may come as SMALL chunks */
		parts[i].slots = parts[i].want + 4 * (CHUNK / SMALL);
		parts[i].chunks = calloc(parts[i].slots, sizeof(uint64_t *));
		parts[i].words = calloc(parts[i].slots, sizeof(size_t));
		parts[i].first = i ? parts[i - 1].first +
			parts[i - 1].slots * CHUNK_WORDS : 0;
		if (!parts[i].chunks || !parts[i].words) {
			result(0, "out of memory for the chunk table");
			return 1;
		}
		n += snprintf(where + n, sizeof(where) - n, "%s%d",
			      i ? "," : "", cpus[i]);
		if (n >= (int)sizeof(where))
			n = sizeof(where) - 1;
	}
	pthread_barrier_init(&barrier, NULL, nparts);
	t0 = now();
	phase_t0 = t0;
	for (int i = 0; i < nparts; i++)
		if (pthread_create(&tid[i], NULL, memory_thread, &parts[i])) {
			/* The barrier would never open: nothing to report. */
			result(0, "pthread_create: %s", strerror(errno));
			exit(1);
		}
	for (int i = 0; i < nparts; i++)
		pthread_join(tid[i], NULL);
	secs = now() - t0;
	/* the chunks are still mapped: how many got a huge page */
	huge_kib = meminfo_kib("AnonHugePages");
	note_meminfo("written and verified");
	for (int i = 0; i < nparts; i++) {
		if (parts[i].pin_err)
			note("CPU %d: sched_setaffinity: %s", parts[i].cpu,
			     strerror(parts[i].pin_err));
		if (parts[i].bytes < parts[i].want * CHUNK)
			note("CPU %d: allocated %lu of %lu KiB (MemFree at the floor or mmap failed)",
			     parts[i].cpu, (unsigned long)(parts[i].bytes >> 10),
			     (unsigned long)(parts[i].want * CHUNK >> 10));
		covered += parts[i].bytes;
		bad += parts[i].bad;
	}
	pct_total = (unsigned long)(covered / 1024 * 100 / (size_t)total_kib);
	pct_vm = vm_mib > 0 ? (unsigned long)(MIB(covered) * 100 / vm_mib) : 0;
	for (int i = 0; i < nparts; i++)
		if (parts[i].pin_err) {
			result(0, "could not pin a thread to CPU %d", parts[i].cpu);
			return 1;
		}
	if (bad) {
		result(0, "%zu bad words in %lu MiB over CPUs %s", bad,
		       MIB(covered), where);
		return 1;
	}
	if (pct_total < 90) {
		result(0, "covered only %lu MiB, %lu%% of MemTotal %ld MiB (need 90%%; MemFree was %ld MiB, floor %ld MiB), %.1f s",
		       MIB(covered), pct_total, total_kib >> 10, free_kib >> 10,
		       floor_kib >> 10, secs);
		return 1;
	}
	result(1, "%lu MiB on CPUs %s: %lu%% of MemTotal %ld MiB (MemFree %ld MiB, floor %ld MiB), %lu%% of the VM's %ld MiB, written, verified by its CPU and by the next%s, 0 bad words, %.1f s, %ld MiB in huge pages",
	       MIB(covered), where, pct_total, total_kib >> 10, free_kib >> 10,
	       floor_kib >> 10, pct_vm, vm_mib,
	       rewrite ? ", rewritten by the next" : "", secs, huge_kib >> 10);
	return 0;
}

/* --------------------------------------------------------------- counter */

static uint64_t counter __attribute__((aligned(64)));
static long iters;

static void *counter_thread(void *arg)
{
	int cpu = (int)(intptr_t)arg;

	if (pin(cpu))
		note("CPU %d: sched_setaffinity: %s", cpu, strerror(errno));
	pthread_barrier_wait(&barrier);
	for (long i = 0; i < iters; i++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int test_counter(long n_iters)
{
	int cpus[MAX_CPUS], n = cpu_list(cpus);
	pthread_t tid[MAX_CPUS];
	uint64_t want;
	double t0;

	iters = n_iters;
	want = (uint64_t)iters * (uint64_t)n;
	pthread_barrier_init(&barrier, NULL, n);
	t0 = now();
	for (int i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, counter_thread,
				   (void *)(intptr_t)cpus[i])) {
			result(0, "pthread_create: %s", strerror(errno));
			exit(1);
		}
	for (int i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	if (counter != want) {
		result(0, "%d CPUs x %ld atomic increments gave %llu, want %llu",
		       n, iters, (unsigned long long)counter,
		       (unsigned long long)want);
		return 1;
	}
	result(1, "%d CPUs x %ld atomic increments = %llu, %.1f s", n, iters,
	       (unsigned long long)counter, now() - t0);
	return 0;
}

/* ------------------------------------------------------------- ping-pong */

/*
 * One page-aligned block: the turn and both sides' clock readings travel
 * together, so each hand-over moves one page between the CPUs.
 */
static struct {
	long turn;		/* odd: the far side's turn, even: CPU 0's */
	struct timespec sent;	/* the sender's reading when it passed the turn */
} pp __attribute__((aligned(4096)));

static long rounds;
static int pp_cpu[2];
static int pp_fail;		/* set by either side on a backwards step */
static double pp_wait_limit = 60;

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Side 0 (CPU 0) moves on even turns, side 1 (the last CPU) on odd ones. */
static void *pp_thread(void *arg)
{
	int side = (int)(intptr_t)arg;
	int cpu = pp_cpu[side];

	if (pin(cpu))
		note("CPU %d: sched_setaffinity: %s", cpu, strerror(errno));
	pthread_barrier_wait(&barrier);
	for (long t = side; t < 2 * rounds; t += 2) {
		struct timespec mine, theirs;
		double give_up = now() + pp_wait_limit;

		while (__atomic_load_n(&pp.turn, __ATOMIC_ACQUIRE) != t) {
			if (__atomic_load_n(&pp_fail, __ATOMIC_RELAXED))
				return NULL;
			if (now() > give_up) {
				note("CPU %d: no hand-over for %.0f s at turn %ld",
				     cpu, pp_wait_limit, t);
				__atomic_store_n(&pp_fail, 1, __ATOMIC_RELAXED);
				return NULL;
			}
			__builtin_ia32_pause();
		}
		theirs = pp.sent;
		clock_gettime(CLOCK_MONOTONIC, &mine);
		/* The sender read its clock before passing the turn. */
		if (t > 0 && ts_before(&mine, &theirs)) {
			note("time went backwards at turn %ld: CPU %d read %lld.%09ld after CPU %d's %lld.%09ld",
			     t, cpu, (long long)mine.tv_sec, mine.tv_nsec,
			     pp_cpu[!side], (long long)theirs.tv_sec,
			     theirs.tv_nsec);
			__atomic_store_n(&pp_fail, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		clock_gettime(CLOCK_MONOTONIC, &pp.sent);
		__atomic_store_n(&pp.turn, t + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int test_pingpong(long n_rounds)
{
	int cpus[MAX_CPUS], n = cpu_list(cpus);
	pthread_t tid[2];
	double t0, secs;

	if (n < 2) {
		printf("ssicheck: ok %d - %s # SKIP one CPU only\n", test_no,
		       test_name);
		return 0;
	}
	rounds = n_rounds;
	pp_cpu[0] = cpus[0];
	pp_cpu[1] = cpus[n - 1];
	pthread_barrier_init(&barrier, NULL, 2);
	t0 = now();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&tid[i], NULL, pp_thread, (void *)(intptr_t)i)) {
			result(0, "pthread_create: %s", strerror(errno));
			exit(1);
		}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	secs = now() - t0;
	if (pp_fail || pp.turn != 2 * rounds) {
		result(0, "CPU %d <-> CPU %d: stopped after %ld of %ld round trips",
		       pp_cpu[0], pp_cpu[1], pp.turn / 2, rounds);
		return 1;
	}
	result(1, "CPU %d <-> CPU %d: %ld round trips, mean %.1f us, clock never went backwards",
	       pp_cpu[0], pp_cpu[1], rounds, secs * 1e6 / rounds);
	return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	long arg;

	if (argc < 3) {
		fprintf(stderr, "usage: bigiron-ssicheck memory|counter|pingpong N [ARG [rewrite]]\n");
		return 2;
	}
	test_name = argv[1];
	test_no = atoi(argv[2]);
	arg = argc > 3 ? strtol(argv[3], NULL, 10) : -1;
	if (!strcmp(test_name, "memory")) {
		rewrite = argc > 4 && !strcmp(argv[4], "rewrite");
		return test_memory(arg);
	}
	if (!strcmp(test_name, "counter"))
		return test_counter(arg > 0 ? arg : 20000);
	if (!strcmp(test_name, "pingpong"))
		return test_pingpong(arg > 0 ? arg : 200);
	fprintf(stderr, "bigiron-ssicheck: unknown test %s\n", test_name);
	return 2;
}
