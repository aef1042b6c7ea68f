// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: vm.conf parser.
 *
 * The format is INI-like (see vm.conf.example):
 *
 *   # comment                    ; comment
 *   [section]                    [section.N]
 *   key = value                  key = "quoted value"
 *
 * The parser is generic over sections: a header names a section type and,
 * optionally, a decimal instance id; each type has a table of keys. [vm]
 * describes the machine; [cluster] and [node.N] spread it over several
 * hosts. Keys are checked one by one as they are read; what spans keys or
 * sections (the home ranges tiling guest RAM, every vCPU on one node, the
 * one I/O node) is checked once the whole file is read, in
 * check_cluster(). So is what depends on [cluster] transport, which may
 * come after the [node.N] sections: which keys a section needs and may
 * have (check_required()).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_FILE_MAX		(1 << 20)
#define SECTION_NAME_MAX	31
#define KEYS_MAX		16

struct parse_state {
	struct config *cfg;
	const char *file;
	char *dir;		/* directory of file, or NULL for "." */
	char *err;
	size_t errlen;
	unsigned int line;
	struct section_seen *cur;	/* section of the key being set */
};

struct key_type {
	const char *name;
	bool required;		/* with the transport below, if any */
	int (*set)(struct parse_state *ps, const char *key, const char *val);
	unsigned int transport;	/* CONFIG_TRANSPORT_*: only with it; 0: any */
};

struct section_type {
	const char *name;
	bool has_id;		/* [name.N] rather than [name] */
	bool optional;		/* a [name] section may be left out */
	unsigned long max_id;	/* largest N of [name.N] */
	const struct key_type *keys;
};

/* One section header seen in the file. */
struct section_seen {
	const struct section_type *type;
	unsigned long id;
	unsigned int line;
	unsigned int key_line[KEYS_MAX];	/* 0: key not set yet */
};

static int parse_error(struct parse_state *ps, unsigned int line,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_error(struct parse_state *ps, unsigned int line,
		       const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->file, line);
	if (n < 0 || (size_t)n >= ps->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (toupper((unsigned char)*p)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'G':
		mult = 1ULL << 30;
		break;
	case 'T':
		mult = 1ULL << 40;
		break;
	default:
		return -1;
	}
	if (*p) {
		p++;
		/* Optional "B" or "iB" after the unit letter. */
		if (*p == 'i')
			p++;
		if (*p == 'B')
			p++;
		else if (p[-1] == 'i')
			return -1;
		if (*p)
			return -1;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void config_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	int i = -1;

	while (i < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu %s", (unsigned long long)bytes,
			 units[i]);
}

/* Short form for messages: "16M", "2816M", "4G", "12345". */
static void size_short(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int i = -1;

	while (i < 3 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)bytes,
			 units[i]);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_blank(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

static char *path_resolve(const char *dir, const char *val)
{
	char *p;
	size_t n;

	if (val[0] == '/' || !dir)
		return strdup(val);
	n = strlen(dir) + 1 + strlen(val) + 1;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, val);
	return p;
}

static int set_string(struct parse_state *ps, const char *key, char **dst,
		      const char *val, bool is_path)
{
	char *s;

	if (!*val)
		return parse_error(ps, ps->line, "%s: must not be empty", key);
	s = is_path ? path_resolve(ps->dir, val) : strdup(val);
	if (!s)
		return parse_error(ps, ps->line, "%s: out of memory", key);
	free(*dst);
	*dst = s;
	return 0;
}

static int vm_set_name(struct parse_state *ps, const char *key,
		       const char *val)
{
	const char *p;

	if (!*val)
		return parse_error(ps, ps->line, "%s: must not be empty", key);
	if (strlen(val) > CONFIG_NAME_MAX)
		return parse_error(ps, ps->line,
				   "%s: longer than %d characters", key,
				   CONFIG_NAME_MAX);
	for (p = val; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return parse_error(ps, ps->line,
					   "%s: \"%s\" may only hold letters, digits, '.', '_' and '-'",
					   key, val);
	}
	strcpy(ps->cfg->name, val);
	return 0;
}

static int vm_set_memory(struct parse_state *ps, const char *key,
			 const char *val)
{
	char a[32], b[32];
	uint64_t v;

	if (config_parse_size(val, &v))
		return parse_error(ps, ps->line, "%s: \"%s\" is not a size",
				   key, val);
	size_short(v, a, sizeof(a));
	if (v < CONFIG_MEM_MIN) {
		size_short(CONFIG_MEM_MIN, b, sizeof(b));
		return parse_error(ps, ps->line,
				   "%s: %s is below the minimum %s", key, a, b);
	}
	if (v > CONFIG_MEM_MAX) {
		size_short(CONFIG_MEM_MAX, b, sizeof(b));
		return parse_error(ps, ps->line,
				   "%s: %s is above the maximum %s", key, a, b);
	}
	if (v & 4095)
		return parse_error(ps, ps->line,
				   "%s: %s is not a multiple of 4K", key, a);
	ps->cfg->memory = v;
	return 0;
}

static int vm_set_vcpus(struct parse_state *ps, const char *key,
			const char *val)
{
	unsigned long v = 0;
	const char *p;

	if (!*val)
		return parse_error(ps, ps->line, "%s: \"\" is not a number",
				   key);
	for (p = val; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return parse_error(ps, ps->line,
					   "%s: \"%s\" is not a number", key,
					   val);
		if (v <= CONFIG_VCPUS_MAX)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > CONFIG_VCPUS_MAX)
		return parse_error(ps, ps->line,
				   "%s: %s is out of range 1..%d", key, val,
				   CONFIG_VCPUS_MAX);
	ps->cfg->vcpus = (unsigned int)v;
	return 0;
}

static int vm_set_kernel(struct parse_state *ps, const char *key,
			 const char *val)
{
	return set_string(ps, key, &ps->cfg->kernel, val, true);
}

static int vm_set_initrd(struct parse_state *ps, const char *key,
			 const char *val)
{
	return set_string(ps, key, &ps->cfg->initrd, val, true);
}

static int vm_set_cmdline(struct parse_state *ps, const char *key,
			  const char *val)
{
	char *s;

	if (strlen(val) > CONFIG_CMDLINE_MAX)
		return parse_error(ps, ps->line,
				   "%s: longer than %d characters", key,
				   CONFIG_CMDLINE_MAX);
	s = strdup(val);
	if (!s)
		return parse_error(ps, ps->line, "%s: out of memory", key);
	free(ps->cfg->cmdline);
	ps->cfg->cmdline = s;
	return 0;
}

static int vm_set_disk(struct parse_state *ps, const char *key,
		       const char *val)
{
	return set_string(ps, key, &ps->cfg->disk, val, true);
}

static int parse_yes_no(struct parse_state *ps, const char *key,
			const char *val, bool *out)
{
	if (!strcmp(val, "yes"))
		*out = true;
	else if (!strcmp(val, "no"))
		*out = false;
	else
		return parse_error(ps, ps->line,
				   "%s: \"%s\" must be yes or no", key, val);
	return 0;
}

static int vm_set_disk_readonly(struct parse_state *ps, const char *key,
				const char *val)
{
	return parse_yes_no(ps, key, val, &ps->cfg->disk_readonly);
}

static int parse_ifname(struct parse_state *ps, const char *key,
			const char *val, char dst[CONFIG_IFNAME_MAX + 1]);
static int parse_unicast_mac(struct parse_state *ps, const char *key,
			     const char *val, uint8_t mac[6]);

static int vm_set_tap(struct parse_state *ps, const char *key,
		      const char *val)
{
	return parse_ifname(ps, key, val, ps->cfg->tap);
}

static int vm_set_net_mac(struct parse_state *ps, const char *key,
			  const char *val)
{
	return parse_unicast_mac(ps, key, val, ps->cfg->net_mac);
}

static const struct key_type vm_keys[] = {
	{ "name",	false,	vm_set_name,	0 },
	{ "memory",	true,	vm_set_memory,	0 },
	{ "vcpus",	false,	vm_set_vcpus,	0 },
	{ "kernel",	true,	vm_set_kernel,	0 },
	{ "initrd",	false,	vm_set_initrd,	0 },
	{ "cmdline",	false,	vm_set_cmdline,	0 },
	{ "disk",	false,	vm_set_disk,	0 },
	{ "disk_readonly", false, vm_set_disk_readonly, 0 },
	{ "tap",	false,	vm_set_tap,	0 },
	{ "net_mac",	false,	vm_set_net_mac,	0 },
	{ NULL, false, NULL, 0 }
};

/* [cluster] and [node.N] */

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * @n characters of @s as 64 hex digits into @key: 0; -1 and the offending
 * character's index (or @n for a wrong length) in @bad.
 */
static int parse_key_hex(const char *s, size_t n, uint8_t key[CONFIG_KEY_SIZE],
			 size_t *bad)
{
	size_t i;
	int hi, lo;

	if (n != 2 * CONFIG_KEY_SIZE) {
		*bad = n;
		return -1;
	}
	for (i = 0; i < n; i += 2) {
		hi = hex_digit(s[i]);
		lo = hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0) {
			*bad = hi < 0 ? i : i + 1;
			return -1;
		}
		key[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool key_is_zero(const uint8_t key[CONFIG_KEY_SIZE])
{
	unsigned int i;

	for (i = 0; i < CONFIG_KEY_SIZE; i++)
		if (key[i])
			return false;
	return true;
}

int config_read_key_file(const char *path, uint8_t key[CONFIG_KEY_SIZE],
			 char *err, size_t errlen)
{
	char buf[2 * CONFIG_KEY_SIZE + 2];
	struct stat st;
	size_t n = 0, bad;
	ssize_t r;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "permissions %04o are too open: the key must not be accessible by group or others (chmod 600 %s)",
			 (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	while (n < sizeof(buf)) {
		r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == 2 * CONFIG_KEY_SIZE + 1 && buf[n - 1] == '\n')
		n--;
	if (parse_key_hex(buf, n, key, &bad)) {
		snprintf(err, errlen,
			 "must hold 64 hex digits (32 bytes), optionally followed by a newline");
		goto out;
	}
	if (key_is_zero(key)) {
		snprintf(err, errlen, "the key must not be all zeros");
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (ret)
		explicit_bzero(key, CONFIG_KEY_SIZE);
	close(fd);
	return ret;
}

/* Line where key @name of section @s was set, 0 if it was not. */
static unsigned int key_line(const struct section_seen *s, const char *name)
{
	const struct key_type *k;

	for (k = s->type->keys; k->name; k++)
		if (!strcmp(k->name, name))
			return s->key_line[k - s->type->keys];
	return 0;
}

/* Decimal digits only; values above 2^40 saturate there. */
static int parse_decimal(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		if (v < (1ULL << 40))
			v = v * 10 + (unsigned long long)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_ranged(struct parse_state *ps, const char *key,
			const char *val, unsigned long long min,
			unsigned long long max, unsigned int *out)
{
	unsigned long long v;

	if (parse_decimal(val, &v))
		return parse_error(ps, ps->line, "%s: \"%s\" is not a number",
				   key, val);
	if (v < min || v > max)
		return parse_error(ps, ps->line,
				   "%s: %s is out of range %llu..%llu", key, val,
				   min, max);
	*out = (unsigned int)v;
	return 0;
}

static int cluster_set_id(struct parse_state *ps, const char *key,
			  const char *val)
{
	unsigned long long v = 0;
	const char *p = val;
	int base = 10, d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (!*p)
		goto not_number;
	for (; *p; p++) {
		d = hex_digit(*p);
		if (d < 0 || d >= base)
			goto not_number;
		if (v <= UINT32_MAX)
			v = v * (unsigned int)base + (unsigned int)d;
	}
	if (v == 0)
		return parse_error(ps, ps->line, "%s: must not be 0", key);
	if (v > UINT32_MAX)
		return parse_error(ps, ps->line,
				   "%s: %s is out of range 1..0xffffffff", key,
				   val);
	ps->cfg->cluster.id = (uint32_t)v;
	return 0;
not_number:
	return parse_error(ps, ps->line,
			   "%s: \"%s\" is not a number (decimal or 0x hex)",
			   key, val);
}

static int cluster_set_key(struct parse_state *ps, const char *key,
			   const char *val)
{
	struct config_cluster *cl = &ps->cfg->cluster;
	unsigned int other = key_line(ps->cur, "key_file");
	size_t bad;

	if (other)
		return parse_error(ps, ps->line,
				   "%s: key_file is set already (line %u): set only one of key and key_file",
				   key, other);
	if (parse_key_hex(val, strlen(val), cl->key, &bad)) {
		explicit_bzero(cl->key, sizeof(cl->key));
		if (bad == strlen(val))
			return parse_error(ps, ps->line,
					   "%s: must be 64 hex digits (32 bytes), not %zu characters",
					   key, bad);
		return parse_error(ps, ps->line,
				   "%s: character %zu is not a hex digit", key,
				   bad + 1);
	}
	if (key_is_zero(cl->key))
		return parse_error(ps, ps->line, "%s: must not be all zeros",
				   key);
	return 0;
}

static int cluster_set_key_file(struct parse_state *ps, const char *key,
				const char *val)
{
	struct config_cluster *cl = &ps->cfg->cluster;
	unsigned int other = key_line(ps->cur, "key");
	char e[256];

	if (other)
		return parse_error(ps, ps->line,
				   "%s: key is set already (line %u): set only one of key and key_file",
				   key, other);
	if (set_string(ps, key, &cl->key_file, val, true))
		return -1;
	if (config_read_key_file(cl->key_file, cl->key, e, sizeof(e)))
		return parse_error(ps, ps->line, "%s: %s: %s", key,
				   cl->key_file, e);
	return 0;
}

static const char *const transport_names[] = {
	[CONFIG_TRANSPORT_ETHERNET] = "ethernet",
	[CONFIG_TRANSPORT_RDMA] = "rdma",
};

#define TRANSPORTS_MAX	CONFIG_TRANSPORT_RDMA

const char *config_transport_name(enum config_transport t)
{
	if ((unsigned int)t > TRANSPORTS_MAX || !transport_names[t])
		return "?";
	return transport_names[t];
}

static int cluster_set_transport(struct parse_state *ps, const char *key,
				 const char *val)
{
	char known[64] = "";
	size_t k = 0;
	unsigned int t;

	for (t = 1; t <= TRANSPORTS_MAX; t++) {
		if (!strcmp(val, transport_names[t])) {
			ps->cfg->cluster.transport = (enum config_transport)t;
			return 0;
		}
		k += (size_t)snprintf(known + k, sizeof(known) - k, "%s%s",
				      k ? ", " : "", transport_names[t]);
	}
	return parse_error(ps, ps->line, "%s: \"%s\" is unknown (known: %s)",
			   key, val, known);
}

static int cluster_set_join_timeout(struct parse_state *ps, const char *key,
				    const char *val)
{
	return parse_ranged(ps, key, val, 1, CONFIG_JOIN_TIMEOUT_MAX,
			    &ps->cfg->cluster.join_timeout);
}

static int cluster_set_mtu(struct parse_state *ps, const char *key,
			   const char *val)
{
	return parse_ranged(ps, key, val, CONFIG_MTU_MIN, CONFIG_MTU_MAX,
			    &ps->cfg->cluster.mtu);
}

static int cluster_set_rdma_port(struct parse_state *ps, const char *key,
				 const char *val)
{
	return parse_ranged(ps, key, val, 1, 65535,
			    &ps->cfg->cluster.rdma_port);
}

static struct config_node *cur_node(struct parse_state *ps)
{
	return &ps->cfg->cluster.nodes[ps->cur->id];
}

/* A Linux interface name, into @dst. */
static int parse_ifname(struct parse_state *ps, const char *key,
			const char *val, char dst[CONFIG_IFNAME_MAX + 1])
{
	const char *p;

	if (!*val)
		return parse_error(ps, ps->line, "%s: must not be empty", key);
	if (strlen(val) > CONFIG_IFNAME_MAX)
		return parse_error(ps, ps->line,
				   "%s: \"%s\" is longer than %d characters",
				   key, val, CONFIG_IFNAME_MAX);
	for (p = val; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			break;
	if (*p || !strcmp(val, ".") || !strcmp(val, ".."))
		return parse_error(ps, ps->line,
				   "%s: \"%s\" is not an interface name (no '/', ':' or blanks)",
				   key, val);
	strcpy(dst, val);
	return 0;
}

static int node_set_interface(struct parse_state *ps, const char *key,
			      const char *val)
{
	return parse_ifname(ps, key, val, cur_node(ps)->interface);
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i;
	int hi, lo;

	for (i = 0; i < 6; i++, s += 3) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (hi < 0 || lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void config_format_mac(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

/* A unicast, non-zero MAC address, into @dst. */
static int parse_unicast_mac(struct parse_state *ps, const char *key,
			     const char *val, uint8_t dst[6])
{
	static const uint8_t zero[6];
	uint8_t mac[6];
	char m[18];

	if (config_parse_mac(val, mac))
		return parse_error(ps, ps->line,
				   "%s: \"%s\" is not a MAC address like 02:00:00:00:00:01",
				   key, val);
	config_format_mac(mac, m, sizeof(m));
	if (mac[0] & 1)
		return parse_error(ps, ps->line,
				   "%s: %s is a multicast address", key, m);
	if (!memcmp(mac, zero, 6))
		return parse_error(ps, ps->line,
				   "%s: %s is not a valid address", key, m);
	memcpy(dst, mac, 6);
	return 0;
}

static int node_set_mac(struct parse_state *ps, const char *key,
			const char *val)
{
	return parse_unicast_mac(ps, key, val, cur_node(ps)->mac);
}

static int node_set_memory(struct parse_state *ps, const char *key,
			   const char *val)
{
	struct config_node *n = cur_node(ps);
	const char *plus = strchr(val, '+');
	uint64_t start = 0, size;
	char a[32];

	if (plus) {
		char *s = strndup(val, (size_t)(plus - val));

		if (!s)
			return parse_error(ps, ps->line, "%s: out of memory",
					   key);
		if (config_parse_size(s, &start) ||
		    config_parse_size(plus + 1, &size)) {
			free(s);
			goto bad;
		}
		free(s);
	} else if (config_parse_size(val, &size)) {
		goto bad;
	}
	if (!size)
		return parse_error(ps, ps->line, "%s: the size must not be 0",
				   key);
	if (start & 4095) {
		size_short(start, a, sizeof(a));
		return parse_error(ps, ps->line,
				   "%s: start %s is not a multiple of 4K", key, a);
	}
	if (size & 4095) {
		size_short(size, a, sizeof(a));
		return parse_error(ps, ps->line,
				   "%s: size %s is not a multiple of 4K", key, a);
	}
	n->home_start = start;
	n->home_size = size;
	n->home_explicit = plus != NULL;
	return 0;
bad:
	return parse_error(ps, ps->line,
			   "%s: \"%s\" is neither SIZE nor START+SIZE (like 256M or 0+256M)",
			   key, val);
}

static const char *parse_vcpu_id(const char *p, unsigned long *out)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	for (; isdigit((unsigned char)*p); p++)
		if (v < 100000)
			v = v * 10 + (unsigned long)(*p - '0');
	*out = v;
	return p;
}

static int node_set_vcpus(struct parse_state *ps, const char *key,
			  const char *val)
{
	unsigned long a, b, i;
	uint64_t mask = 0;
	const char *p = val, *ta, *tb, *ea, *eb;

	for (;;) {
		ta = skip_blank((char *)p);
		p = ea = parse_vcpu_id(ta, &a);
		if (!p)
			goto bad;
		b = a;
		tb = ta;
		eb = ea;
		if (*p == '-') {
			tb = p + 1;
			p = eb = parse_vcpu_id(tb, &b);
			if (!p)
				goto bad;
		}
		if (a >= CONFIG_VCPUS_MAX)
			return parse_error(ps, ps->line,
					   "%s: vCPU %.*s is out of range 0..%d",
					   key, (int)(ea - ta), ta,
					   CONFIG_VCPUS_MAX - 1);
		if (b >= CONFIG_VCPUS_MAX)
			return parse_error(ps, ps->line,
					   "%s: vCPU %.*s is out of range 0..%d",
					   key, (int)(eb - tb), tb,
					   CONFIG_VCPUS_MAX - 1);
		if (b < a)
			return parse_error(ps, ps->line,
					   "%s: %lu-%lu is not a range (%lu > %lu)",
					   key, a, b, a, b);
		for (i = a; i <= b; i++) {
			if (mask & (1ULL << i))
				return parse_error(ps, ps->line,
						   "%s: vCPU %lu is listed twice",
						   key, i);
			mask |= 1ULL << i;
		}
		p = skip_blank((char *)p);
		if (*p == '\0')
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	cur_node(ps)->vcpu_mask = mask;
	return 0;
bad:
	return parse_error(ps, ps->line,
			   "%s: \"%s\" is not a list of vCPU ids (like 0, 0-3 or 0,2)",
			   key, val);
}

static int node_set_io(struct parse_state *ps, const char *key,
		       const char *val)
{
	return parse_yes_no(ps, key, val, &cur_node(ps)->io);
}

static bool ip_is_v4(const uint8_t addr[16])
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return !memcmp(addr, prefix, sizeof(prefix));
}

void config_format_endpoint(const uint8_t addr[16], unsigned int port,
			    char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v4 = ip_is_v4(addr);

	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? addr + 12 : addr, a,
		       sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (!port)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, v4 ? "%s:%u" : "[%s]:%u", a, port);
}

/*
 * "192.0.2.1" (stored IPv4 mapped), "2001:db8::1" or "[2001:db8::1]"
 * into @addr: 0, or -1.
 */
static int parse_ip(const char *s, uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1 ? 0 : -1;
	}
	if (inet_pton(AF_INET, s, addr + 12) == 1) {
		memset(addr, 0, 10);
		addr[10] = 0xff;
		addr[11] = 0xff;
		return 0;
	}
	return inet_pton(AF_INET6, s, addr) == 1 ? 0 : -1;
}

/* "192.0.2.1:7471" or "[2001:db8::1]:7471": an address, then a port? */
static bool ip_with_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint8_t addr[16];
	char *a;
	bool ret;

	if (!colon || colon == s || !isdigit((unsigned char)colon[1]))
		return false;
	a = strndup(s, (size_t)(colon - s));
	if (!a)
		return false;
	ret = !parse_ip(a, addr) && (ip_is_v4(addr) || a[0] == '[');
	free(a);
	return ret;
}

/* An IP address of one host: a unicast one of more than link scope. */
static int node_set_rdma_address(struct parse_state *ps, const char *key,
				 const char *val)
{
	static const uint8_t zero[16];
	char a[CONFIG_ENDPOINT_LEN];
	uint8_t addr[16];

	if (parse_ip(val, addr)) {
		if (ip_with_port(val))
			return parse_error(ps, ps->line,
					   "%s: \"%s\": give the port as rdma_port, not in the address",
					   key, val);
		return parse_error(ps, ps->line,
				   "%s: \"%s\" is not an IPv4 or IPv6 address (like 192.0.2.1 or 2001:db8::1)",
				   key, val);
	}
	config_format_endpoint(addr, 0, a, sizeof(a));
	if (ip_is_v4(addr)) {
		if (!memcmp(addr + 12, zero, 4))
			goto unspecified;
		if ((addr[12] & 0xf0) == 0xe0)
			goto multicast;
		if (addr[12] == 255 && addr[13] == 255 && addr[14] == 255 &&
		    addr[15] == 255)
			return parse_error(ps, ps->line,
					   "%s: %s is the broadcast address",
					   key, a);
	} else {
		if (!memcmp(addr, zero, 16))
			goto unspecified;
		if (addr[0] == 0xff)
			goto multicast;
		if (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80)
			return parse_error(ps, ps->line,
					   "%s: %s is a link-local address, which needs an interface to go with it: use one of wider scope",
					   key, a);
	}
	memcpy(cur_node(ps)->addr, addr, 16);
	return 0;
unspecified:
	return parse_error(ps, ps->line,
			   "%s: %s is the unspecified address, not a node's",
			   key, a);
multicast:
	return parse_error(ps, ps->line, "%s: %s is a multicast address", key,
			   a);
}

static int node_set_rdma_port(struct parse_state *ps, const char *key,
			      const char *val)
{
	unsigned int port;

	if (parse_ranged(ps, key, val, 1, 65535, &port))
		return -1;
	cur_node(ps)->port = (uint16_t)port;
	return 0;
}

#define ETH	CONFIG_TRANSPORT_ETHERNET
#define RDMA	CONFIG_TRANSPORT_RDMA

static const struct key_type cluster_keys[] = {
	{ "id",			true,	cluster_set_id,		0 },
	{ "key",		false,	cluster_set_key,	0 },
	{ "key_file",		false,	cluster_set_key_file,	0 },
	{ "transport",		false,	cluster_set_transport,	0 },
	{ "join_timeout",	false,	cluster_set_join_timeout, 0 },
	{ "mtu",		false,	cluster_set_mtu,	ETH },
	{ "rdma_port",		false,	cluster_set_rdma_port,	RDMA },
	{ NULL, false, NULL, 0 }
};

static const struct key_type node_keys[] = {
	{ "interface",		true,	node_set_interface,	ETH },
	{ "mac",		true,	node_set_mac,		ETH },
	{ "rdma_address",	true,	node_set_rdma_address,	RDMA },
	{ "rdma_port",		false,	node_set_rdma_port,	RDMA },
	{ "memory",		true,	node_set_memory,	0 },
	{ "vcpus",		false,	node_set_vcpus,		0 },
	{ "io",			false,	node_set_io,		0 },
	{ NULL, false, NULL, 0 }
};

#undef ETH
#undef RDMA

static const struct section_type section_types[] = {
	{ .name = "vm", .keys = vm_keys },
	{ .name = "cluster", .optional = true, .keys = cluster_keys },
	{ .name = "node", .has_id = true, .max_id = CONFIG_NODES_MAX - 1,
	  .keys = node_keys },
	{ NULL, false, false, 0, NULL }
};

#define SECTIONS_MAX	(2 + CONFIG_NODES_MAX)

static void section_label(const struct section_seen *s, char *buf, size_t len)
{
	if (s->type->has_id)
		snprintf(buf, len, "[%s.%lu]", s->type->name, s->id);
	else
		snprintf(buf, len, "[%s]", s->type->name);
}

/* Only blanks, or blanks then a comment, may follow. */
static bool rest_is_empty(const char *p)
{
	while (is_blank(*p))
		p++;
	return *p == '\0' || *p == '#' || *p == ';';
}

/*
 * Parse "[name]" or "[name.N]" in @p (which starts at '[').
 */
static int parse_header(struct parse_state *ps, char *p,
			struct section_seen *seen, unsigned int *nseen,
			struct section_seen **cur)
{
	char name[SECTION_NAME_MAX + 1];
	const struct section_type *t;
	unsigned long id = 0;
	bool has_id = false;
	size_t n = 0;
	unsigned int i;
	char label[64];

	p = skip_blank(p + 1);
	if (!isalpha((unsigned char)*p))
		return parse_error(ps, ps->line, "malformed section header");
	while (isalnum((unsigned char)*p) || *p == '_') {
		if (n == SECTION_NAME_MAX)
			return parse_error(ps, ps->line,
					   "section name too long");
		name[n++] = *p++;
	}
	name[n] = '\0';
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return parse_error(ps, ps->line,
					   "[%s.]: section id must be a decimal number",
					   name);
		for (; isdigit((unsigned char)*p); p++) {
			if (id > 999999)
				return parse_error(ps, ps->line,
						   "[%s.]: section id too large",
						   name);
			id = id * 10 + (unsigned long)(*p - '0');
		}
		has_id = true;
	}
	p = skip_blank(p);
	if (*p != ']')
		return parse_error(ps, ps->line, "malformed section header");
	if (!rest_is_empty(p + 1))
		return parse_error(ps, ps->line,
				   "unexpected text after section header");

	if (has_id)
		snprintf(label, sizeof(label), "[%s.%lu]", name, id);
	else
		snprintf(label, sizeof(label), "[%s]", name);
	for (t = section_types; t->name; t++)
		if (!strcmp(t->name, name))
			break;
	if (!t->name) {
		char known[128] = "";
		size_t k = 0;

		for (t = section_types; t->name && k < sizeof(known); t++)
			k += (size_t)snprintf(known + k, sizeof(known) - k,
					      "%s[%s%s]", k ? ", " : "",
					      t->name, t->has_id ? ".N" : "");
		return parse_error(ps, ps->line, "unknown section %s (known: %s)",
				   label, known);
	}
	if (t->has_id && !has_id)
		return parse_error(ps, ps->line, "section [%s] needs an id: [%s.N]",
				   name, name);
	if (!t->has_id && has_id)
		return parse_error(ps, ps->line, "section [%s] takes no id",
				   name);
	if (has_id && id > t->max_id)
		return parse_error(ps, ps->line,
				   "%s: id out of range 0..%lu", label,
				   t->max_id);
	for (i = 0; i < *nseen; i++) {
		if (seen[i].type == t && seen[i].id == id)
			return parse_error(ps, ps->line,
					   "duplicate section %s (first at line %u)",
					   label, seen[i].line);
	}
	if (*nseen == SECTIONS_MAX)
		return parse_error(ps, ps->line, "too many sections");
	*cur = &seen[(*nseen)++];
	memset(*cur, 0, sizeof(**cur));
	(*cur)->type = t;
	(*cur)->id = id;
	(*cur)->line = ps->line;
	return 0;
}

/*
 * Parse the value after '=' in place. A quoted value ends at the closing
 * quote (\" and \\ escape); an unquoted one ends at the end of the line or
 * at a '#' or ';' preceded by a blank, and loses trailing blanks.
 */
static int parse_value(struct parse_state *ps, char *p, char **out)
{
	char *dst, *start;

	p = skip_blank(p);
	if (*p == '"') {
		start = dst = ++p;
		for (;;) {
			if (*p == '\0')
				return parse_error(ps, ps->line,
						   "unterminated quoted value");
			if (*p == '"')
				break;
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*dst++ = *p++;
		}
		*dst = '\0';
		if (!rest_is_empty(p + 1))
			return parse_error(ps, ps->line,
					   "unexpected text after the closing quote");
		*out = start;
		return 0;
	}
	start = p;
	for (; *p; p++) {
		if ((*p == '#' || *p == ';') && p > start && is_blank(p[-1]))
			break;
	}
	while (p > start && is_blank(p[-1]))
		p--;
	*p = '\0';
	*out = start;
	return 0;
}

static int parse_key_line(struct parse_state *ps, char *p,
			  struct section_seen *cur)
{
	const struct key_type *k;
	char label[64];
	char *key, *val = NULL;
	size_t idx;

	key = p;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '-')
		p++;
	if (p == key)
		return parse_error(ps, ps->line,
				   "expected \"key = value\", a [section] or a comment");
	if (*p != '=' && !is_blank(*p))
		return parse_error(ps, ps->line,
				   "expected \"key = value\", a [section] or a comment");
	if (is_blank(*p)) {
		*p++ = '\0';
		p = skip_blank(p);
		if (*p != '=')
			return parse_error(ps, ps->line,
					   "%s: expected '=' after the key", key);
	}
	*p++ = '\0';
	if (!cur)
		return parse_error(ps, ps->line,
				   "key \"%s\" outside of any section", key);
	section_label(cur, label, sizeof(label));
	for (k = cur->type->keys; k->name; k++)
		if (!strcmp(k->name, key))
			break;
	if (!k->name)
		return parse_error(ps, ps->line, "unknown key \"%s\" in %s",
				   key, label);
	idx = (size_t)(k - cur->type->keys);
	if (cur->key_line[idx])
		return parse_error(ps, ps->line,
				   "duplicate key \"%s\" (first set at line %u)",
				   key, cur->key_line[idx]);
	cur->key_line[idx] = ps->line;
	if (parse_value(ps, p, &val))
		return -1;
	ps->cur = cur;
	return k->set(ps, key, val);
}

/*
 * Keys of another transport than [cluster]'s: the first in the file is an
 * error.
 */
static int check_transport_keys(struct parse_state *ps,
				const struct section_seen *seen,
				unsigned int nseen)
{
	unsigned int t = ps->cfg->cluster.transport;
	const struct key_type *k, *bad = NULL;
	unsigned int i, line, bad_line = 0, tline = 0;

	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i].type->name, "cluster"))
			tline = key_line(&seen[i], "transport");
	for (i = 0; i < nseen; i++) {
		for (k = seen[i].type->keys; k->name; k++) {
			line = seen[i].key_line[k - seen[i].type->keys];
			if (!line || !k->transport || k->transport == t)
				continue;
			if (!bad || line < bad_line) {
				bad = k;
				bad_line = line;
			}
		}
	}
	if (!bad)
		return 0;
	if (!tline)
		return parse_error(ps, bad_line,
				   "%s: needs transport = %s in [cluster] (the default is %s)",
				   bad->name,
				   config_transport_name(bad->transport),
				   config_transport_name(t));
	return parse_error(ps, bad_line,
			   "%s: %s transport = %s, but line %u sets transport = %s",
			   bad->name,
			   bad->transport == CONFIG_TRANSPORT_ETHERNET ?
			   "is for" : "needs",
			   config_transport_name(bad->transport), tline,
			   config_transport_name(t));
}

static int check_required(struct parse_state *ps, struct section_seen *seen,
			  unsigned int nseen)
{
	unsigned int transport = ps->cfg->cluster.transport;
	const struct section_type *t;
	const struct key_type *k;
	char label[64];
	unsigned int i;

	for (t = section_types; t->name; t++) {
		if (t->has_id || t->optional)
			continue;	/* instances are optional */
		for (i = 0; i < nseen; i++)
			if (seen[i].type == t)
				break;
		if (i == nseen)
			return parse_error(ps, 0, "missing section [%s]",
					   t->name);
	}
	if (check_transport_keys(ps, seen, nseen))
		return -1;
	for (i = 0; i < nseen; i++) {
		section_label(&seen[i], label, sizeof(label));
		for (k = seen[i].type->keys; k->name; k++) {
			if (k->required &&
			    (!k->transport || k->transport == transport) &&
			    !seen[i].key_line[k - seen[i].type->keys])
				return parse_error(ps, seen[i].line,
						   "%s: missing required key \"%s\"",
						   label, k->name);
		}
	}
	return 0;
}

/* "256M+256M" */
static void range_short(const struct config_node *n, char *buf, size_t len)
{
	char a[32], b[32];

	size_short(n->home_start, a, sizeof(a));
	size_short(n->home_size, b, sizeof(b));
	snprintf(buf, len, "%s+%s", a, b);
}

/* The home ranges, resolved in id order, tile [0, memory) exactly. */
static int check_homes(struct parse_state *ps,
		       const struct section_seen *const *node)
{
	struct config_cluster *cl = &ps->cfg->cluster;
	struct config_node *nd = cl->nodes, *x, *prev;
	unsigned int order[CONFIG_NODES_MAX];
	uint64_t mem = ps->cfg->memory, end;
	char r[64], r2[64], a[32], b[32];
	unsigned int i, k, max = cl->nr_nodes;

	for (i = 0; i < max; i++) {
		x = &nd[i];
		if (!x->home_explicit)
			x->home_start = i ? nd[i - 1].home_start +
					    nd[i - 1].home_size : 0;
		if (x->home_start >= mem ||
		    x->home_size > mem - x->home_start) {
			range_short(x, r, sizeof(r));
			size_short(mem, b, sizeof(b));
			if (x->home_start >= mem)
				return parse_error(ps, key_line(node[i], "memory"),
						   "memory: %s starts beyond [vm] memory %s",
						   r, b);
			size_short(x->home_start + x->home_size, a, sizeof(a));
			return parse_error(ps, key_line(node[i], "memory"),
					   "memory: %s ends at %s, beyond [vm] memory %s",
					   r, a, b);
		}
	}
	/* Insertion sort by start; ties keep id order. */
	for (i = 0; i < max; i++) {
		for (k = i; k > 0 && nd[order[k - 1]].home_start >
				     nd[i].home_start; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	end = 0;
	for (k = 0; k < max; k++) {
		x = &nd[order[k]];
		range_short(x, r, sizeof(r));
		if (x->home_start < end) {
			prev = &nd[order[k - 1]];
			range_short(prev, r2, sizeof(r2));
			return parse_error(ps, key_line(node[order[k]], "memory"),
					   "memory: %s overlaps %s of [node.%u] (line %u)",
					   r, r2, order[k - 1],
					   key_line(node[order[k - 1]], "memory"));
		}
		if (x->home_start > end) {
			size_short(end, a, sizeof(a));
			size_short(x->home_start, b, sizeof(b));
			return parse_error(ps, key_line(node[order[k]], "memory"),
					   "memory: %s leaves a gap: %s..%s has no home node",
					   r, a, b);
		}
		end = x->home_start + x->home_size;
	}
	if (end < mem) {
		i = order[max - 1];
		range_short(&nd[i], r, sizeof(r));
		size_short(end, a, sizeof(a));
		size_short(mem, b, sizeof(b));
		return parse_error(ps, key_line(node[i], "memory"),
				   "memory: %s ends at %s, below [vm] memory %s: %s..%s has no home node",
				   r, a, b, a, b);
	}
	return 0;
}

/* Every vCPU of [vm] runs on exactly one node. */
static int check_vcpus(struct parse_state *ps,
		       const struct section_seen *const *node,
		       const struct section_seen *vsec)
{
	const struct config_cluster *cl = &ps->cfg->cluster;
	unsigned int n = ps->cfg->vcpus, i, v, line;
	uint64_t all = n >= 64 ? ~0ULL : (1ULL << n) - 1, taken = 0, m;
	unsigned int owner[CONFIG_VCPUS_MAX];

	for (i = 0; i < cl->nr_nodes; i++) {
		m = cl->nodes[i].vcpu_mask;
		line = key_line(node[i], "vcpus");
		if (m & ~all)
			return parse_error(ps, line,
					   "vcpus: vCPU %d does not exist ([vm] vcpus = %u)",
					   __builtin_ctzll(m & ~all), n);
		if (m & taken) {
			v = (unsigned int)__builtin_ctzll(m & taken);
			return parse_error(ps, line,
					   "vcpus: vCPU %u is run by [node.%u] already (line %u)",
					   v, owner[v],
					   key_line(node[owner[v]], "vcpus"));
		}
		for (v = 0; v < CONFIG_VCPUS_MAX; v++)
			if (m & (1ULL << v))
				owner[v] = i;
		taken |= m;
	}
	if (taken != all) {
		line = key_line(vsec, "vcpus");
		return parse_error(ps, line ? line : vsec->line,
				   "vCPU %d is run by no node: add it to the vcpus of one [node.N]",
				   __builtin_ctzll(all & ~taken));
	}
	return 0;
}

/* [vm] keys that only make sense with another one. */
static int check_devices(struct parse_state *ps,
			 const struct section_seen *seen, unsigned int nseen)
{
	const struct section_seen *vsec = NULL;
	unsigned int i, line;

	for (i = 0; i < nseen; i++)
		if (!strcmp(seen[i].type->name, "vm"))
			vsec = &seen[i];
	if (!vsec)
		return 0;
	line = key_line(vsec, "disk_readonly");
	if (line && !ps->cfg->disk)
		return parse_error(ps, line,
				   "disk_readonly: there is no disk (set disk = PATH)");
	line = key_line(vsec, "net_mac");
	if (line && !ps->cfg->tap[0])
		return parse_error(ps, line,
				   "net_mac: there is no network device (set tap = IFNAME)");
	return 0;
}

/* ethernet: no two nodes with one MAC. */
static int check_macs(struct parse_state *ps,
		      const struct section_seen *const *node)
{
	const struct config_cluster *cl = &ps->cfg->cluster;
	unsigned int i, j;
	char m[18];

	for (i = 1; i < cl->nr_nodes; i++) {
		for (j = 0; j < i; j++) {
			if (memcmp(cl->nodes[i].mac, cl->nodes[j].mac, 6))
				continue;
			config_format_mac(cl->nodes[i].mac, m, sizeof(m));
			return parse_error(ps, key_line(node[i], "mac"),
					   "mac: %s is the address of [node.%u] already (line %u)",
					   m, j, key_line(node[j], "mac"));
		}
	}
	return 0;
}

/*
 * rdma: each node's port ([cluster] rdma_port unless it has its own); no
 * two nodes with one address and port.
 */
static int check_endpoints(struct parse_state *ps,
			   const struct section_seen *const *node)
{
	struct config_cluster *cl = &ps->cfg->cluster;
	struct config_node *nd = cl->nodes;
	char e[CONFIG_ENDPOINT_LEN];
	unsigned int i, j;

	for (i = 0; i < cl->nr_nodes; i++)
		if (!nd[i].port)
			nd[i].port = (uint16_t)cl->rdma_port;
	for (i = 1; i < cl->nr_nodes; i++) {
		for (j = 0; j < i; j++) {
			if (nd[i].port != nd[j].port ||
			    memcmp(nd[i].addr, nd[j].addr, 16))
				continue;
			config_format_endpoint(nd[i].addr, nd[i].port, e,
					       sizeof(e));
			return parse_error(ps, key_line(node[i], "rdma_address"),
					   "rdma_address: %s is the address and port of [node.%u] already (line %u): nodes on one address need different rdma_port",
					   e, j, key_line(node[j], "rdma_address"));
		}
	}
	return 0;
}

/*
 * [cluster] and [node.N] together: dense node ids, at least two nodes,
 * distinct MACs (ethernet) or addresses and ports (rdma), home ranges,
 * vCPUs, the I/O node.
 */
static int check_cluster(struct parse_state *ps,
			 const struct section_seen *seen, unsigned int nseen)
{
	struct config_cluster *cl = &ps->cfg->cluster;
	const struct section_seen *node[CONFIG_NODES_MAX] = { NULL };
	const struct section_seen *csec = NULL, *vsec = NULL, *first = NULL;
	unsigned int i, j, n = 0, max = 0;
	int io = -1;

	for (i = 0; i < nseen; i++) {
		const char *t = seen[i].type->name;

		if (!strcmp(t, "vm")) {
			vsec = &seen[i];
		} else if (!strcmp(t, "cluster")) {
			csec = &seen[i];
		} else if (!strcmp(t, "node")) {
			node[seen[i].id] = &seen[i];
			if (!first)
				first = &seen[i];
			n++;
			if (seen[i].id >= max)
				max = (unsigned int)seen[i].id + 1;
		}
	}
	if (!n && !csec)
		return 0;
	if (!csec)
		return parse_error(ps, first->line,
				   "[node.%lu]: a cluster needs a [cluster] section",
				   first->id);
	if (!n)
		return parse_error(ps, csec->line,
				   "[cluster]: no [node.N] sections: a cluster needs at least 2 nodes");
	if (!key_line(csec, "key") && !key_line(csec, "key_file"))
		return parse_error(ps, csec->line,
				   "[cluster]: missing key or key_file");
	for (i = 0; i < max; i++) {
		if (node[i])
			continue;
		for (j = i + 1; !node[j]; j++)
			;
		return parse_error(ps, node[j]->line,
				   "[node.%u]: there is no [node.%u] (node ids count from 0 without gaps)",
				   j, i);
	}
	if (max < 2)
		return parse_error(ps, node[0]->line,
				   "[node.0]: a cluster needs at least 2 nodes (without [node.N] sections the VM runs on this host alone)");
	cl->nr_nodes = max;
	if (cl->transport == CONFIG_TRANSPORT_RDMA ? check_endpoints(ps, node) :
	    check_macs(ps, node))
		return -1;
	if (check_homes(ps, node) || check_vcpus(ps, node, vsec))
		return -1;
	for (i = 0; i < max; i++) {
		if (!cl->nodes[i].io)
			continue;
		if (io >= 0)
			return parse_error(ps, key_line(node[i], "io"),
					   "io: [node.%d] does I/O already (line %u): exactly one node does",
					   io, key_line(node[io], "io"));
		io = (int)i;
	}
	cl->io_node = io < 0 ? 0 : (unsigned int)io;
	cl->nodes[cl->io_node].io = true;
	return 0;
}

static int config_init(struct config *cfg)
{
	static const uint8_t mac[6] = CONFIG_DEFAULT_NET_MAC;

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->net_mac, mac, sizeof(mac));
	strcpy(cfg->name, CONFIG_DEFAULT_NAME);
	cfg->vcpus = 1;
	cfg->cluster.transport = CONFIG_TRANSPORT_ETHERNET;
	cfg->cluster.join_timeout = CONFIG_JOIN_TIMEOUT;
	cfg->cluster.rdma_port = CONFIG_RDMA_PORT;
	cfg->cmdline = strdup(CONFIG_DEFAULT_CMDLINE);
	return cfg->cmdline ? 0 : -1;
}

void config_free(struct config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->disk);
	free(cfg->cluster.key_file);
	cfg->kernel = cfg->initrd = cfg->cmdline = cfg->disk = NULL;
	cfg->cluster.key_file = NULL;
	explicit_bzero(cfg->cluster.key, sizeof(cfg->cluster.key));
}

static char *dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	char *d;

	if (!slash)
		return NULL;
	if (slash == file)
		return strdup("/");
	d = strndup(file, (size_t)(slash - file));
	return d;
}

int config_parse(struct config *cfg, const char *file, const char *text,
		 char *err, size_t errlen)
{
	struct section_seen seen[SECTIONS_MAX];
	struct section_seen *cur = NULL;
	struct parse_state ps = {
		.cfg = cfg, .file = file, .err = err, .errlen = errlen,
	};
	unsigned int nseen = 0;
	char *buf, *line, *next, *p;
	int ret = -1;

	if (config_init(cfg)) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	buf = strdup(text);
	if (!buf || (strchr(file, '/') && !(ps.dir = dir_of(file)))) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ps.line++;
		p = line + strlen(line);
		if (p > line && p[-1] == '\r')
			p[-1] = '\0';
		p = skip_blank(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			if (parse_header(&ps, p, seen, &nseen, &cur))
				goto out;
			continue;
		}
		if (parse_key_line(&ps, p, cur))
			goto out;
	}
	if (check_required(&ps, seen, nseen) ||
	    check_devices(&ps, seen, nseen) ||
	    check_cluster(&ps, seen, nseen))
		goto out;
	ret = 0;
out:
	free(buf);
	free(ps.dir);
	if (ret)
		config_free(cfg);
	return ret;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t n = 0;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || n > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
			 ferror(f) ? "read error" : "file too large (over 1 MiB)");
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	text[n] = '\0';
	if (strlen(text) != n) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return -1;
	}
	ret = config_parse(cfg, path, text, err, errlen);
	free(text);
	return ret;
}

void config_format_vcpus(uint64_t mask, char *buf, size_t len)
{
	unsigned int a, b;
	size_t k = 0;

	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return;
	}
	for (a = 0; a < 64 && k < len; a = b + 1) {
		if (!(mask & (1ULL << a))) {
			b = a;
			continue;
		}
		for (b = a; b + 1 < 64 && (mask & (1ULL << (b + 1))); b++)
			;
		if (b == a)
			k += (size_t)snprintf(buf + k, len - k, "%s%u",
					      k ? "," : "", a);
		else
			k += (size_t)snprintf(buf + k, len - k, "%s%u-%u",
					      k ? "," : "", a, b);
	}
}

static void print_cluster(const struct config_cluster *cl, int self,
			  FILE *out)
{
	bool rdma = cl->transport == CONFIG_TRANSPORT_RDMA;
	char buf[256], a[32], b[32];
	unsigned int i;

	fprintf(out, "\n[cluster]\n");
	fprintf(out, "id           = 0x%x (%u)\n", cl->id, cl->id);
	if (cl->key_file)
		fprintf(out, "key_file     = %s (%d bytes; not shown)\n",
			cl->key_file, CONFIG_KEY_SIZE);
	else
		fprintf(out, "key          = (%d bytes; not shown)\n",
			CONFIG_KEY_SIZE);
	fprintf(out, "transport    = %s\n",
		config_transport_name(cl->transport));
	fprintf(out, "join_timeout = %u s\n", cl->join_timeout);
	if (rdma)
		fprintf(out, "rdma_port    = %u\n", cl->rdma_port);
	else if (cl->mtu)
		fprintf(out, "mtu          = %u\n", cl->mtu);
	else
		fprintf(out, "mtu          = (the interface's)\n");
	for (i = 0; i < cl->nr_nodes; i++) {
		const struct config_node *n = &cl->nodes[i];

		fprintf(out, "\n[node.%u]%s\n", i,
			(int)i == self ? "    # this host" : "");
		if (rdma) {
			config_format_endpoint(n->addr, n->port, buf,
					       sizeof(buf));
			fprintf(out, "address   = %s\n", buf);
		} else {
			fprintf(out, "interface = %s\n", n->interface);
			config_format_mac(n->mac, buf, sizeof(buf));
			fprintf(out, "mac       = %s\n", buf);
		}
		range_short(n, buf, sizeof(buf));
		size_short(n->home_start, a, sizeof(a));
		size_short(n->home_start + n->home_size, b, sizeof(b));
		fprintf(out, "memory    = %s (home for 0x%llx..0x%llx)\n", buf,
			(unsigned long long)n->home_start,
			(unsigned long long)(n->home_start + n->home_size));
		config_format_vcpus(n->vcpu_mask, buf, sizeof(buf));
		fprintf(out, "vcpus     = %s\n", buf);
		fprintf(out, "io        = %s\n", n->io ? "yes" : "no");
	}
	if (self < 0)
		fprintf(out, "\n# this host: no [node.N] found\n");
}

void config_print(const struct config *cfg, int self, FILE *out)
{
	char size[32], mac[18];

	config_format_size(cfg->memory, size, sizeof(size));
	fprintf(out, "[vm]\n");
	fprintf(out, "name    = %s\n", cfg->name);
	fprintf(out, "memory  = %llu (%s)\n",
		(unsigned long long)cfg->memory, size);
	fprintf(out, "vcpus   = %u\n", cfg->vcpus);
	fprintf(out, "kernel  = %s\n", cfg->kernel);
	fprintf(out, "initrd  = %s\n", cfg->initrd ? cfg->initrd : "(none)");
	fprintf(out, "cmdline = \"%s\"\n", cfg->cmdline);
	if (cfg->disk)
		fprintf(out, "disk    = %s%s\n", cfg->disk,
			cfg->disk_readonly ? " (read-only)" : "");
	if (cfg->tap[0]) {
		config_format_mac(cfg->net_mac, mac, sizeof(mac));
		fprintf(out, "tap     = %s\nnet_mac = %s\n", cfg->tap, mac);
	}
	if (cfg->cluster.nr_nodes)
		print_cluster(&cfg->cluster, self, out);
}
