/* histogram.c - log-linear latency histogram: bucket layout, percentiles,
 * and the sparse varint stored form. */
#include "histogram.h"

#include <errno.h>
#include <string.h>

#include "varint.h"

#define SUB_COUNT (1u << TM_HIST_SUB_BITS)   /* sub-buckets per power of two */

/* first byte of the stored form: names the bucket layout, so a layout
 * change can still read (or at least refuse) old rollups */
#define FORMAT_LOG_LINEAR_64 1

/*---- bucket layout ----*/

static unsigned floor_log2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);   /* v != 0 */
}

size_t tm_hist_bucket_of(uint64_t v)
{
	if (v < SUB_COUNT)
		return (size_t)v;
	/* shift = width exponent: v >> shift is in [SUB_COUNT, 2 * SUB_COUNT) */
	unsigned shift = floor_log2(v) - TM_HIST_SUB_BITS;
	return ((size_t)shift << TM_HIST_SUB_BITS) + (size_t)(v >> shift);
}

void tm_hist_bucket_bounds(size_t index, uint64_t *lo_ns, uint64_t *hi_ns)
{
	if (index >= TM_HIST_BUCKETS)
		index = TM_HIST_BUCKETS - 1;
	if (index < 2 * SUB_COUNT) {   /* widths are 1 up to 2 * SUB_COUNT */
		*lo_ns = *hi_ns = index;
		return;
	}
	unsigned shift = (unsigned)(index >> TM_HIST_SUB_BITS) - 1;
	uint64_t mantissa = index - ((size_t)shift << TM_HIST_SUB_BITS);
	*lo_ns = mantissa << shift;
	*hi_ns = *lo_ns + ((UINT64_C(1) << shift) - 1);   /* the last one is UINT64_MAX */
}

static uint64_t bucket_midpoint(size_t index)
{
	uint64_t lo, hi;
	tm_hist_bucket_bounds(index, &lo, &hi);
	return lo + ((hi - lo + 1) >> 1);
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_saturating(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/*---- building ----*/

void tm_hist_init(struct tm_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void tm_hist_reset(struct tm_hist *h)
{
	/* every non-empty bucket lies between those of min and max */
	if (h->count) {
		size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
		memset(&h->buckets[lo], 0, (hi - lo + 1) * sizeof(h->buckets[0]));
	}
	h->count = h->sum_ns = h->min_ns = h->max_ns = 0;
}

/* folds count values spanning [min_ns, max_ns] with sum_ns into the totals;
 * the buckets are the caller's business */
/* a histogram made with tm_hist_init_lazy() holds garbage outside the
 * buckets of its min and max: before values in [lo_ns, hi_ns] are counted,
 * the buckets that come inside that range are zeroed */
static void widen(struct tm_hist *h, uint64_t lo_ns, uint64_t hi_ns)
{
	size_t lo = tm_hist_bucket_of(lo_ns), hi = tm_hist_bucket_of(hi_ns);
	if (!h->count) {
		memset(&h->buckets[lo], 0, (hi - lo + 1) * sizeof(h->buckets[0]));
		return;
	}
	size_t old_lo = tm_hist_bucket_of(h->min_ns), old_hi = tm_hist_bucket_of(h->max_ns);
	if (lo < old_lo)
		memset(&h->buckets[lo], 0, (old_lo - lo) * sizeof(h->buckets[0]));
	if (hi > old_hi)
		memset(&h->buckets[old_hi + 1], 0, (hi - old_hi) * sizeof(h->buckets[0]));
}

void tm_hist_init_lazy(struct tm_hist *h)
{
	h->count = h->sum_ns = h->min_ns = h->max_ns = 0;
}

static void add_totals(struct tm_hist *h, uint64_t count, uint64_t min_ns, uint64_t max_ns,
		       uint64_t sum_ns)
{
	if (!h->count || min_ns < h->min_ns)
		h->min_ns = min_ns;
	if (!h->count || max_ns > h->max_ns)
		h->max_ns = max_ns;
	h->count += count;
	h->sum_ns = add_saturating(h->sum_ns, sum_ns);
}

void tm_hist_add_n(struct tm_hist *h, uint64_t value_ns, uint64_t n)
{
	if (!n)
		return;
	widen(h, value_ns, value_ns);
	h->buckets[tm_hist_bucket_of(value_ns)] += n;
	add_totals(h, n, value_ns, value_ns, mul_saturating(value_ns, n));
}

void tm_hist_add(struct tm_hist *h, uint64_t value_ns)
{
	tm_hist_add_n(h, value_ns, 1);
}

/* after a remove: no value left is above their sum, and the stored form
 * (tm_hist_encode) is refused when max > sum.  One value left is the sum
 * itself; else a stale max above the sum comes down to it (staying in the
 * top bucket, hi), and a sum that is off (a value taken back that was
 * never counted) goes up to the max. */
static void settle_bounds(struct tm_hist *h, size_t hi)
{
	uint64_t lo_ns, hi_ns;
	if (h->sum_ns == UINT64_MAX)
		return;
	tm_hist_bucket_bounds(hi, &lo_ns, &hi_ns);
	if (h->count == 1 && h->sum_ns >= lo_ns && h->sum_ns <= hi_ns) {
		h->min_ns = h->max_ns = h->sum_ns;
		return;
	}
	if (h->max_ns <= h->sum_ns)
		return;
	h->max_ns = h->sum_ns > lo_ns ? h->sum_ns : lo_ns;
	if (h->min_ns > h->max_ns)
		h->min_ns = h->max_ns;
	if (h->sum_ns < h->max_ns)
		h->sum_ns = h->max_ns;
}

void tm_hist_remove(struct tm_hist *h, uint64_t value_ns)
{
	size_t b = tm_hist_bucket_of(value_ns);
	if (!h->count || b < tm_hist_bucket_of(h->min_ns) || b > tm_hist_bucket_of(h->max_ns) ||
	    !h->buckets[b])
		return;
	h->buckets[b]--;
	h->count--;
	h->sum_ns = h->sum_ns == UINT64_MAX ? h->sum_ns
		  : h->sum_ns > value_ns ? h->sum_ns - value_ns : 0;
	if (!h->count) {
		h->sum_ns = h->min_ns = h->max_ns = 0;
		return;
	}
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	uint64_t bound;
	if (b == lo && !h->buckets[b]) {
		while (!h->buckets[lo])
			lo++;
		tm_hist_bucket_bounds(lo, &h->min_ns, &bound);
	}
	if (b == hi && !h->buckets[b]) {
		while (!h->buckets[hi])
			hi--;
		tm_hist_bucket_bounds(hi, &bound, &h->max_ns);
	}
	settle_bounds(h, hi);
}

/* the hot loop of a window merge: restrict and four independent sums let
 * the compiler keep it in registers and pipeline it (GCC -O2 does not
 * vectorize a loop of unknown length) */
static void add_counts(uint64_t *restrict dst, const uint64_t *restrict src, size_t n)
{
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		dst[i] += src[i];
		dst[i + 1] += src[i + 1];
		dst[i + 2] += src[i + 2];
		dst[i + 3] += src[i + 3];
	}
	for (; i < n; i++)
		dst[i] += src[i];
}

void tm_hist_merge(struct tm_hist *dst, const struct tm_hist *src)
{
	if (!src->count)
		return;
	if (dst != src)
		widen(dst, src->min_ns, src->max_ns);
	size_t lo = tm_hist_bucket_of(src->min_ns), hi = tm_hist_bucket_of(src->max_ns);
	if (dst == src)
		for (size_t i = lo; i <= hi; i++)
			dst->buckets[i] *= 2;
	else
		add_counts(dst->buckets + lo, src->buckets + lo, hi - lo + 1);
	add_totals(dst, src->count, src->min_ns, src->max_ns, src->sum_ns);
}

/*---- reading ----*/

uint64_t tm_hist_count(const struct tm_hist *h)
{
	return h->count;
}

uint64_t tm_hist_min(const struct tm_hist *h)
{
	return h->count ? h->min_ns : 0;
}

uint64_t tm_hist_max(const struct tm_hist *h)
{
	return h->count ? h->max_ns : 0;
}

uint64_t tm_hist_sum(const struct tm_hist *h)
{
	return h->sum_ns;
}

/* nearest rank ceil(q * count) in [1, count]; see tm_hist_percentile() for
 * why a product just above an integer counts as that integer */
static uint64_t nearest_rank(double q, uint64_t count)
{
	if (!(q > 0))
		return 1;
	if (q >= 1)
		return count;
	double x = q * (double)count;
	uint64_t rank = (uint64_t)x;
	if (x - (double)rank > x * 1e-12)
		rank++;
	return rank < 1 ? 1 : rank > count ? count : rank;
}

uint64_t tm_hist_percentile(const struct tm_hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = nearest_rank(q, h->count);
	/* the extreme ranks are known exactly */
	if (rank == 1)
		return h->min_ns;
	if (rank == h->count)
		return h->max_ns;
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	uint64_t seen = 0;
	for (size_t i = lo; i <= hi; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = bucket_midpoint(i);
			return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
		}
	}
	return h->max_ns;   /* only if the counts disagree with count */
}

/* the value of nearest rank `rank` (1 < rank < count) as
 * tm_hist_percentile() reports it, the walk resuming at bucket *i with
 * *seen values below it */
static uint64_t rank_value(const struct tm_hist *h, uint64_t rank, size_t hi, size_t *i,
			   uint64_t *seen)
{
	/* eight buckets at a time while they all stay below rank */
	while (*i + 8 <= hi + 1) {
		const uint64_t *b = h->buckets + *i;
		uint64_t c = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7];
		if (*seen + c >= rank)
			break;
		*seen += c;
		*i += 8;
	}
	for (; *i <= hi; ++*i) {
		uint64_t c = h->buckets[*i];
		if (*seen + c >= rank) {
			uint64_t v = bucket_midpoint(*i);
			return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
		}
		*seen += c;
	}
	return h->max_ns;   /* only if the counts disagree with count */
}

/* rank_value() walking down from the top, for a rank in the upper half:
 * the same bucket (the lowest whose cumulative count reaches rank), found
 * after fewer buckets; *i and *above carry the walk */
static uint64_t rank_value_down(const struct tm_hist *h, uint64_t rank, size_t lo, size_t *i,
				uint64_t *above)
{
	/* cum(i) = count - above; go down while cum(i - 1) still reaches
	 * rank, eight buckets at a time while it does for all of them */
	while (*i >= lo + 8) {
		const uint64_t *b = h->buckets + *i - 7;
		uint64_t c = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7];
		if (h->count - *above - c < rank)
			break;
		*above += c;
		*i -= 8;
	}
	while (*i > lo && h->count - *above - h->buckets[*i] >= rank) {
		*above += h->buckets[*i];
		--*i;
	}
	uint64_t v = bucket_midpoint(*i);
	return v < h->min_ns ? h->min_ns : v > h->max_ns ? h->max_ns : v;
}

void tm_hist_percentiles(const struct tm_hist *h, const double *qs, size_t nq, uint64_t *out)
{
	enum { MAX_Q = 16 };
	uint64_t rank[MAX_Q];
	size_t order[MAX_Q];
	if (nq > MAX_Q)
		nq = MAX_Q;
	for (size_t k = 0; k < nq; k++) {
		out[k] = 0;
		rank[k] = h->count ? nearest_rank(qs[k], h->count) : 0;
		/* insertion sort by rank: the walks answer them in that order */
		size_t j = k;
		for (; j > 0 && rank[order[j - 1]] > rank[k]; j--)
			order[j] = order[j - 1];
		order[j] = k;
	}
	if (!h->count)
		return;
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	/* the lower half of the ranks up from the min, the upper half down
	 * from the max: a p99 looks at the top 1% only */
	size_t up = lo, down = hi, n_up = 0;
	uint64_t seen = 0, above = 0;
	while (n_up < nq && rank[order[n_up]] <= h->count / 2)
		n_up++;
	for (size_t n = 0; n < nq; n++) {
		size_t k = n < n_up ? order[n] : order[nq - 1 - (n - n_up)];
		uint64_t r = rank[k];
		out[k] = r == 1 ? h->min_ns : r == h->count ? h->max_ns
		       : n < n_up ? rank_value(h, r, hi, &up, &seen)
				  : rank_value_down(h, r, lo, &down, &above);
	}
}

int tm_hist_bucket_next(const struct tm_hist *h, size_t *pos, struct tm_hist_bucket *out)
{
	if (!h->count)
		return 0;
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	size_t i = *pos < lo ? lo : *pos;
	for (; i <= hi; i++) {
		if (h->buckets[i]) {
			tm_hist_bucket_bounds(i, &out->lo_ns, &out->hi_ns);
			out->count = h->buckets[i];
			*pos = i + 1;
			return 1;
		}
	}
	*pos = i;
	return 0;
}

/*---- stored form ----*/

void tm_hist_encode(const struct tm_hist *h, struct tm_buf *out)
{
	static const unsigned char format = FORMAT_LOG_LINEAR_64;
	tm_buf_add(out, &format, 1);
	if (!h->count) {
		varint_put(out, 0);
		return;
	}
	size_t lo = tm_hist_bucket_of(h->min_ns), hi = tm_hist_bucket_of(h->max_ns);
	uint64_t n_buckets = 0;
	for (size_t i = lo; i <= hi; i++)
		n_buckets += h->buckets[i] != 0;
	varint_put(out, n_buckets);
	varint_put(out, h->min_ns);
	varint_put(out, h->max_ns - h->min_ns);
	varint_put(out, h->sum_ns);
	size_t prev = 0;
	for (size_t i = lo; i <= hi; i++) {
		if (h->buckets[i]) {
			varint_put(out, i - prev);
			varint_put(out, h->buckets[i]);
			prev = i;
		}
	}
}

struct encoded_totals {
	uint64_t n_buckets, count, min_ns, max_ns, sum_ns;
};

static int parse_totals(const unsigned char **p, const unsigned char *end,
			struct encoded_totals *t)
{
	uint64_t range;
	if (*p == end || *(*p)++ != FORMAT_LOG_LINEAR_64)
		return -EBADMSG;
	memset(t, 0, sizeof(*t));
	if (varint_get(p, end, &t->n_buckets) < 0 || t->n_buckets > TM_HIST_BUCKETS)
		return -EBADMSG;
	if (!t->n_buckets)
		return 0;
	if (varint_get(p, end, &t->min_ns) < 0 || varint_get(p, end, &range) < 0 ||
	    varint_get(p, end, &t->sum_ns) < 0 || range > UINT64_MAX - t->min_ns)
		return -EBADMSG;
	t->max_ns = t->min_ns + range;
	return t->sum_ns >= t->max_ns ? 0 : -EBADMSG;
}

static int get_varint_long(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	return varint_get(p, end, v);
}

/* varint_get() with a shortcut for one byte, which most deltas and counts
 * of a minute's histogram fit in; only the shortcut is inlined */
static inline int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return get_varint_long(p, end, v);
}

/* adds the (index delta, count) pairs to h while checking every rule of
 * the format, in one pass as a window merge reads thousands of them.  Sets
 * t->count; on error *n_added says how many pairs went in. */
static int add_buckets(const unsigned char *p, const unsigned char *end,
		       struct encoded_totals *t, struct tm_hist *h, uint64_t *n_added)
{
	/* locals, not *t and *n_added: those could alias h->buckets, which
	 * would force a store and a load of them for every pair */
	size_t index = 0, first = tm_hist_bucket_of(t->min_ns);
	uint64_t k = 0, total = 0, n = t->n_buckets;
	int rc = 0;
	for (; k < n; k++) {
		uint64_t delta, count;
		if (get_varint(&p, end, &delta) < 0 || get_varint(&p, end, &count) < 0)
			break;
		/* indexes strictly increase from the min's bucket, counts are >= 1 */
		if (k == 0 ? delta != first : delta == 0 || delta >= TM_HIST_BUCKETS - index)
			break;
		if (count == 0 || count > UINT64_MAX - total)
			break;
		index += (size_t)delta;
		total += count;
		h->buckets[index] += count;
	}
	if (k < n || p != end || (n && index != tm_hist_bucket_of(t->max_ns)))
		rc = -EBADMSG;
	t->count = total;
	*n_added = k;
	return rc;
}

/* takes back the first n pairs, which add_buckets() has checked and added:
 * a bad record is rare, so undoing beats checking everything twice */
static void remove_buckets(const unsigned char *p, const unsigned char *end,
			   struct tm_hist *h, uint64_t n)
{
	size_t index = 0;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t delta, count;
		get_varint(&p, end, &delta);
		get_varint(&p, end, &count);
		index += (size_t)delta;
		h->buckets[index] -= count;
	}
}

int tm_hist_merge_encoded(struct tm_hist *h, const void *bytes, size_t len)
{
	if (!bytes)
		return -EBADMSG;
	const unsigned char *p = bytes, *end = p + len;
	struct encoded_totals t;
	uint64_t n_added;
	if (parse_totals(&p, end, &t) < 0)
		return -EBADMSG;
	if (t.n_buckets)
		widen(h, t.min_ns, t.max_ns);
	if (add_buckets(p, end, &t, h, &n_added) < 0) {
		remove_buckets(p, end, h, n_added);
		return -EBADMSG;
	}
	if (t.n_buckets)
		add_totals(h, t.count, t.min_ns, t.max_ns, t.sum_ns);
	return 0;
}

int tm_hist_decode(const void *bytes, size_t len, struct tm_hist *h)
{
	tm_hist_init(h);
	return tm_hist_merge_encoded(h, bytes, len);
}

/*---- dense form ----*/

size_t tm_hist_dense_len(const struct tm_hist *h)
{
	if (!h->count)
		return 0;
	return tm_hist_bucket_of(h->max_ns) - tm_hist_bucket_of(h->min_ns) + 1;
}

int tm_hist_to_dense(const struct tm_hist *h, uint32_t *counts, struct tm_hist_dense *out)
{
	size_t n = tm_hist_dense_len(h), lo = n ? tm_hist_bucket_of(h->min_ns) : 0;
	for (size_t i = 0; i < n; i++) {
		if (h->buckets[lo + i] > UINT32_MAX)
			return -ERANGE;
		counts[i] = (uint32_t)h->buckets[lo + i];
	}
	out->count = h->count;
	out->sum_ns = h->sum_ns;
	out->min_ns = h->min_ns;
	out->max_ns = h->max_ns;
	out->counts = counts;
	return 0;
}

void tm_hist_merge_dense(struct tm_hist *h, const struct tm_hist_dense *d)
{
	if (!d->count)
		return;
	widen(h, d->min_ns, d->max_ns);
	size_t lo = tm_hist_bucket_of(d->min_ns), n = tm_hist_bucket_of(d->max_ns) - lo + 1;
	uint64_t *restrict dst = h->buckets + lo;
	const uint32_t *restrict src = d->counts;
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
	add_totals(h, d->count, d->min_ns, d->max_ns, d->sum_ns);
}
