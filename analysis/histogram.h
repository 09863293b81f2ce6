/* histogram.h - mergeable log-linear latency histogram (HDR-style).
 *
 * Values are durations in nanoseconds, any uint64_t.  Values below 64 get a
 * bucket each; every power of two above, [2^k, 2^(k+1)) for k = 6..63, is cut
 * into 64 equal sub-buckets of width 2^(k-6).  A bucket is therefore never
 * wider than 1/64 of its lower bound, and a reported percentile (the bucket's
 * midpoint, clamped to the exact min and max) is within 1/128 = 0.78% of the
 * true value.  3776 buckets cover the whole uint64_t range.
 *
 * Why a fixed struct of 3776 uint64_t counters (about 30 KB): no malloc, no
 * failure path, and a merge is one loop of additions.  The 1% bound over
 * 2^64 needs 64 sub-buckets per power of two, which cannot fit in 8 KB;
 * uint32_t counters would halve the size, but merged windows of a busy edge
 * could wrap them (2^32 calls in one 1.6%-wide bucket: 50k/s for a day,
 * 7k/s for a week), silently.  The size costs little at run time because every
 * loop (merge, reset, percentile) touches only the buckets between those of
 * the min and the max, typically a few hundred, and the stored form
 * (tm_hist_encode) is sparse.  Keep histograms in an arena or a heap object
 * rather than on small thread stacks.
 *
 * Threads: pure functions; a histogram belongs to one thread at a time.
 * Errors:  only decoding fails, with -EBADMSG.  The sum saturates at
 *          UINT64_MAX; counts are uint64_t and decoding refuses counts
 *          that add up past it.
 * Memory:  struct tm_hist is a plain value the caller embeds or allocates;
 *          nothing here allocates except tm_hist_encode into the caller's
 *          tm_buf. */
#ifndef TM_HISTOGRAM_H
#define TM_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "span.h"

#define TM_HIST_SUB_BITS 6                       /* 64 sub-buckets per power of two */
#define TM_HIST_BUCKETS ((64 - TM_HIST_SUB_BITS + 1) << TM_HIST_SUB_BITS)   /* 3776 */

struct tm_hist {
	uint64_t count;
	uint64_t sum_ns;     /* saturates at UINT64_MAX */
	uint64_t min_ns;     /* exact; meaningless while count is 0 */
	uint64_t max_ns;     /* exact; the buckets of min and max bound every loop */
	uint64_t buckets[TM_HIST_BUCKETS];
};

/* one non-empty bucket: lo_ns <= every value counted in it <= hi_ns. */
struct tm_hist_bucket {
	uint64_t lo_ns;
	uint64_t hi_ns;
	uint64_t count;
};

/* makes h empty, clearing all of it; call once before first use. */
void tm_hist_init(struct tm_hist *h);

/* makes h empty without clearing its 30 KB of buckets: they are zeroed as
 * values come into their range.  For the many short-lived histograms of a
 * query; every function here keeps to the range of min and max. */
void tm_hist_init_lazy(struct tm_hist *h);

/* makes an initialized h empty again, clearing only the buckets in use. */
void tm_hist_reset(struct tm_hist *h);

/* counts one value. */
void tm_hist_add(struct tm_hist *h, uint64_t value_ns);

/* counts value_ns n times; n = 0 does nothing. */
void tm_hist_add_n(struct tm_hist *h, uint64_t value_ns, uint64_t n);

/* takes back one value counted before (a correction: a call counted under
 * the wrong edge).  Its bucket loses one; when that empties the bucket of
 * min or max, the bound moves to the edge of the nearest non-empty bucket,
 * so min and max stay bounds, no longer exact (max at most the sum, as
 * the stored form wants).  A value whose bucket is empty is ignored. */
void tm_hist_remove(struct tm_hist *h, uint64_t value_ns);

/* adds every value of src to dst (dst becomes the histogram of the union);
 * costs one addition per bucket between src's min and max. */
void tm_hist_merge(struct tm_hist *dst, const struct tm_hist *src);

uint64_t tm_hist_count(const struct tm_hist *h);

/* exact min, max and (saturating) sum of the values; 0 when h is empty. */
uint64_t tm_hist_min(const struct tm_hist *h);
uint64_t tm_hist_max(const struct tm_hist *h);
uint64_t tm_hist_sum(const struct tm_hist *h);

/* returns the value of nearest rank r = ceil(q * count), r clamped to
 * [1, count], as the midpoint of the bucket holding it, clamped to [min, max]:
 * within 0.78% of the exact value.  q = 0 gives the min, q = 1 the max,
 * q = 0.5 the median.  q is clamped to [0, 1] (NaN counts as 0); products
 * q * count within 1e-12 relative of an integer count as that integer, so
 * q = 0.07 of 100 values is rank 7 even though 0.07 is not exact in binary.
 * Returns 0 when h is empty. */
uint64_t tm_hist_percentile(const struct tm_hist *h, double q);

/* tm_hist_percentile() of each of qs[0..nq) into out[0..nq), nq <= 16, in
 * one walk over the buckets instead of nq. */
void tm_hist_percentiles(const struct tm_hist *h, const double *qs, size_t nq, uint64_t *out);

/* walks the non-empty buckets in increasing order, for drawing: start with
 * *pos = 0; each call stores the next bucket in *out and returns 1, then 0
 * when there is none left. */
int tm_hist_bucket_next(const struct tm_hist *h, size_t *pos, struct tm_hist_bucket *out);

/* the bucket index of a value, and the bounds of a bucket index, for callers
 * that re-bin buckets (index < TM_HIST_BUCKETS). */
size_t tm_hist_bucket_of(uint64_t value_ns);
void tm_hist_bucket_bounds(size_t index, uint64_t *lo_ns, uint64_t *hi_ns);

/* appends the sparse stored form of h to out: a format byte, the number of
 * non-empty buckets, min, max - min and the sum, then for each non-empty
 * bucket the index delta and the count, all as varints.  An empty histogram
 * takes 2 bytes, 1000 values 17 (all equal) to 800 bytes (lognormal, sigma
 * 1.2): about 2 bytes per non-empty bucket.  Allocation failure sets
 * out->failed (see struct tm_buf). */
void tm_hist_encode(const struct tm_hist *h, struct tm_buf *out);

/* replaces *h by the histogram encoded in len bytes; h need not be
 * initialized.  Returns 0, or -EBADMSG when the bytes are not exactly one
 * valid encoding (arbitrary bytes are safe); *h is then left empty. */
int tm_hist_decode(const void *bytes, size_t len, struct tm_hist *h);

/* adds the histogram encoded in len bytes to an initialized *h, without a
 * temporary histogram: what a window merge of stored minute rollups wants
 * (about 3-4 ns per non-empty bucket).  Returns 0, or -EBADMSG (and *h is
 * unchanged). */
int tm_hist_merge_encoded(struct tm_hist *h, const void *bytes, size_t len);

/*---- dense form, for a cache in memory ----
 *
 * The stored form costs a few ns per non-empty bucket to merge; a
 * histogram with most buckets between its min and max in use merges
 * several times faster from plain 32-bit counts.  Not a stored format:
 * what a query keeps in memory between queries. */

struct tm_hist_dense {
	uint64_t count, sum_ns, min_ns, max_ns;   /* as in struct tm_hist */
	const uint32_t *counts;   /* buckets [bucket_of(min), bucket_of(max)]; not owned */
};

/* the number of counters tm_hist_to_dense() writes for h (0 when empty) */
size_t tm_hist_dense_len(const struct tm_hist *h);

/* writes h's counts into counts[0..tm_hist_dense_len(h)) and its totals
 * into *out (out->counts = counts).  Returns 0, or -ERANGE (nothing
 * usable written) when a bucket holds more than UINT32_MAX. */
int tm_hist_to_dense(const struct tm_hist *h, uint32_t *counts, struct tm_hist_dense *out);

/* adds every value of d to an initialized h. */
void tm_hist_merge_dense(struct tm_hist *h, const struct tm_hist_dense *d);

#endif
