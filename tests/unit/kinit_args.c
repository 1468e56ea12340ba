/*
 * Unit tests for kinit's command line (kinit/args.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kinit_core.h"

static kinit_opts o;
static char       why[256];

/* Parses a NULL-terminated list after "kinit"; returns the result. */
static int
parse_env(const char *grace_env, char **args)
{
	static char *argv[32];
	int          argc = 0;

	argv[argc++] = "kinit";
	while (*args != NULL && argc < 31)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	kipc_paths_from_env(&o.paths);
	why[0] = '\0';
	return kinit_parse_args(&o, argc, argv, grace_env, why, sizeof(why));
}

#define PARSE(...) parse_env(NULL, (char *[]) { __VA_ARGS__, NULL })
#define PARSE_NONE() parse_env(NULL, (char *[]) { NULL })

START_TEST(defaults)
{
	ck_assert_int_eq(PARSE_NONE(), 0);
	ck_assert_ptr_null(o.cmd);
	ck_assert_ptr_null(o.configd);
	ck_assert(!o.startd_auto);
	ck_assert_int_eq(o.grace_ms, 8000);
	ck_assert_int_eq(o.ready_ms, 30000);
}
END_TEST

START_TEST(paths_and_overrides)
{
	ck_assert_int_eq(PARSE("--run-dir", "/r", "--state-dir=/s",
	    "--configd", "/x/kconfigd", "--startd=/y/kstartd",
	    "--startd-restart=auto", "--log-dir", "/l", "--manifest-dir", "/m"),
	    0);
	ck_assert_str_eq(o.paths.run_dir, "/r");
	ck_assert_str_eq(o.paths.state_dir, "/s");
	ck_assert_str_eq(o.paths.log_dir, "/l");
	ck_assert_str_eq(o.paths.manifest_dir, "/m");
	ck_assert_str_eq(o.configd, "/x/kconfigd");
	ck_assert_str_eq(o.startd, "/y/kstartd");
	ck_assert(o.startd_auto);
	ck_assert_ptr_null(o.cmd);
}
END_TEST

START_TEST(main_command_after_dashdash)
{
	ck_assert_int_eq(PARSE("--grace", "2", "--", "sh", "-c", "--run-dir"),
	    0);
	ck_assert_ptr_nonnull(o.cmd);
	ck_assert_str_eq(o.cmd[0], "sh");
	ck_assert_str_eq(o.cmd[2], "--run-dir");
	ck_assert_ptr_null(o.cmd[3]);
	ck_assert_int_eq(o.grace_ms, 2000);
}
END_TEST

START_TEST(main_command_bare)
{
	ck_assert_int_eq(PARSE("--startd-restart", "manual", "bash", "-l"), 0);
	ck_assert_str_eq(o.cmd[0], "bash");
	ck_assert_str_eq(o.cmd[1], "-l");
	ck_assert(!o.startd_auto);
}
END_TEST

START_TEST(dashdash_alone_is_no_command)
{
	ck_assert_int_eq(PARSE("--"), 0);
	ck_assert_ptr_null(o.cmd);
}
END_TEST

START_TEST(usage_errors)
{
	ck_assert_int_eq(PARSE("--bogus"), -1);
	ck_assert_ptr_nonnull(strstr(why, "--bogus"));
	ck_assert_int_eq(PARSE("--configd"), -1);
	ck_assert_ptr_nonnull(strstr(why, "needs a value"));
	ck_assert_int_eq(PARSE("--run-dir"), -1);
	ck_assert_int_eq(PARSE("--startd-restart=sometimes"), -1);
	ck_assert_int_eq(PARSE("--grace", "-1"), -1);
	ck_assert_int_eq(PARSE("--grace", "abc"), -1);
	ck_assert_int_eq(PARSE("--ready-timeout", "0"), -1);
	ck_assert_int_eq(PARSE("--configd="), -1);
}
END_TEST

START_TEST(grace_from_env)
{
	ck_assert_int_eq(parse_env("0.5", (char *[]) { NULL }), 0);
	ck_assert_int_eq(o.grace_ms, 500);
	ck_assert_int_eq(parse_env("3", (char *[]) { "--grace", "4", NULL }),
	    0);
	ck_assert_int_eq(o.grace_ms, 4000); /* the flag wins */
	ck_assert_int_eq(parse_env("", (char *[]) { NULL }), 0);
	ck_assert_int_eq(o.grace_ms, 8000);
	ck_assert_int_eq(parse_env("8s", (char *[]) { NULL }), -1);
	ck_assert_ptr_nonnull(strstr(why, "SYSTEMK_GRACE_S"));
}
END_TEST

START_TEST(help_and_version)
{
	ck_assert_int_eq(PARSE("-h"), 0);
	ck_assert(o.help);
	ck_assert_int_eq(PARSE("--version"), 0);
	ck_assert(o.version);
}
END_TEST

START_TEST(seconds)
{
	int64_t ms;

	ck_assert_int_eq(kinit_parse_seconds("0", &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(kinit_parse_seconds("1.25", &ms), 0);
	ck_assert_int_eq(ms, 1250);
	ck_assert_int_eq(kinit_parse_seconds("86400", &ms), 0);
	ck_assert_int_eq(kinit_parse_seconds("86401", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds("inf", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds("nan", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds(" 1", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds("1 ", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds("", &ms), -1);
	ck_assert_int_eq(kinit_parse_seconds(NULL, &ms), -1);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kinit_args");
	TCase   *tc = tcase_create("args");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, paths_and_overrides);
	tcase_add_test(tc, main_command_after_dashdash);
	tcase_add_test(tc, main_command_bare);
	tcase_add_test(tc, dashdash_alone_is_no_command);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, grace_from_env);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, seconds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
