/*
 * kconfigd_repo.c -- the LMDB repository in a temp dir.  Every test makes
 * its own directories and opens LMDB inside the forked test, never in the
 * runner (NOTES: an environment must not cross a fork).
 */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kipc.h"
#include "manifest.h"
#include "repo.h"

static char tmp[128], state_dir[256], run_dir[256];
static char why[KCFG_ERR_MAX];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/kconfigd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
}

static void
teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static krepo *
open_repo(void)
{
	krepo *r;
	int    dexit = -1;

	ck_assert_msg(krepo_open(&r, state_dir, run_dir, &dexit, why,
	                  sizeof(why)) == KE_OK, "open: %s", why);
	return r;
}

static kcfg_service
svc(const char *text)
{
	kcfg_service s;
	char         err[KCFG_ERR_MAX];
	/* As kconfigd reads manifests: exact to 64 bits. */
	cJSON       *m = kipc_json_parse(text, strlen(text), err, sizeof(err));

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(kcfg_manifest_convert(m, "t.json", &s, err,
	                  sizeof(err)) == 0, "%s", err);
	cJSON_Delete(m);
	return s;
}

/* Imports the manifests; returns the result object. */
static cJSON *
import(krepo *r, const char *const *texts, int n, int want)
{
	kcfg_service s[8];
	cJSON       *res = NULL;
	int          ke;

	for (int i = 0; i < n; i++)
		s[i] = svc(texts[i]);
	ke = krepo_import(r, s, n, false, &res, why, sizeof(why));
	for (int i = 0; i < n; i++)
		kcfg_service_free(&s[i]);
	ck_assert_msg(ke == want, "import gave %d (%s), wanted %d", ke, why,
	    want);
	return res;
}

static void
import1(krepo *r, const char *text)
{
	cJSON_Delete(import(r, &text, 1, KE_OK));
}

static const cJSON *
prop(const cJSON *pgs, const char *pg, const char *p)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(pgs, pg), p), "values"), 0);
}

static bool
enabled(const cJSON *pgs)
{
	const cJSON *v = prop(pgs, "general", "enabled");

	ck_assert(cJSON_IsBool(v));
	return cJSON_IsTrue(v);
}

static const char *
desc(const cJSON *pgs)
{
	return prop(pgs, "general", "description")->valuestring;
}

static cJSON *
get(krepo *r, const char *s, const char *i, bool running)
{
	cJSON    *pgs;
	long long gen;

	ck_assert_msg(krepo_get(r, s, i, running, &pgs, &gen, why,
	                  sizeof(why)) == KE_OK, "get: %s", why);
	return pgs;
}

static cJSON *
snap(krepo *r, const char *s, const char *i, const char *name)
{
	cJSON *pgs;

	ck_assert_msg(krepo_snapshot(r, s, i, name, &pgs, why, sizeof(why)) ==
	    KE_OK, "snapshot %s: %s", name, why);
	return pgs;
}

static const char A1[] = "{\"service\": \"a\", \"description\": \"one\", "
                         "\"start\": {\"exec\": [\"/bin/sleep\", \"9\"]}}";
static const char A2[] = "{\"service\": \"a\", \"description\": \"two\", "
                         "\"start\": {\"exec\": [\"/bin/sleep\", \"9\"]}}";

START_TEST(open_reopen_cloexec)
{
	krepo *r = open_repo();
	char   link[64], target[PATH_MAX];
	bool   seen = false;

	/* The data file's fd is close-on-exec. */
	for (int fd = 3; fd < 64; fd++) {
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, target, sizeof(target) - 1)) < 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "data.mdb") != NULL) {
			ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
			seen = true;
		}
	}
	ck_assert(seen);
	import1(r, A1);
	krepo_close(r);
	r = open_repo();
	cJSON *v = get(r, "a", "default", false);
	ck_assert_str_eq(desc(v), "one");
	cJSON_Delete(v);
	krepo_close(r);
}
END_TEST

START_TEST(import_get_list_running)
{
	static const char *const two[] = {
		"{\"service\": \"b\", \"start\": {\"exec\": [\"/bin/true\"]}, "
		"\"instances\": {\"x\": {}, \"y\": {\"enabled\": false}}}",
		A1,
	};
	krepo       *r = open_repo();
	cJSON       *res = import(r, two, 2, KE_OK), *l, *run, *v;
	const cJSON *insts = cJSON_GetObjectItemCaseSensitive(res, "instances");

	ck_assert_int_eq(cJSON_GetArraySize(insts), 3);
	ck_assert_int_eq(cJSON_GetArraySize(
	                     cJSON_GetObjectItemCaseSensitive(res, "refreshed")), 3);
	cJSON_Delete(res);
	ck_assert_int_eq(krepo_list(r, &l, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(l), 3);
	ck_assert_str_eq(kipc_json_str(cJSON_GetArrayItem(l, 0), "fmri"),
	    "svc:/a:default");
	ck_assert_str_eq(kipc_json_str(cJSON_GetArrayItem(l, 2), "fmri"),
	    "svc:/b:y");
	cJSON_Delete(l);
	ck_assert_int_eq(krepo_running(r, false, &run, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(run), 3);
	v = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(run, "svc:/b:y"), "property_groups");
	ck_assert(!enabled(v));
	ck_assert_str_eq(prop(v, "start", "exec")->valuestring, "/bin/true");
	/* The raw form is the stored text: the same JSON, not parsed. */
	{
		cJSON *raw = NULL, *ri = NULL, *pi = NULL;

		ck_assert_int_eq(krepo_running(r, true, &raw, why, sizeof(why)),
		    KE_OK);
		ck_assert_int_eq(cJSON_GetArraySize(raw), 3);
		for (ri = raw->child, pi = run->child; ri != NULL;
		     ri = ri->next, pi = pi->next) {
			cJSON *parsed = cJSON_Parse(ri->valuestring);

			ck_assert(cJSON_IsRaw(ri));
			ck_assert_str_eq(ri->string, pi->string);
			ck_assert(cJSON_Compare(parsed, pi, true));
			cJSON_Delete(parsed);
		}
		cJSON_Delete(raw);
	}
	cJSON_Delete(run);
	/* The service-level view has no instance groups. */
	v = get(r, "b", "", false);
	ck_assert_ptr_null(prop(v, "general", "enabled"));
	ck_assert_str_eq(prop(v, "general", "model")->valuestring, "child");
	cJSON_Delete(v);
	krepo_close(r);
}
END_TEST

START_TEST(reimport_keeps_admin_and_snapshots)
{
	krepo *r = open_repo();
	cJSON *v;

	import1(r, A1);
	ck_assert_int_eq(krepo_set_enabled(r, "a", "default", false, why,
	                     sizeof(why)), KE_OK);
	/* set_enabled reaches running at once, no refresh needed. */
	v = get(r, "a", "default", true);
	ck_assert(!enabled(v));
	cJSON_Delete(v);
	import1(r, A2);
	v = get(r, "a", "default", false);
	ck_assert_str_eq(desc(v), "two");
	ck_assert(!enabled(v)); /* the admin layer survived */
	cJSON_Delete(v);
	v = get(r, "a", "default", true);
	ck_assert_str_eq(desc(v), "two");
	ck_assert(!enabled(v));
	cJSON_Delete(v);
	v = snap(r, "a", "default", "previous");
	ck_assert_str_eq(desc(v), "one");
	cJSON_Delete(v);
	v = snap(r, "a", "default", "initial");
	ck_assert_str_eq(desc(v), "one");
	ck_assert(enabled(v)); /* manifest layer only */
	cJSON_Delete(v);
	v = snap(r, "a", "default", "last-import");
	ck_assert_str_eq(desc(v), "two");
	ck_assert(enabled(v));
	cJSON_Delete(v);
	krepo_close(r);
}
END_TEST

START_TEST(unchanged_reimport_refreshes_nothing)
{
	const char *t = A1;
	krepo      *r = open_repo();
	cJSON      *res, *v;
	long long   g1, g2;

	import1(r, A1);
	ck_assert_int_eq(krepo_get(r, "a", "default", false, &v, &g1, why,
	                     sizeof(why)), KE_OK);
	cJSON_Delete(v);
	res = import(r, &t, 1, KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(
	                     cJSON_GetObjectItemCaseSensitive(res, "refreshed")), 0);
	cJSON_Delete(res);
	ck_assert_int_eq(krepo_snapshot(r, "a", "default", "previous", &v, why,
	                     sizeof(why)), KE_NOT_FOUND);
	ck_assert_int_eq(krepo_get(r, "a", "default", false, &v, &g2, why,
	                     sizeof(why)), KE_OK);
	ck_assert(g2 > g1);
	cJSON_Delete(v);
	krepo_close(r);
}
END_TEST

/*
 * An import composes its snapshots from the manifests in memory, not from
 * the layers read back: the two must be the same JSON, big integers
 * included, or every boot would refresh (and restart) such a service.
 */
START_TEST(import_snapshots_equal_the_stored_view)
{
	static const char big[] =
	    "{\"service\": \"n\", \"start\": {\"exec\": [\"/bin/true\"]}, "
	    "\"properties\": {\"app\": {"
	    "\"i53\": {\"type\": \"integer\", \"value\": 9007199254740991}, "
	    "\"i16\": {\"type\": \"integer\", \"value\": -1234567890123456}, "
	    "\"c64\": {\"type\": \"count\", \"value\": 18446744073709551615}, "
	    "\"s\": {\"type\": \"string\", \"value\": \"\\u00e9\\t\\\"x\"}}}, "
	    "\"instances\": {\"default\": {}, \"two\": {\"properties\": {\"app\": {"
	    "\"i\": {\"type\": \"integer\", \"value\": 1000000000000001}}}}}}";
	const char *t = big;
	krepo      *r = open_repo();
	cJSON      *res, *view, *run, *last;

	import1(r, big);
	for (int k = 0; k < 2; k++) {
		const char *inst = k == 0 ? "default" : "two";

		view = get(r, "n", inst, false); /* composed from the layers */
		run = get(r, "n", inst, true);
		last = snap(r, "n", inst, "last-import");
		ck_assert(cJSON_Compare(view, run, true));
		ck_assert(cJSON_Compare(view, last, true));
		cJSON_Delete(view);
		cJSON_Delete(run);
		cJSON_Delete(last);
	}
	res = import(r, &t, 1, KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(
	                     cJSON_GetObjectItemCaseSensitive(res, "refreshed")), 0);
	cJSON_Delete(res);
	krepo_close(r);
}
END_TEST

START_TEST(refresh_service_and_instance)
{
	krepo *r = open_repo();
	cJSON *done, *v;

	import1(r, "{\"service\": \"b\", \"description\": \"d\", "
	           "\"instances\": {\"x\": {}, \"y\": {}}}");
	ck_assert_int_eq(krepo_refresh(r, "b", "", &done, why, sizeof(why)),
	    KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(done), 2);
	cJSON_Delete(done);
	ck_assert_int_eq(krepo_refresh(r, "b", "x", &done, why, sizeof(why)),
	    KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(done), 1);
	cJSON_Delete(done);
	v = snap(r, "b", "x", "previous");
	ck_assert_str_eq(desc(v), "d");
	cJSON_Delete(v);
	ck_assert_int_eq(krepo_refresh(r, "b", "z", &done, why, sizeof(why)),
	    KE_NOT_FOUND);
	ck_assert_str_eq(why, "no such instance 'svc:/b:z'");
	ck_assert_int_eq(krepo_refresh(r, "nope", "", &done, why, sizeof(why)),
	    KE_NOT_FOUND);
	ck_assert_str_eq(why, "no such service 'nope'");
	krepo_close(r);
}
END_TEST

START_TEST(not_found)
{
	krepo    *r = open_repo();
	cJSON    *v;
	long long g;

	import1(r, A1);
	ck_assert_int_eq(krepo_get(r, "zz", "default", false, &v, &g, why,
	                     sizeof(why)), KE_NOT_FOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(krepo_get(r, "a", "other", false, &v, &g, why,
	                     sizeof(why)), KE_NOT_FOUND);
	ck_assert_int_eq(krepo_set_enabled(r, "a", "other", true, why,
	                     sizeof(why)), KE_NOT_FOUND);
	ck_assert_int_eq(krepo_export(r, "zz", &v, why, sizeof(why)),
	    KE_NOT_FOUND);
	krepo_close(r);
}
END_TEST

static const char CA[] = "{\"service\": \"ca\", \"dependencies\": [{\"name\": "
                         "\"b\", \"grouping\": \"require_all\", "
                         "\"services\": [\"cb\"]}]}";
static const char CB[] = "{\"service\": \"cb\", \"dependencies\": [{\"name\": "
                         "\"a\", \"grouping\": \"optional_all\", "
                         "\"services\": [\"svc:/ca:default\"]}]}";

START_TEST(cycle_refused_atomically)
{
	static const char *const both[] = { CA, CB };
	const char              *cb = CB;
	krepo                   *r = open_repo();
	cJSON                   *l;

	ck_assert_ptr_null(import(r, both, 2, KE_INVALID));
	ck_assert_str_eq(why, "dependency cycle: ca -> cb -> ca");
	import1(r, CA);
	ck_assert_ptr_null(import(r, &cb, 1, KE_INVALID));
	ck_assert_int_eq(krepo_list(r, &l, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1); /* cb was not written */
	cJSON_Delete(l);
	krepo_close(r);
}
END_TEST

START_TEST(dry_run_writes_nothing)
{
	krepo       *r = open_repo();
	kcfg_service s = svc(A1);
	cJSON       *res, *l;

	ck_assert_int_eq(krepo_import(r, &s, 1, true, &res, why, sizeof(why)),
	    KE_OK);
	cJSON_Delete(res);
	kcfg_service_free(&s);
	ck_assert_int_eq(krepo_list(r, &l, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	krepo_close(r);
}
END_TEST

START_TEST(duplicate_service_refused)
{
	static const char *const twice[] = { A1, A2 };
	krepo                   *r = open_repo();

	ck_assert_ptr_null(import(r, twice, 2, KE_INVALID));
	ck_assert_str_eq(why, "service 'a' given twice");
	krepo_close(r);
}
END_TEST

START_TEST(state_volatile)
{
	krepo *r = open_repo();
	cJSON *s = cJSON_Parse("{\"state\": \"online\", \"pid\": 7}"), *g, *l;

	ck_assert_int_eq(krepo_state_get(r, "svc:/a:default", &g, why,
	                     sizeof(why)), KE_NOT_FOUND);
	ck_assert_int_eq(krepo_state_put(r, "svc:/a:default", s, why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_eq(krepo_state_put(r, "svc:/b:x", s, why, sizeof(why)),
	    KE_OK);
	krepo_close(r);
	r = open_repo(); /* survives a daemon restart */
	ck_assert_int_eq(krepo_state_get(r, "svc:/a:default", &g, why,
	                     sizeof(why)), KE_OK);
	ck_assert(cJSON_Compare(g, s, 1));
	cJSON_Delete(g);
	ck_assert_int_eq(krepo_state_list(r, &l, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(l), 2);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(l, "svc:/b:x"));
	cJSON_Delete(l);
	cJSON_Delete(s);
	krepo_close(r);
}
END_TEST

START_TEST(export_round_trip)
{
	static const char *const svcs[] = {
		"{\"service\": \"w\", \"start\": {\"exec\": [\"/bin/true\"]}, "
		"\"properties\": {\"app\": {\"n\": {\"type\": \"integer\", "
		"\"value\": \"-9223372036854775808\"}}}, "
		"\"instances\": {\"i1\": {\"enabled\": false}, \"i2\": {}}}",
		A1,
	};
	krepo       *r = open_repo();
	cJSON       *e1, *e2, *res;
	kcfg_service s[4];
	int          n = 0;
	char         err[KCFG_ERR_MAX];

	cJSON_Delete(import(r, svcs, 2, KE_OK));
	ck_assert_int_eq(krepo_set_enabled(r, "w", "i2", false, why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_eq(krepo_export(r, NULL, &e1, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(e1), 2);
	krepo_close(r);
	teardown();
	setup();
	r = open_repo(); /* a fresh repository */
	for (cJSON *m = e1->child; m != NULL; m = m->next, n++)
		ck_assert_msg(kcfg_manifest_convert(m, "export", &s[n], err,
		                  sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(krepo_import(r, s, n, false, &res, why, sizeof(why)),
	    KE_OK);
	cJSON_Delete(res);
	for (int i = 0; i < n; i++)
		kcfg_service_free(&s[i]);
	ck_assert_int_eq(krepo_export(r, NULL, &e2, why, sizeof(why)), KE_OK);
	ck_assert_msg(cJSON_Compare(e1, e2, 1), "export differs after import");
	cJSON_Delete(e1);
	cJSON_Delete(e2);
	krepo_close(r);
}
END_TEST

START_TEST(map_grows)
{
	/* 6 services of ~3.2 MB each exceed the initial 16 MiB map. */
	krepo *r = open_repo();
	char  *big = malloc(KCFG_VALUE_MAX + 1), *text;
	size_t cap = 900 * (KCFG_VALUE_MAX + 8) + 512, n;

	memset(big, 'x', KCFG_VALUE_MAX);
	big[KCFG_VALUE_MAX] = '\0';
	text = malloc(cap);
	for (int s = 0; s < 6; s++) {
		n = (size_t)snprintf(text, cap, "{\"service\": \"big%d\", "
		    "\"properties\": {\"p\": {\"v\": {\"type\": \"string\", "
		    "\"values\": [", s);
		for (int i = 0; i < 800; i++)
			n += (size_t)snprintf(text + n, cap - n, "%s\"%s\"",
			    i ? "," : "", big);
		snprintf(text + n, cap - n, "]}}}}");
		import1(r, text);
	}
	cJSON *l;
	ck_assert_int_eq(krepo_list(r, &l, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(l), 6);
	cJSON_Delete(l);
	free(text);
	free(big);
	krepo_close(r);
}
END_TEST

/* Writes meta/version with LMDB directly, as a newer kconfigd would. */
static void
stamp_version(int v)
{
	char     dir[512], val[32];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi  dbi;
	MDB_val  k = { 12, "meta/version" }, d;

	snprintf(dir, sizeof(dir), "%s/repo", state_dir);
	snprintf(val, sizeof(val), "{\"version\":%d}", v);
	d.mv_size = strlen(val);
	d.mv_data = val;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &d, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

START_TEST(unusable_repository_exit_codes)
{
	krepo *r = open_repo();
	char   path[512];
	int    dexit = 0, fd;

	krepo_close(r);
	stamp_version(99);
	ck_assert_int_eq(krepo_open(&r, state_dir, run_dir, &dexit, why,
	                     sizeof(why)), KE_UNAVAILABLE);
	ck_assert_int_eq(dexit, KEXIT_REPO);
	ck_assert_ptr_null(r);
	/* Garbage in place of the data file. */
	snprintf(path, sizeof(path), "%s/repo/data.mdb", state_dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 4096; i++)
		ck_assert_int_eq(write(fd, "garbage!", 8), 8);
	close(fd);
	ck_assert_int_eq(krepo_open(&r, state_dir, run_dir, &dexit, why,
	                     sizeof(why)), KE_UNAVAILABLE);
	ck_assert_int_eq(dexit, KEXIT_REPO);
	/* A state dir that is a file. */
	snprintf(state_dir, sizeof(state_dir), "%s/file", tmp);
	fd = open(state_dir, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(krepo_open(&r, state_dir, run_dir, &dexit, why,
	                     sizeof(why)), KE_UNAVAILABLE);
	ck_assert_int_eq(dexit, KEXIT_STATEDIR);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kconfigd_repo");
	TCase *tc = tcase_create("repo");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, open_reopen_cloexec);
	tcase_add_test(tc, import_get_list_running);
	tcase_add_test(tc, reimport_keeps_admin_and_snapshots);
	tcase_add_test(tc, unchanged_reimport_refreshes_nothing);
	tcase_add_test(tc, import_snapshots_equal_the_stored_view);
	tcase_add_test(tc, refresh_service_and_instance);
	tcase_add_test(tc, not_found);
	tcase_add_test(tc, cycle_refused_atomically);
	tcase_add_test(tc, dry_run_writes_nothing);
	tcase_add_test(tc, duplicate_service_refused);
	tcase_add_test(tc, state_volatile);
	tcase_add_test(tc, export_round_trip);
	tcase_add_test(tc, map_grows);
	tcase_add_test(tc, unusable_repository_exit_codes);
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
