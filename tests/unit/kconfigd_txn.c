/*
 * kconfigd_txn.c -- admin-layer transactions (repo.commit), tombstones,
 * revert, and group commit, over a repository in a temp dir opened inside
 * each forked test.
 */
#include <check.h>
#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
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
	snprintf(tmp, sizeof(tmp), "/tmp/kconfigd-txn.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp);
}

static void
teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char web[] =
    "{\"service\": \"web\", \"start\": {\"exec\": [\"/bin/true\"]},"
    " \"properties\": {\"app\": {\"port\": {\"type\": \"integer\", "
    "\"value\": 80}, \"name\": {\"type\": \"string\", \"value\": \"w\"}}}}";

static krepo *
open_web(void)
{
	krepo       *r;
	kcfg_service s;
	cJSON       *m = cJSON_Parse(web), *res = NULL;
	int          dexit;

	ck_assert_msg(krepo_open(&r, state_dir, run_dir, &dexit, why,
	                  sizeof(why)) == KE_OK, "open: %s", why);
	ck_assert_int_eq(kcfg_manifest_convert(m, "w.json", &s, why, sizeof(why)),
	    0);
	ck_assert_int_eq(krepo_import(r, &s, 1, false, &res, why, sizeof(why)),
	    KE_OK);
	kcfg_service_free(&s);
	cJSON_Delete(m);
	cJSON_Delete(res);
	cJSON_Delete(krepo_take_events(r));
	return r;
}

/* Commits ops (JSON text) to svc:/web:default; returns the error code. */
static int
commit(krepo *r, const char *ops, const char *gens)
{
	cJSON    *o = cJSON_Parse(ops), *g = gens ? cJSON_Parse(gens) : NULL;
	cJSON    *ng = NULL;
	long long gen;
	int       ke;

	ck_assert_ptr_nonnull(o);
	ke = krepo_commit(r, "web", "default", o, g, &gen, &ng, why, sizeof(why));
	cJSON_Delete(o);
	cJSON_Delete(g);
	cJSON_Delete(ng);
	return ke;
}

/* The view's PG/PROP first value as text ("" when absent). */
static const char *
pgprop(krepo *r, const char *pg, const char *prop, const char *snap)
{
	static char buf[128];
	cJSON      *pgs = NULL, *v;
	long long   gen;

	buf[0] = '\0';
	ck_assert_int_eq(krepo_get_gens(r, "web", "default", snap, &pgs, &gen,
	                     NULL, why, sizeof(why)), KE_OK);
	v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pgs,
	        pg), prop), "values"), 0);
	if (cJSON_IsString(v))
		snprintf(buf, sizeof(buf), "%s", v->valuestring);
	else if (v != NULL)
		snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
	cJSON_Delete(pgs);
	return buf;
}

/* The view's app/PROP first value as text ("" when absent). */
static const char *
app(krepo *r, const char *prop, const char *snap)
{
	return pgprop(r, "app", prop, snap);
}

#define SET(p, t, v)                                                             \
	"{\"op\": \"set\", \"pg\": \"app\", \"prop\": \"" p "\", " t             \
	"\"values\": [" v "]}"

/*
 * LMDB keeps the page buffers of the biggest write transaction until the
 * environment is opened again; krepo_release does that after a write of
 * 64 KiB or more.  kstartd's boot writes (1000 states, 1000 start
 * snapshots) come in batches of a few hundred KiB each, and at a 512 KiB
 * threshold they left kconfigd 1 MiB bigger, or not, by timing.  Here: one
 * write of about 300 KiB of states, then a release gives the buffers back
 * (malloc's count of bytes in use; not under ASan, whose allocator it is
 * not).
 */
START_TEST(release_gives_page_buffers_back)
{
#ifndef __SANITIZE_ADDRESS__
	krepo *r;
	cJSON *states = cJSON_CreateObject();
	char   fmri[64], pad[257];
	size_t before, after;

	mallopt(M_MMAP_THRESHOLD, 128 << 10); /* as kconfigd (main.c) */
	r = open_web();

	memset(pad, 'p', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < 1000; i++) {
		cJSON *st = cJSON_AddObjectToObject(states, (snprintf(fmri,
		    sizeof(fmri), "svc:/s%d:default", i), fmri));

		cJSON_AddStringToObject(st, "state", "online");
		cJSON_AddStringToObject(st, "pad", pad);
	}
	ck_assert_int_eq(krepo_state_put_many(r, states, why, sizeof(why)),
	    KE_OK);
	cJSON_Delete(states);
	malloc_trim(0);
	before = mallinfo2().uordblks;
	ck_assert_msg(krepo_release(r, why, sizeof(why)) == KE_OK, "%s", why);
	malloc_trim(0);
	after = mallinfo2().uordblks;
	ck_assert_msg(after + (150 << 10) < before, "in use: %zu before the "
	    "release, %zu after", before, after);
	krepo_close(r);
#endif
}
END_TEST

/*
 * krepo_release after a write of more than its threshold (300 services
 * of about 2 KiB, in one import): the environments are opened again and
 * everything committed is still there, writable and cached as before; with
 * no big write since, a second release does nothing.
 */
START_TEST(release_after_big_import)
{
	krepo        *r = open_web();
	kcfg_service *svcs = calloc(300, sizeof(*svcs));
	cJSON        *res = NULL, *list = NULL;
	char          text[4096];
	int           n = 300;

	ck_assert_ptr_nonnull(svcs);
	for (int i = 0; i < n; i++) {
		cJSON *m;

		snprintf(text, sizeof(text),
		    "{\"service\": \"big%d\", \"description\": \"%0512d\","
		    " \"start\": {\"exec\": [\"/bin/true\"]}}", i, i);
		ck_assert_ptr_nonnull(m = cJSON_Parse(text));
		ck_assert_int_eq(kcfg_manifest_convert(m, "big.json", &svcs[i],
		                     why, sizeof(why)), 0);
		cJSON_Delete(m);
	}
	ck_assert_int_eq(krepo_import(r, svcs, n, false, &res, why, sizeof(why)),
	    KE_OK);
	cJSON_Delete(res);
	cJSON_Delete(krepo_take_events(r));
	ck_assert_int_eq(commit(r, "[" SET("port", "", "81") "]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "81");

	ck_assert_msg(krepo_release(r, why, sizeof(why)) == KE_OK, "%s", why);
	ck_assert_str_eq(app(r, "port", NULL), "81");
	ck_assert_int_eq(krepo_list(r, &list, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(list), n + 1);
	cJSON_Delete(list);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "82") "]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "82");
	ck_assert_msg(krepo_release(r, why, sizeof(why)) == KE_OK, "%s", why);
	ck_assert_str_eq(app(r, "port", NULL), "82");
	for (int i = 0; i < n; i++)
		kcfg_service_free(&svcs[i]);
	free(svcs);
	krepo_close(r);

	/* And from disk, in a fresh open. */
	{
		krepo *r2;
		int    dexit;

		ck_assert_msg(krepo_open(&r2, state_dir, run_dir, &dexit, why,
		                  sizeof(why)) == KE_OK, "reopen: %s", why);
		ck_assert_str_eq(app(r2, "port", NULL), "82");
		krepo_close(r2);
	}
}
END_TEST

START_TEST(set_typed_and_atomic)
{
	krepo *r = open_web();

	ck_assert_int_eq(commit(r, "[" SET("port", "", "\"81\"") "]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "81");
	/* The second op is bad: the first must not happen. */
	ck_assert_int_eq(commit(r, "[" SET("port", "", "82") ", " SET("port", "",
	                     "\"x\"") "]", NULL), KE_INVALID);
	ck_assert_str_eq(app(r, "port", NULL), "81");
	ck_assert_int_eq(commit(r, "[" SET("new", "", "1") "]", NULL), KE_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "give its type"));
	/* Not running until refresh. */
	ck_assert_str_eq(app(r, "port", "running"), "80");
	krepo_close(r);
}
END_TEST

START_TEST(generations_conflict)
{
	krepo *r = open_web();
	cJSON *pgs = NULL, *gens = NULL;
	long long gen;
	char   g[64];

	ck_assert_int_eq(krepo_get_gens(r, "web", "default", NULL, &pgs, &gen,
	                     &gens, why, sizeof(why)), KE_OK);
	/* app comes from the service level: it has a generation too. */
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(gens, "app"));
	snprintf(g, sizeof(g), "{\"app\": %.0f}",
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(gens, "app")));
	ck_assert_int_eq(commit(r, "[" SET("port", "", "1") "]", g), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "2") "]", g), KE_CONFLICT);
	ck_assert_str_eq(app(r, "port", NULL), "1");
	cJSON_Delete(pgs);
	cJSON_Delete(gens);
	krepo_close(r);
}
END_TEST

START_TEST(delprop_delcust_revert)
{
	krepo    *r = open_web();
	long long gen;

	ck_assert_int_eq(commit(r, "[{\"op\": \"delprop\", \"pg\": \"app\", "
	                           "\"prop\": \"name\"}]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "name", NULL), "");
	ck_assert_int_eq(commit(r, "[{\"op\": \"delprop\", \"pg\": \"app\", "
	                           "\"prop\": \"name\"}]", NULL), KE_NOT_FOUND);
	ck_assert_int_eq(commit(r, "[{\"op\": \"delcust\"}]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "name", NULL), "w");
	ck_assert_int_eq(krepo_snapshot_take(r, "web", "default", "s", why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "5") ", "
	                        SET("extra", "\"type\": \"string\", ", "\"e\"") "]",
	                     NULL), KE_OK);
	ck_assert_int_eq(krepo_revert(r, "web", "default", "s", &gen, why,
	                     sizeof(why)), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_str_eq(app(r, "extra", NULL), "");
	krepo_close(r);
}
END_TEST

START_TEST(group_commit)
{
	krepo *r = open_web();
	cJSON *ev;

	ck_assert_int_eq(krepo_batch_begin(r, false, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "1") "]", NULL), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "\"bad\"") "]", NULL),
	    KE_INVALID);
	ck_assert_int_eq(commit(r, "[" SET("name", "", "\"n\"") "]", NULL), KE_OK);
	/* Nothing is visible (or durable) before the batch commits. */
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_int_eq(krepo_batch_end(r, why, sizeof(why)), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "1");
	ck_assert_str_eq(app(r, "name", NULL), "n");
	ev = krepo_take_events(r);
	ck_assert_int_eq(cJSON_GetArraySize(ev), 2);
	ck_assert_str_eq(kipc_json_str(ev->child, "event"), "repo.changed");
	ck_assert_str_eq(kipc_json_str(ev->child, "fmri"), "svc:/web");
	cJSON_Delete(ev);
	krepo_close(r);
}
END_TEST

START_TEST(tombstones_compose)
{
	cJSON *sm = cJSON_Parse("{\"a\": {\"x\": {\"type\": \"string\", "
	                        "\"values\": [\"1\"]}}, \"b\": {\"y\": {\"type\": "
	                        "\"string\", \"values\": [\"2\"]}}}");
	cJSON *ia = cJSON_Parse("{\"a\": {\"x\": {\"deleted\": true}}, \"b\": "
	                        "{\"*\": {\"deleted\": true}, \"z\": {\"type\": "
	                        "\"string\", \"values\": [\"3\"]}}}");
	cJSON *v = kcfg_view(sm, NULL, NULL, ia);
	char  *s = cJSON_PrintUnformatted(v);

	ck_assert_str_eq(s, "{\"b\":{\"z\":{\"type\":\"string\",\"values\":"
	                    "[\"3\"]}}}");
	free(s);
	cJSON_Delete(v);
	cJSON_Delete(sm);
	cJSON_Delete(ia);
}
END_TEST

START_TEST(backup_and_check)
{
	krepo    *r = open_web();
	cJSON    *problems = NULL;
	char      path[1024];
	long long bytes = 0;
	long      keys = 0;

	ck_assert_int_eq(krepo_backup(r, path, sizeof(path), &bytes, why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_gt(bytes, 0);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert_int_eq(krepo_check(r, &problems, &keys, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(cJSON_GetArraySize(problems), 0);
	ck_assert_int_gt(keys, 5);
	cJSON_Delete(problems);
	krepo_close(r);
}
END_TEST

/* The generation of group pg in the instance's view. */
static long long
gen_of_pg(krepo *r, const char *pg)
{
	cJSON    *pgs = NULL, *gens = NULL;
	long long gen, g;

	ck_assert_int_eq(krepo_get_gens(r, "web", "default", NULL, &pgs, &gen,
	                     &gens, why, sizeof(why)), KE_OK);
	g = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(gens, pg));
	cJSON_Delete(pgs);
	cJSON_Delete(gens);
	return g;
}

START_TEST(cached_views_and_group_scope)
{
	krepo    *r = open_web();
	long long app0 = gen_of_pg(r, "app"), start0 = gen_of_pg(r, "start");

	/* Read twice (the second from the view cache), then commit: the
	 * next read must see the commit, not the cached view. */
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_int_eq(commit(r, "[" SET("port", "", "7") "]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "7");
	/* A commit reads and writes only the groups it names: app moved,
	 * start did not; the same value again moves nothing. */
	ck_assert_int_eq(gen_of_pg(r, "app"), app0 + 1);
	ck_assert_int_eq(gen_of_pg(r, "start"), start0);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "7") "]", NULL), KE_OK);
	ck_assert_int_eq(gen_of_pg(r, "app"), app0 + 1);
	/* An admin group emptied by delcust of one property is gone. */
	ck_assert_int_eq(commit(r, "[{\"op\": \"delcust\", \"pg\": \"app\", "
	                           "\"prop\": \"port\"}]", NULL), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_int_eq(gen_of_pg(r, "app"), app0 + 2);
	krepo_close(r);
}
END_TEST

/* commit() at the service level (svc:/web). */
static int
commit_svc(krepo *r, const char *ops)
{
	cJSON    *o = cJSON_Parse(ops), *ng = NULL;
	long long gen;
	int       ke;

	ck_assert_ptr_nonnull(o);
	ke = krepo_commit(r, "web", "", o, NULL, &gen, &ng, why, sizeof(why));
	cJSON_Delete(o);
	cJSON_Delete(ng);
	return ke;
}

#define DSET(g, p, t, v)                                                         \
	"{\"op\": \"set\", \"pg\": \"" g "\", \"prop\": \"" p "\", \"type\": \"" t  \
	"\", \"values\": [" v "]}"
#define WHOLE(g)                                                                 \
	"[" DSET(g, "grouping", "string", "\"require_all\"") ", "                 \
	DSET(g, "restart_on", "string", "\"none\"") ", "                          \
	DSET(g, "services", "fmri", "\"svc:/db:default\"") "]"

START_TEST(dependency_groups_stay_whole)
{
	krepo *r = open_web();
	cJSON *refreshed = NULL;

	/* A commit that leaves a group partial is refused, naming it. */
	ck_assert_int_eq(commit(r, "[" DSET("dep_x", "grouping", "string",
	                     "\"require_all\"") "]", NULL), KE_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "dependency group 'dep_x'"));
	ck_assert_ptr_nonnull(strstr(why, "restart_on"));
	ck_assert_int_eq(commit(r, WHOLE("dep_x"), NULL), KE_OK);
	ck_assert_int_eq(commit(r, "[{\"op\": \"delprop\", \"pg\": \"dep_x\", "
	                           "\"prop\": \"services\"}]", NULL), KE_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "'dep_x'"));
	ck_assert_int_eq(commit(r, "[" DSET("dep_x", "grouping", "string",
	                     "\"require_all\", \"require_any\"") "]", NULL),
	    KE_INVALID);
	ck_assert_msg(strstr(why, "grouping") != NULL, "why: %s", why);
	/* Deleting the whole group is fine. */
	ck_assert_int_eq(commit(r, "[{\"op\": \"delprop\", \"pg\": \"dep_x\"}]",
	                     NULL), KE_OK);

	/* Partial through the levels: the instance overrides one property
	 * of a service-level group, then the service drops the group.  The
	 * running snapshot must not take the remains. */
	ck_assert_int_eq(commit_svc(r, WHOLE("dep_y")), KE_OK);
	ck_assert_int_eq(commit(r, "[" DSET("dep_y", "restart_on", "string",
	                     "\"restart\"") "]", NULL), KE_OK);
	ck_assert_int_eq(commit_svc(r, "[{\"op\": \"delprop\", \"pg\": "
	                               "\"dep_y\"}]"), KE_OK);
	ck_assert_int_eq(krepo_refresh(r, "web", "default", &refreshed, why,
	                     sizeof(why)), KE_INVALID);
	ck_assert_ptr_nonnull(strstr(why, "dependency group 'dep_y' of "
	                                  "'svc:/web:default' has no 'grouping'"));
	cJSON_Delete(refreshed);
	refreshed = NULL;
	ck_assert_int_eq(commit(r, "[{\"op\": \"delcust\", \"pg\": \"dep_y\"}]",
	                     NULL), KE_OK);
	ck_assert_int_eq(krepo_refresh(r, "web", "default", &refreshed, why,
	                     sizeof(why)), KE_OK);
	cJSON_Delete(refreshed);
	krepo_close(r);
}
END_TEST

/*
 * Properties set one by one, in no order, in a batch and outside one: each
 * lands in its place in the admin layer's group, none is lost (16 writers
 * of the crash test once lost some, when cJSON refused an insertion).
 */
START_TEST(admin_group_keeps_every_property)
{
	static const char *const names[] = { "m", "c", "x", "e", "a", "k", "d",
		"z", "b" };
	krepo *r = open_web();
	char   ops[256];

	for (int round = 0; round < 2; round++) {
		if (round == 1)
			ck_assert_int_eq(krepo_batch_begin(r, false, why,
			                     sizeof(why)), KE_OK);
		for (int i = 0; i < 9; i++) {
			snprintf(ops, sizeof(ops), "[{\"op\": \"set\", \"pg\": "
			    "\"g%d\", \"prop\": \"%s\", \"type\": \"string\", "
			    "\"values\": [\"%s\"]}]", round, names[i], names[i]);
			ck_assert_int_eq(commit(r, ops, NULL), KE_OK);
		}
		if (round == 1)
			ck_assert_int_eq(krepo_batch_end(r, why, sizeof(why)), KE_OK);
		for (int i = 0; i < 9; i++) {
			char pg[8];

			snprintf(pg, sizeof(pg), "g%d", round);
			ck_assert_str_eq(pgprop(r, pg, names[i], NULL), names[i]);
		}
	}
	krepo_close(r);
}
END_TEST

/* ops committed in a (direct) batch of their own. */
static void
batch_commit(krepo *r, const char *ops)
{
	ck_assert_int_eq(krepo_batch_begin(r, false, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, ops, NULL), KE_OK);
	ck_assert_int_eq(krepo_batch_end(r, why, sizeof(why)), KE_OK);
}

/*
 * Dirty groups (kconfigd/repo.c, kcache): in a batch, a commit of one set
 * leaves its group in memory and the batch puts it once.  The same random
 * commits -- sets that change their group or not, sets that fail, two
 * groups, two-op commits, deletes, stale generations, snapshots taken in
 * the middle of a batch (a cursor must see the dirty groups) -- run in
 * random batches on one repository and one by one on another: every
 * reply, every view, every generation and the export must be the same.
 * A poisoned batch runs again nested, as kconfigd's loop does.
 */
static krepo *
open_web_in(const char *sub)
{
	snprintf(state_dir, sizeof(state_dir), "%s/%s-state", tmp, sub);
	snprintf(run_dir, sizeof(run_dir), "%s/%s-run", tmp, sub);
	return open_web();
}

/* Commit number i of the random sequence, as ops (and gens) text. */
static void
random_commit(unsigned *seed, char *ops, size_t n, char *gens, size_t gn)
{
	int  kind = rand_r(seed) % 10, p = rand_r(seed) % 4, v = rand_r(seed) % 3;
	char one[160];

	gens[0] = '\0';
	snprintf(one, sizeof(one), "{\"op\": \"set\", \"pg\": \"%s\", \"prop\": "
	    "\"p%d\", \"type\": \"integer\", \"values\": [%d]}",
	    rand_r(seed) % 4 == 0 ? "other" : "app", p, v);
	switch (kind) {
	case 0: /* fails: a string for an integer */
		snprintf(ops, n, "[{\"op\": \"set\", \"pg\": \"app\", \"prop\": "
		    "\"port\", \"values\": [\"x%d\"]}]", v);
		break;
	case 1: /* two ops: never deferred */
		snprintf(ops, n, "[%s, {\"op\": \"set\", \"pg\": \"app\", "
		    "\"prop\": \"q\", \"type\": \"string\", \"values\": "
		    "[\"%d\"]}]", one, v);
		break;
	case 2: /* may not find it */
		snprintf(ops, n, "[{\"op\": \"delprop\", \"pg\": \"app\", "
		    "\"prop\": \"p%d\"}]", p);
		break;
	case 3: /* a generation that may have moved */
		snprintf(ops, n, "[%s]", one);
		snprintf(gens, gn, "{\"app\": %d}", 2 + v);
		break;
	default:
		snprintf(ops, n, "[%s]", one);
	}
}

/* The instance's view (snap or NULL) with its generations, as text. */
static char *
view_text(krepo *r, const char *snap)
{
	cJSON    *pgs = NULL, *gens = NULL, *o = cJSON_CreateObject();
	long long gen = -1;
	char     *s;
	int       ke = krepo_get_gens(r, "web", "default", snap, &pgs, &gen,
	                  &gens, why, sizeof(why));

	cJSON_AddNumberToObject(o, "ke", ke);
	cJSON_AddNumberToObject(o, "generation", (double)gen);
	cJSON_AddItemToObject(o, "pgs", pgs != NULL ? pgs : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "gens", gens != NULL ? gens : cJSON_CreateNull());
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static char *
export_text(krepo *r)
{
	cJSON *all = NULL;
	char  *s;

	ck_assert_int_eq(krepo_export(r, NULL, &all, why, sizeof(why)), KE_OK);
	s = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return s;
}

START_TEST(dirty_groups_match_unbatched)
{
	krepo   *a = open_web_in("a"), *b = open_web_in("b");
	unsigned seed = 7, reruns = 0;
	char     ops[64][400], gens[64][64], snapname[32];
	int      nsnap = 0;

	for (int round = 0; round < 60; round++) {
		int  n = 1 + rand_r(&seed) % 12, kb[64], snap_at = -1;
		bool nested = false;

		if (rand_r(&seed) % 3 == 0)
			snap_at = rand_r(&seed) % n;
		for (int i = 0; i < n; i++) {
			random_commit(&seed, ops[i], sizeof(ops[i]), gens[i],
			    sizeof(gens[i]));
			kb[i] = commit(b, ops[i], gens[i][0] ? gens[i] : NULL);
			if (i == snap_at) {
				snprintf(snapname, sizeof(snapname), "s%d", nsnap);
				ck_assert_int_eq(krepo_snapshot_take(b, "web",
				    "default", snapname, why, sizeof(why)), KE_OK);
			}
		}
	again:
		ck_assert_int_eq(krepo_batch_begin(a, nested, why, sizeof(why)),
		    KE_OK);
		for (int i = 0; i < n; i++) {
			int ka = commit(a, ops[i], gens[i][0] ? gens[i] : NULL);

			if (krepo_batch_poisoned(a)) {
				krepo_batch_abort(a);
				nested = true;
				reruns++;
				goto again;
			}
			ck_assert_msg(ka == kb[i], "round %d commit %d %s: batched "
			    "%d, alone %d", round, i, ops[i], ka, kb[i]);
			if (i == snap_at)
				ck_assert_int_eq(krepo_snapshot_take(a, "web",
				    "default", snapname, why, sizeof(why)), KE_OK);
		}
		if (krepo_batch_flush(a, why, sizeof(why)) != KE_OK) {
			krepo_batch_abort(a);
			nested = true;
			reruns++;
			goto again;
		}
		ck_assert_int_eq(krepo_batch_end(a, why, sizeof(why)), KE_OK);
		if (snap_at >= 0)
			nsnap++;
		cJSON_Delete(krepo_take_events(a));
		cJSON_Delete(krepo_take_events(b));
		{
			char *va = view_text(a, NULL), *vb = view_text(b, NULL);

			ck_assert_msg(strcmp(va, vb) == 0, "round %d:\n%s\n%s",
			    round, va, vb);
			free(va);
			free(vb);
		}
	}
	for (int i = 0; i < nsnap; i++) {
		char *va, *vb;

		snprintf(snapname, sizeof(snapname), "s%d", i);
		va = view_text(a, snapname);
		vb = view_text(b, snapname);
		ck_assert_msg(strcmp(va, vb) == 0, "snapshot %s:\n%s\n%s",
		    snapname, va, vb);
		free(va);
		free(vb);
	}
	{
		char *ea = export_text(a), *eb = export_text(b);

		ck_assert_str_eq(ea, eb);
		free(ea);
		free(eb);
	}
	/* The sequence is made to hit every path, a rerun included. */
	ck_assert_uint_gt(nsnap, 5);
	krepo_close(a);
	krepo_close(b);
	(void)reruns;
}
END_TEST

/*
 * The writer's cache (kconfigd/repo.c, kcache) keeps a batch's records
 * parsed.  It must follow everything that changes them: commits in the
 * same batch, a revert (which deletes and rewrites the admin layer), a
 * batch aborted (its cached writes are gone), a write outside a batch.
 */
START_TEST(writer_cache_follows_the_data)
{
	krepo    *r = open_web();
	long long app0 = gen_of_pg(r, "app"), gen;

	ck_assert_int_eq(krepo_snapshot_take(r, "web", "default", "s", why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_eq(krepo_batch_begin(r, false, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "1") "]", NULL), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "2") "]", NULL), KE_OK);
	ck_assert_int_eq(commit(r, "[{\"op\": \"set\", \"pg\": \"extra\", "
	                           "\"prop\": \"e\", \"type\": \"string\", "
	                           "\"values\": [\"1\"]}]", NULL), KE_OK);
	/* The revert deletes the admin layer's groups, extra for good. */
	ck_assert_int_eq(krepo_revert(r, "web", "default", "s", &gen, why,
	                     sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("name", "", "\"n\"") "]", NULL),
	    KE_OK);
	ck_assert_int_eq(commit(r, "[{\"op\": \"set\", \"pg\": \"extra\", "
	                           "\"prop\": \"f\", \"type\": \"string\", "
	                           "\"values\": [\"2\"]}]", NULL), KE_OK);
	ck_assert_int_eq(krepo_batch_end(r, why, sizeof(why)), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_str_eq(app(r, "name", NULL), "n");
	ck_assert_str_eq(pgprop(r, "extra", "e", NULL), "");
	ck_assert_str_eq(pgprop(r, "extra", "f", NULL), "2");
	ck_assert_int_eq(gen_of_pg(r, "app"), app0 + 4);

	/* A batch aborted: what it cached is gone with it. */
	ck_assert_int_eq(krepo_batch_begin(r, false, why, sizeof(why)), KE_OK);
	ck_assert_int_eq(commit(r, "[" SET("port", "", "5") "]", NULL), KE_OK);
	krepo_batch_abort(r);
	batch_commit(r, "[" SET("name", "", "\"m\"") "]");
	ck_assert_str_eq(app(r, "port", NULL), "80");
	ck_assert_str_eq(app(r, "name", NULL), "m");

	/* A write outside a batch, then a batch reading what it wrote. */
	ck_assert_int_eq(commit(r, "[" SET("port", "", "7") "]", NULL), KE_OK);
	batch_commit(r, "[" SET("name", "", "\"o\"") "]");
	ck_assert_str_eq(app(r, "port", NULL), "7");
	ck_assert_str_eq(app(r, "name", NULL), "o");
	ck_assert_int_eq(gen_of_pg(r, "app"), app0 + 7);
	krepo_close(r);
}
END_TEST

/*
 * A batch's writes run in its own transaction.  A request that fails
 * before writing leaves it as it was; one that fails after writing (a
 * dependency cycle is found only once the groups are written) poisons it:
 * aborted, its writes are gone, and the same requests run again nested,
 * each failure then undoing only itself.
 */
START_TEST(poisoned_batch_runs_again_nested)
{
	krepo      *r = open_web();
	const char *self = "[" DSET("dep_s", "grouping", "string",
	    "\"require_all\"") ", " DSET("dep_s", "restart_on", "string",
	    "\"none\"") ", " DSET("dep_s", "services", "fmri",
	    "\"svc:/web:default\"") "]";
	cJSON      *ev, *pgs = NULL;
	long long   gen;

	for (int nested = 0; nested < 2; nested++) {
		ck_assert_int_eq(krepo_batch_begin(r, nested, why, sizeof(why)),
		    KE_OK);
		ck_assert_int_eq(commit(r, "[" SET("port", "", "1") "]", NULL),
		    KE_OK);
		ck_assert_int_eq(commit(r, "[" SET("port", "", "\"bad\"") "]",
		                     NULL), KE_INVALID);
		ck_assert(!krepo_batch_poisoned(r));
		ck_assert_int_eq(commit(r, self, NULL), KE_INVALID);
		ck_assert_msg(strstr(why, "dependency cycle") != NULL, "%s", why);
		ck_assert(krepo_batch_poisoned(r) == !nested);
		if (!nested)
			krepo_batch_abort(r);
	}
	ck_assert_int_eq(commit(r, "[" SET("name", "", "\"n\"") "]", NULL),
	    KE_OK);
	ck_assert_int_eq(krepo_batch_end(r, why, sizeof(why)), KE_OK);
	ck_assert_str_eq(app(r, "port", NULL), "1");
	ck_assert_str_eq(app(r, "name", NULL), "n");
	ck_assert_int_eq(krepo_get_gens(r, "web", "default", NULL, &pgs, &gen,
	                     NULL, why, sizeof(why)), KE_OK);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(pgs, "dep_s"));
	cJSON_Delete(pgs);
	/* The aborted round's event is gone with it. */
	ev = krepo_take_events(r);
	ck_assert_int_eq(cJSON_GetArraySize(ev), 2);
	cJSON_Delete(ev);
	krepo_close(r);
}
END_TEST

/* repo.get as text (kcfgd_get_text), as kconfigd's IPC threads run it. */
static char *
get_text(krepo *r, const char *params, bool privileged)
{
	cJSON *p = cJSON_Parse(params);
	char  *text = NULL;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(kcfgd_get_text(r, p, privileged, &text, why,
	                     sizeof(why)), KE_OK);
	cJSON_Delete(p);
	return text;
}

START_TEST(memo_follows_commits_and_privilege)
{
	krepo *r = open_web();
	char  *t1 = get_text(r, "{\"fmri\": \"web\", \"pg\": \"app\"}", true);
	char  *t2 = get_text(r, "{\"fmri\": \"web\", \"pg\": \"app\"}", true);
	char  *t3, *t4, *t5;

	ck_assert_str_eq(t1, t2); /* the second from the memo */
	ck_assert_ptr_nonnull(strstr(t1, "[80]"));
	ck_assert_int_eq(commit(r, "[" SET("port", "", "81") ", "
	                        SET("key", "\"type\": \"string\", \"secret\": true, ",
	                            "\"s3cr3t\"") "]", NULL), KE_OK);
	t3 = get_text(r, "{\"fmri\": \"web\", \"pg\": \"app\"}", true);
	ck_assert_ptr_nonnull(strstr(t3, "[81]"));
	ck_assert_ptr_nonnull(strstr(t3, "s3cr3t"));
	/* A privileged reply in the memo never reaches an unprivileged peer. */
	t4 = get_text(r, "{\"fmri\": \"web\", \"pg\": \"app\"}", false);
	ck_assert_ptr_null(strstr(t4, "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(t4, "[81]"));
	t5 = get_text(r, "{\"fmri\": \"web\", \"pg\": \"app\"}", true);
	ck_assert_str_eq(t3, t5);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
	free(t5);
	krepo_close(r);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kconfigd_txn");
	TCase *tc = tcase_create("txn");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, set_typed_and_atomic);
	tcase_add_test(tc, generations_conflict);
	tcase_add_test(tc, delprop_delcust_revert);
	tcase_add_test(tc, group_commit);
	tcase_add_test(tc, tombstones_compose);
	tcase_add_test(tc, backup_and_check);
	tcase_add_test(tc, cached_views_and_group_scope);
	tcase_add_test(tc, dependency_groups_stay_whole);
	tcase_add_test(tc, poisoned_batch_runs_again_nested);
	tcase_add_test(tc, writer_cache_follows_the_data);
	tcase_add_test(tc, admin_group_keeps_every_property);
	tcase_add_test(tc, memo_follows_commits_and_privilege);
	tcase_add_test(tc, release_after_big_import);
	tcase_add_test(tc, release_gives_page_buffers_back);
	tcase_add_test(tc, dirty_groups_match_unbatched);
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
	return failed == 0 ? 0 : 1;
}
