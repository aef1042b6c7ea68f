// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: the host side of COM1.
 *
 * Output: each byte the guest sends is written to stdout at once.
 * Input: a thread reads stdin (a terminal, a pipe or a file) and feeds
 * the UART's receive FIFO, waiting while the FIFO is full; at end of file
 * or on a read error it just stops. A terminal is switched to
 * non-canonical mode without echo for the guest; Ctrl-C still stops the
 * launcher. The terminal is restored by console_stop().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

#define CONSOLE_FULL_WAIT_MS	10

static pthread_t console_thread;
static bool console_running;
static int console_wake[2] = { -1, -1 };
static struct termios console_saved;
static bool console_tty;

void console_tx(void *opaque, uint8_t c)
{
	(void)opaque;
	while (write(STDOUT_FILENO, &c, 1) < 0 && errno == EINTR)
		;
}

static bool console_should_stop(int timeout_ms, bool want_stdin)
{
	struct pollfd p[2] = {
		{ .fd = console_wake[0], .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};

	while (poll(p, want_stdin ? 2 : 1, timeout_ms) < 0) {
		if (errno != EINTR)
			return true;
	}
	return p[0].revents != 0;
}

static void *console_reader(void *arg)
{
	struct serial8250 *s = arg;
	uint8_t buf[64];
	unsigned int off, n;
	ssize_t r;

	pthread_setname_np(pthread_self(), "console");
	for (;;) {
		if (console_should_stop(-1, true))
			break;
		r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;		/* end of input: stop reading */
		for (off = 0; off < (unsigned int)r; off += n) {
			n = serial_receive(s, buf + off, (unsigned int)r - off);
			if (!n && console_should_stop(CONSOLE_FULL_WAIT_MS, false))
				return NULL;
		}
	}
	return NULL;
}

int console_start(struct serial8250 *s)
{
	struct termios t;
	int e;

	if (fcntl(STDIN_FILENO, F_GETFL) < 0)
		return 0;		/* no stdin: output only */
	if (pipe(console_wake) < 0) {
		log_error("pipe: %s", strerror(errno));
		return -1;
	}
	if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp() &&
	    tcgetattr(STDIN_FILENO, &console_saved) == 0) {
		t = console_saved;
		t.c_iflag &= ~(ICRNL | INLCR | IGNCR | IXON);
		t.c_lflag &= ~(ICANON | ECHO | IEXTEN);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
			console_tty = true;
	}
	e = pthread_create(&console_thread, NULL, console_reader, s);
	if (e) {
		log_error("console: pthread_create: %s", strerror(e));
		console_stop();
		return -1;
	}
	console_running = true;
	return 0;
}

void console_stop(void)
{
	if (console_running) {
		if (write(console_wake[1], "", 1) < 0)
			log_debug("console: wake-up write failed");
		pthread_join(console_thread, NULL);
		console_running = false;
	}
	if (console_tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &console_saved);
		console_tty = false;
	}
	if (console_wake[0] >= 0) {
		close(console_wake[0]);
		close(console_wake[1]);
		console_wake[0] = console_wake[1] = -1;
	}
}
