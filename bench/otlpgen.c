/* otlpgen.c - synthetic trace batches: the simulated system, the shape
 * of its traces, batching per service, and patching templates into fresh
 * traces.  The bytes come from a codec (otlpgen_pb.c, otlpgen_json.c). */
#include "otlpgen_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- small helpers ----*/

void *otlpgen_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q) {
		fprintf(stderr, "otlpgen: out of memory (%zu bytes)\n", size);
		abort();
	}
	return q;
}

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

/* xoshiro256** */
static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* uniform in [0, n); the modulo bias is irrelevant for n this small. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

static int rng_percent(struct rng *r, unsigned pct)
{
	return rng_below(r, 100) < pct;
}

static void rng_bytes(struct rng *r, uint8_t *out, size_t len)
{
	int is_zero = 1;

	while (is_zero) {
		for (size_t i = 0; i < len; i += 8) {
			uint64_t v = rng_next(r);
			size_t n = len - i < 8 ? len - i : 8;

			memcpy(out + i, &v, n);
		}
		for (size_t i = 0; i < len && is_zero; i++)
			is_zero = out[i] == 0;
	}
}

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

static void u32vec_push(struct u32vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		a->v = otlpgen_xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = x;
}

/*---- byte buffers ----*/

void otlpgen_buf_reserve(struct otlpgen_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	while (b->len + n > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->p = otlpgen_xrealloc(b->p, b->cap);
}

void otlpgen_buf_add(struct otlpgen_buf *b, const void *src, size_t n)
{
	otlpgen_buf_reserve(b, n);
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

/*---- attributes ----*/

static struct otlpgen_attr *attr_add(struct otlpgen_attrs *l, const char *key,
				     enum otlpgen_attr_type type)
{
	struct otlpgen_attr *a;

	if (l->n == sizeof(l->a) / sizeof(l->a[0]))
		abort();
	a = &l->a[l->n++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	a->type = type;
	return a;
}

static void attr_str(struct otlpgen_attrs *l, const char *key, const char *val)
{
	attr_add(l, key, OTLPGEN_ATTR_STR)->s = val;
}

__attribute__((format(printf, 3, 4)))
static void attr_strf(struct otlpgen_attrs *l, const char *key, const char *fmt, ...)
{
	char *dst = l->text + l->text_used;
	size_t room = sizeof(l->text) - l->text_used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		abort();
	l->text_used += (size_t)n + 1;
	attr_str(l, key, dst);
}

static void attr_int(struct otlpgen_attrs *l, const char *key, int64_t val)
{
	attr_add(l, key, OTLPGEN_ATTR_INT)->i = val;
}

static void attr_double(struct otlpgen_attrs *l, const char *key, double val)
{
	attr_add(l, key, OTLPGEN_ATTR_DOUBLE)->d = val;
}

static void attr_bool(struct otlpgen_attrs *l, const char *key, int val)
{
	attr_add(l, key, OTLPGEN_ATTR_BOOL)->i = val != 0;
}

/*---- the simulated system ----*/

struct service {
	const char *name;
	const char *language;
	const char *file_ext;
	const char *db_system;     /* NULL: no database of its own */
	const char *db_host;
	int db_port;
};

static const struct service base_services[] = {
	{ "frontend", "nodejs", "js", NULL, NULL, 0 },
	{ "api-gateway", "go", "go", NULL, NULL, 0 },
	{ "auth", "go", "go", "redis", "redis-auth", 6379 },
	{ "user", "java", "java", "postgresql", "pg-users", 5432 },
	{ "cart", "go", "go", "redis", "redis-cart", 6379 },
	{ "checkout", "go", "go", "postgresql", "pg-orders", 5432 },
	{ "payment", "java", "java", "postgresql", "pg-payments", 5432 },
	{ "inventory", "java", "java", "mysql", "mysql-inventory", 3306 },
	{ "catalog", "python", "py", "mongodb", "mongo-catalog", 27017 },
	{ "search", "java", "java", "elasticsearch", "es-search", 9200 },
	{ "recommendation", "python", "py", "redis", "redis-reco", 6379 },
	{ "shipping", "go", "go", NULL, NULL, 0 },
	{ "email", "python", "py", NULL, NULL, 0 },
	{ "notification", "nodejs", "js", NULL, NULL, 0 },
	{ "pricing", "dotnet", "cs", "postgresql", "pg-pricing", 5432 },
	{ "currency", "nodejs", "js", NULL, NULL, 0 },
	{ "ad", "java", "java", NULL, NULL, 0 },
	{ "review", "python", "py", "postgresql", "pg-reviews", 5432 },
	{ "order", "java", "java", "postgresql", "pg-orders", 5432 },
	{ "fraud-detection", "python", "py", "redis", "redis-fraud", 6379 },
};

#define N_BASE_SERVICES (sizeof(base_services) / sizeof(base_services[0]))
#define N_OPS 8            /* HTTP operations per service */
#define N_INSTANCES 3      /* instances (resources) per service */
#define MIN_SPANS 5        /* spans per trace, unless the options say */
#define MAX_SPANS 50

static const char *const route_fmt[4] = { "/%s", "/%s/{id}", "/%s/search", "/%s/{id}/items" };
static const char *const http_methods[2] = { "GET", "POST" };
static const char *const internal_ops[] = {
	"validate", "authorize", "compute", "serialize", "load_config", "render",
};
static const char *const sql_ops[] = { "SELECT", "SELECT", "INSERT", "UPDATE" };
/* a database span's op: the operation in its low 2 bits, the table above */
static const char *const tables[] = { "orders", "users", "items", "sessions", "prices", "events" };
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))
static const char *const redis_ops[] = { "GET", "SET", "HGETALL", "EXPIRE" };
static const char *const error_messages[] = {
	"deadline exceeded", "connection reset by peer", "upstream returned 503",
	"invalid argument: quantity must be positive", "lock wait timeout exceeded",
};

/* the services of a run: base_services, then copies of them named
 * "<name>-2", "<name>-3", ... in that order, each copy with a database
 * host of its own ("pg-users-2"), so a bigger system has more databases
 * too. */
struct service_table {
	struct service *v;
	char (*names)[2][48];        /* of each service: its name, its database host */
	uint32_t n;
};

/* writes the name of service i of a run ("frontend", ..., "frontend-2",
 * ...) and, if it has a database, its host, into out[0] and out[1]. */
static void service_names(uint32_t i, char out[2][48])
{
	const struct service *base = &base_services[i % N_BASE_SERVICES];
	uint32_t copy = i / N_BASE_SERVICES + 1;

	if (copy == 1) {
		snprintf(out[0], sizeof(out[0]), "%s", base->name);
		snprintf(out[1], sizeof(out[1]), "%s", base->db_host ? base->db_host : "");
	} else {
		snprintf(out[0], sizeof(out[0]), "%s-%u", base->name, copy);
		snprintf(out[1], sizeof(out[1]), "%s-%u", base->db_host ? base->db_host : "", copy);
	}
}

static void service_table_init(struct service_table *t, uint32_t n)
{
	t->n = n;
	t->v = otlpgen_xrealloc(NULL, n * sizeof(*t->v));
	t->names = otlpgen_xrealloc(NULL, n * sizeof(*t->names));
	for (uint32_t i = 0; i < n; i++) {
		t->v[i] = base_services[i % N_BASE_SERVICES];
		service_names(i, t->names[i]);
		t->v[i].name = t->names[i][0];
		if (t->v[i].db_host)
			t->v[i].db_host = t->names[i][1];
	}
}

static void service_table_free(struct service_table *t)
{
	free(t->v);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

int otlpgen_service_index(uint32_t n_services, const char *name)
{
	char names[2][48];

	if (!n_services)
		n_services = OTLPGEN_SERVICES_DEFAULT;
	for (uint32_t i = 0; i < n_services && i < OTLPGEN_SERVICES_LIMIT; i++) {
		service_names(i, names);
		if (strcmp(names[0], name) == 0)
			return (int)i;
	}
	return -1;
}

struct gen_span {
	uint8_t span_id[OTLPGEN_SPAN_ID_LEN];
	int parent;                /* index in the trace, -1 for the root */
	uint8_t kind;              /* 1 internal, 2 server, 3 client */
	uint8_t is_db;
	uint8_t is_error;
	uint8_t has_remote_parent;
	uint16_t service;
	uint16_t peer;             /* client spans: the called service */
	uint16_t op;
	uint32_t user;
	uint64_t start_ns, end_ns;
};

/* spans of one service waiting to fill a batch; already encoded, each
 * after its separator, offsets relative to buf. */
struct pending {
	struct otlpgen_buf buf;
	struct u32vec trace_id_off, span_id_off, parent_id_off, time_off, time_trace;
	uint32_t n_spans;
	uint32_t n_roots;
	uint32_t n_flushed;
	struct otlpgen_attrs resource;   /* of the batch being filled */
};

struct gen {
	struct rng rng;
	const struct otlpgen_options *opt;
	const struct otlpgen_codec *codec;
	struct otlpgen_set *set;
	size_t cap_items;
	const struct service *services;  /* of the service table */
	uint32_t n_services;
	int entry;                       /* the root service of every trace; -1: any */
	struct pending *pending;         /* one per service */
	struct otlpgen_span span;        /* the span being encoded */
	struct otlpgen_buf span_buf;
	uint64_t full_spans;
	int trace_spans_min, trace_spans_max;
};

/*---- trace shape ----*/

static void child_times(struct rng *r, const struct gen_span *p, struct gen_span *c)
{
	uint64_t dur = p->end_ns - p->start_ns;
	uint64_t off = dur * rng_below(r, 700) / 1000;
	uint64_t rest = dur - off;

	c->start_ns = p->start_ns + off;
	c->end_ns = c->start_ns + rest * (50 + rng_below(r, 900)) / 1000 + 1;
	if (c->end_ns > p->end_ns)
		c->end_ns = p->end_ns;
}

static struct gen_span *new_span(struct gen *g, struct gen_span *sp, int *n, int parent)
{
	struct gen_span *s = &sp[(*n)++];

	memset(s, 0, sizeof(*s));
	rng_bytes(&g->rng, s->span_id, sizeof(s->span_id));
	s->parent = parent;
	s->is_error = rng_percent(&g->rng, 2);
	if (parent >= 0) {
		s->service = sp[parent].service;
		s->user = sp[parent].user;
		child_times(&g->rng, &sp[parent], s);
	}
	return s;
}

/* a client span in the parent's service and the server span it calls. */
static void add_remote_call(struct gen *g, struct gen_span *sp, int *n, int parent,
			    uint16_t callee)
{
	int client_idx = *n;
	struct gen_span *c = new_span(g, sp, n, parent);
	struct gen_span *s;
	uint64_t dur, gap;

	c->kind = 3;
	c->peer = callee;
	c->op = (uint16_t)rng_below(&g->rng, N_OPS);
	s = new_span(g, sp, n, client_idx);
	s->kind = 2;
	s->service = callee;
	s->op = c->op;
	s->has_remote_parent = 1;
	s->is_error = c->is_error;   /* a failing server fails its caller */
	dur = c->end_ns - c->start_ns;
	gap = dur * (1 + rng_below(&g->rng, 5)) / 100;
	s->start_ns = c->start_ns + gap;
	s->end_ns = c->end_ns - gap > s->start_ns ? c->end_ns - gap : s->start_ns + 1;
}

static int pick_parent(struct gen *g, const struct gen_span *sp, int n)
{
	for (int tries = 0; tries < 8; tries++) {
		int i = (int)rng_below(&g->rng, (uint64_t)n);

		if (sp[i].kind != 3)
			return i;
	}
	return 0;
}

/* n distinct services for a trace; the first is the root's (the entry
 * service, when the options name one). */
static void pick_services(struct gen *g, uint16_t *out, int n)
{
	int first = 0;

	if (g->entry >= 0) {
		out[0] = (uint16_t)g->entry;
		first = 1;
	}
	for (int i = first; i < n; i++) {
		int is_dup;

		do {
			out[i] = (uint16_t)rng_below(&g->rng, g->n_services);
			is_dup = 0;
			for (int j = 0; j < i; j++)
				is_dup |= out[j] == out[i];
		} while (is_dup);
	}
}

static uint64_t root_duration_ns(struct rng *r)
{
	uint64_t base = 5000000ull << rng_below(r, 9);   /* 5 ms .. 1.28 s */

	return base + rng_below(r, base);
}

/* builds one trace into sp[]; returns the number of spans. */
static int gen_trace(struct gen *g, struct gen_span *sp)
{
	int target = g->trace_spans_min +
		(int)rng_below(&g->rng, (uint64_t)(g->trace_spans_max - g->trace_spans_min + 1));
	int n_services = 3 + (int)rng_below(&g->rng, 4);
	uint16_t svc[6];
	int n = 0, used = 1;
	struct gen_span *root;

	if (n_services > 1 + (target - 1) / 2)
		n_services = 1 + (target - 1) / 2;
	if ((uint32_t)n_services > g->n_services)
		n_services = (int)g->n_services;
	pick_services(g, svc, n_services);
	root = new_span(g, sp, &n, -1);
	root->kind = 2;
	root->service = svc[0];
	root->op = (uint16_t)rng_below(&g->rng, N_OPS);
	root->user = (uint32_t)rng_below(&g->rng, 100000);
	root->start_ns = g->opt->base_time_ns + rng_below(&g->rng, 1000000000ull);
	root->end_ns = root->start_ns + root_duration_ns(&g->rng);
	while (n < target) {
		int p = pick_parent(g, sp, n);
		unsigned roll = (unsigned)rng_below(&g->rng, 100);

		if (n + 2 <= target && (used < n_services || roll < 35)) {
			uint16_t callee = used < n_services ? svc[used++] :
				svc[rng_below(&g->rng, (uint64_t)n_services)];

			add_remote_call(g, sp, &n, p, callee);
		} else if (roll < 65 && g->services[sp[p].service].db_system) {
			struct gen_span *d = new_span(g, sp, &n, p);

			d->kind = 3;
			d->is_db = 1;
			d->op = (uint16_t)rng_below(&g->rng, 4 * N_TABLES);
		} else {
			struct gen_span *s = new_span(g, sp, &n, p);

			s->kind = 1;
			s->op = (uint16_t)rng_below(&g->rng,
				sizeof(internal_ops) / sizeof(internal_ops[0]));
		}
	}
	return n;
}

/*---- span attributes and names ----*/

/* the URL path of s's operation on the service called name */
static const char *route_path(char *out, size_t size, const struct gen_span *s,
			      const char *name, int is_concrete)
{
	const char *fmt = route_fmt[s->op & 3];

	if (!is_concrete || (s->op & 3) % 2 == 0)
		snprintf(out, size, fmt, name);
	else if ((s->op & 3) == 1)
		snprintf(out, size, "/%s/%u", name, s->user);
	else
		snprintf(out, size, "/%s/%u/items", name, s->user);
	return out;
}

static int http_status(const struct gen_span *s)
{
	if (s->is_error)
		return s->kind == 3 ? 503 : 500;
	return (s->op >> 2) ? 201 : 200;
}

static void server_attrs(struct gen *g, const struct gen_span *s, struct otlpgen_attrs *l)
{
	char buf[128];
	const char *name = g->services[s->service].name;

	attr_str(l, "http.request.method", http_methods[s->op >> 2]);
	attr_strf(l, "url.path", "%s", route_path(buf, sizeof(buf), s, name, 1));
	attr_str(l, "url.scheme", "http");
	attr_strf(l, "http.route", "%s", route_path(buf, sizeof(buf), s, name, 0));
	attr_int(l, "http.response.status_code", http_status(s));
	attr_str(l, "server.address", name);
	attr_int(l, "server.port", 8080);
	attr_strf(l, "client.address", "10.0.%u.%u", (unsigned)rng_below(&g->rng, 8),
		  (unsigned)rng_below(&g->rng, 250) + 2);
	attr_strf(l, "enduser.id", "user-%u", s->user);
	attr_double(l, "app.request.size_kb", (double)rng_below(&g->rng, 4000) / 100.0);
	if (s->parent < 0)
		attr_str(l, "user_agent.original",
			 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0");
	else
		attr_str(l, "network.protocol.version", "1.1");
}

static void client_attrs(struct gen *g, const struct gen_span *s, struct otlpgen_attrs *l)
{
	char buf[128];
	const char *peer = g->services[s->peer].name;

	attr_str(l, "http.request.method", http_methods[s->op >> 2]);
	attr_strf(l, "url.full", "http://%s:8080%s", peer,
		  route_path(buf, sizeof(buf), s, peer, 1));
	attr_str(l, "server.address", peer);
	attr_int(l, "server.port", 8080);
	attr_int(l, "http.response.status_code", http_status(s));
	attr_str(l, "peer.service", peer);
	attr_str(l, "network.protocol.version", "1.1");
	attr_int(l, "http.request.resend_count", rng_percent(&g->rng, 3));
	attr_bool(l, "app.circuit_breaker.open", 0);
	attr_double(l, "app.timeout_s", 2.5);
}

static void db_attrs(struct gen *g, const struct gen_span *s, struct otlpgen_attrs *l)
{
	const struct service *sv = &g->services[s->service];
	const char *table = tables[s->op >> 2];
	int is_redis = strcmp(sv->db_system, "redis") == 0;
	const char *op = is_redis ? redis_ops[s->op & 3] : sql_ops[s->op & 3];

	attr_str(l, "db.system", sv->db_system);
	attr_strf(l, "db.namespace", "%s_db", sv->name);
	attr_str(l, "db.operation.name", op);
	if (is_redis) {
		attr_strf(l, "db.query.text", "%s %s:%u", op, sv->name, s->user);
	} else {
		attr_str(l, "db.collection.name", table);
		attr_strf(l, "db.query.text", "%s * FROM %s WHERE id = ?", op, table);
	}
	attr_str(l, "server.address", sv->db_host);
	attr_int(l, "server.port", sv->db_port);
	attr_int(l, "db.response.returned_rows", (int64_t)rng_below(&g->rng, 200));
	attr_bool(l, "app.cache.hit", rng_percent(&g->rng, 30));
	attr_strf(l, "network.peer.address", "10.1.0.%u", (unsigned)rng_below(&g->rng, 250) + 2);
}

static void internal_attrs(struct gen *g, const struct gen_span *s, struct otlpgen_attrs *l)
{
	const char *svc = g->services[s->service].name;
	const char *op = internal_ops[s->op];

	attr_strf(l, "code.function.name", "%s.%s", svc, op);
	attr_strf(l, "code.file.path", "src/%s/%s.%s", svc, op, g->services[s->service].file_ext);
	attr_int(l, "code.line.number", 20 + (int64_t)rng_below(&g->rng, 800));
	attr_int(l, "thread.id", 1 + (int64_t)rng_below(&g->rng, 64));
	attr_str(l, "thread.name", "worker");
	attr_int(l, "app.item_count", (int64_t)rng_below(&g->rng, 40));
	attr_bool(l, "app.cache.hit", rng_percent(&g->rng, 60));
	attr_double(l, "app.ratio", (double)rng_below(&g->rng, 1000) / 1000.0);
	attr_strf(l, "enduser.id", "user-%u", s->user);
	attr_str(l, "app.feature_flag", rng_percent(&g->rng, 50) ? "new-checkout" : "control");
}

static void span_name(char *out, size_t size, const struct gen_span *s,
		      const struct service *sv)
{
	char route[128];

	if (s->kind == 2)
		snprintf(out, size, "%s %s", http_methods[s->op >> 2],
			 route_path(route, sizeof(route), s, sv->name, 0));
	else if (s->kind == 3 && !s->is_db)
		snprintf(out, size, "%s", http_methods[s->op >> 2]);
	else if (s->is_db && strcmp(sv->db_system, "redis") == 0)
		snprintf(out, size, "%s", redis_ops[s->op & 3]);
	else if (s->is_db)
		snprintf(out, size, "%s %s", sql_ops[s->op & 3], tables[s->op >> 2]);
	else
		snprintf(out, size, "%s.%s", sv->name, internal_ops[s->op]);
}

/*---- spans ----*/

static void span_attrs(struct gen *g, const struct gen_span *s, struct otlpgen_attrs *l)
{
	l->n = 0;
	l->text_used = 0;
	if (s->kind == 2)
		server_attrs(g, s, l);
	else if (s->kind == 3 && s->is_db)
		db_attrs(g, s, l);
	else if (s->kind == 3)
		client_attrs(g, s, l);
	else
		internal_attrs(g, s, l);
}

/* the event of a span that has one: an exception on errors, else a cache
 * miss, half-way through the span. */
static void span_event(const struct gen_span *s, const struct service *sv,
		       struct otlpgen_span *out)
{
	struct otlpgen_attrs *l = &out->event_attrs;

	l->n = 0;
	l->text_used = 0;
	out->event_ns = s->start_ns + (s->end_ns - s->start_ns) / 2;
	if (s->is_error) {
		out->event_name = "exception";
		attr_str(l, "exception.type", "TimeoutError");
		attr_str(l, "exception.message",
			 error_messages[s->op % (sizeof(error_messages) / sizeof(error_messages[0]))]);
		attr_str(l, "exception.stacktrace", "TimeoutError: deadline exceeded\n"
			 "    at Client.call (client.js:120:11)\n    at handler (server.js:48:5)");
	} else {
		out->event_name = "cache.miss";
		attr_strf(l, "cache.key", "%s:%u", sv->name, s->user);
	}
}

/* decides everything about span i of a trace into g->span, drawing from
 * the generator in a fixed order so that every format gets the same span. */
static void describe_span(struct gen *g, const uint8_t *trace_id, const struct gen_span *sp,
			  int i)
{
	const struct gen_span *s = &sp[i];
	struct otlpgen_span *out = &g->span;

	out->trace_id = trace_id;
	out->span_id = s->span_id;
	out->parent_span_id = s->parent >= 0 ? sp[s->parent].span_id : NULL;
	out->service = g->services[s->service].name;
	out->resource = &g->pending[s->service].resource;
	span_name(out->name, sizeof(out->name), s, &g->services[s->service]);
	out->kind = s->kind;
	out->start_ns = s->start_ns;
	out->end_ns = s->end_ns;
	span_attrs(g, s, &out->attrs);
	out->has_event = s->is_error || rng_percent(&g->rng, 4);
	if (out->has_event)
		span_event(s, &g->services[s->service], out);
	out->error_message = s->is_error ?
		error_messages[s->op % (sizeof(error_messages) / sizeof(error_messages[0]))] : NULL;
	out->flags = s->has_remote_parent ? 0x301 : 0x101;
}

/* encodes g->span and appends it to a service's pending batch. */
static void pending_add(struct gen *g, struct pending *pd)
{
	struct otlpgen_buf *span = &g->span_buf;
	struct otlpgen_offsets off;
	uint32_t base;

	span->len = 0;
	g->codec->span(span, &g->span, &off);
	g->codec->separator(&pd->buf, span->len, pd->n_spans == 0);
	base = (uint32_t)pd->buf.len;
	otlpgen_buf_add(&pd->buf, span->p, span->len);
	u32vec_push(&pd->trace_id_off, base + off.trace_id);
	u32vec_push(&pd->span_id_off, base + off.span_id);
	if (g->span.parent_span_id)
		u32vec_push(&pd->parent_id_off, base + off.parent_id);
	else
		pd->n_roots++;
	for (int i = 0; i < off.n_times; i++) {
		u32vec_push(&pd->time_off, base + off.times[i]);
		u32vec_push(&pd->time_trace, (uint32_t)(g->set->n_traces - 1));
	}
	pd->n_spans++;
}

/*---- batches ----*/

static void resource_attrs(const struct service *sv, size_t svc, uint32_t instance,
			   struct otlpgen_attrs *l)
{
	l->n = 0;
	l->text_used = 0;
	attr_str(l, "service.name", sv->name);
	attr_str(l, "service.namespace", "shop");
	attr_str(l, "service.version", "1.4.2");
	attr_strf(l, "service.instance.id", "%s-%u", sv->name, instance);
	attr_strf(l, "host.name", "node-%zu", (svc * 7 + instance) % 12);
	attr_str(l, "deployment.environment.name", "production");
	attr_str(l, "telemetry.sdk.name", "opentelemetry");
	attr_str(l, "telemetry.sdk.language", sv->language);
	attr_str(l, "telemetry.sdk.version", "1.27.0");
	attr_int(l, "process.pid", 1000 + (int64_t)(svc * 31 + instance));
}

static uint32_t *offsets_take(const struct u32vec *v, uint32_t shift)
{
	uint32_t *out = otlpgen_xrealloc(NULL, v->n * sizeof(*out));

	for (size_t i = 0; i < v->n; i++)
		out[i] = v->v[i] + shift;
	return out;
}

static struct otlpgen_template *new_template(struct gen *g)
{
	if (g->set->n == g->cap_items) {
		g->cap_items = g->cap_items ? g->cap_items * 2 : 64;
		g->set->items = otlpgen_xrealloc(g->set->items,
						 g->cap_items * sizeof(*g->set->items));
	}
	return &g->set->items[g->set->n++];
}

/* wraps a service's pending spans into one request body (a template); the
 * next batch of the service comes from its next instance. */
static void flush_pending(struct gen *g, size_t svc)
{
	struct pending *pd = &g->pending[svc];
	struct otlpgen_buf head = { 0 }, tail = { 0 };
	struct otlpgen_template *t = new_template(g);

	g->codec->head(&head, &pd->resource, pd->buf.len);
	g->codec->tail(&tail);
	t->format = g->opt->format;
	t->len = head.len + pd->buf.len + tail.len;
	t->body = otlpgen_xrealloc(NULL, t->len);
	memcpy(t->body, head.p, head.len);
	memcpy(t->body + head.len, pd->buf.p, pd->buf.len);
	if (tail.len)
		memcpy(t->body + head.len + pd->buf.len, tail.p, tail.len);
	t->n_spans = pd->n_spans;
	t->n_roots = pd->n_roots;
	t->trace_id_off = offsets_take(&pd->trace_id_off, (uint32_t)head.len);
	t->span_id_off = offsets_take(&pd->span_id_off, (uint32_t)head.len);
	t->parent_id_off = offsets_take(&pd->parent_id_off, (uint32_t)head.len);
	t->n_parents = pd->parent_id_off.n;
	t->time_off = offsets_take(&pd->time_off, (uint32_t)head.len);
	t->time_trace = offsets_take(&pd->time_trace, 0);
	t->n_times = pd->time_off.n;
	g->set->n_spans += t->n_spans;
	g->set->bytes += t->len;

	pd->buf.len = 0;
	pd->trace_id_off.n = pd->span_id_off.n = pd->parent_id_off.n = pd->time_off.n = 0;
	pd->time_trace.n = 0;
	pd->n_spans = 0;
	pd->n_roots = 0;
	resource_attrs(&g->services[svc], svc, ++pd->n_flushed % N_INSTANCES, &pd->resource);
	free(head.p);
	free(tail.p);
}

static void pending_free(struct pending *pd)
{
	free(pd->buf.p);
	free(pd->trace_id_off.v);
	free(pd->span_id_off.v);
	free(pd->parent_id_off.v);
	free(pd->time_off.v);
	free(pd->time_trace.v);
}

static const struct otlpgen_codec *codec_of(enum otlpgen_format format)
{
	switch (format) {
	case OTLPGEN_OTLP_JSON:
		return &otlpgen_codec_otlp_json;
	case OTLPGEN_ZIPKIN_JSON:
		return &otlpgen_codec_zipkin_json;
	case OTLPGEN_OTLP_PROTO:
		break;
	}
	return &otlpgen_codec_otlp_proto;
}

/* checks the options the caller must have checked, and sets up g. */
static void gen_init(struct gen *g, const struct otlpgen_options *opt,
		     struct service_table *table, struct otlpgen_set *out)
{
	uint32_t n_services = opt->n_services ? opt->n_services : OTLPGEN_SERVICES_DEFAULT;

	memset(g, 0, sizeof(*g));
	memset(out, 0, sizeof(*out));
	g->trace_spans_min = MIN_SPANS;
	g->trace_spans_max = MAX_SPANS;
	if (opt->trace_spans_max) {
		if (opt->trace_spans_min < 1 || opt->trace_spans_min > opt->trace_spans_max ||
		    opt->trace_spans_max > OTLPGEN_TRACE_SPANS_LIMIT)
			abort();   /* the caller checks the range */
		g->trace_spans_min = (int)opt->trace_spans_min;
		g->trace_spans_max = (int)opt->trace_spans_max;
	}
	if (n_services > OTLPGEN_SERVICES_LIMIT)
		abort();
	g->entry = opt->entry_service ? otlpgen_service_index(n_services, opt->entry_service) : -1;
	if (opt->entry_service && g->entry < 0)
		abort();   /* the caller checks the name */
	service_table_init(table, n_services);
	g->services = table->v;
	g->n_services = n_services;
	g->pending = otlpgen_xrealloc(NULL, n_services * sizeof(*g->pending));
	memset(g->pending, 0, n_services * sizeof(*g->pending));
	for (uint32_t s = 0; s < n_services; s++)
		resource_attrs(&g->services[s], s, 0, &g->pending[s].resource);
	rng_seed(&g->rng, opt->seed);
	g->opt = opt;
	g->codec = codec_of(opt->format);
	g->set = out;
}

/* whether the options ask for another trace */
static int wants_trace(const struct gen *g)
{
	if (g->opt->n_traces)
		return g->set->n_traces < g->opt->n_traces;
	return g->full_spans < g->opt->min_spans;
}

void otlpgen_generate(const struct otlpgen_options *opt, struct otlpgen_set *out)
{
	struct gen *g = otlpgen_xrealloc(NULL, sizeof(*g));
	struct service_table table;
	struct gen_span *sp;
	uint8_t trace_id[OTLPGEN_TRACE_ID_LEN];
	uint32_t per_batch = opt->spans_per_batch ? opt->spans_per_batch : 1;

	gen_init(g, opt, &table, out);
	sp = otlpgen_xrealloc(NULL, (size_t)(g->trace_spans_max + 1) * sizeof(*sp));
	while (wants_trace(g)) {
		int n = gen_trace(g, sp);

		rng_bytes(&g->rng, trace_id, sizeof(trace_id));
		out->n_traces++;
		for (int i = 0; i < n; i++) {
			struct pending *pd = &g->pending[sp[i].service];

			describe_span(g, trace_id, sp, i);
			pending_add(g, pd);
			if (pd->n_spans == per_batch) {
				flush_pending(g, sp[i].service);
				g->full_spans += per_batch;
			}
		}
	}
	for (uint32_t s = 0; s < g->n_services; s++) {
		if (g->pending[s].n_spans)
			flush_pending(g, s);
		pending_free(&g->pending[s]);
	}
	free(g->pending);
	service_table_free(&table);
	free(g->span_buf.p);
	free(sp);
	free(g);
}

void otlpgen_free(struct otlpgen_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct otlpgen_template *t = &set->items[i];

		free(t->body);
		free(t->trace_id_off);
		free(t->span_id_off);
		free(t->parent_id_off);
		free(t->time_off);
		free(t->time_trace);
	}
	free(set->items);
	memset(set, 0, sizeof(*set));
}

/*---- formats ----*/

static const char *const format_names[] = {
	[OTLPGEN_OTLP_PROTO] = "otlp-proto",
	[OTLPGEN_OTLP_JSON] = "otlp-json",
	[OTLPGEN_ZIPKIN_JSON] = "zipkin-json",
};

int otlpgen_format_parse(const char *name, enum otlpgen_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum otlpgen_format)i;
			return 0;
		}
	}
	return -1;
}

const char *otlpgen_format_name(enum otlpgen_format format)
{
	return format_names[format];
}

/*---- rounds ----*/

void otlpgen_round_init(struct otlpgen_round *r, uint64_t seed, uint64_t round)
{
	uint64_t x = seed ^ (round * 0xD1B54A32D192ED03ull);
	uint64_t w[3];

	for (int i = 0; i < 3; i++)
		w[i] = splitmix64(&x);
	memcpy(r->trace_mask, w, sizeof(r->trace_mask));
	memcpy(r->span_mask, &w[2], sizeof(r->span_mask));
	r->time_shift_ns = 0;
	r->trace_step_ns = 0;
}

static void xor_bytes(unsigned char *dst, const uint8_t *mask, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] ^= mask[i];
}

static void add_le64(unsigned char *p, uint64_t delta)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	v += delta;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static const char hex_digits[] = "0123456789abcdef";

static unsigned hex_value(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* XORs the len bytes written as 2 * len lowercase hex digits at dst. */
static void xor_hex(unsigned char *dst, const uint8_t *mask, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		dst[2 * i] = (unsigned char)hex_digits[hex_value(dst[2 * i]) ^ (mask[i] >> 4)];
		dst[2 * i + 1] = (unsigned char)hex_digits[hex_value(dst[2 * i + 1]) ^ (mask[i] & 15)];
	}
}

/* adds delta to the decimal number at p, keeping its width (the templates'
 * times have 16 or 19 digits; a carry into a new digit is not applied). */
static void add_decimal(unsigned char *p, uint64_t delta)
{
	uint64_t v = 0, limit = 1;
	size_t width = 0;

	while (width < 19 && p[width] >= '0' && p[width] <= '9') {
		v = v * 10 + (uint64_t)(p[width++] - '0');
		limit *= 10;
	}
	if (delta >= limit - v)
		return;
	v += delta;
	while (width-- > 0) {
		p[width] = (unsigned char)('0' + v % 10);
		v /= 10;
	}
}

/* how far time i of a template moves in a round. */
static uint64_t time_shift(const struct otlpgen_template *t, const struct otlpgen_round *r,
			   size_t i)
{
	return r->time_shift_ns + r->trace_step_ns * t->time_trace[i];
}

static void patch_binary(const struct otlpgen_template *t, const struct otlpgen_round *r,
			 unsigned char *dst)
{
	for (uint32_t i = 0; i < t->n_spans; i++) {
		xor_bytes(dst + t->trace_id_off[i], r->trace_mask, OTLPGEN_TRACE_ID_LEN);
		xor_bytes(dst + t->span_id_off[i], r->span_mask, OTLPGEN_SPAN_ID_LEN);
	}
	for (size_t i = 0; i < t->n_parents; i++)
		xor_bytes(dst + t->parent_id_off[i], r->span_mask, OTLPGEN_SPAN_ID_LEN);
	if (r->time_shift_ns || r->trace_step_ns)
		for (size_t i = 0; i < t->n_times; i++)
			add_le64(dst + t->time_off[i], time_shift(t, r, i));
}

static void patch_text(const struct otlpgen_template *t, const struct otlpgen_round *r,
		       unsigned char *dst)
{
	uint64_t unit = t->format == OTLPGEN_ZIPKIN_JSON ? 1000 : 1;

	for (uint32_t i = 0; i < t->n_spans; i++) {
		xor_hex(dst + t->trace_id_off[i], r->trace_mask, OTLPGEN_TRACE_ID_LEN);
		xor_hex(dst + t->span_id_off[i], r->span_mask, OTLPGEN_SPAN_ID_LEN);
	}
	for (size_t i = 0; i < t->n_parents; i++)
		xor_hex(dst + t->parent_id_off[i], r->span_mask, OTLPGEN_SPAN_ID_LEN);
	if (r->time_shift_ns || r->trace_step_ns)
		for (size_t i = 0; i < t->n_times; i++)
			add_decimal(dst + t->time_off[i], time_shift(t, r, i) / unit);
}

void otlpgen_patch(const struct otlpgen_template *t, const struct otlpgen_round *r,
		   unsigned char *dst)
{
	if (t->format == OTLPGEN_OTLP_PROTO)
		patch_binary(t, r, dst);
	else
		patch_text(t, r, dst);
}

static void hex_of(char *out, const unsigned char *id, size_t len, int is_hex)
{
	if (is_hex) {
		memcpy(out, id, 2 * len);
	} else {
		for (size_t k = 0; k < len; k++) {
			out[2 * k] = hex_digits[id[k] >> 4];
			out[2 * k + 1] = hex_digits[id[k] & 15];
		}
	}
	out[2 * len] = 0;
}

void otlpgen_span_ids_hex(const struct otlpgen_template *t, const unsigned char *body,
			  uint32_t i, char trace_hex[OTLPGEN_TRACE_ID_LEN * 2 + 1],
			  char span_hex[OTLPGEN_SPAN_ID_LEN * 2 + 1])
{
	int is_hex = t->format != OTLPGEN_OTLP_PROTO;

	hex_of(trace_hex, body + t->trace_id_off[i], OTLPGEN_TRACE_ID_LEN, is_hex);
	hex_of(span_hex, body + t->span_id_off[i], OTLPGEN_SPAN_ID_LEN, is_hex);
}
