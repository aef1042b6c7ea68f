/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch unit tests: a tiny TAP harness.
 *
 * Each RUN(test) is one TAP test point; CHECK*() failures inside it are
 * reported as diagnostics and make it "not ok" without stopping the
 * others. The last line printed is "N passed, N failed".
 */
#ifndef BIGIRON_TEST_HARNESS_H
#define BIGIRON_TEST_HARNESS_H

#include <stdbool.h>
#include <string.h>

void harness_begin(const char *name);
void harness_end(void);
bool harness_check(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define RUN(fn) do { harness_begin(#fn); fn(); harness_end(); } while (0)

#define CHECK(c) \
	harness_check(!!(c), __FILE__, __LINE__, "%s", #c)

#define CHECK_EQ(a, b) do { \
	unsigned long long _a = (unsigned long long)(a); \
	unsigned long long _b = (unsigned long long)(b); \
	harness_check(_a == _b, __FILE__, __LINE__, \
		      "%s == %s: 0x%llx != 0x%llx", #a, #b, _a, _b); \
} while (0)

#define CHECK_STREQ(a, b) do { \
	const char *_a = (a), *_b = (b); \
	harness_check(_a && _b && !strcmp(_a, _b), __FILE__, __LINE__, \
		      "%s == %s: \"%s\" != \"%s\"", #a, #b, \
		      _a ? _a : "(null)", _b ? _b : "(null)"); \
} while (0)

/* Suites, one per file. */
void suite_config(void);
void suite_boot(void);
void suite_acpi(void);
void suite_cpuid(void);
void suite_ioapic(void);
void suite_serial(void);
void suite_io(void);
void suite_cluster(void);
void suite_virtio(void);

#endif
