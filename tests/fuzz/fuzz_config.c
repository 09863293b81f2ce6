/* fuzz_config.c - the config file parser (--config FILE) on any bytes.
 *
 * The input is the file's content.  It is read the way tracemap reads it,
 * through tm_config_load("--config PATH") with an empty environment, from a
 * memfd named by its /proc/self/fd path (no file is written).
 * Invariants:
 * - the result is 0 or -EINVAL, and a refusal says where: "--config PATH:"
 *   for the file as a whole, "PATH:LINE: name = value: ..." (an option of
 *   the table), "PATH:LINE: unknown option" or "PATH:LINE: expected", with
 *   LINE one of the file's lines; or it names the two options that do not
 *   go together;
 * - an accepted file prints (--print-config) and every value it set is in
 *   its option's range: numbers within min..max, a choice among its words,
 *   flags 0 or 1, 1 to 8 listen addresses, none empty;
 * - what --print-config shows of an option the file set, written back as a
 *   file, reads as the same value. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];
static FILE *devnull;

static void require(int cond, const char *what, const char *detail)
{
	if (!cond) {
		fprintf(stderr, "fuzz_config: invariant broken: %s (%s)\n", what, detail);
		abort();
	}
}

static void setup(void)
{
	if (memfd >= 0)
		return;
	memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
	require(memfd >= 0, "memfd_create works", "");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	devnull = fopen("/dev/null", "w");
	require(devnull != NULL, "/dev/null opens", "");
}

static void write_file(const void *data, size_t size)
{
	require(ftruncate(memfd, 0) == 0, "ftruncate works", path);
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(memfd, (const char *)data + done, size - done, (off_t)done);
		require(n > 0, "pwrite works", path);
		done += (size_t)n;
	}
}

static int load(struct tm_config *cfg, char *err, size_t errlen)
{
	char *argv[] = { "tracemap", "--config", path, NULL };
	char *const envp[] = { NULL };
	err[0] = '\0';
	return tm_config_load(3, argv, envp, cfg, err, errlen);
}

/* the number of lines a file of these bytes has */
static unsigned long count_lines(const uint8_t *data, size_t size)
{
	unsigned long n = 1;
	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void check_refusal(const char *err, const uint8_t *data, size_t size)
{
	size_t plen = strlen(path);
	if (!strncmp(err, "--config ", 9) && !strncmp(err + 9, path, plen) && err[9 + plen] == ':')
		return;
	if (strstr(err, "--tls-cert and --tls-key go together"))
		return;
	require(!strncmp(err, path, plen) && err[plen] == ':', "a refusal names the file", err);
	char *end;
	unsigned long line = strtoul(err + plen + 1, &end, 10);
	require(end != err + plen + 1 && *end == ':' && end[1] == ' ', "and the line", err);
	require(line >= 1 && line <= count_lines(data, size), "a line the file has", err);
	const char *what = end + 2;
	if (!strncmp(what, "unknown option \"", 16) || !strncmp(what, "expected \"name = value\"", 23))
		return;
	size_t n;
	const struct option_def *o = config_options(&n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(o[i].name);
		if (!strncmp(what, o[i].name, len) && !strncmp(what + len, " = ", 3))
			return;
	}
	require(0, "and the option", err);
}

static size_t n_choices(const char *arg)
{
	size_t n = 1;
	for (; *arg; arg++)
		n += *arg == '|';
	return n;
}

static void check_range(const struct option_def *o, const struct tm_config *cfg)
{
	const void *field = (const char *)cfg + o->offset;
	uint64_t v;
	switch (o->kind) {
	case OPT_BYTES:
	case OPT_DURATION:
		v = *(const uint64_t *)field;
		require(v >= o->min && v <= o->max, "a number within its range", o->name);
		break;
	case OPT_UINT:
		v = *(const unsigned *)field;
		require(v >= o->min && v <= o->max, "a number within its range", o->name);
		break;
	case OPT_FLAG:
		require(*(const int *)field == 0 || *(const int *)field == 1, "a flag is 0 or 1",
			o->name);
		break;
	case OPT_SYNC:
	case OPT_CHOICE:
		require(*(const int *)field >= 0 && (size_t)*(const int *)field < n_choices(o->arg),
			"a choice among its words", o->name);
		break;
	case OPT_LISTEN:
		require(cfg->n_listen >= 1 && cfg->n_listen <= TM_MAX_LISTEN,
			"1 to 8 listen addresses", o->name);
		for (size_t i = 0; i < cfg->n_listen; i++)
			require(cfg->listen[i] && *cfg->listen[i], "no empty listen address", o->name);
		break;
	case OPT_STRING:
	case OPT_CONFIG:
		break;
	}
}

#define VALUE_MAX 4096

/* every option the file set, written back as "name = <printed value>"
 * lines (a file, as options that go together must be set together), must
 * read back as the values printed */
static void check_round_trip(const struct tm_config *cfg)
{
	static char file[TM_CONFIG_MAX_OPTIONS * (VALUE_MAX + 64)];
	char value[VALUE_MAX], again[VALUE_MAX];
	size_t n, len = 0;
	const struct option_def *o = config_options(&n);
	for (size_t i = 0; i < n; i++) {
		if (cfg->source[i] != TM_SRC_FILE)
			continue;
		int m = config_format_value(&o[i], cfg, value, sizeof(value));
		if (m < 0 || (size_t)m >= sizeof(value))
			return;   /* a value longer than ours (a long listen list) */
		len += (size_t)snprintf(file + len, sizeof(file) - len, "%s = %s\n", o[i].name, value);
	}
	write_file(file, len);
	struct tm_config re;
	char err[1024];
	int rc = load(&re, err, sizeof(err));
	require(rc == 0, "the printed values read back", err);
	for (size_t i = 0; i < n; i++) {
		if (cfg->source[i] != TM_SRC_FILE)
			continue;
		config_format_value(&o[i], cfg, value, sizeof(value));
		config_format_value(&o[i], &re, again, sizeof(again));
		require(!strcmp(value, again), "a printed value reads back the same", o[i].name);
	}
	tm_config_free(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	write_file(data, size);
	struct tm_config cfg;
	char err[1024];
	int rc = load(&cfg, err, sizeof(err));
	require(rc == 0 || rc == -EINVAL, "rc is 0 or -EINVAL", err);
	if (rc) {
		require(err[0] != '\0', "a refusal says why", "");
		check_refusal(err, data, size);
		tm_config_free(&cfg);
		return 0;
	}
	tm_config_print(&cfg, devnull);
	size_t n;
	const struct option_def *o = config_options(&n);
	for (size_t i = 0; i < n; i++)
		if (cfg.source[i] == TM_SRC_FILE)
			check_range(&o[i], &cfg);
	check_round_trip(&cfg);
	tm_config_free(&cfg);
	return 0;
}
