/* demo.c - `tracemap demo`: a made-up shop's traces, sent as its SDKs would.
 *
 * Four parts: the shop (services, and the requests it serves, as a
 * generator of whole traces), the OTLP encoders (JSON and protobuf), a
 * minimal HTTP/1.1 client, and the loop that paces traces at the wall
 * clock and exports ended spans per service every 200 ms.  See demo.h. */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tracemap_version.h"

#define US 1000ull
#define MS 1000000ull
#define SEC 1000000000ull

/*---- random numbers: xoshiro256**, seeded by splitmix64 ----*/

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(uint64_t s[4])
{
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static uint64_t rnd(struct tm_demo_gen *g)
{
	return next(g->s);
}

/* uniform in [lo, hi] */
static uint64_t between(struct tm_demo_gen *g, uint64_t lo, uint64_t hi)
{
	return lo + rnd(g) % (hi - lo + 1);
}

static int chance(struct tm_demo_gen *g, double p)
{
	return (double)(rnd(g) >> 11) * 0x1.0p-53 < p;
}

/* a latency in [lo, hi] µs, with the long tail real calls have */
static uint64_t lat(struct tm_demo_gen *g, uint64_t lo_us, uint64_t hi_us)
{
	uint64_t ns = between(g, lo_us * US, hi_us * US);
	return chance(g, 0.03) ? ns * between(g, 2, 4) : ns;
}

static void random_id(struct tm_demo_gen *g, uint8_t *id, size_t len)
{
	do {
		for (size_t i = 0; i < len; i++)
			id[i] = (uint8_t)(next(g->ids) >> 32);
	} while (tm_id_is_zero(id, len));
}

void tm_demo_gen_init(struct tm_demo_gen *g, uint64_t seed, uint64_t id_seed)
{
	uint64_t x = seed, y = id_seed ^ 0x5851f42d4c957f2dull;
	for (size_t i = 0; i < 4; i++) {
		g->s[i] = splitmix64(&x);
		g->ids[i] = splitmix64(&y);
	}
	g->charges = 0;
	g->slow_slot = (unsigned)between(g, 0, TM_DEMO_SLOW_EVERY - 1);
}

/*---- the shop: services, their SDKs and instrumentation libraries ----*/

enum lang { LANG_NODE, LANG_GO, LANG_JAVA, LANG_PYTHON, N_LANGS };

/* instrumentation scopes, one per kind of library */
enum scope { SC_HTTP_SERVER, SC_HTTP_CLIENT, SC_GRPC, SC_PG, SC_REDIS, SC_KAFKA, SC_APP,
	     N_SCOPES };

struct service_def {
	const char *name, *version, *host;
	enum lang lang;
};

static const struct service_def services[TM_DEMO_N_SERVICES] = {
	[TM_DEMO_FRONTEND] = { "frontend", "2.14.1", "frontend-6c9d7b8f4-kx2mp", LANG_NODE },
	[TM_DEMO_GATEWAY] = { "api-gateway", "1.8.0", "api-gateway-5f7c9d6b8-q4wzn", LANG_GO },
	[TM_DEMO_AUTH] = { "auth", "3.2.5", "auth-7b5d8c9f6-h2lrt", LANG_GO },
	[TM_DEMO_CATALOG] = { "catalog", "4.1.0", "catalog-84f6b7c5d-9vjqs", LANG_JAVA },
	[TM_DEMO_SEARCH] = { "search", "1.12.3", "search-69c8d5f7b-tw3xk", LANG_PYTHON },
	[TM_DEMO_CART] = { "cart", "2.3.7", "cart-5d9b7f6c8-mz8pd", LANG_NODE },
	[TM_DEMO_CHECKOUT] = { "checkout", "5.0.2", "checkout-7f8c6d5b9-rq6nh", LANG_JAVA },
	[TM_DEMO_PRICING] = { "pricing", "1.4.9", "pricing-6b7d9c8f5-c5kfw", LANG_GO },
	[TM_DEMO_INVENTORY] = { "inventory", "2.7.1", "inventory-58c7b6d9f-x7gbl", LANG_JAVA },
	[TM_DEMO_PAYMENTS] = { "payments", "3.9.0", "payments-7c9f5b6d8-p4sjm", LANG_GO },
	[TM_DEMO_SHIPPING] = { "shipping", "1.6.4", "shipping-6f5d8b7c9-n2hvz", LANG_PYTHON },
	[TM_DEMO_NOTIFICATIONS] = { "notifications", "1.1.8", "notifications-5b8c7d6f9-w9qtc",
				    LANG_NODE },
	[TM_DEMO_RECOMMENDATIONS] = { "recommendations", "0.9.3",
				      "recommendations-7d6c9b8f5-j6mrx", LANG_PYTHON },
};

struct lang_def {
	const char *sdk, *sdk_version, *scope_version;
	int json;                            /* its exporter's protocol */
	const char *scopes[N_SCOPES];
};

static const struct lang_def langs[N_LANGS] = {
	[LANG_NODE] = { "nodejs", "1.30.1", "0.57.2", 1, {
		"@opentelemetry/instrumentation-http", "@opentelemetry/instrumentation-http",
		"@opentelemetry/instrumentation-grpc", "@opentelemetry/instrumentation-pg",
		"@opentelemetry/instrumentation-ioredis", "@opentelemetry/instrumentation-kafkajs",
		"shop" } },
	[LANG_GO] = { "go", "1.34.0", "0.59.0", 0, {
		"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
		"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
		"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
		"github.com/exaring/otelpgx", "github.com/redis/go-redis/extra/redisotel",
		"github.com/IBM/sarama/otelsarama", "shop" } },
	[LANG_JAVA] = { "java", "1.46.0", "2.12.0-alpha", 0, {
		"io.opentelemetry.tomcat-10.0", "io.opentelemetry.java-http-client",
		"io.opentelemetry.grpc-1.6", "io.opentelemetry.jdbc",
		"io.opentelemetry.lettuce-5.1",
		"io.opentelemetry.kafka-clients-0.11", "shop" } },
	[LANG_PYTHON] = { "python", "1.29.0", "0.50b0", 1, {
		"opentelemetry.instrumentation.fastapi", "opentelemetry.instrumentation.httpx",
		"opentelemetry.instrumentation.grpc", "opentelemetry.instrumentation.psycopg",
		"opentelemetry.instrumentation.redis",
		"opentelemetry.instrumentation.confluent_kafka",
		"shop" } },
};

const char *tm_demo_service_name(unsigned service)
{
	return service < TM_DEMO_N_SERVICES ? services[service].name : "";
}

int tm_demo_service_json(unsigned service)
{
	return service < TM_DEMO_N_SERVICES && langs[services[service].lang].json;
}

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
	"Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/126.0.0.0 Mobile Safari/537.36",
};

/*---- building one trace ----*/

/* one trace being made */
struct tctx {
	struct tm_demo_gen *g;
	struct tm_demo_trace *t;
	uint8_t trace_id[TM_TRACE_ID_LEN];
	unsigned user, product;     /* who asks for what, for keys and queries */
};

#define NO_PARENT ((size_t)-1)

static struct tm_demo_span *S(struct tctx *x, size_t i)
{
	return &x->t->spans[i];
}

/* a new span, open until span_close(); the trace never holds more than
 * TM_DEMO_MAX_SPANS (the flows stay well below: test_demo checks) */
static size_t span_open(struct tctx *x, size_t parent, unsigned svc, enum scope scope,
			unsigned kind, const char *name, uint64_t start)
{
	size_t i = x->t->n < TM_DEMO_MAX_SPANS ? x->t->n++ : TM_DEMO_MAX_SPANS - 1;
	struct tm_demo_span *s = S(x, i);
	memset(s, 0, offsetof(struct tm_demo_span, attrs));
	s->n_attrs = s->n_event_attrs = 0;
	s->text_len = 0;
	memcpy(s->trace_id, x->trace_id, TM_TRACE_ID_LEN);
	random_id(x->g, s->span_id, TM_SPAN_ID_LEN);
	if (parent != NO_PARENT) {
		memcpy(s->parent_span_id, S(x, parent)->span_id, TM_SPAN_ID_LEN);
		s->has_parent = 1;
		s->remote_parent = S(x, parent)->service != svc;
	}
	s->service = (uint8_t)svc;
	s->scope = (uint8_t)scope;
	s->kind = (uint8_t)kind;
	s->name = name;
	s->start_ns = s->end_ns = start;
	return i;
}

static void span_close(struct tctx *x, size_t i, uint64_t end)
{
	S(x, i)->end_ns = end > S(x, i)->start_ns ? end : S(x, i)->start_ns + US;
}

static struct tm_demo_attr *attr_add(struct tm_demo_attr *list, uint8_t *n, size_t max,
				     const char *key, uint8_t type)
{
	if (*n >= max)
		return NULL;
	struct tm_demo_attr *a = &list[(*n)++];
	a->key = key;
	a->type = type;
	a->off = a->len = 0;
	a->num = 0;
	return a;
}

/* formats a string value into the span's text */
static void text_put(struct tm_demo_span *s, struct tm_demo_attr *a, const char *fmt,
		     va_list ap)
{
	size_t room = sizeof(s->text) - s->text_len;
	int n = room ? vsnprintf(s->text + s->text_len, room, fmt, ap) : 0;
	size_t len = n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
	a->off = s->text_len;
	a->len = (uint16_t)len;
	s->text_len = (uint16_t)(s->text_len + len);
}

static void attr_str(struct tctx *x, size_t i, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void attr_str(struct tctx *x, size_t i, const char *key, const char *fmt, ...)
{
	struct tm_demo_span *s = S(x, i);
	struct tm_demo_attr *a = attr_add(s->attrs, &s->n_attrs, TM_DEMO_MAX_ATTRS, key,
					  TM_DEMO_STR);
	if (!a)
		return;
	va_list ap;
	va_start(ap, fmt);
	text_put(s, a, fmt, ap);
	va_end(ap);
}

static void attr_int(struct tctx *x, size_t i, const char *key, int64_t v)
{
	struct tm_demo_span *s = S(x, i);
	struct tm_demo_attr *a = attr_add(s->attrs, &s->n_attrs, TM_DEMO_MAX_ATTRS, key,
					  TM_DEMO_INT);
	if (a)
		a->num = v;
}

static void event_str(struct tm_demo_span *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void event_str(struct tm_demo_span *s, const char *key, const char *fmt, ...)
{
	struct tm_demo_attr *a = attr_add(s->event_attrs, &s->n_event_attrs,
					  TM_DEMO_MAX_EVENT_ATTRS, key, TM_DEMO_STR);
	if (!a)
		return;
	va_list ap;
	va_start(ap, fmt);
	text_put(s, a, fmt, ap);
	va_end(ap);
}

/* status ERROR; with an exception event when type is given */
static void span_fail(struct tctx *x, size_t i, const char *message, const char *type,
		      const char *exception)
{
	struct tm_demo_span *s = S(x, i);
	s->status_code = TM_STATUS_ERROR;
	s->status_message = message;
	x->t->failed = 1;
	if (!type)
		return;
	s->has_event = 1;
	s->event_ns = s->end_ns > s->start_ns + 2 * US ? s->end_ns - US : s->start_ns;
	event_str(s, "exception.type", "%s", type);
	event_str(s, "exception.message", "%s", exception);
}

static uint64_t hop(struct tctx *x)
{
	return lat(x->g, 150, 600);
}

/*---- calls between services, and to what sends no spans ----*/

/* a client span and the server span of the callee inside it */
struct call {
	size_t client, server;
	uint64_t at;                /* the server span's start */
};

static const char *method_of(const char *name)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);
		if (!strncmp(name, methods[i], n) && name[n] == ' ')
			return methods[i];
	}
	return "GET";
}

/* an HTTP call: name is the server span's "METHOD /route", path the URL's */
static struct call http_call(struct tctx *x, size_t parent, unsigned callee, const char *name,
			     const char *path, uint64_t at)
{
	const char *method = method_of(name), *route = strchr(name, ' ') + 1;
	const char *host = services[callee].name;
	size_t c = span_open(x, parent, S(x, parent)->service, SC_HTTP_CLIENT, TM_KIND_CLIENT,
			     method, at);
	attr_str(x, c, "http.request.method", "%s", method);
	attr_str(x, c, "server.address", "%s", host);
	attr_int(x, c, "server.port", 8080);
	attr_str(x, c, "url.full", "http://%s:8080%s", host, path);
	uint64_t s0 = at + hop(x);
	size_t s = span_open(x, c, callee, SC_HTTP_SERVER, TM_KIND_SERVER, name, s0);
	attr_str(x, s, "http.request.method", "%s", method);
	attr_str(x, s, "http.route", "%s", route);
	attr_str(x, s, "url.path", "%s", path);
	attr_str(x, s, "url.scheme", "http");
	attr_str(x, s, "server.address", "%s", host);
	attr_int(x, s, "server.port", 8080);
	attr_str(x, s, "network.protocol.version", "1.1");
	attr_str(x, s, "client.address", "10.42.%u.%u", (unsigned)S(x, parent)->service + 1,
		 (unsigned)between(x->g, 2, 250));
	return (struct call){ c, s, s0 };
}

/* closes both spans of an HTTP call whose server answered `status` at end;
 * returns the client span's end */
static uint64_t http_return(struct tctx *x, struct call c, uint64_t end, int status)
{
	attr_int(x, c.server, "http.response.status_code", status);
	span_close(x, c.server, end);
	if (status >= 500)
		span_fail(x, c.server, NULL, NULL, NULL);
	uint64_t cend = end + hop(x);
	attr_int(x, c.client, "http.response.status_code", status);
	span_close(x, c.client, cend);
	if (status >= 400) {
		attr_str(x, c.client, "error.type", "%d", status);
		span_fail(x, c.client, NULL, NULL, NULL);
	}
	return cend;
}

/* a gRPC call, full = "package.Service/Method" */
static struct call grpc_call(struct tctx *x, size_t parent, unsigned callee, const char *full,
			     uint64_t at)
{
	const char *slash = strchr(full, '/');
	int svc_len = (int)(slash - full);
	size_t c = span_open(x, parent, S(x, parent)->service, SC_GRPC, TM_KIND_CLIENT, full, at);
	uint64_t s0 = at + hop(x);
	size_t s = span_open(x, c, callee, SC_GRPC, TM_KIND_SERVER, full, s0);
	size_t both[2] = { c, s };
	for (size_t k = 0; k < 2; k++) {
		size_t i = both[k];
		attr_str(x, i, "rpc.system", "grpc");
		attr_str(x, i, "rpc.service", "%.*s", svc_len, full);
		attr_str(x, i, "rpc.method", "%s", slash + 1);
		attr_str(x, i, "server.address", "%s", services[callee].name);
		attr_int(x, i, "server.port", 50051);
	}
	return (struct call){ c, s, s0 };
}

/* server side: these codes are the server's fault (semantic conventions) */
static int grpc_server_error(int code)
{
	return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

static uint64_t grpc_return(struct tctx *x, struct call c, uint64_t end, int code)
{
	attr_int(x, c.server, "rpc.grpc.status_code", code);
	span_close(x, c.server, end);
	if (grpc_server_error(code))
		span_fail(x, c.server, NULL, NULL, NULL);
	uint64_t cend = end + hop(x);
	attr_int(x, c.client, "rpc.grpc.status_code", code);
	span_close(x, c.client, cend);
	if (code)
		span_fail(x, c.client, code == 16 ? "UNAUTHENTICATED" : "UNAVAILABLE", NULL, NULL);
	return cend;
}

/* a query to the PostgreSQL database "shop"; name is "OPERATION table" */
static size_t sql(struct tctx *x, size_t parent, const char *name, const char *query,
		  uint64_t at, uint64_t dur)
{
	const char *space = strchr(name, ' ');
	size_t q = span_open(x, parent, S(x, parent)->service, SC_PG, TM_KIND_CLIENT, name, at);
	attr_str(x, q, "db.system.name", "postgresql");
	attr_str(x, q, "db.namespace", "shop");
	attr_str(x, q, "db.operation.name", "%.*s", (int)(space - name), name);
	attr_str(x, q, "db.collection.name", "%s", space + 1);
	attr_str(x, q, "db.query.text", "%s", query);
	span_close(x, q, at + dur);
	return q;
}

static uint64_t sql_end(struct tctx *x, size_t parent, const char *name, const char *query,
			uint64_t at, uint64_t lo_us, uint64_t hi_us)
{
	return S(x, sql(x, parent, name, query, at, lat(x->g, lo_us, hi_us)))->end_ns;
}

/* a command to the Redis cache; cmd is static, key formatted */
static uint64_t redis(struct tctx *x, size_t parent, const char *cmd, const char *key,
		      unsigned id, uint64_t at)
{
	size_t r = span_open(x, parent, S(x, parent)->service, SC_REDIS, TM_KIND_CLIENT, cmd, at);
	attr_str(x, r, "db.system", "redis");
	attr_str(x, r, "db.operation.name", "%s", cmd);
	attr_str(x, r, "db.query.text", "%s %s:%u", cmd, key, id);
	attr_str(x, r, "server.address", "cache");
	attr_int(x, r, "server.port", 6379);
	span_close(x, r, at + lat(x->g, 150, 900));
	return S(x, r)->end_ns;
}

static size_t internal(struct tctx *x, size_t parent, const char *name, uint64_t at,
		       uint64_t dur)
{
	size_t i = span_open(x, parent, S(x, parent)->service, SC_APP, TM_KIND_INTERNAL, name, at);
	span_close(x, i, at + dur);
	return i;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*---- what the services do ----*/

/* api-gateway asks auth whether the session is valid; *denied: 401 */
static uint64_t auth_check(struct tctx *x, size_t gw, uint64_t at, double deny, int *denied)
{
	struct call c = grpc_call(x, gw, TM_DEMO_AUTH, "shop.auth.v1.AuthService/Check", at);
	uint64_t t = redis(x, c.server, "GET", "session", x->user, c.at + lat(x->g, 30, 120));
	if (chance(x->g, 0.04))
		t = sql_end(x, c.server, "SELECT sessions", "SELECT user_id, expires_at FROM "
			    "sessions WHERE token_hash = $1", t + lat(x->g, 20, 80), 900, 4000);
	*denied = chance(x->g, deny);
	return grpc_return(x, c, t + lat(x->g, 100, 400), *denied ? 16 : 0);
}

static uint64_t pricing_quote(struct tctx *x, size_t parent, uint64_t at)
{
	struct call c = grpc_call(x, parent, TM_DEMO_PRICING,
				  "shop.pricing.v1.PricingService/Quote", at);
	uint64_t t = sql_end(x, c.server, "SELECT prices", "SELECT product_id, amount_cents, "
			     "currency FROM prices WHERE product_id = ANY($1)",
			     c.at + lat(x->g, 40, 150), 800, 5000);
	return grpc_return(x, c, t + lat(x->g, 200, 900), 0);
}

static uint64_t recommendations(struct tctx *x, size_t parent, uint64_t at)
{
	static const char method[] =
		"shop.recommendations.v1.RecommendationService/ListRecommendations";
	struct call c = grpc_call(x, parent, TM_DEMO_RECOMMENDATIONS, method, at);
	uint64_t t = redis(x, c.server, "GET", "recs:user", x->user, c.at + lat(x->g, 80, 300));
	t = S(x, internal(x, c.server, "score candidates", t + lat(x->g, 50, 200),
			  lat(x->g, 3000, 12000)))->end_ns;
	return grpc_return(x, c, t + lat(x->g, 100, 500), 0);
}

/* catalog: one product (cache first) or the featured list */
static uint64_t catalog(struct tctx *x, size_t parent, uint64_t at, int featured)
{
	char path[64];
	snprintf(path, sizeof(path), featured ? "/products/featured" : "/products/%u", x->product);
	const char *name = featured ? "GET /products/featured" : "GET /products/{id}";
	struct call c = http_call(x, parent, TM_DEMO_CATALOG, name, path, at);
	uint64_t t = redis(x, c.server, "GET", featured ? "catalog:featured" : "product",
			   featured ? 1 : x->product, c.at + lat(x->g, 100, 400));
	if (chance(x->g, featured ? 0.1 : 0.2)) {
		const char *q = featured
			? "SELECT id, name, price_cents, image_url FROM products WHERE featured "
			  "ORDER BY rank LIMIT 12"
			: "SELECT id, name, description, price_cents, image_url FROM products "
			  "WHERE id = $1";
		t = sql_end(x, c.server, "SELECT products", q, t + lat(x->g, 50, 200), 1500, 9000);
		t = redis(x, c.server, "SET", featured ? "catalog:featured" : "product",
			  featured ? 1 : x->product, t + lat(x->g, 50, 200));
	}
	return http_return(x, c, t + lat(x->g, 300, 1500), 200);
}

/* inventory: stock of a product, or a reservation (0.5% time out) */
static uint64_t inventory(struct tctx *x, size_t parent, uint64_t at, int reserve, int *status)
{
	char path[64];
	snprintf(path, sizeof(path), reserve ? "/stock/reservations" : "/stock/%u", x->product);
	const char *name = reserve ? "POST /stock/reservations" : "GET /stock/{id}";
	struct call c = http_call(x, parent, TM_DEMO_INVENTORY, name, path, at);
	int timeout = chance(x->g, 0.005);
	size_t q = sql(x, c.server, reserve ? "UPDATE stock" : "SELECT stock", reserve
		       ? "UPDATE stock SET reserved = reserved + $2 WHERE product_id = $1 AND "
			 "quantity - reserved >= $2"
		       : "SELECT quantity, reserved, warehouse_id FROM stock WHERE product_id = $1",
		       c.at + lat(x->g, 100, 400),
		       timeout ? between(x->g, 2000, 2100) * MS : lat(x->g, 1000, 6000));
	*status = 200;
	if (timeout) {
		span_fail(x, q, "canceling statement due to statement timeout",
			  "org.postgresql.util.PSQLException",
			  "ERROR: canceling statement due to statement timeout");
		*status = 500;
	}
	uint64_t end = S(x, q)->end_ns + lat(x->g, 200, 800);
	uint64_t cend = http_return(x, c, end, *status);
	if (timeout)
		span_fail(x, c.server, "statement timeout", "org.postgresql.util.PSQLException",
			  "ERROR: canceling statement due to statement timeout");
	return cend;
}

/* the frontend's own server span for a page, and its call to api-gateway */
static size_t frontend_open(struct tctx *x, const char *name, const char *path, uint64_t t0)
{
	size_t r = span_open(x, NO_PARENT, TM_DEMO_FRONTEND, SC_HTTP_SERVER, TM_KIND_SERVER, name,
			     t0);
	const char *method = method_of(name);
	attr_str(x, r, "http.request.method", "%s", method);
	attr_str(x, r, "http.route", "%s", strchr(name, ' ') + 1);
	attr_str(x, r, "url.path", "%s", path);
	attr_str(x, r, "url.scheme", "https");
	attr_str(x, r, "server.address", "shop.example.com");
	attr_int(x, r, "server.port", 443);
	attr_str(x, r, "network.protocol.version", "1.1");
	attr_str(x, r, "client.address", "203.0.113.%u", (unsigned)between(x->g, 1, 254));
	attr_str(x, r, "user_agent.original", "%s",
		 user_agents[between(x->g, 0, sizeof(user_agents) / sizeof(user_agents[0]) - 1)]);
	return r;
}

/* renders what the gateway answered, and closes the root */
static void frontend_close(struct tctx *x, size_t root, uint64_t t, int status,
			   const char *render)
{
	if (status < 400)
		t = S(x, internal(x, root, render, t + lat(x->g, 50, 200),
				  lat(x->g, 1500, 8000)))->end_ns;
	attr_int(x, root, "http.response.status_code", status);
	span_close(x, root, t + lat(x->g, 100, 500));
	if (status >= 500)
		span_fail(x, root, NULL, NULL, NULL);
}

/*---- the five requests ----*/

static void flow_home(struct tctx *x, uint64_t t0)
{
	size_t root = frontend_open(x, "GET /", "/", t0);
	struct call gw = http_call(x, root, TM_DEMO_GATEWAY, "GET /api/home", "/api/home",
				   t0 + lat(x->g, 300, 1200));
	int denied;
	uint64_t t = auth_check(x, gw.server, gw.at + lat(x->g, 50, 200), 0, &denied);
	uint64_t e = catalog(x, gw.server, t + lat(x->g, 20, 80), 1);
	e = max_u64(e, recommendations(x, gw.server, t + lat(x->g, 20, 120)));
	e = max_u64(e, pricing_quote(x, gw.server, t + lat(x->g, 20, 160)));
	t = http_return(x, gw, e + lat(x->g, 100, 400), 200);
	frontend_close(x, root, t, 200, "render home");
}

static void flow_search(struct tctx *x, uint64_t t0)
{
	static const char *const words[] = { "shoes", "jacket", "lamp", "headphones", "mug" };
	size_t root = frontend_open(x, "GET /search", "/search", t0);
	attr_str(x, root, "url.query", "q=%s", words[between(x->g, 0, 4)]);
	struct call gw = http_call(x, root, TM_DEMO_GATEWAY, "GET /api/search", "/api/search",
				   t0 + lat(x->g, 300, 1200));
	int denied, status = 200;
	uint64_t t = auth_check(x, gw.server, gw.at + lat(x->g, 50, 200), 0, &denied);
	struct call s = http_call(x, gw.server, TM_DEMO_SEARCH, "GET /search", "/search",
				  t + lat(x->g, 50, 200));
	t = S(x, internal(x, s.server, "parse query", s.at + lat(x->g, 50, 200),
			  lat(x->g, 200, 900)))->end_ns;
	t = sql_end(x, s.server, "SELECT product_search", "SELECT product_id, ts_rank(document, "
		    "query) AS rank FROM product_search, plainto_tsquery($1) query WHERE document "
		    "@@ query ORDER BY rank DESC LIMIT 50", t + lat(x->g, 50, 150), 3000, 18000);
	int broken = chance(x->g, 0.015);
	size_t rank = internal(x, s.server, "rank results", t + lat(x->g, 50, 150),
			       broken ? between(x->g, 250, 260) * MS : lat(x->g, 4000, 15000));
	if (broken) {
		span_fail(x, rank, "ranking model timed out", "TimeoutError",
			  "ranking model did not answer within 250 ms");
		status = 503;
	}
	t = http_return(x, s, S(x, rank)->end_ns + lat(x->g, 200, 800), status);
	if (!broken)
		t = pricing_quote(x, gw.server, t + lat(x->g, 50, 200));
	t = http_return(x, gw, t + lat(x->g, 100, 400), status);
	frontend_close(x, root, t, status, "render results");
}

static void flow_product(struct tctx *x, uint64_t t0)
{
	char path[64];
	snprintf(path, sizeof(path), "/product/%u", x->product);
	size_t root = frontend_open(x, "GET /product/:id", path, t0);
	snprintf(path, sizeof(path), "/api/products/%u", x->product);
	struct call gw = http_call(x, root, TM_DEMO_GATEWAY, "GET /api/products/{id}", path,
				   t0 + lat(x->g, 300, 1200));
	int denied, status;
	uint64_t t = auth_check(x, gw.server, gw.at + lat(x->g, 50, 200), 0, &denied);
	/* the page's three parts at once */
	uint64_t e = catalog(x, gw.server, t + lat(x->g, 20, 80), 0);
	e = max_u64(e, recommendations(x, gw.server, t + lat(x->g, 20, 120)));
	e = max_u64(e, pricing_quote(x, gw.server, t + lat(x->g, 20, 160)));
	t = inventory(x, gw.server, e + lat(x->g, 50, 200), 0, &status);
	t = http_return(x, gw, t + lat(x->g, 100, 400), status);
	frontend_close(x, root, t, status, "render product");
}

static void flow_add_to_cart(struct tctx *x, uint64_t t0)
{
	size_t root = frontend_open(x, "POST /cart", "/cart", t0);
	struct call gw = http_call(x, root, TM_DEMO_GATEWAY, "POST /api/cart/items",
				   "/api/cart/items", t0 + lat(x->g, 300, 1200));
	int denied, status = 401;
	uint64_t t = auth_check(x, gw.server, gw.at + lat(x->g, 50, 200), 0.02, &denied);
	if (!denied)
		t = inventory(x, gw.server, t + lat(x->g, 50, 200), 0, &status);
	if (!denied && status == 200) {
		struct call c = http_call(x, gw.server, TM_DEMO_CART, "POST /cart/items",
					  "/cart/items", t + lat(x->g, 50, 200));
		t = redis(x, c.server, "HGETALL", "cart", x->user, c.at + lat(x->g, 100, 300));
		t = redis(x, c.server, "HSET", "cart", x->user, t + lat(x->g, 100, 400));
		t = http_return(x, c, t + lat(x->g, 200, 800), 200);
	}
	t = http_return(x, gw, t + lat(x->g, 100, 400), status);
	frontend_close(x, root, t, status, "render cart");
}

/* payments: the card charge at api.stripe.com, slow in one in
 * TM_DEMO_SLOW_EVERY (which one of each block is drawn at random) */
static int charge_is_slow(struct tm_demo_gen *g)
{
	uint64_t k = g->charges++;
	int slow = k % TM_DEMO_SLOW_EVERY == g->slow_slot;
	if (k % TM_DEMO_SLOW_EVERY == TM_DEMO_SLOW_EVERY - 1)
		g->slow_slot = (unsigned)between(g, 0, TM_DEMO_SLOW_EVERY - 1);
	return slow;
}

static uint64_t charge_card(struct tctx *x, size_t parent, uint64_t at, int *declined)
{
	size_t c = span_open(x, parent, TM_DEMO_PAYMENTS, SC_APP, TM_KIND_CLIENT, "charge card",
			     at);
	attr_str(x, c, "http.request.method", "POST");
	attr_str(x, c, "server.address", "api.stripe.com");
	attr_int(x, c, "server.port", 443);
	attr_str(x, c, "url.full", "https://api.stripe.com/v1/charges");
	attr_str(x, c, "payment.provider", "stripe");
	int slow = charge_is_slow(x->g);
	x->t->planted |= slow;
	span_close(x, c, at + (slow ? between(x->g, 800, 1500) * MS : lat(x->g, 60000, 100000)));
	*declined = chance(x->g, 0.012);
	attr_int(x, c, "http.response.status_code", *declined ? 402 : 200);
	if (*declined) {
		attr_str(x, c, "error.type", "card_declined");
		span_fail(x, c, "card_declined", "*stripe.Error",
			  "card_declined: Your card was declined.");
	}
	return S(x, c)->end_ns;
}

static uint64_t payments(struct tctx *x, size_t parent, uint64_t at, int *status)
{
	struct call c = http_call(x, parent, TM_DEMO_PAYMENTS, "POST /payments", "/payments", at);
	uint64_t t = sql_end(x, c.server, "SELECT customers", "SELECT id, stripe_customer_id FROM "
			     "customers WHERE user_id = $1", c.at + lat(x->g, 100, 300), 700, 3000);
	int declined;
	t = charge_card(x, c.server, t + lat(x->g, 100, 400), &declined);
	t = sql_end(x, c.server, "INSERT payments", "INSERT INTO payments (order_ref, customer_id, "
		    "amount_cents, status) VALUES ($1, $2, $3, $4)", t + lat(x->g, 100, 300), 900,
		    4000);
	*status = declined ? 402 : 200;
	return http_return(x, c, t + lat(x->g, 200, 700), *status);
}

/* a consumer of the "orders" topic: processes the message its producer
 * sent (its parent, the context travels in the message headers), then
 * commits the offset to the broker */
static void consume(struct tctx *x, size_t producer, unsigned svc, uint64_t at)
{
	size_t c = span_open(x, producer, svc, SC_KAFKA, TM_KIND_CONSUMER, "process orders", at);
	const char *group = services[svc].name;
	attr_str(x, c, "messaging.system", "kafka");
	attr_str(x, c, "messaging.destination.name", "orders");
	attr_str(x, c, "messaging.operation.type", "process");
	attr_str(x, c, "messaging.operation.name", "process");
	attr_str(x, c, "messaging.consumer.group.name", "%s", group);
	attr_str(x, c, "messaging.destination.partition.id", "%u", x->user % 6);
	attr_int(x, c, "messaging.kafka.offset", (int64_t)between(x->g, 100000, 999999));
	uint64_t t = at + lat(x->g, 100, 400);
	if (svc == TM_DEMO_SHIPPING) {
		t = sql_end(x, c, "INSERT shipments", "INSERT INTO shipments (order_id, carrier, "
			    "address_id) VALUES ($1, $2, $3)", t, 1000, 5000);
		t = S(x, internal(x, c, "choose carrier", t + lat(x->g, 50, 200),
				  lat(x->g, 800, 3000)))->end_ns;
	} else {
		size_t r = internal(x, c, "render order confirmation", t, lat(x->g, 2000, 9000));
		t = S(x, r)->end_ns;
		t = redis(x, c, "SET", "email:sent:order", x->user, t + lat(x->g, 50, 200));
	}
	size_t k = span_open(x, c, svc, SC_KAFKA, TM_KIND_CLIENT, "commit orders",
			     t + lat(x->g, 50, 150));
	attr_str(x, k, "messaging.system", "kafka");
	attr_str(x, k, "messaging.destination.name", "orders");
	attr_str(x, k, "messaging.operation.type", "settle");
	attr_str(x, k, "messaging.operation.name", "commit");
	attr_str(x, k, "messaging.consumer.group.name", "%s", group);
	span_close(x, k, S(x, k)->start_ns + lat(x->g, 500, 2500));
	span_close(x, c, S(x, k)->end_ns + lat(x->g, 50, 200));
}

/* checkout: saves the order and announces it on the "orders" topic */
static uint64_t place_order(struct tctx *x, size_t server, uint64_t t)
{
	t = sql_end(x, server, "INSERT orders", "INSERT INTO orders (user_id, total_cents, "
		    "status) VALUES ($1, $2, 'paid') RETURNING id", t, 1000, 5000);
	size_t p = span_open(x, server, TM_DEMO_CHECKOUT, SC_KAFKA, TM_KIND_PRODUCER,
			     "send orders", t + lat(x->g, 50, 200));
	attr_str(x, p, "messaging.system", "kafka");
	attr_str(x, p, "messaging.destination.name", "orders");
	attr_str(x, p, "messaging.operation.type", "send");
	attr_str(x, p, "messaging.operation.name", "send");
	attr_str(x, p, "messaging.kafka.message.key", "order-%u%04u", x->user,
		 (unsigned)between(x->g, 0, 9999));
	span_close(x, p, S(x, p)->start_ns + lat(x->g, 1500, 5000));
	/* consumers pick the message up a little later, on their own time */
	consume(x, p, TM_DEMO_SHIPPING, S(x, p)->start_ns + lat(x->g, 4000, 30000));
	consume(x, p, TM_DEMO_NOTIFICATIONS, S(x, p)->start_ns + lat(x->g, 4000, 30000));
	return S(x, p)->end_ns;
}

/* checkout's own work: the cart, prices, stock, payment, the order */
static uint64_t checkout(struct tctx *x, size_t gw, uint64_t at, int *status)
{
	struct call c = http_call(x, gw, TM_DEMO_CHECKOUT, "POST /checkout", "/checkout", at);
	struct call cart = http_call(x, c.server, TM_DEMO_CART, "GET /cart", "/cart",
				     c.at + lat(x->g, 200, 600));
	uint64_t t = redis(x, cart.server, "HGETALL", "cart", x->user,
			   cart.at + lat(x->g, 100, 300));
	t = http_return(x, cart, t + lat(x->g, 200, 600), 200);
	t = pricing_quote(x, c.server, t + lat(x->g, 100, 300));
	t = inventory(x, c.server, t + lat(x->g, 100, 300), 1, status);
	if (*status == 200)
		t = payments(x, c.server, t + lat(x->g, 100, 300), status);
	if (*status == 200)
		t = place_order(x, c.server, t + lat(x->g, 100, 300));
	return http_return(x, c, t + lat(x->g, 300, 1200), *status);
}

static void flow_checkout(struct tctx *x, uint64_t t0)
{
	size_t root = frontend_open(x, "POST /checkout", "/checkout", t0);
	struct call gw = http_call(x, root, TM_DEMO_GATEWAY, "POST /api/checkout", "/api/checkout",
				   t0 + lat(x->g, 300, 1200));
	int denied, status = 401;
	uint64_t t = auth_check(x, gw.server, gw.at + lat(x->g, 50, 200), 0.02, &denied);
	if (!denied)
		t = checkout(x, gw.server, t + lat(x->g, 100, 300), &status);
	t = http_return(x, gw, t + lat(x->g, 100, 400), status);
	frontend_close(x, root, t, status, "render confirmation");
}

void tm_demo_gen_trace(struct tm_demo_gen *g, uint64_t start_ns, struct tm_demo_trace *out)
{
	/* the mix of a shop's traffic: browsing, some searching, fewer buyers */
	static const unsigned weights[TM_DEMO_N_FLOWS] = { 25, 20, 20, 15, 20 };
	struct tctx x = { g, out, { 0 }, (unsigned)between(g, 1000, 99999),
			  (unsigned)between(g, 1, 4000) };
	random_id(g, x.trace_id, TM_TRACE_ID_LEN);
	out->n = 0;
	out->planted = out->failed = 0;
	unsigned pick = (unsigned)between(g, 0, 99), flow = 0;
	while (pick >= weights[flow])
		pick -= weights[flow++];
	out->flow = (enum tm_demo_flow)flow;
	switch (out->flow) {
	case TM_DEMO_HOME: flow_home(&x, start_ns); break;
	case TM_DEMO_SEARCHING: flow_search(&x, start_ns); break;
	case TM_DEMO_PRODUCT: flow_product(&x, start_ns); break;
	case TM_DEMO_ADD_CART: flow_add_to_cart(&x, start_ns); break;
	case TM_DEMO_CHECKOUT_FLOW: default: flow_checkout(&x, start_ns); break;
	}
}

/*---- OTLP encoders ----*/

struct kv {
	const char *key, *value;
};

#define N_RESOURCE_ATTRS 8

static void resource_attrs(unsigned svc, struct kv out[N_RESOURCE_ATTRS])
{
	const struct service_def *d = &services[svc];
	const struct lang_def *l = &langs[d->lang];
	struct kv list[N_RESOURCE_ATTRS] = {
		{ "service.name", d->name }, { "service.version", d->version },
		{ "service.namespace", "shop" }, { "deployment.environment.name", "demo" },
		{ "host.name", d->host }, { "telemetry.sdk.name", "opentelemetry" },
		{ "telemetry.sdk.language", l->sdk }, { "telemetry.sdk.version", l->sdk_version },
	};
	memcpy(out, list, sizeof(list));
}

static uint32_t span_flags(const struct tm_demo_span *s)
{
	/* sampled; whether the parent is remote is known (W3C trace context) */
	return 0x101u | (s->remote_parent ? 0x200u : 0);
}

static void buf_printf(struct tm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void buf_printf(struct tm_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		tm_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void json_string(struct tm_buf *b, const char *s, size_t len)
{
	tm_buf_add(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		tm_buf_add(b, s + run, i - run);
		buf_printf(b, "\\u%04x", c);
		run = i + 1;
	}
	tm_buf_add(b, s + run, len - run);
	tm_buf_add(b, "\"", 1);
}

static void json_id(struct tm_buf *b, const char *key, const uint8_t *id, size_t len)
{
	char hex[2 * TM_TRACE_ID_LEN + 1];
	tm_id_to_hex(id, len, hex);
	buf_printf(b, "\"%s\":\"%s\",", key, hex);
}

static void json_attrs(struct tm_buf *b, const struct tm_demo_span *s,
		       const struct tm_demo_attr *a, size_t n)
{
	tm_buf_add_str(b, "\"attributes\":[");
	for (size_t i = 0; i < n; i++) {
		tm_buf_add_str(b, i ? ",{\"key\":" : "{\"key\":");
		json_string(b, a[i].key, strlen(a[i].key));
		if (a[i].type == TM_DEMO_STR) {
			tm_buf_add_str(b, ",\"value\":{\"stringValue\":");
			json_string(b, s->text + a[i].off, a[i].len);
			tm_buf_add_str(b, "}}");
		} else if (a[i].type == TM_DEMO_BOOL) {
			buf_printf(b, ",\"value\":{\"boolValue\":%s}}",
				   a[i].num ? "true" : "false");
		} else {
			buf_printf(b, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", a[i].num);
		}
	}
	tm_buf_add_str(b, "]");
}

static void json_span(struct tm_buf *b, const struct tm_demo_span *s)
{
	tm_buf_add_str(b, "{");
	json_id(b, "traceId", s->trace_id, TM_TRACE_ID_LEN);
	json_id(b, "spanId", s->span_id, TM_SPAN_ID_LEN);
	if (s->has_parent)
		json_id(b, "parentSpanId", s->parent_span_id, TM_SPAN_ID_LEN);
	tm_buf_add_str(b, "\"name\":");
	json_string(b, s->name, strlen(s->name));
	buf_printf(b, ",\"kind\":%u,\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%"
		   PRIu64 "\",", s->kind, s->start_ns, s->end_ns);
	json_attrs(b, s, s->attrs, s->n_attrs);
	if (s->has_event) {
		buf_printf(b, ",\"events\":[{\"timeUnixNano\":\"%" PRIu64 "\","
			   "\"name\":\"exception\",", s->event_ns);
		json_attrs(b, s, s->event_attrs, s->n_event_attrs);
		tm_buf_add_str(b, "}]");
	}
	if (s->status_code) {
		buf_printf(b, ",\"status\":{\"code\":%u", s->status_code);
		if (s->status_message) {
			tm_buf_add_str(b, ",\"message\":");
			json_string(b, s->status_message, strlen(s->status_message));
		}
		tm_buf_add_str(b, "}");
	}
	buf_printf(b, ",\"flags\":%u}", span_flags(s));
}

static void encode_json(struct tm_buf *b, const struct tm_demo_span *spans, size_t n)
{
	unsigned svc = spans[0].service;
	const struct lang_def *l = &langs[services[svc].lang];
	struct kv res[N_RESOURCE_ATTRS];
	resource_attrs(svc, res);
	tm_buf_add_str(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
	for (size_t i = 0; i < N_RESOURCE_ATTRS; i++) {
		buf_printf(b, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":", i ? "," : "",
			   res[i].key);
		json_string(b, res[i].value, strlen(res[i].value));
		tm_buf_add_str(b, "}}");
	}
	tm_buf_add_str(b, "]},\"scopeSpans\":[");
	int first_scope = 1;
	for (unsigned sc = 0; sc < N_SCOPES; sc++) {
		int first = 1;
		for (size_t i = 0; i < n; i++) {
			if (spans[i].scope != sc)
				continue;
			if (first) {
				buf_printf(b, "%s{\"scope\":{\"name\":\"%s\",\"version\":\"%s\"},"
					   "\"spans\":[", first_scope ? "" : ",", l->scopes[sc],
					   sc == SC_APP ? services[svc].version : l->scope_version);
				first_scope = 0;
			}
			if (!first)
				tm_buf_add_str(b, ",");
			json_span(b, &spans[i]);
			first = 0;
		}
		if (!first)
			tm_buf_add_str(b, "]}");
	}
	tm_buf_add_str(b, "]}]}");
}

/* protobuf: each nested message is built in a scratch buffer, then copied
 * behind its tag and length */

static void pb_varint(struct tm_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;
	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			tmp[n] |= 0x80;
		n++;
	} while (v);
	tm_buf_add(b, tmp, n);
}

static void pb_bytes(struct tm_buf *b, unsigned field, const void *data, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, len);
	tm_buf_add(b, data, len);
}

static void pb_str(struct tm_buf *b, unsigned field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

static void pb_fixed(struct tm_buf *b, unsigned field, uint64_t v, size_t width)
{
	unsigned char tmp[8];
	for (size_t i = 0; i < width; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	pb_varint(b, (uint64_t)field << 3 | (width == 8 ? 1 : 5));
	tm_buf_add(b, tmp, width);
}

static size_t varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

/* KeyValue with a string, int or bool AnyValue; sizes are known up front */
static void pb_kv(struct tm_buf *b, unsigned field, const char *key, const char *str,
		  size_t len, int type, int64_t num)
{
	size_t klen = strlen(key);
	uint64_t v = (uint64_t)num;
	size_t any = type == TM_DEMO_STR ? 1 + varint_size(len) + len : 1 + varint_size(v);
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, 1 + varint_size(klen) + klen + 1 + varint_size(any) + any);
	pb_bytes(b, 1, key, klen);
	pb_varint(b, 2 << 3 | 2);
	pb_varint(b, any);
	if (type == TM_DEMO_STR) {
		pb_bytes(b, 1, str, len);
	} else {
		pb_varint(b, type == TM_DEMO_BOOL ? 2 << 3 : 3 << 3);
		pb_varint(b, v);
	}
}

static void pb_attrs(struct tm_buf *b, unsigned field, const struct tm_demo_span *s,
		     const struct tm_demo_attr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pb_kv(b, field, a[i].key, s->text + a[i].off, a[i].len, a[i].type, a[i].num);
}

struct pb_scratch {
	struct tm_buf span, sub;
};

static void pb_span(struct tm_buf *b, const struct tm_demo_span *s, struct pb_scratch *w)
{
	struct tm_buf *m = &w->span;
	m->len = 0;
	pb_bytes(m, 1, s->trace_id, TM_TRACE_ID_LEN);
	pb_bytes(m, 2, s->span_id, TM_SPAN_ID_LEN);
	if (s->has_parent)
		pb_bytes(m, 4, s->parent_span_id, TM_SPAN_ID_LEN);
	pb_str(m, 5, s->name);
	pb_varint(m, 6 << 3);
	pb_varint(m, s->kind);
	pb_fixed(m, 7, s->start_ns, 8);
	pb_fixed(m, 8, s->end_ns, 8);
	pb_attrs(m, 9, s, s->attrs, s->n_attrs);
	if (s->has_event) {
		w->sub.len = 0;
		pb_fixed(&w->sub, 1, s->event_ns, 8);
		pb_str(&w->sub, 2, "exception");
		pb_attrs(&w->sub, 3, s, s->event_attrs, s->n_event_attrs);
		pb_bytes(m, 11, w->sub.data, w->sub.len);
	}
	if (s->status_code) {
		w->sub.len = 0;
		if (s->status_message)
			pb_str(&w->sub, 2, s->status_message);
		pb_varint(&w->sub, 3 << 3);
		pb_varint(&w->sub, s->status_code);
		pb_bytes(m, 15, w->sub.data, w->sub.len);
	}
	pb_fixed(m, 16, span_flags(s), 4);
	pb_bytes(b, 2, m->data, m->len);
}

static void encode_pb(struct tm_buf *b, const struct tm_demo_span *spans, size_t n)
{
	unsigned svc = spans[0].service;
	const struct lang_def *l = &langs[services[svc].lang];
	struct pb_scratch w;
	struct tm_buf rs, scope, resource;
	struct tm_buf *all[] = { &w.span, &w.sub, &rs, &scope, &resource };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		tm_buf_init(all[i]);
	struct kv res[N_RESOURCE_ATTRS];
	resource_attrs(svc, res);
	for (size_t i = 0; i < N_RESOURCE_ATTRS; i++)
		pb_kv(&resource, 1, res[i].key, res[i].value, strlen(res[i].value), TM_DEMO_STR, 0);
	pb_bytes(&rs, 1, resource.data, resource.len);
	for (unsigned sc = 0; sc < N_SCOPES; sc++) {
		scope.len = 0;
		for (size_t i = 0; i < n; i++)
			if (spans[i].scope == sc)
				pb_span(&scope, &spans[i], &w);
		if (!scope.len)
			continue;
		w.sub.len = 0;
		pb_str(&w.sub, 1, l->scopes[sc]);
		pb_str(&w.sub, 2, sc == SC_APP ? services[svc].version : l->scope_version);
		/* ScopeSpans: its scope (1), then the spans (2) built above */
		struct tm_buf ss;
		tm_buf_init(&ss);
		pb_bytes(&ss, 1, w.sub.data, w.sub.len);
		tm_buf_add(&ss, scope.data, scope.len);
		pb_bytes(&rs, 2, ss.data, ss.len);
		b->failed |= ss.failed;
		tm_buf_free(&ss);
	}
	pb_bytes(b, 1, rs.data, rs.len);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		b->failed |= all[i]->failed;
		tm_buf_free(all[i]);
	}
}

void tm_demo_encode(struct tm_buf *out, const struct tm_demo_span *spans, size_t n, int json)
{
	if (!n)
		return;
	if (json)
		encode_json(out, spans, n);
	else
		encode_pb(out, spans, n);
}

const char *tm_demo_attr_str(const struct tm_demo_span *s, const char *key, char *buf,
			     size_t size)
{
	for (size_t i = 0; i < s->n_attrs; i++) {
		const struct tm_demo_attr *a = &s->attrs[i];
		if (a->type == TM_DEMO_STR && !strcmp(a->key, key)) {
			snprintf(buf, size, "%.*s", (int)a->len, s->text + a->off);
			return buf;
		}
	}
	return NULL;
}

/*---- a minimal HTTP/1.1 client: POST over one keep-alive connection ----*/

#define IO_TIMEOUT_S 10

struct target {
	char host[256], port[8], path[256];
	char url[600];              /* as the user may recognise it */
	struct sockaddr_storage addr[4];   /* "localhost" may be ::1 and 127.0.0.1 */
	socklen_t addr_len[4];
	size_t n_addr;
};

/* 1 when s[0..len) holds only printable characters other than space: what
 * may go into the request line and the Host header as it is */
static int printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* HOST, HOST:PORT or [V6]:PORT (p to end) into t->host and t->port */
static int parse_authority(struct target *t, const char *p, const char *end)
{
	const char *host = p, *host_end, *colon;
	if (*p == '[') {
		host = p + 1;
		host_end = memchr(p, ']', (size_t)(end - p));
		if (!host_end)
			return -EINVAL;
		colon = host_end + 1 < end ? host_end + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		host_end = colon ? colon : end;
	}
	const char *port = colon ? colon + 1 : "4318";
	size_t hlen = (size_t)(host_end - host), plen = colon ? (size_t)(end - port) : 4;
	if (!hlen || hlen >= sizeof(t->host) || !printable(host, hlen) || !plen || plen > 5 ||
	    strspn(port, "0123456789") < plen || atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	snprintf(t->host, sizeof(t->host), "%.*s", (int)hlen, host);
	snprintf(t->port, sizeof(t->port), "%.*s", (int)plen, port);
	return 0;
}

/* http://HOST[:PORT][/PATH] or HOST[:PORT][/PATH]; the path is the OTLP
 * endpoint's base, as OTEL_EXPORTER_OTLP_ENDPOINT's is, unless it already
 * ends in /v1/traces */
static int target_parse(struct target *t, const char *url, char *why, size_t whylen)
{
	const char *p = url, *scheme_end = strstr(url, "://");
	if (scheme_end && strncasecmp(url, "http://", 7)) {
		snprintf(why, whylen, "%s", !strncasecmp(url, "https://", 8)
			 ? "https is not supported (no TLS here): use http://"
			 : "expected http://HOST:PORT");
		return -EINVAL;
	}
	if (scheme_end)
		p = scheme_end + 3;
	const char *slash = p + strcspn(p, "/?#");
	if (parse_authority(t, p, slash) < 0) {
		snprintf(why, whylen, "expected http://HOST:PORT with a port from 1 to 65535");
		return -EINVAL;
	}
	size_t len = strlen(slash);
	if (*slash == '?' || *slash == '#' || len + 11 >= sizeof(t->path) ||
	    !printable(slash, len)) {
		snprintf(why, whylen, "expected a URL path without spaces, query or fragment");
		return -EINVAL;
	}
	while (len && slash[len - 1] == '/')
		len--;
	int full = len >= 10 && !memcmp(slash + len - 10, "/v1/traces", 10);
	snprintf(t->path, sizeof(t->path), "%.*s%s", (int)len, slash, full ? "" : "/v1/traces");
	int v6 = strchr(t->host, ':') != NULL;
	snprintf(t->url, sizeof(t->url), "http://%s%s%s:%s%s", v6 ? "[" : "", t->host,
		 v6 ? "]" : "", t->port, t->path);
	return 0;
}

static int target_resolve(struct target *t, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc) {
		snprintf(why, whylen, "cannot resolve %s: %s", t->host, gai_strerror(rc));
		return -EINVAL;
	}
	t->n_addr = 0;
	for (struct addrinfo *a = res; a && t->n_addr < 4; a = a->ai_next) {
		if (a->ai_addrlen > sizeof(t->addr[0]))
			continue;
		memcpy(&t->addr[t->n_addr], a->ai_addr, a->ai_addrlen);
		t->addr_len[t->n_addr++] = a->ai_addrlen;
	}
	freeaddrinfo(res);
	return 0;
}

struct conn {
	int fd;                     /* -1: closed */
	int used;                   /* an exchange went through on it */
	char rbuf[8192];
	size_t rpos, rlen;
};

struct response {
	int status;
	int64_t content_length;     /* -1: absent */
	int chunked, close;
	int retry_after_s;          /* -1: absent */
	char body[512];             /* its start, for messages */
	size_t body_len;
};

static volatile sig_atomic_t stop_signals;

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->used = 0;
	c->rpos = c->rlen = 0;
}

/* a connected socket to one address, or -errno */
static int connect_to(const struct sockaddr_storage *addr, socklen_t len)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1, fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (connect(fd, (const struct sockaddr *)addr, len) < 0) {
		if (errno == EINTR && stop_signals < 2)
			continue;
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* tries the target's addresses in turn */
static int conn_open(struct conn *c, const struct target *t)
{
	int fd = -ENOENT;
	for (size_t i = 0; i < t->n_addr && fd < 0; i++)
		fd = connect_to(&t->addr[i], t->addr_len[i]);
	if (fd < 0)
		return fd;
	c->fd = fd;
	c->used = 0;
	c->rpos = c->rlen = 0;
	return 0;
}

/* I/O gives up on EINTR only once a second signal asked to quit now */
static int send_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t k = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR && stop_signals < 2)
			continue;
		if (k < 0)
			return -errno;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* reads more into rbuf: the count, 0 at EOF, or -errno */
static ssize_t fill(struct conn *c)
{
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return -EMSGSIZE;
	ssize_t n;
	do
		n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
	while (n < 0 && errno == EINTR && stop_signals < 2);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	c->rlen += (size_t)n;
	return n;
}

/* the next line without its CRLF, NUL-terminated in rbuf, or NULL (*err) */
static char *read_line(struct conn *c, int *err)
{
	for (;;) {
		char *start = c->rbuf + c->rpos;
		char *crlf = memmem(start, c->rlen - c->rpos, "\r\n", 2);
		if (crlf) {
			*crlf = 0;
			c->rpos = (size_t)(crlf + 2 - c->rbuf);
			return start;
		}
		ssize_t n = fill(c);
		if (n <= 0) {
			*err = n < 0 ? (int)n : -ECONNRESET;
			return NULL;
		}
	}
}

static void parse_header(char *line, struct response *r)
{
	char *colon = strchr(line, ':');
	if (!colon)
		return;
	*colon = 0;
	const char *v = colon + 1 + strspn(colon + 1, " \t");
	if (!strcasecmp(line, "Content-Length"))
		r->content_length = strtoll(v, NULL, 10);
	else if (!strcasecmp(line, "Transfer-Encoding"))
		r->chunked = strcasestr(v, "chunked") != NULL;
	else if (!strcasecmp(line, "Connection"))
		r->close = strcasestr(v, "close") != NULL;
	else if (!strcasecmp(line, "Retry-After"))
		r->retry_after_s = (int)strtol(v, NULL, 10);
}

/* reads n body bytes (n < 0: up to EOF), keeping the first for messages */
static int read_body_bytes(struct conn *c, struct response *r, int64_t n)
{
	while (n) {
		size_t avail = c->rlen - c->rpos;
		if (!avail) {
			ssize_t got = fill(c);
			if (got == 0 && n < 0)
				return 0;
			if (got <= 0)
				return got < 0 ? (int)got : -ECONNRESET;
			continue;
		}
		size_t take = n < 0 || (uint64_t)n > avail ? avail : (size_t)n;
		size_t keep = sizeof(r->body) - 1 - r->body_len;
		keep = keep < take ? keep : take;
		memcpy(r->body + r->body_len, c->rbuf + c->rpos, keep);
		r->body_len += keep;
		c->rpos += take;
		if (n > 0)
			n -= (int64_t)take;
	}
	return 0;
}

static int read_chunked(struct conn *c, struct response *r)
{
	int err = 0;
	for (;;) {
		char *line = read_line(c, &err);
		if (!line)
			return err;
		long long size = strtoll(line, NULL, 16);
		if (size < 0)
			return -EPROTO;
		if (!size)
			break;
		if ((err = read_body_bytes(c, r, size)) < 0 || !read_line(c, &err))
			return err;
	}
	for (char *line; (line = read_line(c, &err));)   /* trailers */
		if (!*line)
			return 0;
	return err;
}

static int read_response(struct conn *c, struct response *r)
{
	int err = 0;
	char *line = read_line(c, &err);
	if (!line)
		return err;
	if (strncmp(line, "HTTP/1.", 7) || strlen(line) < 12)
		return -EPROTO;
	r->status = atoi(line + 9);
	r->close = line[7] == '0';
	while ((line = read_line(c, &err)) && *line)
		parse_header(line, r);
	if (!line)
		return err;
	if (r->chunked)
		err = read_chunked(c, r);
	else if (r->content_length >= 0)
		err = read_body_bytes(c, r, r->content_length);
	else {
		r->close = 1;   /* the body ends with the connection */
		err = read_body_bytes(c, r, -1);
	}
	r->body[r->body_len] = 0;
	return err;
}

static int post(struct conn *c, const struct target *t, int json, const struct tm_buf *body,
		struct response *r)
{
	char head[1024];
	int v6 = strchr(t->host, ':') != NULL;
	int n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
			 "User-Agent: tracemap-demo/%s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n\r\n", t->path, v6 ? "[" : "", t->host,
			 v6 ? "]" : "", t->port, TRACEMAP_VERSION,
			 json ? "application/json" : "application/x-protobuf", body->len);
	struct iovec iov[2] = { { head, (size_t)n }, { body->data, body->len } };
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->retry_after_s = -1;
	int rc = send_all(c->fd, iov, 2);
	return rc ? rc : read_response(c, r);
}

/*---- the run: pacing, per-service export, status lines ----*/

#define FLUSH_NS (200 * MS)     /* a BatchSpanProcessor's scheduledDelay */
#define MAX_QUEUE 2048          /* ended spans a service keeps (maxQueueSize) */
#define MAX_HELD 65536          /* spans a service holds, running ones too */
#define MAX_BATCH 512           /* spans in one request (maxExportBatchSize) */
#define DRAIN_NS (10 * SEC)     /* how long the end waits to deliver */

struct queue {
	struct tm_demo_span *spans;
	size_t n, cap;
	uint64_t next_flush;
};

struct demo {
	const struct tm_demo_options *opt;
	FILE *out, *err;
	struct target target;
	struct conn conn;
	struct tm_demo_gen gen;
	struct tm_demo_trace trace;
	struct queue q[TM_DEMO_N_SERVICES];
	struct tm_buf body;
	uint64_t not_before;        /* no request before (backoff, Retry-After) */
	uint64_t backoff;
	char waiting[200];          /* why requests do not go through; "" when they do */
	int told_waiting, told_rejected;
	uint64_t traces, failed, planted, made, sent, requests, dropped, rejected;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_signals++;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / SEC), (long)(ns % SEC) };
	clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);   /* EINTR: fine */
}

/* queues the trace's spans with their services, as their SDKs would on end */
static void enqueue(struct demo *d, const struct tm_demo_trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct queue *q = &d->q[t->spans[i].service];
		if (q->n == MAX_HELD) {
			d->dropped++;
			continue;
		}
		if (q->n == q->cap) {
			size_t cap = q->cap ? 2 * q->cap : 64;
			void *p = realloc(q->spans, cap * sizeof(*q->spans));
			if (!p) {
				d->dropped++;
				continue;
			}
			q->spans = p;
			q->cap = cap;
		}
		q->spans[q->n++] = t->spans[i];
	}
	d->made += t->n;
	d->traces++;
	d->failed += t->failed != 0;
	d->planted += t->planted != 0;
}

/* moves the spans that ended by now to the front; returns their count */
static size_t ended_first(struct queue *q, uint64_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (q->spans[i].end_ns > now)
			continue;
		if (i != k) {
			struct tm_demo_span tmp = q->spans[k];
			q->spans[k] = q->spans[i];
			q->spans[i] = tmp;
		}
		k++;
	}
	return k;
}

static void set_waiting(struct demo *d, uint64_t now, uint64_t delay, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_waiting(struct demo *d, uint64_t now, uint64_t delay, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->waiting, sizeof(d->waiting), fmt, ap);
	va_end(ap);
	d->not_before = now + delay;
	if (!d->told_waiting) {
		fprintf(d->err, "tracemap demo: %s; retrying\n", d->waiting);
		d->told_waiting = 1;
	}
}

/* a connection error: try again after a backoff that grows to 2 s */
static void backoff(struct demo *d, uint64_t now, int rc)
{
	d->backoff = d->backoff ? (d->backoff * 2 < 2 * SEC ? d->backoff * 2 : 2 * SEC) : 100 * MS;
	set_waiting(d, now, d->backoff, "%s: %s", d->target.url, strerror(-rc));
}

enum sent { SENT, RETRY, REJECTED };

/* what an answer means: delivered, try later, or never */
static enum sent answered(struct demo *d, uint64_t now, const struct response *r)
{
	if (r->status >= 200 && r->status < 300) {
		if (d->waiting[0])
			fprintf(d->err, "tracemap demo: %s takes spans again\n", d->target.url);
		d->waiting[0] = 0;
		d->told_waiting = 0;
		d->backoff = 0;
		return SENT;
	}
	int s = r->status, retry = s == 429 || s == 502 || s == 503 || s == 504;
	if (retry || r->retry_after_s >= 0) {
		int after = r->retry_after_s >= 0 ? r->retry_after_s : 1;
		after = after < 1 ? 1 : after > 60 ? 60 : after;
		set_waiting(d, now, (uint64_t)after * SEC, "%s answered %d, Retry-After %d s",
			    d->target.url, s, after);
		return RETRY;
	}
	if (!d->told_rejected++)
		fprintf(d->err, "tracemap demo: %s refused a batch: HTTP %d %.200s\n",
			d->target.url, s, r->body);
	return REJECTED;
}

/* one POST; a kept-alive connection the server closed meanwhile is
 * reopened once at once (a resend is harmless: the store drops copies) */
static enum sent send_body(struct demo *d, int json, uint64_t now)
{
	struct response r;
	for (int attempt = 0;; attempt++) {
		int rc = d->conn.fd < 0 ? conn_open(&d->conn, &d->target) : 0;
		int reused = d->conn.used;
		if (!rc)
			rc = post(&d->conn, &d->target, json, &d->body, &r);
		if (!rc) {
			d->requests++;
			d->conn.used = 1;
			if (r.close)
				conn_close(&d->conn);
			return answered(d, now, &r);
		}
		conn_close(&d->conn);
		if (!reused || attempt) {
			backoff(d, now, rc);
			return RETRY;
		}
	}
}

/* exports one service's spans that ended, a batch of at most MAX_BATCH a
 * request (an SDK exports at once when a batch is full); stops at a
 * request that must be retried */
static void flush(struct demo *d, unsigned svc, uint64_t now)
{
	struct queue *q = &d->q[svc];
	int json = tm_demo_service_json(svc);
	size_t k = ended_first(q, now);
	if (k > MAX_QUEUE) {   /* what the SDK's queue had no room for */
		size_t drop = k - MAX_QUEUE;
		memmove(q->spans, q->spans + drop, (q->n - drop) * sizeof(*q->spans));
		q->n -= drop;
		k -= drop;
		d->dropped += drop;
	}
	while (k) {
		size_t n = k < MAX_BATCH ? k : MAX_BATCH;
		d->body.len = 0;
		d->body.failed = 0;
		tm_demo_encode(&d->body, q->spans, n, json);
		if (d->body.failed)
			return;   /* out of memory: the spans wait */
		enum sent s = send_body(d, json, now);
		if (s == RETRY)
			return;
		if (s == SENT)
			d->sent += n;
		else
			d->rejected += n;
		memmove(q->spans, q->spans + n, (q->n - n) * sizeof(*q->spans));
		q->n -= n;
		k -= n;
	}
}

static size_t queued(const struct demo *d)
{
	size_t n = 0;
	for (unsigned i = 0; i < TM_DEMO_N_SERVICES; i++)
		n += d->q[i].n;
	return n;
}

static void status_line(struct demo *d, uint64_t elapsed)
{
	fprintf(d->out, "demo %4" PRIu64 "s  traces %" PRIu64 "  spans %" PRIu64 "  errors %" PRIu64
		"  slow checkouts %" PRIu64 "  requests %" PRIu64, (uint64_t)(elapsed / SEC),
		d->traces, d->sent, d->failed, d->planted, d->requests);
	if (d->dropped || d->rejected)
		fprintf(d->out, "  dropped %" PRIu64, d->dropped + d->rejected);
	if (d->waiting[0])
		fprintf(d->out, "  (waiting: %s)", d->waiting);
	fputc('\n', d->out);
	fflush(d->out);
}

/* the next wake-up: a trace to start, a flush, a status line */
static uint64_t next_event(const struct demo *d, int making, uint64_t next_trace,
			   uint64_t next_print, uint64_t deadline)
{
	uint64_t t = next_print < deadline ? next_print : deadline;
	if (making && next_trace < t)
		t = next_trace;
	for (unsigned i = 0; i < TM_DEMO_N_SERVICES; i++) {
		uint64_t f = max_u64(d->q[i].next_flush, d->not_before);
		if (d->q[i].n && f < t)
			t = f;
	}
	return t;
}

static void flush_due(struct demo *d, uint64_t now, int all)
{
	for (unsigned i = 0; i < TM_DEMO_N_SERVICES; i++) {
		struct queue *q = &d->q[i];
		if (!all && now < q->next_flush)
			continue;
		q->next_flush = q->next_flush + FLUSH_NS > now ? q->next_flush + FLUSH_NS
							       : now + FLUSH_NS;
		if (now >= d->not_before)
			flush(d, i, now);
	}
}

static void loop(struct demo *d)
{
	uint64_t start = wall_ns(), base = start, made = 0, rate = d->opt->rate;
	uint64_t end = d->opt->duration_ns ? start + d->opt->duration_ns : UINT64_MAX;
	uint64_t next_trace = start, next_print = start + SEC, drain_end = UINT64_MAX;
	for (unsigned i = 0; i < TM_DEMO_N_SERVICES; i++)   /* SDKs do not tick together */
		d->q[i].next_flush = start + FLUSH_NS * (i + 1) / TM_DEMO_N_SERVICES;
	for (;;) {
		uint64_t now = wall_ns();
		int making = drain_end == UINT64_MAX;
		if (making && (stop_signals || now >= end)) {
			making = 0;
			drain_end = now + DRAIN_NS;
		}
		while (making && next_trace <= now) {
			if (now - next_trace > SEC) {   /* fell behind (a stalled send): no burst */
				base = now;
				made = 0;
			}
			tm_demo_gen_trace(&d->gen, next_trace, &d->trace);
			enqueue(d, &d->trace);
			made++;
			next_trace = base + made / rate * SEC + made % rate * SEC / rate;
		}
		flush_due(d, now, 0);
		if (now >= next_print) {
			status_line(d, now - start);
			next_print += SEC;
		}
		if (!making && (!queued(d) || now >= drain_end || stop_signals > 1))
			break;
		uint64_t wake = next_event(d, making, next_trace, next_print,
					   making ? end : drain_end);
		if (wake > now)
			sleep_until(wake);
	}
	status_line(d, wall_ns() - start);
}

static int demo_start(struct demo *d, char *why, size_t whylen)
{
	if (target_parse(&d->target, d->opt->target, why, whylen) < 0 ||
	    target_resolve(&d->target, why, whylen) < 0)
		return -EINVAL;
	/* the seed in 32 bits, so that --seed can give it back; the IDs are
	 * fresh on every run, or a second run with that seed would send spans
	 * the store already holds, with other times */
	uint64_t seed = d->opt->seed, ids;
	if (getrandom(&ids, sizeof(ids), 0) != sizeof(ids))
		ids = wall_ns() ^ (uint64_t)getpid() << 40;
	while (!seed)
		seed = (uint32_t)next((uint64_t[4]){ ids, ~ids, wall_ns(), 1 });
	tm_demo_gen_init(&d->gen, seed, ids);
	char until[64] = "until interrupted";
	if (d->opt->duration_ns)
		snprintf(until, sizeof(until), "for %.1f s", (double)d->opt->duration_ns / SEC);
	fprintf(d->out, "tracemap demo: a shop of %d services sends %u traces/s to %s %s "
		"(seed %" PRIu64 ")\n", TM_DEMO_N_SERVICES, d->opt->rate, d->target.url, until,
		seed);
	fflush(d->out);
	return 0;
}

/* runs the loop with SIGINT/SIGTERM asking it to stop; returns the exit code */
static int run_interruptible(struct demo *d)
{
	struct sigaction sa = { .sa_handler = on_signal }, ign = { .sa_handler = SIG_IGN };
	struct sigaction old_int, old_term, old_pipe;
	sigemptyset(&sa.sa_mask);   /* no SA_RESTART: a signal ends a sleep */
	stop_signals = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGPIPE, &ign, &old_pipe);
	loop(d);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	size_t left = queued(d);
	if (left)
		fprintf(d->err, "tracemap demo: %zu spans not delivered%s%s\n", left,
			d->waiting[0] ? ": " : "", d->waiting);
	/* spans dropped while the server was away are what an SDK drops too;
	 * spans refused are a fault somewhere */
	return left || d->rejected ? 1 : 0;
}

int tm_demo_run(const struct tm_demo_options *opt, FILE *out, FILE *err)
{
	struct demo *d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(err, "tracemap demo: out of memory\n");
		return 1;
	}
	d->opt = opt;
	d->out = out;
	d->err = err;
	d->conn.fd = -1;
	tm_buf_init(&d->body);
	char why[300];
	int code;
	if (demo_start(d, why, sizeof(why)) < 0) {
		fprintf(err, "tracemap: --target %s: %s\n", opt->target, why);
		code = 2;
	} else {
		code = run_interruptible(d);
	}
	conn_close(&d->conn);
	for (unsigned i = 0; i < TM_DEMO_N_SERVICES; i++)
		free(d->q[i].spans);
	tm_buf_free(&d->body);
	free(d);
	return code;
}
