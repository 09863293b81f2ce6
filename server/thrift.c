/* thrift.c - TBinaryProtocol, read strictly (see thrift.h). */
#include "thrift.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tm_thrift_reader_init(struct tm_thrift_reader *r, const void *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->data = data;
	r->len = len;
}

static int fail_va(struct tm_thrift_reader *r, size_t offset, const char *fmt, va_list ap)
{
	if (r->error[0])
		return -EBADMSG;
	char what[120];
	vsnprintf(what, sizeof(what), fmt, ap);
	snprintf(r->error, sizeof(r->error), "%s at byte offset %zu", what, offset);
	return -EBADMSG;
}

int tm_thrift_fail(struct tm_thrift_reader *r, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = fail_va(r, offset, fmt, ap);
	va_end(ap);
	return rc;
}

const char *tm_thrift_type_name(uint8_t type)
{
	switch (type) {
	case TM_THRIFT_STOP: return "stop";
	case TM_THRIFT_VOID: return "void";
	case TM_THRIFT_BOOL: return "bool";
	case TM_THRIFT_I8: return "i8";
	case TM_THRIFT_DOUBLE: return "double";
	case TM_THRIFT_I16: return "i16";
	case TM_THRIFT_I32: return "i32";
	case TM_THRIFT_I64: return "i64";
	case TM_THRIFT_STRING: return "string";
	case TM_THRIFT_STRUCT: return "struct";
	case TM_THRIFT_MAP: return "map";
	case TM_THRIFT_SET: return "set";
	case TM_THRIFT_LIST: return "list";
	case TM_THRIFT_UUID: return "uuid";
	default: return "unknown";
	}
}

/* the fewest bytes a value of the type takes, 0 for a type that cannot be a
 * value; this is what bounds a container's count by the bytes left */
static size_t min_size(uint8_t type)
{
	switch (type) {
	case TM_THRIFT_BOOL:
	case TM_THRIFT_I8:
	case TM_THRIFT_STRUCT:    /* the STOP byte alone */
		return 1;
	case TM_THRIFT_I16: return 2;
	case TM_THRIFT_I32:
	case TM_THRIFT_STRING:    /* the length alone */
		return 4;
	case TM_THRIFT_I64:
	case TM_THRIFT_DOUBLE:
		return 8;
	case TM_THRIFT_MAP: return 6;
	case TM_THRIFT_SET:
	case TM_THRIFT_LIST:
		return 5;
	case TM_THRIFT_UUID: return 16;
	default: return 0;
	}
}

/* 1 for the types whose every value has the same size */
static int is_fixed_size(uint8_t type)
{
	return type == TM_THRIFT_BOOL || type == TM_THRIFT_I8 || type == TM_THRIFT_I16 ||
	       type == TM_THRIFT_I32 || type == TM_THRIFT_I64 || type == TM_THRIFT_DOUBLE ||
	       type == TM_THRIFT_UUID;
}

static size_t left(const struct tm_thrift_reader *r)
{
	return r->len - r->pos;
}

/* the n bytes at the read position, consumed; NULL (and the error) if the
 * buffer ends first */
static const uint8_t *take(struct tm_thrift_reader *r, size_t n, const char *what)
{
	if (n > left(r)) {
		tm_thrift_fail(r, r->pos, "%s needs %zu bytes, %zu left", what, n, left(r));
		return NULL;
	}
	const uint8_t *p = r->data + r->pos;
	r->pos += n;
	return p;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int tm_thrift_read_bool(struct tm_thrift_reader *r, int *out)
{
	const uint8_t *p = take(r, 1, "bool");
	if (!p)
		return -EBADMSG;
	*out = p[0] != 0;
	return 0;
}

int tm_thrift_read_i8(struct tm_thrift_reader *r, int8_t *out)
{
	const uint8_t *p = take(r, 1, "i8");
	if (!p)
		return -EBADMSG;
	*out = (int8_t)p[0];
	return 0;
}

int tm_thrift_read_i16(struct tm_thrift_reader *r, int16_t *out)
{
	const uint8_t *p = take(r, 2, "i16");
	if (!p)
		return -EBADMSG;
	*out = (int16_t)(uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int tm_thrift_read_i32(struct tm_thrift_reader *r, int32_t *out)
{
	const uint8_t *p = take(r, 4, "i32");
	if (!p)
		return -EBADMSG;
	*out = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			 (uint32_t)p[2] << 8 | p[3]);
	return 0;
}

int tm_thrift_read_i64(struct tm_thrift_reader *r, int64_t *out)
{
	const uint8_t *p = take(r, 8, "i64");
	if (!p)
		return -EBADMSG;
	*out = (int64_t)be64(p);
	return 0;
}

int tm_thrift_read_double(struct tm_thrift_reader *r, double *out)
{
	const uint8_t *p = take(r, 8, "double");
	if (!p)
		return -EBADMSG;
	uint64_t bits = be64(p);
	memcpy(out, &bits, sizeof(*out));
	return 0;
}

/* a length or count: an i32 that must not be negative */
static int read_size(struct tm_thrift_reader *r, const char *what, uint32_t *out)
{
	size_t at = r->pos;
	int32_t n = 0;
	if (tm_thrift_read_i32(r, &n) < 0)
		return -EBADMSG;
	if (n < 0)
		return tm_thrift_fail(r, at, "negative %s %d", what, (int)n);
	*out = (uint32_t)n;
	return 0;
}

int tm_thrift_read_binary(struct tm_thrift_reader *r, const uint8_t **ptr, size_t *len)
{
	size_t at = r->pos;
	uint32_t n = 0;
	if (read_size(r, "string length", &n) < 0)
		return -EBADMSG;
	if (n > left(r))
		return tm_thrift_fail(r, at, "string length %u exceeds the %zu bytes left",
				      (unsigned)n, left(r));
	*ptr = r->data + r->pos;
	*len = n;
	r->pos += n;
	return 0;
}

/* an element type byte: one that can be a value */
static int read_elem_type(struct tm_thrift_reader *r, const char *what, uint8_t *type)
{
	size_t at = r->pos;
	const uint8_t *p = take(r, 1, what);
	if (!p)
		return -EBADMSG;
	if (!min_size(p[0]))
		return tm_thrift_fail(r, at, "%s %u is not a thrift type", what, (unsigned)p[0]);
	*type = p[0];
	return 0;
}

/* n elements of at least each bytes each must fit in what is left */
static int check_count(struct tm_thrift_reader *r, size_t at, const char *what, uint32_t n,
		       size_t each)
{
	if (n && each > left(r) / n)
		return tm_thrift_fail(r, at, "%s of %u elements needs at least %zu bytes, %zu left",
				      what, (unsigned)n, (size_t)n * each, left(r));
	return 0;
}

int tm_thrift_read_list(struct tm_thrift_reader *r, uint8_t *elem_type, uint32_t *n)
{
	size_t at = r->pos;
	if (read_elem_type(r, "list element type", elem_type) < 0 ||
	    read_size(r, "list size", n) < 0)
		return -EBADMSG;
	return check_count(r, at, "list", *n, min_size(*elem_type));
}

int tm_thrift_read_map(struct tm_thrift_reader *r, uint8_t *key_type, uint8_t *value_type,
		       uint32_t *n)
{
	size_t at = r->pos;
	if (read_elem_type(r, "map key type", key_type) < 0 ||
	    read_elem_type(r, "map value type", value_type) < 0 ||
	    read_size(r, "map size", n) < 0)
		return -EBADMSG;
	return check_count(r, at, "map", *n, min_size(*key_type) + min_size(*value_type));
}

int tm_thrift_read_field(struct tm_thrift_reader *r, uint8_t *type, int16_t *id)
{
	r->field_offset = r->pos;
	const uint8_t *p = take(r, 1, "field header");
	if (!p)
		return -EBADMSG;
	*type = p[0];
	*id = 0;
	if (*type == TM_THRIFT_STOP)
		return 0;
	if (!min_size(*type))
		return tm_thrift_fail(r, r->field_offset, "field type %u is not a thrift type",
				      (unsigned)*type);
	return tm_thrift_read_i16(r, id);
}

static int skip_value(struct tm_thrift_reader *r, uint8_t type, unsigned depth);

/* depth containers are open; one more may open within the limit */
static int enter(struct tm_thrift_reader *r, unsigned depth)
{
	if (depth >= TM_THRIFT_MAX_DEPTH)
		return tm_thrift_fail(r, r->pos, "containers nested deeper than %d levels",
				      TM_THRIFT_MAX_DEPTH);
	return 0;
}

int tm_thrift_enter(struct tm_thrift_reader *r)
{
	if (enter(r, r->depth) < 0)
		return -EBADMSG;
	r->depth++;
	return 0;
}

void tm_thrift_leave(struct tm_thrift_reader *r)
{
	if (r->depth)
		r->depth--;
}

static int skip_struct(struct tm_thrift_reader *r, unsigned depth)
{
	for (;;) {
		uint8_t type;
		int16_t id;
		if (tm_thrift_read_field(r, &type, &id) < 0)
			return -EBADMSG;
		if (type == TM_THRIFT_STOP)
			return 0;
		if (skip_value(r, type, depth) < 0)
			return -EBADMSG;
	}
}

/* n values of one type; fixed-size ones in one step (the count was checked) */
static int skip_values(struct tm_thrift_reader *r, uint8_t type, uint32_t n, unsigned depth)
{
	if (is_fixed_size(type)) {
		r->pos += (size_t)n * min_size(type);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++)
		if (skip_value(r, type, depth) < 0)
			return -EBADMSG;
	return 0;
}

static int skip_map(struct tm_thrift_reader *r, unsigned depth)
{
	uint8_t kt, vt;
	uint32_t n;
	if (tm_thrift_read_map(r, &kt, &vt, &n) < 0)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++)
		if (skip_value(r, kt, depth) < 0 || skip_value(r, vt, depth) < 0)
			return -EBADMSG;
	return 0;
}

/* depth counts the containers around this value */
static int skip_value(struct tm_thrift_reader *r, uint8_t type, unsigned depth)
{
	const uint8_t *p;
	size_t len;
	uint8_t et;
	uint32_t n;

	switch (type) {
	case TM_THRIFT_STRING:
		return tm_thrift_read_binary(r, &p, &len);
	case TM_THRIFT_STRUCT:
		return enter(r, depth) < 0 ? -EBADMSG : skip_struct(r, depth + 1);
	case TM_THRIFT_MAP:
		return enter(r, depth) < 0 ? -EBADMSG : skip_map(r, depth + 1);
	case TM_THRIFT_SET:
	case TM_THRIFT_LIST:
		if (enter(r, depth) < 0 || tm_thrift_read_list(r, &et, &n) < 0)
			return -EBADMSG;
		return skip_values(r, et, n, depth + 1);
	default:
		if (!min_size(type))
			return tm_thrift_fail(r, r->pos, "type %u is not a thrift type",
					      (unsigned)type);
		return take(r, min_size(type), tm_thrift_type_name(type)) ? 0 : -EBADMSG;
	}
}

int tm_thrift_skip(struct tm_thrift_reader *r, uint8_t type)
{
	return skip_value(r, type, r->depth);
}
