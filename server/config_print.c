/* config_print.c - the option table as text: --help, --print-config and
 * docs/tracemap.conf.sample. */
#include "config_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const source_names[] = { "default", "file", "env", "flag" };

void config_format_bytes(uint64_t n, char *buf, size_t len)
{
	static const char suffix[] = "GMK";
	for (int i = 0; i < 3; i++) {
		unsigned shift = (unsigned)(30 - 10 * i);
		if (n && n % (1ull << shift) == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(n >> shift), suffix[i]);
			return;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)n);
}

void config_format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "d", 86400000000000ull },   /* tm_config_duration reads days */
		{ "h", 3600000000000ull }, { "m", 60000000000ull }, { "s", 1000000000ull },
		{ "ms", 1000000ull }, { "us", 1000ull },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns && ns % units[i].ns == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ns / units[i].ns), units[i].unit);
			return;
		}
	snprintf(buf, len, ns ? "%lluns" : "0s", (unsigned long long)ns);
}

/* the index-th '|'-separated word of choices */
static int format_choice(const char *choices, int index, char *buf, size_t len)
{
	const char *w = choices;
	for (int i = 0; w && i < index; i++) {
		w = strchr(w, '|');
		w = w ? w + 1 : NULL;
	}
	if (!w || index < 0)
		return snprintf(buf, len, "%d", index);
	const char *bar = strchr(w, '|');
	return snprintf(buf, len, "%.*s", (int)(bar ? (size_t)(bar - w) : strlen(w)), w);
}

static int format_listen(const struct tm_config *cfg, char *buf, size_t len)
{
	size_t n = 0;
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_listen; i++) {
		int m = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s%s",
				 i ? "," : "", cfg->listen[i]);
		n += m > 0 ? (size_t)m : 0;
	}
	return (int)n;
}

int config_format_value(const struct option_def *o, const struct tm_config *cfg, char *buf,
			size_t len)
{
	const void *field = (const char *)cfg + o->offset;
	switch (o->kind) {
	case OPT_STRING:
	case OPT_CONFIG: {
		const char *s = *(const char *const *)field;
		return snprintf(buf, len, "%s", s ? s : "");
	}
	case OPT_LISTEN:
		return format_listen(cfg, buf, len);
	case OPT_FLAG:
		return snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
	case OPT_SYNC:
	case OPT_CHOICE:
		return format_choice(o->arg, *(const int *)field, buf, len);
	case OPT_UINT:
		return snprintf(buf, len, "%u", *(const unsigned *)field);
	case OPT_BYTES:
		config_format_bytes(*(const uint64_t *)field, buf, len);
		return (int)strlen(buf);
	case OPT_DURATION:
		config_format_duration(*(const uint64_t *)field, buf, len);
		return (int)strlen(buf);
	}
	return snprintf(buf, len, "?");
}

/* writes text as lines of at most width columns, each after prefix */
static void wrap(FILE *out, const char *prefix, const char *text, size_t width)
{
	const char *p = text;
	while (*p) {
		size_t n = strlen(p);
		if (n > width) {
			n = width;
			while (n && p[n] != ' ')
				n--;
			if (!n)   /* one long word: break it where it ends */
				n = strcspn(p, " ");
		}
		fprintf(out, "%s%.*s\n", prefix, (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

void tm_config_usage(FILE *out)
{
	size_t n_options;
	const struct option_def *options = config_options(&n_options);
	fprintf(out, "usage: tracemap [OPTIONS]              run the collector\n"
		     "       tracemap check --data DIR       verify a store, change nothing\n"
		     "       tracemap stats --data DIR       print what a store holds\n"
		     "       tracemap query slow --data DIR [--service S] [--operation O]\n"
		     "                [--since 1h] [--limit 20]  the slowest traces, as a table\n"
		     "       tracemap query trace ID --data DIR   one trace, as a tree\n"
		     "       tracemap demo [--target URL] [--rate 20] [--duration D]\n"
		     "                traffic from a made-up shop, to see a living map\n"
		     "       tracemap export --data DIR --out SITE [--since 1h]\n"
		     "                the map, services, slowest traces as files for file://\n"
		     "       tracemap compact --data DIR     shrink the store's file (server stopped)\n"
		     "       tracemap --help | --version | --print-config | --sample-config\n\n"
		     "options:\n");
	for (size_t i = 0; i < n_options; i++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", options[i].name, options[i].arg ? " " : "",
			 options[i].arg ? options[i].arg : "");
		fprintf(out, "  %-24s %s\n", left, options[i].help);
	}
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "--help", "show this text", "--version",
		"print the version");
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "--print-config",
		"print every option's value and where it came from (default, file, env, flag), "
		"then exit", "--sample-config", "print a config file of every option at its default");
	fprintf(out, "\nBYTES accept a suffix: K, M, G (powers of 1024), e.g. 64M.\n"
		     "Every option may also be set as an environment variable, TRACEMAP_ and the name\n"
		     "in upper case with _ for -, e.g. TRACEMAP_PAIR_WAIT=5s, or in the --config file\n"
		     "as pair-wait = 5s.  Flags win over the environment, which wins over the file.\n");
}

void tm_config_print(const struct tm_config *cfg, FILE *out)
{
	size_t n_options;
	const struct option_def *options = config_options(&n_options);
	fprintf(out, "# %-22s %-8s %s\n", "option", "source", "value");
	for (size_t i = 0; i < n_options; i++) {
		char value[TM_MAX_LISTEN * 64 + 4096];
		config_format_value(&options[i], cfg, value, sizeof(value));
		unsigned src = cfg->source[i] < 4 ? cfg->source[i] : 0;
		fprintf(out, "%-24s %-8s %s\n", options[i].name, source_names[src], value);
	}
}

/* the default of o as a value line can show it, or its placeholder */
static void sample_value(const struct option_def *o, const struct tm_config *defaults,
			 char *buf, size_t len)
{
	config_format_value(o, defaults, buf, len);
	const void *field = (const char *)defaults + o->offset;
	/* below the minimum: a number that means "off" or "computed" (0) */
	int unset = (o->kind == OPT_STRING && !*(const char *const *)field) ||
		    (o->kind == OPT_UINT && *(const unsigned *)field < o->min) ||
		    ((o->kind == OPT_BYTES || o->kind == OPT_DURATION) &&
		     *(const uint64_t *)field < o->min);
	if (unset)
		snprintf(buf, len, "%s", o->arg ? o->arg : "");
}

static const char sample_header[] =
	"# tracemap.conf.sample - every option of tracemap, commented out at its default.\n"
	"#\n"
	"# Generated by `tracemap --sample-config`; a unit test (tests/unit/test_config.c)\n"
	"# keeps it equal to the option table.  Use a copy with `tracemap --config FILE`.\n"
	"#\n"
	"# One option per line: name = value, the name being the long option without\n"
	"# its dashes.  The value is the rest of the line with the spaces around it\n"
	"# trimmed, taken as it is (no quotes, no escapes).  Lines that start with #\n"
	"# are comments; blank lines are ignored.  Flags take true or false (or\n"
	"# yes/no, on/off, 1/0).  listen may be repeated, or list addresses separated\n"
	"# by commas.  A value in upper case below (FILE, ADDR:PORT, N) is a\n"
	"# placeholder: that option is off or computed unless set.\n"
	"#\n"
	"# Precedence: command-line flags over TRACEMAP_* environment variables\n"
	"# (TRACEMAP_PAIR_WAIT=5s sets pair-wait) over this file over the defaults.\n"
	"# `tracemap --config FILE --print-config` shows every value and its source.\n";

void tm_config_write_sample(FILE *out)
{
	size_t n_options;
	const struct option_def *options = config_options(&n_options);
	/* the table's defaults, before anything (threads: CPUs) is computed */
	struct tm_config defaults;
	config_defaults(&defaults);
	fputs(sample_header, out);
	for (size_t i = 0; i < n_options; i++) {
		if (options[i].kind == OPT_CONFIG)
			continue;   /* a config file cannot name another */
		char value[1024];
		sample_value(&options[i], &defaults, value, sizeof(value));
		fputc('\n', out);
		wrap(out, "# ", options[i].help, 76);
		fprintf(out, "#%s = %s\n", options[i].name, value);
	}
	tm_config_free(&defaults);
}
