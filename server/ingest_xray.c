/* ingest_xray.c - AWS X-Ray daemon datagrams -> tm_batch.
 *
 * A datagram is the header line {"format":"json","version":1}, a newline,
 * and one document: a segment (one service's work on one request, with its
 * subsegments nested to any depth) or an independent subsegment (sent alone
 * to keep documents small; it names its trace_id and parent_id).  Every
 * (sub)segment becomes one span of the common model, with attributes under
 * the OpenTelemetry names where one exists and aws.xray.* where none does
 * (the names of the OpenTelemetry Collector's awsxrayreceiver).
 *
 * What is wrong with the document as a whole (header, JSON, the top
 * (sub)segment's ids and times, nesting past MAX_SUBSEGMENT_DEPTH) refuses
 * the datagram.  A bad nested subsegment is rejected together with its own
 * subsegments, whose parent it would have been. */
#include "ingest_xray.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "json.h"

#define XRAY_MAX_DATAGRAM (64u << 10)   /* the daemon's receive buffer */
#define XRAY_TRACE_ID_TEXT_LEN 35       /* 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx */
#define MAX_SUBSEGMENT_DEPTH 32
#define MAX_AWS_DEPTH 4                  /* aws block levels flattened into keys */
#define MAX_EPOCH_SECONDS 9e9            /* year 2255: ns stay far inside int64 */

struct attr_list {
	struct tm_attr *items;
	size_t n, cap;
};

struct xray {
	struct tm_arena *arena;
	struct tm_batch *batch;
	struct tm_ingest_report *report;
	uint8_t trace_id[TM_TRACE_ID_LEN];
	struct tm_str trace_id_text;     /* as sent, kept on every span */
	uint32_t resource, scope;
	int nomem;
	struct tm_buf text;              /* metadata JSON and stack traces */
	size_t path[MAX_SUBSEGMENT_DEPTH + 1];   /* subsegment index per level */
};

/* what one (sub)segment is, once checked */
struct node {
	const json_t *json;
	uint8_t id[TM_SPAN_ID_LEN];
	uint64_t start_ns, end_ns;
	int is_segment;
	int in_progress;
};

/*---- small helpers ----*/

static struct tm_str str_of(const char *p, size_t len)
{
	struct tm_str s = { p, len };
	return s;
}

/* the string member key of obj; 0 when absent or not a string */
static int get_str(const json_t *obj, const char *key, struct tm_str *out)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return 0;
	*out = str_of(json_string_value(v), json_string_length(v));
	return 1;
}

static int str_is(struct tm_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* a copy of a, then b, in the arena (not NUL-terminated) */
static struct tm_str join(struct xray *x, const char *a, size_t alen, const char *b, size_t blen)
{
	char *p = tm_arena_alloc(x->arena, alen + blen + 1);
	if (!p) {
		x->nomem = 1;
		return str_of("", 0);
	}
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	return str_of(p, alen + blen);
}

static struct tm_str dup_text(struct xray *x, const struct tm_buf *b)
{
	if (b->failed) {
		x->nomem = 1;
		return str_of("", 0);
	}
	return join(x, (const char *)b->data, b->len, "", 0);
}

/* epoch seconds as sent -> ns.  Rounded to the microsecond first: the SDKs
 * send ms or µs resolution, and a double near 1.7e9 s holds no more, so the
 * digits below would be noise of the binary fraction. */
static int seconds_to_ns(const json_t *v, uint64_t *out)
{
	if (!json_is_number(v))
		return -1;
	double s = json_number_value(v);
	if (!(s >= 0 && s <= MAX_EPOCH_SECONDS))
		return -1;
	*out = (uint64_t)(s * 1e6 + 0.5) * 1000u;   /* s >= 0: the cast floors */
	return 0;
}

/*---- attribute lists ----*/

static struct tm_value *attr_push(struct xray *x, struct attr_list *l, struct tm_str key)
{
	if (x->nomem)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct tm_attr *items = tm_arena_alloc(x->arena, cap * sizeof(*items));
		if (!items) {
			x->nomem = 1;
			return NULL;
		}
		if (l->n)
			memcpy(items, l->items, l->n * sizeof(*items));
		l->items = items;
		l->cap = cap;
	}
	struct tm_attr *a = &l->items[l->n++];
	memset(a, 0, sizeof(*a));
	a->key = key;
	return &a->value;
}

static struct tm_str key_of(const char *lit)
{
	return str_of(lit, strlen(lit));
}

static void put_str(struct xray *x, struct attr_list *l, const char *key, struct tm_str v)
{
	struct tm_value *val = attr_push(x, l, key_of(key));
	if (val) {
		val->type = TM_VAL_STRING;
		val->u.str = v;
	}
}

static void put_int(struct xray *x, struct attr_list *l, const char *key, int64_t v)
{
	struct tm_value *val = attr_push(x, l, key_of(key));
	if (val) {
		val->type = TM_VAL_INT;
		val->u.integer = v;
	}
}

/* a non-empty string member of obj under an attribute name */
static void put_str_member(struct xray *x, struct attr_list *l, const char *key,
			   const json_t *obj, const char *member)
{
	struct tm_str s;
	if (get_str(obj, member, &s) && s.len)
		put_str(x, l, key, s);
}

static void put_bool_member(struct xray *x, struct attr_list *l, const char *key,
			    const json_t *obj, const char *member)
{
	const json_t *v = json_object_get(obj, member);
	struct tm_value *val = json_is_boolean(v) ? attr_push(x, l, key_of(key)) : NULL;
	if (val) {
		val->type = TM_VAL_BOOL;
		val->u.boolean = json_is_true(v);
	}
}

static int has_key(const struct attr_list *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_is(l->items[i].key, key))
			return 1;
	return 0;
}

/* a JSON string, number or boolean as a value of its own type; 0 for others */
static int scalar_value(const json_t *v, struct tm_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (json_typeof(v)) {
	case JSON_STRING:
		out->type = TM_VAL_STRING;
		out->u.str = str_of(json_string_value(v), json_string_length(v));
		return 1;
	case JSON_INTEGER:
		out->type = TM_VAL_INT;
		out->u.integer = json_integer_value(v);
		return 1;
	case JSON_REAL:
		out->type = TM_VAL_DOUBLE;
		out->u.dbl = json_real_value(v);
		return 1;
	case JSON_TRUE:
	case JSON_FALSE:
		out->type = TM_VAL_BOOL;
		out->u.boolean = json_is_true(v);
		return 1;
	default:
		return 0;
	}
}

/*---- JSON text (metadata, values that do not fit an attribute) ----*/

/* depth is bounded by jansson's parser (JSON_PARSER_MAX_DEPTH) */
static void write_json(struct tm_buf *b, const json_t *v)
{
	const char *key;
	size_t key_len, i;
	json_t *item;
	int first = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		tm_buf_add(b, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, key_len, item) {
			if (!first)
				tm_buf_add(b, ",", 1);
			first = 0;
			tm_json_str(b, key, key_len);
			tm_buf_add(b, ":", 1);
			write_json(b, item);
		}
		tm_buf_add(b, "}", 1);
		break;
	case JSON_ARRAY:
		tm_buf_add(b, "[", 1);
		json_array_foreach(v, i, item) {
			if (i)
				tm_buf_add(b, ",", 1);
			write_json(b, item);
		}
		tm_buf_add(b, "]", 1);
		break;
	case JSON_STRING:
		tm_json_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		tm_json_int(b, json_integer_value(v));
		break;
	case JSON_REAL:
		tm_json_double(b, json_real_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		tm_json_bool(b, json_is_true(v));
		break;
	case JSON_NULL:
		tm_buf_add_str(b, "null");
		break;
	}
}

static struct tm_str json_text(struct xray *x, const json_t *v)
{
	x->text.len = 0;
	write_json(&x->text, v);
	return dup_text(x, &x->text);
}

/*---- the http, sql and aws blocks ----*/

struct url_parts {
	struct tm_str host, path;
	int64_t port;   /* -1 when absent */
};

/* "scheme://user@host:port/path?query", "host:port/path" (the SQL urls of
 * some SDKs) or "/path"; 0, or -1 for an empty url */
static int split_url(struct tm_str url, struct url_parts *u)
{
	const char *p = url.ptr, *end = url.ptr + url.len;
	const char *s = memmem(p, url.len, "://", 3);
	u->host = u->path = str_of("", 0);
	u->port = -1;
	if (!url.len)
		return -1;
	const char *auth = s ? s + 3 : p, *auth_end = auth;
	while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
		auth_end++;
	const char *at = memrchr(auth, '@', (size_t)(auth_end - auth));
	const char *host = at ? at + 1 : auth, *host_end = auth_end;
	const char *colon = memrchr(host, ':', (size_t)(auth_end - host));
	/* a colon inside [v6 address] brackets is not the port's */
	if (colon && !memchr(colon, ']', (size_t)(auth_end - colon))) {
		int64_t port = 0;
		const char *d = colon + 1;
		for (; d < auth_end && *d >= '0' && *d <= '9' && port <= 65535; d++)
			port = port * 10 + (*d - '0');
		if (d == auth_end && d > colon + 1 && port <= 65535)
			u->port = port;
		host_end = colon;
	}
	if (host_end - host >= 2 && *host == '[' && host_end[-1] == ']') {
		host++;
		host_end--;
	}
	u->host = str_of(host, (size_t)(host_end - host));
	const char *path_end = auth_end;
	while (path_end < end && *path_end != '?' && *path_end != '#')
		path_end++;
	u->path = str_of(auth_end, (size_t)(path_end - auth_end));
	return 0;
}

/* a DNS name or an address; not "Server=h;Database=d", which a SQL Server
 * connection string would give */
static int is_host(struct tm_str h)
{
	for (size_t i = 0; i < h.len; i++) {
		char c = h.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':' || c == '%'))
			return 0;
	}
	return h.len > 0;
}

static void put_server_address(struct xray *x, struct attr_list *l, struct tm_str url)
{
	struct url_parts u;
	if (split_url(url, &u) < 0 || !is_host(u.host) || has_key(l, "server.address"))
		return;
	put_str(x, l, "server.address", u.host);
	if (u.port >= 0)
		put_int(x, l, "server.port", u.port);
}

static void add_http_response(struct xray *x, struct attr_list *l, const json_t *resp)
{
	const json_t *status = json_object_get(resp, "status");
	if (json_is_integer(status))
		put_int(x, l, "http.response.status_code", json_integer_value(status));
	/* a number from most SDKs, a string from some */
	const json_t *size = json_object_get(resp, "content_length");
	char *end;
	if (json_is_integer(size)) {
		put_int(x, l, "http.response.body.size", json_integer_value(size));
	} else if (json_is_string(size) && json_string_length(size)) {
		const char *digits = json_string_value(size);
		errno = 0;
		long long n = strtoll(digits, &end, 10);
		if (end == digits + json_string_length(size) && n >= 0 && !errno)
			put_int(x, l, "http.response.body.size", n);
	}
}

static void add_http(struct xray *x, struct attr_list *l, const struct node *n, int is_client)
{
	const json_t *http = json_object_get(n->json, "http");
	const json_t *req = json_object_get(http, "request");
	const json_t *resp = json_object_get(http, "response");
	if (json_is_object(req)) {
		put_str_member(x, l, "http.request.method", req, "method");
		put_str_member(x, l, "url.full", req, "url");
		put_str_member(x, l, "client.address", req, "client_ip");
		put_str_member(x, l, "user_agent.original", req, "user_agent");
		put_bool_member(x, l, "aws.xray.x_forwarded_for", req, "x_forwarded_for");
		struct tm_str url;
		if (is_client && get_str(req, "url", &url))
			put_server_address(x, l, url);
	}
	if (json_is_object(resp))
		add_http_response(x, l, resp);
}

static struct tm_str lower_copy(struct xray *x, struct tm_str s)
{
	struct tm_str r = join(x, s.ptr, s.len, "", 0);
	for (size_t i = 0; i < r.len; i++) {
		char c = r.ptr[i];
		if (c >= 'A' && c <= 'Z')
			((char *)r.ptr)[i] = (char)(c - 'A' + 'a');
	}
	return r;
}

/* fields of the sql block without an OpenTelemetry name, kept as sent */
static const char *const sql_kept[] = {
	"url", "connection_string", "database_version", "driver_version", "preparation",
};

static void add_sql(struct xray *x, struct attr_list *l, const json_t *sql)
{
	struct tm_str s;
	if (get_str(sql, "database_type", &s) && s.len)
		put_str(x, l, "db.system", lower_copy(x, s));
	put_str_member(x, l, "db.query.text", sql, "sanitized_query");
	put_str_member(x, l, "db.user", sql, "user");
	if (get_str(sql, "url", &s) || get_str(sql, "connection_string", &s)) {
		struct url_parts u;
		put_server_address(x, l, s);
		/* the path names the database: postgresql://host:5432/orders */
		if (!split_url(s, &u) && is_host(u.host) && u.path.len > 1)
			put_str(x, l, "db.namespace", str_of(u.path.ptr + 1, u.path.len - 1));
	}
	for (size_t i = 0; i < sizeof(sql_kept) / sizeof(sql_kept[0]); i++) {
		if (get_str(sql, sql_kept[i], &s) && s.len) {
			struct tm_value *v = attr_push(x, l, join(x, "aws.xray.sql.", 13, sql_kept[i],
								 strlen(sql_kept[i])));
			if (v) {
				v->type = TM_VAL_STRING;
				v->u.str = s;
			}
		}
	}
}

/* our own aws.xray.* keys, which the aws block's "xray" object must not
 * repeat (an attribute key appears once per span) */
static int is_reserved_xray_key(const char *key, size_t len)
{
	static const char *const reserved[] = {
		"trace_id", "error", "fault", "throttle", "traced", "x_forwarded_for",
		"annotations", "metadata", "origin", "sql", "exception",
	};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == len && !memcmp(reserved[i], key, len))
			return 1;
	return 0;
}

/* an array of scalars as an array value; 0 when an element is not a scalar */
static int array_value(struct xray *x, const json_t *arr, struct tm_value *out)
{
	size_t n = json_array_size(arr);
	struct tm_value *items = n ? tm_arena_alloc(x->arena, n * sizeof(*items)) : NULL;
	if (n && !items) {
		x->nomem = 1;
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!scalar_value(json_array_get(arr, i), &items[i]))
			return 0;
	memset(out, 0, sizeof(*out));
	out->type = TM_VAL_ARRAY;
	out->u.array.items = items;
	out->u.array.n = n;
	return 1;
}

/* any JSON value under key: scalars and arrays of scalars as they are,
 * anything else as JSON text; null is left out */
static void put_json(struct xray *x, struct attr_list *l, struct tm_str key, const json_t *v)
{
	struct tm_value val;
	if (json_is_null(v))
		return;
	if (!scalar_value(v, &val) && !(json_is_array(v) && array_value(x, v, &val))) {
		val.type = TM_VAL_STRING;
		val.u.str = json_text(x, v);
	}
	struct tm_value *slot = attr_push(x, l, key);
	if (slot)
		*slot = val;
}

/* {"ec2":{"instance_id":"i-1"}} -> aws.ec2.instance_id.  Keys holding a dot
 * are left out: "a.b" and {"a":{"b"}} would otherwise make one key twice. */
static void flatten(struct xray *x, struct attr_list *l, const json_t *obj,
		    struct tm_str prefix, unsigned depth)
{
	const char *key;
	size_t key_len;
	json_t *v;
	int in_xray = str_is(prefix, "aws.xray.");
	json_object_keylen_foreach((json_t *)obj, key, key_len, v) {
		if (memchr(key, '.', key_len) || (in_xray && is_reserved_xray_key(key, key_len)))
			continue;
		struct tm_str name = join(x, prefix.ptr, prefix.len, key, key_len);
		if (json_is_object(v) && depth < MAX_AWS_DEPTH)
			flatten(x, l, v, join(x, name.ptr, name.len, ".", 1), depth + 1);
		else
			put_json(x, l, name, v);
		if (x->nomem)
			return;
	}
}

/* a call to an AWS service: the OpenTelemetry AWS SDK conventions */
static void add_aws_call(struct xray *x, struct attr_list *l, const struct node *n,
			 const json_t *aws)
{
	put_str(x, l, "rpc.system", key_of("aws-api"));
	put_str_member(x, l, "rpc.service", n->json, "name");
	put_str_member(x, l, "rpc.method", aws, "operation");
	put_str_member(x, l, "cloud.region", aws, "region");
}

/*---- annotations, metadata, errors ----*/

/* annotations keep their type (X-Ray indexes strings, numbers and bools) */
static void add_annotations(struct xray *x, struct attr_list *l, const json_t *ann)
{
	const char *key;
	size_t key_len;
	json_t *v;
	json_object_keylen_foreach((json_t *)ann, key, key_len, v) {
		struct tm_value val;
		if (!scalar_value(v, &val))
			continue;   /* X-Ray refuses other types; so do we, quietly */
		struct tm_value *slot = attr_push(x, l, join(x, "aws.xray.annotations.", 21, key,
							     key_len));
		if (slot)
			*slot = val;
	}
}

/* metadata is any JSON, not indexed: one JSON text per namespace */
static void add_metadata(struct xray *x, struct attr_list *l, const json_t *meta)
{
	const char *key;
	size_t key_len;
	json_t *v;
	json_object_keylen_foreach((json_t *)meta, key, key_len, v) {
		struct tm_str name = join(x, "aws.xray.metadata.", 18, key, key_len);
		struct tm_str text = json_text(x, v);
		struct tm_value *slot = attr_push(x, l, name);
		if (slot) {
			slot->type = TM_VAL_STRING;
			slot->u.str = text;
		}
	}
}

static const json_t *first_exception(const json_t *node)
{
	return json_array_get(json_object_get(json_object_get(node, "cause"), "exceptions"), 0);
}

/* error (4xx) and fault (5xx) fail the span; throttle (429) comes with error */
static void add_error_flags(struct xray *x, struct attr_list *l, const struct node *n,
			    struct tm_span *span)
{
	put_bool_member(x, l, "aws.xray.error", n->json, "error");
	put_bool_member(x, l, "aws.xray.fault", n->json, "fault");
	put_bool_member(x, l, "aws.xray.throttle", n->json, "throttle");
	if (json_is_true(json_object_get(n->json, "error")) ||
	    json_is_true(json_object_get(n->json, "fault"))) {
		span->status_code = TM_STATUS_ERROR;
		get_str(first_exception(n->json), "message", &span->status_message);
	}
}

/* tm_buf_add of nothing to a buffer not yet grown would do NULL + 0 */
static void add_bytes(struct tm_buf *b, struct tm_str s)
{
	if (s.len)
		tm_buf_add(b, s.ptr, s.len);
}

/* X-Ray sends frames, not text: written as the Collector's awsxrayreceiver
 * does, which its X-Ray exporter reads back into frames */
static struct tm_str stack_text(struct xray *x, const json_t *exc, const json_t *stack)
{
	struct tm_buf *b = &x->text;
	struct tm_str s = str_of("", 0);
	size_t i;
	const json_t *frame;
	b->len = 0;
	get_str(exc, "type", &s);
	add_bytes(b, s);
	tm_buf_add_str(b, ": ");
	s = str_of("", 0);
	get_str(exc, "message", &s);
	add_bytes(b, s);
	tm_buf_add_str(b, "\n");
	json_array_foreach(stack, i, frame) {
		struct tm_str label = str_of("", 0), path = str_of("", 0);
		const json_t *line = json_object_get(frame, "line");
		char num[24] = "<unknown>";
		get_str(frame, "label", &label);
		get_str(frame, "path", &path);
		if (json_is_integer(line))
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(line));
		tm_buf_add_str(b, "\tat ");
		add_bytes(b, label);
		tm_buf_add_str(b, "(");
		add_bytes(b, path);
		tm_buf_add_str(b, ": ");
		tm_buf_add_str(b, num);
		tm_buf_add_str(b, ")\n");
	}
	return dup_text(x, b);
}

static void exception_event(struct xray *x, const json_t *exc, uint64_t time_ns,
			    struct tm_event *ev)
{
	struct attr_list l = { 0 };
	struct tm_str s;
	const json_t *stack = json_object_get(exc, "stack");
	memset(ev, 0, sizeof(*ev));
	/* X-Ray does not say when it was thrown; it ended the (sub)segment */
	ev->time_ns = time_ns;
	ev->name = key_of("exception");
	put_str_member(x, &l, "exception.type", exc, "type");
	if (get_str(exc, "message", &s))
		put_str(x, &l, "exception.message", s);
	if (json_array_size(stack))
		put_str(x, &l, "exception.stacktrace", stack_text(x, exc, stack));
	put_str_member(x, &l, "aws.xray.exception.id", exc, "id");
	put_bool_member(x, &l, "aws.xray.exception.remote", exc, "remote");
	ev->attrs.items = l.items;
	ev->attrs.n = l.n;
}

/* cause.exceptions[] -> "exception" events; a cause that is only the id
 * of an exception recorded on another subsegment adds none */
static void add_exceptions(struct xray *x, const struct node *n, struct tm_span *span)
{
	const json_t *list = json_object_get(json_object_get(n->json, "cause"), "exceptions");
	size_t count = 0, i;
	const json_t *exc;
	json_array_foreach(list, i, exc)
		count += json_is_object(exc);
	if (!count)
		return;
	span->events = tm_arena_alloc(x->arena, count * sizeof(*span->events));
	if (!span->events) {
		x->nomem = 1;
		return;
	}
	json_array_foreach(list, i, exc)
		if (json_is_object(exc))
			exception_event(x, exc, n->end_ns, &span->events[span->n_events++]);
}

/*---- spans ----*/

/* a segment is a service's handling of a request, the server side of the
 * call its parent subsegment made.  Nothing in the document says whether the
 * work came over HTTP or from a queue (origin names the platform, EC2 or
 * Lambda, not the trigger), so there is no ground for CONSUMER. */
static uint8_t span_kind(const struct node *n)
{
	struct tm_str ns;
	if (n->is_segment)
		return TM_KIND_SERVER;
	if (get_str(n->json, "namespace", &ns) && (str_is(ns, "remote") || str_is(ns, "aws")))
		return TM_KIND_CLIENT;
	return TM_KIND_INTERNAL;
}

/* a segment that served HTTP is named "GET /path": X-Ray has no route
 * template, so the raw path stands in for it (beware: one name per path);
 * anything else by its name */
static struct tm_str span_name(struct xray *x, const struct node *n)
{
	struct tm_str name = str_of("", 0), method, url;
	const json_t *req = json_object_get(json_object_get(n->json, "http"), "request");
	struct url_parts u;
	get_str(n->json, "name", &name);
	if (!n->is_segment || !get_str(req, "method", &method) || !method.len)
		return name;
	if (!get_str(req, "url", &url) || split_url(url, &u) < 0 || !u.path.len)
		return method;
	struct tm_str m = join(x, method.ptr, method.len, " ", 1);
	return join(x, m.ptr, m.len, u.path.ptr, u.path.len);
}

static void add_attributes(struct xray *x, const struct node *n, struct tm_span *span)
{
	struct attr_list l = { 0 };
	const json_t *j = n->json, *aws = json_object_get(j, "aws");
	const json_t *sql = json_object_get(j, "sql");
	struct tm_str ns = str_of("", 0);
	int is_client = span->kind == TM_KIND_CLIENT;
	get_str(j, "namespace", &ns);

	put_str(x, &l, "aws.xray.trace_id", x->trace_id_text);
	add_http(x, &l, n, is_client);
	if (json_is_object(sql))
		add_sql(x, &l, sql);
	/* the callee of a client subsegment becomes a node of the map */
	if (is_client)
		put_str_member(x, &l, "peer.service", j, "name");
	if (str_is(ns, "aws"))
		add_aws_call(x, &l, n, aws);
	if (json_is_object(aws))
		flatten(x, &l, aws, key_of("aws."), 1);
	put_str_member(x, &l, "enduser.id", j, "user");
	if (json_is_boolean(json_object_get(j, "traced")))
		put_bool_member(x, &l, "aws.xray.traced", j, "traced");
	else
		put_bool_member(x, &l, "aws.xray.traced",
				json_object_get(json_object_get(j, "http"), "request"), "traced");
	add_error_flags(x, &l, n, span);
	add_annotations(x, &l, json_object_get(j, "annotations"));
	add_metadata(x, &l, json_object_get(j, "metadata"));
	span->attrs.items = l.items;
	span->attrs.n = l.n;
}

static void fill_span(struct xray *x, const struct node *n, const uint8_t *parent_id,
		      struct tm_span *span)
{
	memset(span, 0, sizeof(*span));
	memcpy(span->trace_id, x->trace_id, TM_TRACE_ID_LEN);
	memcpy(span->span_id, n->id, TM_SPAN_ID_LEN);
	if (parent_id) {
		span->has_parent = 1;
		memcpy(span->parent_span_id, parent_id, TM_SPAN_ID_LEN);
	}
	span->kind = span_kind(n);
	span->name = span_name(x, n);
	span->start_ns = n->start_ns;
	span->end_ns = n->end_ns;
	add_attributes(x, n, span);
	add_exceptions(x, n, span);
}

/* names the first problem of a (sub)segment, or NULL when it can be stored */
static const char *node_problem(const json_t *j, struct node *n)
{
	struct tm_str s;
	if (!json_is_object(j))
		return "is not a JSON object";
	n->json = j;
	n->in_progress = json_is_true(json_object_get(j, "in_progress"));
	if (!get_str(j, "id", &s) || tm_hex_decode(s.ptr, s.len, n->id, TM_SPAN_ID_LEN) ||
	    tm_id_is_zero(n->id, TM_SPAN_ID_LEN))
		return "id must be 16 hex digits, not all zero";
	if (!get_str(j, "name", &s) || !s.len)
		return "name must be a non-empty string";
	if (seconds_to_ns(json_object_get(j, "start_time"), &n->start_ns))
		return "start_time must be epoch seconds, a number";
	if (!n->in_progress && seconds_to_ns(json_object_get(j, "end_time"), &n->end_ns))
		return "end_time must be epoch seconds, a number (or in_progress true)";
	const json_t *subs = json_object_get(j, "subsegments");
	if (subs && !json_is_null(subs) && !json_is_array(subs))
		return "subsegments must be an array";
	return NULL;
}

static void format_path(const struct xray *x, unsigned depth, char *out, size_t len)
{
	size_t used = (size_t)snprintf(out, len, "%s", "document");
	for (unsigned i = 0; i < depth && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, ".subsegments[%zu]", x->path[i]);
}

static int refuse(struct tm_ingest_report *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(struct tm_ingest_report *report, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(report->message, sizeof(report->message), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int add_node(struct xray *x, const json_t *j, const uint8_t *parent_id, int is_segment,
		    unsigned depth)
{
	struct node n = { .is_segment = is_segment };
	char path[200];
	if (depth > MAX_SUBSEGMENT_DEPTH)
		return refuse(x->report, "subsegments nested deeper than %d levels",
			      MAX_SUBSEGMENT_DEPTH);
	const char *why = node_problem(j, &n);
	if (why && depth == 0)
		return refuse(x->report, "%s: %s", is_segment ? "segment" : "subsegment", why);
	if (why) {
		format_path(x, depth, path, sizeof(path));
		tm_ingest_reject(x->report, "%s: %s (dropped with its subsegments)", path, why);
		return 0;
	}
	/* accepted but not stored: the SDK sends the completed form later, with
	 * the same id and whatever subsegments are still part of it */
	if (n.in_progress) {
		x->report->accepted++;
		return 0;
	}
	struct tm_span span;
	fill_span(x, &n, parent_id, &span);
	if (x->nomem)
		return -ENOMEM;
	int rc = tm_batch_add_span(x->batch, &span, x->resource, x->scope);
	if (rc)
		return rc;
	x->report->accepted++;
	size_t i;
	const json_t *sub;
	json_array_foreach(json_object_get(j, "subsegments"), i, sub) {
		x->path[depth] = i;
		rc = add_node(x, sub, n.id, 0, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

/*---- the document as a whole ----*/

/* platforms X-Ray names in origin that have an OpenTelemetry cloud.platform */
static const char *cloud_platform(struct tm_str origin)
{
	static const char *const map[][2] = {
		{ "AWS::EC2::Instance", "aws_ec2" },
		{ "AWS::ECS::Container", "aws_ecs" },
		{ "AWS::ECS::EC2", "aws_ecs" },
		{ "AWS::ECS::Fargate", "aws_ecs" },
		{ "AWS::EKS::Container", "aws_eks" },
		{ "AWS::ElasticBeanstalk::Environment", "aws_elastic_beanstalk" },
		{ "AWS::Lambda::Function", "aws_lambda" },
		{ "AWS::AppRunner::Service", "aws_app_runner" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (str_is(origin, map[i][0]))
			return map[i][1];
	return NULL;
}

/* a segment names its service; an independent subsegment does not (its
 * name is the callee's or the operation's), so its resource stays empty */
static int add_resource(struct xray *x, const json_t *doc, int is_segment)
{
	struct attr_list l = { 0 };
	const json_t *sdk = json_object_get(json_object_get(doc, "aws"), "xray");
	struct tm_str origin;
	if (is_segment) {
		put_str_member(x, &l, "service.name", doc, "name");
		put_str_member(x, &l, "service.version", json_object_get(doc, "service"), "version");
		put_str_member(x, &l, "telemetry.sdk.name", sdk, "sdk");
		put_str_member(x, &l, "telemetry.sdk.version", sdk, "sdk_version");
		if (get_str(doc, "origin", &origin) && origin.len) {
			const char *platform = cloud_platform(origin);
			if (platform) {
				put_str(x, &l, "cloud.provider", key_of("aws"));
				put_str(x, &l, "cloud.platform", key_of(platform));
			} else {
				put_str(x, &l, "aws.xray.origin", origin);
			}
		}
	}
	if (x->nomem)
		return -ENOMEM;
	struct tm_resource res = { .attrs = { l.items, l.n, 0 } };
	struct tm_scope scope = { 0 };
	int rc = tm_batch_add_resource(x->batch, &res, &x->resource);
	return rc ? rc : tm_batch_add_scope(x->batch, &scope, &x->scope);
}

static int parse_trace_id(struct tm_str s, uint8_t out[TM_TRACE_ID_LEN])
{
	char hex[32];
	if (s.len != XRAY_TRACE_ID_TEXT_LEN || s.ptr[0] != '1' || s.ptr[1] != '-' ||
	    s.ptr[10] != '-')
		return -EINVAL;
	memcpy(hex, s.ptr + 2, 8);
	memcpy(hex + 8, s.ptr + 11, 24);
	if (tm_hex_decode(hex, sizeof(hex), out, TM_TRACE_ID_LEN) ||
	    tm_id_is_zero(out, TM_TRACE_ID_LEN))
		return -EINVAL;
	return 0;
}

/* checks what only the top document carries: its type, trace_id, parent_id */
static int check_document(struct xray *x, const json_t *doc, int *is_segment,
			  uint8_t parent_id[TM_SPAN_ID_LEN], int *has_parent)
{
	struct tm_str s;
	const json_t *type = json_object_get(doc, "type");
	if (!json_is_object(doc))
		return refuse(x->report, "the segment document must be a JSON object");
	if (type && !(json_is_string(type) && !strcmp(json_string_value(type), "subsegment")))
		return refuse(x->report, "type must be \"subsegment\" or absent (a segment)");
	*is_segment = !type;
	if (!get_str(doc, "trace_id", &s) || parse_trace_id(s, x->trace_id))
		return refuse(x->report, "trace_id must be of the form "
			      "1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx (8 and 24 hex digits)");
	x->trace_id_text = s;
	const json_t *parent = json_object_get(doc, "parent_id");
	*has_parent = parent && !json_is_null(parent);
	if (!*has_parent && !*is_segment)
		return refuse(x->report, "an independent subsegment needs a parent_id");
	if (*has_parent && (!get_str(doc, "parent_id", &s) ||
			    tm_hex_decode(s.ptr, s.len, parent_id, TM_SPAN_ID_LEN) ||
			    tm_id_is_zero(parent_id, TM_SPAN_ID_LEN)))
		return refuse(x->report, "parent_id must be 16 hex digits, not all zero");
	return 0;
}

/* finds the document after the header line; the daemon's rules: split at
 * the first newline, format "json" in any case, version 1 */
static int split_header(const char *data, size_t len, struct tm_ingest_report *report,
			const char **doc, size_t *doc_len)
{
	static const char want[] = "missing X-Ray daemon header {\"format\":\"json\",\"version\":1}";
	const char *nl = memchr(data, '\n', len);
	if (!nl)
		return refuse(report, "%s and a newline before the segment", want);
	json_t *h = json_loadb(data, (size_t)(nl - data), 0, NULL);
	const json_t *format = json_object_get(h, "format"), *version = json_object_get(h, "version");
	int is_json = h != NULL;
	int ok = json_is_string(format) && !strcasecmp(json_string_value(format), "json") &&
		 json_is_number(version) && json_number_value(version) == 1;
	json_decref(h);
	if (!ok)
		return refuse(report, "%s: the first line is %s", want,
			      is_json ? "another header" : "not JSON");
	*doc = nl + 1;
	*doc_len = len - (size_t)(nl + 1 - data);
	return 0;
}

static json_t *load_document(const char *doc, size_t len, struct tm_ingest_report *report)
{
	json_error_t err;
	/* JSON numbers past int64 are valid; JavaScript SDKs send them */
	json_t *j = json_loadb(doc, len, JSON_ALLOW_NUL, &err);
	if (!j && json_error_code(&err) == json_error_numeric_overflow)
		j = json_loadb(doc, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
	if (!j)
		refuse(report, "segment document is not valid JSON: %s (line %d, column %d)",
		       err.text, err.line, err.column);
	return j;
}

static int is_blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

static int convert(struct xray *x, const char *text, size_t len)
{
	if (is_blank(text, len))
		return refuse(x->report, "no segment document after the X-Ray daemon header");
	json_t *doc = load_document(text, len, x->report);
	if (!doc)
		return -EBADMSG;
	int is_segment = 0, has_parent = 0;
	uint8_t parent_id[TM_SPAN_ID_LEN];
	int rc = check_document(x, doc, &is_segment, parent_id, &has_parent);
	if (!rc)
		rc = add_resource(x, doc, is_segment);
	if (!rc)
		rc = add_node(x, doc, has_parent ? parent_id : NULL, is_segment, 0);
	json_decref(doc);
	return rc;
}

int tm_ingest_xray_datagram(const void *data, size_t len, struct tm_arena *arena,
			    struct tm_batch *batch, struct tm_ingest_report *report)
{
	struct xray x = { .arena = arena, .batch = batch, .report = report };
	const char *doc = NULL;
	size_t doc_len = 0;
	memset(report, 0, sizeof(*report));
	tm_batch_init(batch, arena);
	tm_buf_init(&x.text);
	int rc = len > XRAY_MAX_DATAGRAM
		? refuse(report, "datagram of %zu bytes is over the 64 KiB an X-Ray daemon takes",
			 len)
		: split_header(data, len, report, &doc, &doc_len);
	if (!rc)
		rc = convert(&x, doc, doc_len);
	tm_buf_free(&x.text);
	tm_batch_done(batch);
	if (rc)
		report->accepted = report->rejected = 0;   /* nothing of it is stored */
	if (rc == -ENOMEM && arena->hit_limit)
		return tm_ingest_too_big(arena, report);
	if (rc == -ENOMEM)
		snprintf(report->message, sizeof(report->message), "out of memory");
	return rc;
}
