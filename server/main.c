/* main.c - tracemap: the collector, and the store tools beside it. */
#define LOG_MODULE "main"
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "access_log.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "analyzer.h"
#include "cli_query.h"
#include "demo.h"
#include "export.h"
#include "store.h"
#include "tracemap_version.h"
#include "query_params.h"
#include "retention.h"
#include "udp.h"
#include "ingest_jaeger.h"
#include "ingest_xray.h"
#include "writer.h"

/* how long SIGTERM waits for requests that await their commit */
#define DRAIN_TIMEOUT_MS 30000

/* splits --autocomplete-keys once; the strings live as long as the process */
static void set_value_keys(const struct tm_config *cfg)
{
	static char buf[4096];
	static const char *keys[TM_BATCH_MAX_VALUE_KEYS];
	size_t n = 0;
	snprintf(buf, sizeof(buf), "%s", cfg->autocomplete_keys ? cfg->autocomplete_keys : "");
	for (char *save = NULL, *k = strtok_r(buf, ",", &save); k && n < TM_BATCH_MAX_VALUE_KEYS;
	     k = strtok_r(NULL, ",", &save))
		if (*k)
			keys[n++] = k;
	tm_batch_set_value_keys(keys, n);
}

static int open_store(const struct tm_config *cfg, int read_only, struct tm_store **st)
{
	set_value_keys(cfg);
	struct tm_store_options opt = {
		.dir = cfg->data_dir,
		.sync = cfg->sync_none ? TM_SYNC_NONE : TM_SYNC_FULL,
		.read_only = read_only,
		.map_size = cfg->max_size_bytes,   /* 0: address space, the disk bounds it */
	};
	int rc = tm_store_open(&opt, st);
	if (rc && cfg->command == TM_CMD_SERVE)
		LOG(TM_LOG_ERROR, "cannot open store in %s: %s", cfg->data_dir,
		    tm_store_strerror(rc));
	else if (rc)   /* the tools answer on the terminal, not in the log */
		fprintf(stderr, "tracemap: cannot open store in %s: %s\n", cfg->data_dir,
			tm_store_strerror(rc));
	return rc;
}

static int run_check(const struct tm_config *cfg)
{
	struct tm_store *st;
	if (open_store(cfg, 1, &st))
		return 2;
	struct tm_store_check c;
	int rc = tm_store_check(st, &c);
	tm_store_close(st);
	if (rc) {
		fprintf(stderr, "tracemap: check failed: %s\n", tm_store_strerror(rc));
		return 2;
	}
	printf("traces %" PRIu64 "\nspans %" PRIu64 "\nchunks %" PRIu64 "\nduplicates %" PRIu64
	       "\nproblems %" PRIu64 "\n",
	       c.traces, c.spans, c.chunks, c.duplicate_spans, c.problems);
	if (c.problems)
		printf("first problem: %s\n", c.first_problem);
	return c.problems ? 1 : 0;
}

static int run_stats(const struct tm_config *cfg)
{
	struct tm_store *st;
	if (open_store(cfg, 1, &st))
		return 2;
	struct tm_store_stats s;
	int rc = tm_store_stats(st, &s);
	tm_store_close(st);
	if (rc) {
		fprintf(stderr, "tracemap: stats failed: %s\n", tm_store_strerror(rc));
		return 2;
	}
	printf("spans %" PRIu64 "\nchunks %" PRIu64 "\ncommits %" PRIu64
	       "\nsealed_buckets %" PRIu64 "\nopen_commits %" PRIu64 "\nused_bytes %" PRIu64 "\n",
	       s.spans, s.chunks, s.commits, s.sealed_buckets, s.open_commits, s.used_bytes);
	return 0;
}

static int run_query(const struct tm_config *cfg)
{
	struct tm_store *st;
	if (open_store(cfg, 1, &st))
		return 2;
	char err[256];
	int rc = tm_cli_query(st, cfg, stdout, err, sizeof(err));
	tm_store_close(st);
	if (rc) {
		fprintf(stderr, "tracemap: %s\n", err);
		return rc == -ENOENT ? 1 : 2;
	}
	return 0;
}

static int run_compact(const struct tm_config *cfg)
{
	uint64_t before = 0, after = 0;
	int rc = tm_store_compact(cfg->data_dir, &before, &after);
	if (rc == -EBUSY) {
		fprintf(stderr, "tracemap: compact: the store in %s is in use (stop the server "
			"first)\n", cfg->data_dir);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "tracemap: compact %s: %s\n", cfg->data_dir, tm_store_strerror(rc));
		return 2;
	}
	printf("before %" PRIu64 "\nafter %" PRIu64 "\n", before, after);
	return 0;
}

static int run_demo(const struct tm_config *cfg)
{
	struct tm_demo_options opt = {
		.target = cfg->demo_target,
		.rate = cfg->demo_rate,
		.duration_ns = cfg->demo_duration_ns,
		.seed = cfg->demo_seed,
	};
	return tm_demo_run(&opt, stdout, stderr);
}

static int run_export(const struct tm_config *cfg)
{
	char err[512];
	int64_t since = 0;
	if (tm_qp_duration("--since", cfg->query_since, &since, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracemap: %s\n", err);
		return 2;
	}
	if (since < 0) {
		fprintf(stderr, "tracemap: --since %s: must not be negative\n", cfg->query_since);
		return 2;
	}
	struct tm_store *st;
	if (open_store(cfg, 1, &st))
		return 2;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	struct tm_export_options opt = {
		.out_dir = cfg->export_out,
		.start_ns = now > (uint64_t)since ? now - (uint64_t)since : 0,
		.end_ns = now,
		.window_name = cfg->query_since,
	};
	int rc = tm_export_site(st, &opt, stdout, stderr, err, sizeof(err));
	tm_store_close(st);
	if (rc) {
		fprintf(stderr, "tracemap: export: %s\n", err);
		return 2;
	}
	return 0;
}

/* blocks SIGINT/SIGTERM/SIGHUP in every thread made from here on; main
 * sigwaits */
static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* arena blocks of a few MiB are freed after every request; left to the
 * default threshold, glibc mmaps and munmaps each one, and the page faults
 * of the fresh mapping cost a tenth of decoding.  Keep them in the heap. */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/*---- UDP listeners ----*/

/* one listener an option may ask for */
struct udp_listener {
	const char *option;        /* the flag, for messages */
	const char *name;          /* for the log */
	tm_ingest_decode_fn decode;
	const char *address;       /* from the options; NULL: off */
	struct tm_udp *udp;        /* once started */
};

#define N_UDP_LISTENERS 2

static void udp_listeners_init(const struct tm_config *cfg, struct udp_listener *l)
{
	l[0] = (struct udp_listener){ "--xray-udp", "xray", tm_ingest_xray_datagram,
				      cfg->xray_udp, NULL };
	l[1] = (struct udp_listener){ "--jaeger-udp", "jaeger", tm_ingest_jaeger_agent_datagram,
				      cfg->jaeger_udp, NULL };
}

/* checks every address without binding it; prints the first bad one */
static int udp_listeners_check(const struct udp_listener *l)
{
	char err[256];
	for (size_t i = 0; i < N_UDP_LISTENERS; i++)
		if (l[i].address && tm_udp_check_address(l[i].address, err, sizeof(err)) < 0) {
			LOG(TM_LOG_ERROR, "%s %s", l[i].option, err);
			return -EINVAL;
		}
	return 0;
}

static void udp_listeners_stop(struct udp_listener *l)
{
	for (size_t i = 0; i < N_UDP_LISTENERS; i++) {
		tm_udp_stop(l[i].udp);   /* hands its last batches to the writer */
		l[i].udp = NULL;
	}
}

/* starts the listeners asked for; on failure prints why and stops those
 * already started */
static int udp_listeners_start(struct udp_listener *l, struct tm_writer *writer)
{
	char err[256];
	for (size_t i = 0; i < N_UDP_LISTENERS; i++) {
		if (!l[i].address)
			continue;
		int rc = tm_udp_start(l[i].address, l[i].decode, writer, &l[i].udp, err,
				      sizeof(err));
		if (rc) {
			LOG(TM_LOG_ERROR, "%s: %s", l[i].option, err);
			udp_listeners_stop(l);
			return rc;
		}
	}
	return 0;
}

static void udp_listeners_log(const struct udp_listener *l)
{
	for (size_t i = 0; i < N_UDP_LISTENERS; i++)
		if (l[i].udp)
			LOG(TM_LOG_INFO, "%s udp listening on %s", l[i].name,
			    tm_udp_address(l[i].udp));
}

/*---- serving ----*/

/* what serve() starts, in order; stop_all() takes down whatever is there */
struct running {
	struct tm_store *store;
	struct tm_analyzer *analyzer;
	struct tm_writer *writer;
	struct tm_retention *retention;
	struct udp_listener udp[N_UDP_LISTENERS];
	struct tm_http *http;
	struct tm_access access;   /* tokens, TLS, access log: read before the rest */
};

/* every address is checked before any file is created */
static int check_addresses(const struct tm_config *cfg, const struct udp_listener *udp)
{
	char err[256];
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (tm_http_check_listen(cfg->listen[i], err, sizeof(err)) < 0) {
			LOG(TM_LOG_ERROR, "--listen %s", err);
			return -EINVAL;
		}
	}
	return udp_listeners_check(udp);
}

/* the limits of tm_http_options, and the UDP listeners /metrics counts */
static void set_limits(const struct tm_config *cfg, const struct running *r,
		       struct tm_http_options *hopt, struct tm_http_udp *udp)
{
	hopt->max_connections = cfg->max_connections;
	hopt->max_connections_per_ip = cfg->max_connections_per_ip;
	hopt->idle_timeout_s = (unsigned)(cfg->idle_timeout_ns / 1000000000ull);
	hopt->request_timeout_s = (unsigned)(cfg->request_timeout_ns / 1000000000ull);
	hopt->client_rate = cfg->client_rate;
	hopt->client_burst = cfg->client_burst;
	hopt->udp = udp;
	for (size_t i = 0; i < N_UDP_LISTENERS; i++)
		if (r->udp[i].udp)
			udp[hopt->n_udp++] = (struct tm_http_udp){
				r->udp[i].udp, r->udp[i].decode == tm_ingest_xray_datagram
						       ? TM_PROTO_XRAY_UDP
						       : TM_PROTO_JAEGER_UDP };
}

static int start_all(const struct tm_config *cfg, struct running *r)
{
	if (open_store(cfg, 0, &r->store))
		return -EIO;
	struct tm_smap_options sopt = { .wait_ns = cfg->pair_wait_ns };
	int rc = cfg->no_service_map ? 0 : tm_analyzer_start(r->store, &sopt, &r->analyzer);
	if (rc) {
		LOG(TM_LOG_ERROR, "cannot start the service map: %s", tm_store_strerror(rc));
		return rc;
	}
	rc = tm_writer_start(r->store, cfg->queue_bytes, &r->writer);
	if (rc) {
		LOG(TM_LOG_ERROR, "cannot start the writer: %s", strerror(-rc));
		return rc;
	}
	struct tm_retention_options ropt = {
		cfg->data_dir, cfg->retention_ns, cfg->max_size_bytes, cfg->min_free_disk_bytes,
		!cfg->no_size_eviction, cfg->clock_offset_ns, cfg->clock_offset_file,
	};
	rc = tm_retention_start(r->store, r->writer, &ropt, &r->retention);
	if (rc) {
		LOG(TM_LOG_ERROR, "cannot start retention: %s", strerror(-rc));
		return rc;
	}
	rc = udp_listeners_start(r->udp, r->writer);
	if (rc)
		return rc;
	struct tm_http_options hopt = {
		.listen = cfg->listen, .n_listen = cfg->n_listen,
		.max_body_bytes = cfg->max_body_bytes, .threads = cfg->threads,
		.smap = tm_analyzer_smap(r->analyzer),
	};
	tm_access_http_options(&r->access, &hopt);
	struct tm_http_udp udp[N_UDP_LISTENERS];
	set_limits(cfg, r, &hopt, udp);
	char err[256];
	rc = tm_http_start(&hopt, r->store, r->writer, &r->http, err, sizeof(err));
	if (rc)
		LOG(TM_LOG_ERROR, "%s", err);
	return rc;
}

/* the order matters: no new requests, the UDP listeners hand over their last
 * batches, the writer commits everything queued (answering every waiting
 * request), and only then do connections close and the store */
static void stop_all(struct running *r)
{
	if (r->http)
		tm_http_quiesce(r->http, DRAIN_TIMEOUT_MS);
	udp_listeners_stop(r->udp);
	tm_writer_stop(r->writer);
	tm_retention_stop(r->retention);   /* after the writer: it makes the writer room */
	tm_analyzer_stop(r->analyzer);
	tm_http_stop(r->http);
	tm_store_close(r->store);
	tm_access_close(&r->access);
}

static void log_listening(const struct tm_config *cfg, const struct running *r)
{
	char addresses[TM_HTTP_MAX_LISTEN * 64] = "";
	for (size_t i = 0, n = 0; tm_http_address(r->http, i); i++)
		n += (size_t)snprintf(addresses + n, sizeof(addresses) - n, "%s%s", i ? " " : "",
				      tm_http_address(r->http, i));
	char access[96];
	tm_access_describe(&r->access, access, sizeof(access));
	LOG(TM_LOG_INFO, "tracemap %s listening on %s, store %s, sync %s%s", TRACEMAP_VERSION,
	    addresses, cfg->data_dir, cfg->sync_none ? "none" : "full", access);
	/* after the line above: tests take the first "listening on" as HTTP */
	udp_listeners_log(r->udp);
}

/* waits for SIGINT or SIGTERM; SIGHUP reopens the access log (logrotate) */
static int wait_for_stop(sigset_t *signals, struct running *r)
{
	char err[256];
	for (;;) {
		int sig = 0;
		sigwait(signals, &sig);
		if (sig != SIGHUP)
			return sig;
		if (tm_access_log_reopen(r->access.access_log, err, sizeof(err)) < 0)
			LOG(TM_LOG_ERROR, "SIGHUP: %s", err);
		else
			LOG(TM_LOG_INFO, "SIGHUP: access log reopened");
	}
}

static int serve(const struct tm_config *cfg)
{
	struct running r = { 0 };
	char err[512];
	udp_listeners_init(cfg, r.udp);
	if (check_addresses(cfg, r.udp) < 0)
		return 2;
	if (tm_access_open(cfg, &r.access, err, sizeof(err)) < 0) {
		LOG(TM_LOG_ERROR, "%s", err);
		return 2;
	}
	tune_malloc();
	sigset_t stop_signals;
	block_stop_signals(&stop_signals);   /* before any thread is made */
	if (start_all(cfg, &r) < 0) {
		stop_all(&r);
		return 1;
	}
	log_listening(cfg, &r);
	int sig = wait_for_stop(&stop_signals, &r);
	LOG(TM_LOG_INFO, "%s: draining queued writes", sig == SIGINT ? "SIGINT" : "SIGTERM");
	stop_all(&r);
	LOG(TM_LOG_INFO, "stopped");
	return 0;
}

static int run(const struct tm_config *cfg)
{
	if (cfg->print_sample) {
		tm_config_write_sample(stdout);
		return 0;
	}
	if (cfg->print_config && cfg->command != TM_CMD_HELP && cfg->command != TM_CMD_VERSION) {
		tm_config_print(cfg, stdout);
		return 0;
	}
	switch (cfg->command) {
	case TM_CMD_HELP:
		tm_config_usage(stdout);
		return 0;
	case TM_CMD_VERSION:
		printf("tracemap %s\n", TRACEMAP_VERSION);
		return 0;
	case TM_CMD_CHECK:
		return run_check(cfg);
	case TM_CMD_STATS:
		return run_stats(cfg);
	case TM_CMD_QUERY:
		return run_query(cfg);
	case TM_CMD_DEMO:
		return run_demo(cfg);
	case TM_CMD_EXPORT:
		return run_export(cfg);
	case TM_CMD_COMPACT:
		return run_compact(cfg);
	case TM_CMD_SERVE:
		break;
	}
	return serve(cfg);
}

int main(int argc, char **argv)
{
	struct tm_config cfg;
	char err[768];
	if (tm_config_parse(argc, argv, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "tracemap: %s\n", err);
		tm_config_free(&cfg);
		return 2;
	}
	/* --verbose is --log-level debug, as it always was */
	tm_log_min_level = cfg.verbose ? TM_LOG_DEBUG : (enum tm_log_level)cfg.log_level;
	tm_log_span_content = cfg.log_span_content;
	int rc = run(&cfg);
	tm_config_free(&cfg);
	return rc;
}
