/*
 * Unit tests for kctl's command line (kctl/args.c): global options before or
 * after the verb, the verb's own options from its table row, operand counts,
 * and every kind of usage error giving KCTL_EXIT_USAGE with a reason.
 */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

static kctl_opts opts;
static kctl_args args;
static char      why[512];

/* parse("list", "-a", NULL): argv[0] is supplied. */
static int
parse(const char *first, ...)
{
	static char *argv[32];
	va_list      ap;
	int          argc = 0;

	argv[argc++] = (char *)"kctl";
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	kctl_args_free(&args);
	setenv("SYSTEMK_RUN_DIR", "/env/run", 1);
	kctl_opts_init(&opts);
	why[0] = '\0';
	return kctl_args_parse(argc, argv, &opts, &args, why, sizeof(why));
}

START_TEST(globals_before_verb)
{
	ck_assert_int_eq(parse("--json", "--run-dir", "/r", "--timeout", "2.5",
	    "list", NULL), KCTL_EXIT_OK);
	ck_assert(opts.json);
	ck_assert_str_eq(opts.paths.run_dir, "/r");
	ck_assert_int_eq(opts.timeout_ms, 2500);
	ck_assert_str_eq(args.verb->name, "list");
	ck_assert_int_eq(args.nops, 0);
}
END_TEST

START_TEST(globals_after_verb)
{
	ck_assert_int_eq(parse("status", "web", "--json", "--run-dir=/r",
	    "--timeout=1", NULL), KCTL_EXIT_OK);
	ck_assert(opts.json);
	ck_assert_str_eq(opts.paths.run_dir, "/r");
	ck_assert_int_eq(opts.timeout_ms, 1000);
	ck_assert_str_eq(args.verb->name, "status");
	ck_assert_int_eq(args.nops, 1);
	ck_assert_str_eq(args.ops[0], "web");
}
END_TEST

START_TEST(defaults_from_environment)
{
	ck_assert_int_eq(parse("list", NULL), KCTL_EXIT_OK);
	ck_assert(!opts.json);
	ck_assert_str_eq(opts.paths.run_dir, "/env/run");
	ck_assert_int_eq(opts.timeout_ms, KCTL_DEFAULT_TIMEOUT_MS);
}
END_TEST

START_TEST(verb_options_anywhere_after_verb)
{
	ck_assert_int_eq(parse("enable", "web", "-t", "db", NULL), KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "-t"));
	ck_assert_int_eq(args.nops, 2);
	ck_assert_str_eq(args.ops[1], "db");
	ck_assert_int_eq(parse("enable", "--temporary", "web", NULL),
	    KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "-t"));
	ck_assert_int_eq(parse("list", "--all", NULL), KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "-a"));
	ck_assert_int_eq(parse("list", NULL), KCTL_EXIT_OK);
	ck_assert_ptr_null(kctl_args_flag(&args, "-a"));
	ck_assert_int_eq(parse("import", "--dry-run", "a.json", "dir", NULL),
	    KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "--dry-run"));
	ck_assert_int_eq(args.nops, 2);
	ck_assert_int_eq(parse("get", "web/general", "--running", "--json",
	    NULL), KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "--running"));
	ck_assert(opts.json);
}
END_TEST

static void usage(int rv, const char *needle);

START_TEST(dashdash_and_dash_operands)
{
	ck_assert_int_eq(parse("enable", "--", "-t", NULL), KCTL_EXIT_OK);
	ck_assert_ptr_null(kctl_args_flag(&args, "-t"));
	ck_assert_int_eq(args.nops, 1);
	ck_assert_str_eq(args.ops[0], "-t");
	ck_assert_int_eq(parse("validate", "-", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(args.ops[0], "-");
	ck_assert_int_eq(parse("enable", "-5", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(args.ops[0], "-5");
	/* set's values may look like options; kctl's own still count. */
	ck_assert_int_eq(parse("set", "web", "start/exec", "string", "/bin/sh",
	    "-c", "exec x --port 80", "--json", "--secret", NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(args.nops, 6);
	ck_assert_str_eq(args.ops[4], "-c");
	ck_assert_str_eq(args.ops[5], "exec x --port 80");
	ck_assert(opts.json);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "--secret"));
	usage(parse("set", "-c", "web", "a/b", "v", NULL), "unknown option '-c'");
}
END_TEST

START_TEST(help_anywhere)
{
	ck_assert_int_eq(parse("-h", NULL), KCTL_EXIT_OK);
	ck_assert(opts.help);
	ck_assert_ptr_null(args.verb);
	ck_assert_int_eq(parse("status", "--help", NULL), KCTL_EXIT_OK);
	ck_assert(opts.help);
	ck_assert_str_eq(args.verb->name, "status");
}
END_TEST

static void
usage(int rv, const char *needle)
{
	ck_assert_int_eq(rv, KCTL_EXIT_USAGE);
	ck_assert_msg(strstr(why, needle) != NULL, "'%s' not in '%s'", needle,
	    why);
}

START_TEST(usage_errors)
{
	usage(parse(NULL), "no verb");
	usage(parse("frobnicate", NULL), "unknown verb 'frobnicate'");
	usage(parse("--json", NULL), "no verb");
	usage(parse("list", "-x", NULL), "unknown option '-x' for list");
	usage(parse("-a", "list", NULL), "unknown option '-a'");
	usage(parse("status", NULL), "needs an operand");
	usage(parse("status", "a", "b", NULL), "too many operands");
	usage(parse("list", "extra", NULL), "too many operands");
	usage(parse("enable", NULL), "needs an operand");
	usage(parse("import", "--dry-run", NULL), "needs an operand");
	usage(parse("list", "--timeout", NULL), "needs a value");
	usage(parse("list", "--timeout", "0", NULL), "bad timeout");
	usage(parse("list", "--timeout", "soon", NULL), "bad timeout");
	usage(parse("list", "--run-dir", NULL), "needs a value");
	usage(parse("list", "--all=yes", NULL), "takes no value");
	usage(parse("status", "-t", "web", NULL), "unknown option '-t'");
}
END_TEST

START_TEST(clusters)
{
	ck_assert_int_eq(parse("enable", "-tt", "web", NULL), KCTL_EXIT_OK);
	ck_assert_ptr_nonnull(kctl_args_flag(&args, "-t"));
	usage(parse("enable", "-tx", "web", NULL), "unknown option '-tx'");
}
END_TEST

START_TEST(every_row_is_sane)
{
	size_t           n;
	const kctl_verb *v = kctl_verbs(&n);

	ck_assert_uint_gt(n, 10);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(v[i].handler);
		ck_assert_ptr_nonnull(v[i].usage);
		ck_assert_ptr_nonnull(v[i].summary);
		ck_assert(v[i].max_args < 0 || v[i].max_args >= v[i].min_args);
		ck_assert_ptr_eq(kctl_verb_find(v[i].name), &v[i]);
	}
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kctl_args");
	TCase   *tc = tcase_create("args");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, globals_before_verb);
	tcase_add_test(tc, globals_after_verb);
	tcase_add_test(tc, defaults_from_environment);
	tcase_add_test(tc, verb_options_anywhere_after_verb);
	tcase_add_test(tc, dashdash_and_dash_operands);
	tcase_add_test(tc, help_anywhere);
	tcase_add_test(tc, usage_errors);
	tcase_add_test(tc, clusters);
	tcase_add_test(tc, every_row_is_sane);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
