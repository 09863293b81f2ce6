/* zipkin_json.c - traces as Zipkin v2 JSON (see zipkin_json.h).
 *
 * The mapping (protocols.md 3.1 and 3.6; the inverse of ingest_zipkin.c):
 *   traceId         32 lower-hex digits, or 16 when the high 8 bytes are
 *                   zero: Zipkin itself shortens such ids, and a 64-bit id
 *                   sent to us comes back as sent
 *   parentId        the parent span id; absent for roots.  A span whose
 *                   parent is itself is the server side of a B3 shared
 *                   span (ingest stores it so): parentId is then its
 *                   zipkin.parent_id attribute, and shared is true
 *   id, name        name left out when empty
 *   kind            CLIENT, SERVER, PRODUCER, CONSUMER; absent otherwise
 *   timestamp       start_ns / 1000; absent when zero
 *   duration        (end_ns - start_ns) / 1000, and 1 when the span
 *                   lasted less than a microsecond (Zipkin's minimum);
 *                   absent when end <= start
 *   localEndpoint   serviceName = resource service.name; ipv4, ipv6 = the
 *                   first of each kind in resource host.ip
 *   remoteEndpoint  serviceName: tm_zipkin_json_remote_service();
 *                   ipv4 or ipv6 = network.peer.address, else net.peer.ip,
 *                   else net.sock.peer.addr, when an IP literal; port =
 *                   network.peer.port, else net.peer.port, else
 *                   net.sock.peer.port
 *   annotations     one per event: timestamp in µs, value = the event
 *                   name, or with attributes "name":{"key":value,...}
 *                   (the OpenTelemetry exporters' form)
 *   tags            the span attributes as text, in order (strings as
 *                   they are, booleans true/false, integers in decimal,
 *                   doubles in their shortest form, bytes in base64,
 *                   arrays and maps as JSON), then otel.status_code
 *                   OK/ERROR, error (status ERROR: its message, else the
 *                   span's own error attribute, else ""), otel.scope.name,
 *                   otel.scope.version, otel.dropped_{attributes,events,
 *                   links}_count when non-zero
 *   debug           never: ingest folds it into the sampled flag, which
 *                   nearly every OpenTelemetry span carries too
 * Left out of tags, because they are written elsewhere: peer.service,
 * network.peer.address/port when used for the remote endpoint, the
 * server.* or client.* copies of those that ingest adds, zipkin.parent_id
 * of a shared span, an attribute whose key a later tag sets (the status
 * and scope win), an `error=false` boolean (OpenTelemetry drops it: to
 * Zipkin any error tag means failure), and repeated keys (the first wins).
 * Links and trace_state have no Zipkin field and are not written. */
#include "zipkin_json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* attributes one span can have turned into endpoint fields */
#define MAX_CONSUMED 8

/*---- small helpers ----*/

static int key_is(struct tm_str key, const char *lit)
{
	return tm_str_eq(key, tm_str_from(lit));
}

static const struct tm_attr *find_attr(const struct tm_attrs *attrs, const char *key)
{
	for (size_t i = 0; i < attrs->n; i++)
		if (key_is(attrs->items[i].key, key))
			return &attrs->items[i];
	return NULL;
}

/* the attribute when it holds a non-empty string, else NULL. */
static const struct tm_attr *find_str(const struct tm_attrs *attrs, const char *key)
{
	const struct tm_attr *a = find_attr(attrs, key);
	return a && a->value.type == TM_VAL_STRING && a->value.u.str.len ? a : NULL;
}

/* the attribute when it holds a port number, else NULL. */
static const struct tm_attr *find_port(const struct tm_attrs *attrs, const char *key)
{
	const struct tm_attr *a = find_attr(attrs, key);
	return a && a->value.type == TM_VAL_INT && a->value.u.integer > 0 &&
	       a->value.u.integer <= 65535 ? a : NULL;
}

/* 4 or 6 when s is an IPv4 or IPv6 literal, else 0. */
static int ip_family(struct tm_str s)
{
	char text[64];
	unsigned char addr[16];

	if (s.len == 0 || s.len >= sizeof(text) || memchr(s.ptr, '\0', s.len))
		return 0;
	memcpy(text, s.ptr, s.len);
	text[s.len] = '\0';
	if (inet_pton(AF_INET, text, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, addr) == 1)
		return 6;
	return 0;
}

/*---- a span as Zipkin sees it ----*/

struct endpoint {
	struct tm_str service, ipv4, ipv6;
	int64_t port;   /* 0 = none */
};

struct zspan {
	const struct tm_span *s;
	const uint8_t *parent_id;   /* NULL: no parentId */
	uint8_t parent_buf[TM_SPAN_ID_LEN];
	int is_shared;
	struct endpoint local, remote;
	const struct tm_attr *consumed[MAX_CONSUMED];
	size_t n_consumed;
};

static void consume(struct zspan *z, const struct tm_attr *a)
{
	if (a && z->n_consumed < MAX_CONSUMED)
		z->consumed[z->n_consumed++] = a;
}

static int is_consumed(const struct zspan *z, const struct tm_attr *a)
{
	for (size_t i = 0; i < z->n_consumed; i++)
		if (z->consumed[i] == a)
			return 1;
	return 0;
}

/* the peer's IP address: the first attribute of keys[] that holds one. */
static const struct tm_attr *peer_address(const struct tm_attrs *attrs, int *family,
					  int *is_first_key)
{
	static const char *const keys[] = {
		"network.peer.address", "net.peer.ip", "net.sock.peer.addr",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct tm_attr *a = find_str(attrs, keys[i]);
		if (a && (*family = ip_family(a->value.u.str)) != 0) {
			*is_first_key = i == 0;
			return a;
		}
	}
	return NULL;
}

static const struct tm_attr *peer_port(const struct tm_attrs *attrs, int *is_first_key)
{
	static const char *const keys[] = {
		"network.peer.port", "net.peer.port", "net.sock.peer.port",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct tm_attr *a = find_port(attrs, keys[i]);
		if (a) {
			*is_first_key = i == 0;
			return a;
		}
	}
	return NULL;
}

/* the remote service and the attribute it came from (query.md's rule,
 * except that a server.address equal to the peer's address is only
 * Zipkin ingest's copy of remoteEndpoint.ipv4, not a name). */
static const struct tm_attr *remote_service_attr(const struct tm_span *s,
						 const struct tm_attr *addr)
{
	const struct tm_attr *a;

	if ((a = find_str(&s->attrs, "peer.service")) != NULL ||
	    (a = find_str(&s->attrs, "service.peer.name")) != NULL)
		return a;
	if (s->kind == TM_KIND_CLIENT || s->kind == TM_KIND_PRODUCER) {
		a = find_str(&s->attrs, "server.address");
		if (a && !(addr && tm_str_eq(a->value.u.str, addr->value.u.str)))
			return a;
	}
	return find_str(&s->attrs, "net.peer.name");
}

/* the names ingest gives the peer's address and port by span kind. */
static void role_keys(uint8_t kind, const char **addr_key, const char **port_key)
{
	*addr_key = *port_key = NULL;
	if (kind == TM_KIND_CLIENT || kind == TM_KIND_PRODUCER || kind == TM_KIND_CONSUMER) {
		*addr_key = "server.address";
		*port_key = "server.port";
	} else if (kind == TM_KIND_SERVER) {
		*addr_key = "client.address";
		*port_key = "client.port";
	}
}

/* drops the server.* or client.* copies ingest makes of the peer's
 * network.peer.* address and port, when they are copies. */
static void consume_role_copies(struct zspan *z, const struct tm_attr *addr,
				const struct tm_attr *port)
{
	const char *addr_key, *port_key;
	const struct tm_attr *ra = NULL, *rp;

	role_keys(z->s->kind, &addr_key, &port_key);
	if (!addr_key)
		return;
	if (addr && (ra = find_str(&z->s->attrs, addr_key)) != NULL &&
	    tm_str_eq(ra->value.u.str, addr->value.u.str))
		consume(z, ra);
	rp = find_port(&z->s->attrs, port_key);
	if (port && rp && rp->value.u.integer == port->value.u.integer &&
	    (!find_attr(&z->s->attrs, addr_key) || is_consumed(z, ra)))
		consume(z, rp);
}

static void resolve_remote(struct zspan *z)
{
	const struct tm_attrs *attrs = &z->s->attrs;
	int family = 0, is_addr_ours = 0, is_port_ours = 0;
	const struct tm_attr *addr = peer_address(attrs, &family, &is_addr_ours);
	const struct tm_attr *port = peer_port(attrs, &is_port_ours);
	const struct tm_attr *service = remote_service_attr(z->s, addr);

	if (addr && family == 4)
		z->remote.ipv4 = addr->value.u.str;
	else if (addr)
		z->remote.ipv6 = addr->value.u.str;
	if (port)
		z->remote.port = port->value.u.integer;
	if (service)
		z->remote.service = service->value.u.str;
	/* what ingest derives from remoteEndpoint goes back there only */
	if (service && key_is(service->key, "peer.service"))
		consume(z, service);
	if (addr && is_addr_ours)
		consume(z, addr);
	if (port && is_port_ours)
		consume(z, port);
	consume_role_copies(z, addr && is_addr_ours ? addr : NULL,
			    port && is_port_ours ? port : NULL);
}

static void take_host_ip(struct endpoint *e, const struct tm_value *v)
{
	int family;

	if (v->type != TM_VAL_STRING)
		return;
	family = ip_family(v->u.str);
	if (family == 4 && !e->ipv4.len)
		e->ipv4 = v->u.str;
	else if (family == 6 && !e->ipv6.len)
		e->ipv6 = v->u.str;
}

static void resolve_local(struct zspan *z)
{
	const struct tm_resource *res = z->s->resource;
	const struct tm_attr *a;

	if (!res)
		return;
	if ((a = find_str(&res->attrs, "service.name")) != NULL)
		z->local.service = a->value.u.str;
	if ((a = find_attr(&res->attrs, "host.ip")) == NULL)
		return;
	if (a->value.type == TM_VAL_ARRAY)
		for (size_t i = 0; i < a->value.u.array.n; i++)
			take_host_ip(&z->local, &a->value.u.array.items[i]);
	else
		take_host_ip(&z->local, &a->value);
}

/* ingest stores the server side of a B3 shared span as the child of its
 * client side, which has the same id, and keeps the Zipkin parent aside. */
static void resolve_parent(struct zspan *z)
{
	const struct tm_span *s = z->s;
	const struct tm_attr *a;

	if (!s->has_parent || tm_id_is_zero(s->parent_span_id, TM_SPAN_ID_LEN))
		return;
	if (memcmp(s->parent_span_id, s->span_id, TM_SPAN_ID_LEN) != 0) {
		z->parent_id = s->parent_span_id;
		return;
	}
	z->is_shared = s->kind != TM_KIND_CLIENT;   /* Zipkin clears it on CLIENT */
	a = find_str(&s->attrs, "zipkin.parent_id");
	if (a && tm_hex_decode(a->value.u.str.ptr, a->value.u.str.len, z->parent_buf,
			       TM_SPAN_ID_LEN) == 0 &&
	    !tm_id_is_zero(z->parent_buf, TM_SPAN_ID_LEN)) {
		z->parent_id = z->parent_buf;
		consume(z, a);
	}
}

static void zspan_init(struct zspan *z, const struct tm_span *s)
{
	memset(z, 0, sizeof(*z));
	z->s = s;
	resolve_parent(z);
	resolve_remote(z);
	resolve_local(z);
}

/*---- values as text ----*/

/* plain JSON of a value, for arrays and maps in tags and for event
 * attributes in annotations: ["a",1], {"k":"v"}. */
static void raw_json(struct tm_buf *b, const struct tm_value *v)
{
	switch (v->type) {
	case TM_VAL_STRING: tm_json_tstr(b, &v->u.str); break;
	case TM_VAL_BOOL: tm_json_bool(b, v->u.boolean); break;
	case TM_VAL_INT: tm_json_int(b, v->u.integer); break;
	case TM_VAL_DOUBLE: tm_json_double(b, v->u.dbl); break;
	case TM_VAL_BYTES: tm_json_base64(b, v->u.str.ptr, v->u.str.len); break;
	case TM_VAL_ARRAY:
		tm_buf_add(b, "[", 1);
		for (size_t i = 0; i < v->u.array.n; i++) {
			if (i)
				tm_buf_add(b, ",", 1);
			raw_json(b, &v->u.array.items[i]);   /* depth bounded by the decoders */
		}
		tm_buf_add(b, "]", 1);
		break;
	case TM_VAL_KVLIST:
		tm_buf_add(b, "{", 1);
		for (size_t i = 0; i < v->u.kvlist.n; i++) {
			if (i)
				tm_buf_add(b, ",", 1);
			tm_json_tstr(b, &v->u.kvlist.items[i].key);
			tm_buf_add(b, ":", 1);
			raw_json(b, &v->u.kvlist.items[i].value);
		}
		tm_buf_add(b, "}", 1);
		break;
	default: tm_buf_add_str(b, "null"); break;
	}
}

/* the shortest text that reads back as d; JavaScript's names for the
 * values that are not numbers.  Assumes the "C" numeric locale. */
static void double_text(struct tm_buf *b, double d)
{
	char tmp[32];

	if (isnan(d)) {
		tm_buf_add_str(b, "NaN");
		return;
	}
	if (isinf(d)) {
		tm_buf_add_str(b, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	tm_buf_add_str(b, tmp);
}

/* a value as the text of a Zipkin tag; points into v or into scratch,
 * which it overwrites. */
static struct tm_str value_text(struct tm_buf *scratch, const struct tm_value *v)
{
	scratch->len = 0;
	switch (v->type) {
	case TM_VAL_STRING: return v->u.str;
	case TM_VAL_BOOL: return tm_str_from(v->u.boolean ? "true" : "false");
	case TM_VAL_INT: tm_json_int(scratch, v->u.integer); break;
	case TM_VAL_DOUBLE: double_text(scratch, v->u.dbl); break;
	case TM_VAL_BYTES:
		tm_json_base64(scratch, v->u.str.ptr, v->u.str.len);
		if (scratch->failed)
			break;
		return (struct tm_str){ (const char *)scratch->data + 1, scratch->len - 2 };
	case TM_VAL_ARRAY:
	case TM_VAL_KVLIST: raw_json(scratch, v); break;
	default: return tm_str_from("");
	}
	if (scratch->failed)
		return tm_str_from("");
	return (struct tm_str){ (const char *)scratch->data, scratch->len };
}

/*---- tags ----*/

/* 1 when a tag written after the attributes sets this key: it wins. */
static int is_overridden(const struct tm_span *s, struct tm_str key)
{
	int has_status = s->status_code == TM_STATUS_OK || s->status_code == TM_STATUS_ERROR;

	return (has_status && key_is(key, "otel.status_code")) ||
	       (s->status_code == TM_STATUS_ERROR && key_is(key, "error")) ||
	       (s->scope && s->scope->name.len && key_is(key, "otel.scope.name")) ||
	       (s->scope && s->scope->version.len && key_is(key, "otel.scope.version")) ||
	       (s->attrs.dropped && key_is(key, "otel.dropped_attributes_count")) ||
	       (s->dropped_events && key_is(key, "otel.dropped_events_count")) ||
	       (s->dropped_links && key_is(key, "otel.dropped_links_count"));
}

/* 1 when an earlier attribute has the same key. */
static int is_repeated(const struct tm_attrs *attrs, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (tm_str_eq(attrs->items[j].key, attrs->items[i].key))
			return 1;
	return 0;
}

static int is_false_error(const struct tm_attr *a)
{
	return key_is(a->key, "error") && a->value.type == TM_VAL_BOOL && !a->value.u.boolean;
}

struct tag_walk {
	const struct zspan *z;
	struct tm_buf *scratch;
	tm_zipkin_tag_fn fn;
	void *ctx;
};

static int emit(struct tag_walk *w, const char *key, struct tm_str value)
{
	if (w->scratch->failed)
		return -ENOMEM;
	return w->fn(w->ctx, tm_str_from(key), value);
}

static int emit_count(struct tag_walk *w, const char *key, uint32_t count)
{
	if (!count)
		return 0;
	w->scratch->len = 0;
	tm_json_uint(w->scratch, count);
	return emit(w, key, (struct tm_str){ (const char *)w->scratch->data, w->scratch->len });
}

/* status ERROR: its message, else what the span's own error tag said
 * (a Zipkin span sent with error "true" reads back so), else "". */
static struct tm_str error_text(struct tm_buf *scratch, const struct tm_span *s)
{
	const struct tm_attr *a;

	if (s->status_message.len)
		return s->status_message;
	a = find_attr(&s->attrs, "error");
	if (a && !is_false_error(a))
		return value_text(scratch, &a->value);
	return tm_str_from("");
}

static int walk_attrs(struct tag_walk *w)
{
	const struct tm_span *s = w->z->s;

	for (size_t i = 0; i < s->attrs.n; i++) {
		const struct tm_attr *a = &s->attrs.items[i];
		if (is_consumed(w->z, a) || is_overridden(s, a->key) || is_false_error(a) ||
		    is_repeated(&s->attrs, i))
			continue;
		struct tm_str value = value_text(w->scratch, &a->value);
		if (w->scratch->failed)
			return -ENOMEM;
		int rc = w->fn(w->ctx, a->key, value);
		if (rc)
			return rc;
	}
	return 0;
}

static int walk_tags(struct tag_walk *w)
{
	const struct tm_span *s = w->z->s;
	int rc = walk_attrs(w);

	if (!rc && s->status_code == TM_STATUS_OK)
		rc = emit(w, "otel.status_code", tm_str_from("OK"));
	if (!rc && s->status_code == TM_STATUS_ERROR)
		rc = emit(w, "otel.status_code", tm_str_from("ERROR"));
	if (!rc && s->status_code == TM_STATUS_ERROR)
		rc = emit(w, "error", error_text(w->scratch, s));
	if (!rc && s->scope && s->scope->name.len)
		rc = emit(w, "otel.scope.name", s->scope->name);
	if (!rc && s->scope && s->scope->version.len)
		rc = emit(w, "otel.scope.version", s->scope->version);
	if (!rc)
		rc = emit_count(w, "otel.dropped_attributes_count", s->attrs.dropped);
	if (!rc)
		rc = emit_count(w, "otel.dropped_events_count", s->dropped_events);
	if (!rc)
		rc = emit_count(w, "otel.dropped_links_count", s->dropped_links);
	return rc;
}

int tm_zipkin_json_foreach_tag(const struct tm_span *s, tm_zipkin_tag_fn fn, void *ctx)
{
	struct zspan z;
	struct tm_buf scratch;
	struct tag_walk w = { &z, &scratch, fn, ctx };
	int rc;

	zspan_init(&z, s);
	tm_buf_init(&scratch);
	rc = walk_tags(&w);
	tm_buf_free(&scratch);
	return rc;
}

int tm_zipkin_json_remote_service(const struct tm_span *s, struct tm_str *out)
{
	int family, is_first_key;
	const struct tm_attr *a =
		remote_service_attr(s, peer_address(&s->attrs, &family, &is_first_key));

	if (!a)
		return 0;
	*out = a->value.u.str;
	return 1;
}

/*---- JSON ----*/

/* the tags object, opened at the first tag so that a span without tags
 * has no "tags" key. */
struct json_tags {
	struct tm_buf *out;
	size_t n_tags;
};

static int json_tag(void *ctx, struct tm_str key, struct tm_str value)
{
	struct json_tags *jt = ctx;

	tm_buf_add_str(jt->out, jt->n_tags++ ? "," : ",\"tags\":{");
	tm_json_tstr(jt->out, &key);
	tm_buf_add(jt->out, ":", 1);
	tm_json_tstr(jt->out, &value);
	return 0;
}

static void write_tags(struct tm_buf *out, const struct zspan *z, struct tm_buf *scratch)
{
	struct json_tags jt = { out, 0 };
	struct tag_walk w = { z, scratch, json_tag, &jt };

	if (walk_tags(&w) < 0)
		out->failed = 1;
	if (jt.n_tags)
		tm_buf_add(out, "}", 1);
}

static void write_endpoint(struct tm_buf *out, const char *key, const struct endpoint *e)
{
	const char *sep = "{";

	if (!e->service.len && !e->ipv4.len && !e->ipv6.len && !e->port)
		return;
	tm_buf_add(out, ",", 1);
	tm_json_key(out, key);
	if (e->service.len) {
		tm_buf_add_str(out, sep);
		tm_json_key(out, "serviceName");
		tm_json_tstr(out, &e->service);
		sep = ",";
	}
	if (e->ipv4.len) {
		tm_buf_add_str(out, sep);
		tm_json_key(out, "ipv4");
		tm_json_tstr(out, &e->ipv4);
		sep = ",";
	}
	if (e->ipv6.len) {
		tm_buf_add_str(out, sep);
		tm_json_key(out, "ipv6");
		tm_json_tstr(out, &e->ipv6);
		sep = ",";
	}
	if (e->port) {
		tm_buf_add_str(out, sep);
		tm_json_key(out, "port");
		tm_json_int(out, e->port);
	}
	tm_buf_add(out, "}", 1);
}

/* "name", or with attributes "\"name\":{...}" as one JSON string. */
static void write_annotation_value(struct tm_buf *out, const struct tm_event *e,
				   struct tm_buf *scratch)
{
	if (!e->attrs.n) {
		tm_json_tstr(out, &e->name);
		return;
	}
	scratch->len = 0;
	tm_json_tstr(scratch, &e->name);
	tm_buf_add(scratch, ":{", 2);
	for (size_t i = 0; i < e->attrs.n; i++) {
		if (i)
			tm_buf_add(scratch, ",", 1);
		tm_json_tstr(scratch, &e->attrs.items[i].key);
		tm_buf_add(scratch, ":", 1);
		raw_json(scratch, &e->attrs.items[i].value);
	}
	tm_buf_add(scratch, "}", 1);
	if (scratch->failed)
		out->failed = 1;
	else
		tm_json_str(out, (const char *)scratch->data, scratch->len);
}

static void write_annotations(struct tm_buf *out, const struct tm_span *s,
			      struct tm_buf *scratch)
{
	if (!s->n_events)
		return;
	tm_buf_add_str(out, ",\"annotations\":[");
	for (size_t i = 0; i < s->n_events; i++) {
		const struct tm_event *e = &s->events[i];
		tm_buf_add_str(out, i ? ",{\"timestamp\":" : "{\"timestamp\":");
		tm_json_uint(out, e->time_ns / 1000);
		tm_buf_add_str(out, ",\"value\":");
		write_annotation_value(out, e, scratch);
		tm_buf_add(out, "}", 1);
	}
	tm_buf_add(out, "]", 1);
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case TM_KIND_CLIENT: return "CLIENT";
	case TM_KIND_SERVER: return "SERVER";
	case TM_KIND_PRODUCER: return "PRODUCER";
	case TM_KIND_CONSUMER: return "CONSUMER";
	default: return NULL;   /* INTERNAL, UNSPECIFIED and unknown values */
	}
}

/* traceId, parentId, id, kind, name, timestamp, duration. */
static void write_head(struct tm_buf *out, const struct zspan *z)
{
	const struct tm_span *s = z->s;
	const char *kind = kind_name(s->kind);
	int is_64bit = tm_id_is_zero(s->trace_id, 8);

	tm_buf_add_str(out, "{\"traceId\":");
	tm_json_hex(out, s->trace_id + (is_64bit ? 8 : 0), is_64bit ? 8 : TM_TRACE_ID_LEN);
	if (z->parent_id) {
		tm_buf_add_str(out, ",\"parentId\":");
		tm_json_hex(out, z->parent_id, TM_SPAN_ID_LEN);
	}
	tm_buf_add_str(out, ",\"id\":");
	tm_json_hex(out, s->span_id, TM_SPAN_ID_LEN);
	if (kind) {
		tm_buf_add_str(out, ",\"kind\":\"");
		tm_buf_add_str(out, kind);
		tm_buf_add(out, "\"", 1);
	}
	if (s->name.len) {
		tm_buf_add_str(out, ",\"name\":");
		tm_json_tstr(out, &s->name);
	}
	if (s->start_ns / 1000) {
		tm_buf_add_str(out, ",\"timestamp\":");
		tm_json_uint(out, s->start_ns / 1000);
	}
	if (s->end_ns > s->start_ns) {
		uint64_t duration_us = (s->end_ns - s->start_ns) / 1000;
		tm_buf_add_str(out, ",\"duration\":");
		tm_json_uint(out, duration_us ? duration_us : 1);
	}
}

static void write_span(struct tm_buf *out, const struct tm_span *s, struct tm_buf *scratch)
{
	struct zspan z;

	zspan_init(&z, s);
	write_head(out, &z);
	write_endpoint(out, "localEndpoint", &z.local);
	write_endpoint(out, "remoteEndpoint", &z.remote);
	write_annotations(out, s, scratch);
	write_tags(out, &z, scratch);
	if (z.is_shared)
		tm_buf_add_str(out, ",\"shared\":true");
	tm_buf_add(out, "}", 1);
}

static void write_spans_generic(struct tm_buf *out, const struct tm_trace *t,
				struct tm_buf *scratch)
{
	tm_buf_add(out, "[", 1);
	for (size_t i = 0; i < t->n_spans; i++) {
		if (i)
			tm_buf_add(out, ",", 1);
		write_span(out, &t->spans[i], scratch);
	}
	tm_buf_add(out, "]", 1);
	if (scratch->failed)
		out->failed = 1;
}

void tm_zipkin_json_write_spans(struct tm_buf *out, const struct tm_trace *t)
{
	struct tm_buf scratch;

	tm_buf_init(&scratch);
	write_spans_generic(out, t, &scratch);
	tm_buf_free(&scratch);
}

void tm_zipkin_json_write_traces(struct tm_buf *out, const struct tm_trace *traces, size_t n)
{
	struct tm_buf scratch;

	tm_buf_init(&scratch);
	tm_buf_add(out, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			tm_buf_add(out, ",", 1);
		write_spans_generic(out, &traces[i], &scratch);
	}
	tm_buf_add(out, "]", 1);
	tm_buf_free(&scratch);
}
