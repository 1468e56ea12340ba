/*
 * kconfigd_handlers.c -- the dispatch table and every kconfigd method,
 * called as the daemon's loop calls them, on a repository in a temp dir.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "kipc.h"

static char   tmp[128], state_dir[256], run_dir[256], why[KCFG_ERR_MAX];
static krepo *repo;

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
setup(void)
{
	int dexit;

	snprintf(tmp, sizeof(tmp), "/tmp/kconfigd-htest.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
	ck_assert_int_eq(krepo_open(&repo, state_dir, run_dir, &dexit, why,
	                     sizeof(why)), KE_OK);
}

static void
teardown(void)
{
	krepo_close(repo);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Calls method with params (JSON text); expects code want. */
static cJSON *
call(kproto_method_id id, const char *params, bool priv, int want)
{
	cJSON *p = cJSON_Parse(params), *res = NULL;
	int    ke;

	ck_assert_msg(p != NULL, "bad test params %s", params);
	why[0] = '\0';
	ke = kcfgd_dispatch(repo, id, p, priv, &res, why, sizeof(why));
	cJSON_Delete(p);
	ck_assert_msg(ke == want, "%s %s: got %s (%s), wanted %s",
	    kproto_method_by_id(id)->name, params, kproto_err_name(ke), why,
	    kproto_err_name(want));
	ck_assert(ke == KE_OK ? res != NULL : res == NULL);
	if (res != NULL) { /* as the peer reads it (replies hold raw text) */
		char *text = cJSON_PrintUnformatted(res);

		cJSON_Delete(res);
		ck_assert_ptr_nonnull(text);
		res = cJSON_Parse(text);
		free(text);
		ck_assert_ptr_nonnull(res);
	}
	return res;
}

static const char IMPORT[] =
    "{\"files\": [\"web.json\", \"db.json\"], \"manifests\": ["
    "{\"service\": \"web\", \"description\": \"w\", \"start\": {\"exec\": "
    "[\"/bin/sleep\", \"9\"]}, \"dependencies\": [{\"name\": \"db\", "
    "\"grouping\": \"require_all\", \"services\": [\"db\"]}], "
    "\"properties\": {\"app\": {\"key\": {\"type\": \"string\", \"value\": "
    "\"hunter2\", \"secret\": true}, \"port\": {\"type\": \"count\", "
    "\"value\": 8080}}}},"
    "{\"service\": \"db\", \"start\": {\"exec\": [\"/bin/sleep\", \"9\"]}}]}";

static void
import_two(void)
{
	cJSON_Delete(call(KM_REPO_IMPORT, IMPORT, true, KE_OK));
}

START_TEST(table_matches_proto)
{
	cJSON *r;

	ck_assert_msg(kcfgd_check_table(why, sizeof(why)) == 0, "%s", why);
	r = call(KM_SYS_HELLO, "{}", false, KE_OK);
	ck_assert_str_eq(kipc_json_str(r, "name"), "k.configd");
	cJSON_Delete(r);
	/* A method kconfigd does not serve. */
	call(KM_SVC_LIST, "{}", true, KE_INVALID);
}
END_TEST

START_TEST(import_shapes)
{
	cJSON *r = call(KM_REPO_IMPORT, IMPORT, true, KE_OK);
	char  *s = cJSON_PrintUnformatted(r);

	ck_assert_str_eq(s, "{\"services\":[\"web\",\"db\"],\"instances\":"
	                    "[\"svc:/web:default\",\"svc:/db:default\"],"
	                    "\"refreshed\":[\"svc:/web:default\","
	                    "\"svc:/db:default\"]}");
	free(s);
	cJSON_Delete(r);
	r = call(KM_REPO_VALIDATE, IMPORT, false, KE_OK);
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"services\":[\"web\",\"db\"]}");
	free(s);
	cJSON_Delete(r);
}
END_TEST

START_TEST(import_errors_name_file_and_pointer)
{
	cJSON *r;

	call(KM_REPO_IMPORT,
	    "{\"files\": [\"ok.json\", \"bad.json\"], \"manifests\": ["
	    "{\"service\": \"ok\"}, {\"service\": \"bad\", \"restart\": "
	    "{\"burst\": \"lots\"}}]}",
	    true, KE_INVALID);
	ck_assert_str_eq(why, "bad.json: /restart/burst: expected a "
	                      "non-negative integer");
	call(KM_REPO_VALIDATE, "{\"manifests\": [{\"service\": 1}]}", false,
	    KE_INVALID);
	ck_assert_str_eq(why, "manifests[0]: /service: expected a service name "
	                      "of 1 to 64 characters [A-Za-z0-9_.-]");
	call(KM_REPO_IMPORT, "{\"files\": [], \"manifests\": [{}]}", true,
	    KE_INVALID);
	/* Nothing was written by the failed imports. */
	r = call(KM_REPO_LIST, "{}", false, KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(kipc_json_arr(r, "instances")), 0);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_forms_and_filters)
{
	static const char *const forms[] = { "web", "web:default",
		"svc:/web:default" };
	cJSON *r;
	char  *s;

	import_two();
	for (int i = 0; i < 3; i++) {
		char p[128];

		snprintf(p, sizeof(p), "{\"fmri\": \"%s\", \"pg\": \"general\", "
		                       "\"prop\": \"description\"}", forms[i]);
		r = call(KM_REPO_GET, p, false, KE_OK);
		s = cJSON_PrintUnformatted(r);
		ck_assert_str_eq(s, "{\"fmri\":\"svc:/web:default\",\"generation\":"
		                    "1,\"generations\":{\"general\":2},"
		                    "\"property_groups\":{\"general\":{"
		                    "\"description\":{\"type\":\"string\","
		                    "\"values\":[\"w\"]}}}}");
		free(s);
		cJSON_Delete(r);
	}
	r = call(KM_REPO_GET, "{\"fmri\": \"web\", \"running\": true}", false,
	    KE_OK);
	ck_assert_ptr_nonnull(kipc_json_obj(kipc_json_obj(r, "property_groups"),
	    "dep_db"));
	cJSON_Delete(r);
	r = call(KM_REPO_GET, "{\"fmri\": \"svc:/web\"}", false, KE_OK);
	ck_assert_str_eq(kipc_json_str(r, "fmri"), "svc:/web");
	cJSON_Delete(r);
	call(KM_REPO_GET, "{\"fmri\": \"svc:/web\", \"running\": true}", false,
	    KE_INVALID);
	call(KM_REPO_GET, "{\"fmri\": \"web\", \"prop\": \"x\"}", false,
	    KE_INVALID);
	call(KM_REPO_GET, "{\"fmri\": \"web\", \"pg\": \"nope\"}", false,
	    KE_NOT_FOUND);
	ck_assert_str_eq(why, "no property group 'nope' in 'svc:/web:default'");
	call(KM_REPO_GET, "{\"fmri\": \"web\", \"pg\": \"general\", "
	                  "\"prop\": \"nope\"}", false, KE_NOT_FOUND);
	call(KM_REPO_GET, "{\"fmri\": \"nosuch\"}", false, KE_NOT_FOUND);
	ck_assert_str_eq(why, "no such service 'nosuch'");
	call(KM_REPO_GET, "{\"fmri\": \"web:other\"}", false, KE_NOT_FOUND);
	call(KM_REPO_GET, "{\"fmri\": \"svc:/we b\"}", false, KE_INVALID);
}
END_TEST

START_TEST(secrets_only_for_privileged)
{
	cJSON *r, *app;

	import_two();
	r = call(KM_REPO_GET, "{\"fmri\": \"web\", \"pg\": \"app\"}", false,
	    KE_OK);
	app = cJSON_GetObjectItemCaseSensitive(kipc_json_obj(r, "property_groups"),
	    "app");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(app, "key"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(app, "port"));
	cJSON_Delete(r);
	call(KM_REPO_GET, "{\"fmri\": \"web\", \"pg\": \"app\", \"prop\": "
	                  "\"key\"}", false, KE_DENIED);
	r = call(KM_REPO_GET, "{\"fmri\": \"web\", \"pg\": \"app\", \"prop\": "
	                      "\"key\"}", true, KE_OK);
	cJSON_Delete(r);
	r = call(KM_REPO_RUNNING, "{}", false, KE_OK);
	{
		char *s = cJSON_PrintUnformatted(r);

		ck_assert_ptr_null(strstr(s, "hunter2"));
		free(s);
	}
	cJSON_Delete(r);
	r = call(KM_REPO_RUNNING, "{}", true, KE_OK);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(
	    kipc_json_obj(kipc_json_obj(kipc_json_obj(kipc_json_obj(r,
	        "instances"), "svc:/web:default"), "property_groups"), "app"),
	    "key"));
	cJSON_Delete(r);
	/* Export never carries them at level 1, and says so. */
	r = call(KM_REPO_EXPORT, "{}", true, KE_OK);
	ck_assert_int_eq(cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(r, "secrets_omitted")), 1);
	{
		char *s = cJSON_PrintUnformatted(r);

		ck_assert_ptr_null(strstr(s, "hunter2"));
		free(s);
	}
	ck_assert_int_eq(cJSON_GetArraySize(kipc_json_arr(r, "services")), 2);
	cJSON_Delete(r);
	r = call(KM_REPO_EXPORT, "{\"service\": \"db\"}", false, KE_OK);
	ck_assert_str_eq(kipc_json_str(cJSON_GetArrayItem(kipc_json_arr(r,
	                     "services"), 0), "service"), "db");
	cJSON_Delete(r);
}
END_TEST

START_TEST(enable_refresh_state)
{
	cJSON *r;
	char  *s, big[80 * 1024], params[90 * 1024];

	import_two();
	r = call(KM_REPO_SET_ENABLED, "{\"fmri\": \"db\", \"enabled\": false}",
	    true, KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(r), 0);
	cJSON_Delete(r);
	call(KM_REPO_SET_ENABLED, "{\"fmri\": \"svc:/db\", \"enabled\": false}",
	    true, KE_INVALID);
	r = call(KM_REPO_REFRESH, "{\"fmri\": \"svc:/db:default\"}", true, KE_OK);
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"refreshed\":[\"svc:/db:default\"]}");
	free(s);
	cJSON_Delete(r);
	cJSON_Delete(call(KM_STATE_PUT, "{\"fmri\": \"db\", \"state\": "
	                                "{\"state\": \"online\"}}", true, KE_OK));
	r = call(KM_STATE_GET, "{\"fmri\": \"svc:/db:default\"}", false, KE_OK);
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"state\":{\"state\":\"online\"}}");
	free(s);
	cJSON_Delete(r);
	r = call(KM_STATE_LIST, "{}", false, KE_OK);
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"states\":{\"svc:/db:default\":{\"state\":"
	                    "\"online\"}}}");
	free(s);
	cJSON_Delete(r);
	call(KM_STATE_GET, "{\"fmri\": \"web\"}", false, KE_NOT_FOUND);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(params, sizeof(params), "{\"fmri\": \"web\", \"state\": "
	                                 "{\"x\": \"%s\"}}", big);
	call(KM_STATE_PUT, params, true, KE_TOO_LARGE);
}
END_TEST

/* "start" among svc:/web:default's snapshots? */
static bool
web_has_start(void)
{
	cJSON *r = call(KM_REPO_SNAPSHOT_LIST, "{\"fmri\": \"web\"}", false,
	    KE_OK);
	char  *s = cJSON_PrintUnformatted(r);
	bool   has = strstr(s, "\"start\"") != NULL;

	free(s);
	cJSON_Delete(r);
	return has;
}

/*
 * A group commit dropped after a write failed halfway runs again
 * (kconfigd/main.c, run_batch).  The states its requests wrote were
 * committed at once, in the volatile namespace: they are not written again
 * (db must not go back to "starting"), while state.put_many's start
 * snapshot, dropped with the batch, is taken again.
 */
START_TEST(batch_rerun_keeps_volatile_writes)
{
	static const char starting[] = "{\"fmri\": \"db\", \"state\": "
	    "{\"state\": \"starting\"}}";
	static const char many[] = "{\"states\": {\"svc:/web:default\": "
	    "{\"state\": \"online\"}}, \"start\": [\"svc:/web:default\"]}";
	cJSON *p, *r;
	char  *s;

	import_two();
	ck_assert_int_eq(krepo_batch_begin(repo, false, why, sizeof(why)), KE_OK);
	cJSON_Delete(call(KM_STATE_PUT, starting, true, KE_OK));
	cJSON_Delete(call(KM_STATE_PUT, "{\"fmri\": \"db\", \"state\": "
	                                "{\"state\": \"online\"}}", true, KE_OK));
	cJSON_Delete(call(KM_STATE_PUT_MANY, many, true, KE_OK));
	call(KM_REPO_COMMIT, "{\"fmri\": \"db\", \"ops\": ["
	    "{\"op\": \"set\", \"pg\": \"dep_s\", \"prop\": \"grouping\", "
	    "\"type\": \"string\", \"values\": [\"require_all\"]}, "
	    "{\"op\": \"set\", \"pg\": \"dep_s\", \"prop\": \"restart_on\", "
	    "\"type\": \"string\", \"values\": [\"none\"]}, "
	    "{\"op\": \"set\", \"pg\": \"dep_s\", \"prop\": \"services\", "
	    "\"type\": \"fmri\", \"values\": [\"svc:/db:default\"]}]}",
	    true, KE_INVALID);
	ck_assert(krepo_batch_poisoned(repo));
	krepo_batch_abort(repo);
	ck_assert(!web_has_start());

	ck_assert_int_eq(krepo_batch_begin(repo, true, why, sizeof(why)), KE_OK);
	p = cJSON_Parse(starting);
	ck_assert(kcfgd_rerun_kept(repo, KM_STATE_PUT, p, KE_OK));
	cJSON_Delete(p);
	p = cJSON_Parse(many);
	ck_assert(kcfgd_rerun_kept(repo, KM_STATE_PUT_MANY, p, KE_OK));
	cJSON_Delete(p);
	ck_assert(!kcfgd_rerun_kept(repo, KM_REPO_COMMIT, NULL, KE_INVALID));
	ck_assert_int_eq(krepo_batch_end(repo, why, sizeof(why)), KE_OK);
	r = call(KM_STATE_GET, "{\"fmri\": \"db\"}", false, KE_OK);
	s = cJSON_PrintUnformatted(r);
	ck_assert_str_eq(s, "{\"state\":{\"state\":\"online\"}}");
	free(s);
	cJSON_Delete(r);
	ck_assert(web_has_start());
}
END_TEST

START_TEST(boot_import_skips_bad_files)
{
	char  dir[300], path[400];
	FILE *f;
	cJSON *r;

	snprintf(dir, sizeof(dir), "%s/man", tmp);
	ck_assert_int_eq(kipc_mkdirs(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/good.json", dir);
	f = fopen(path, "w");
	fputs("{\"service\": \"good\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	f = fopen(path, "w");
	fputs("{\"service\": \"bad\", \"model\": 3}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/broken.json", dir);
	f = fopen(path, "w");
	fputs("{\"service\": ", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/README", dir);
	f = fopen(path, "w");
	fclose(f);
	ck_assert_int_eq(kcfgd_boot_import(repo, dir), 1);
	r = call(KM_REPO_LIST, "{}", false, KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(kipc_json_arr(r, "instances")), 1);
	cJSON_Delete(r);
	snprintf(dir, sizeof(dir), "%s/absent", tmp);
	ck_assert_int_eq(kcfgd_boot_import(repo, dir), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kconfigd_handlers");
	TCase *tc = tcase_create("dispatch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, table_matches_proto);
	tcase_add_test(tc, import_shapes);
	tcase_add_test(tc, import_errors_name_file_and_pointer);
	tcase_add_test(tc, get_forms_and_filters);
	tcase_add_test(tc, secrets_only_for_privileged);
	tcase_add_test(tc, enable_refresh_state);
	tcase_add_test(tc, boot_import_skips_bad_files);
	tcase_add_test(tc, batch_rerun_keeps_volatile_writes);
	suite_add_tcase(s, tc);
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
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
