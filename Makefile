# SPDX-License-Identifier: GPL-2.0
#
# bigiron: top-level build.
#
#   make            build bigiron.ko, bigiron-launch and the selftests
#   make install    install the module (and run depmod) and the launcher
#   make check      every test: unit tests, lint, selftests and lab scenarios
#   make check-debug  selftests, dsm-veth, dsm-failslab on a KASAN/lockdep L1
#                   kernel (built once, 36 min on 2 cores; not in check)
#   make demo       boot an unmodified Linux guest on bigiron in the QEMU lab
#   make bench      run the benchmarks in the QEMU lab (not part of check)
#
# KDIR selects the kernel build tree; by default the running kernel's, else
# the newest one under /lib/modules.

KDIR ?= $(shell scripts/kdir)
KVER := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
PREFIX ?= /usr/local
DESTDIR ?=
MODDIR := $(CURDIR)/kernel/bigiron

export KDIR KVER

.PHONY: all module launcher selftests guest install uninstall check \
	check-debug demo \
	bench lint deps clean help

all: module launcher selftests guest

deps:
	@scripts/setup-deps

module:
	@test -n "$(KDIR)" || { scripts/kdir >/dev/null; exit 1; }
	$(MAKE) -C $(KDIR) M=$(MODDIR) modules

launcher:
	$(MAKE) -C launcher

selftests:
	$(MAKE) -C selftests

guest:
	$(MAKE) -C scripts/guest

install: module launcher
	$(MAKE) -C $(KDIR) M=$(MODDIR) INSTALL_MOD_DIR=extra \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	$(if $(DESTDIR),,depmod -a $(KVER))
	install -D -m 0755 launcher/bigiron-launch \
		$(DESTDIR)$(PREFIX)/bin/bigiron-launch

uninstall:
	rm -f /lib/modules/$(KVER)/extra/bigiron.ko
	depmod -a $(KVER)
	rm -f $(DESTDIR)$(PREFIX)/bin/bigiron-launch

lint: module
	scripts/lint

check: deps
	@scripts/check

check-debug: deps
	@scripts/check --debug

demo: deps
	@scripts/lab demo

bench: deps
	@scripts/lab run bench

clean:
	-$(MAKE) -C $(KDIR) M=$(MODDIR) clean
	-$(MAKE) -C launcher clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C scripts/guest clean
	rm -rf build

help:
	@sed -n '3,15p' Makefile
