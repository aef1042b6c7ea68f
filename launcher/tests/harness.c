// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch unit tests: TAP 13 output and the final tally.
 */
#include <stdarg.h>
#include <stdio.h>

#include "harness.h"
#include "log.h"

static const char *cur_name;
static bool cur_failed;
static unsigned int n_tests, n_passed, n_failed;

void harness_begin(const char *name)
{
	cur_name = name;
	cur_failed = false;
}

void harness_end(void)
{
	n_tests++;
	if (cur_failed) {
		n_failed++;
		printf("not ok %u - %s\n", n_tests, cur_name);
	} else {
		n_passed++;
		printf("ok %u - %s\n", n_tests, cur_name);
	}
	fflush(stdout);
}

bool harness_check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	cur_failed = true;
	printf("# %s: %s:%d: ", cur_name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

int main(void)
{
	log_silent = 1;		/* expected errors are checked, not shown */
	printf("TAP version 13\n");
	suite_config();
	suite_boot();
	suite_acpi();
	suite_cpuid();
	suite_ioapic();
	suite_serial();
	suite_io();
	suite_cluster();
	suite_virtio();
	printf("1..%u\n", n_tests);
	printf("%u passed, %u failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
