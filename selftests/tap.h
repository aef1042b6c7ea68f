/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small TAP 13 runner for the bigiron selftests, in the manner of the
 * kernel's kselftest helpers but standalone.
 *
 * Each test case is a function returning TAP_PASS, TAP_FAIL or TAP_SKIP.
 * It runs in its own child process under a timeout, so that a crash, a
 * hang or a leaked descriptor fails that case only and the next case starts
 * clean.  Exit status of the program: 0 all passed (some may be skipped),
 * 1 any failure, 4 everything skipped.
 */
#ifndef BIGIRON_TAP_H
#define BIGIRON_TAP_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAP_PASS	0
#define TAP_FAIL	1
#define TAP_SKIP	4

#ifndef TAP_TIMEOUT
#define TAP_TIMEOUT	240	/* seconds per case; the lab may run on TCG */
#endif

struct tap_case {
	const char *name;
	int (*fn)(void);
};

/* Write end of the pipe a case uses to give its skip reason. */
static int tap_reason_fd = -1;

static inline void tap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Skip the current case: use as "return tap_skip(...)". */
static inline int tap_skip(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int tap_skip(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if (len >= (int)sizeof(buf))
		len = sizeof(buf) - 1;
	if (tap_reason_fd >= 0 && write(tap_reason_fd, buf, len) < 0)
		tap_diag("skip: %s", buf);
	return TAP_SKIP;
}

/* Fail the current case unless cond holds. */
#define TAP_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			tap_diag("%s:%d: failed: %s", __FILE__,		\
				 __LINE__, #cond);			\
			tap_diag(__VA_ARGS__);				\
			return TAP_FAIL;				\
		}							\
	} while (0)

/* The whole program cannot run: print an empty plan and exit 4. */
static inline void tap_skip_all(const char *reason)
{
	printf("TAP version 13\n1..0 # SKIP %s\n", reason);
	fflush(stdout);
	exit(TAP_SKIP);
}

static inline int tap_run_one(const struct tap_case *c, char *reason,
			      size_t reason_len)
{
	int pipefd[2], status, ret;
	ssize_t len;
	pid_t pid;

	reason[0] = '\0';
	if (pipe(pipefd)) {
		tap_diag("pipe: %s", strerror(errno));
		return TAP_FAIL;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		tap_diag("fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return TAP_FAIL;
	}
	if (pid == 0) {
		close(pipefd[0]);
		tap_reason_fd = pipefd[1];
		alarm(TAP_TIMEOUT);
		ret = c->fn();
		fflush(stdout);
		_exit(ret);
	}
	close(pipefd[1]);
	len = read(pipefd[0], reason, reason_len - 1);
	reason[len > 0 ? len : 0] = '\0';
	close(pipefd[0]);

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			tap_diag("waitpid: %s", strerror(errno));
			return TAP_FAIL;
		}
	}
	if (WIFSIGNALED(status)) {
		tap_diag("%s: killed by signal %d%s", c->name,
			 WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return TAP_FAIL;
	}
	ret = WEXITSTATUS(status);
	if (ret != TAP_PASS && ret != TAP_SKIP)
		ret = TAP_FAIL;
	return ret;
}

/* Run every case in order; return the program's exit status. */
static inline int tap_run(const struct tap_case *cases, int n)
{
	int i, pass = 0, fail = 0, skip = 0;
	char reason[200];

	printf("TAP version 13\n1..%d\n", n);
	for (i = 0; i < n; i++) {
		switch (tap_run_one(&cases[i], reason, sizeof(reason))) {
		case TAP_PASS:
			printf("ok %d %s\n", i + 1, cases[i].name);
			pass++;
			break;
		case TAP_SKIP:
			printf("ok %d %s # SKIP %s\n", i + 1, cases[i].name,
			       reason);
			skip++;
			break;
		default:
			printf("not ok %d %s\n", i + 1, cases[i].name);
			fail++;
			break;
		}
		fflush(stdout);
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       pass, fail, skip);
	fflush(stdout);
	if (fail)
		return TAP_FAIL;
	return pass ? TAP_PASS : TAP_SKIP;
}

#define TAP_NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

#endif /* BIGIRON_TAP_H */
