/*
 * kstartd_graph.c -- dependency satisfaction per grouping, reachability,
 * the default milestone, restart_on propagation, start and stop order.
 * Views are written by hand: no restarter, no process.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

#define MAXN 8

typedef struct fixture {
	svc_config *cfg[MAXN];
	size_t      n;
	kgraph     *g;
	kg_view     v[MAXN];
	enum kg_reach reach[MAXN];
	enum kg_sat   sat[MAXN];
} fixture;

/* Adds svc:/NAME:default whose one dep group has grouping over members. */
static size_t
add(fixture *f, const char *name, const char *grouping, const char *ron,
    const char *members)
{
	char        fmri[64], json[512];
	cJSON      *pgs;

	snprintf(fmri, sizeof fmri, "svc:/%s:default", name);
	if (grouping)
		snprintf(json, sizeof json,
		    "{\"dep_d\": {\"grouping\": {\"type\": \"string\", \"values\": [\"%s\"]},"
		    " \"restart_on\": {\"type\": \"string\", \"values\": [\"%s\"]},"
		    " \"services\": {\"type\": \"fmri\", \"values\": [%s]}}}",
		    grouping, ron ? ron : "none", members);
	else
		snprintf(json, sizeof json, "{}");
	pgs = cJSON_Parse(json);
	ck_assert_ptr_nonnull(pgs);
	f->cfg[f->n] = svc_config_new(fmri, pgs);
	cJSON_Delete(pgs);
	ck_assert_ptr_nonnull(f->cfg[f->n]);
	ck_assert_ptr_null(f->cfg[f->n]->error);
	/* Default view: enabled and online. */
	f->v[f->n] = (kg_view){.enabled = true, .running = true,
	    .state = SVC_ST_ONLINE, .next = SVC_ST_NONE};
	return f->n++;
}

static void
build(fixture *f)
{
	f->g = kgraph_new((const svc_config *const *)f->cfg, f->n);
	ck_assert_ptr_nonnull(f->g);
}

static void
eval(fixture *f)
{
	kgraph_eval(f->g, f->v, f->reach, f->sat);
}

static void
done(fixture *f)
{
	kgraph_free(f->g);
	for (size_t i = 0; i < f->n; i++)
		svc_config_free(f->cfg[i]);
}

static void
set(fixture *f, size_t i, bool enabled, enum svc_st st)
{
	f->v[i] = (kg_view){.enabled = enabled,
	    .running = st == SVC_ST_ONLINE || st == SVC_ST_DEGRADED,
	    .state = st, .next = SVC_ST_NONE};
}

START_TEST(test_require_all)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  b = add(&f, "b", NULL, NULL, NULL);
	size_t  w = add(&f, "w", "require_all", NULL,
	    "\"svc:/a:default\", \"svc:/b:default\"");

	build(&f);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	set(&f, b, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_WAIT);
	ck_assert_int_eq(f.reach[b], KG_COMING);
	set(&f, b, true, SVC_ST_MAINTENANCE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_CANNOT);
	set(&f, b, false, SVC_ST_DISABLED);
	set(&f, w, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_CANNOT);
	ck_assert_int_eq(f.reach[w], KG_NEVER);
	ck_assert_int_eq(f.reach[a], KG_UP);
	done(&f);
}
END_TEST

START_TEST(test_require_any)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  b = add(&f, "b", NULL, NULL, NULL);
	size_t  w = add(&f, "w", "require_any", NULL,
	    "\"svc:/a:default\", \"svc:/b:default\"");

	build(&f);
	set(&f, a, true, SVC_ST_MAINTENANCE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	set(&f, b, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_WAIT);
	set(&f, b, false, SVC_ST_DISABLED);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_CANNOT);
	done(&f);
}
END_TEST

/* optional_all waits only for enabled members that can still come up. */
START_TEST(test_optional_all)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  b = add(&f, "b", NULL, NULL, NULL);
	size_t  w = add(&f, "w", "optional_all", NULL,
	    "\"svc:/a:default\", \"svc:/b:default\", \"svc:/absent:default\"");

	build(&f);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	set(&f, a, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_WAIT);
	set(&f, a, true, SVC_ST_MAINTENANCE);
	set(&f, b, false, SVC_ST_DISABLED);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	/* Held after a clean exit: it will not come up by itself. */
	f.v[a] = (kg_view){.enabled = true, .hold = true,
	    .state = SVC_ST_OFFLINE, .next = SVC_ST_NONE};
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	done(&f);
}
END_TEST

START_TEST(test_exclude_all)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  w = add(&f, "w", "exclude_all", NULL, "\"svc:/a:default\"");

	build(&f);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_CANNOT);
	/* Disabled but still stopping: wait for it to be gone. */
	f.v[a] = (kg_view){.enabled = false, .running = true,
	    .state = SVC_ST_ONLINE, .next = SVC_ST_DISABLED};
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_WAIT);
	set(&f, a, false, SVC_ST_DISABLED);
	eval(&f);
	ck_assert_int_eq(f.sat[w], KG_SAT);
	/* An exclusion never orders stops. */
	ck_assert(kgraph_dependents_down(f.g, a, f.v));
	/* w runs; a comes online (or degraded): w must stop. */
	{
		size_t by = 99;

		ck_assert(!kgraph_excluded(f.g, w, f.v, &by));
		ck_assert(!kgraph_excluded(f.g, a, f.v, &by));
		set(&f, a, true, SVC_ST_ONLINE);
		ck_assert(kgraph_excluded(f.g, w, f.v, &by));
		ck_assert_uint_eq(by, a);
		set(&f, a, true, SVC_ST_DEGRADED);
		ck_assert(kgraph_excluded(f.g, w, f.v, &by));
		set(&f, a, true, SVC_ST_OFFLINE);
		ck_assert(!kgraph_excluded(f.g, w, f.v, &by));
	}
	done(&f);
}
END_TEST

/* A chain: blocked for good propagates; COMING propagates. */
START_TEST(test_chain_and_cycle)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  b = add(&f, "b", "require_all", NULL, "\"svc:/a:default\"");
	size_t  c = add(&f, "c", "require_all", NULL, "\"svc:/b:default\"");
	size_t  x = add(&f, "x", "require_all", NULL, "\"svc:/y:default\"");
	size_t  y = add(&f, "y", "require_all", NULL, "\"svc:/x:default\"");

	build(&f);
	set(&f, a, true, SVC_ST_OFFLINE);
	set(&f, b, true, SVC_ST_OFFLINE);
	set(&f, c, true, SVC_ST_OFFLINE);
	set(&f, x, true, SVC_ST_OFFLINE);
	set(&f, y, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(f.sat[a], KG_SAT);
	ck_assert_int_eq(f.sat[b], KG_WAIT);
	ck_assert_int_eq(f.reach[c], KG_COMING);
	ck_assert_int_eq(f.reach[x], KG_NEVER);
	ck_assert_int_eq(f.reach[y], KG_NEVER);
	set(&f, a, true, SVC_ST_MAINTENANCE);
	eval(&f);
	ck_assert_int_eq(f.reach[c], KG_NEVER);
	ck_assert_int_eq(f.sat[c], KG_CANNOT);
	done(&f);
}
END_TEST

START_TEST(test_milestone)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  b = add(&f, "b", "require_all", NULL, "\"svc:/a:default\"");
	size_t  off = add(&f, "off", NULL, NULL, NULL);

	build(&f);
	set(&f, off, false, SVC_ST_DISABLED);
	eval(&f);
	ck_assert_int_eq(kgraph_milestone(f.g, f.v, f.reach), KG_MS_ONLINE);
	set(&f, b, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(kgraph_milestone(f.g, f.v, f.reach), KG_MS_PENDING);
	set(&f, a, true, SVC_ST_MAINTENANCE);
	eval(&f);
	ck_assert_int_eq(kgraph_milestone(f.g, f.v, f.reach), KG_MS_FAILED);
	done(&f);
}
END_TEST

START_TEST(test_affected)
{
	fixture f = {0};
	size_t  out[4];
	size_t  db = add(&f, "db", NULL, NULL, NULL);
	size_t  e = add(&f, "e", "require_all", "error", "\"svc:/db:default\"");
	size_t  r = add(&f, "r", "require_all", "restart", "\"svc:/db:default\"");
	size_t  n = add(&f, "n", "require_all", "none", "\"svc:/db:default\"");
	size_t  x = add(&f, "x", "exclude_all", "restart", "\"svc:/db:default\"");

	(void)n;
	(void)x;
	build(&f);
	ck_assert_uint_eq(kgraph_affected(f.g, db, SVC_RON_ERROR, out, 4), 2);
	ck_assert(out[0] == e || out[1] == e);
	ck_assert(out[0] == r || out[1] == r);
	ck_assert_uint_eq(kgraph_affected(f.g, db, SVC_RON_RESTART, out, 4), 1);
	ck_assert_uint_eq(out[0], r);
	ck_assert_uint_eq(kgraph_affected(f.g, e, SVC_RON_ERROR, out, 4), 0);
	done(&f);
}
END_TEST

/* Start order: dependencies first; stop waits for running dependents. */
START_TEST(test_order)
{
	fixture f = {0};
	size_t  order[MAXN], pos[MAXN];
	size_t  c = add(&f, "c", "require_all", NULL, "\"svc:/b:default\"");
	size_t  b = add(&f, "b", "optional_all", NULL, "\"svc:/a:default\"");
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  d = add(&f, "d", "require_any", NULL,
	    "\"svc:/a:default\", \"svc:/c:default\"");

	build(&f);
	kgraph_order(f.g, order);
	for (size_t i = 0; i < f.n; i++)
		pos[order[i]] = i;
	ck_assert_uint_lt(pos[a], pos[b]);
	ck_assert_uint_lt(pos[b], pos[c]);
	ck_assert_uint_lt(pos[c], pos[d]);
	ck_assert(!kgraph_dependents_down(f.g, a, f.v));
	ck_assert(kgraph_dependents_down(f.g, d, f.v));
	set(&f, b, true, SVC_ST_OFFLINE);
	set(&f, d, true, SVC_ST_OFFLINE);
	ck_assert(kgraph_dependents_down(f.g, a, f.v));
	ck_assert_int_eq(kgraph_find(f.g, "svc:/c:default"), (long)c);
	ck_assert_int_eq(kgraph_find(f.g, "svc:/zz:default"), -1);
	done(&f);
}
END_TEST

START_TEST(test_group_sat)
{
	fixture f = {0};
	size_t  a = add(&f, "a", NULL, NULL, NULL);
	size_t  w = add(&f, "w", "require_all", NULL, "\"svc:/a:default\"");

	build(&f);
	set(&f, a, true, SVC_ST_OFFLINE);
	eval(&f);
	ck_assert_int_eq(kgraph_group_sat(f.g, w, 0, f.v, f.reach), KG_WAIT);
	ck_assert_int_eq(kgraph_group_sat(f.g, w, 0, f.v, NULL), KG_WAIT);
	ck_assert_str_eq(kg_sat_name(KG_CANNOT), "cannot");
	done(&f);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kstartd_graph");
	TCase *t = tcase_create("graph");

	tcase_add_test(t, test_require_all);
	tcase_add_test(t, test_require_any);
	tcase_add_test(t, test_optional_all);
	tcase_add_test(t, test_exclude_all);
	tcase_add_test(t, test_chain_and_cycle);
	tcase_add_test(t, test_milestone);
	tcase_add_test(t, test_affected);
	tcase_add_test(t, test_order);
	tcase_add_test(t, test_group_sat);
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
