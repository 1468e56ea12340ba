/*
 * Unit tests for reading the process tree (kinit/proctab.c): /proc/PID/stat
 * lines with hostile command names, and descendants of a subreaper.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kinit_core.h"

static int
ppid_of(const char *line, pid_t *pp)
{
	return kinit_stat_ppid(line, strlen(line), pp);
}

START_TEST(stat_lines)
{
	pid_t pp = -1;

	ck_assert_int_eq(ppid_of("42 (sleep) S 7 42 42 0 -1 4194304", &pp), 0);
	ck_assert_int_eq(pp, 7);
	ck_assert_int_eq(ppid_of("42 (a) b) c) R 1234 1 1 0\n", &pp), 0);
	ck_assert_int_eq(pp, 1234);
	ck_assert_int_eq(ppid_of("43 ((x)) Z 0 0", &pp), 0);
	ck_assert_int_eq(pp, 0);
	ck_assert_int_eq(ppid_of("44 (my prog) S 55\n", &pp), 0);
	ck_assert_int_eq(pp, 55);
}
END_TEST

START_TEST(stat_malformed)
{
	pid_t pp;

	ck_assert_int_eq(ppid_of("", &pp), -1);
	ck_assert_int_eq(ppid_of("42 sleep S 7", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep)", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep) S", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep) S x", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep) S 7x", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep) S 99999999999", &pp), -1);
	ck_assert_int_eq(ppid_of("42 (sleep)S 7", &pp), -1);
}
END_TEST

static int
has(const pid_t *v, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == p)
			return 1;
	return 0;
}

START_TEST(descendants)
{
	/* 1 ─ 50 (kinit) ─ 60 ─ 61 ─ 62
	 *                └ 70
	 *   ─ 80 ─ 81   (not ours)        listed child before parent too */
	kinit_pp t[] = { { 62, 61 }, { 1, 0 }, { 50, 1 }, { 60, 50 },
		         { 61, 60 }, { 70, 50 }, { 80, 1 }, { 81, 80 } };
	pid_t    out[16];
	size_t   n = kinit_descendants(t, 8, 50, out, 16);

	ck_assert_uint_eq(n, 4);
	ck_assert(has(out, n, 60) && has(out, n, 61) && has(out, n, 62) &&
	    has(out, n, 70));
	ck_assert(!has(out, n, 50) && !has(out, n, 80) && !has(out, n, 1));
	ck_assert_uint_eq(kinit_descendants(t, 8, 81, out, 16), 0);
	ck_assert_uint_eq(kinit_descendants(t, 8, 1, out, 16), 7);
	/* A short out array: the count says how many there were. */
	ck_assert_uint_eq(kinit_descendants(t, 8, 50, out, 2), 4);
	ck_assert_uint_eq(kinit_descendants(t, 0, 50, out, 16), 0);
}
END_TEST

START_TEST(descendants_deep_chain)
{
	enum { N = 2000 };
	kinit_pp *t = malloc(N * sizeof(*t));
	pid_t    *out = malloc(N * sizeof(*out));

	/* 1000 ─ 1001 ─ ... ─ 2999 */
	for (int i = 0; i < N; i++)
		t[i] = (kinit_pp) { .pid = 1000 + N - i, .ppid = 999 + N - i };
	ck_assert_uint_eq(kinit_descendants(t, N, 1000, out, N), N);
	/* 3000 ─ 2999 ─ ... ─ 1001: pids fall with depth, the worst order
	 * for a pass-based walk (one level per pass). */
	for (int i = 0; i < N; i++)
		t[i] = (kinit_pp) { .pid = 1000 + i, .ppid = 1001 + i };
	ck_assert_uint_eq(kinit_descendants(t, N, 1000 + N, out, N), N);
	free(t);
	free(out);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kinit_proctab");
	TCase   *tc = tcase_create("proctab");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, stat_lines);
	tcase_add_test(tc, stat_malformed);
	tcase_add_test(tc, descendants);
	tcase_add_test(tc, descendants_deep_chain);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
