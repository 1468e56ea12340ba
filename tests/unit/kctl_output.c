/*
 * Unit tests for kctl's output (kctl/output.c): the list table with a
 * transition shown as "offline*", times, value cells.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kctl.h"

static char *
table_text(kctl_table *t)
{
	char  *buf = NULL;
	size_t len = 0;
	FILE  *f = open_memstream(&buf, &len);

	kctl_table_print(t, f);
	fclose(f);
	return buf;
}

static time_t
at(const char *rfc3339)
{
	time_t t = 0;

	ck_assert_int_eq(kctl_time_parse(rfc3339, &t), 0);
	return t;
}

START_TEST(list_table_with_transition)
{
	cJSON      *web = cJSON_Parse("{\"fmri\":\"svc:/web:default\","
	    "\"service\":\"web\",\"instance\":\"default\",\"state\":\"online\","
	    "\"next_state\":null,\"since\":\"2024-05-01T12:00:00Z\",\"pid\":1234,"
	    "\"description\":\"front-end web server\"}");
	cJSON      *db = cJSON_Parse("{\"fmri\":\"svc:/db:default\","
	    "\"state\":\"offline\",\"next_state\":\"online\","
	    "\"since\":\"2024-04-01T08:00:00.123+02:00\",\"pid\":null,"
	    "\"description\":\"database\"}");
	kctl_table *t = kctl_table_new(6, kctl_list_headers);
	char       *text;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_int_eq(kctl_list_row(t, web, at("2024-05-01T12:00:10Z")), 0);
	ck_assert_int_eq(kctl_list_row(t, db, at("2024-05-01T12:00:10Z")), 0);
	text = table_text(t);
	ck_assert_str_eq(text,
	    "STATE     NEXT    SINCE     PID   FMRI              DESCRIPTION\n"
	    "online    -       12:00:00  1234  svc:/web:default  front-end web server\n"
	    "offline*  online  Apr_01    -     svc:/db:default   database\n");
	free(text);
	kctl_table_free(t);
	cJSON_Delete(web);
	cJSON_Delete(db);
}
END_TEST

START_TEST(state_cell)
{
	cJSON *a = cJSON_Parse("{\"state\":\"online\",\"next_state\":null}");
	cJSON *b = cJSON_Parse("{\"state\":\"online\",\"next_state\":\"offline\"}");
	cJSON *c = cJSON_Parse("{\"state\":\"disabled\",\"next_state\":\"none\"}");
	char   buf[32];

	kctl_state_cell(a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "online");
	kctl_state_cell(b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "online*");
	kctl_state_cell(c, buf, sizeof(buf));
	ck_assert_str_eq(buf, "disabled");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}
END_TEST

START_TEST(times)
{
	char   buf[32];
	time_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_int_eq(kctl_time_parse("1970-01-01T00:01:00Z", &t), 0);
	ck_assert_int_eq((long)t, 60);
	ck_assert_int_eq(kctl_time_parse("1970-01-01T01:01:00+01:00", &t), 0);
	ck_assert_int_eq((long)t, 60);
	ck_assert_int_eq(kctl_time_parse("1970-01-01T00:00:00.5-00:30", &t), 0);
	ck_assert_int_eq((long)t, 1800);
	ck_assert_int_eq(kctl_time_parse("1970-01-01", &t), -1);
	ck_assert_int_eq(kctl_time_parse("1970-01-01T00:00:00", &t), -1);
	ck_assert_int_eq(kctl_time_parse("1970-13-01T00:00:00Z", &t), -1);
	ck_assert_int_eq(kctl_time_parse("1970-01-01T00:00:00Zjunk", &t), -1);
	kctl_time_short(NULL, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	kctl_time_short("yesterday-ish", 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "yesterday-ish");
	kctl_time_short("2024-05-01T23:59:59Z", at("2024-05-02T01:00:00Z"), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "23:59:59");
}
END_TEST

static void
value_is(const char *json, const char *want)
{
	cJSON *v = cJSON_Parse(json);
	char  *s = kctl_value_text(v);

	ck_assert_str_eq(s, want);
	free(s);
	cJSON_Delete(v);
}

START_TEST(value_cells)
{
	value_is("\"plain\"", "plain");
	value_is("\"two words\"", "\"two words\"");
	value_is("\"\"", "\"\"");
	value_is("42", "42");
	value_is("-9007199254740992", "-9007199254740992");
	value_is("true", "true");
	value_is("null", "-");
	value_is("[\"/bin/kill\",\"-HUP\",\"${MAINPID}\"]",
	    "/bin/kill -HUP ${MAINPID}");
	value_is("[]", "");
	value_is("{\"a\":1}", "{\"a\":1}");
}
END_TEST

START_TEST(table_without_header_and_utf8)
{
	kctl_table *t = kctl_table_new(2, NULL);
	char       *text;

	kctl_table_add(t, (const char *const[]){ "caf\xc3\xa9", "x" });
	kctl_table_add(t, (const char *const[]){ "tea", NULL });
	text = table_text(t);
	ck_assert_str_eq(text, "caf\xc3\xa9  x\ntea   -\n");
	free(text);
	kctl_table_free(t);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kctl_output");
	TCase   *tc = tcase_create("output");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, list_table_with_transition);
	tcase_add_test(tc, state_cell);
	tcase_add_test(tc, times);
	tcase_add_test(tc, value_cells);
	tcase_add_test(tc, table_without_header_and_utf8);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
