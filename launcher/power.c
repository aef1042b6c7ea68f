// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: ACPI power-off and reset ports.
 *
 * The FADT points the guest at three byte-wide I/O ports (layout.h):
 * - SLEEP_CONTROL_REG: Linux writes SLP_TYP << 2 | SLP_EN, with SLP_TYP
 *   taken from \_S5_ in the DSDT, to power off;
 * - SLEEP_STATUS_REG: read back as 0, written with WAK_STS before sleeping;
 * - RESET_REG (0xCF9): Linux writes RESET_VALUE (0x06) to reboot.
 * - i8042 command port 0x64: only the keyboard controller's reset pulse
 *   (command 0xFE), for guests booted with reboot=k; its status reads 0
 *   (buffers empty) so that waiting for the controller ends at once.
 * The sleep ports sit at 0x600, away from the VGA ports (0x3C0-0x3DF) that
 * console drivers probe.
 */
#include "layout.h"
#include "log.h"
#include "vm.h"

#define SLP_TYP_SHIFT	2
#define SLP_TYP_MASK	0x7
#define SLP_EN		(1U << 5)
#define RESET_RST_CPU	(1U << 2)
#define I8042_CMD_RESET	0xFE

static void sleep_control(void *opaque, uint64_t offset, uint8_t *data,
			  unsigned int len, bool is_write)
{
	struct vm *vm = opaque;
	unsigned int type;

	(void)offset;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (len != 1 || !(data[0] & SLP_EN))
		return;
	type = (data[0] >> SLP_TYP_SHIFT) & SLP_TYP_MASK;
	if (type == SLEEP_TYPE_S5)
		vm_request_stop(vm, VM_STOP_POWEROFF,
				"guest powered off (ACPI S5)");
	else
		log_ratelimited("guest asked for unsupported sleep type %u",
				type);
}

static void sleep_status(void *opaque, uint64_t offset, uint8_t *data,
			 unsigned int len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write && len)
		data[0] = 0;
}

static void reset_reg(void *opaque, uint64_t offset, uint8_t *data,
		      unsigned int len, bool is_write)
{
	struct vm *vm = opaque;

	(void)offset;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (len == 1 && (data[0] & RESET_RST_CPU))
		vm_request_stop(vm, VM_STOP_RESET,
				"guest requested a reset (ACPI reset register)");
}

static void i8042_command(void *opaque, uint64_t offset, uint8_t *data,
			  unsigned int len, bool is_write)
{
	struct vm *vm = opaque;

	(void)offset;
	if (!is_write) {
		data[0] = 0;
		return;
	}
	if (len == 1 && data[0] == I8042_CMD_RESET)
		vm_request_stop(vm, VM_STOP_RESET,
				"guest requested a reset (keyboard controller)");
}

/* Port 0x80 (POST codes, I/O delay): accepted silently. */
static void sink(void *opaque, uint64_t offset, uint8_t *data,
		 unsigned int len, bool is_write)
{
	(void)opaque;
	(void)offset;
	(void)data;
	(void)len;
	(void)is_write;
}

int power_init(struct vm *vm)
{
	if (io_register(&vm->pio, PORT_SLEEP_CONTROL, 1, sleep_control, vm,
			"acpi-sleep-control") ||
	    io_register(&vm->pio, PORT_SLEEP_STATUS, 1, sleep_status, vm,
			"acpi-sleep-status") ||
	    io_register(&vm->pio, PORT_RESET, 1, reset_reg, vm, "acpi-reset") ||
	    io_register(&vm->pio, PORT_I8042_COMMAND, 1, i8042_command, vm,
			"i8042-reset") ||
	    io_register(&vm->pio, 0x80, 1, sink, vm, "post-code"))
		return -1;
	return 0;
}
