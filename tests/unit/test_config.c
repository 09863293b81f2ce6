/* test_config.c - command-line parsing: defaults, both option forms, sizes,
 * errors that name the option, subcommands; the config file, TRACEMAP_*
 * variables and their precedence; --print-config; the sample file.
 * argv[1]: docs/tracemap.conf.sample, which must equal what the table makes. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "span.h"
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
	tm_config_free(&cfg);   /* every listen address is a text cfg owns */

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
	tm_config_free(&cfg);

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
	tm_config_free(&cfg);   /* every listen address is a text cfg owns */
	/* a list loses the blanks around its items, tabs too, as a config
	 * line does at its ends (fuzz_config: printed, it read back shorter) */
	CHECK_INT_EQ(PARSE(&cfg, err, "--listen", " 127.0.0.1:1 ,\t127.0.0.1:2\t\r\t, ,"), 0);
	CHECK_INT_EQ(cfg.n_listen, 2);
	CHECK_STR_EQ(cfg.listen[0], "127.0.0.1:1");
	CHECK_STR_EQ(cfg.listen[1], "127.0.0.1:2");
	tm_config_free(&cfg);   /* the list's copy is the config's to free */

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
	tm_config_free(&cfg);
	int rc = tm_config_parse(TM_MAX_LISTEN + 2, argv, &cfg, err, sizeof(err));
	CHECK_INT_EQ(rc, -EINVAL);
	CHECK(strstr(err, "--listen") != NULL);
	tm_config_free(&cfg);
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
	expect_error("--max-body too small", "--max-body 1000: must be a size from 1K to 4G", NULL,
		     PARSE(&cfg, err, "--max-body", "1000"), err);
	expect_error("--max-body too big", "--max-body", NULL, PARSE(&cfg, err, "--max-body", "5G"),
		     err);
	expect_error("--max-body overflow", "--max-body", NULL,
		     PARSE(&cfg, err, "--max-body", "99999999999999999999"), err);
	expect_error("--max-body shift overflow", "--max-body", NULL,
		     PARSE(&cfg, err, "--max-body", "17179869184G"), err);
	expect_error("--queue-bytes 1T", "--queue-bytes", NULL,
		     PARSE(&cfg, err, "--queue-bytes", "1T"), err);
	expect_error("--threads 0", "--threads 0: must be a whole number from 1 to 256", NULL,
		     PARSE(&cfg, err, "--threads", "0"), err);
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

/*---- sources: file, environment, flags ----*/

static char conf_path[64];

static void write_conf(const char *text)
{
	if (!conf_path[0]) {
		snprintf(conf_path, sizeof(conf_path), "/tmp/tm-config-XXXXXX");
		int fd = mkstemp(conf_path);
		CHECK(fd >= 0);
		close(fd);
	}
	FILE *f = fopen(conf_path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* tm_config_load with argv after the program name (NULL-terminated) and env */
static int load(struct tm_config *cfg, char *err, size_t errlen, char *const *env, ...)
{
	static char prog[] = "tracemap";
	char *argv[MAX_ARGS + 1] = { prog };
	int argc = 1;
	va_list ap;
	va_start(ap, env);
	for (char *a; (a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return tm_config_load(argc, argv, env, cfg, err, errlen);
}

#define LOAD(cfg, err, env, ...) load(cfg, err, sizeof(err), env, __VA_ARGS__, (char *)NULL)

/* the source recorded for option `name`, read back through --print-config */
static const char *printed(const struct tm_config *cfg, const char *name, char *value,
			   size_t vlen)
{
	static char source[16];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	tm_config_print(cfg, f);
	fclose(f);
	source[0] = value[0] = '\0';
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char n[64], src[16];
		int used = 0;
		if (sscanf(line, "%63s %15s %n", n, src, &used) >= 2 && !strcmp(n, name)) {
			snprintf(source, sizeof(source), "%s", src);
			snprintf(value, vlen, "%s", line + used);
		}
	}
	free(text);
	return source;
}

static void check_printed(const struct tm_config *cfg, const char *name, const char *source,
			  const char *value)
{
	char v[512];
	const char *s = printed(cfg, name, v, sizeof(v));
	if (strcmp(s, source) || strcmp(v, value))
		fprintf(stderr, "  --print-config %s: %s '%s', wanted %s '%s'\n", name, s, v, source,
			value);
	CHECK(!strcmp(s, source) && !strcmp(v, value));
}

static void test_precedence(void)
{
	struct tm_config cfg;
	char err[512];
	write_conf("# a comment\n\n  threads = 3\npair-wait=20s\r\ndata = /from/file\n"
		   "verbose = yes\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n"
		   "log-level = warn\n");
	char *env[] = { "TRACEMAP_THREADS=5", "TRACEMAP_PAIR_WAIT=30s", "PATH=/bin",
			"TRACEMAP_BIN=/not/an/option", NULL };
	CHECK_INT_EQ(LOAD(&cfg, err, env, "--config", conf_path, "--threads", "7"), 0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(cfg.threads, 7);                      /* flag over env over file */
	CHECK_INT_EQ(cfg.pair_wait_ns, 30000000000ull);    /* env over file */
	CHECK_STR_EQ(cfg.data_dir, "/from/file");          /* file over default */
	CHECK_INT_EQ(cfg.verbose, 1);
	CHECK_INT_EQ(cfg.log_level, 2);
	CHECK_INT_EQ(cfg.n_listen, 2);                     /* repeated in one source: both */
	CHECK_STR_EQ(cfg.listen[1], "127.0.0.1:2");
	CHECK_INT_EQ(cfg.queue_bytes, 256ull << 20);       /* default */
	check_printed(&cfg, "threads", "flag", "7");
	check_printed(&cfg, "pair-wait", "env", "30s");
	check_printed(&cfg, "data", "file", "/from/file");
	check_printed(&cfg, "listen", "file", "127.0.0.1:1,127.0.0.1:2");
	check_printed(&cfg, "queue-bytes", "default", "256M");
	check_printed(&cfg, "config", "flag", conf_path);
	check_printed(&cfg, "log-level", "file", "warn");
	tm_config_free(&cfg);

	/* a higher source replaces the whole list of addresses; commas list several */
	char *env_listen[] = { "TRACEMAP_LISTEN=127.0.0.1:3, 127.0.0.1:4", NULL };
	CHECK_INT_EQ(LOAD(&cfg, err, env_listen, "--config", conf_path), 0);
	CHECK_INT_EQ(cfg.n_listen, 2);
	CHECK_STR_EQ(cfg.listen[0], "127.0.0.1:3");
	CHECK_STR_EQ(cfg.listen[1], "127.0.0.1:4");
	tm_config_free(&cfg);
	CHECK_INT_EQ(LOAD(&cfg, err, env_listen, "--config", conf_path, "--listen", "0.0.0.0:9"),
		     0);
	CHECK_INT_EQ(cfg.n_listen, 1);
	CHECK_STR_EQ(cfg.listen[0], "0.0.0.0:9");
	tm_config_free(&cfg);

	/* TRACEMAP_CONFIG names the file when no flag does; a flag turns a
	 * file's true back only through the environment (flags cannot say false) */
	char *env_conf[] = { "TRACEMAP_CONFIG=", "TRACEMAP_VERBOSE=false", NULL };
	char env_conf_var[96];
	snprintf(env_conf_var, sizeof(env_conf_var), "TRACEMAP_CONFIG=%s", conf_path);
	env_conf[0] = env_conf_var;
	CHECK_INT_EQ(LOAD(&cfg, err, env_conf, (char *)NULL), 0);
	CHECK_INT_EQ(cfg.threads, 3);
	CHECK_INT_EQ(cfg.verbose, 0);
	check_printed(&cfg, "verbose", "env", "false");
	check_printed(&cfg, "threads", "file", "3");
	check_printed(&cfg, "config", "env", conf_path);
	tm_config_free(&cfg);

	/* no file, no environment: every option is a default */
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, (char *)NULL), 0);
	check_printed(&cfg, "pair-wait", "default", "10s");
	check_printed(&cfg, "listen", "default", "127.0.0.1:4318");
	check_printed(&cfg, "sync", "default", "full");
	check_printed(&cfg, "xray-udp", "default", "");
	tm_config_free(&cfg);
}

static void expect_load_error(const char *conf, char *const *env, const char *want)
{
	struct tm_config cfg;
	char err[512];
	if (conf)
		write_conf(conf);
	int rc = conf ? LOAD(&cfg, err, env, "--config", conf_path) : LOAD(&cfg, err, env, "-h");
	if (!conf)   /* -h stops before the sources: load again for real */
		rc = LOAD(&cfg, err, env, "--data", "d");
	int ok = rc == -EINVAL && strstr(err, want);
	if (!ok)
		fprintf(stderr, "  rc %d, error '%s', wanted '%s'\n", rc, err, want);
	CHECK(ok);
	tm_config_free(&cfg);
}

static void test_source_errors(void)
{
	char want[256];
	snprintf(want, sizeof(want), "%s:3: threads = 0: must be a whole number from 1 to 256",
		 conf_path);
	expect_load_error("# x\n\nthreads = 0\n", NULL, want);
	snprintf(want, sizeof(want), "%s:2: unknown option \"thread\"", conf_path);
	expect_load_error("data = d\nthread = 2\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: expected \"name = value\", got \"verbose\"", conf_path);
	expect_load_error("verbose\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: verbose = maybe: must be true or false", conf_path);
	expect_load_error("verbose = maybe\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: config = /x: a config file cannot name another",
		 conf_path);
	expect_load_error("config = /x\n", NULL, want);
	snprintf(want, sizeof(want), "%s:2: pair-wait = 2h: must be a duration from 100ms to 1h",
		 conf_path);
	expect_load_error("\npair-wait = 2h\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: log-level = loud: must be one of debug|info|warn|error",
		 conf_path);
	expect_load_error("log-level = loud", NULL, want);   /* no final newline */
	/* an empty listen value is not "no address": fuzz_config found it taken */
	snprintf(want, sizeof(want), "%s:2: listen = : names no address (ADDR:PORT)", conf_path);
	expect_load_error("listen = 127.0.0.1:0\nlisten =\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: listen = , ,: names no address (ADDR:PORT)",
		 conf_path);
	expect_load_error("listen = , ,\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: listen = ,\t,: names no address (ADDR:PORT)",
		 conf_path);
	expect_load_error("listen = ,\t,\n", NULL, want);
	snprintf(want, sizeof(want), "%s:1: listen = ,\r,: names no address (ADDR:PORT)",
		 conf_path);
	expect_load_error("listen = ,\r,\n", NULL, want);
	char *env_listen[] = { "TRACEMAP_LISTEN=", NULL };
	expect_load_error(NULL, env_listen, "TRACEMAP_LISTEN=: names no address (ADDR:PORT)");
	char *env_threads[] = { "TRACEMAP_THREADS=300", NULL };
	expect_load_error(NULL, env_threads, "TRACEMAP_THREADS=300: must be a whole number from "
			  "1 to 256");
	char *env_size[] = { "TRACEMAP_QUEUE_BYTES=10", NULL };
	expect_load_error(NULL, env_size, "TRACEMAP_QUEUE_BYTES=10: must be a size from 1M to "
			  "1024G");
	char *env_flag[] = { "TRACEMAP_NO_SERVICE_MAP=sometimes", NULL };
	expect_load_error(NULL, env_flag, "TRACEMAP_NO_SERVICE_MAP=sometimes: must be true or "
			  "false");
	char *env_sync[] = { "TRACEMAP_SYNC=never", NULL };
	expect_load_error(NULL, env_sync, "TRACEMAP_SYNC=never: must be one of full|none");

	struct tm_config cfg;
	char err[512];
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, "--config", "/no/such/tracemap.conf"), -EINVAL);
	CHECK(strstr(err, "--config /no/such/tracemap.conf: No such file") != NULL);
	tm_config_free(&cfg);
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, "--tls-cert", "c.pem"), -EINVAL);
	CHECK(strstr(err, "--tls-key is missing") != NULL);
	tm_config_free(&cfg);
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, "--log-level", "debug", "--tls-key=k", "--tls-cert=c"),
		     0);
	CHECK_INT_EQ(cfg.log_level, 0);
	CHECK_STR_EQ(cfg.tls_cert, "c");
	tm_config_free(&cfg);
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, "--log-level", "verbose"), -EINVAL);
	CHECK(strstr(err, "--log-level verbose: must be one of debug|info|warn|error") != NULL);
	tm_config_free(&cfg);
}

/* the checked-in sample is what the table makes, and it loads as it is and
 * with every line uncommented that has no placeholder */
static void test_sample(const char *path)
{
	char *made = NULL;
	size_t made_len = 0;
	FILE *f = open_memstream(&made, &made_len);
	tm_config_write_sample(f);
	fclose(f);
	FILE *in = fopen(path, "r");
	CHECK(in != NULL);
	char *file = calloc(1, made_len + 2);
	size_t n = in && file ? fread(file, 1, made_len + 1, in) : 0;
	if (in)
		fclose(in);
	if (n != made_len || memcmp(file, made, made_len)) {
		fprintf(stderr, "  %s differs from the option table: regenerate it with\n"
			"  ./build/tracemap --sample-config > docs/tracemap.conf.sample\n", path);
		CHECK(!"the sample file matches the table");
	}
	/* uncomment the lines without a placeholder value: still a valid file */
	struct tm_buf conf;
	tm_buf_init(&conf);
	for (char *save = NULL, *line = strtok_r(made, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *eq = strstr(line, " = ");
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' || !eq)
			continue;
		if (eq[3] >= 'A' && eq[3] <= 'Z')
			continue;
		tm_buf_add_str(&conf, line + 1);
		tm_buf_add_str(&conf, "\n");
	}
	tm_buf_add(&conf, "", 1);
	write_conf((const char *)conf.data);
	struct tm_config cfg;
	char err[512];
	CHECK_INT_EQ(LOAD(&cfg, err, NULL, "--config", conf_path), 0);
	CHECK_STR_EQ(err, "");
	CHECK_INT_EQ(cfg.source[0], TM_SRC_FILE);
	tm_config_free(&cfg);
	tm_buf_free(&conf);
	free(file);
	free(made);
}

int main(int argc, char **argv)
{
	test_defaults();
	test_every_option();
	test_listen();
	test_sizes();
	test_errors();
	test_commands();
	test_usage();
	test_precedence();
	test_source_errors();
	if (argc > 1)
		test_sample(argv[1]);
	else
		CHECK(!"argv[1] names docs/tracemap.conf.sample");
	if (conf_path[0])
		unlink(conf_path);
	return TEST_DONE();
}
