// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_ssi_guest: a purpose-built guest for one VM on two hosts.
 *
 * vCPU 0 (the BSP, "cpu0") runs on node 0, the I/O node; vCPU 1 (the AP,
 * "cpu1") on node 1.  cpu0 starts cpu1 with INIT and SIPI, drives every
 * test and prints the results on COM1 as TAP lines ("ok N - NAME # ..."),
 * in the order of cases.h, then the plan "1..N".  cpu1 runs commands that
 * cpu0 posts in a mailbox page and answers in a reply page; its own port
 * and MMIO accesses are what the forwarding tests check.
 *
 * Interrupts are counted per CPU and per vector (NMIs per CPU) in a page
 * each CPU alone writes.  Each IPI case uses a vector of its own, waits
 * until the expected counts are reached (bounded), then a settle period
 * that lets duplicates arrive, and compares the exact counts.
 *
 * Memory layout: every piece of state both CPUs touch sits in a page of
 * its own that only one CPU writes (the other reads it), so that guest
 * pages do not bounce between the hosts more than the tests need.
 *
 * Every wait is bounded by the TSC (tsc_early_khz= on the command line,
 * which the launcher appends for a VM on several hosts).  An exception
 * other than NMI prints a "not ok" line and powers the VM off.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define __page		__attribute__((aligned(4096)))

/* ---- the platform (launcher/layout.h) ----------------------------------- */

#define COM1			0x3F8
#define UART_IER		1
#define UART_IIR		2
#define UART_LSR		5
#define UART_SCR		7
#define UART_IER_THRI		0x02
#define UART_IIR_THRI		0x02
#define UART_LSR_DR		0x01
#define PORT_SLEEP_CONTROL	0x600
#define SLEEP_S5_EN		((5 << 2) | (1 << 5))
#define IRQ_COM1		4

#define LAPIC_BASE		0xFEE00000UL
#define IOAPIC_BASE		0xFEC00000UL
#define VIRTIO_BASE		0xD0000000UL

#define BOOT_CMD_LINE_PTR	0x228	/* in boot_params */
#define CMDLINE_FALLBACK	0x20000	/* where the launcher puts it */

/* SIPI vectors: the trampoline is copied to vector << 12 (free RAM). */
#define SIPI_FIRST		0x10
#define SIPI_AGAIN		0x11

/* ---- CPU registers ------------------------------------------------------ */

#define MSR_APIC_BASE		0x1B
#define APIC_BASE_EXTD		(1ULL << 10)
#define APIC_BASE_EN		(1ULL << 11)
#define MSR_GS_BASE		0xC0000101
#define MSR_X2APIC(reg)		(0x800 + ((reg) >> 4))

#define APIC_ID			0x020
#define APIC_TPR		0x080
#define APIC_EOI		0x0B0
#define APIC_LDR		0x0D0
#define APIC_DFR		0x0E0
#define APIC_SVR		0x0F0
#define APIC_TMR		0x180
#define APIC_ICR_LO		0x300
#define APIC_ICR_HI		0x310
#define APIC_LVT_TIMER		0x320
#define APIC_LVT_LINT0		0x350
#define APIC_LVT_LINT1		0x360
#define APIC_LVT_ERROR		0x370
#define APIC_LVT_MASKED		0x10000
#define APIC_SVR_ENABLE		0x100

#define ICR_FIXED		0x000
#define ICR_LOWEST		0x100
#define ICR_NMI			0x400
#define ICR_INIT		0x500
#define ICR_SIPI		0x600
#define ICR_LOGICAL		0x800
#define ICR_BUSY		0x1000
#define ICR_ASSERT		0x4000
#define ICR_SELF		0x40000
#define ICR_ALL			0x80000
#define ICR_OTHERS		0xC0000

#define DFR_FLAT		0xFFFFFFFFU
#define DFR_CLUSTER		0x0FFFFFFFU

#define IOAPIC_REGSEL		0x00
#define IOAPIC_WINDOW		0x10
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))
#define RTE_LEVEL		(1U << 15)
#define RTE_REMOTE_IRR		(1U << 14)
#define RTE_MASKED		(1U << 16)

#define VIRTIO_MAGIC		0x74726976
#define VIRTIO_VENDOR		0x4E524942	/* the launcher's "BIRN" */

/* Vectors: IPI cases take one each from VEC_FIRST up. */
#define VEC_FIRST		0x40
#define VEC_IOAPIC		0xE0
#define VEC_SPURIOUS		0xFF

/* Timing, in milliseconds of TSC. */
#define WAIT_MS			5000	/* an interrupt to arrive */
#define SETTLE_MS		150	/* then for duplicates */
#define AP_CALL_MS		10000	/* a command to cpu1 */
#define AP_START_MS		20000	/* cpu1 to come up */
#define HOST_WAIT_MS		30000	/* the host's byte before power-off */
#define TSC_ROUNDS		20
#define TSC_KHZ_FALLBACK	5000000	/* 5 GHz: waits err on the long side */

#define NR_CPUS			2

/* ---- the cases (cases.h) ------------------------------------------------ */

enum {
#define SSI_CASE(id, name) C_##id,
#include "cases.h"
#undef SSI_CASE
	NR_CASES
};

static const char *const case_name[NR_CASES] = {
#define SSI_CASE(id, name) [C_##id] = name,
#include "cases.h"
#undef SSI_CASE
};

/* ---- shared state, a page per writer ------------------------------------ */

/* Per CPU, written by that CPU only (its interrupt handlers mostly). */
struct percpu {
	struct percpu *self;		/* %gs:0 */
	u32 id;
	u32 x2apic;
	volatile u32 nmis;
	volatile u32 spurious;
	/* VEC_IOAPIC handler, per delivery (hits mod 4): IIR read, TMR bit */
	volatile u32 iir[4];
	volatile u32 tmr_level[4];
	volatile u32 hits[256];
} __page;

/* cpu0 -> cpu1 commands. */
struct mailbox {
	volatile u32 seq;
	volatile u32 op;
	volatile u64 arg[4];
} __page;

/* cpu1 -> cpu0 answers. */
struct reply {
	volatile u32 done;		/* seq of the last command done */
	volatile u32 alive;		/* ap_runs when ap_main() was ready */
	volatile u64 res[8];
} __page;

/* TSC ping-pong: one page per direction. */
struct ping {
	volatile u32 round;
	volatile u64 tsc;
} __page;

struct lock_page {
	volatile u32 lock;
} __page;

struct idt_entry {
	u16 off0;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off1;
	u32 off2;
	u32 zero;
};

struct idt_page {
	struct idt_entry e[256];
} __page;

static struct percpu percpu[NR_CPUS];
static struct mailbox mbox;
static struct reply reply;
static struct ping ping, pong;
static struct lock_page print_lock;
static struct idt_page idt;

/* Page tables: identity map of 4 GiB, 2 MiB pages, A and D preset. */
static u64 pml4[512] __page;
static u64 pdpt[512] __page;
static u64 pd[4][512] __page;

/* From head.S. */
extern const u8 ap_tramp_start[], ap_tramp_end[];
extern const u8 int_stubs[];
extern volatile u32 ap_runs, ap_last_cs;

/*
 * Set by cpu0 before cpu1 starts, then only read: a page of its own.
 * cr3 comes first: the AP's trampoline reads it as "setup" (head.S).
 */
struct setup_page {
	u32 cr3;
	u32 tsc_khz_given;
	u64 tsc_khz;
} __page;
struct setup_page setup;

/* cpu0's own state. */
static u32 next_case;		/* index of the next case to report */
static u32 failures;
static bool ap_dead;
static u32 ap_seq;
static u32 next_vec = VEC_FIRST;
/* Counts each case accepted, compared once more at the end. */
static u32 seen_hits[NR_CPUS][256];
static u32 seen_nmis[NR_CPUS];
/*
 * Interrupts each node's module must send to the other: every case whose
 * target is on the other host, INIT and SIPI, the IOAPIC's MSIs to cpu1.
 */
static u32 xhost[NR_CPUS];

void bsp_main(u64 boot_params);
void ap_main(void);
struct frame;
void trap(struct frame *f);

/* ---- freestanding helpers ----------------------------------------------- */

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *dp = d;

	while (n--)
		*dp++ = (u8)c;
	return d;
}

#define barrier()	asm volatile("" ::: "memory")

static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 mmio_read32(u64 addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(u64 addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32))
		     : "memory");
}

/* The TSC, read after every earlier load has completed. */
static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (u64)hi << 32 | lo;
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

static inline void pause(void)
{
	asm volatile("pause" ::: "memory");
}

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	asm volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static u64 ms_to_tsc(u64 ms)
{
	return ms * setup.tsc_khz;
}

static u64 tsc_to_us(u64 cycles)
{
	return cycles * 1000 / setup.tsc_khz;
}

static void delay_ms(u64 ms)
{
	u64 end = rdtsc() + ms_to_tsc(ms);

	while (rdtsc() < end)
		pause();
}

/* Evaluates cond until it holds or ms of TSC have passed; its last value. */
#define WAIT_FOR(cond, ms) ({						\
	u64 __end = rdtsc() + ms_to_tsc(ms);				\
	bool __ok;							\
	for (;;) {							\
		if (cond) {						\
			__ok = true;					\
			break;						\
		}							\
		if (rdtsc() > __end) {					\
			__ok = (cond);					\
			break;						\
		}							\
		pause();						\
	}								\
	__ok;								\
})

/* ---- output ------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, size;
};

static void buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->size)
		b->p[b->len++] = c;
}

static void buf_num(struct buf *b, u64 v, unsigned int base, bool neg,
		    unsigned int width, char pad)
{
	char tmp[24];
	unsigned int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width > n) {
		buf_putc(b, pad);
		width--;
	}
	while (n)
		buf_putc(b, tmp[--n]);
}

/* A printf subset: %d %u %x %s %c %%, with l/ll, a width and 0-padding. */
static void vfmt(struct buf *b, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned int width = 0, lng = 0;
		char pad = ' ';
		u64 u;
		s64 s;

		if (*fmt != '%') {
			buf_putc(b, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			s = lng ? va_arg(ap, s64) : va_arg(ap, int);
			buf_num(b, s < 0 ? -(u64)s : (u64)s, 10, s < 0, width,
				pad);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			buf_num(b, u, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			while (*str)
				buf_putc(b, *str++);
			break;
		}
		case 'c':
			buf_putc(b, (char)va_arg(ap, int));
			break;
		case '%':
			buf_putc(b, '%');
			break;
		default:
			return;
		}
	}
}

/*
 * One line on COM1, under a lock that cpu1 takes too when it must report
 * an exception; the lock is given up on after a second, so a CPU that
 * died holding it cannot silence the other.
 */
static void line(const char *f, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *f, ...)
{
	char out[240];
	struct buf b = { out, 0, sizeof(out) };
	u64 end = rdtsc() + ms_to_tsc(1000);
	bool locked = false;
	va_list ap;
	size_t i;

	va_start(ap, f);
	vfmt(&b, f, ap);
	va_end(ap);
	while (rdtsc() < end) {
		if (!__atomic_exchange_n(&print_lock.lock, 1,
					 __ATOMIC_ACQUIRE)) {
			locked = true;
			break;
		}
		pause();
	}
	for (i = 0; i < b.len; i++)
		outb(COM1, (u8)out[i]);
	outb(COM1, '\n');
	if (locked)
		__atomic_store_n(&print_lock.lock, 0, __ATOMIC_RELEASE);
}

static __attribute__((noreturn)) void poweroff(void)
{
	outb(PORT_SLEEP_CONTROL, SLEEP_S5_EN);
	for (;;)
		asm volatile("cli; hlt");
}

/* ---- TAP ---------------------------------------------------------------- */

static void report(u32 id, bool ok, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static void report(u32 id, bool ok, const char *f, ...)
{
	char detail[180];
	struct buf b = { detail, 0, sizeof(detail) };
	va_list ap;

	va_start(ap, f);
	vfmt(&b, f, ap);
	va_end(ap);
	detail[b.len] = '\0';
	if (!ok)
		failures++;
	line("%s %u - %s # %s", ok ? "ok" : "not ok", id + 1, case_name[id],
	     detail);
	next_case = id + 1;
}

static void report_skip(u32 id, const char *why)
{
	line("ok %u - %s # SKIP %s", id + 1, case_name[id], why);
	next_case = id + 1;
}

/* ---- local APIC --------------------------------------------------------- */

static u32 apic_read(u32 reg)
{
	if (this_cpu()->x2apic)
		return (u32)rdmsr(MSR_X2APIC(reg));
	return mmio_read32(LAPIC_BASE + reg);
}

static void apic_write(u32 reg, u32 v)
{
	if (this_cpu()->x2apic)
		wrmsr(MSR_X2APIC(reg), v);
	else
		mmio_write32(LAPIC_BASE + reg, v);
}

static void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

/*
 * Send an IPI: @lo is the ICR's low word (mode, shorthand, vector), @dest
 * the destination (8 bits in xAPIC mode, 32 in x2APIC mode).
 */
static void send_ipi(u32 lo, u32 dest)
{
	u64 end;

	if (this_cpu()->x2apic) {
		wrmsr(MSR_X2APIC(APIC_ICR_LO), (u64)dest << 32 | lo);
		return;
	}
	mmio_write32(LAPIC_BASE + APIC_ICR_HI, dest << 24);
	mmio_write32(LAPIC_BASE + APIC_ICR_LO, lo);
	end = rdtsc() + ms_to_tsc(100);
	while ((mmio_read32(LAPIC_BASE + APIC_ICR_LO) & ICR_BUSY) &&
	       rdtsc() < end)
		pause();
}

/* Enable this CPU's local APIC in the mode its APIC base MSR says. */
static void apic_setup(void)
{
	struct percpu *c = this_cpu();
	u64 base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	c->x2apic = !!(base & APIC_BASE_EXTD);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
	apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
	if (!c->x2apic) {
		apic_write(APIC_DFR, DFR_FLAT);
		apic_write(APIC_LDR, 0);
	}
}

/* Switch this CPU's local APIC to x2APIC mode. */
static void x2apic_enable(void)
{
	struct percpu *c = this_cpu();

	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EN |
	      APIC_BASE_EXTD);
	c->x2apic = 1;
	apic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
}

/* ---- IOAPIC ------------------------------------------------------------- */

static u32 ioapic_read(u32 reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WINDOW);
}

static void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WINDOW, v);
}

/* ---- interrupts and exceptions ----------------------------------------- */

struct frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

static __attribute__((noreturn)) void fatal_exception(struct frame *f,
						      struct percpu *c)
{
	u32 n = next_case < NR_CASES ? next_case : NR_CASES - 1;

	line("not ok %u - %s # exception %lu error 0x%lx at rip 0x%lx on cpu%u",
	     n + 1, case_name[n], f->vector, f->error, f->rip, c->id);
	line("# ssiguest: exception on cpu%u, powering off", c->id);
	poweroff();
}

/* Every vector's stub ends here (head.S), on the current stack. */
void trap(struct frame *f)
{
	struct percpu *c = this_cpu();
	u32 v = (u32)f->vector;

	if (v == 2) {
		c->nmis++;
		return;
	}
	if (v < 32)
		fatal_exception(f, c);
	if (v == VEC_SPURIOUS) {
		c->spurious++;		/* no EOI for the spurious vector */
		return;
	}
	if (v == VEC_IOAPIC) {
		/* the UART's THRE interrupt: reading IIR acknowledges it */
		u32 n = c->hits[v] % 4;

		c->tmr_level[n] = (apic_read(APIC_TMR + (v / 32) * 0x10) >>
				   (v % 32)) & 1;
		c->iir[n] = inb(COM1 + UART_IIR);
	}
	c->hits[v]++;
	apic_eoi();
}

static void idt_build(void)
{
	unsigned int v;

	for (v = 0; v < 256; v++) {
		u64 a = (u64)(uintptr_t)(int_stubs + 16 * v);

		idt.e[v] = (struct idt_entry){
			.off0 = (u16)a,
			.sel = 0x18,
			.type = 0x8E,		/* present interrupt gate */
			.off1 = (u16)(a >> 16),
			.off2 = (u32)(a >> 32),
		};
	}
}

static void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) d = { sizeof(idt.e) - 1, (u64)(uintptr_t)&idt };

	asm volatile("lidt %0" : : "m"(d));
}

static void cpu_setup(u32 id)
{
	struct percpu *c = &percpu[id];

	c->self = c;
	c->id = id;
	wrmsr(MSR_GS_BASE, (u64)(uintptr_t)c);
	idt_load();
	apic_setup();
}

/* ---- cpu1: commands ----------------------------------------------------- */

enum ap_op {
	OP_NOP = 1,
	OP_SEND_IPI,		/* arg0 ICR low, arg1 destination */
	OP_SET_LOGICAL,		/* arg0 DFR, arg1 LDR; res0 LDR read back */
	OP_PORT_SCRATCH,	/* res0 failures, res1 values read */
	OP_MMIO_VIRTIO,		/* res0..3 magic, version, device, vendor */
	OP_MMIO_IOAPIC,		/* res0..4, see ap_ioapic() */
	OP_SYNC_IO,		/* one forwarded port read */
	OP_TSC,			/* arg0 rounds; res0 0 or the round missed */
	OP_X2APIC,		/* res0 LDR, res1 APIC id */
};

static const u8 scratch_values[] = { 0x00, 0x5A, 0xA5, 0xFF, 0x3C, 0x81 };

/* UART scratch register: each value written reads back. */
static void ap_scratch(void)
{
	u64 fails = 0, seen = 0;
	unsigned int i;

	for (i = 0; i < sizeof(scratch_values); i++) {
		u8 r;

		outb(COM1 + UART_SCR, scratch_values[i]);
		r = inb(COM1 + UART_SCR);
		seen |= (u64)r << (8 * i);
		if (r != scratch_values[i])
			fails |= 1ULL << i;
	}
	reply.res[0] = fails;
	reply.res[1] = seen;
}

static void ap_virtio(void)
{
	reply.res[0] = mmio_read32(VIRTIO_BASE + 0x000);
	reply.res[1] = mmio_read32(VIRTIO_BASE + 0x004);
	reply.res[2] = mmio_read32(VIRTIO_BASE + 0x008);
	reply.res[3] = mmio_read32(VIRTIO_BASE + 0x00C);
}

/*
 * IOAPIC through IOREGSEL/IOWIN: the version register, then pin 10's
 * entry (unused) written masked, IOREGSEL read back (the high word's
 * index, selected last), the entry's low and high word read back; the
 * entry is left masked as it was.
 */
#define TEST_PIN	10
#define TEST_RTE_LO	(RTE_MASKED | RTE_LEVEL | 0x5A)
#define TEST_RTE_HI	0x03000000U

static void ap_ioapic(void)
{
	reply.res[0] = ioapic_read(IOAPIC_REG_VER);
	ioapic_write(IOAPIC_REDTBL(TEST_PIN), TEST_RTE_LO);
	ioapic_write(IOAPIC_REDTBL(TEST_PIN) + 1, TEST_RTE_HI);
	reply.res[2] = mmio_read32(IOAPIC_BASE + IOAPIC_REGSEL);
	reply.res[1] = ioapic_read(IOAPIC_REDTBL(TEST_PIN));
	reply.res[3] = ioapic_read(IOAPIC_REDTBL(TEST_PIN) + 1);
	ioapic_write(IOAPIC_REDTBL(TEST_PIN), RTE_MASKED);
	ioapic_write(IOAPIC_REDTBL(TEST_PIN) + 1, 0);
	reply.res[4] = ioapic_read(IOAPIC_REDTBL(TEST_PIN));
}

/* cpu1's half of the TSC ping-pong (cpu0's: test_tsc()). */
static void ap_tsc(u32 rounds)
{
	u32 r;

	for (r = 1; r <= rounds; r++) {
		u64 t;

		if (!WAIT_FOR(ping.round == r, WAIT_MS)) {
			reply.res[0] = r;
			return;
		}
		t = rdtsc();
		pong.tsc = t;
		barrier();
		pong.round = r;
	}
	reply.res[0] = 0;
}

static void ap_command(u32 op)
{
	switch (op) {
	case OP_NOP:
		break;
	case OP_SEND_IPI:
		send_ipi((u32)mbox.arg[0], (u32)mbox.arg[1]);
		break;
	case OP_SET_LOGICAL:
		apic_write(APIC_DFR, (u32)mbox.arg[0]);
		apic_write(APIC_LDR, (u32)mbox.arg[1]);
		reply.res[0] = apic_read(APIC_LDR);
		break;
	case OP_PORT_SCRATCH:
		ap_scratch();
		break;
	case OP_MMIO_VIRTIO:
		ap_virtio();
		break;
	case OP_MMIO_IOAPIC:
		ap_ioapic();
		break;
	case OP_SYNC_IO:
		reply.res[0] = inb(COM1 + UART_SCR);
		break;
	case OP_TSC:
		ap_tsc((u32)mbox.arg[0]);
		break;
	case OP_X2APIC:
		x2apic_enable();
		reply.res[0] = apic_read(APIC_LDR);
		reply.res[1] = apic_read(APIC_ID);
		break;
	}
}

/*
 * cpu1, after the trampoline (head.S): set up, say so, then serve the
 * mailbox until the VM powers off.  After an INIT it starts here again
 * and goes on with the commands after the last one it finished.
 */
void ap_main(void)
{
	u32 seen;

	cpu_setup(1);
	asm volatile("sti");
	seen = reply.done;
	reply.alive = ap_runs;
	for (;;) {
		u32 seq = mbox.seq;

		if (seq == seen) {
			pause();
			continue;
		}
		ap_command(mbox.op);
		seen = seq;
		barrier();
		reply.done = seq;
	}
}

/* ---- cpu0: driving cpu1 ------------------------------------------------- */

static void ap_post(u32 op, u64 a0, u64 a1)
{
	mbox.op = op;
	mbox.arg[0] = a0;
	mbox.arg[1] = a1;
	barrier();
	mbox.seq = ++ap_seq;
}

static bool ap_wait(void)
{
	if (ap_dead)
		return false;
	if (!WAIT_FOR(reply.done == ap_seq, AP_CALL_MS)) {
		line("# ssiguest: cpu1 did not finish command %u within %u ms",
		     ap_seq, AP_CALL_MS);
		ap_dead = true;
		return false;
	}
	return true;
}

static bool ap_call(u32 op, u64 a0, u64 a1)
{
	if (ap_dead)
		return false;
	ap_post(op, a0, a1);
	return ap_wait();
}

/* ---- cpu0: the tests ---------------------------------------------------- */

static u32 count(u32 cpu, int vec)
{
	return vec < 0 ? percpu[cpu].nmis : percpu[cpu].hits[vec];
}

/*
 * One IPI case: cpu @from sends ICR low word @mode (vector added unless
 * NMI) to @dest; cpu0 must then count @e0 and cpu1 @e1 of it, exactly.
 */
static void ipi_case(u32 id, u32 from, u32 mode, u32 dest, u32 e0, u32 e1)
{
	bool nmi = (mode & 0x700) == ICR_NMI;
	int vec = nmi ? -1 : (int)next_vec++;
	u32 lo = nmi ? mode : mode | (u32)vec;
	u32 b0, b1, c0, c1;
	u64 t0, dt;
	bool reached;

	if (ap_dead) {
		report(id, false, "cpu1 is not running");
		return;
	}
	if (from ? e0 : e1)
		xhost[from]++;
	b0 = count(0, vec);
	b1 = count(1, vec);
	t0 = rdtsc();
	if (from == 0) {
		send_ipi(lo, dest);
	} else if (!ap_call(OP_SEND_IPI, lo, dest)) {
		report(id, false, "cpu1 did not send it");
		return;
	}
	reached = WAIT_FOR(count(0, vec) - b0 >= e0 &&
			   count(1, vec) - b1 >= e1, WAIT_MS);
	dt = rdtsc() - t0;
	delay_ms(SETTLE_MS);
	c0 = count(0, vec) - b0;
	c1 = count(1, vec) - b1;
	if (nmi) {
		seen_nmis[0] += c0;
		seen_nmis[1] += c1;
	} else {
		seen_hits[0][vec] += c0;
		seen_hits[1][vec] += c1;
	}
	report(id, c0 == e0 && c1 == e1,
	       "%s 0x%x dest 0x%x: cpu0 %u cpu1 %u, want %u %u; %s after %lu us",
	       nmi ? "nmi" : "vector", nmi ? 0 : (u32)vec, dest, c0, c1, e0,
	       e1, reached ? "reached" : "timed out", tsc_to_us(dt));
}

/* Both CPUs' DFR and LDR; false when cpu1's did not take. */
static bool set_logical(u32 dfr, u32 ldr0, u32 ldr1)
{
	apic_write(APIC_DFR, dfr);
	apic_write(APIC_LDR, ldr0);
	if (!ap_call(OP_SET_LOGICAL, dfr, ldr1))
		return false;
	if ((u32)reply.res[0] != ldr1 || apic_read(APIC_LDR) != ldr0) {
		line("# ssiguest: LDR cpu0 0x%x cpu1 0x%x, want 0x%x 0x%x",
		     apic_read(APIC_LDR), (u32)reply.res[0], ldr0, ldr1);
		return false;
	}
	return true;
}

static void copy_trampoline(u32 vector)
{
	memcpy((void *)(uintptr_t)(vector << 12), ap_tramp_start,
	       (size_t)(ap_tramp_end - ap_tramp_start));
}

/* INIT, then SIPI with @vector, to cpu1 (APIC id 1). */
static void init_sipi(u32 vector)
{
	send_ipi(ICR_INIT | ICR_ASSERT, 1);
	delay_ms(10);
	send_ipi(ICR_SIPI | ICR_ASSERT | vector, 1);
	xhost[0] += 2;
}

static void test_ap_start(void)
{
	u64 t0 = rdtsc();
	bool up;

	copy_trampoline(SIPI_FIRST);
	copy_trampoline(SIPI_AGAIN);
	init_sipi(SIPI_FIRST);
	up = WAIT_FOR(reply.alive == 1, AP_START_MS);
	if (!up)
		ap_dead = true;
	delay_ms(SETTLE_MS);
	report(C_AP_START, up && ap_runs == 1 && ap_last_cs == SIPI_FIRST << 8,
	       "trampoline runs %u, CS 0x%x (want 1, 0x%x), up after %lu ms",
	       ap_runs, ap_last_cs, SIPI_FIRST << 8,
	       tsc_to_us(rdtsc() - t0) / 1000);
}

static void test_forwarding(void)
{
	u64 fails, seen, ver;

	if (!ap_call(OP_PORT_SCRATCH, 0, 0)) {
		report(C_FWD_PORT, false, "cpu1 did not answer");
	} else {
		fails = reply.res[0];
		seen = reply.res[1];
		report(C_FWD_PORT, !fails,
		       "%u values written to port 0x%x, read 0x%012lx (failed mask 0x%lx)",
		       (u32)sizeof(scratch_values), COM1 + UART_SCR, seen,
		       fails);
	}

	if (!ap_call(OP_MMIO_VIRTIO, 0, 0)) {
		report(C_FWD_VIRTIO, false, "cpu1 did not answer");
	} else {
		report(C_FWD_VIRTIO,
		       reply.res[0] == VIRTIO_MAGIC && reply.res[1] == 2 &&
		       reply.res[2] == 2 && reply.res[3] == VIRTIO_VENDOR,
		       "magic 0x%lx version %lu device %lu vendor 0x%lx (want 0x%x 2 2 0x%x)",
		       reply.res[0], reply.res[1], reply.res[2], reply.res[3],
		       VIRTIO_MAGIC, VIRTIO_VENDOR);
	}

	if (!ap_call(OP_MMIO_IOAPIC, 0, 0)) {
		report(C_FWD_IOAPIC, false, "cpu1 did not answer");
		return;
	}
	ver = reply.res[0];
	/*
	 * The launcher's IOAPIC is a version 0x20 one (it has the EOI
	 * register, launcher/ioapic.h), with 24 pins.
	 */
	report(C_FWD_IOAPIC,
	       (ver & 0xFF) == 0x20 && ((ver >> 16) & 0xFF) == 23 &&
	       reply.res[1] == TEST_RTE_LO && reply.res[2] == IOAPIC_REDTBL(TEST_PIN) + 1 &&
	       reply.res[3] == TEST_RTE_HI && reply.res[4] == RTE_MASKED,
	       "version reg 0x%lx (want 0x170020); RTE %u low 0x%lx high 0x%lx (want 0x%x 0x%x), IOREGSEL 0x%lx, restored 0x%lx",
	       ver, TEST_PIN, reply.res[1], reply.res[3], TEST_RTE_LO,
	       TEST_RTE_HI, reply.res[2], reply.res[4]);
}

struct ipi_spec {
	u32 id;
	u32 from;
	u32 mode;
	u32 dest;
	u32 e0, e1;
};

static const struct ipi_spec xapic_basic[] = {
	{ C_X_PHYS_01, 0, ICR_FIXED | ICR_ASSERT, 1, 0, 1 },
	{ C_X_PHYS_10, 1, ICR_FIXED | ICR_ASSERT, 0, 1, 0 },
	{ C_X_BCAST_0, 0, ICR_FIXED | ICR_ASSERT, 0xFF, 1, 1 },
	{ C_X_BCAST_1, 1, ICR_FIXED | ICR_ASSERT, 0xFF, 1, 1 },
	{ C_X_SELF_0, 0, ICR_FIXED | ICR_ASSERT | ICR_SELF, 0, 1, 0 },
	{ C_X_SELF_1, 1, ICR_FIXED | ICR_ASSERT | ICR_SELF, 0, 0, 1 },
	{ C_X_ALLINC_0, 0, ICR_FIXED | ICR_ASSERT | ICR_ALL, 0, 1, 1 },
	{ C_X_ALLINC_1, 1, ICR_FIXED | ICR_ASSERT | ICR_ALL, 0, 1, 1 },
	{ C_X_ALLBUT_0, 0, ICR_FIXED | ICR_ASSERT | ICR_OTHERS, 0, 0, 1 },
	{ C_X_ALLBUT_1, 1, ICR_FIXED | ICR_ASSERT | ICR_OTHERS, 0, 1, 0 },
};

#define LOGICAL		(ICR_FIXED | ICR_ASSERT | ICR_LOGICAL)
#define LOWEST		(ICR_LOWEST | ICR_ASSERT | ICR_LOGICAL)

/* Logical destinations: cpu0 is bit 0, cpu1 bit 1 (flat or cluster 0). */
static const struct ipi_spec xapic_flat[] = {
	{ C_X_FLAT_2_0, 0, LOGICAL, 0x02, 0, 1 },
	{ C_X_FLAT_3_0, 0, LOGICAL, 0x03, 1, 1 },
	{ C_X_FLAT_1_1, 1, LOGICAL, 0x01, 1, 0 },
	{ C_X_FLAT_3_1, 1, LOGICAL, 0x03, 1, 1 },
};

static const struct ipi_spec xapic_cluster[] = {
	{ C_X_CLU_2_0, 0, LOGICAL, 0x02, 0, 1 },
	{ C_X_CLU_3_0, 0, LOGICAL, 0x03, 1, 1 },
	{ C_X_CLU_1_1, 1, LOGICAL, 0x01, 1, 0 },
	{ C_X_CLU_3_1, 1, LOGICAL, 0x03, 1, 1 },
};

static const struct ipi_spec xapic_nmi[] = {
	{ C_X_NMI_01, 0, ICR_NMI | ICR_ASSERT, 1, 0, 1 },
	{ C_X_NMI_10, 1, ICR_NMI | ICR_ASSERT, 0, 1, 0 },
};

/*
 * Lowest priority: exactly one vCPU of the VM takes it, one on the
 * sending host when one matches there.
 */
static const struct ipi_spec xapic_lowest[] = {
	{ C_X_LOW_3_0, 0, LOWEST, 0x03, 1, 0 },
	{ C_X_LOW_3_1, 1, LOWEST, 0x03, 0, 1 },
	{ C_X_LOW_2_0, 0, LOWEST, 0x02, 0, 1 },
	{ C_X_LOW_1_1, 1, LOWEST, 0x01, 1, 0 },
};

static const struct ipi_spec x2apic_cases[] = {
	{ C_X2_PHYS_01, 0, ICR_FIXED | ICR_ASSERT, 1, 0, 1 },
	{ C_X2_PHYS_10, 1, ICR_FIXED | ICR_ASSERT, 0, 1, 0 },
	{ C_X2_BCAST_0, 0, ICR_FIXED | ICR_ASSERT, 0xFFFFFFFFU, 1, 1 },
	{ C_X2_BCAST_1, 1, ICR_FIXED | ICR_ASSERT, 0xFFFFFFFFU, 1, 1 },
	{ C_X2_SELF_0, 0, ICR_FIXED | ICR_ASSERT | ICR_SELF, 0, 1, 0 },
	{ C_X2_SELF_1, 1, ICR_FIXED | ICR_ASSERT | ICR_SELF, 0, 0, 1 },
	{ C_X2_ALLINC_0, 0, ICR_FIXED | ICR_ASSERT | ICR_ALL, 0, 1, 1 },
	{ C_X2_ALLINC_1, 1, ICR_FIXED | ICR_ASSERT | ICR_ALL, 0, 1, 1 },
	{ C_X2_ALLBUT_0, 0, ICR_FIXED | ICR_ASSERT | ICR_OTHERS, 0, 0, 1 },
	{ C_X2_ALLBUT_1, 1, ICR_FIXED | ICR_ASSERT | ICR_OTHERS, 0, 1, 0 },
	/* x2APIC logical ids: cluster 0, cpu0 bit 0, cpu1 bit 1 */
	{ C_X2_CLU_2_0, 0, LOGICAL, 0x2, 0, 1 },
	{ C_X2_CLU_3_0, 0, LOGICAL, 0x3, 1, 1 },
	{ C_X2_CLU_1_1, 1, LOGICAL, 0x1, 1, 0 },
	{ C_X2_CLU_3_1, 1, LOGICAL, 0x3, 1, 1 },
	{ C_X2_NMI_01, 0, ICR_NMI | ICR_ASSERT, 1, 0, 1 },
	{ C_X2_NMI_10, 1, ICR_NMI | ICR_ASSERT, 0, 1, 0 },
	{ C_X2_LOW_3_0, 0, LOWEST, 0x3, 1, 0 },
	{ C_X2_LOW_3_1, 1, LOWEST, 0x3, 0, 1 },
	{ C_X2_LOW_2_0, 0, LOWEST, 0x2, 0, 1 },
	{ C_X2_LOW_1_1, 1, LOWEST, 0x1, 1, 0 },
};

#define NSPECS(a)	(sizeof(a) / sizeof((a)[0]))

static void run_specs(const struct ipi_spec *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ipi_case(s[i].id, s[i].from, s[i].mode, s[i].dest, s[i].e0,
			 s[i].e1);
}

static void fail_specs(const struct ipi_spec *s, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++)
		report(s[i].id, false, "%s", why);
}

static void test_xapic(void)
{
	run_specs(xapic_basic, NSPECS(xapic_basic));
	if (set_logical(DFR_FLAT, 0x01U << 24, 0x02U << 24))
		run_specs(xapic_flat, NSPECS(xapic_flat));
	else
		fail_specs(xapic_flat, NSPECS(xapic_flat),
			   "flat logical ids not set");
	if (set_logical(DFR_CLUSTER, 0x01U << 24, 0x02U << 24))
		run_specs(xapic_cluster, NSPECS(xapic_cluster));
	else
		fail_specs(xapic_cluster, NSPECS(xapic_cluster),
			   "cluster logical ids not set");
	run_specs(xapic_nmi, NSPECS(xapic_nmi));
	if (set_logical(DFR_FLAT, 0x01U << 24, 0x02U << 24))
		run_specs(xapic_lowest, NSPECS(xapic_lowest));
	else
		fail_specs(xapic_lowest, NSPECS(xapic_lowest),
			   "flat logical ids not set");
}

/* Remote IRR of the COM1 pin clears: the guest's EOI reached the IOAPIC. */
static bool remote_irr_clears(void)
{
	return WAIT_FOR(!(ioapic_read(IOAPIC_REDTBL(IRQ_COM1)) &
			  RTE_REMOTE_IRR), WAIT_MS);
}

/*
 * The UART's THRE interrupt, level-triggered through IOAPIC pin 4 to APIC
 * id 1 on the other host: cpu1's handler reads IIR (which drops the line)
 * and EOIs; the EOI goes back to the I/O node, which clears Remote IRR.
 * Nothing is printed while THRI is on: each byte sent would raise it again.
 */
static void ioapic_once(u32 id, u32 want)
{
	u64 t0 = rdtsc(), dt;
	bool reached, cleared;
	u32 c0, c1, iir, tmr;

	outb(COM1 + UART_IER, UART_IER_THRI);
	xhost[0]++;
	reached = WAIT_FOR(percpu[1].hits[VEC_IOAPIC] >= want, WAIT_MS);
	dt = rdtsc() - t0;
	delay_ms(SETTLE_MS);
	cleared = remote_irr_clears();
	outb(COM1 + UART_IER, 0);
	c0 = percpu[0].hits[VEC_IOAPIC];
	c1 = percpu[1].hits[VEC_IOAPIC];
	seen_hits[0][VEC_IOAPIC] = c0;
	seen_hits[1][VEC_IOAPIC] = c1;
	/* what cpu1's handler saw at this delivery (0 if none) */
	iir = percpu[1].iir[(want - 1) % 4];
	tmr = percpu[1].tmr_level[(want - 1) % 4];
	report(id, c0 == 0 && c1 == want && cleared &&
	       (iir & 0x0F) == UART_IIR_THRI && tmr,
	       "cpu0 %u cpu1 %u (want 0 %u) %s after %lu us; IIR 0x%x TMR %u; Remote IRR %s",
	       c0, c1, want, reached ? "reached" : "timed out", tsc_to_us(dt),
	       iir, tmr, cleared ? "cleared" : "still set");
}

static void test_ioapic(void)
{
	u32 pin_lo = IOAPIC_REDTBL(IRQ_COM1);

	if (ap_dead) {
		report(C_IOAPIC_LEVEL, false, "cpu1 is not running");
		report(C_IOAPIC_REARM, false, "cpu1 is not running");
		return;
	}
	outb(COM1 + UART_IER, 0);
	ioapic_write(pin_lo, RTE_MASKED);
	ioapic_write(pin_lo + 1, 1U << 24);		/* APIC id 1 */
	ioapic_write(pin_lo, RTE_LEVEL | VEC_IOAPIC);	/* fixed, physical */
	/*
	 * The I/O node sends its routes to node 1 when an entry changes;
	 * node 1's KVM reports a vector's EOI only once it has them.  A
	 * forwarded access of cpu1 is answered after that message, on the
	 * same ordered link and by the same thread, so once it is done
	 * node 1 knows this entry.
	 */
	if (!ap_call(OP_SYNC_IO, 0, 0)) {
		report(C_IOAPIC_LEVEL, false, "cpu1 did not answer");
		report(C_IOAPIC_REARM, false, "cpu1 did not answer");
		ioapic_write(pin_lo, RTE_MASKED);
		return;
	}
	ioapic_once(C_IOAPIC_LEVEL, 1);
	/* THRI off and on again: THR is empty, so it is raised once more */
	ioapic_once(C_IOAPIC_REARM, 2);
	ioapic_write(pin_lo, RTE_MASKED);
}

static void test_tsc(void)
{
	u64 min_rtt = ~0ULL, max_rtt = 0, max_abs_off = 0;
	s64 off_at_min = 0;
	u32 r, bad = 0, done = 0;
	u64 bad_t[3] = { 0, 0, 0 };

	if (ap_dead) {
		report(C_TSC, false, "cpu1 is not running");
		return;
	}
	ap_post(OP_TSC, TSC_ROUNDS, 0);
	for (r = 1; r <= TSC_ROUNDS; r++) {
		u64 t0, t1, t2, rtt, a;
		s64 off;

		t0 = rdtsc();
		ping.tsc = t0;
		barrier();
		ping.round = r;
		if (!WAIT_FOR(pong.round == r, WAIT_MS))
			break;
		t2 = rdtsc();
		t1 = pong.tsc;
		done++;
		if (!(t0 < t1 && t1 < t2)) {
			if (!bad++) {
				bad_t[0] = t0;
				bad_t[1] = t1;
				bad_t[2] = t2;
			}
			continue;
		}
		rtt = t2 - t0;
		off = ((s64)(t1 - t0) - (s64)(t2 - t1)) / 2;
		a = off < 0 ? -(u64)off : (u64)off;
		if (a > max_abs_off)
			max_abs_off = a;
		if (rtt > max_rtt)
			max_rtt = rtt;
		if (rtt < min_rtt) {
			min_rtt = rtt;
			off_at_min = off;
		}
	}
	if (!ap_wait() || reply.res[0])
		line("# ssiguest: cpu1's ping-pong ended at round %lu",
		     reply.res[0]);
	if (bad) {
		report(C_TSC, false,
		       "%u of %u rounds out of order, first: t0 %lu t1 %lu t2 %lu",
		       bad, done, bad_t[0], bad_t[1], bad_t[2]);
		return;
	}
	if (done != TSC_ROUNDS) {
		report(C_TSC, false, "%u of %u rounds done", done, TSC_ROUNDS);
		return;
	}
	report(C_TSC, true,
	       "%u rounds t0<t1<t2; round trip min %lu us max %lu us; cpu1 offset %s%lu us at the shortest (%s%lu cycles), max |offset| %lu us",
	       done, tsc_to_us(min_rtt), tsc_to_us(max_rtt),
	       off_at_min < 0 ? "-" : "",
	       tsc_to_us(off_at_min < 0 ? -(u64)off_at_min : (u64)off_at_min),
	       off_at_min < 0 ? "-" : "",
	       off_at_min < 0 ? -(u64)off_at_min : (u64)off_at_min,
	       tsc_to_us(max_abs_off));
}

/* INIT to the running cpu1, then SIPI with another vector: one restart. */
static void test_ap_restart(void)
{
	u64 t0 = rdtsc();
	bool up;

	if (ap_dead) {
		report(C_AP_RESTART, false, "cpu1 is not running");
		report(C_AP_AFTER, false, "cpu1 is not running");
		return;
	}
	init_sipi(SIPI_AGAIN);
	up = WAIT_FOR(reply.alive == 2, AP_START_MS);
	if (!up)
		ap_dead = true;
	delay_ms(SETTLE_MS);
	report(C_AP_RESTART,
	       up && ap_runs == 2 && ap_last_cs == SIPI_AGAIN << 8,
	       "trampoline runs %u, CS 0x%x (want 2, 0x%x), up after %lu ms",
	       ap_runs, ap_last_cs, SIPI_AGAIN << 8,
	       tsc_to_us(rdtsc() - t0) / 1000);
}

/* After its restart cpu1 takes and sends IPIs again. */
static void test_ap_after(void)
{
	u32 v01 = next_vec++, v10 = next_vec++;
	volatile u32 *h0 = percpu[0].hits, *h1 = percpu[1].hits;
	u32 b01 = h1[v01], b10 = h0[v10];
	bool ok;

	if (ap_dead) {
		report(C_AP_AFTER, false, "cpu1 is not running");
		return;
	}
	send_ipi(ICR_FIXED | ICR_ASSERT | v01, 1);
	ok = ap_call(OP_SEND_IPI, ICR_FIXED | ICR_ASSERT | v10, 0);
	xhost[0]++;
	xhost[1]++;
	WAIT_FOR(h1[v01] - b01 >= 1 && h0[v10] - b10 >= 1, WAIT_MS);
	delay_ms(SETTLE_MS);
	seen_hits[0][v01] = h0[v01];
	seen_hits[1][v01] = h1[v01];
	seen_hits[0][v10] = h0[v10];
	seen_hits[1][v10] = h1[v10];
	report(C_AP_AFTER,
	       ok && h1[v01] - b01 == 1 && h0[v01] == 0 &&
	       h0[v10] - b10 == 1 && h1[v10] == 0,
	       "0->1 vector 0x%x: cpu0 %u cpu1 %u; 1->0 vector 0x%x: cpu0 %u cpu1 %u (want 0 1, 1 0)",
	       v01, h0[v01], h1[v01] - b01, v10, h0[v10] - b10, h1[v10]);
}

static void test_x2apic(void)
{
	u32 a, b, c, d, ldr0, ldr1, id1;
	size_t i;

	cpuid(1, &a, &b, &c, &d);
	if (!(c & (1U << 21))) {
		report_skip(C_X2_ENABLE, "no x2APIC (CPUID.1:ECX[21])");
		for (i = 0; i < NSPECS(x2apic_cases); i++)
			report_skip(x2apic_cases[i].id, "no x2APIC");
		return;
	}
	if (ap_dead) {
		report(C_X2_ENABLE, false, "cpu1 is not running");
		fail_specs(x2apic_cases, NSPECS(x2apic_cases),
			   "cpu1 is not running");
		return;
	}
	x2apic_enable();
	ldr0 = apic_read(APIC_LDR);
	if (!ap_call(OP_X2APIC, 0, 0)) {
		report(C_X2_ENABLE, false, "cpu1 did not answer");
		fail_specs(x2apic_cases, NSPECS(x2apic_cases),
			   "cpu1 is not running");
		return;
	}
	ldr1 = (u32)reply.res[0];
	id1 = (u32)reply.res[1];
	report(C_X2_ENABLE,
	       apic_read(APIC_ID) == 0 && id1 == 1 && ldr0 == 0x1 &&
	       ldr1 == 0x2,
	       "ids %u %u, LDR 0x%x 0x%x (want 0 1, 0x1 0x2)",
	       apic_read(APIC_ID), id1, ldr0, ldr1);
	run_specs(x2apic_cases, NSPECS(x2apic_cases));
}

/*
 * Every count once more, after a last settle period: nothing arrived
 * after its case was checked, on no other vector, and no spurious one.
 */
static void test_no_stray(void)
{
	u32 cpu, v, bad = 0, first_cpu = 0, first_vec = 0, got = 0, want = 0;

	delay_ms(SETTLE_MS);
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		for (v = 32; v < 256; v++) {
			if (v == VEC_SPURIOUS ||
			    percpu[cpu].hits[v] == seen_hits[cpu][v])
				continue;
			if (!bad++) {
				first_cpu = cpu;
				first_vec = v;
				got = percpu[cpu].hits[v];
				want = seen_hits[cpu][v];
			}
		}
	}
	report(C_NO_STRAY,
	       !bad && percpu[0].spurious == 0 && percpu[1].spurious == 0 &&
	       percpu[0].nmis == seen_nmis[0] &&
	       percpu[1].nmis == seen_nmis[1],
	       "%u counts changed since checked (first: cpu%u vector 0x%x now %u, was %u); spurious %u %u; NMIs %u %u, checked %u %u",
	       bad, first_cpu, first_vec, got, want, percpu[0].spurious,
	       percpu[1].spurious, percpu[0].nmis, percpu[1].nmis,
	       seen_nmis[0], seen_nmis[1]);
}

/* tsc_early_khz=N from the command line. */
static void parse_cmdline(u64 boot_params)
{
	const char *key = "tsc_early_khz=";
	u32 ptr = *(volatile u32 *)(uintptr_t)(boot_params + BOOT_CMD_LINE_PTR);
	const char *s = (const char *)(uintptr_t)(ptr ? ptr : CMDLINE_FALLBACK);
	size_t i, k;

	setup.tsc_khz = TSC_KHZ_FALLBACK;
	for (i = 0; s[i] && i < 2048; i++) {
		u64 v = 0;

		if (i && s[i - 1] != ' ')
			continue;
		for (k = 0; key[k] && s[i + k] == key[k]; k++)
			;
		if (key[k])
			continue;
		for (i += k; s[i] >= '0' && s[i] <= '9'; i++)
			v = v * 10 + (u64)(s[i] - '0');
		if (v) {
			setup.tsc_khz = v;
			setup.tsc_khz_given = 1;
		}
		break;
	}
}

static void page_tables(void)
{
	unsigned int i;

	for (i = 0; i < 4 * 512; i++)
		pd[i / 512][i % 512] = (u64)i << 21 | 0xE3; /* P W A D PS */
	for (i = 0; i < 4; i++)
		pdpt[i] = (u64)(uintptr_t)pd[i] | 0x23;    /* P W A */
	pml4[0] = (u64)(uintptr_t)pdpt | 0x23;
	setup.cr3 = (u32)(uintptr_t)pml4;
	asm volatile("mov %0, %%cr3" : : "r"((u64)setup.cr3) : "memory");
}

/* cpu0, from head.S: every test, the results, power-off. */
void bsp_main(u64 boot_params)
{
	u64 t0;
	u32 i;

	parse_cmdline(boot_params);
	page_tables();
	idt_build();
	cpu_setup(0);
	asm volatile("sti");
	t0 = rdtsc();
	line("# ssiguest: %u cases, TSC %lu kHz (%s)", (u32)NR_CASES, setup.tsc_khz,
	     setup.tsc_khz_given ? "tsc_early_khz" : "assumed");

	test_ap_start();
	test_forwarding();
	test_xapic();
	test_ioapic();
	test_tsc();
	test_ap_restart();
	test_ap_after();
	test_x2apic();
	test_no_stray();

	/* cases a broken sequence skipped count as failed */
	for (i = next_case; i < NR_CASES; i++)
		report(i, false, "not run");
	/* bigiron_ssi compares these with the module's counters */
	line("# ssiguest: xhost %u %u", xhost[0], xhost[1]);
	line("1..%u", (u32)NR_CASES);
	line("# ssiguest: %u failed, %lu ms; waiting for the host's byte on COM1",
	     failures, tsc_to_us(rdtsc() - t0) / 1000);
	/* the host reads the module's counters, then sends a byte */
	if (!WAIT_FOR((delay_ms(1), inb(COM1 + UART_LSR) & UART_LSR_DR),
		      HOST_WAIT_MS))
		line("# ssiguest: no byte from the host, powering off anyway");
	else
		(void)inb(COM1);
	poweroff();
}
