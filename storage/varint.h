/* varint.h - LEB128 varints and little-endian fixed 64-bit integers, as
 * every record and index value of the store uses them.  Internal to
 * storage/. */
#ifndef TM_VARINT_H
#define TM_VARINT_H

#include <errno.h>
#include <stdint.h>

#include "span.h"

/* appends v in 1 to 10 bytes; a failed buffer stays failed. */
static inline void varint_put(struct tm_buf *b, uint64_t v)
{
	unsigned char *p = tm_buf_reserve(b, 10);
	if (!p)
		return;
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	b->len += n;
}

/* reads one varint at *p, advancing it; 0, or -EBADMSG when it runs past
 * end or past 10 bytes. */
static inline int varint_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -EBADMSG;
}

/* appends v as 8 bytes, least significant first. */
static inline void fixed64_put(struct tm_buf *b, uint64_t v)
{
	unsigned char tmp[8];
	for (int i = 0; i < 8; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	tm_buf_add(b, tmp, 8);
}

/* reads 8 bytes at *p, advancing it; 0, or -EBADMSG past end. */
static inline int fixed64_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (end - *p < 8)
		return -EBADMSG;
	*v = 0;
	for (int i = 7; i >= 0; i--)
		*v = (*v << 8) | (*p)[i];
	*p += 8;
	return 0;
}

#endif
