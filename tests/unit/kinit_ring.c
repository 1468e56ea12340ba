/*
 * Unit tests for the exit ring (kinit/exitring.c): order, bounds, draining.
 */
#include <check.h>
#include <stdlib.h>

#include "kinit_core.h"

static kinit_ring r;
static kinit_exit out[KINIT_RING_CAP + 8];

START_TEST(empty)
{
	kinit_ring_init(&r);
	ck_assert_uint_eq(kinit_ring_drain(&r, out, KINIT_RING_CAP), 0);
}
END_TEST

START_TEST(fifo_and_clear)
{
	kinit_ring_init(&r);
	ck_assert(!kinit_ring_push(&r, 10, 0, 1000));
	ck_assert(!kinit_ring_push(&r, 11, 9, 2000));
	ck_assert(!kinit_ring_push(&r, 12, 3 << 8, 3000));
	ck_assert_uint_eq(kinit_ring_drain(&r, out, KINIT_RING_CAP), 3);
	ck_assert_int_eq(out[0].pid, 10);
	ck_assert_int_eq(out[1].pid, 11);
	ck_assert_int_eq(out[1].status, 9);
	ck_assert_int_eq(out[2].status, 3 << 8);
	ck_assert_int_eq(out[2].time_ms, 3000);
	ck_assert_uint_eq(kinit_ring_drain(&r, out, KINIT_RING_CAP), 0);
}
END_TEST

START_TEST(bounded_overwrites_oldest)
{
	kinit_ring_init(&r);
	for (int i = 0; i < KINIT_RING_CAP; i++)
		ck_assert(!kinit_ring_push(&r, 100 + i, 0, i));
	ck_assert(kinit_ring_push(&r, 9999, 0, 0));
	ck_assert(kinit_ring_push(&r, 10000, 0, 0));
	ck_assert_uint_eq(r.dropped, 2);
	ck_assert_uint_eq(kinit_ring_drain(&r, out, KINIT_RING_CAP + 8),
	    KINIT_RING_CAP);
	ck_assert_int_eq(out[0].pid, 102);
	ck_assert_int_eq(out[KINIT_RING_CAP - 1].pid, 10000);
	ck_assert_uint_eq(r.dropped, 0);
}
END_TEST

START_TEST(partial_drain_keeps_the_rest)
{
	kinit_ring_init(&r);
	for (int i = 0; i < 5; i++)
		kinit_ring_push(&r, i + 1, 0, 0);
	ck_assert_uint_eq(kinit_ring_drain(&r, out, 2), 2);
	ck_assert_int_eq(out[1].pid, 2);
	kinit_ring_push(&r, 6, 0, 0);
	ck_assert_uint_eq(kinit_ring_drain(&r, out, 10), 4);
	ck_assert_int_eq(out[0].pid, 3);
	ck_assert_int_eq(out[3].pid, 6);
}
END_TEST

START_TEST(wraps_many_times)
{
	kinit_ring_init(&r);
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 100; i++)
			kinit_ring_push(&r, round * 1000 + i, 0, 0);
		ck_assert_uint_eq(kinit_ring_drain(&r, out, 60), 60);
		ck_assert_int_eq(out[0].pid, round * 1000);
		ck_assert_uint_eq(kinit_ring_drain(&r, out, 60), 40);
		ck_assert_int_eq(out[39].pid, round * 1000 + 99);
	}
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kinit_ring");
	TCase   *tc = tcase_create("ring");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, empty);
	tcase_add_test(tc, fifo_and_clear);
	tcase_add_test(tc, bounded_overwrites_oldest);
	tcase_add_test(tc, partial_drain_keeps_the_rest);
	tcase_add_test(tc, wraps_many_times);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
