/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron_ssi_guest: boot header, entry points and interrupt stubs.
 *
 * The image is a minimal "bzImage" as bigiron-launch loads one: a setup
 * header in the first two sectors (not loaded), then the payload, loaded
 * at its pref_address (1 MiB) and entered at load address + 0x200 in
 * 64-bit mode with RSI pointing at boot_params.
 *
 * Also here:
 * - the AP trampoline: 16-bit code that guest.c copies below 1 MiB, one
 *   copy per SIPI vector it uses; it takes the AP from real mode to
 *   protected mode, counts the run (ap_runs) and records the CS it was
 *   started with (ap_last_cs), then goes on to long mode and ap_main();
 * - the GDT both CPUs use (accessed bits preset, so the CPUs never write
 *   it: it is shared by the two hosts);
 * - one 16-byte stub per interrupt vector, all entering trap() in guest.c.
 */

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_CODE64	0x18

#define MSR_EFER	0xC0000080
#define EFER_LME	0x100
#define CR0_PE		0x1
#define CR0_PG		0x80000000
#define CR4_PAE		0x20

/* ---- the setup header (file offsets 0 to 0x3FF, not loaded) ----------- */

	.section .header, "a"
	.code16
hdr_start:
	.org	0x1F1
	.byte	1			/* setup_sects: the header is 2 sectors */
	.word	0			/* root_flags */
	.long	_syssize		/* syssize, 16-byte units */
	.word	0			/* ram_size */
	.word	0			/* vid_mode */
	.word	0			/* root_dev */
	.word	0xAA55			/* boot_flag */
	/* 0x200: a jump over the header; its offset gives the header's end */
	.byte	0xEB, hdr_end - 0x202
	.ascii	"HdrS"			/* 0x202 header */
	.word	0x020F			/* 0x206 version 2.15 */
	.long	0			/* 0x208 realmode_swtch */
	.word	0			/* 0x20C start_sys_seg */
	.word	0			/* 0x20E kernel_version */
	.byte	0			/* 0x210 type_of_loader */
	.byte	0x01			/* 0x211 loadflags: LOADED_HIGH */
	.word	0			/* 0x212 setup_move_size */
	.long	0x100000		/* 0x214 code32_start */
	.long	0			/* 0x218 ramdisk_image */
	.long	0			/* 0x21C ramdisk_size */
	.long	0			/* 0x220 bootsect_kludge */
	.word	0			/* 0x224 heap_end_ptr */
	.byte	0			/* 0x226 ext_loader_ver */
	.byte	0			/* 0x227 ext_loader_type */
	.long	0			/* 0x228 cmd_line_ptr */
	.long	0x7FFFFFFF		/* 0x22C initrd_addr_max */
	.long	0x1000			/* 0x230 kernel_alignment */
	.byte	0			/* 0x234 relocatable_kernel: no */
	.byte	12			/* 0x235 min_alignment */
	.word	0x0001			/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long	0x7FF			/* 0x238 cmdline_size */
	.long	0			/* 0x23C hardware_subarch */
	.quad	0			/* 0x240 hardware_subarch_data */
	.long	0			/* 0x248 payload_offset */
	.long	0			/* 0x24C payload_length */
	.quad	0			/* 0x250 setup_data */
	.quad	0x100000		/* 0x258 pref_address */
	.long	_init_size		/* 0x260 init_size */
	.long	0			/* 0x264 handover_offset */
	.long	0			/* 0x268 kernel_info_offset */
hdr_end:
	.org	0x400

/* ---- the payload, linked at 1 MiB ------------------------------------- */

	.section .text.head, "ax"
	.code64
	.globl	_start
_start:
	/* load address + 0: the 32-bit entry, never used by the launcher */
	cli
1:	hlt
	jmp	1b

	.org	0x200
	.globl	startup_64
startup_64:
	/* 64-bit entry: interrupts off, RSI = boot_params */
	cli
	cld
	lgdt	gdt_desc(%rip)
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	/* clear .bss (RSI, boot_params, is kept) */
	leaq	__bss_start(%rip), %rdi
	leaq	_end(%rip), %rcx
	subq	%rdi, %rcx
	xorl	%eax, %eax
	rep stosb
	leaq	cpu0_stack_top(%rip), %rsp
	/* reload CS with this GDT's 64-bit code selector */
	pushq	$SEL_CODE64
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	movq	%rsi, %rdi
	call	bsp_main
2:	cli
	hlt
	jmp	2b

/* ---- the AP trampoline (copied below 1 MiB by guest.c) ---------------- */

	.section .rodata.tramp, "a"
	.code16
	.globl	ap_tramp_start, ap_tramp_end
ap_tramp_start:
	/* real mode, CS = SIPI vector << 8, IP = 0 */
	cli
	movw	%cs, %bx
	lgdtl	%cs:(tramp_gdt_desc - ap_tramp_start)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_pm32
	.balign	8
tramp_gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_tramp_end:

	.text
	.code32
ap_pm32:
	/* protected mode, flat segments, paging off */
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	lock incl ap_runs
	movzwl	%bx, %ebx
	movl	%ebx, ap_last_cs
	/* long mode with the BSP's page tables */
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	setup, %eax		/* setup.cr3 (guest.c) */
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE64, $ap_long

	.code64
ap_long:
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$cpu1_stack_top, %rsp
	call	ap_main
1:	cli
	hlt
	jmp	1b

/* ---- interrupt stubs: one per vector, 16 bytes apart ------------------- */

/* Vectors whose exception pushes an error code; the others push a zero. */
.macro	vstub n
	.balign	16
	.if	(\n == 8) || ((\n >= 10) && (\n <= 14)) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq	$0
	.endif
	pushq	$\n
	jmp	int_common
.endm

	.altmacro
.macro	vstub_at n
	vstub	%n
.endm
	.balign	16
	.globl	int_stubs
int_stubs:
	.set	vec, 0
	.rept	256
	vstub_at vec
	.set	vec, vec + 1
	.endr
	.noaltmacro

/* The frame trap() sees: struct frame in guest.c. */
int_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

/* ---- data -------------------------------------------------------------- */

	.section .data.gdt, "aw"
	.balign	4096
	.globl	gdt
gdt:
	.quad	0
	.quad	0x00CF9B000000FFFF	/* 0x08 code, 32-bit, accessed */
	.quad	0x00CF93000000FFFF	/* 0x10 data, accessed */
	.quad	0x00AF9B000000FFFF	/* 0x18 code, 64-bit, accessed */
gdt_end:
	.balign	16
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt
	.balign	4096

/* Written by the AP only (and read by the BSP): a page of its own. */
	.section .data.ap, "aw"
	.balign	4096
	.globl	ap_runs, ap_last_cs
ap_runs:
	.long	0
ap_last_cs:
	.long	0
	.balign	4096

/* Stacks, 16 KiB per CPU, each written by its CPU only. */
	.section .bss.stacks, "aw", @nobits
	.balign	4096
cpu0_stack:
	.skip	16384
cpu0_stack_top:
cpu1_stack:
	.skip	16384
cpu1_stack_top:

	.section .note.GNU-stack, "", @progbits
