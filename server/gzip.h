/* gzip.h - streaming gzip/zlib inflation into a capped buffer.
 *
 * Request bodies arrive in chunks; each chunk is inflated as it comes, and
 * the output is refused the moment it would pass the cap, so a gzip bomb
 * costs at most cap bytes of memory.
 * Errors: -EFBIG when the output would exceed the cap, -EBADMSG for data that
 * is not gzip (or zlib), -ENOMEM.
 * Memory: the inflater owns its zlib state until tm_inflate_free(); the
 * output buffer belongs to the caller. */
#ifndef TM_GZIP_H
#define TM_GZIP_H

#include <stddef.h>

#include "span.h"

struct tm_inflate;

struct tm_inflate *tm_inflate_new(size_t max_output);
void tm_inflate_free(struct tm_inflate *z);

/* inflates len bytes and appends the output to out. */
int tm_inflate_feed(struct tm_inflate *z, const void *data, size_t len, struct tm_buf *out);

/* after the last chunk: -EBADMSG unless the stream ended cleanly. */
int tm_inflate_finish(struct tm_inflate *z);

#endif
