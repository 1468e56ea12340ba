/*
 * Unit tests for kctl's names (kctl/fmri.c): every form DESIGN section 3
 * accepts normalises to svc:/NAME:INSTANCE; malformed ones are refused with
 * a reason; SVC[/PG[/PROP]] splits.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

static const char *
norm(const char *in)
{
	static char out[KCTL_FMRI_MAX];
	char        why[256];

	if (kctl_fmri_norm(in, out, sizeof(out), why, sizeof(why)) != 0)
		return NULL;
	return out;
}

START_TEST(forms_normalise)
{
	ck_assert_str_eq(norm("web"), "svc:/web:default");
	ck_assert_str_eq(norm("web:default"), "svc:/web:default");
	ck_assert_str_eq(norm("svc:/web:default"), "svc:/web:default");
	ck_assert_str_eq(norm("svc:/web"), "svc:/web:default");
	ck_assert_str_eq(norm("web:blue"), "svc:/web:blue");
	ck_assert_str_eq(norm("svc:/my-db.v2:main_1"), "svc:/my-db.v2:main_1");
}
END_TEST

START_TEST(malformed_refused)
{
	static const char *const bad[] = { "", ":", "web:", ":default",
		"svc:/", "svc:/:x", "svc:web", "svc://web", "web:a:b", "a/b",
		"we b", "web\n", "svc:/web:default/general" };
	char out[KCTL_FMRI_MAX], why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(kctl_fmri_norm(bad[i], out, sizeof(out), why,
		    sizeof(why)) == -1, "accepted '%s'", bad[i]);
		ck_assert_msg(why[0] != '\0', "no reason for '%s'", bad[i]);
	}
}
END_TEST

START_TEST(overlong_refused)
{
	char name[KCTL_NAME_MAX + 2], out[KCTL_FMRI_MAX], why[256];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(kctl_fmri_norm(name, out, sizeof(out), why,
	    sizeof(why)), -1);
	name[KCTL_NAME_MAX] = '\0';
	ck_assert_int_eq(kctl_fmri_norm(name, out, sizeof(out), why,
	    sizeof(why)), 0);
}
END_TEST

START_TEST(split)
{
	char svc[64], inst[64];

	ck_assert_int_eq(kctl_fmri_split("svc:/web:blue", svc, sizeof(svc), inst,
	    sizeof(inst)), 0);
	ck_assert_str_eq(svc, "web");
	ck_assert_str_eq(inst, "blue");
	ck_assert_int_eq(kctl_fmri_split("web", svc, sizeof(svc), inst,
	    sizeof(inst)), -1);
}
END_TEST

static int
path(const char *in, char *fmri, char *pg, char *prop)
{
	char why[256];

	return kctl_prop_path(in, fmri, KCTL_FMRI_MAX, pg, 64, prop, 64, why,
	    sizeof(why));
}

START_TEST(prop_paths)
{
	char fmri[KCTL_FMRI_MAX], pg[64], prop[64];

	ck_assert_int_eq(path("web", fmri, pg, prop), 0);
	ck_assert_str_eq(fmri, "svc:/web:default");
	ck_assert_str_eq(pg, "");
	ck_assert_str_eq(prop, "");
	ck_assert_int_eq(path("web/general", fmri, pg, prop), 0);
	ck_assert_str_eq(pg, "general");
	ck_assert_str_eq(prop, "");
	ck_assert_int_eq(path("svc:/web:blue/start/exec", fmri, pg, prop), 0);
	ck_assert_str_eq(fmri, "svc:/web:blue");
	ck_assert_str_eq(pg, "start");
	ck_assert_str_eq(prop, "exec");
	ck_assert_int_eq(path("web:default/general/enabled", fmri, pg, prop), 0);
	ck_assert_str_eq(fmri, "svc:/web:default");
	ck_assert_str_eq(prop, "enabled");
	ck_assert_int_eq(path("web/", fmri, pg, prop), -1);
	ck_assert_int_eq(path("web//x", fmri, pg, prop), -1);
	ck_assert_int_eq(path("web/a/b/c", fmri, pg, prop), -1);
	ck_assert_int_eq(path("web/a/b/", fmri, pg, prop), -1);
	ck_assert_int_eq(path("/a", fmri, pg, prop), -1);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kctl_fmri");
	TCase   *tc = tcase_create("fmri");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, forms_normalise);
	tcase_add_test(tc, malformed_refused);
	tcase_add_test(tc, overlong_refused);
	tcase_add_test(tc, split);
	tcase_add_test(tc, prop_paths);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
