/* mapbench.c - the service-map query in-process: tm_smap_query() over a
 * store opened read-only, timed per window, without HTTP.  For profiling
 * (perf record -g bench/mapbench ...) and for telling the query's own cost
 * from the server's.
 *
 * usage: mapbench --data DIR [--end US] [--window 1h]... [--requests N]
 *                 [--operation] [--slide] [--hist] [--cache]
 *
 * Each window is queried N times (default 50), each a fresh reader and a
 * fresh arena as in the server.  --slide moves the window's end one minute
 * back before every query, so that no two queries cover the same minutes.
 * The query wants percentiles only, as /api/servicemap does; --hist asks
 * for every node's and edge's histogram too, as the HTML pages do.  --cache
 * gives the queries a cache of merged rollups, as the server does (one for
 * all windows; its hits and misses are printed at the end).  On a store
 * nothing writes to, every query after the first of a window is a whole
 * answer kept: --slide shows the cost of merging kept runs instead.
 * Prints, per window, p50/p99/max in ms (wall clock, and the thread's CPU
 * time, which other load on the machine disturbs less) and the size of the
 * answer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "servicemap.h"
#include "store.h"

#define MAX_WINDOWS 8
#define NS_PER_US 1000ull
#define NS_PER_MIN (60ull * 1000000000ull)

struct options {
	const char *dir;
	uint64_t end_us;
	uint64_t window_us[MAX_WINDOWS];
	size_t n_windows;
	unsigned requests;
	int operation_level;
	int slide;
	int with_hist;
	int use_cache;
	struct tm_smap_cache *cache;
};

static uint64_t now_ns(int clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_window(const char *s, uint64_t *us)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || v == 0)
		return -EINVAL;
	uint64_t unit = !strcmp(end, "h") ? 3600000000ull : !strcmp(end, "m") ? 60000000ull
		      : !strcmp(end, "s") ? 1000000ull : 0;
	if (!unit)
		return -EINVAL;
	*us = v * unit;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int run_window(struct tm_store *st, const struct options *o, uint64_t window_us)
{
	uint64_t *lat = calloc(o->requests, sizeof(*lat));
	uint64_t *cpu = calloc(o->requests, sizeof(*cpu));
	if (!lat || !cpu) {
		free(lat);
		free(cpu);
		return -ENOMEM;
	}
	size_t nodes = 0, edges = 0;
	double arena_mb = 0;
	uint64_t calls = 0;
	int rc = 0;
	for (unsigned i = 0; i < o->requests && !rc; i++) {
		uint64_t end_ns = o->end_us * NS_PER_US - (o->slide ? i * NS_PER_MIN : 0);
		struct tm_smap_query q = { .start_ns = end_ns - window_us * NS_PER_US,
					   .end_ns = end_ns,
					   .operation_level = o->operation_level,
					   .hops = 1 };
		struct tm_smap_query_opts opts = { .percentiles_only = !o->with_hist,
						   .cache = o->cache };
		struct tm_arena arena;
		tm_arena_init(&arena, 0);
		uint64_t t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		struct tm_store_reader *rd;
		rc = tm_store_reader_begin(st, &rd);
		struct tm_smap_map m;
		if (!rc) {
			rc = tm_smap_query_with(rd, &q, &opts, &arena, &m);
			tm_store_reader_end(rd);
		}
		lat[i] = now_ns(CLOCK_MONOTONIC) - t0;
		cpu[i] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (!rc) {
			nodes = m.n_nodes;
			edges = m.n_edges;
			calls = 0;
			for (size_t k = 0; k < m.n_edges; k++)
				calls += m.edges[k].stat.calls;
		}
		arena_mb = arena.used_bytes / 1e6;
		tm_arena_clear(&arena);
	}
	if (rc) {
		fprintf(stderr, "mapbench: %s\n", tm_store_strerror(rc));
		free(lat);
		free(cpu);
		return rc;
	}
	qsort(lat, o->requests, sizeof(*lat), u64_cmp);
	qsort(cpu, o->requests, sizeof(*cpu), u64_cmp);
	unsigned long long w = (unsigned long long)(window_us / 60000000ull);
	printf("map_%llum_queries %u\n", w, o->requests);
	printf("map_%llum_p50_ms %.3f\n", w, lat[o->requests / 2] / 1e6);
	printf("map_%llum_p99_ms %.3f\n", w, lat[(o->requests * 99 - 1) / 100] / 1e6);
	printf("map_%llum_max_ms %.3f\n", w, lat[o->requests - 1] / 1e6);
	printf("map_%llum_cpu_p50_ms %.3f\n", w, cpu[o->requests / 2] / 1e6);
	printf("map_%llum_cpu_p99_ms %.3f\n", w, cpu[(o->requests * 99 - 1) / 100] / 1e6);
	printf("map_%llum_arena_mb %.1f\n", w, arena_mb);
	printf("map_%llum_nodes %zu\nmap_%llum_edges %zu\nmap_%llum_calls %" PRIu64 "\n", w,
	       nodes, w, edges, w, calls);
	free(lat);
	free(cpu);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mapbench --data DIR [--end US] [--window 1h]... [--requests N]\n"
			"                [--operation] [--slide] [--hist] [--cache]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },  { "end", required_argument, NULL, 'e' },
		{ "window", required_argument, NULL, 'w' }, { "requests", required_argument, NULL, 'n' },
		{ "operation", no_argument, NULL, 'o' },    { "slide", no_argument, NULL, 's' },
		{ "hist", no_argument, NULL, 'h' },         { "cache", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'e': o->end_us = strtoull(optarg, NULL, 10); break;
		case 'w':
			if (o->n_windows == MAX_WINDOWS ||
			    parse_window(optarg, &o->window_us[o->n_windows++]) < 0)
				return -EINVAL;
			break;
		case 'n': o->requests = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': o->operation_level = 1; break;
		case 's': o->slide = 1; break;
		case 'h': o->with_hist = 1; break;
		case 'c': o->use_cache = 1; break;
		default: return -EINVAL;
		}
	}
	if (!o->dir || optind != argc || !o->requests)
		return -EINVAL;
	if (!o->n_windows) {
		o->window_us[o->n_windows++] = 3600000000ull;
		o->window_us[o->n_windows++] = 86400000000ull;
	}
	if (!o->end_us)
		o->end_us = now_ns(CLOCK_REALTIME) / NS_PER_US;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .requests = 50 };
	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	struct tm_store_options so = { .dir = o.dir, .read_only = 1 };
	struct tm_store *st;
	int rc = tm_store_open(&so, &st);
	if (rc) {
		fprintf(stderr, "mapbench: %s: %s\n", o.dir, tm_store_strerror(rc));
		return 1;
	}
	if (o.use_cache && tm_smap_cache_new(0, &o.cache)) {
		tm_store_close(st);
		return 1;
	}
	for (size_t i = 0; i < o.n_windows && !rc; i++)
		rc = run_window(st, &o, o.window_us[i]);
	if (o.cache) {
		struct tm_smap_cache_stats cs;
		tm_smap_cache_get_stats(o.cache, &cs);
		printf("cache_answer_hits %" PRIu64 "\ncache_run_hits %" PRIu64
		       "\ncache_run_misses %" PRIu64 "\ncache_mb %.1f\n",
		       cs.answer_hits, cs.hits, cs.misses, cs.bytes / 1e6);
		tm_smap_cache_free(o.cache);
	}
	tm_store_close(st);
	return rc ? 1 : 0;
}
