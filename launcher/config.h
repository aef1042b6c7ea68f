/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: vm.conf parser and the settings it resolves.
 *
 * Pure logic: no KVM calls and, apart from config_load() reading the
 * file, no I/O, so the unit tests cover every message.
 */
#ifndef BIGIRON_CONFIG_H
#define BIGIRON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_NAME_MAX		63
#define CONFIG_CMDLINE_MAX	4095
#define CONFIG_MEM_MIN		(16ULL << 20)
/*
 * Guest RAM is one region at guest physical 0. It must end below the
 * 32-bit MMIO window that starts at 0xC0000000 (IOAPIC, LAPIC, KVM's TSS
 * and identity-map pages live near 4 GiB); 2816 MiB leaves 256 MiB of
 * room for 32-bit device BARs later.
 */
#define CONFIG_MEM_MAX		(2816ULL << 20)
#define CONFIG_VCPUS_MAX	64
#define CONFIG_DEFAULT_NAME	"bigiron"
#define CONFIG_DEFAULT_CMDLINE	"console=ttyS0"

struct config {
	char name[CONFIG_NAME_MAX + 1];
	uint64_t memory;	/* guest RAM, bytes */
	unsigned int vcpus;
	char *kernel;		/* bzImage path, resolved */
	char *initrd;		/* initrd path, resolved, or NULL */
	char *cmdline;		/* kernel command line */
};

/*
 * Parse the text of a vm.conf. @file names it in messages and anchors
 * relative paths. Returns 0, or -1 with a "file:line: problem" message
 * in @err. On success the caller owns @cfg and frees it with
 * config_free(); on failure nothing needs freeing.
 */
int config_parse(struct config *cfg, const char *file, const char *text,
		 char *err, size_t errlen);
/* Read @path and config_parse() it. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);
void config_print(const struct config *cfg, FILE *out);

/* "256M", "1G", "4096", "64KiB": bytes in @out; -1 if not a size. */
int config_parse_size(const char *s, uint64_t *out);
/* "256 MiB", "1 GiB", "4097 bytes": the largest exact unit. */
void config_format_size(uint64_t bytes, char *buf, size_t len);

#endif
