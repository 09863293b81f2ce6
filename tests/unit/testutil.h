/* testutil.h - check macros for the unit-test executables.
 *
 * A failed check prints file:line, the expression and both values to stderr
 * and the test goes on, so one run shows every failure.  main() ends with
 * `return TEST_DONE();`: exit code 0 when every check passed, 1 otherwise
 * (meson's protocol: 0 pass, 77 skip, 99 broken setup).
 * One test executable is one translation unit, so the counter is static. */
#ifndef TM_TESTUTIL_H
#define TM_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __GNUC__
__attribute__((unused))
#endif
static int testutil_failures;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			testutil_failures++; \
		} \
	} while (0)

/* compares as intmax_t; unsigned values above INTMAX_MAX print negative. */
#define CHECK_INT_EQ(a, b) \
	do { \
		intmax_t check_a_ = (intmax_t)(a), check_b_ = (intmax_t)(b); \
		if (check_a_ != check_b_) { \
			fprintf(stderr, "%s:%d: %s == %s failed: %jd != %jd\n", \
				__FILE__, __LINE__, #a, #b, check_a_, check_b_); \
			testutil_failures++; \
		} \
	} while (0)

/* NUL-terminated strings; NULL equals only NULL. */
#define CHECK_STR_EQ(a, b) \
	do { \
		const char *check_a_ = (a), *check_b_ = (b); \
		if ((!check_a_ || !check_b_) ? check_a_ != check_b_ \
					      : strcmp(check_a_, check_b_) != 0) { \
			fprintf(stderr, "%s:%d: %s == %s failed:\n  \"%s\"\n  \"%s\"\n", \
				__FILE__, __LINE__, #a, #b, \
				check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)"); \
			testutil_failures++; \
		} \
	} while (0)

/* the exit code for main(): 0 when every check passed. */
#define TEST_DONE() \
	(testutil_failures ? (fprintf(stderr, "%d check(s) failed\n", testutil_failures), 1) : 0)

#endif
