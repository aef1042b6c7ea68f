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
 * optionally, a decimal instance id; each type has a table of keys. Only
 * [vm] exists today; [node.N] for multi-host clusters is one more row in
 * section_types[].
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

struct key_type {
	const char *name;
	bool required;
	int (*set)(struct parse_state *ps, const char *key, const char *val);
};

struct section_type {
	const char *name;
	bool has_id;		/* [name.N] rather than [name] */
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

static const struct key_type vm_keys[] = {
	{ "name",	false,	vm_set_name },
	{ "memory",	true,	vm_set_memory },
	{ "vcpus",	false,	vm_set_vcpus },
	{ "kernel",	true,	vm_set_kernel },
	{ "initrd",	false,	vm_set_initrd },
	{ "cmdline",	false,	vm_set_cmdline },
	{ NULL, false, NULL }
};

static const struct section_type section_types[] = {
	{ "vm", false, vm_keys },
	{ NULL, false, NULL }
};

#define SECTIONS_MAX	8

static void section_label(const struct section_seen *s, char *buf, size_t len)
{
	if (s->type->has_id)
		snprintf(buf, len, "[%s.%lu]", s->type->name, s->id);
	else
		snprintf(buf, len, "[%s]", s->type->name);
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
	return k->set(ps, key, val);
}

static int check_required(struct parse_state *ps, struct section_seen *seen,
			  unsigned int nseen)
{
	const struct section_type *t;
	const struct key_type *k;
	char label[64];
	unsigned int i;

	for (t = section_types; t->name; t++) {
		if (t->has_id)
			continue;	/* instances are optional */
		for (i = 0; i < nseen; i++)
			if (seen[i].type == t)
				break;
		if (i == nseen)
			return parse_error(ps, 0, "missing section [%s]",
					   t->name);
	}
	for (i = 0; i < nseen; i++) {
		section_label(&seen[i], label, sizeof(label));
		for (k = seen[i].type->keys; k->name; k++) {
			if (k->required &&
			    !seen[i].key_line[k - seen[i].type->keys])
				return parse_error(ps, seen[i].line,
						   "%s: missing required key \"%s\"",
						   label, k->name);
		}
	}
	return 0;
}

static int config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, CONFIG_DEFAULT_NAME);
	cfg->vcpus = 1;
	cfg->cmdline = strdup(CONFIG_DEFAULT_CMDLINE);
	return cfg->cmdline ? 0 : -1;
}

void config_free(struct config *cfg)
{
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	cfg->kernel = cfg->initrd = cfg->cmdline = NULL;
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
	if (check_required(&ps, seen, nseen))
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

void config_print(const struct config *cfg, FILE *out)
{
	char size[32];

	config_format_size(cfg->memory, size, sizeof(size));
	fprintf(out, "[vm]\n");
	fprintf(out, "name    = %s\n", cfg->name);
	fprintf(out, "memory  = %llu (%s)\n",
		(unsigned long long)cfg->memory, size);
	fprintf(out, "vcpus   = %u\n", cfg->vcpus);
	fprintf(out, "kernel  = %s\n", cfg->kernel);
	fprintf(out, "initrd  = %s\n", cfg->initrd ? cfg->initrd : "(none)");
	fprintf(out, "cmdline = \"%s\"\n", cfg->cmdline);
}
