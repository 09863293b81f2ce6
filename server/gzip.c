/* gzip.c - streaming inflation with an output cap. */
#include "gzip.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#define INFLATE_STEP (64 * 1024)

struct tm_inflate {
	z_stream zs;
	size_t max_output;
	size_t produced;
	int ended;   /* Z_STREAM_END seen for the current member */
};

struct tm_inflate *tm_inflate_new(size_t max_output)
{
	struct tm_inflate *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	/* 15 + 32: accept gzip and zlib headers alike */
	if (inflateInit2(&z->zs, 15 + 32) != Z_OK) {
		free(z);
		return NULL;
	}
	z->max_output = max_output;
	return z;
}

void tm_inflate_free(struct tm_inflate *z)
{
	if (!z)
		return;
	inflateEnd(&z->zs);
	free(z);
}

/* makes room for step more bytes like tm_buf_reserve(), doubling, but never
 * grows the buffer past limit (what the cap can still need): left to
 * tm_buf's doubling, a bomb would cost up to twice the cap */
static unsigned char *reserve_capped(struct tm_buf *out, size_t step, size_t limit)
{
	if (out->failed || out->cap - out->len >= step)
		return tm_buf_reserve(out, step);
	size_t want = out->cap ? out->cap * 2 : 256;
	if (want > limit)
		want = limit;
	if (want < out->len + step)
		want = out->len + step;
	unsigned char *p = realloc(out->data, want);
	if (!p) {
		out->failed = 1;
		return NULL;
	}
	out->data = p;
	out->cap = want;
	return p + out->len;
}

int tm_inflate_feed(struct tm_inflate *z, const void *data, size_t len, struct tm_buf *out)
{
	z->zs.next_in = (Bytef *)data;
	z->zs.avail_in = (uInt)len;
	while (z->zs.avail_in > 0) {
		if (z->ended) {
			/* another gzip member follows (concatenated streams are valid gzip) */
			if (inflateReset(&z->zs) != Z_OK)
				return -EBADMSG;
			z->ended = 0;
		}
		size_t room = z->max_output - z->produced;
		size_t step = room < INFLATE_STEP ? room + 1 : INFLATE_STEP;
		unsigned char *dst = reserve_capped(out, step, out->len + room + 1);
		if (!dst)
			return -ENOMEM;
		z->zs.next_out = dst;
		z->zs.avail_out = (uInt)step;
		int rc = inflate(&z->zs, Z_NO_FLUSH);
		size_t got = step - z->zs.avail_out;
		out->len += got;
		z->produced += got;
		if (z->produced > z->max_output)
			return -EFBIG;
		if (rc == Z_STREAM_END)
			z->ended = 1;
		else if (rc == Z_BUF_ERROR && got == 0)
			break;
		else if (rc != Z_OK)
			return -EBADMSG;
	}
	return 0;
}

int tm_inflate_finish(struct tm_inflate *z)
{
	return z->ended ? 0 : -EBADMSG;
}
