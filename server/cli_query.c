/* cli_query.c - `tracemap query`: the slow-trace list and one trace as a
 * tree, for a terminal, read straight from the store (an LMDB reader works
 * beside a running server). */
#include "cli_query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "query_params.h"
#include "search.h"
#include "span_match.h"
#include "trace_tree.h"

static void format_time(uint64_t ns, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03u", (unsigned)(ns / 1000000ull % 1000));
}

static void print_slow(FILE *out, const struct tm_slow_result *res)
{
	fprintf(out, "%-32s  %-23s  %12s  %6s  %6s  %s\n", "TRACE ID", "START (UTC)",
		"DURATION ms", "SPANS", "ERRORS", "ROOT");
	for (size_t i = 0; i < res->n; i++) {
		const struct tm_trace_info *t = &res->items[i];
		char id[2 * TM_TRACE_ID_LEN + 1], when[40];
		tm_id_to_hex(t->trace_id, TM_TRACE_ID_LEN, id);
		format_time(t->start_ns, when, sizeof(when));
		fprintf(out, "%-32s  %-23s  %12.3f  %6" PRIu64 "  %6" PRIu64 "  %.*s: %.*s\n", id,
			when, (double)(t->end_ns - t->start_ns) / 1e6, t->n_spans, t->n_errors,
			(int)t->root_service.len, t->root_service.ptr, (int)t->root_operation.len,
			t->root_operation.ptr);
	}
	fprintf(out, "%zu of %" PRIu64 " traces in the window, slowest first\n", res->n, res->total);
}

static int query_slow(struct tm_store *st, const struct tm_config *cfg, FILE *out,
		      char *err, size_t errlen)
{
	int64_t since;
	if (tm_qp_duration("--since", cfg->query_since, &since, err, errlen) < 0)
		return -EINVAL;
	if (since < 0) {
		snprintf(err, errlen, "--since %s: must not be negative", cfg->query_since);
		return -EINVAL;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	struct tm_slow_query q = {
		.service = tm_str_from(cfg->query_service),
		.operation = tm_str_from(cfg->query_operation),
		.start_ns = now > (uint64_t)since ? now - (uint64_t)since : 0,
		.end_ns = now,
		.limit = cfg->query_limit,
	};
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_store_reader *rd;
	struct tm_slow_result res;
	int rc = tm_store_reader_begin(st, &rd);
	if (!rc)
		rc = tm_slow_traces(rd, &q, &arena, &res);
	if (!rc)
		print_slow(out, &res);
	else if (rc == -ESRCH)
		snprintf(err, errlen, "--service %s: the store has no spans of that service",
			 cfg->query_service);
	else
		snprintf(err, errlen, "reading the store: %s", tm_store_strerror(rc));
	tm_store_reader_end(rd);
	tm_arena_clear(&arena);
	return rc;
}

static void print_span(FILE *out, const struct tm_trace *t, size_t i, unsigned depth)
{
	const struct tm_span *s = &t->spans[i];
	char id[2 * TM_SPAN_ID_LEN + 1];
	tm_id_to_hex(s->span_id, TM_SPAN_ID_LEN, id);
	struct tm_str svc = tm_span_service(s);
	double offset = (double)(s->start_ns - t->summary.start_ns) / 1e6;
	double dur = s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e6 : 0;
	const char *kind = tm_span_kind_name(s->kind);
	fprintf(out, "%10.3f  %10.3f  %-16s  %*s%.*s: %.*s%s%s%s%s\n", offset, dur, id,
		(int)(2 * depth), "", (int)svc.len, svc.ptr, (int)s->name.len, s->name.ptr,
		*kind ? " (" : "", kind, *kind ? ")" : "",
		s->status_code == TM_STATUS_ERROR ? "  [error]" : "");
}

static int query_trace(struct tm_store *st, const struct tm_config *cfg, FILE *out, char *err,
		       size_t errlen)
{
	uint8_t id[TM_TRACE_ID_LEN];
	const char *text = cfg->query_trace_id;
	if (tm_trace_id_parse(text, strlen(text), id) < 0) {
		snprintf(err, errlen, "'%.64s' is not a trace ID (1 to 32 hex digits)", text);
		return -EINVAL;
	}
	struct tm_arena arena;
	tm_arena_init(&arena, 0);
	struct tm_trace t;
	struct tm_trace_tree tree;
	int rc = tm_store_trace_get(st, id, &arena, &t);
	if (!rc)
		rc = tm_trace_tree_build(&t, &arena, &tree);
	if (rc == -ENOENT) {
		snprintf(err, errlen, "trace %.64s not found", text);
	} else if (rc) {
		snprintf(err, errlen, "reading the store: %s", tm_store_strerror(rc));
	} else {
		char when[40], hex[2 * TM_TRACE_ID_LEN + 1];
		format_time(t.summary.start_ns, when, sizeof(when));
		tm_id_to_hex(t.trace_id, TM_TRACE_ID_LEN, hex);
		fprintf(out, "trace %s  start %s UTC  duration %.3f ms  %zu spans  %" PRIu64
			" errors\n", hex, when,
			(double)(t.summary.end_ns - t.summary.start_ns) / 1e6, t.n_spans,
			t.summary.error_count);
		fprintf(out, "%10s  %10s  %-16s  %s\n", "START ms", "DURATION", "SPAN ID",
			"SERVICE: OPERATION");
		for (size_t k = 0; k < tree.n; k++)
			print_span(out, &t, tree.order[k], tree.depth[tree.order[k]]);
	}
	tm_arena_clear(&arena);
	return rc;
}

int tm_cli_query(struct tm_store *st, const struct tm_config *cfg, FILE *out, char *err,
		 size_t errlen)
{
	return cfg->query_kind == TM_QUERY_TRACE ? query_trace(st, cfg, out, err, errlen)
						 : query_slow(st, cfg, out, err, errlen);
}
