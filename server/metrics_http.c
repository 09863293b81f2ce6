/* metrics_http.c - GET /metrics (Prometheus text format 0.0.4), /healthz
 * and /readyz.  docs/operations.md lists every family and label. */
#define LOG_MODULE "metrics"
#include "api_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "servicemap.h"
#include "tracemap_version.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result method_not_allowed(struct http_request *r)
{
	r->allow = "GET, HEAD";
	return http_respond_text(r, 405, "text/plain", "405 method not allowed, supported: "
				 "[GET, HEAD]\n");
}

/*---- health ----*/

enum MHD_Result http_healthz_get(struct http_request *r, const char *method)
{
	if (!api_method_ok(method))
		return method_not_allowed(r);
	r->cache_control = "no-store";
	return http_respond_text(r, 200, "text/plain", "ok\n");
}

const char *http_refusing_ingest(struct tm_http *h, char *buf, size_t len)
{
	struct tm_writer_stats w;
	tm_writer_get_stats(h->writer, &w);
	struct tm_readiness in = {
		.store_open = h->store != NULL,
		.stopping = atomic_load(&h->stopping) || w.stopping,
		.queued_bytes = w.queued_bytes,
		.max_queue_bytes = w.max_queue_bytes,
		.last_commit_result = w.last_result,
	};
	if (!tm_writer_refusing(h->writer, &in.store_refusal))
		in.store_refusal = NULL;
	return tm_readiness_refusal(&in, buf, len);
}

enum MHD_Result http_readyz_get(struct http_request *r, const char *method)
{
	if (!api_method_ok(method))
		return method_not_allowed(r);
	r->cache_control = "no-store";
	char why[200], text[240];
	const char *refusing = http_refusing_ingest(r->http, why, sizeof(why));
	if (!refusing)
		return http_respond_text(r, 200, "text/plain", "ready\n");
	snprintf(text, sizeof(text), "not ready: %s\n", refusing);
	return http_respond_text(r, 503, "text/plain", text);
}

/*---- the families of the HTTP server, writer and store ----*/

static void ingest_udp_add(struct tm_ingest_totals *t, const struct tm_http_udp *u)
{
	struct tm_udp_stats s;
	tm_udp_get_stats(u->udp, &s);
	enum tm_protocol p = u->protocol;
	t->present[p] = 1;
	t->requests_received[p] += s.received;
	t->requests_refused[p][TM_REFUSE_INVALID] += s.dropped_invalid;
	t->requests_refused[p][TM_REFUSE_QUEUE_FULL] += s.dropped_queue_full;
	t->requests_refused[p][TM_REFUSE_TOO_LARGE] += s.dropped_oversize;
	t->requests_refused[p][TM_REFUSE_STORE_ERROR] += s.dropped_failed_commit;
	t->spans_accepted[p] += s.stored_spans;
	t->spans_refused[p][TM_REFUSE_INVALID] += s.rejected_spans;
	t->spans_received[p] += s.stored_spans + s.rejected_spans;
	/* a datagram not dropped is accepted (the few still on their way to
	 * the writer included: UDP has no answer to wait for) */
	uint64_t dropped = s.dropped_invalid + s.dropped_queue_full + s.dropped_oversize +
			   s.dropped_failed_commit;
	t->requests_accepted[p] += s.received > dropped ? s.received - dropped : 0;
}

static void write_http(struct tm_buf *b, struct tm_http *h)
{
	struct tm_ingest_totals t;
	tm_ingest_totals_read(&h->ingest, &t);
	for (size_t i = 0; i < h->n_udp; i++)
		ingest_udp_add(&t, &h->udp[i]);
	tm_ingest_totals_write(b, &t);

	const char *name = "tracemap_http_request_duration_seconds";
	tm_prom_family(b, name, "histogram",
		       "Time from a request's headers to its completion (ingest: until durable), "
		       "by route.");
	for (int i = 0; i < HTTP_ROUTE_COUNT; i++) {
		char labels[48];
		snprintf(labels, sizeof(labels), "route=\"%s\"", http_route_name(i));
		tm_prom_mhist(b, name, labels, &h->route_seconds[i]);
	}
	tm_prom_family(b, "tracemap_http_connections", "gauge", "HTTP connections open now.");
	tm_prom_uint(b, "tracemap_http_connections", NULL, atomic_load(&h->connections_open));
	tm_prom_family(b, "tracemap_http_connections_total", "counter",
		       "HTTP connections accepted (those over --max-connections are closed at "
		       "once and not counted).");
	tm_prom_uint(b, "tracemap_http_connections_total", NULL,
		     atomic_load(&h->connections_total));
	name = "tracemap_http_requests_cut_total";
	tm_prom_family(b, name, "counter",
		       "Requests whose connection was closed before they were answered: the "
		       "body was not in within --request-timeout, or went quiet for "
		       "--idle-timeout.");
	tm_prom_uint(b, name, "reason=\"request_timeout\"",
		     atomic_load(&h->requests_cut[HTTP_CUT_REQUEST_TIMEOUT]));
	tm_prom_uint(b, name, "reason=\"idle_timeout\"",
		     atomic_load(&h->requests_cut[HTTP_CUT_IDLE_TIMEOUT]));
}

static void write_writer(struct tm_buf *b, struct tm_http *h)
{
	struct tm_writer_stats w;
	tm_writer_get_stats(h->writer, &w);
	tm_prom_family(b, "tracemap_write_queue_bytes", "gauge",
		       "Bytes of decoded requests queued for the writer (or reserved).");
	tm_prom_uint(b, "tracemap_write_queue_bytes", NULL, w.queued_bytes);
	tm_prom_family(b, "tracemap_write_queue_max_bytes", "gauge",
		       "The bound of the write queue (--queue-bytes).");
	tm_prom_uint(b, "tracemap_write_queue_max_bytes", NULL, w.max_queue_bytes);
	tm_prom_family(b, "tracemap_write_queue_requests", "gauge",
		       "Requests queued for the writer (or reserved).");
	tm_prom_uint(b, "tracemap_write_queue_requests", NULL, w.queued_requests);
	tm_prom_family(b, "tracemap_commits_total", "counter", "Group commits, by result.");
	tm_prom_uint(b, "tracemap_commits_total", "result=\"ok\"", w.commits - w.failed_commits);
	tm_prom_uint(b, "tracemap_commits_total", "result=\"failed\"", w.failed_commits);
	tm_prom_family(b, "tracemap_commit_duration_seconds", "histogram",
		       "Time to write, commit and sync one group commit.");
	tm_prom_mhist(b, "tracemap_commit_duration_seconds", NULL, w.commit_seconds);
	tm_prom_family(b, "tracemap_commit_group_batches", "histogram",
		       "Requests (batches) written by one group commit.");
	tm_prom_mhist(b, "tracemap_commit_group_batches", NULL, w.group_batches);
	tm_prom_family(b, "tracemap_commit_group_spans", "histogram",
		       "Spans written by one group commit.");
	tm_prom_mhist(b, "tracemap_commit_group_spans", NULL, w.group_spans);
}

static void write_store(struct tm_buf *b, struct tm_http *h)
{
	struct tm_store_stats s;
	if (tm_store_stats(h->store, &s))
		return;   /* the families are left out rather than made up */
	tm_prom_family(b, "tracemap_store_map_size_bytes", "gauge",
		       "Size of the LMDB memory map: the most the store can grow to.");
	tm_prom_uint(b, "tracemap_store_map_size_bytes", NULL, s.map_size);
	tm_prom_family(b, "tracemap_store_used_bytes", "gauge",
		       "Pages of the store in use times the page size (mdb_env_info).");
	tm_prom_uint(b, "tracemap_store_used_bytes", NULL, s.used_bytes);
	tm_prom_family(b, "tracemap_store_spans", "gauge", "Spans the store holds.");
	tm_prom_uint(b, "tracemap_store_spans", NULL, s.spans);
	tm_prom_family(b, "tracemap_store_commits_total", "counter",
		       "Commits the store holds, since it was created.");
	tm_prom_uint(b, "tracemap_store_commits_total", NULL, s.commits);
	struct tm_store_space sp;
	if (!tm_store_space(h->store, &sp)) {
		tm_prom_family(b, "tracemap_store_file_bytes", "gauge",
			       "Size of the store's file (LMDB never shrinks it; tracemap compact does).");
		tm_prom_uint(b, "tracemap_store_file_bytes", NULL, sp.file_bytes);
	}
	struct tm_retention_stats rs;
	tm_store_retention_stats(h->store, &rs);
	tm_prom_family(b, "tracemap_retention_deleted_traces_total", "counter",
		       "Traces deleted by retention, by reason (age: --retention; room: --max-size "
		       "or --min-free-disk).");
	tm_prom_uint(b, "tracemap_retention_deleted_traces_total", "reason=\"age\"",
		     rs.traces - rs.evicted_traces);
	tm_prom_uint(b, "tracemap_retention_deleted_traces_total", "reason=\"room\"",
		     rs.evicted_traces);
	tm_prom_family(b, "tracemap_retention_deleted_spans_total", "counter",
		       "Spans deleted by retention.");
	tm_prom_uint(b, "tracemap_retention_deleted_spans_total", NULL, rs.spans);
	tm_prom_family(b, "tracemap_retention_steps_total", "counter",
		       "Deletion steps (short write transactions) retention has run.");
	tm_prom_uint(b, "tracemap_retention_steps_total", NULL, rs.steps);
}

/*---- the service map ----*/

static void write_smap_stats(struct tm_buf *b, struct tm_smap *m)
{
	struct tm_smap_stats s;
	tm_smap_get_stats(m, &s);
	tm_prom_family(b, "tracemap_servicemap_pending_spans", "gauge",
		       "Spans stored but not yet paired (their trace is not quiet yet).");
	tm_prom_uint(b, "tracemap_servicemap_pending_spans", NULL, s.pending_spans);
	tm_prom_family(b, "tracemap_servicemap_paired_traces_total", "counter",
		       "Traces (or late parts of traces) paired into calls.");
	tm_prom_uint(b, "tracemap_servicemap_paired_traces_total", NULL, s.paired_traces);
	tm_prom_family(b, "tracemap_servicemap_retracted_calls_total", "counter",
		       "Calls taken back when late spans changed a pairing; "
		       "traces_service_graph_request_total keeps counting them.");
	tm_prom_uint(b, "tracemap_servicemap_retracted_calls_total", NULL, s.retracted_calls);
	tm_prom_family(b, "tracemap_servicemap_unpaired_spans_total", "counter",
		       "Spans whose parent was not among the spans paired with them.");
	tm_prom_uint(b, "tracemap_servicemap_unpaired_spans_total", NULL, s.unpaired_spans);
}

/* one series of the service graph, its names resolved */
struct graph_row {
	struct tm_str client, server;
	const struct tm_smap_edge_total *t;
};

static int str_cmp(struct tm_str a, struct tm_str b)
{
	int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct graph_row *a = pa, *b = pb;
	int c = str_cmp(a->client, b->client);
	if (!c)
		c = str_cmp(a->server, b->server);
	return c ? c : (a->t->conn > b->t->conn) - (a->t->conn < b->t->conn);
}

static int same_series(const struct graph_row *a, const struct graph_row *b)
{
	return !str_cmp(a->client, b->client) && !str_cmp(a->server, b->server) &&
	       a->t->conn == b->t->conn;
}

static void seconds_merge(struct tm_smap_seconds *into, const struct tm_smap_seconds *s)
{
	for (unsigned i = 0; i <= TM_SMAP_SECONDS_BUCKETS; i++)
		into->counts[i] += s->counts[i];
	into->sum_ns += s->sum_ns;
}

static void write_seconds(struct tm_buf *b, const char *name, const char *labels,
			  const struct tm_smap_seconds *s)
{
	uint64_t bounds[TM_SMAP_SECONDS_BUCKETS];
	for (unsigned i = 0; i < TM_SMAP_SECONDS_BUCKETS; i++)
		bounds[i] = tm_smap_seconds_bound_ns(i);
	tm_prom_hist(b, name, labels, s->counts, bounds, TM_SMAP_SECONDS_BUCKETS, 1e-9,
		     (double)s->sum_ns * 1e-9);
}

static const char *const graph_names[4] = {
	"traces_service_graph_request_total", "traces_service_graph_request_failed_total",
	"traces_service_graph_request_server_seconds",
	"traces_service_graph_request_client_seconds",
};

/* the samples of one series (the merge of its rows) in family f */
static void write_series(struct tm_buf *b, int f, const struct graph_row *row,
			 const struct tm_smap_edge_total *sum)
{
	struct tm_buf labels;
	tm_buf_init(&labels);
	tm_prom_label(&labels, "client", row->client.ptr, row->client.len);
	tm_prom_label(&labels, "server", row->server.ptr, row->server.len);
	const char *conn = tm_smap_conn_name(row->t->conn);
	tm_prom_label(&labels, "connection_type", conn, strlen(conn));
	tm_buf_add(&labels, "", 1);
	const char *l = labels.failed ? "" : (const char *)labels.data;
	if (f == 0)
		tm_prom_uint(b, graph_names[f], l, sum->requests);
	else if (f == 1)
		tm_prom_uint(b, graph_names[f], l, sum->failed);
	else
		write_seconds(b, graph_names[f], l, f == 2 ? &sum->server_s : &sum->client_s);
	tm_buf_free(&labels);
}

static void write_graph_rows(struct tm_buf *b, struct graph_row *rows, size_t n)
{
	static const char *const help[4] = {
		"Calls between two services (or a service and a peer it named), as Tempo's "
		"service graphs count them; never decreases (late corrections add, see "
		"tracemap_servicemap_retracted_calls_total).",
		"Calls where the client or the server span had status ERROR.",
		"Duration of the callee (server) span of each call.",
		"Duration of the caller (client) span of each call.",
	};
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (int f = 0; f < 4; f++) {
		tm_prom_family(b, graph_names[f], f < 2 ? "counter" : "histogram", help[f]);
		for (size_t i = 0; i < n;) {
			struct tm_smap_edge_total sum = *rows[i].t;
			size_t j = i + 1;
			for (; j < n && same_series(&rows[i], &rows[j]); j++) {
				sum.requests += rows[j].t->requests;
				sum.failed += rows[j].t->failed;
				seconds_merge(&sum.client_s, &rows[j].t->client_s);
				seconds_merge(&sum.server_s, &rows[j].t->server_s);
			}
			write_series(b, f, &rows[i], &sum);
			i = j;
		}
	}
}

/* Tempo's families from the pairer's totals; ids resolved to the names
 * the map shows, and ids of one name (a service and a peer named like it)
 * merged into one series */
static int write_graph(struct tm_buf *b, struct tm_http *h, struct tm_smap *m)
{
	struct tm_smap_edge_total *totals;
	size_t n;
	uint64_t dropped;
	int rc = tm_smap_edge_totals(m, &totals, &n, &dropped);
	if (rc)
		return rc;
	struct tm_store_reader *rd = NULL;
	struct graph_row *rows = malloc((n + 1) * sizeof(*rows));
	rc = rows ? tm_store_reader_begin(h->store, &rd) : -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		struct graph_row *row = &rows[k];
		row->t = &totals[i];
		if (tm_smap_node_name(rd, totals[i].client, &row->client) ||
		    tm_smap_node_name(rd, totals[i].server, &row->server))
			continue;   /* a name not in this snapshot yet: next scrape */
		k += str_cmp(row->client, row->server) != 0;   /* the map drops these too */
	}
	if (!rc)
		write_graph_rows(b, rows, k);
	tm_prom_family(b, "tracemap_servicemap_graph_dropped_calls_total", "counter",
		       "Calls not in the service-graph series: more than 65536 edges.");
	tm_prom_uint(b, "tracemap_servicemap_graph_dropped_calls_total", NULL, dropped);
	tm_store_reader_end(rd);
	free(rows);
	free(totals);
	return rc;
}

enum MHD_Result http_metrics_get(struct http_request *r, const char *method)
{
	if (!api_method_ok(method))
		return method_not_allowed(r);
	struct tm_http *h = r->http;
	struct tm_buf b;
	tm_buf_init(&b);
	tm_prom_family(&b, "tracemap_build_info", "gauge", "The version of tracemap running.");
	tm_prom_uint(&b, "tracemap_build_info", "version=\"" TRACEMAP_VERSION "\"", 1);
	char why[200];
	tm_prom_family(&b, "tracemap_ready", "gauge",
		       "1 when /readyz answers 200: the store is open and ingest is not refused.");
	tm_prom_uint(&b, "tracemap_ready", NULL, !http_refusing_ingest(h, why, sizeof(why)));
	write_http(&b, h);
	write_writer(&b, h);
	write_store(&b, h);
	if (h->smap) {
		write_smap_stats(&b, h->smap);
		int rc = write_graph(&b, h, h->smap);
		if (rc) {
			LOG(TM_LOG_WARN, "/metrics: service graph left out: %s", tm_store_strerror(rc));
			tm_buf_free(&b);
			return http_respond_text(r, 500, "text/plain", "service graph unavailable\n");
		}
	}
	r->cache_control = "no-store";
	return http_respond_buf(r, 200, PROM_CONTENT_TYPE, &b);
}
