// SPDX-License-Identifier: GPL-2.0
/* Shared code of the userspace protocol tests. */
#include "common.h"

static unsigned int tap_count;
unsigned int tap_failed;

void bi_pure_warn(const char *file, int line, const char *cond)
{
	fprintf(stderr, "BI_WARN_ON(%s) at %s:%d\n", cond, file, line);
	abort();
}

void tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (!tap_count)
		printf("TAP version 13\n");
	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%s %u - ", ok ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_exit(void)
{
	printf("1..%u\n", tap_count);
	printf("# %u passed, %u failed\n", tap_count - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}
