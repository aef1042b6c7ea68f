// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: boot an unmodified Linux bzImage in a bigiron VM.
 *
 *   bigiron-launch [-h] [-v] [--version] [--check] vm.conf
 *
 * Exit status: 0 when the guest powers off, 2 when it asks for a reset
 * (ACPI reset register, or a triple fault), 1 on any error.
 */
#include <stdio.h>
#include <string.h>

#include <linux/bigiron.h>

#include "config.h"
#include "log.h"
#include "vm.h"

#ifndef BIGIRON_VERSION
#define BIGIRON_VERSION "0.1"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bigiron-launch [-h] [-v] [--version] [--check] vm.conf\n"
		"\n"
		"Boot the Linux bzImage that vm.conf names in a KVM virtual machine\n"
		"whose RAM is provided by the bigiron module (/dev/bigiron).\n"
		"\n"
		"  -h, --help     show this help and exit\n"
		"  -v, --verbose  print debug messages (unhandled guest I/O and more)\n"
		"      --version  print the version and exit\n"
		"      --check    parse and validate vm.conf, print the resolved\n"
		"                 settings and exit\n"
		"\n"
		"Exit status: 0 guest powered off, 2 guest reset or triple fault,\n"
		"1 error. See vm.conf.example for the configuration format.\n");
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	struct config cfg;
	bool check = false;
	char err[512];
	struct vm vm;
	int i, status;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("bigiron-launch %s (bigiron ABI %d)\n",
			       BIGIRON_VERSION, BIGIRON_ABI_VERSION);
			return 0;
		} else if (!strcmp(a, "--check")) {
			check = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_verbose = 1;
		} else if (a[0] == '-' && a[1]) {
			log_error("unknown option %s", a);
			usage(stderr);
			return 1;
		} else if (conf) {
			log_error("more than one config file: %s and %s", conf, a);
			return 1;
		} else {
			conf = a;
		}
	}
	if (!conf) {
		usage(stderr);
		return 1;
	}

	if (config_load(&cfg, conf, err, sizeof(err))) {
		log_error("%s", err);
		return 1;
	}
	if (check) {
		config_print(&cfg, stdout);
		status = vm_check(&cfg) ? 1 : 0;
		config_free(&cfg);
		return status;
	}

	status = 1;
	if (!vm_setup(&vm, &cfg))
		status = vm_run(&vm);
	vm_teardown(&vm);
	config_free(&cfg);
	return status;
}
