/*
 * Unit tests for kinit's pure decisions (kinit/policy.c): statuses, backoff,
 * the shutdown phases (every phase against every fact that moves it) and the
 * final exit status.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kinit_core.h"

#define EXITED(c) ((c) << 8)

START_TEST(status_codes)
{
	ck_assert_int_eq(kinit_status_code(EXITED(0)), 0);
	ck_assert_int_eq(kinit_status_code(EXITED(3)), 3);
	ck_assert_int_eq(kinit_status_code(EXITED(255)), 255);
	ck_assert_int_eq(kinit_status_code(SIGTERM), 143);
	ck_assert_int_eq(kinit_status_code(SIGKILL), 137);
	ck_assert_int_eq(kinit_status_code(SIGSEGV | 0x80), 139);
}
END_TEST

START_TEST(describe)
{
	char b[512];

	kinit_describe_status(EXITED(12), true, b, sizeof(b));
	ck_assert_ptr_nonnull(strstr(b, "exited 12: repository unusable"));
	ck_assert_ptr_nonnull(strstr(b, "; remedy: restore a backup"));
	kinit_describe_status(EXITED(12), false, b, sizeof(b));
	ck_assert_str_eq(b, "exited 12");
	kinit_describe_status(EXITED(77), true, b, sizeof(b));
	ck_assert_str_eq(b, "exited 77");
	kinit_describe_status(EXITED(0), true, b, sizeof(b));
	ck_assert_str_eq(b, "exited 0");
	kinit_describe_status(SIGKILL, true, b, sizeof(b));
	ck_assert_str_eq(b, "killed by signal 9 (SIGKILL)");
	kinit_describe_status(SIGABRT | 0x80, false, b, sizeof(b));
	ck_assert_str_eq(b, "killed by signal 6 (SIGABRT), core dumped");
}
END_TEST

START_TEST(backoff)
{
	ck_assert_int_eq(kinit_backoff_ms(0, 100, 30000), 0);
	ck_assert_int_eq(kinit_backoff_ms(1, 100, 30000), 100);
	ck_assert_int_eq(kinit_backoff_ms(2, 100, 30000), 200);
	ck_assert_int_eq(kinit_backoff_ms(5, 100, 30000), 1600);
	ck_assert_int_eq(kinit_backoff_ms(9, 100, 30000), 25600);
	ck_assert_int_eq(kinit_backoff_ms(10, 100, 30000), 30000);
	ck_assert_int_eq(kinit_backoff_ms(4000000000u, 100, 30000), 30000);
}
END_TEST

/* Facts with everything alive and no deadline. */
static kinit_facts
busy(void)
{
	return (kinit_facts) { .stopping = true, .main_alive = true,
		               .startd_alive = true, .configd_alive = true,
		               .children = true };
}

START_TEST(phases_in_order)
{
	kinit_facts f = busy();

	f.stopping = false;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_RUN, &f), KINIT_PH_RUN);
	f.stopping = true;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_RUN, &f), KINIT_PH_MAIN);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_MAIN, &f), KINIT_PH_MAIN);
	f.main_alive = false;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_MAIN, &f), KINIT_PH_STARTD);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_STARTD, &f), KINIT_PH_STARTD);
	f.startd_alive = false;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_STARTD, &f),
	    KINIT_PH_CONFIGD);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_CONFIGD, &f),
	    KINIT_PH_CONFIGD);
	f.configd_alive = false;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_CONFIGD, &f), KINIT_PH_REST);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_REST, &f), KINIT_PH_REST);
	f.children = false;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_REST, &f), KINIT_PH_KILL);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_KILL, &f), KINIT_PH_DONE);
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_DONE, &f), KINIT_PH_DONE);
}
END_TEST

START_TEST(deadline_jumps_to_kill)
{
	kinit_facts f = busy();

	f.deadline = true;
	for (int ph = KINIT_PH_MAIN; ph < KINIT_PH_KILL; ph++)
		ck_assert_int_eq(kinit_phase_next(ph, &f), KINIT_PH_KILL);
	/* Killing waits for the children, bounded by its own wait. */
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_KILL, &f), KINIT_PH_KILL);
	f.kill_expired = true;
	ck_assert_int_eq(kinit_phase_next(KINIT_PH_KILL, &f), KINIT_PH_DONE);
}
END_TEST

START_TEST(absent_targets_fall_through)
{
	kinit_facts      f = { .stopping = true };
	enum kinit_phase ph = KINIT_PH_RUN;
	int              steps = 0;

	/* Nothing alive: RUN walks every phase to DONE, one at a time. */
	while (ph != KINIT_PH_DONE && steps++ < 10)
		ph = kinit_phase_next(ph, &f);
	ck_assert_int_eq(ph, KINIT_PH_DONE);
	ck_assert_int_eq(steps, 6);
}
END_TEST

START_TEST(actions)
{
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_RUN), KINIT_ACT_NONE);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_MAIN),
	    KINIT_ACT_SIGNAL_MAIN);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_STARTD),
	    KINIT_ACT_TERM_STARTD);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_CONFIGD),
	    KINIT_ACT_TERM_CONFIGD);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_REST),
	    KINIT_ACT_TERM_REST);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_KILL), KINIT_ACT_KILL_ALL);
	ck_assert_int_eq(kinit_phase_actions(KINIT_PH_DONE), KINIT_ACT_EXIT);
	ck_assert_str_eq(kinit_phase_name(KINIT_PH_STARTD), "startd");
}
END_TEST

START_TEST(final_status)
{
	kinit_outcome o = { 0 };

	o.clean = true;
	ck_assert_int_eq(kinit_final_status(&o), 0);
	o.clean = false;
	ck_assert_int_eq(kinit_final_status(&o), 1);

	o = (kinit_outcome) { .has_cmd = true, .cmd_started = true,
		              .cmd_status = EXITED(3) };
	ck_assert_int_eq(kinit_final_status(&o), 3);
	o.cmd_status = EXITED(127);
	ck_assert_int_eq(kinit_final_status(&o), 127);
	o.cmd_status = SIGKILL;
	ck_assert_int_eq(kinit_final_status(&o), 137);
	o.clean = false; /* services' trouble does not hide CMD's status */
	o.cmd_status = EXITED(0);
	ck_assert_int_eq(kinit_final_status(&o), 0);

	o = (kinit_outcome) { .has_cmd = true, .default_failed = true };
	ck_assert_int_eq(kinit_final_status(&o), 1);
	o = (kinit_outcome) { .has_cmd = true, .stop_signal = SIGTERM };
	ck_assert_int_eq(kinit_final_status(&o), 143);
	o = (kinit_outcome) { .has_cmd = true, .stop_signal = SIGINT };
	ck_assert_int_eq(kinit_final_status(&o), 130);
	o = (kinit_outcome) { .has_cmd = true };
	ck_assert_int_eq(kinit_final_status(&o), 1);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kinit_policy");
	TCase   *tc = tcase_create("policy");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, status_codes);
	tcase_add_test(tc, describe);
	tcase_add_test(tc, backoff);
	tcase_add_test(tc, phases_in_order);
	tcase_add_test(tc, deadline_jumps_to_kill);
	tcase_add_test(tc, absent_targets_fall_through);
	tcase_add_test(tc, actions);
	tcase_add_test(tc, final_status);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
