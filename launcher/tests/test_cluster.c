// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: [cluster] and [node.N] of vm.conf, and this host's place in
 * the cluster (cluster.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "config.h"
#include "harness.h"

#define KEY_HEX "00112233445566778899aabbccddeeff" \
		"0123456789ABCDEFfedcba9876543210"

/* Lines 1-4. */
#define VM	"[vm]\nmemory = 512M\nvcpus = 4\nkernel = bzImage\n"
/* Lines 5-7. */
#define CL	"[cluster]\nid = 0x2a\nkey = " KEY_HEX "\n"
/* Lines 8-12 and 13-17. */
#define N0	"[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n" \
		"memory = 0+256M\nvcpus = 0-1\n"
#define N1	"[node.1]\ninterface = veth1\nmac = 02:00:00:00:00:02\n" \
		"memory = 256M\nvcpus = 2,3\n"

static const uint8_t key_bytes[32] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

static char err[4096];

static int parse(const char *file, const char *text, struct config *cfg)
{
	err[0] = '\0';
	return config_parse(cfg, file, text, err, sizeof(err));
}

/* The parse must fail with exactly @msg. */
#define expect_error(text, msg) expect_error_at(__LINE__, text, msg)
static void expect_error_at(int line, const char *text, const char *msg)
{
	struct config cfg;

	if (!harness_check(parse("vm.conf", text, &cfg) == -1, __FILE__, line,
			   "accepted: %s", text)) {
		config_free(&cfg);
		return;
	}
	harness_check(!strcmp(err, msg), __FILE__, line,
		      "error \"%s\" != \"%s\"", err, msg);
}

#define expect_ok(text, cfg) expect_ok_at(__LINE__, text, cfg)
static bool expect_ok_at(int line, const char *text, struct config *cfg)
{
	return harness_check(parse("vm.conf", text, cfg) == 0, __FILE__, line,
			     "rejected: %s", err);
}

static void cluster_none(void)
{
	struct config cfg;

	if (!expect_ok(VM, &cfg))
		return;
	CHECK_EQ(cfg.cluster.nr_nodes, 0);
	CHECK(cfg.cluster.key_file == NULL);
	CHECK_EQ(cluster_host_vcpus(&cfg, 0), 0xf);
	CHECK(cluster_is_io_node(&cfg, 0));
	config_free(&cfg);
}

static void cluster_two_nodes(void)
{
	struct config cfg;

	if (!expect_ok(VM CL N0 N1, &cfg))
		return;
	CHECK_EQ(cfg.cluster.nr_nodes, 2);
	CHECK_EQ(cfg.cluster.id, 42);
	CHECK(!memcmp(cfg.cluster.key, key_bytes, 32));
	CHECK(cfg.cluster.key_file == NULL);
	CHECK_EQ(cfg.cluster.transport, CONFIG_TRANSPORT_ETHERNET);
	CHECK_EQ(cfg.cluster.join_timeout, 30);
	CHECK_EQ(cfg.cluster.mtu, 0);
	CHECK_EQ(cfg.cluster.io_node, 0);
	CHECK_STREQ(cfg.cluster.nodes[0].interface, "veth0");
	CHECK_STREQ(cfg.cluster.nodes[1].interface, "veth1");
	CHECK_EQ(cfg.cluster.nodes[0].mac[5], 1);
	CHECK_EQ(cfg.cluster.nodes[1].mac[0], 2);
	CHECK_EQ(cfg.cluster.nodes[1].mac[5], 2);
	CHECK_EQ(cfg.cluster.nodes[0].home_start, 0);
	CHECK_EQ(cfg.cluster.nodes[0].home_size, 256ULL << 20);
	CHECK_EQ(cfg.cluster.nodes[1].home_start, 256ULL << 20);
	CHECK_EQ(cfg.cluster.nodes[1].home_size, 256ULL << 20);
	CHECK_EQ(cfg.cluster.nodes[0].vcpu_mask, 0x3);
	CHECK_EQ(cfg.cluster.nodes[1].vcpu_mask, 0xc);
	CHECK(cfg.cluster.nodes[0].io);
	CHECK(!cfg.cluster.nodes[1].io);
	config_free(&cfg);

	/* Sections in any order; node.1 before node.0. */
	if (!expect_ok(N1 CL N0 VM, &cfg))
		return;
	CHECK_EQ(cfg.cluster.nr_nodes, 2);
	CHECK_EQ(cfg.cluster.nodes[1].home_start, 256ULL << 20);
	config_free(&cfg);
}

static void cluster_all_keys(void)
{
	struct config cfg;

	if (!expect_ok(VM "[cluster]\nid = 4294967295\nkey = " KEY_HEX "\n"
		       "transport = ethernet\njoin_timeout = 3600\nmtu = 9000\n"
		       N0 N1 "io = yes\n", &cfg))
		return;
	CHECK_EQ(cfg.cluster.id, 0xffffffffu);
	CHECK_EQ(cfg.cluster.join_timeout, 3600);
	CHECK_EQ(cfg.cluster.mtu, 9000);
	CHECK_EQ(cfg.cluster.io_node, 1);
	CHECK(!cfg.cluster.nodes[0].io);
	CHECK(cfg.cluster.nodes[1].io);
	CHECK(!cluster_is_io_node(&cfg, 0));
	CHECK(cluster_is_io_node(&cfg, 1));
	config_free(&cfg);

	CHECK(expect_ok(VM "[cluster]\nid = 0X1\nkey = " KEY_HEX "\n"
			"join_timeout = 1\nmtu = 576\n" N0 N1, &cfg));
	CHECK_EQ(cfg.cluster.id, 1);
	CHECK_EQ(cfg.cluster.join_timeout, 1);
	CHECK_EQ(cfg.cluster.mtu, 576);
	config_free(&cfg);
	CHECK(expect_ok(VM "[cluster]\nid = 7\nkey = " KEY_HEX "\nmtu = 65535\n"
			N0 "io = no\n" N1 "io = no\n", &cfg));
	CHECK_EQ(cfg.cluster.mtu, 65535);
	CHECK_EQ(cfg.cluster.io_node, 0);
	CHECK(cfg.cluster.nodes[0].io);
	config_free(&cfg);
}

static void cluster_id_errors(void)
{
	expect_error(VM "[cluster]\nid = 0\n", "vm.conf:6: id: must not be 0");
	expect_error(VM "[cluster]\nid = 0x0\n", "vm.conf:6: id: must not be 0");
	expect_error(VM "[cluster]\nid = 4294967296\n",
		     "vm.conf:6: id: 4294967296 is out of range 1..0xffffffff");
	expect_error(VM "[cluster]\nid = 0x100000000\n",
		     "vm.conf:6: id: 0x100000000 is out of range 1..0xffffffff");
	expect_error(VM "[cluster]\nid = 99999999999999999999999\n",
		     "vm.conf:6: id: 99999999999999999999999 is out of range 1..0xffffffff");
	expect_error(VM "[cluster]\nid = forty\n",
		     "vm.conf:6: id: \"forty\" is not a number (decimal or 0x hex)");
	expect_error(VM "[cluster]\nid = 0x\n",
		     "vm.conf:6: id: \"0x\" is not a number (decimal or 0x hex)");
	expect_error(VM "[cluster]\nid = 12a\n",
		     "vm.conf:6: id: \"12a\" is not a number (decimal or 0x hex)");
	expect_error(VM "[cluster]\nid = -1\n",
		     "vm.conf:6: id: \"-1\" is not a number (decimal or 0x hex)");
	expect_error(VM "[cluster]\nkey = " KEY_HEX "\n" N0 N1,
		     "vm.conf:5: [cluster]: missing required key \"id\"");
}

static void cluster_key_errors(void)
{
	expect_error(VM "[cluster]\nkey = 0011\n",
		     "vm.conf:6: key: must be 64 hex digits (32 bytes), not 4 characters");
	expect_error(VM "[cluster]\nkey = " KEY_HEX "0\n",
		     "vm.conf:6: key: must be 64 hex digits (32 bytes), not 65 characters");
	expect_error(VM "[cluster]\nkey = \"\"\n",
		     "vm.conf:6: key: must be 64 hex digits (32 bytes), not 0 characters");
	expect_error(VM "[cluster]\nkey = 00112233445566778899aabbccddeeff"
		     "0123456789abcdefgedcba9876543210\n",
		     "vm.conf:6: key: character 49 is not a hex digit");
	expect_error(VM "[cluster]\nkey = 0000000000000000000000000000000"
		     "000000000000000000000000000000000\n",
		     "vm.conf:6: key: must not be all zeros");
	expect_error(VM "[cluster]\nid = 1\n" N0 N1,
		     "vm.conf:5: [cluster]: missing key or key_file");
	expect_error(VM "[cluster]\nkey = " KEY_HEX "\nkey_file = k\n",
		     "vm.conf:7: key_file: key is set already (line 6): set only one of key and key_file");
	expect_error(VM "[cluster]\nkey = " KEY_HEX "\nkey = " KEY_HEX "\n",
		     "vm.conf:7: duplicate key \"key\" (first set at line 6)");
}

static bool write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	fputs(text, f);
	fclose(f);
	return chmod(path, mode) == 0;
}

static void cluster_key_file(void)
{
	char dir[] = "/tmp/bigiron-test-XXXXXX";
	char conf[128], key[128], text[512], want[1024];
	uint8_t k[32];
	struct config cfg;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	snprintf(conf, sizeof(conf), "%s/vm.conf", dir);
	snprintf(key, sizeof(key), "%s/cluster.key", dir);
	snprintf(text, sizeof(text),
		 VM "[cluster]\nid = 1\nkey_file = cluster.key\n" N0 N1);

	/* 64 hex digits and a newline, mode 0600. */
	CHECK(write_file(key, KEY_HEX "\n", 0600));
	if (CHECK(parse(conf, text, &cfg) == 0)) {
		CHECK_STREQ(cfg.cluster.key_file, key);
		CHECK(!memcmp(cfg.cluster.key, key_bytes, 32));
		config_free(&cfg);
	} else {
		printf("# %s\n", err);
	}
	/* key_file, then key too. */
	snprintf(want, sizeof(want), VM "[cluster]\nkey_file = cluster.key\n"
		 "key = " KEY_HEX "\n");
	CHECK(parse(conf, want, &cfg) == -1);
	snprintf(want, sizeof(want),
		 "%s:7: key: key_file is set already (line 6): set only one of key and key_file",
		 conf);
	CHECK_STREQ(err, want);
	/* Without the newline, mode 0400. */
	CHECK(write_file(key, KEY_HEX, 0400));
	if (CHECK(parse(conf, text, &cfg) == 0))
		config_free(&cfg);

	/* Readable by group, by others, writable by others. */
	CHECK(write_file(key, KEY_HEX "\n", 0640));
	CHECK(parse(conf, text, &cfg) == -1);
	snprintf(want, sizeof(want),
		 "%s:7: key_file: %s: permissions 0640 are too open: the key must not be accessible by group or others (chmod 600 %s)",
		 conf, key, key);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, KEY_HEX "\n", 0604));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK(strstr(err, "permissions 0604 are too open") != NULL);
	CHECK(write_file(key, KEY_HEX "\n", 0602));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK(strstr(err, "permissions 0602 are too open") != NULL);

	/* Bad contents. */
	snprintf(want, sizeof(want),
		 "%s:7: key_file: %s: must hold 64 hex digits (32 bytes), optionally followed by a newline",
		 conf, key);
	CHECK(write_file(key, "0011\n", 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, KEY_HEX "\n\n", 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, KEY_HEX " \n", 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, "x" KEY_HEX, 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, "", 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	CHECK_STREQ(err, want);
	CHECK(write_file(key, "00000000000000000000000000000000"
			 "00000000000000000000000000000000\n", 0600));
	CHECK(parse(conf, text, &cfg) == -1);
	snprintf(want, sizeof(want),
		 "%s:7: key_file: %s: the key must not be all zeros", conf, key);
	CHECK_STREQ(err, want);

	/* Missing, and not a regular file. */
	unlink(key);
	CHECK(parse(conf, text, &cfg) == -1);
	snprintf(want, sizeof(want),
		 "%s:7: key_file: %s: No such file or directory", conf, key);
	CHECK_STREQ(err, want);
	CHECK(mkdir(key, 0700) == 0);
	CHECK(parse(conf, text, &cfg) == -1);
	snprintf(want, sizeof(want), "%s:7: key_file: %s: not a regular file",
		 conf, key);
	CHECK_STREQ(err, want);
	rmdir(key);

	/* config_read_key_file() on its own. */
	CHECK(write_file(key, KEY_HEX "\n", 0600));
	CHECK_EQ(config_read_key_file(key, k, err, sizeof(err)), 0);
	CHECK(!memcmp(k, key_bytes, 32));
	unlink(key);
	rmdir(dir);
}

static void cluster_transport_errors(void)
{
	expect_error(VM "[cluster]\ntransport = udp\n",
		     "vm.conf:6: transport: \"udp\" is unknown (known: ethernet, rdma)");
	expect_error(VM "[cluster]\ntransport = RDMA\n",
		     "vm.conf:6: transport: \"RDMA\" is unknown (known: ethernet, rdma)");
	expect_error(VM "[cluster]\ntransport = \"\"\n",
		     "vm.conf:6: transport: \"\" is unknown (known: ethernet, rdma)");
}

static void cluster_timeout_mtu_errors(void)
{
	expect_error(VM "[cluster]\njoin_timeout = 0\n",
		     "vm.conf:6: join_timeout: 0 is out of range 1..3600");
	expect_error(VM "[cluster]\njoin_timeout = 3601\n",
		     "vm.conf:6: join_timeout: 3601 is out of range 1..3600");
	expect_error(VM "[cluster]\njoin_timeout = 30s\n",
		     "vm.conf:6: join_timeout: \"30s\" is not a number");
	expect_error(VM "[cluster]\nmtu = 575\n",
		     "vm.conf:6: mtu: 575 is out of range 576..65535");
	expect_error(VM "[cluster]\nmtu = 65536\n",
		     "vm.conf:6: mtu: 65536 is out of range 576..65535");
	expect_error(VM "[cluster]\nmtu = 99999999999999999999999\n",
		     "vm.conf:6: mtu: 99999999999999999999999 is out of range 576..65535");
	expect_error(VM "[cluster]\nmtu = \"\"\n",
		     "vm.conf:6: mtu: \"\" is not a number");
}

static void cluster_section_errors(void)
{
	expect_error(VM N0 N1,
		     "vm.conf:5: [node.0]: a cluster needs a [cluster] section");
	expect_error(VM CL,
		     "vm.conf:5: [cluster]: no [node.N] sections: a cluster needs at least 2 nodes");
	expect_error(VM CL "[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n"
		     "memory = 512M\nvcpus = 0-3\n",
		     "vm.conf:8: [node.0]: a cluster needs at least 2 nodes (without [node.N] sections the VM runs on this host alone)");
	/* Node ids dense from 0. */
	expect_error(VM CL N0
		     "[node.2]\ninterface = veth1\nmac = 02:00:00:00:00:02\n"
		     "memory = 256M\nvcpus = 2,3\n",
		     "vm.conf:13: [node.2]: there is no [node.1] (node ids count from 0 without gaps)");
	expect_error(VM CL N1
		     "[node.3]\ninterface = veth1\nmac = 02:00:00:00:00:03\n"
		     "memory = 256M\n",
		     "vm.conf:8: [node.1]: there is no [node.0] (node ids count from 0 without gaps)");
	expect_error(VM CL N0 N1 "[node.1]\n",
		     "vm.conf:18: duplicate section [node.1] (first at line 13)");
	expect_error(VM CL "[node.64]\n",
		     "vm.conf:8: [node.64]: id out of range 0..63");
	expect_error(VM CL "[node.0]\nmac = 02:00:00:00:00:01\nmemory = 256M\n" N1,
		     "vm.conf:8: [node.0]: missing required key \"interface\"");
	expect_error(VM CL "[node.0]\ninterface = e\nmemory = 256M\n" N1,
		     "vm.conf:8: [node.0]: missing required key \"mac\"");
	expect_error(VM CL "[node.0]\ninterface = e\nmac = 02:00:00:00:00:01\n" N1,
		     "vm.conf:8: [node.0]: missing required key \"memory\"");
	expect_error(VM CL "[node.0]\nport = 7\n",
		     "vm.conf:9: unknown key \"port\" in [node.0]");
}

static void cluster_interface_errors(void)
{
	struct config cfg;

	expect_error(VM CL "[node.0]\ninterface = \"\"\n",
		     "vm.conf:9: interface: must not be empty");
	expect_error(VM CL "[node.0]\ninterface = abcdefghijklmnop\n",
		     "vm.conf:9: interface: \"abcdefghijklmnop\" is longer than 15 characters");
	expect_error(VM CL "[node.0]\ninterface = a/b\n",
		     "vm.conf:9: interface: \"a/b\" is not an interface name (no '/', ':' or blanks)");
	expect_error(VM CL "[node.0]\ninterface = eth0:1\n",
		     "vm.conf:9: interface: \"eth0:1\" is not an interface name (no '/', ':' or blanks)");
	expect_error(VM CL "[node.0]\ninterface = \"eth 0\"\n",
		     "vm.conf:9: interface: \"eth 0\" is not an interface name (no '/', ':' or blanks)");
	expect_error(VM CL "[node.0]\ninterface = \"eth\t0\"\n",
		     "vm.conf:9: interface: \"eth\t0\" is not an interface name (no '/', ':' or blanks)");
	expect_error(VM CL "[node.0]\ninterface = .\n",
		     "vm.conf:9: interface: \".\" is not an interface name (no '/', ':' or blanks)");
	expect_error(VM CL "[node.0]\ninterface = ..\n",
		     "vm.conf:9: interface: \"..\" is not an interface name (no '/', ':' or blanks)");
	if (expect_ok(VM CL N0 "[node.1]\ninterface = abcdefghijklmno\n"
		      "mac = 02:00:00:00:00:02\nmemory = 256M\nvcpus = 2-3\n",
		      &cfg)) {
		CHECK_STREQ(cfg.cluster.nodes[1].interface, "abcdefghijklmno");
		config_free(&cfg);
	}
}

static void cluster_mac_errors(void)
{
	struct config cfg;
	uint8_t mac[6];
	char buf[18];

	expect_error(VM CL "[node.0]\nmac = 02:00:00:00:00\n",
		     "vm.conf:9: mac: \"02:00:00:00:00\" is not a MAC address like 02:00:00:00:00:01");
	expect_error(VM CL "[node.0]\nmac = 02-00-00-00-00-01\n",
		     "vm.conf:9: mac: \"02-00-00-00-00-01\" is not a MAC address like 02:00:00:00:00:01");
	expect_error(VM CL "[node.0]\nmac = 02:00:00:00:00:01:\n",
		     "vm.conf:9: mac: \"02:00:00:00:00:01:\" is not a MAC address like 02:00:00:00:00:01");
	expect_error(VM CL "[node.0]\nmac = 2:0:0:0:0:1\n",
		     "vm.conf:9: mac: \"2:0:0:0:0:1\" is not a MAC address like 02:00:00:00:00:01");
	expect_error(VM CL "[node.0]\nmac = 0g:00:00:00:00:01\n",
		     "vm.conf:9: mac: \"0g:00:00:00:00:01\" is not a MAC address like 02:00:00:00:00:01");
	expect_error(VM CL "[node.0]\nmac = 01:00:5E:00:00:01\n",
		     "vm.conf:9: mac: 01:00:5e:00:00:01 is a multicast address");
	expect_error(VM CL "[node.0]\nmac = ff:ff:ff:ff:ff:ff\n",
		     "vm.conf:9: mac: ff:ff:ff:ff:ff:ff is a multicast address");
	expect_error(VM CL "[node.0]\nmac = 00:00:00:00:00:00\n",
		     "vm.conf:9: mac: 00:00:00:00:00:00 is not a valid address");
	expect_error(VM CL N0 "[node.1]\ninterface = veth1\n"
		     "mac = 02:00:00:00:00:01\nmemory = 256M\nvcpus = 2,3\n",
		     "vm.conf:15: mac: 02:00:00:00:00:01 is the address of [node.0] already (line 10)");

	if (expect_ok(VM CL N0 "[node.1]\ninterface = veth1\n"
		      "mac = 52:54:00:AB:cd:EF\nmemory = 256M\nvcpus = 2,3\n",
		      &cfg)) {
		config_format_mac(cfg.cluster.nodes[1].mac, buf, sizeof(buf));
		CHECK_STREQ(buf, "52:54:00:ab:cd:ef");
		config_free(&cfg);
	}
	CHECK_EQ(config_parse_mac("aa:bb:cc:dd:ee:ff", mac), 0);
	CHECK_EQ(mac[0], 0xaa);
	CHECK_EQ(mac[5], 0xff);
	CHECK_EQ(config_parse_mac("aa:bb:cc:dd:ee:ff\n", mac), -1);
	CHECK_EQ(config_parse_mac("", mac), -1);
}

/* [vm] memory = 512M; node memory lines are 11 and 16. */
#define NODE0(mem) "[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n" \
		   "memory = " mem "\nvcpus = 0-1\n"
#define NODE1(mem) "[node.1]\ninterface = veth1\nmac = 02:00:00:00:00:02\n" \
		   "memory = " mem "\nvcpus = 2,3\n"
#define NODE2(mem) "[node.2]\ninterface = veth2\nmac = 02:00:00:00:00:03\n" \
		   "memory = " mem "\n"

static void cluster_home_ranges(void)
{
	struct config cfg;

	/* Implicit ranges follow each other. */
	if (expect_ok(VM CL NODE0("128M") NODE1("128M") NODE2("256M"), &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[0].home_start, 0);
		CHECK_EQ(cfg.cluster.nodes[0].home_size, 128ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[1].home_start, 128ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[2].home_start, 256ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[2].home_size, 256ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[2].vcpu_mask, 0);
		config_free(&cfg);
	}
	/* Explicit ranges in any order; an implicit one follows node id-1. */
	if (expect_ok(VM CL NODE0("384M+128M") NODE1("0+256M") NODE2("128M"),
		      &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[0].home_start, 384ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[1].home_start, 0);
		CHECK_EQ(cfg.cluster.nodes[2].home_start, 256ULL << 20);
		CHECK_EQ(cfg.cluster.nodes[2].home_size, 128ULL << 20);
		config_free(&cfg);
	}
	if (expect_ok(VM CL NODE0("0+4096") NODE1("4096+536866816"), &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[1].home_start, 4096);
		config_free(&cfg);
	}

	expect_error(VM CL NODE0("0+256M") NODE1("384M+128M"),
		     "vm.conf:16: memory: 384M+128M leaves a gap: 256M..384M has no home node");
	expect_error(VM CL NODE0("128M+384M") NODE1("256M"),
		     "vm.conf:16: memory: 512M+256M starts beyond [vm] memory 512M");
	expect_error(VM CL NODE0("256M+256M") NODE1("256M"),
		     "vm.conf:16: memory: 512M+256M starts beyond [vm] memory 512M");
	expect_error(VM CL NODE0("0+256M") NODE1("128M+256M"),
		     "vm.conf:16: memory: 128M+256M overlaps 0+256M of [node.0] (line 11)");
	expect_error(VM CL NODE0("128M+384M") NODE1("0+256M"),
		     "vm.conf:11: memory: 128M+384M overlaps 0+256M of [node.1] (line 16)");
	expect_error(VM CL NODE0("0+256M") NODE1("0+512M"),
		     "vm.conf:16: memory: 0+512M overlaps 0+256M of [node.0] (line 11)");
	expect_error(VM CL NODE0("256M") NODE1("384M"),
		     "vm.conf:16: memory: 256M+384M ends at 640M, beyond [vm] memory 512M");
	expect_error(VM CL NODE0("0+1T") NODE1("256M"),
		     "vm.conf:11: memory: 0+1T ends at 1T, beyond [vm] memory 512M");
	expect_error(VM CL NODE0("16T+16T") NODE1("256M"),
		     "vm.conf:11: memory: 16T+16T starts beyond [vm] memory 512M");
	expect_error(VM CL NODE0("256M") NODE1("128M"),
		     "vm.conf:16: memory: 256M+128M ends at 384M, below [vm] memory 512M: 384M..512M has no home node");
	expect_error(VM CL NODE0("128M+256M") NODE1("384M+128M"),
		     "vm.conf:11: memory: 128M+256M leaves a gap: 0..128M has no home node");

	expect_error(VM CL "[node.0]\nmemory = 0\n",
		     "vm.conf:9: memory: the size must not be 0");
	expect_error(VM CL "[node.0]\nmemory = 16M+0\n",
		     "vm.conf:9: memory: the size must not be 0");
	expect_error(VM CL "[node.0]\nmemory = 1000+16M\n",
		     "vm.conf:9: memory: start 1000 is not a multiple of 4K");
	expect_error(VM CL "[node.0]\nmemory = 16M+5000\n",
		     "vm.conf:9: memory: size 5000 is not a multiple of 4K");
	expect_error(VM CL "[node.0]\nmemory = lots\n",
		     "vm.conf:9: memory: \"lots\" is neither SIZE nor START+SIZE (like 256M or 0+256M)");
	expect_error(VM CL "[node.0]\nmemory = 0+\n",
		     "vm.conf:9: memory: \"0+\" is neither SIZE nor START+SIZE (like 256M or 0+256M)");
	expect_error(VM CL "[node.0]\nmemory = +256M\n",
		     "vm.conf:9: memory: \"+256M\" is neither SIZE nor START+SIZE (like 256M or 0+256M)");
	expect_error(VM CL "[node.0]\nmemory = 0+1M+1M\n",
		     "vm.conf:9: memory: \"0+1M+1M\" is neither SIZE nor START+SIZE (like 256M or 0+256M)");
}

#define VCPU0(v) "[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n" \
		 "memory = 256M\nvcpus = " v "\n"
#define VCPU1(v) "[node.1]\ninterface = veth1\nmac = 02:00:00:00:00:02\n" \
		 "memory = 256M\nvcpus = " v "\n"

static void cluster_vcpus(void)
{
	struct config cfg;
	char buf[256];

	if (expect_ok(VM CL VCPU0("0, 2") VCPU1("3,1"), &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[0].vcpu_mask, 0x5);
		CHECK_EQ(cfg.cluster.nodes[1].vcpu_mask, 0xa);
		config_free(&cfg);
	}
	if (expect_ok(VM CL VCPU0("0-3") "[node.1]\ninterface = veth1\n"
		      "mac = 02:00:00:00:00:02\nmemory = 256M\n", &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[0].vcpu_mask, 0xf);
		CHECK_EQ(cfg.cluster.nodes[1].vcpu_mask, 0);
		config_free(&cfg);
	}
	if (expect_ok("[vm]\nmemory = 512M\nvcpus = 64\nkernel = k\n" CL
		      VCPU0("0-62") VCPU1("63"), &cfg)) {
		CHECK_EQ(cfg.cluster.nodes[0].vcpu_mask, ~0ULL >> 1);
		CHECK_EQ(cfg.cluster.nodes[1].vcpu_mask, 1ULL << 63);
		CHECK_EQ(cluster_host_vcpus(&cfg, 0), ~0ULL >> 1);
		CHECK_EQ(cluster_host_vcpus(&cfg, 1), 1ULL << 63);
		config_free(&cfg);
	}

	expect_error(VM CL "[node.0]\nvcpus = 0,0\n",
		     "vm.conf:9: vcpus: vCPU 0 is listed twice");
	expect_error(VM CL "[node.0]\nvcpus = 0-3,2\n",
		     "vm.conf:9: vcpus: vCPU 2 is listed twice");
	expect_error(VM CL "[node.0]\nvcpus = 3-1\n",
		     "vm.conf:9: vcpus: 3-1 is not a range (3 > 1)");
	expect_error(VM CL "[node.0]\nvcpus = 64\n",
		     "vm.conf:9: vcpus: vCPU 64 is out of range 0..63");
	expect_error(VM CL "[node.0]\nvcpus = 0-99999999999\n",
		     "vm.conf:9: vcpus: vCPU 99999999999 is out of range 0..63");
	expect_error(VM CL "[node.0]\nvcpus = 99-100\n",
		     "vm.conf:9: vcpus: vCPU 99 is out of range 0..63");
	expect_error(VM CL "[node.0]\nvcpus = \"\"\n",
		     "vm.conf:9: vcpus: \"\" is not a list of vCPU ids (like 0, 0-3 or 0,2)");
	expect_error(VM CL "[node.0]\nvcpus = 0,\n",
		     "vm.conf:9: vcpus: \"0,\" is not a list of vCPU ids (like 0, 0-3 or 0,2)");
	expect_error(VM CL "[node.0]\nvcpus = 1-\n",
		     "vm.conf:9: vcpus: \"1-\" is not a list of vCPU ids (like 0, 0-3 or 0,2)");
	expect_error(VM CL "[node.0]\nvcpus = 0 1\n",
		     "vm.conf:9: vcpus: \"0 1\" is not a list of vCPU ids (like 0, 0-3 or 0,2)");
	expect_error(VM CL "[node.0]\nvcpus = all\n",
		     "vm.conf:9: vcpus: \"all\" is not a list of vCPU ids (like 0, 0-3 or 0,2)");
	/* Against [vm] vcpus = 4 and the other nodes. */
	expect_error(VM CL VCPU0("0-1") VCPU1("2-4"),
		     "vm.conf:17: vcpus: vCPU 4 does not exist ([vm] vcpus = 4)");
	expect_error(VM CL VCPU0("0-2") VCPU1("2-3"),
		     "vm.conf:17: vcpus: vCPU 2 is run by [node.0] already (line 12)");
	expect_error(VM CL VCPU0("0-1") VCPU1("3"),
		     "vm.conf:3: vCPU 2 is run by no node: add it to the vcpus of one [node.N]");
	expect_error("[vm]\nmemory = 512M\nkernel = k\n" CL
		     "[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n"
		     "memory = 256M\n" VCPU1("1"),
		     "vm.conf:15: vcpus: vCPU 1 does not exist ([vm] vcpus = 1)");
	expect_error("[vm]\nmemory = 512M\nkernel = k\n" CL
		     "[node.0]\ninterface = veth0\nmac = 02:00:00:00:00:01\n"
		     "memory = 256M\n"
		     "[node.1]\ninterface = veth1\nmac = 02:00:00:00:00:02\n"
		     "memory = 256M\n",
		     "vm.conf:1: vCPU 0 is run by no node: add it to the vcpus of one [node.N]");

	config_format_vcpus(0, buf, sizeof(buf));
	CHECK_STREQ(buf, "none");
	config_format_vcpus(0x1, buf, sizeof(buf));
	CHECK_STREQ(buf, "0");
	config_format_vcpus(0x2f, buf, sizeof(buf));
	CHECK_STREQ(buf, "0-3,5");
	config_format_vcpus(0x8000000000000005ULL, buf, sizeof(buf));
	CHECK_STREQ(buf, "0,2,63");
	config_format_vcpus(~0ULL, buf, sizeof(buf));
	CHECK_STREQ(buf, "0-63");
}

static void cluster_io_node(void)
{
	struct config cfg;

	if (expect_ok(VM CL N0 N1, &cfg)) {
		CHECK_EQ(cfg.cluster.io_node, 0);
		CHECK_EQ(cluster_host_vcpus(&cfg, 0), 0x3);
		CHECK_EQ(cluster_host_vcpus(&cfg, 1), 0xc);
		config_free(&cfg);
	}
	if (expect_ok(VM CL N0 "io = no\n" N1 "io = yes\n", &cfg)) {
		CHECK_EQ(cfg.cluster.io_node, 1);
		CHECK(!cfg.cluster.nodes[0].io);
		CHECK_EQ(cluster_host_vcpus(&cfg, 0), 0x3);
		CHECK_EQ(cluster_host_vcpus(&cfg, 1), 0xc);
		config_free(&cfg);
	}
	expect_error(VM CL N0 "io = yes\n" N1 "io = yes\n",
		     "vm.conf:19: io: [node.0] does I/O already (line 13): exactly one node does");
	expect_error(VM CL "[node.0]\nio = maybe\n",
		     "vm.conf:9: io: \"maybe\" must be yes or no");
	expect_error(VM CL "[node.0]\nio = YES\n",
		     "vm.conf:9: io: \"YES\" must be yes or no");
}

/* Which APIC destinations may be on another node (as bigiron.ko forwards). */
static void cluster_remote_dest(void)
{
	struct config cfg;

	if (expect_ok(VM CL N0 N1, &cfg)) {
		/* node 0 runs vCPUs 0-1, node 1 vCPUs 2-3 */
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 0, false));
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 1, false));
		CHECK(cluster_dest_may_be_remote(&cfg, 0, 2, false));
		CHECK(cluster_dest_may_be_remote(&cfg, 0, 3, false));
		CHECK(cluster_dest_may_be_remote(&cfg, 1, 0, false));
		CHECK(!cluster_dest_may_be_remote(&cfg, 1, 3, false));
		/* broadcast and logical: anywhere */
		CHECK(cluster_dest_may_be_remote(&cfg, 0, 0xFF, false));
		CHECK(cluster_dest_may_be_remote(&cfg, 0, 0x01, true));
		CHECK(cluster_dest_may_be_remote(&cfg, 1, 0x08, true));
		/* no vCPU has APIC id 4 or 200 */
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 4, false));
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 200, false));
		config_free(&cfg);
	}
	/* One host: nothing is remote. */
	if (expect_ok(VM, &cfg)) {
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 2, false));
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 0xFF, false));
		CHECK(!cluster_dest_may_be_remote(&cfg, 0, 0x0F, true));
		config_free(&cfg);
	}
}

/* A host's interfaces, for cluster_find_self(). */
struct fake_if {
	const char *name;
	const char *address;	/* NULL: absent */
};

static int fake_read(void *opaque, const char *ifname, char *buf, size_t len)
{
	const struct fake_if *f;

	for (f = opaque; f->name; f++) {
		if (strcmp(f->name, ifname))
			continue;
		if (!f->address)
			break;
		snprintf(buf, len, "%s", f->address);
		return 0;
	}
	return -ENOENT;
}

static void cluster_find_self_cases(void)
{
	static const struct fake_if host0[] = {
		{ "lo", "00:00:00:00:00:00\n" },
		{ "veth0", "02:00:00:00:00:01\n" },
		{ NULL, NULL }
	};
	static const struct fake_if host1_upper[] = {
		{ "veth0", "52:54:00:12:34:56\n" },
		{ "veth1", "02:00:00:00:00:02" },
		{ NULL, NULL }
	};
	static const struct fake_if none[] = {
		{ "veth0", "02:00:00:00:00:09\n" },
		{ "veth1", "hello\n" },
		{ NULL, NULL }
	};
	static const struct fake_if both[] = {
		{ "veth0", "02:00:00:00:00:01\n" },
		{ "veth1", "02:00:00:00:00:02\n" },
		{ NULL, NULL }
	};
	static const struct fake_if empty[] = { { NULL, NULL } };
	struct config cfg;
	unsigned int self;

	if (!expect_ok(VM CL N0 N1, &cfg))
		return;
	self = 99;
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)host0, &self, err,
				   sizeof(err)), 0);
	CHECK_EQ(self, 0);
	self = 99;
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)host1_upper, &self,
				   err, sizeof(err)), 0);
	CHECK_EQ(self, 1);

	self = 99;
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)none, &self, err,
				   sizeof(err)), -1);
	CHECK_EQ(self, 99);
	CHECK_STREQ(err, "no [node.N] matches this host: node 0 wants 02:00:00:00:00:01 on veth0 (veth0 has 02:00:00:00:00:09), node 1 wants 02:00:00:00:00:02 on veth1 (veth1 has address hello); fix interface or mac, or choose with --node N");
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)empty, &self, err,
				   sizeof(err)), -1);
	CHECK_STREQ(err, "no [node.N] matches this host: node 0 wants 02:00:00:00:00:01 on veth0 (veth0 not here), node 1 wants 02:00:00:00:00:02 on veth1 (veth1 not here); fix interface or mac, or choose with --node N");
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)both, &self, err,
				   sizeof(err)), -1);
	CHECK_STREQ(err, "2 [node.N] match this host: node 0 wants 02:00:00:00:00:01 on veth0, node 1 wants 02:00:00:00:00:02 on veth1; choose one with --node N");
	/* A short buffer truncates, it does not overflow. */
	CHECK_EQ(cluster_find_self(&cfg, fake_read, (void *)both, &self, err,
				   20), -1);
	CHECK_EQ(strlen(err), 19);
	config_free(&cfg);
}

static void cluster_fill_struct(void)
{
	static const uint8_t zero16[16];
	struct bigiron_node_desc nodes[BIGIRON_MAX_NODES];
	struct bigiron_vm_cluster c;
	struct config cfg;
	unsigned int i;

	if (!expect_ok(VM "[cluster]\nid = 0xdeadbeef\nkey = " KEY_HEX "\n"
		       "mtu = 1500\n"
		       NODE0("384M+128M") NODE1("0+256M") NODE2("128M"), &cfg))
		return;
	memset(&c, 0xa5, sizeof(c));
	memset(nodes, 0xa5, sizeof(nodes));
	cluster_fill(&cfg, 2, 7, &c, nodes);
	CHECK_EQ(c.size, sizeof(struct bigiron_vm_cluster));
	CHECK_EQ(c.flags, 0);
	CHECK_EQ(c.cluster_id, 0xdeadbeef);
	CHECK_EQ(c.self, 2);
	CHECK_EQ(c.nr_nodes, 3);
	CHECK_EQ(c.transport, BIGIRON_TRANSPORT_ETH);
	CHECK_EQ(c.ifindex, 7);
	CHECK_EQ(c.mtu, 1500);
	CHECK_EQ(c.pad, 0);
	CHECK(!memcmp(c.key, key_bytes, BIGIRON_KEY_SIZE));
	CHECK_EQ(c.nodes, (uintptr_t)nodes);
	for (i = 0; i < 4; i++)
		CHECK_EQ(c.reserved[i], 0);

	for (i = 0; i < 3; i++) {
		CHECK_EQ(nodes[i].mac[0], 0x02);
		CHECK_EQ(nodes[i].mac[1], 0);
		CHECK_EQ(nodes[i].mac[2], 0);
		CHECK_EQ(nodes[i].mac[3], 0);
		CHECK_EQ(nodes[i].mac[4], 0);
		CHECK_EQ(nodes[i].mac[5], i + 1);
		CHECK_EQ(nodes[i].port, 0);
		CHECK(!memcmp(nodes[i].addr, zero16, 16));
	}
	CHECK_EQ(nodes[0].home_start, 384ULL << 20);
	CHECK_EQ(nodes[0].home_size, 128ULL << 20);
	CHECK_EQ(nodes[1].home_start, 0);
	CHECK_EQ(nodes[1].home_size, 256ULL << 20);
	CHECK_EQ(nodes[2].home_start, 256ULL << 20);
	CHECK_EQ(nodes[2].home_size, 128ULL << 20);
	/* Entries past nr_nodes are not written. */
	CHECK_EQ(nodes[3].port, 0xa5a5);
	config_free(&cfg);

	/* mtu not set: 0, the interface's. */
	if (!expect_ok(VM CL N0 N1, &cfg))
		return;
	cluster_fill(&cfg, 0, 1, &c, nodes);
	CHECK_EQ(c.mtu, 0);
	CHECK_EQ(c.self, 0);
	CHECK_EQ(c.nr_nodes, 2);
	CHECK_EQ(c.cluster_id, 42);
	config_free(&cfg);
}

static void cluster_missing_nodes(void)
{
	struct config cfg;
	char buf[512];

	if (!expect_ok(VM "[cluster]\nid = 1\nkey = " KEY_HEX "\n"
		       "join_timeout = 45\n"
		       NODE0("128M") NODE1("128M") NODE2("256M"), &cfg))
		return;
	cluster_format_missing(&cfg, 0x5, buf, sizeof(buf));
	CHECK_STREQ(buf, "waiting for node 1 (02:00:00:00:00:02 on veth1) timed out after 45 s");
	cluster_format_missing(&cfg, 0x2, buf, sizeof(buf));
	CHECK_STREQ(buf, "waiting for nodes 0 (02:00:00:00:00:01 on veth0), 2 (02:00:00:00:00:03 on veth2) timed out after 45 s");
	config_free(&cfg);
}

static void cluster_print_check(void)
{
	struct config cfg;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!expect_ok(VM CL N0 N1, &cfg))
		return;
	f = open_memstream(&text, &len);
	if (!CHECK(f != NULL))
		goto out;
	config_print(&cfg, 1, f);
	fclose(f);
	CHECK(strstr(text, "[cluster]\nid           = 0x2a (42)\n") != NULL);
	CHECK(strstr(text, "key          = (32 bytes; not shown)\n") != NULL);
	CHECK(strstr(text, "0011223344") == NULL);
	CHECK(strstr(text, "[node.0]\ninterface = veth0\n") != NULL);
	CHECK(strstr(text, "[node.1]    # this host\n") != NULL);
	CHECK(strstr(text, "memory    = 256M+256M (home for 0x10000000..0x20000000)\n") != NULL);
	CHECK(strstr(text, "vcpus     = 2-3\n") != NULL);
	CHECK(strstr(text, "io        = yes\n") != NULL);
	free(text);
	text = NULL;

	f = open_memstream(&text, &len);
	if (!CHECK(f != NULL))
		goto out;
	config_print(&cfg, -1, f);
	fclose(f);
	CHECK(strstr(text, "# this host\n") == NULL);
	CHECK(strstr(text, "# this host: no [node.N] found\n") != NULL);
out:
	free(text);
	config_free(&cfg);
}

/* transport = rdma. Lines 5-8. */
#define CLR	"[cluster]\nid = 0x2a\nkey = " KEY_HEX "\ntransport = rdma\n"
/* Lines 9-12 and 13-16. */
#define R0	"[node.0]\nrdma_address = 192.0.2.1\nmemory = 0+256M\n" \
		"vcpus = 0-1\n"
#define R1	"[node.1]\nrdma_address = 192.0.2.2\nmemory = 256M\n" \
		"vcpus = 2,3\n"
/* [node.0] with rdma_address @a on line 10. */
#define RADDR(a) "[node.0]\nrdma_address = " a "\nmemory = 0+256M\n" \
		 "vcpus = 0-1\n"

/* @addr is IPv4 @a.@b.@c.@d, mapped. */
static bool is_v4(const uint8_t addr[16], uint8_t a, uint8_t b, uint8_t c,
		  uint8_t d)
{
	const uint8_t want[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d
	};

	return !memcmp(addr, want, 16);
}

static void cluster_rdma(void)
{
	static const uint8_t v6[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01
	};
	static const uint8_t zero[16];
	struct config cfg;
	char buf[CONFIG_ENDPOINT_LEN];

	/* IPv4, the default port. */
	if (expect_ok(VM CLR R0 R1, &cfg)) {
		CHECK_EQ(cfg.cluster.transport, CONFIG_TRANSPORT_RDMA);
		CHECK_EQ(cfg.cluster.nr_nodes, 2);
		CHECK_EQ(cfg.cluster.rdma_port, 7471);
		CHECK_EQ(cfg.cluster.mtu, 0);
		CHECK(is_v4(cfg.cluster.nodes[0].addr, 192, 0, 2, 1));
		CHECK(is_v4(cfg.cluster.nodes[1].addr, 192, 0, 2, 2));
		CHECK_EQ(cfg.cluster.nodes[0].port, 7471);
		CHECK_EQ(cfg.cluster.nodes[1].port, 7471);
		CHECK_STREQ(cfg.cluster.nodes[0].interface, "");
		CHECK(!memcmp(cfg.cluster.nodes[0].mac, zero, 6));
		CHECK(!memcmp(cfg.cluster.nodes[1].mac, zero, 6));
		CHECK_EQ(cfg.cluster.nodes[1].home_start, 256ULL << 20);
		CHECK_EQ(cfg.cluster.io_node, 0);
		config_format_endpoint(cfg.cluster.nodes[0].addr,
				       cfg.cluster.nodes[0].port, buf,
				       sizeof(buf));
		CHECK_STREQ(buf, "192.0.2.1:7471");
		config_format_endpoint(cfg.cluster.nodes[0].addr, 0, buf,
				       sizeof(buf));
		CHECK_STREQ(buf, "192.0.2.1");
		config_free(&cfg);
	}
	/* IPv6 bare and in brackets; [cluster] rdma_port; a node's own. */
	if (expect_ok(VM "[cluster]\nid = 1\nkey = " KEY_HEX "\n"
		      "rdma_port = 18515\ntransport = rdma\n"
		      "[node.0]\nrdma_address = 2001:db8::1\nmemory = 256M\n"
		      "vcpus = 0-1\n"
		      "[node.1]\nrdma_address = [2001:DB8::2]\nrdma_port = 1\n"
		      "memory = 128M\nvcpus = 2-3\n"
		      "[node.2]\nrdma_address = \"[2001:db8::1]\"\n"
		      "rdma_port = 65535\nmemory = 128M\n", &cfg)) {
		CHECK_EQ(cfg.cluster.rdma_port, 18515);
		CHECK(!memcmp(cfg.cluster.nodes[0].addr, v6, 16));
		CHECK_EQ(cfg.cluster.nodes[0].port, 18515);
		CHECK_EQ(cfg.cluster.nodes[1].addr[15], 2);
		CHECK_EQ(cfg.cluster.nodes[1].port, 1);
		CHECK(!memcmp(cfg.cluster.nodes[2].addr, v6, 16));
		CHECK_EQ(cfg.cluster.nodes[2].port, 65535);
		config_format_endpoint(cfg.cluster.nodes[1].addr,
				       cfg.cluster.nodes[1].port, buf,
				       sizeof(buf));
		CHECK_STREQ(buf, "[2001:db8::2]:1");
		config_format_endpoint(cfg.cluster.nodes[1].addr, 0, buf,
				       sizeof(buf));
		CHECK_STREQ(buf, "2001:db8::2");
		config_free(&cfg);
	} else {
		printf("# %s\n", err);
	}
	/*
	 * transport after the nodes; two nodes on one address with their
	 * own ports; ::ffff:a.b.c.d is IPv4.
	 */
	if (expect_ok(VM "[node.0]\nrdma_address = 127.0.0.1\nmemory = 256M\n"
		      "vcpus = 0-3\n"
		      "[node.1]\nrdma_address = ::ffff:127.0.0.1\n"
		      "rdma_port = 7472\nmemory = 256M\n"
		      "[cluster]\nid = 1\nkey = " KEY_HEX "\ntransport = rdma\n",
		      &cfg)) {
		CHECK_EQ(cfg.cluster.transport, CONFIG_TRANSPORT_RDMA);
		CHECK(is_v4(cfg.cluster.nodes[0].addr, 127, 0, 0, 1));
		CHECK(is_v4(cfg.cluster.nodes[1].addr, 127, 0, 0, 1));
		CHECK_EQ(cfg.cluster.nodes[0].port, 7471);
		CHECK_EQ(cfg.cluster.nodes[1].port, 7472);
		config_free(&cfg);
	}
	CHECK_STREQ(config_transport_name(CONFIG_TRANSPORT_ETHERNET),
		    "ethernet");
	CHECK_STREQ(config_transport_name(CONFIG_TRANSPORT_RDMA), "rdma");
}

static void cluster_rdma_errors(void)
{
	/* Keys of the other transport, wherever transport is set. */
	expect_error(VM CLR "[node.0]\ninterface = veth0\n" R1,
		     "vm.conf:10: interface: is for transport = ethernet, but line 8 sets transport = rdma");
	expect_error(VM CLR "[node.0]\nmac = 02:00:00:00:00:01\n" R1,
		     "vm.conf:10: mac: is for transport = ethernet, but line 8 sets transport = rdma");
	expect_error(VM CLR "mtu = 9000\n" R0 R1,
		     "vm.conf:9: mtu: is for transport = ethernet, but line 8 sets transport = rdma");
	expect_error(VM R0 R1 "interface = veth1\n"
		     "[cluster]\nid = 1\nkey = " KEY_HEX "\ntransport = rdma\n",
		     "vm.conf:13: interface: is for transport = ethernet, but line 17 sets transport = rdma");
	/* The first in the file, whatever the order of the keys. */
	expect_error(VM CLR "[node.0]\nmac = 02:00:00:00:00:01\n"
		     "interface = veth0\n" R1,
		     "vm.conf:10: mac: is for transport = ethernet, but line 8 sets transport = rdma");
	expect_error(VM CL N0 "rdma_address = 192.0.2.1\n" N1,
		     "vm.conf:13: rdma_address: needs transport = rdma in [cluster] (the default is ethernet)");
	expect_error(VM CL "rdma_port = 7471\n" N0 N1,
		     "vm.conf:8: rdma_port: needs transport = rdma in [cluster] (the default is ethernet)");
	expect_error(VM CL "transport = ethernet\n" N0 "rdma_port = 7471\n" N1,
		     "vm.conf:14: rdma_port: needs transport = rdma, but line 8 sets transport = ethernet");
	expect_error(VM N0 "rdma_address = 192.0.2.1\n",
		     "vm.conf:10: rdma_address: needs transport = rdma in [cluster] (the default is ethernet)");
	/* Required keys by transport. */
	expect_error(VM CLR R0 "[node.1]\nmemory = 256M\nvcpus = 2,3\n",
		     "vm.conf:13: [node.1]: missing required key \"rdma_address\"");
	expect_error(VM CLR R0 "[node.1]\nrdma_address = 192.0.2.2\n",
		     "vm.conf:13: [node.1]: missing required key \"memory\"");
	/* A key of the other transport comes before a missing one. */
	expect_error(VM "[cluster]\nid = 1\nkey = " KEY_HEX "\n"
		     "[node.0]\nrdma_address = 192.0.2.1\nmemory = 256M\n" N1,
		     "vm.conf:9: rdma_address: needs transport = rdma in [cluster] (the default is ethernet)");

	/* One address and port, one node. */
	expect_error(VM CLR R0 "[node.1]\nrdma_address = 192.0.2.1\n"
		     "memory = 256M\nvcpus = 2,3\n",
		     "vm.conf:14: rdma_address: 192.0.2.1:7471 is the address and port of [node.0] already (line 10): nodes on one address need different rdma_port");
	expect_error(VM CLR R0 "[node.1]\nrdma_address = ::ffff:192.0.2.1\n"
		     "rdma_port = 7471\nmemory = 256M\nvcpus = 2,3\n",
		     "vm.conf:14: rdma_address: 192.0.2.1:7471 is the address and port of [node.0] already (line 10): nodes on one address need different rdma_port");
	expect_error(VM "[cluster]\nid = 1\nkey = " KEY_HEX "\ntransport = rdma\n"
		     "rdma_port = 9\n"
		     "[node.0]\nrdma_address = [2001:db8::1]\nmemory = 256M\n"
		     "vcpus = 0-3\n"
		     "[node.1]\nrdma_address = 2001:db8:0::1\nrdma_port = 8\n"
		     "memory = 128M\n"
		     "[node.2]\nrdma_port = 9\nrdma_address = 2001:DB8::1\n"
		     "memory = 128M\n",
		     "vm.conf:20: rdma_address: [2001:db8::1]:9 is the address and port of [node.0] already (line 11): nodes on one address need different rdma_port");

	/* Addresses that are no node's. */
	expect_error(VM CLR RADDR("0.0.0.0"),
		     "vm.conf:10: rdma_address: 0.0.0.0 is the unspecified address, not a node's");
	expect_error(VM CLR RADDR("::"),
		     "vm.conf:10: rdma_address: :: is the unspecified address, not a node's");
	expect_error(VM CLR RADDR("[::]"),
		     "vm.conf:10: rdma_address: :: is the unspecified address, not a node's");
	expect_error(VM CLR RADDR("::ffff:0.0.0.0"),
		     "vm.conf:10: rdma_address: 0.0.0.0 is the unspecified address, not a node's");
	expect_error(VM CLR RADDR("224.0.0.1"),
		     "vm.conf:10: rdma_address: 224.0.0.1 is a multicast address");
	expect_error(VM CLR RADDR("239.255.255.250"),
		     "vm.conf:10: rdma_address: 239.255.255.250 is a multicast address");
	expect_error(VM CLR RADDR("ff02::1"),
		     "vm.conf:10: rdma_address: ff02::1 is a multicast address");
	expect_error(VM CLR RADDR("255.255.255.255"),
		     "vm.conf:10: rdma_address: 255.255.255.255 is the broadcast address");
	expect_error(VM CLR RADDR("fe80::1"),
		     "vm.conf:10: rdma_address: fe80::1 is a link-local address, which needs an interface to go with it: use one of wider scope");
	/* Not addresses. */
	expect_error(VM CLR RADDR("192.0.2"),
		     "vm.conf:10: rdma_address: \"192.0.2\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("192.0.2.256"),
		     "vm.conf:10: rdma_address: \"192.0.2.256\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("node0.example"),
		     "vm.conf:10: rdma_address: \"node0.example\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("[192.0.2.1]"),
		     "vm.conf:10: rdma_address: \"[192.0.2.1]\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("[2001:db8::1"),
		     "vm.conf:10: rdma_address: \"[2001:db8::1\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("fe80::1%eth0"),
		     "vm.conf:10: rdma_address: \"fe80::1%eth0\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("\"\""),
		     "vm.conf:10: rdma_address: \"\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)");
	expect_error(VM CLR RADDR("192.0.2.1:7471"),
		     "vm.conf:10: rdma_address: \"192.0.2.1:7471\": give the port as rdma_port, not in the address");
	expect_error(VM CLR RADDR("[2001:db8::1]:7471"),
		     "vm.conf:10: rdma_address: \"[2001:db8::1]:7471\": give the port as rdma_port, not in the address");

	/* Ports. */
	expect_error(VM CLR "rdma_port = 0\n",
		     "vm.conf:9: rdma_port: 0 is out of range 1..65535");
	expect_error(VM CLR "rdma_port = 65536\n",
		     "vm.conf:9: rdma_port: 65536 is out of range 1..65535");
	expect_error(VM CLR "rdma_port = http\n",
		     "vm.conf:9: rdma_port: \"http\" is not a number");
	expect_error(VM CLR R0 "rdma_port = 0\n",
		     "vm.conf:13: rdma_port: 0 is out of range 1..65535");
	expect_error(VM CLR R0 "rdma_port = 99999999999999999999\n",
		     "vm.conf:13: rdma_port: 99999999999999999999 is out of range 1..65535");
	expect_error(VM CLR R0 "rdma_port = \"\"\n",
		     "vm.conf:13: rdma_port: \"\" is not a number");
	expect_error(VM CLR R0 "rdma_port = 1\nrdma_port = 2\n",
		     "vm.conf:14: duplicate key \"rdma_port\" (first set at line 13)");
}

/* Addresses of a host, for cluster_find_self_rdma(). */
struct fake_ips {
	const uint8_t (*addr)[16];
	unsigned int n;
	int err;		/* returned instead, if set */
};

static int fake_has_ip(void *opaque, const uint8_t addr[16])
{
	const struct fake_ips *f = opaque;
	unsigned int i;

	if (f->err)
		return f->err;
	for (i = 0; i < f->n; i++)
		if (!memcmp(f->addr[i], addr, 16))
			return 1;
	return 0;
}

static void cluster_rdma_find_self(void)
{
	static const uint8_t ips[][16] = {
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 },
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2 },
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 },
	};
	struct fake_ips host1 = { ips, 2, 0 }, both = { ips, 3, 0 };
	struct fake_ips none = { ips, 1, 0 }, broken = { ips, 3, -EACCES };
	struct config cfg;
	unsigned int self;

	if (!expect_ok(VM CLR R0 R1, &cfg))
		return;
	self = 99;
	CHECK_EQ(cluster_find_self_rdma(&cfg, fake_has_ip, &host1, &self, err,
					sizeof(err)), 0);
	CHECK_EQ(self, 1);
	self = 99;
	CHECK_EQ(cluster_find_self_rdma(&cfg, fake_has_ip, &none, &self, err,
					sizeof(err)), -1);
	CHECK_EQ(self, 99);
	CHECK_STREQ(err, "no [node.N] matches this host: node 0 wants 192.0.2.1:7471 (not here), node 1 wants 192.0.2.2:7471 (not here); fix rdma_address, or choose with --node N");
	CHECK_EQ(cluster_find_self_rdma(&cfg, fake_has_ip, &both, &self, err,
					sizeof(err)), -1);
	CHECK_STREQ(err, "2 [node.N] match this host: node 0 wants 192.0.2.1:7471, node 1 wants 192.0.2.2:7471; choose one with --node N");
	CHECK_EQ(cluster_find_self_rdma(&cfg, fake_has_ip, &broken, &self, err,
					sizeof(err)), -1);
	CHECK_STREQ(err, "no [node.N] matches this host: node 0 wants 192.0.2.1:7471 (Permission denied), node 1 wants 192.0.2.2:7471 (Permission denied); fix rdma_address, or choose with --node N");
	config_free(&cfg);
}

static void cluster_rdma_fill(void)
{
	static const uint8_t zero[16];
	struct bigiron_node_desc nodes[BIGIRON_MAX_NODES];
	struct bigiron_vm_cluster c;
	struct config cfg;
	unsigned int i;

	if (!expect_ok(VM "[cluster]\nid = 0xdeadbeef\nkey = " KEY_HEX "\n"
		       "transport = rdma\nrdma_port = 4791\n"
		       "[node.0]\nrdma_address = 10.1.2.3\nmemory = 384M+128M\n"
		       "vcpus = 0-1\n"
		       "[node.1]\nrdma_address = 2001:db8::2\nrdma_port = 5000\n"
		       "memory = 0+256M\nvcpus = 2,3\n"
		       "[node.2]\nrdma_address = 10.1.2.3\nrdma_port = 4792\n"
		       "memory = 128M\n", &cfg))
		return;
	memset(&c, 0xa5, sizeof(c));
	memset(nodes, 0xa5, sizeof(nodes));
	/* An rdma cluster has no interface: the ifindex passed is ignored. */
	cluster_fill(&cfg, 1, 7, &c, nodes);
	CHECK_EQ(c.size, sizeof(struct bigiron_vm_cluster));
	CHECK_EQ(c.flags, 0);
	CHECK_EQ(c.cluster_id, 0xdeadbeef);
	CHECK_EQ(c.self, 1);
	CHECK_EQ(c.nr_nodes, 3);
	CHECK_EQ(c.transport, BIGIRON_TRANSPORT_RDMA);
	CHECK_EQ(c.ifindex, 0);
	CHECK_EQ(c.mtu, 0);
	CHECK_EQ(c.pad, 0);
	CHECK(!memcmp(c.key, key_bytes, BIGIRON_KEY_SIZE));
	CHECK_EQ(c.nodes, (uintptr_t)nodes);
	for (i = 0; i < 4; i++)
		CHECK_EQ(c.reserved[i], 0);

	for (i = 0; i < 3; i++)
		CHECK(!memcmp(nodes[i].mac, zero, 6));
	CHECK(is_v4(nodes[0].addr, 10, 1, 2, 3));
	CHECK_EQ(nodes[0].port, 4791);
	CHECK_EQ(nodes[1].addr[0], 0x20);
	CHECK_EQ(nodes[1].addr[1], 0x01);
	CHECK_EQ(nodes[1].addr[2], 0x0d);
	CHECK_EQ(nodes[1].addr[3], 0xb8);
	CHECK(!memcmp(nodes[1].addr + 4, zero, 11));
	CHECK_EQ(nodes[1].addr[15], 2);
	CHECK_EQ(nodes[1].port, 5000);
	CHECK(is_v4(nodes[2].addr, 10, 1, 2, 3));
	CHECK_EQ(nodes[2].port, 4792);
	CHECK_EQ(nodes[0].home_start, 384ULL << 20);
	CHECK_EQ(nodes[0].home_size, 128ULL << 20);
	CHECK_EQ(nodes[1].home_start, 0);
	CHECK_EQ(nodes[1].home_size, 256ULL << 20);
	CHECK_EQ(nodes[2].home_start, 256ULL << 20);
	CHECK_EQ(nodes[2].home_size, 128ULL << 20);
	/* Entries past nr_nodes are not written. */
	CHECK_EQ(nodes[3].port, 0xa5a5);
	config_free(&cfg);
}

static void cluster_rdma_messages(void)
{
	struct config cfg;
	char buf[512];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!expect_ok(VM CLR "join_timeout = 45\n" R0
		       "[node.1]\nrdma_address = 2001:db8::2\nrdma_port = 5000\n"
		       "memory = 256M\nvcpus = 2,3\n", &cfg))
		return;
	cluster_format_missing(&cfg, 0x1, buf, sizeof(buf));
	CHECK_STREQ(buf, "waiting for node 1 ([2001:db8::2]:5000) timed out after 45 s");
	cluster_format_missing(&cfg, 0x0, buf, sizeof(buf));
	CHECK_STREQ(buf, "waiting for nodes 0 (192.0.2.1:7471), 1 ([2001:db8::2]:5000) timed out after 45 s");
	cluster_format_node(&cfg, 0, buf, sizeof(buf));
	CHECK_STREQ(buf, "192.0.2.1:7471");

	cluster_format_rdma_error(&cfg, 0, ENODEV, buf, sizeof(buf));
	CHECK_STREQ(buf, "node 0: no RDMA device has address 192.0.2.1: add one (e.g. rdma link add rxe0 type rxe netdev IFACE) or fix rdma_address");
	cluster_format_rdma_error(&cfg, 1, EADDRNOTAVAIL, buf, sizeof(buf));
	CHECK_STREQ(buf, "node 1: no RDMA device has address 2001:db8::2: add one (e.g. rdma link add rxe0 type rxe netdev IFACE) or fix rdma_address");
	cluster_format_rdma_error(&cfg, 1, EADDRINUSE, buf, sizeof(buf));
	CHECK_STREQ(buf, "node 1: port 5000 of 2001:db8::2 is taken (another VM or program listens there): stop it, or choose another rdma_port");
	cluster_format_rdma_error(&cfg, 0, EOPNOTSUPP, buf, sizeof(buf));
	CHECK_STREQ(buf, "node 0: this bigiron.ko lacks RDMA support (transport = rdma): install a module that has it, or use transport = ethernet");
	cluster_format_rdma_error(&cfg, 0, EINVAL, buf, sizeof(buf));
	CHECK_STREQ(buf, "BIGIRON_VM_SET_CLUSTER (node 0 of 2 at 192.0.2.1:7471): Invalid argument");

	f = open_memstream(&text, &len);
	if (!CHECK(f != NULL))
		goto out;
	config_print(&cfg, 0, f);
	fclose(f);
	CHECK(strstr(text, "transport    = rdma\njoin_timeout = 45 s\n"
		     "rdma_port    = 7471\n") != NULL);
	CHECK(strstr(text, "mtu") == NULL);
	CHECK(strstr(text, "[node.0]    # this host\n"
		     "address   = 192.0.2.1:7471\nmemory    = 0+256M") != NULL);
	CHECK(strstr(text, "[node.1]\naddress   = [2001:db8::2]:5000\n"
		     "memory    = 256M+256M") != NULL);
	CHECK(strstr(text, "interface") == NULL);
	CHECK(strstr(text, "mac ") == NULL);
out:
	free(text);
	config_free(&cfg);
}

/* Adds parameter @param = @val of module @mod to the tree at @root. */
static bool param_add(const char *root, const char *mod, const char *param,
		      const char *val)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/module/%s/parameters/%s", root, mod,
		 param);
	f = fopen(path, "w");
	if (!CHECK(f != NULL))
		return false;
	fputs(val, f);
	fclose(f);
	return true;
}

/* A sysfs tree with parameter @param of module @mod set to @val, or none. */
static bool param_tree(const char *root, const char *mod, const char *param,
		       const char *val)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/module/%s/parameters",
		 root, root, mod);
	if (!CHECK(system(cmd) == 0))
		return false;
	return !val || param_add(root, mod, param, val);
}

static void tdp_case(const char *root, const char *val, int want)
{
	if (param_tree(root, "kvm_amd", "npt", val))
		CHECK_EQ(cluster_tdp_enabled(root), want);
}

static void ept_ad_case(const char *root, const char *val, int want)
{
	if (param_tree(root, "kvm_intel", "eptad", val))
		CHECK_EQ(cluster_ept_ad_enabled(root), want);
}

static void cluster_tdp(void)
{
	char root[] = "/tmp/bigiron-tdp-XXXXXX";
	char cmd[64];

	if (!CHECK(mkdtemp(root) != NULL))
		return;
	tdp_case(root, "Y\n", 1);
	tdp_case(root, "1\n", 1);
	tdp_case(root, "N\n", 0);
	tdp_case(root, "0\n", 0);
	tdp_case(root, "", 0);
	tdp_case(root, NULL, -1);
	ept_ad_case(root, "Y\n", 1);
	ept_ad_case(root, "N\n", 0);
	ept_ad_case(root, NULL, -1);
	/* IPIs that skip KVM's delivery path */
	if (param_tree(root, "kvm_amd", "avic", "Y\n"))
		CHECK_STREQ(cluster_ipi_bypass(root), "kvm_amd avic");
	if (param_tree(root, "kvm_amd", "avic", "N\n"))
		CHECK(cluster_ipi_bypass(root) == NULL);
	if (param_tree(root, "kvm_intel", "enable_ipiv", "Y\n") &&
	    CHECK(cluster_ipi_bypass(root) == NULL) &&	/* no APICv: no IPIv */
	    param_add(root, "kvm_intel", "enable_apicv", "Y\n"))
		CHECK_STREQ(cluster_ipi_bypass(root), "kvm_intel enable_ipiv");
	/* AMD: no eptad; the known behaviour is in the README */
	if (param_tree(root, "kvm_amd", "npt", "Y\n"))
		CHECK_EQ(cluster_ept_ad_enabled(root), -1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

void suite_cluster(void)
{
	RUN(cluster_none);
	RUN(cluster_tdp);
	RUN(cluster_two_nodes);
	RUN(cluster_all_keys);
	RUN(cluster_id_errors);
	RUN(cluster_key_errors);
	RUN(cluster_key_file);
	RUN(cluster_transport_errors);
	RUN(cluster_timeout_mtu_errors);
	RUN(cluster_section_errors);
	RUN(cluster_interface_errors);
	RUN(cluster_mac_errors);
	RUN(cluster_home_ranges);
	RUN(cluster_vcpus);
	RUN(cluster_io_node);
	RUN(cluster_remote_dest);
	RUN(cluster_find_self_cases);
	RUN(cluster_fill_struct);
	RUN(cluster_missing_nodes);
	RUN(cluster_print_check);
	RUN(cluster_rdma);
	RUN(cluster_rdma_errors);
	RUN(cluster_rdma_find_self);
	RUN(cluster_rdma_fill);
	RUN(cluster_rdma_messages);
}
