/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktap: a small TAP producer for the kvhost selftests.
 *
 * Each test case is a function that runs in a forked child, so that a crash
 * or a hang in one case is reported as "not ok" and the others still run.
 * Output follows the kselftest conventions: "TAP version 13", a plan, one
 * "ok N name" / "not ok N name" line per case, "# SKIP reason" for skips,
 * diagnostics behind "# ", and exit status 0 (pass), 1 (fail) or 4 (skip).
 */
#ifndef KTAP_H
#define KTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif

enum ktap_result {
	KTAP_PASS = 0,
	KTAP_FAIL = 1,
	KTAP_SKIP = 4,
};

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

struct ktap_case {
	const char *name;
	enum ktap_result (*fn)(void);
	/* Seconds before the case is killed and reported as failed; 0 = default. */
	unsigned int timeout;
};

#define KTAP_DEFAULT_TIMEOUT	30

#define KTAP_CASE(fn_)		{ .name = #fn_, .fn = fn_ }
#define KTAP_CASE_T(fn_, t_)	{ .name = #fn_, .fn = fn_, .timeout = (t_) }
#define KTAP_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Print a diagnostic line ("# ...") that belongs to the running case. */
__printf(1, 2) void ktap_diag(const char *fmt, ...);

/* Record why the running case skips; used by KTAP_SKIP_IF(). */
__printf(1, 2) void ktap_skip_reason(const char *fmt, ...);

/*
 * Run every case, print TAP and return the kselftest exit status:
 * KSFT_FAIL if any case failed, KSFT_SKIP if every case skipped,
 * KSFT_PASS otherwise. Intended as "return ktap_run(cases, n);" in main().
 */
int ktap_run(const struct ktap_case *cases, size_t n);

/*
 * ktap_run() on the cases named in @argv[1..] (each at most once, in the
 * table's order), or on all of them without arguments. A name no case has
 * fails the run rather than running nothing.
 */
int ktap_main(const struct ktap_case *cases, size_t n, int argc,
	      char **argv);

/*
 * Assertions for use inside a case. They print where and why, then return
 * KTAP_FAIL from the case function.
 */
#define KTAP_CHECK(cond, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			ktap_diag("%s:%d: check '%s' failed: " fmt,		\
				  __FILE__, __LINE__, #cond, ##__VA_ARGS__);	\
			return KTAP_FAIL;					\
		}								\
	} while (0)

#define KTAP_EXPECT_EQ(a, b)							\
	do {									\
		long long ka_ = (long long)(a), kb_ = (long long)(b);		\
		if (ka_ != kb_) {						\
			ktap_diag("%s:%d: %s == %lld, expected %s == %lld",	\
				  __FILE__, __LINE__, #a, ka_, #b, kb_);	\
			return KTAP_FAIL;					\
		}								\
	} while (0)

/* The call must succeed (return >= 0). */
#define KTAP_OK(call)								\
	do {									\
		long kr_ = (long)(call);					\
		if (kr_ < 0) {							\
			ktap_diag("%s:%d: %s failed: %s", __FILE__, __LINE__,	\
				  #call, strerror(errno));			\
			return KTAP_FAIL;					\
		}								\
	} while (0)

/* The call must fail with -1 and set errno to @err. */
#define KTAP_ERRNO(call, err)							\
	do {									\
		int kw_ = (err), ke_;						\
		long kr_;							\
		errno = 0;							\
		kr_ = (long)(call);						\
		ke_ = errno;							\
		if (kr_ != -1 || ke_ != kw_) {					\
			ktap_diag("%s:%d: %s returned %ld (%s), expected %s",	\
				  __FILE__, __LINE__, #call, kr_,		\
				  kr_ == -1 ? strerror(ke_) : "no error",	\
				  strerror(kw_));				\
			return KTAP_FAIL;					\
		}								\
	} while (0)

#define KTAP_SKIP_IF(cond, fmt, ...)						\
	do {									\
		if (cond) {							\
			ktap_skip_reason(fmt, ##__VA_ARGS__);			\
			return KTAP_SKIP;					\
		}								\
	} while (0)

#endif /* KTAP_H */
