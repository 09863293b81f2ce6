/* thrift.h - a strict reader of Apache Thrift's TBinaryProtocol.
 *
 * Reads a buffer field by field, the way generated code would, but with no
 * generated code: the caller knows its schema and asks for each value, and
 * skips what it does not know with tm_thrift_skip().  Every length and
 * element count is checked against the bytes left before anything is
 * trusted, containers nest at most TM_THRIFT_MAX_DEPTH deep, and unknown
 * type ids are errors, so a hostile buffer costs time linear in its size.
 *
 * Wire format (big-endian): a struct is fields then a STOP byte (0); a field
 * is type (i8) + id (i16) + value; string/binary is i32 length + bytes;
 * list/set is element type (i8) + i32 count + elements; map is key type
 * (i8) + value type (i8) + i32 count + pairs; bool and i8 are one byte.
 *
 * Threads: a reader belongs to one thread.
 * Errors:  functions return 0 or -EBADMSG; the first error is kept in
 *          r->error, naming what was wrong and its byte offset.
 * Memory:  the reader borrows the buffer; strings it returns point into it. */
#ifndef TM_THRIFT_H
#define TM_THRIFT_H

#include <stddef.h>
#include <stdint.h>

enum tm_thrift_type {
	TM_THRIFT_STOP = 0,
	TM_THRIFT_VOID = 1,     /* never on the wire as a value */
	TM_THRIFT_BOOL = 2,
	TM_THRIFT_I8 = 3,
	TM_THRIFT_DOUBLE = 4,
	TM_THRIFT_I16 = 6,
	TM_THRIFT_I32 = 8,
	TM_THRIFT_I64 = 10,
	TM_THRIFT_STRING = 11,  /* also binary */
	TM_THRIFT_STRUCT = 12,
	TM_THRIFT_MAP = 13,
	TM_THRIFT_SET = 14,
	TM_THRIFT_LIST = 15,
	TM_THRIFT_UUID = 16,    /* 16 raw bytes (Thrift 0.19+) */
};

/* containers (struct, list, set, map) nested deeper than this are refused */
#define TM_THRIFT_MAX_DEPTH 64

struct tm_thrift_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;            /* next byte to read */
	size_t field_offset;   /* where the last field header began */
	unsigned depth;        /* containers open around the read position */
	char error[160];       /* first error; "" while there is none */
};

/* starts reading len bytes at data. */
void tm_thrift_reader_init(struct tm_thrift_reader *r, const void *data, size_t len);

/* reads one field header.  At the end of a struct *type is TM_THRIFT_STOP
 * and *id is 0.  Types that cannot be a field (VOID, unknown ids) are
 * errors; r->field_offset remembers where the header began. */
int tm_thrift_read_field(struct tm_thrift_reader *r, uint8_t *type, int16_t *id);

int tm_thrift_read_bool(struct tm_thrift_reader *r, int *out);   /* any non-zero byte is true */
int tm_thrift_read_i8(struct tm_thrift_reader *r, int8_t *out);
int tm_thrift_read_i16(struct tm_thrift_reader *r, int16_t *out);
int tm_thrift_read_i32(struct tm_thrift_reader *r, int32_t *out);
int tm_thrift_read_i64(struct tm_thrift_reader *r, int64_t *out);
int tm_thrift_read_double(struct tm_thrift_reader *r, double *out);

/* reads a string or binary: *ptr points into the buffer (not NUL-terminated;
 * no UTF-8 check, which is the caller's business). */
int tm_thrift_read_binary(struct tm_thrift_reader *r, const uint8_t **ptr, size_t *len);

/* reads a list or set header.  The count is checked against the bytes left
 * at the smallest size an element of that type can have. */
int tm_thrift_read_list(struct tm_thrift_reader *r, uint8_t *elem_type, uint32_t *n);

/* reads a map header; the count is checked like a list's. */
int tm_thrift_read_map(struct tm_thrift_reader *r, uint8_t *key_type, uint8_t *value_type,
		       uint32_t *n);

/* counts one container (struct, list, set or map) the caller reads itself,
 * so that the nesting limit holds for the whole buffer, skipped parts or
 * not; -EBADMSG past TM_THRIFT_MAX_DEPTH.  tm_thrift_leave() closes it. */
int tm_thrift_enter(struct tm_thrift_reader *r);
void tm_thrift_leave(struct tm_thrift_reader *r);

/* skips one value of the given type, checking everything inside it; its
 * containers count from the depth the caller has entered. */
int tm_thrift_skip(struct tm_thrift_reader *r, uint8_t type);

/* records an error of the caller's own (a field of the wrong type, a
 * missing required field) at a byte offset; returns -EBADMSG.  Only the
 * first error is kept. */
int tm_thrift_fail(struct tm_thrift_reader *r, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* the name of a type id ("i64", "string", ...), or "unknown". */
const char *tm_thrift_type_name(uint8_t type);

#endif
