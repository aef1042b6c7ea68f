// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: vm.conf parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static char err[512];

static int parse(const char *file, const char *text, struct config *cfg)
{
	err[0] = '\0';
	return config_parse(cfg, file, text, err, sizeof(err));
}

/* The parse must fail with exactly @msg. */
static void expect_error(const char *text, const char *msg)
{
	struct config cfg;

	if (!harness_check(parse("vm.conf", text, &cfg) == -1, __FILE__,
			   __LINE__, "accepted: %s", text)) {
		config_free(&cfg);
		return;
	}
	CHECK_STREQ(err, msg);
}

static void config_minimal_defaults(void)
{
	struct config cfg;

	CHECK_EQ(parse("vm.conf", "[vm]\nmemory = 256M\nkernel = bzImage\n",
		       &cfg), 0);
	CHECK_STREQ(cfg.name, "bigiron");
	CHECK_EQ(cfg.memory, 256ULL << 20);
	CHECK_EQ(cfg.vcpus, 1);
	CHECK_STREQ(cfg.kernel, "bzImage");
	CHECK(cfg.initrd == NULL);
	CHECK_STREQ(cfg.cmdline, "console=ttyS0");
	config_free(&cfg);
}

static void config_full_file(void)
{
	const char *text =
		"# A full example\r\n"
		"; another comment\n"
		"\n"
		"  [ vm ]   # trailing comment\n"
		"name = \"test-vm_1.a\"\n"
		"memory=2816M\n"
		"\tvcpus\t=\t64\n"
		"kernel = /boot/vmlinuz\n"
		"initrd = \"images/initrd.gz\"   ; after quotes\n"
		"cmdline = \"console=ttyS0 quiet say=\\\"hi\\\" back\\\\slash\"\n";
	struct config cfg;

	CHECK_EQ(parse("/etc/bigiron/vm.conf", text, &cfg), 0);
	CHECK_STREQ(err, "");
	CHECK_STREQ(cfg.name, "test-vm_1.a");
	CHECK_EQ(cfg.memory, 2816ULL << 20);
	CHECK_EQ(cfg.vcpus, 64);
	CHECK_STREQ(cfg.kernel, "/boot/vmlinuz");
	CHECK_STREQ(cfg.initrd, "/etc/bigiron/images/initrd.gz");
	CHECK_STREQ(cfg.cmdline, "console=ttyS0 quiet say=\"hi\" back\\slash");
	config_free(&cfg);
}

static void config_unquoted_comment_and_hash(void)
{
	struct config cfg;

	CHECK_EQ(parse("vm.conf",
		       "[vm]\nmemory = 64M # RAM\nkernel = k\n"
		       "cmdline = a#b c;d  ; comment\n", &cfg), 0);
	CHECK_EQ(cfg.memory, 64ULL << 20);
	CHECK_STREQ(cfg.cmdline, "a#b c;d");
	config_free(&cfg);
}

static void config_empty_cmdline(void)
{
	struct config cfg;

	CHECK_EQ(parse("vm.conf", "[vm]\nmemory=16M\nkernel=k\ncmdline=\"\"\n",
		       &cfg), 0);
	CHECK_STREQ(cfg.cmdline, "");
	config_free(&cfg);
}

static void config_relative_paths(void)
{
	struct config cfg;

	CHECK_EQ(parse("dir/sub/vm.conf", "[vm]\nmemory=16M\nkernel=bz\n"
		       "initrd=../i\n", &cfg), 0);
	CHECK_STREQ(cfg.kernel, "dir/sub/bz");
	CHECK_STREQ(cfg.initrd, "dir/sub/../i");
	config_free(&cfg);
	CHECK_EQ(parse("/vm.conf", "[vm]\nmemory=16M\nkernel=bz\n", &cfg), 0);
	CHECK_STREQ(cfg.kernel, "//bz");
	config_free(&cfg);
	CHECK_EQ(parse("vm.conf", "[vm]\nmemory=16M\nkernel=/abs/bz\n", &cfg),
		 0);
	CHECK_STREQ(cfg.kernel, "/abs/bz");
	config_free(&cfg);
}

static void config_sizes(void)
{
	static const struct { const char *s; unsigned long long v; } good[] = {
		{ "0", 0 }, { "4096", 4096 }, { "64K", 64 << 10 },
		{ "64k", 64 << 10 }, { "64KiB", 64 << 10 }, { "64KB", 64 << 10 },
		{ "256M", 256ULL << 20 }, { "1G", 1ULL << 30 },
		{ "2T", 2ULL << 40 }, { "16777216", 16ULL << 20 },
	};
	static const char *const bad[] = {
		"", "M", "12Q", "1.5G", "-1", "1 G", "+5", "0x100", "5Mi",
		"5MiBx", "99999999999999999999", "16777216T", " 5",
	};
	unsigned int i;
	uint64_t v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		harness_check(config_parse_size(good[i].s, &v) == 0 &&
			      v == good[i].v, __FILE__, __LINE__,
			      "size \"%s\"", good[i].s);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		harness_check(config_parse_size(bad[i], &v) == -1, __FILE__,
			      __LINE__, "size \"%s\" accepted", bad[i]);
}

static void config_format_sizes(void)
{
	char b[32];

	config_format_size(256ULL << 20, b, sizeof(b));
	CHECK_STREQ(b, "256 MiB");
	config_format_size(3ULL << 30, b, sizeof(b));
	CHECK_STREQ(b, "3 GiB");
	config_format_size(4097, b, sizeof(b));
	CHECK_STREQ(b, "4097 bytes");
}

static void config_memory_errors(void)
{
	expect_error("[vm]\nmemory = 12Q\nkernel = k\n",
		     "vm.conf:2: memory: \"12Q\" is not a size");
	expect_error("[vm]\nmemory = \"\"\nkernel = k\n",
		     "vm.conf:2: memory: \"\" is not a size");
	expect_error("[vm]\nkernel = k\nmemory = 8M\n",
		     "vm.conf:3: memory: 8M is below the minimum 16M");
	expect_error("[vm]\nmemory = 3G\nkernel = k\n",
		     "vm.conf:2: memory: 3G is above the maximum 2816M");
	expect_error("[vm]\nmemory = 16777217\nkernel = k\n",
		     "vm.conf:2: memory: 16777217 is not a multiple of 4K");
}

static void config_vcpus_errors(void)
{
	expect_error("[vm]\nmemory = 16M\nkernel = k\nvcpus = 0\n",
		     "vm.conf:4: vcpus: 0 is out of range 1..64");
	expect_error("[vm]\nmemory = 16M\nkernel = k\nvcpus = 65\n",
		     "vm.conf:4: vcpus: 65 is out of range 1..64");
	expect_error("[vm]\nmemory = 16M\nkernel = k\nvcpus = 99999999999999999999\n",
		     "vm.conf:4: vcpus: 99999999999999999999 is out of range 1..64");
	expect_error("[vm]\nmemory = 16M\nkernel = k\nvcpus = two\n",
		     "vm.conf:4: vcpus: \"two\" is not a number");
	expect_error("[vm]\nmemory = 16M\nkernel = k\nvcpus = -1\n",
		     "vm.conf:4: vcpus: \"-1\" is not a number");
}

static void config_string_errors(void)
{
	expect_error("[vm]\nmemory = 16M\nkernel =\n",
		     "vm.conf:3: kernel: must not be empty");
	expect_error("[vm]\nmemory = 16M\nkernel = k\ninitrd = \"\"\n",
		     "vm.conf:4: initrd: must not be empty");
	expect_error("[vm]\nname = \"my vm\"\nmemory = 16M\nkernel = k\n",
		     "vm.conf:2: name: \"my vm\" may only hold letters, digits, '.', '_' and '-'");
	expect_error("[vm]\nname = \"\"\n",
		     "vm.conf:2: name: must not be empty");
	expect_error("[vm]\nname = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     "vm.conf:2: name: longer than 63 characters");
}

static void config_syntax_errors(void)
{
	expect_error("[vm]\nmemory = \"16M\n",
		     "vm.conf:2: unterminated quoted value");
	expect_error("[vm]\nmemory = \"16M\" x\n",
		     "vm.conf:2: unexpected text after the closing quote");
	expect_error("[vm\n", "vm.conf:1: malformed section header");
	expect_error("[]\n", "vm.conf:1: malformed section header");
	expect_error("[vm] x\n",
		     "vm.conf:1: unexpected text after section header");
	expect_error("[vm]\njust words\n",
		     "vm.conf:2: just: expected '=' after the key");
	expect_error("[vm]\n= 5\n",
		     "vm.conf:2: expected \"key = value\", a [section] or a comment");
	expect_error("memory = 16M\n[vm]\n",
		     "vm.conf:1: key \"memory\" outside of any section");
	expect_error("[vm.]\n",
		     "vm.conf:1: [vm.]: section id must be a decimal number");
}

static void config_section_errors(void)
{
	expect_error("# x\n[node.64]\nmemory = 16M\n",
		     "vm.conf:2: [node.64]: id out of range 0..63");
	expect_error("[disk]\n",
		     "vm.conf:1: unknown section [disk] (known: [vm], [cluster], [node.N])");
	expect_error("[node]\n",
		     "vm.conf:1: section [node] needs an id: [node.N]");
	expect_error("[cluster.1]\n", "vm.conf:1: section [cluster] takes no id");
	expect_error("[vm.2]\n", "vm.conf:1: section [vm] takes no id");
	expect_error("[vm]\nmemory = 16M\nkernel = k\n\n[vm]\n",
		     "vm.conf:5: duplicate section [vm] (first at line 1)");
}

static void config_key_errors(void)
{
	expect_error("[vm]\nmemory = 16M\nkernel = k\nmemory = 32M\n",
		     "vm.conf:4: duplicate key \"memory\" (first set at line 2)");
	expect_error("[vm]\nmemory = 16M\ncolour = blue\n",
		     "vm.conf:3: unknown key \"colour\" in [vm]");
	expect_error("# nothing\n\n[vm]\nkernel = k\n",
		     "vm.conf:3: [vm]: missing required key \"memory\"");
	expect_error("[vm]\nmemory = 16M\n",
		     "vm.conf:1: [vm]: missing required key \"kernel\"");
	expect_error("", "vm.conf:0: missing section [vm]");
	expect_error("# only comments\n", "vm.conf:0: missing section [vm]");
}

static void config_devices(void)
{
	static const uint8_t def_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0x00, 0x00, 0x01 };
	struct config cfg;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	/* None by default. */
	CHECK_EQ(parse("vm.conf", "[vm]\nmemory = 64M\nkernel = k\n", &cfg), 0);
	CHECK(cfg.disk == NULL);
	CHECK(!cfg.disk_readonly);
	CHECK_STREQ(cfg.tap, "");
	CHECK(!memcmp(cfg.net_mac, def_mac, 6));
	config_free(&cfg);

	CHECK_EQ(parse("/etc/bigiron/vm.conf",
		       "[vm]\nmemory = 64M\nkernel = k\n"
		       "disk = images/root.img\ndisk_readonly = yes\n"
		       "tap = tap0\nnet_mac = 02:AB:cd:00:00:01\n", &cfg), 0);
	CHECK_STREQ(err, "");
	CHECK_STREQ(cfg.disk, "/etc/bigiron/images/root.img");
	CHECK(cfg.disk_readonly);
	CHECK_STREQ(cfg.tap, "tap0");
	CHECK(!memcmp(cfg.net_mac, mac, 6));
	f = open_memstream(&text, &len);
	if (CHECK(f != NULL)) {
		config_print(&cfg, -1, f);
		fclose(f);
		CHECK(strstr(text, "disk    = /etc/bigiron/images/root.img (read-only)\n") != NULL);
		CHECK(strstr(text, "tap     = tap0\nnet_mac = 02:ab:cd:00:00:01\n") != NULL);
		free(text);
	}
	config_free(&cfg);

	CHECK_EQ(parse("vm.conf", "[vm]\nmemory = 64M\nkernel = k\n"
		       "disk = /dev/vdb\ndisk_readonly = no\n"
		       "tap = \"tap-guest.1\"\n", &cfg), 0);
	CHECK_STREQ(cfg.disk, "/dev/vdb");
	CHECK(!cfg.disk_readonly);
	CHECK_STREQ(cfg.tap, "tap-guest.1");
	CHECK(!memcmp(cfg.net_mac, def_mac, 6));
	config_free(&cfg);
}

static void config_device_errors(void)
{
	expect_error("[vm]\nmemory = 64M\nkernel = k\ndisk =\n",
		     "vm.conf:4: disk: must not be empty");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ndisk = d\n"
		     "disk_readonly = maybe\n",
		     "vm.conf:5: disk_readonly: \"maybe\" must be yes or no");
	expect_error("[vm]\nmemory = 64M\ndisk_readonly = yes\nkernel = k\n",
		     "vm.conf:3: disk_readonly: there is no disk (set disk = PATH)");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = \"\"\n",
		     "vm.conf:4: tap: must not be empty");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = a/b\n",
		     "vm.conf:4: tap: \"a/b\" is not an interface name (no '/', ':' or blanks)");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = 0123456789abcdef\n",
		     "vm.conf:4: tap: \"0123456789abcdef\" is longer than 15 characters");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = t\n"
		     "net_mac = 01:00:5e:00:00:01\n",
		     "vm.conf:5: net_mac: 01:00:5e:00:00:01 is a multicast address");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = t\n"
		     "net_mac = 00:00:00:00:00:00\n",
		     "vm.conf:5: net_mac: 00:00:00:00:00:00 is not a valid address");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = t\n"
		     "net_mac = 52:54:00:12:34\n",
		     "vm.conf:5: net_mac: \"52:54:00:12:34\" is not a MAC address like 02:00:00:00:00:01");
	expect_error("[vm]\nmemory = 64M\nkernel = k\n"
		     "net_mac = 02:00:00:00:00:01\n",
		     "vm.conf:4: net_mac: there is no network device (set tap = IFNAME)");
	expect_error("[vm]\nmemory = 64M\nkernel = k\ntap = a\ntap = b\n",
		     "vm.conf:5: duplicate key \"tap\" (first set at line 4)");
}

static void config_load_file(void)
{
	char dir[] = "/tmp/bigiron-test-XXXXXX";
	char path[128];
	struct config cfg;
	FILE *f;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof(path), "%s/vm.conf", dir);
	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		return;
	fputs("[vm]\nmemory = 32M\nkernel = bzImage\nvcpus = 2\n", f);
	fclose(f);
	if (CHECK(config_load(&cfg, path, err, sizeof(err)) == 0)) {
		char want[160];

		snprintf(want, sizeof(want), "%s/bzImage", dir);
		CHECK_STREQ(cfg.kernel, want);
		CHECK_EQ(cfg.vcpus, 2);
		config_free(&cfg);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK(config_load(&cfg, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "missing.conf: No such file or directory") != NULL);
	rmdir(dir);
}

void suite_config(void)
{
	RUN(config_minimal_defaults);
	RUN(config_full_file);
	RUN(config_unquoted_comment_and_hash);
	RUN(config_empty_cmdline);
	RUN(config_relative_paths);
	RUN(config_sizes);
	RUN(config_format_sizes);
	RUN(config_memory_errors);
	RUN(config_vcpus_errors);
	RUN(config_string_errors);
	RUN(config_syntax_errors);
	RUN(config_section_errors);
	RUN(config_key_errors);
	RUN(config_devices);
	RUN(config_device_errors);
	RUN(config_load_file);
}
