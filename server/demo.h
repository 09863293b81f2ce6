/* demo.h - `tracemap demo`: OTLP traffic from a made-up shop.
 *
 * Thirteen instrumented services (frontend, api-gateway, auth, catalog,
 * search, cart, checkout, pricing, inventory, payments, shipping,
 * notifications, recommendations) serve five kinds of request, and call
 * four things that send no spans of their own: the PostgreSQL database
 * "shop", a Redis cache ("cache"), a Kafka topic "orders" and the payment
 * API api.stripe.com.  A few requests fail (4xx and 5xx, with exception
 * events).  In one card charge in TM_DEMO_SLOW_EVERY (about 8% of
 * checkouts) the payments service's "charge card" call to api.stripe.com
 * takes 800-1500 ms instead of about 80, which /api/bottlenecks of frontend
 * "POST /checkout" ranks first.  The queue's node comes from the consumers'
 * offset commits (CLIENT spans naming "orders"): the consumers themselves
 * are children of checkout's producer span, so they pair with it as calls
 * checkout -> shipping and checkout -> notifications.
 *
 * The generator (tm_demo_gen_*) is deterministic under its seeds and knows
 * nothing of time but the start it is given; tm_demo_run() paces it at the
 * wall clock and sends what it makes the way an SDK's BatchSpanProcessor
 * does: a span is exported once it has ended, each service posts its own
 * batch (one ResourceSpans) every 200 ms over one keep-alive HTTP/1.1
 * connection, in OTLP/JSON or protobuf depending on the service's SDK.
 *
 * Threads: a generator belongs to one thread; tm_demo_run() runs in the
 * calling thread and handles SIGINT/SIGTERM itself.  Memory: traces are
 * plain structs the caller owns; encoders append to the caller's tm_buf. */
#ifndef TM_DEMO_H
#define TM_DEMO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "span.h"

/*---- running it ----*/

struct tm_demo_options {
	const char *target;       /* http://HOST[:PORT][/PATH] or HOST:PORT */
	unsigned rate;            /* traces per second */
	uint64_t duration_ns;     /* 0: until SIGINT/SIGTERM */
	uint64_t seed;            /* 0: a random one */
};

/* sends traffic until the duration ends (or a signal comes), then waits for
 * the spans still running to end and delivers them.  Prints one status line
 * a second on out, problems on err.  Returns the exit code: 0, 1 when spans
 * could not be delivered in the end, 2 for a --target that cannot be used. */
int tm_demo_run(const struct tm_demo_options *opt, FILE *out, FILE *err);

/*---- the generator (a test seam as much as the engine of tm_demo_run) ----*/

#define TM_DEMO_MAX_SPANS 48      /* in one trace */
#define TM_DEMO_MAX_ATTRS 14      /* on one span */
#define TM_DEMO_MAX_EVENT_ATTRS 3
#define TM_DEMO_TEXT_BYTES 720    /* string values of one span */
#define TM_DEMO_SLOW_EVERY 12     /* one card charge in so many is slow */

enum tm_demo_service {
	TM_DEMO_FRONTEND, TM_DEMO_GATEWAY, TM_DEMO_AUTH, TM_DEMO_CATALOG, TM_DEMO_SEARCH,
	TM_DEMO_CART, TM_DEMO_CHECKOUT, TM_DEMO_PRICING, TM_DEMO_INVENTORY, TM_DEMO_PAYMENTS,
	TM_DEMO_SHIPPING, TM_DEMO_NOTIFICATIONS, TM_DEMO_RECOMMENDATIONS,
	TM_DEMO_N_SERVICES
};

/* what a request of the shop does (the root span's operation) */
enum tm_demo_flow {
	TM_DEMO_HOME,       /* GET / */
	TM_DEMO_SEARCHING,  /* GET /search */
	TM_DEMO_PRODUCT,    /* GET /product/:id */
	TM_DEMO_ADD_CART,   /* POST /cart */
	TM_DEMO_CHECKOUT_FLOW,   /* POST /checkout */
	TM_DEMO_N_FLOWS
};

enum tm_demo_value { TM_DEMO_STR, TM_DEMO_INT, TM_DEMO_BOOL };

/* a string value lives in its span's text[off .. off+len) */
struct tm_demo_attr {
	const char *key;
	uint8_t type;             /* enum tm_demo_value */
	uint16_t off, len;
	int64_t num;              /* TM_DEMO_INT, TM_DEMO_BOOL */
};

struct tm_demo_span {
	uint8_t trace_id[TM_TRACE_ID_LEN];
	uint8_t span_id[TM_SPAN_ID_LEN];
	uint8_t parent_span_id[TM_SPAN_ID_LEN];
	uint8_t has_parent;
	uint8_t remote_parent;    /* the parent is in another service */
	uint8_t kind;             /* enum tm_span_kind */
	uint8_t status_code;      /* enum tm_status_code */
	uint8_t service;          /* enum tm_demo_service */
	uint8_t scope;            /* the instrumentation library (encoder's table) */
	uint8_t n_attrs, n_event_attrs;
	uint8_t has_event;        /* one "exception" event */
	const char *name;         /* static */
	const char *status_message;   /* static; NULL: none */
	uint64_t start_ns, end_ns, event_ns;
	struct tm_demo_attr attrs[TM_DEMO_MAX_ATTRS];
	struct tm_demo_attr event_attrs[TM_DEMO_MAX_EVENT_ATTRS];
	uint16_t text_len;
	char text[TM_DEMO_TEXT_BYTES];
};

struct tm_demo_trace {
	enum tm_demo_flow flow;
	int planted;              /* the slow "charge card" is in it */
	int failed;               /* some span has status ERROR */
	size_t n;
	struct tm_demo_span spans[TM_DEMO_MAX_SPANS];
};

/* xoshiro256** states (the shop's choices, and the IDs) and the schedule
 * of slow charges */
struct tm_demo_gen {
	uint64_t s[4];
	uint64_t ids[4];
	uint64_t charges;         /* card charges made so far */
	unsigned slow_slot;       /* which charge of the current block is slow */
};

/* the same seed makes the same requests, latencies, failures and slow
 * charges; the same id_seed too makes the same trace and span IDs */
void tm_demo_gen_init(struct tm_demo_gen *g, uint64_t seed, uint64_t id_seed);

/* makes the next trace of the shop, its root starting at start_ns */
void tm_demo_gen_trace(struct tm_demo_gen *g, uint64_t start_ns, struct tm_demo_trace *out);

const char *tm_demo_service_name(unsigned service);

/* 1 when the service's SDK exports OTLP/JSON, 0 protobuf */
int tm_demo_service_json(unsigned service);

/* appends one ExportTraceServiceRequest with the n spans (all of one
 * service, which becomes its one ResourceSpans) in OTLP/JSON or protobuf */
void tm_demo_encode(struct tm_buf *out, const struct tm_demo_span *spans, size_t n, int json);

/* the string value of a span's attribute (NUL-terminated copy in buf), or
 * NULL when the span has no such string attribute */
const char *tm_demo_attr_str(const struct tm_demo_span *s, const char *key, char *buf,
			     size_t size);

#endif
