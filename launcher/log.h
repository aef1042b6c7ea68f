/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: messages to stderr.
 *
 * Every message starts with "bigiron-launch: ". log_debug() prints only
 * with -v; log_ratelimited() is for messages a guest can trigger at will.
 */
#ifndef BIGIRON_LOG_H
#define BIGIRON_LOG_H

#include <stdbool.h>

extern int log_verbose;
/* Set by the unit tests: no output at all. */
extern int log_silent;

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_debug(), but at most a few lines per second over all callers. */
void log_ratelimited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
