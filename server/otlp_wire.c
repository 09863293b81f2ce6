/* otlp_wire.c - structural check of OTLP protobuf before protobuf-c sees it.
 *
 * protobuf-c recurses once per nested message with no depth limit, so a
 * body of 100k nested AnyValues would overflow the stack.  This walk follows
 * only the message-typed fields of the trace schema, bounds the nesting of
 * attribute values, and names the first thing that is wrong. */
#include "ingest_otlp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

enum msg {
	M_REQUEST, M_RESOURCE_SPANS, M_RESOURCE, M_SCOPE_SPANS, M_SCOPE, M_SPAN,
	M_EVENT, M_LINK, M_STATUS, M_KEY_VALUE, M_ANY_VALUE, M_ARRAY, M_KVLIST,
	M_LEAF,   /* a message whose fields we do not follow */
};

static const char *const msg_names[] = {
	"ExportTraceServiceRequest", "ResourceSpans", "Resource", "ScopeSpans",
	"InstrumentationScope", "Span", "Span.Event", "Span.Link", "Status",
	"KeyValue", "AnyValue", "ArrayValue", "KeyValueList", "message",
};

/* the message-typed fields of each message (field numbers below 16);
 * 0 marks the rest.  A table, not a search: this runs for every field. */
#define MAX_MSG_FIELD 16

static const uint8_t children[M_LEAF][MAX_MSG_FIELD] = {
	[M_REQUEST] = { [1] = M_RESOURCE_SPANS },
	[M_RESOURCE_SPANS] = { [1] = M_RESOURCE, [2] = M_SCOPE_SPANS },
	[M_RESOURCE] = { [1] = M_KEY_VALUE, [3] = M_LEAF },
	[M_SCOPE_SPANS] = { [1] = M_SCOPE, [2] = M_SPAN },
	[M_SCOPE] = { [3] = M_KEY_VALUE },
	[M_SPAN] = { [9] = M_KEY_VALUE, [11] = M_EVENT, [13] = M_LINK, [15] = M_STATUS },
	[M_EVENT] = { [3] = M_KEY_VALUE },
	[M_LINK] = { [4] = M_KEY_VALUE },
	[M_KEY_VALUE] = { [2] = M_ANY_VALUE },
	[M_ANY_VALUE] = { [5] = M_ARRAY, [6] = M_KVLIST },
	[M_ARRAY] = { [1] = M_ANY_VALUE },
	[M_KVLIST] = { [1] = M_KEY_VALUE },
};

/* the message type of a field, M_LEAF for non-message fields */
static enum msg field_type(enum msg m, uint64_t field, int *is_message)
{
	/* 0 in the table means "no entry" except for M_REQUEST, which no field
	 * ever has as its type */
	uint8_t child = m < M_LEAF && field < MAX_MSG_FIELD ? children[m][field] : 0;
	*is_message = child != 0;
	return child ? (enum msg)child : M_LEAF;
}

struct walk {
	const unsigned char *base;
	int max_depth;
	char *err;
	size_t errlen;
};

static int walk_fail(struct walk *w, const unsigned char *at, const char *what, enum msg m)
{
	snprintf(w->err, w->errlen, "%s at byte %td (in %s)", what, at - w->base, msg_names[m]);
	return -EBADMSG;
}

static int read_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 70 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= shift < 64 ? (uint64_t)(c & 0x7f) << shift : 0;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

static int walk_message(struct walk *w, const unsigned char *p, const unsigned char *end,
			enum msg m, int depth)
{
	if (depth > w->max_depth)
		return walk_fail(w, p, "attribute values nested too deeply", m);
	while (p < end) {
		const unsigned char *field_at = p;
		uint64_t tag, len;
		if (read_varint(&p, end, &tag) < 0)
			return walk_fail(w, field_at, "truncated field tag", m);
		unsigned wire = (unsigned)(tag & 7);
		int is_message;
		enum msg child = field_type(m, tag >> 3, &is_message);
		if (tag >> 3 == 0)
			return walk_fail(w, field_at, "field number 0", m);
		if (is_message && wire != 2)
			return walk_fail(w, field_at, "message field with a non-length wire type", m);
		switch (wire) {
		case 0:
			if (read_varint(&p, end, &len) < 0)
				return walk_fail(w, field_at, "truncated varint", m);
			break;
		case 1:
		case 5: {
			size_t n = wire == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return walk_fail(w, field_at, "truncated fixed-size field", m);
			p += n;
			break;
		}
		case 2:
			if (read_varint(&p, end, &len) < 0)
				return walk_fail(w, field_at, "truncated length", m);
			if (len > (uint64_t)(end - p))
				return walk_fail(w, field_at, "length prefix past the end of its message", m);
			if (is_message && child != M_LEAF) {
				int nested = child == M_ANY_VALUE ? depth + 1 : depth;
				int rc = walk_message(w, p, p + len, child, nested);
				if (rc)
					return rc;
			}
			p += len;
			break;
		default:
			return walk_fail(w, field_at, "unsupported wire type (groups or invalid)", m);
		}
	}
	return 0;
}

int tm_otlp_wire_check(const void *body, size_t len, int max_depth, char *err, size_t errlen)
{
	struct walk w = { body, max_depth, err, errlen };
	const unsigned char *p = body;
	return walk_message(&w, p, p + len, M_REQUEST, 0);
}
