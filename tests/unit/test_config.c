/* test_config.c - command-line parsing: defaults, both option forms, sizes,
 * errors that name the option, subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

#define MAX_ARGS 16

/* parses the NULL-terminated arguments after the program name */
static int parse(struct tm_config *cfg, char *err, size_t errlen, ...)
{
	static char prog[] = "tracemap";
	char *argv[MAX_ARGS + 1] = { prog };
	int argc = 1;
	va_list ap;
	va_start(ap, errlen);
	for (char *a; (a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return tm_config_parse(argc, argv, cfg, err, errlen);
}

#define PARSE(cfg, err, ...) parse(cfg, err, sizeof(err), __VA_ARGS__, (char *)NULL)

static void test_defaults(void)
{
	struct tm_config cfg;
	char err[256];
	CHECK_INT_EQ(PARSE(&cfg, err, (char *)NULL), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_SERVE);
	CHECK_INT_EQ(cfg.n_listen, 1);
	CHECK_STR_EQ(cfg.listen[0], "127.0.0.1:4318");
	CHECK_STR_EQ(cfg.data_dir, "./tracemap-data");
	CHECK_INT_EQ(cfg.sync_none, 0);
	CHECK_INT_EQ(cfg.max_body_bytes, 64ull << 20);
	CHECK_INT_EQ(cfg.queue_bytes, 256ull << 20);
	CHECK_INT_EQ(cfg.verbose, 0);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	CHECK_INT_EQ(cfg.threads, cpus > 0 ? (unsigned)cpus : 2);
	CHECK_STR_EQ(err, "");
}

/* every option, first as `--opt value`, then as `--opt=value` */
static void test_every_option(void)
{
	struct tm_config cfg;
	char err[256];
	CHECK_INT_EQ(PARSE(&cfg, err, "--listen", "0.0.0.0:0", "--data", "/tmp/tm",
			   "--sync", "none", "--max-body", "1048576", "--queue-bytes", "2M",
			   "--threads", "3", "--verbose"), 0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(cfg.n_listen, 1);
	CHECK_STR_EQ(cfg.listen[0], "0.0.0.0:0");
	CHECK_STR_EQ(cfg.data_dir, "/tmp/tm");
	CHECK_INT_EQ(cfg.sync_none, 1);
	CHECK_INT_EQ(cfg.max_body_bytes, 1048576);
	CHECK_INT_EQ(cfg.queue_bytes, 2u << 20);
	CHECK_INT_EQ(cfg.threads, 3);
	CHECK_INT_EQ(cfg.verbose, 1);
	CHECK_INT_EQ(cfg.command, TM_CMD_SERVE);

	CHECK_INT_EQ(PARSE(&cfg, err, "--listen=[::1]:4318", "--data=dir=with=equals",
			   "--sync=full", "--max-body=4096", "--queue-bytes=3G", "--threads=256"),
		     0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(cfg.n_listen, 1);
	CHECK_STR_EQ(cfg.listen[0], "[::1]:4318");
	CHECK_STR_EQ(cfg.data_dir, "dir=with=equals");   /* split at the first '=' only */
	CHECK_INT_EQ(cfg.sync_none, 0);
	CHECK_INT_EQ(cfg.max_body_bytes, 4096);
	CHECK_INT_EQ(cfg.queue_bytes, 3ull << 30);
	CHECK_INT_EQ(cfg.threads, 256);
	CHECK_INT_EQ(cfg.verbose, 0);

	/* the last occurrence wins; --sync full after none turns sync back on */
	CHECK_INT_EQ(PARSE(&cfg, err, "--sync", "none", "--sync=full", "--threads", "1",
			   "--threads=2"), 0);
	CHECK_INT_EQ(cfg.sync_none, 0);
	CHECK_INT_EQ(cfg.threads, 2);
}

/* --listen adds an address each time, up to TM_MAX_LISTEN */
static void test_listen(void)
{
	struct tm_config cfg;
	char err[256];
	CHECK_INT_EQ(PARSE(&cfg, err, "--listen", "127.0.0.1:4318", "--listen=0.0.0.0:9411",
			   "--listen", "127.0.0.1:14268"), 0);
	CHECK_INT_EQ(cfg.n_listen, 3);
	CHECK_STR_EQ(cfg.listen[0], "127.0.0.1:4318");
	CHECK_STR_EQ(cfg.listen[1], "0.0.0.0:9411");
	CHECK_STR_EQ(cfg.listen[2], "127.0.0.1:14268");

	/* one more than allowed: the first TM_MAX_LISTEN pass, the next is refused */
	static char prog[] = "tracemap", addrs[TM_MAX_LISTEN + 1][32];
	char *argv[TM_MAX_LISTEN + 2];
	int argc = 0;
	argv[argc++] = prog;
	for (int i = 0; i < TM_MAX_LISTEN + 1; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "--listen=127.0.0.1:%d", 5000 + i);
		argv[argc++] = addrs[i];
	}
	err[0] = '\0';
	CHECK_INT_EQ(tm_config_parse(TM_MAX_LISTEN + 1, argv, &cfg, err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.n_listen, TM_MAX_LISTEN);
	CHECK_STR_EQ(cfg.listen[TM_MAX_LISTEN - 1], "127.0.0.1:5007");
	int rc = tm_config_parse(TM_MAX_LISTEN + 2, argv, &cfg, err, sizeof(err));
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "--listen") != NULL);
}

static void check_size(const char *arg, uint64_t want)
{
	struct tm_config cfg;
	char err[256];
	int rc = PARSE(&cfg, err, "--max-body", arg);
	if (rc != 0 || cfg.max_body_bytes != want)
		fprintf(stderr, "  --max-body %s: rc %d, %llu bytes, wanted %llu (%s)\n", arg, rc,
			(unsigned long long)cfg.max_body_bytes, (unsigned long long)want, err);
	CHECK_INT_EQ(rc, 0);
	CHECK(cfg.max_body_bytes == want);
}

static void test_sizes(void)
{
	check_size("1024", 1024);
	check_size("1K", 1024);
	check_size("1k", 1024);
	check_size("64K", 64 << 10);
	check_size("64M", 64u << 20);
	check_size("64m", 64u << 20);
	check_size("1G", 1u << 30);
	check_size("4G", 4ull << 30);   /* the maximum */
	check_size("2MiB", 2u << 20);
	check_size("2MB", 2u << 20);
	check_size("3kb", 3 << 10);
	check_size("1gib", 1u << 30);
}

/* expects -EINVAL and an error that contains every given word */
static void expect_error(const char *label, const char *want1, const char *want2, int rc,
			 const char *err)
{
	int ok = rc == -EINVAL && strstr(err, want1) && (!want2 || strstr(err, want2));
	if (!ok)
		fprintf(stderr, "  %s: rc %d, error '%s', wanted '%s' %s\n", label, rc, err, want1,
			want2 ? want2 : "");
	CHECK(ok);
}

static void test_errors(void)
{
	struct tm_config cfg;
	char err[256];
	expect_error("--max-body abc", "--max-body", "abc", PARSE(&cfg, err, "--max-body", "abc"),
		     err);
	expect_error("--max-body=abc", "--max-body", "abc", PARSE(&cfg, err, "--max-body=abc"),
		     err);
	expect_error("--max-body 10X", "--max-body", NULL, PARSE(&cfg, err, "--max-body", "10X"),
		     err);
	expect_error("--max-body 64MM", "--max-body", NULL, PARSE(&cfg, err, "--max-body", "64MM"),
		     err);
	expect_error("--max-body -1", "--max-body", NULL, PARSE(&cfg, err, "--max-body", "-1"),
		     err);
	expect_error("--max-body empty", "--max-body", NULL, PARSE(&cfg, err, "--max-body="), err);
	expect_error("--max-body too small", "--max-body", "1024",
		     PARSE(&cfg, err, "--max-body", "1000"), err);
	expect_error("--max-body too big", "--max-body", NULL, PARSE(&cfg, err, "--max-body", "5G"),
		     err);
	expect_error("--max-body overflow", "--max-body", NULL,
		     PARSE(&cfg, err, "--max-body", "99999999999999999999"), err);
	expect_error("--max-body shift overflow", "--max-body", NULL,
		     PARSE(&cfg, err, "--max-body", "17179869184G"), err);
	expect_error("--queue-bytes 1T", "--queue-bytes", NULL,
		     PARSE(&cfg, err, "--queue-bytes", "1T"), err);
	expect_error("--threads 0", "--threads", "0", PARSE(&cfg, err, "--threads", "0"), err);
	expect_error("--threads 257", "--threads", "257", PARSE(&cfg, err, "--threads", "257"), err);
	expect_error("--threads 4K", "--threads", NULL, PARSE(&cfg, err, "--threads", "4K"), err);
	expect_error("--threads -2", "--threads", NULL, PARSE(&cfg, err, "--threads", "-2"), err);
	expect_error("--threads 1.5", "--threads", NULL, PARSE(&cfg, err, "--threads", "1.5"), err);
	expect_error("--threads huge", "--threads", NULL,
		     PARSE(&cfg, err, "--threads", "4294967298"), err);
	expect_error("--sync maybe", "--sync", "maybe", PARSE(&cfg, err, "--sync", "maybe"), err);
	expect_error("--sync=", "--sync", NULL, PARSE(&cfg, err, "--sync="), err);
	expect_error("unknown option", "--frobnicate", NULL, PARSE(&cfg, err, "--frobnicate"), err);
	expect_error("unknown option with value", "--frob", NULL,
		     PARSE(&cfg, err, "--frob=1"), err);
	expect_error("prefix of an option", "--list", NULL, PARSE(&cfg, err, "--list", "x"), err);
	expect_error("single dash", "-x", NULL, PARSE(&cfg, err, "-x"), err);
	expect_error("bare dashes", "--", NULL, PARSE(&cfg, err, "--"), err);
	expect_error("stray argument", "stray", NULL,
		     PARSE(&cfg, err, "--threads", "2", "stray"), err);
	expect_error("missing value", "--data", NULL, PARSE(&cfg, err, "--data"), err);
	expect_error("missing value at the end", "--threads", NULL,
		     PARSE(&cfg, err, "--verbose", "--threads"), err);
	expect_error("flag with a value", "--verbose", NULL, PARSE(&cfg, err, "--verbose=no"), err);
	expect_error("unknown command", "frobnicate", NULL, PARSE(&cfg, err, "frobnicate"), err);
}

static void test_commands(void)
{
	struct tm_config cfg;
	char err[256];
	CHECK_INT_EQ(PARSE(&cfg, err, "check", "--data", "/srv/tm"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_CHECK);
	CHECK_STR_EQ(cfg.data_dir, "/srv/tm");
	CHECK_INT_EQ(PARSE(&cfg, err, "stats", "--data=/srv/tm2"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_STATS);
	CHECK_STR_EQ(cfg.data_dir, "/srv/tm2");
	CHECK_INT_EQ(PARSE(&cfg, err, "check"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_CHECK);
	CHECK_STR_EQ(cfg.data_dir, "./tracemap-data");
	/* a subcommand only counts in first place */
	expect_error("subcommand after an option", "check", NULL,
		     PARSE(&cfg, err, "--data", "d", "check"), err);
	CHECK_INT_EQ(PARSE(&cfg, err, "--help"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_HELP);
	CHECK_INT_EQ(PARSE(&cfg, err, "-h"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_HELP);
	CHECK_INT_EQ(PARSE(&cfg, err, "--version"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_VERSION);
	/* --help wins over a bad option after it, and over a subcommand */
	CHECK_INT_EQ(PARSE(&cfg, err, "stats", "--help", "--bogus"), 0);
	CHECK_INT_EQ(cfg.command, TM_CMD_HELP);
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	tm_config_usage(f);
	fclose(f);
	static const char *const names[] = { "--listen", "--data", "--sync", "--max-body",
					     "--queue-bytes", "--threads", "--verbose", "--help",
					     "--version", "check", "stats" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strstr(text, names[i])) {
			fprintf(stderr, "  usage text lacks %s\n", names[i]);
			CHECK(!"usage names every option");
		}
	free(text);
}

int main(void)
{
	test_defaults();
	test_every_option();
	test_listen();
	test_sizes();
	test_errors();
	test_commands();
	test_usage();
	return TEST_DONE();
}
