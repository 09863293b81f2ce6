/* stages.c - the ceiling of each ingest stage alone, on the same batches.
 *
 * Reads request bodies written by `loadgen --dump-batches DIR N` and times:
 *  1. decode: tm_ingest_otlp_proto() into an arena, as an HTTP thread does,
 *     on one core, over repeated passes;
 *  2. store: tm_store_write() of the pre-decoded batches into a fresh store
 *     in a temporary directory, `--group` batches per call (one LMDB
 *     transaction and commit each, like the server's group commit).  Each
 *     pass XORs the trace IDs with a new mask so that passes store new
 *     traces instead of growing the same ones.
 * Prints one "name value" line per result on stdout. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "batch.h"
#include "ingest_otlp.h"
#include "store.h"

struct options {
	const char *batches_dir;
	enum tm_sync_mode sync;
	double seconds;             /* per stage */
	uint64_t store_spans;       /* 0 = time-bound only */
	size_t group;
	const char *tmpdir;
	uint64_t map_size;          /* 0 = the store's default */
	int is_decode;
	int is_store;
};

struct body {
	unsigned char *data;
	size_t len;
};

struct decoded {
	struct tm_arena arena;
	struct tm_batch batch;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p) {
		fprintf(stderr, "stages: out of memory\n");
		exit(2);
	}
	return p;
}

/*---- input ----*/

static int read_file(const char *path, struct body *out)
{
	FILE *f = fopen(path, "rb");
	long size;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -EIO;
	}
	out->len = (size_t)size;
	out->data = xmalloc(out->len);
	if (fread(out->data, 1, out->len, f) != out->len) {
		fclose(f);
		free(out->data);
		return -EIO;
	}
	fclose(f);
	return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int filter_pb(const struct dirent *d)
{
	return has_suffix(d->d_name, ".pb");
}

/* loads DIR/ *.pb in name order; returns the count, or -errno. */
static int load_bodies(const char *dir, struct body **out)
{
	struct dirent **names;
	char path[4096];
	int n = scandir(dir, &names, filter_pb, alphasort);
	int rc = 0;

	if (n < 0)
		return -errno;
	*out = xmalloc((size_t)n * sizeof(**out));
	for (int i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) >= (int)sizeof(path))
			rc = rc ? rc : -ENAMETOOLONG;
		if (rc == 0 && (rc = read_file(path, &(*out)[i])) < 0)
			fprintf(stderr, "stages: %s: %s\n", path, strerror(-rc));
		free(names[i]);
	}
	free(names);
	return rc < 0 ? rc : n;
}

/*---- stage 1: decode ----*/

/* decodes one body exactly as the HTTP handler does; returns spans or -1. */
static long decode_one(const struct body *b, struct decoded *d)
{
	struct tm_ingest_report rep;
	int rc;

	memset(&rep, 0, sizeof(rep));
	/* the server bounds the arena the same way (server/ingest_http.c) */
	tm_arena_init(&d->arena, 16 * b->len + (1u << 20));
	rc = tm_ingest_otlp_proto(b->data, b->len, &d->arena, &d->batch, &rep);
	if (rc < 0) {
		fprintf(stderr, "stages: decode failed: %s (%s)\n", strerror(-rc), rep.message);
		return -1;
	}
	if (rep.rejected)
		fprintf(stderr, "stages: %zu spans rejected: %s\n", rep.rejected, rep.message);
	return (long)d->batch.n_spans;
}

static int stage_decode(const struct options *opt, const struct body *bodies, int n)
{
	uint64_t spans = 0, bytes = 0, passes = 0;
	uint64_t t0, deadline, elapsed;
	struct decoded d;

	for (int i = 0; i < n && i < 8; i++) {   /* warm up caches and malloc */
		if (decode_one(&bodies[i], &d) < 0)
			return -1;
		tm_arena_clear(&d.arena);
	}
	t0 = mono_ns();
	deadline = t0 + (uint64_t)(opt->seconds * 1e9);
	while (mono_ns() < deadline && !stop_requested) {
		for (int i = 0; i < n; i++) {
			long k = decode_one(&bodies[i], &d);

			tm_arena_clear(&d.arena);
			if (k < 0)
				return -1;
			spans += (uint64_t)k;
			bytes += bodies[i].len;
		}
		passes++;
	}
	elapsed = mono_ns() - t0;
	printf("decode_passes %" PRIu64 "\n", passes);
	printf("decode_spans %" PRIu64 "\n", spans);
	printf("decode_mb_per_s %.1f\n", (double)bytes / 1e6 / ((double)elapsed / 1e9));
	printf("decode_spans_per_s %.0f\n", (double)spans / ((double)elapsed / 1e9));
	return 0;
}

/*---- stage 2: store ----*/

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (unlink(path) < 0)
			fprintf(stderr, "stages: cannot remove %s: %s\n", path, strerror(errno));
	}
	if (d)
		closedir(d);
	if (rmdir(dir) < 0)
		fprintf(stderr, "stages: cannot remove %s: %s\n", dir, strerror(errno));
}

static uint64_t dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[4096];
	uint64_t total = 0;

	while (d && (e = readdir(d))) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (e->d_name[0] != '.' && stat(path, &st) == 0)
			total += (uint64_t)st.st_blocks * 512;   /* the map is sparse */
	}
	if (d)
		closedir(d);
	return total;
}

/* XORs every span's trace ID with delta; a new random delta per pass gives
 * every pass its own trace IDs (the record holds no trace ID, so the stored
 * chunks stay consistent). */
static void xor_trace_ids(struct decoded *d, int n, const uint8_t delta[TM_TRACE_ID_LEN])
{
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < d[i].batch.n_spans; j++)
			for (int k = 0; k < TM_TRACE_ID_LEN; k++)
				d[i].batch.spans[j].trace_id[k] ^= delta[k];
}

static void next_pass_delta(uint64_t pass, uint8_t delta[TM_TRACE_ID_LEN])
{
	uint64_t x = pass * 0x9E3779B97F4A7C15ull;

	for (int k = 0; k < TM_TRACE_ID_LEN; k++) {
		x ^= x >> 29;
		x *= 0xBF58476D1CE4E5B9ull;
		delta[k] = (uint8_t)(x >> 56);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct store_run {
	uint64_t spans, commits, elapsed_ns;
	uint64_t *commit_ns;
	size_t cap_commits;
};

static int write_pass(const struct options *opt, struct tm_store *st, struct tm_batch **ptrs,
		      int n, uint64_t deadline, struct store_run *sr)
{
	for (int i = 0; i < n; i += (int)opt->group) {
		size_t k = (size_t)(n - i) < opt->group ? (size_t)(n - i) : opt->group;
		uint64_t t0 = mono_ns();
		int rc = tm_store_write(st, ptrs + i, k);

		if (rc < 0) {
			fprintf(stderr, "stages: tm_store_write: %s\n", tm_store_strerror(rc));
			return rc;
		}
		if (sr->commits == sr->cap_commits) {
			sr->cap_commits = sr->cap_commits ? sr->cap_commits * 2 : 4096;
			sr->commit_ns = realloc(sr->commit_ns, sr->cap_commits * sizeof(uint64_t));
			if (!sr->commit_ns)
				return -ENOMEM;
		}
		sr->commit_ns[sr->commits++] = mono_ns() - t0;
		for (size_t j = 0; j < k; j++)
			sr->spans += ptrs[i + (int)j]->n_spans;
		if (mono_ns() >= deadline || stop_requested ||
		    (opt->store_spans && sr->spans >= opt->store_spans))
			return 1;
	}
	return 0;
}

static int write_passes(const struct options *opt, struct tm_store *st, struct decoded *d,
			int n, struct store_run *sr)
{
	struct tm_batch **ptrs = xmalloc((size_t)n * sizeof(*ptrs));
	uint64_t t0 = mono_ns();
	uint64_t deadline = opt->store_spans ? UINT64_MAX : t0 + (uint64_t)(opt->seconds * 1e9);
	int rc = 0;

	for (int i = 0; i < n; i++)
		ptrs[i] = &d[i].batch;
	for (uint64_t pass = 0; rc == 0; pass++) {
		uint8_t delta[TM_TRACE_ID_LEN];

		if (pass > 0) {
			next_pass_delta(pass, delta);
			xor_trace_ids(d, n, delta);
		}
		rc = write_pass(opt, st, ptrs, n, deadline, sr);
	}
	sr->elapsed_ns = mono_ns() - t0;
	free(ptrs);
	return rc < 0 ? rc : 0;
}

static void print_store(const struct options *opt, struct store_run *sr, uint64_t disk_bytes)
{
	double s = (double)sr->elapsed_ns / 1e9;

	qsort(sr->commit_ns, sr->commits, sizeof(uint64_t), cmp_u64);
	printf("store_sync %s\n", opt->sync == TM_SYNC_FULL ? "full" : "none");
	printf("store_group %zu\n", opt->group);
	printf("store_commits %" PRIu64 "\n", sr->commits);
	printf("store_spans %" PRIu64 "\n", sr->spans);
	if (sr->commits) {
		printf("store_commit_p50_ms %.2f\n", sr->commit_ns[sr->commits / 2] / 1e6);
		printf("store_commit_p99_ms %.2f\n", sr->commit_ns[sr->commits * 99 / 100] / 1e6);
		printf("store_commit_max_ms %.2f\n", sr->commit_ns[sr->commits - 1] / 1e6);
	}
	printf("store_disk_bytes_per_span %.0f\n", sr->spans ? (double)disk_bytes / sr->spans : 0);
	printf("store_spans_per_s %.0f\n", s > 0 ? (double)sr->spans / s : 0);
}

static int stage_store(const struct options *opt, const struct body *bodies, int n)
{
	struct decoded *d = xmalloc((size_t)n * sizeof(*d));
	struct store_run sr = { 0 };
	char dir[4096];
	struct tm_store *st = NULL;
	struct tm_store_options so = { .dir = dir, .sync = opt->sync, .map_size = opt->map_size };
	int rc = 0;

	for (int i = 0; i < n; i++)
		if (decode_one(&bodies[i], &d[i]) < 0)
			return -1;   /* exits right after: arenas die with the process */
	snprintf(dir, sizeof(dir), "%s/tracemap-stages-XXXXXX", opt->tmpdir);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "stages: mkdtemp %s: %s\n", dir, strerror(errno));
		return -1;
	}
	rc = tm_store_open(&so, &st);
	if (rc < 0)
		fprintf(stderr, "stages: tm_store_open %s: %s\n", dir, tm_store_strerror(rc));
	else
		rc = write_passes(opt, st, d, n, &sr);
	tm_store_close(st);
	if (rc == 0)
		print_store(opt, &sr, dir_bytes(dir));
	remove_tree(dir);
	for (int i = 0; i < n; i++)
		tm_arena_clear(&d[i].arena);
	free(d);
	free(sr.commit_ns);
	return rc < 0 ? -1 : 0;
}

/*---- main ----*/

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stages --batches DIR [options]\n"
		"  --batches DIR        *.pb request bodies (loadgen --dump-batches DIR N)\n"
		"  --sync full|none     store sync mode (default full)\n"
		"  --seconds S          time per stage (default 5)\n"
		"  --store-spans N      store stage: write N spans instead of timing\n"
		"  --group N            batches per tm_store_write call (default 8)\n"
		"  --tmpdir DIR         where the temporary store goes (default $TMPDIR or /tmp);\n"
		"                       use the file system the server's data lives on\n"
		"  --map-size-mb N      LMDB map size of the temporary store (default: the store's)\n"
		"  --only decode|store  run one stage\n");
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "batches", required_argument, NULL, 'b' },
		{ "sync", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "store-spans", required_argument, NULL, 'n' },
		{ "group", required_argument, NULL, 'g' },
		{ "tmpdir", required_argument, NULL, 'd' },
		{ "only", required_argument, NULL, 'o' },
		{ "map-size-mb", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env_tmp = getenv("TMPDIR");
	int c;

	memset(opt, 0, sizeof(*opt));
	opt->seconds = 5;
	opt->group = 8;
	opt->tmpdir = env_tmp && *env_tmp ? env_tmp : "/tmp";
	opt->is_decode = opt->is_store = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': opt->batches_dir = optarg; break;
		case 't': opt->seconds = strtod(optarg, NULL); break;
		case 'n': opt->store_spans = strtoull(optarg, NULL, 10); break;
		case 'g': opt->group = strtoul(optarg, NULL, 10); break;
		case 'd': opt->tmpdir = optarg; break;
		case 'm': opt->map_size = strtoull(optarg, NULL, 10) << 20; break;
		case 's':
			if (strcmp(optarg, "full") && strcmp(optarg, "none"))
				return -EINVAL;
			opt->sync = strcmp(optarg, "none") == 0 ? TM_SYNC_NONE : TM_SYNC_FULL;
			break;
		case 'o':
			opt->is_decode = strcmp(optarg, "decode") == 0;
			opt->is_store = strcmp(optarg, "store") == 0;
			if (!opt->is_decode && !opt->is_store)
				return -EINVAL;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (!opt->batches_dir || optind < argc || opt->seconds <= 0 || opt->group < 1)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct body *bodies = NULL;
	uint64_t spans = 0, bytes = 0;
	int n, rc = 0;

	/* the same malloc tuning as the server (server/main.c), so that decode
	 * here costs what it costs there */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);

	if (parse_options(argc, argv, &opt) < 0) {
		usage(stderr);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	n = load_bodies(opt.batches_dir, &bodies);
	if (n <= 0) {
		fprintf(stderr, "stages: no *.pb batches in %s\n", opt.batches_dir);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		struct decoded d;
		long k = decode_one(&bodies[i], &d);

		tm_arena_clear(&d.arena);
		if (k < 0)
			return 1;
		spans += (uint64_t)k;
		bytes += bodies[i].len;
	}
	printf("batches %d\n", n);
	printf("spans_per_pass %" PRIu64 "\n", spans);
	printf("bytes_per_span %.0f\n", (double)bytes / (double)(spans ? spans : 1));
	if (opt.is_decode && stage_decode(&opt, bodies, n) < 0)
		rc = 1;
	if (!rc && opt.is_store && stage_store(&opt, bodies, n) < 0)
		rc = 1;
	for (int i = 0; i < n; i++)
		free(bodies[i].data);
	free(bodies);
	return rc;
}
