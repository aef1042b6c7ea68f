// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: messages to stderr.
 *
 * Locking: log_lock protects the rate-limit window only; each message is
 * formatted into a local buffer and written with one write(2) so lines
 * from different vCPU threads do not interleave.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_BURST	10	/* rate-limited lines per window */
#define LOG_WINDOW_S	5	/* window length, seconds */

int log_verbose;
int log_silent;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t log_window_start;
static unsigned int log_window_count;
static unsigned long log_suppressed;

static void log_write(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n, m;

	if (log_silent)
		return;
	n = snprintf(buf, sizeof(buf), "bigiron-launch: %s", prefix);
	m = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("error: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("", fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_write("debug: ", fmt, ap);
	va_end(ap);
}

void log_ratelimited(const char *fmt, ...)
{
	unsigned long suppressed = 0;
	struct timespec now;
	bool print = false;
	va_list ap;

	if (!log_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&log_lock);
	if (now.tv_sec - log_window_start >= LOG_WINDOW_S) {
		suppressed = log_suppressed;
		log_suppressed = 0;
		log_window_start = now.tv_sec;
		log_window_count = 0;
	}
	if (log_window_count < LOG_BURST) {
		log_window_count++;
		print = true;
	} else {
		log_suppressed++;
	}
	pthread_mutex_unlock(&log_lock);

	if (suppressed)
		log_debug("%lu messages suppressed", suppressed);
	if (!print)
		return;
	va_start(ap, fmt);
	log_write("debug: ", fmt, ap);
	va_end(ap);
}
