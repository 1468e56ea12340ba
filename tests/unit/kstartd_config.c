/*
 * kstartd_config.c -- property groups to svc_config: DESIGN section 7
 * defaults, the property forms kconfigd sends, FMRIs, ${VAR} substitution.
 */
#include <check.h>
#include <stdint.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static svc_config *
mkcfg(const char *json)
{
	cJSON      *pgs = json ? cJSON_Parse(json) : NULL;
	svc_config *cfg;

	if (json)
		ck_assert_ptr_nonnull(pgs);
	cfg = svc_config_new("svc:/web:default", pgs);
	cJSON_Delete(pgs);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

START_TEST(test_defaults)
{
	svc_config *cfg = mkcfg(NULL);

	ck_assert_ptr_null(cfg->error);
	ck_assert_str_eq(cfg->fmri, "svc:/web:default");
	ck_assert_str_eq(cfg->service, "web");
	ck_assert_str_eq(cfg->instance, "default");
	ck_assert(!cfg->enabled);
	ck_assert_int_eq(cfg->model, SVC_MODEL_CHILD);
	ck_assert_int_eq(cfg->log, SVC_LOG_FILE);
	ck_assert_int_eq(cfg->restart, SVC_RESTART_ON_FAILURE);
	ck_assert_uint_eq(cfg->delay_ms, 100);
	ck_assert_uint_eq(cfg->max_delay_ms, 30000);
	ck_assert_uint_eq(cfg->burst, 5);
	ck_assert_uint_eq(cfg->window_s, 10);
	ck_assert_uint_eq(cfg->start.timeout_ms, 60000);
	ck_assert_uint_eq(cfg->stop.timeout_ms, 10000);
	ck_assert_int_eq(cfg->stop_signal, SIGTERM);
	ck_assert_int_eq(cfg->refresh_signal, 0);
	ck_assert_ptr_null(cfg->start.argv);
	ck_assert_int_eq(cfg->umask, -1);
	ck_assert_uint_eq(cfg->nenv, 1);
	ck_assert_str_eq(cfg->env[0], SVC_DEF_PATH);
	ck_assert_ptr_null(cfg->env[1]);
	ck_assert_uint_eq(cfg->ndeps, 0);
	svc_config_free(cfg);
}
END_TEST

/* The shape repo.running sends, integers as numbers and as strings. */
START_TEST(test_full)
{
	svc_config *cfg = mkcfg(
	    "{\"general\": {\"enabled\": {\"type\": \"boolean\", \"values\": [true]},"
	    "   \"model\": {\"type\": \"string\", \"values\": [\"notify\"]},"
	    "   \"log\": {\"type\": \"string\", \"values\": [\"console\"]},"
	    "   \"description\": {\"type\": \"string\", \"values\": [\"front\"]}},"
	    " \"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"/bin/sleep\", \"100\"]},"
	    "   \"timeout_s\": {\"type\": \"count\", \"values\": [\"30\"]}},"
	    " \"stop\": {\"signal\": {\"type\": \"string\", \"values\": [\"SIGINT\"]},"
	    "   \"timeout_s\": {\"type\": \"count\", \"value\": 3}},"
	    " \"refresh\": {\"signal\": {\"type\": \"string\", \"values\": [\"HUP\"]}},"
	    " \"restart\": {\"policy\": {\"type\": \"string\", \"values\": [\"always\"]},"
	    "   \"delay_ms\": {\"type\": \"count\", \"values\": [50]},"
	    "   \"max_delay_ms\": {\"type\": \"count\", \"values\": [\"400\"]},"
	    "   \"burst\": {\"type\": \"count\", \"values\": [0]},"
	    "   \"window_s\": {\"type\": \"count\", \"values\": [2]}},"
	    " \"context\": {\"environment\": {\"type\": \"string\", \"values\": [\"K=V\", \"PATH=/x\"]},"
	    "   \"working_directory\": {\"type\": \"string\", \"values\": [\"/srv\"]},"
	    "   \"user\": {\"type\": \"string\", \"values\": [\"www\"]},"
	    "   \"umask\": {\"type\": \"string\", \"values\": [\"027\"]}},"
	    " \"dep_db\": {\"grouping\": {\"type\": \"string\", \"values\": [\"require_any\"]},"
	    "   \"restart_on\": {\"type\": \"string\", \"values\": [\"error\"]},"
	    "   \"services\": {\"type\": \"fmri\", \"values\": [\"svc:/db:default\", \"pg\"]}},"
	    " \"app\": {\"key\": {\"type\": \"string\", \"values\": [\"x\"]}}}");

	ck_assert_ptr_null(cfg->error);
	ck_assert(cfg->enabled);
	ck_assert_int_eq(cfg->model, SVC_MODEL_NOTIFY);
	ck_assert_int_eq(cfg->log, SVC_LOG_CONSOLE);
	ck_assert_str_eq(cfg->description, "front");
	ck_assert_uint_eq(cfg->start.argc, 2);
	ck_assert_str_eq(cfg->start.argv[1], "100");
	ck_assert_ptr_null(cfg->start.argv[2]);
	ck_assert_uint_eq(cfg->start.timeout_ms, 30000);
	ck_assert_uint_eq(cfg->stop.timeout_ms, 3000);
	ck_assert_int_eq(cfg->stop_signal, SIGINT);
	ck_assert_int_eq(cfg->refresh_signal, SIGHUP);
	ck_assert_int_eq(cfg->restart, SVC_RESTART_ALWAYS);
	ck_assert_uint_eq(cfg->delay_ms, 50);
	ck_assert_uint_eq(cfg->max_delay_ms, 400);
	ck_assert_uint_eq(cfg->burst, 0);
	ck_assert_uint_eq(cfg->window_s, 2);
	/* The configured PATH wins; no default is added. */
	ck_assert_uint_eq(cfg->nenv, 2);
	ck_assert_str_eq(cfg->env[1], "PATH=/x");
	ck_assert_str_eq(cfg->working_directory, "/srv");
	ck_assert_str_eq(cfg->user, "www");
	ck_assert_int_eq(cfg->umask, 027);
	ck_assert_uint_eq(cfg->ndeps, 1);
	ck_assert_str_eq(cfg->deps[0].name, "db");
	ck_assert_int_eq(cfg->deps[0].grouping, SVC_DEP_REQUIRE_ANY);
	ck_assert_int_eq(cfg->deps[0].restart_on, SVC_RON_ERROR);
	ck_assert_uint_eq(cfg->deps[0].nfmri, 2);
	ck_assert_str_eq(cfg->deps[0].fmris[1], "svc:/pg:default");
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_env_adds_path)
{
	svc_config *cfg = mkcfg(
	    "{\"context\": {\"environment\": {\"type\": \"string\", \"values\": [\"A=1\"]}}}");

	ck_assert_uint_eq(cfg->nenv, 2);
	ck_assert_str_eq(cfg->env[0], "A=1");
	ck_assert_str_eq(cfg->env[1], SVC_DEF_PATH);
	ck_assert_ptr_null(cfg->env[2]);
	svc_config_free(cfg);
}
END_TEST

/* A bad value keeps its default and is reported; parsing goes on. */
START_TEST(test_errors)
{
	static const char *bad[] = {
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": [\"x\"]}}}",
	    "{\"general\": {\"enabled\": {\"type\": \"string\", \"values\": [\"maybe\"]}}}",
	    "{\"start\": {\"timeout_s\": {\"type\": \"count\", \"values\": [-1]}}}",
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": [1]}}}",
	    "{\"stop\": {\"signal\": {\"type\": \"string\", \"values\": [\"NOPE\"]}}}",
	    "{\"context\": {\"umask\": {\"type\": \"string\", \"values\": [\"999\"]}}}",
	    "{\"context\": {\"environment\": {\"type\": \"string\", \"values\": [\"novalue\"]}}}",
	    "{\"dep_x\": {\"grouping\": {\"type\": \"string\", \"values\": [\"some\"]}}}",
	    "[]",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		svc_config *cfg = mkcfg(bad[i]);

		ck_assert_msg(cfg->error != NULL, "no error for %s", bad[i]);
		svc_config_free(cfg);
	}
	ck_assert_ptr_null(svc_config_new("web", NULL));
	ck_assert_ptr_null(svc_config_new("svc:/web", NULL));
}
END_TEST

START_TEST(test_fmri)
{
	char buf[64], n[32], i[32];

	ck_assert_int_eq(svc_fmri_canon("web", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "svc:/web:default");
	ck_assert_int_eq(svc_fmri_canon("web:two", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "svc:/web:two");
	ck_assert_int_eq(svc_fmri_canon("svc:/web", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "svc:/web:default");
	ck_assert_int_eq(svc_fmri_canon("svc:/net/dns:x", buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "svc:/net/dns:x");
	ck_assert_int_eq(svc_fmri_canon("", buf, sizeof buf), -1);
	ck_assert_int_eq(svc_fmri_canon("web:", buf, sizeof buf), -1);
	ck_assert_int_eq(svc_fmri_canon("averyveryverylongname", buf, 8), -1);
	ck_assert_int_eq(svc_fmri_split("svc:/net/dns:x", n, sizeof n, i, sizeof i), 0);
	ck_assert_str_eq(n, "net/dns");
	ck_assert_str_eq(i, "x");
	ck_assert_int_eq(svc_fmri_split("web:x", n, sizeof n, i, sizeof i), -1);
}
END_TEST

START_TEST(test_subst)
{
	svc_subst_vars v = {"svc:/web:a", "web", "a", 1234};
	static const struct { const char *in, *out; } cases[] = {
	    {"plain", "plain"},
	    {"${MAINPID}", "1234"},
	    {"-p${MAINPID}x", "-p1234x"},
	    {"${FMRI}/${NAME}/${INSTANCE}", "svc:/web:a/web/a"},
	    {"$$", "$"},
	    {"$${NAME}", "${NAME}"},
	    {"a$$$$b", "a$$b"},
	    {"${HOME}", "${HOME}"},
	    {"$NAME", "$NAME"},
	    {"${NAME", "${NAME"},
	    {"$", "$"},
	    {"", ""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = svc_subst(cases[i].in, &v);

		ck_assert_str_eq(s, cases[i].out);
		free(s);
	}
	v.mainpid = 0;
	char *s = svc_subst("[${MAINPID}]", &v);
	ck_assert_str_eq(s, "[]");
	free(s);
}
END_TEST

START_TEST(test_method_argv)
{
	svc_config *cfg = mkcfg(
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": "
	    "[\"/bin/echo\", \"${NAME}:${INSTANCE}\", \"$$HOME\", \"a b\"]}}}");
	char **argv = svc_method_argv(cfg, &cfg->start, 0);

	ck_assert_ptr_nonnull(argv);
	ck_assert_str_eq(argv[0], "/bin/echo");
	ck_assert_str_eq(argv[1], "web:default");
	ck_assert_str_eq(argv[2], "$HOME");
	ck_assert_str_eq(argv[3], "a b");
	ck_assert_ptr_null(argv[4]);
	svc_argv_free(argv);
	ck_assert_ptr_null(svc_method_argv(cfg, &cfg->stop, 0));
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_signals)
{
	ck_assert_int_eq(svc_signal_parse("TERM"), SIGTERM);
	ck_assert_int_eq(svc_signal_parse("SIGHUP"), SIGHUP);
	ck_assert_int_eq(svc_signal_parse("9"), SIGKILL);
	ck_assert_int_eq(svc_signal_parse("0"), -1);
	ck_assert_int_eq(svc_signal_parse("BOGUS"), -1);
	ck_assert_int_eq(svc_signal_parse(""), -1);
}
END_TEST

/* context/limit_NAME and general/pidfile (issue 4). */
START_TEST(test_limits_pidfile)
{
	svc_config *cfg = mkcfg(
	    "{\"general\": {\"pidfile\": {\"type\": \"string\", "
	    "\"values\": [\"/run/x.pid\"]}},"
	    " \"context\": {\"limit_nofile\": {\"type\": \"count\", "
	    "\"values\": [4096]}, \"limit_core\": {\"type\": \"count\", "
	    "\"values\": [\"18446744073709551615\"]}}}");

	ck_assert_ptr_null(cfg->error);
	ck_assert_str_eq(cfg->pidfile, "/run/x.pid");
	ck_assert_uint_eq(cfg->nlimits, 2);
	for (size_t i = 0; i < cfg->nlimits; i++) {
		if (cfg->limits[i].resource == RLIMIT_NOFILE)
			ck_assert_uint_eq(cfg->limits[i].value, 4096);
		else if (cfg->limits[i].resource == RLIMIT_CORE)
			ck_assert_uint_eq(cfg->limits[i].value, UINT64_MAX);
		else
			ck_abort_msg("unexpected resource");
	}
	svc_config_free(cfg);
	cfg = mkcfg("{\"context\": {\"limit_nofile\": {\"type\": "
	    "\"count\", \"values\": [-1]}}}");
	ck_assert_ptr_nonnull(cfg->error);
	ck_assert_uint_eq(cfg->nlimits, 0);
	svc_config_free(cfg);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kstartd_config");
	TCase *t = tcase_create("config");

	tcase_add_test(t, test_defaults);
	tcase_add_test(t, test_full);
	tcase_add_test(t, test_env_adds_path);
	tcase_add_test(t, test_errors);
	tcase_add_test(t, test_fmri);
	tcase_add_test(t, test_subst);
	tcase_add_test(t, test_method_argv);
	tcase_add_test(t, test_signals);
	tcase_add_test(t, test_limits_pidfile);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int      failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
