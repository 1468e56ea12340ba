/*
 * kconfigd_manifest.c -- the pure core of kconfigd: manifest validation and
 * conversion, FMRIs, composition and layering, the dependency-cycle check.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"
#include "manifest.h"

static cJSON *
J(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	ck_assert_msg(j != NULL, "test JSON does not parse: %s", text);
	return j;
}

/* Converts text; expects success. */
static kcfg_service
convert_ok(const char *text)
{
	kcfg_service s;
	char         err[KCFG_ERR_MAX] = "";
	cJSON       *m = J(text);
	int          rc = kcfg_manifest_convert(m, "t.json", &s, err, sizeof(err));

	cJSON_Delete(m);
	ck_assert_msg(rc == 0, "unexpected failure: %s", err);
	return s;
}

/* Converts text; expects failure with exactly the message want. */
static void
convert_bad(const char *text, const char *want)
{
	kcfg_service s;
	char         err[KCFG_ERR_MAX] = "";
	cJSON       *m = J(text);
	int          rc = kcfg_manifest_convert(m, "web.json", &s, err,
	             sizeof(err));

	cJSON_Delete(m);
	kcfg_service_free(&s);
	ck_assert_msg(rc != 0, "accepted: %s", text);
	ck_assert_str_eq(err, want);
}

/* The values array of pg/prop in pgs. */
static const cJSON *
vals(const cJSON *pgs, const char *pg, const char *prop)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(pgs, pg);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, prop);

	ck_assert_msg(p != NULL, "no property %s/%s", pg, prop);
	return cJSON_GetObjectItemCaseSensitive(p, "values");
}

static const char *
str0(const cJSON *pgs, const char *pg, const char *prop)
{
	const cJSON *v = cJSON_GetArrayItem(vals(pgs, pg, prop), 0);

	ck_assert(cJSON_IsString(v));
	return v->valuestring;
}

static double
num0(const cJSON *pgs, const char *pg, const char *prop)
{
	const cJSON *v = cJSON_GetArrayItem(vals(pgs, pg, prop), 0);

	/* Exact integers of 16 digits and more are raw number text. */
	if (cJSON_IsRaw(v))
		return strtod(v->valuestring, NULL);
	ck_assert(cJSON_IsNumber(v));
	return v->valuedouble;
}

static const char *
type_of(const cJSON *pgs, const char *pg, const char *prop)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(pgs, pg);

	return kipc_json_str(cJSON_GetObjectItemCaseSensitive(g, prop), "type");
}

static const char WEB[] =
    "{\"service\": \"web\", \"description\": \"front-end web server\","
    " \"model\": \"notify\","
    " \"start\": {\"exec\": [\"/usr/sbin/mywebd\", \"--port\", \"8080\"],"
    "             \"timeout_s\": 30},"
    " \"stop\": {\"signal\": \"SIGTERM\", \"timeout_s\": 10},"
    " \"refresh\": {\"exec\": [\"/usr/bin/kill\", \"-HUP\", \"${MAINPID}\"]},"
    " \"restart\": {\"policy\": \"on-failure\", \"delay_ms\": 100,"
    "   \"max_delay_ms\": 30000, \"burst\": 5, \"window_s\": 10},"
    " \"dependencies\": ["
    "   {\"name\": \"db\", \"grouping\": \"require_all\","
    "    \"restart_on\": \"restart\", \"services\": [\"postgres\"]},"
    "   {\"name\": \"cache\", \"grouping\": \"optional_all\","
    "    \"restart_on\": \"none\", \"services\": [\"svc:/redis:main\"]}],"
    " \"context\": {\"user\": \"www-data\", \"working_directory\": \"/srv/www\","
    "   \"environment\": {\"PORT\": \"8080\"}, \"umask\": \"022\","
    "   \"limits\": {\"nofile\": 65536, \"core\": \"infinity\"}},"
    " \"log\": \"file\","
    " \"instances\": {\"default\": {\"enabled\": true}},"
    " \"properties\": {\"app\": {\"api_key\": {\"type\": \"string\","
    "   \"value\": \"s3cret\", \"secret\": true}}}}";

START_TEST(design_example_converts)
{
	kcfg_service s = convert_ok(WEB);
	const cJSON *p = s.pgs, *d;

	ck_assert_str_eq(s.name, "web");
	ck_assert_str_eq(str0(p, "general", "model"), "notify");
	ck_assert_str_eq(str0(p, "general", "description"),
	    "front-end web server");
	ck_assert_int_eq(cJSON_GetArraySize(vals(p, "start", "exec")), 3);
	ck_assert_str_eq(type_of(p, "start", "timeout_s"), "count");
	ck_assert(num0(p, "start", "timeout_s") == 30);
	ck_assert_str_eq(str0(p, "stop", "signal"), "TERM"); /* canonical */
	ck_assert(num0(p, "refresh", "timeout_s") == 60);   /* default */
	ck_assert_str_eq(str0(p, "restart", "policy"), "on-failure");
	ck_assert_str_eq(str0(p, "dep_db", "grouping"), "require_all");
	ck_assert_str_eq(str0(p, "dep_db", "services"), "svc:/postgres:default");
	ck_assert_str_eq(type_of(p, "dep_db", "services"), "fmri");
	ck_assert_str_eq(str0(p, "dep_cache", "services"), "svc:/redis:main");
	ck_assert_str_eq(str0(p, "context", "umask"), "022");
	ck_assert(num0(p, "context", "limit_nofile") == 65536);
	d = cJSON_GetArrayItem(vals(p, "context", "limit_core"), 0);
	ck_assert(cJSON_IsString(d)); /* 2^64-1 is beyond 2^53 */
	ck_assert_str_eq(d->valuestring, "18446744073709551615");
	ck_assert_str_eq(str0(p, "context", "environment"), "PORT=8080");
	ck_assert_int_eq(cJSON_GetArraySize(vals(p, "context", "environment")), 2);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(p, "app"), "api_key"),
	    "secret")));
	d = cJSON_GetObjectItemCaseSensitive(s.instances, "default");
	ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(vals(d, "general", "enabled"),
	    0)));
	kcfg_service_free(&s);
}
END_TEST

START_TEST(minimal_gets_defaults_and_default_instance)
{
	kcfg_service s = convert_ok("{\"service\": \"a\", \"start\": {\"exec\":"
	                            " [\"/bin/true\"]}}");
	const cJSON *p = s.pgs, *d;

	ck_assert_str_eq(str0(p, "general", "model"), "child");
	ck_assert_str_eq(str0(p, "general", "log"), "file");
	ck_assert(num0(p, "restart", "delay_ms") == 100);
	ck_assert(num0(p, "restart", "max_delay_ms") == 30000);
	ck_assert(num0(p, "restart", "burst") == 5);
	ck_assert(num0(p, "restart", "window_s") == 10);
	ck_assert(num0(p, "start", "timeout_s") == 60);
	ck_assert(num0(p, "stop", "timeout_s") == 10);
	ck_assert_str_eq(str0(p, "stop", "signal"), "TERM");
	ck_assert(strncmp(str0(p, "context", "environment"), "PATH=", 5) == 0);
	ck_assert_int_eq(cJSON_GetArraySize(s.instances), 1);
	d = cJSON_GetObjectItemCaseSensitive(s.instances, "default");
	ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(vals(d, "general", "enabled"),
	    0)));
	kcfg_service_free(&s);
}
END_TEST

START_TEST(milestone_without_methods)
{
	kcfg_service s = convert_ok("{\"service\": \"m\", \"dependencies\": "
	    "[{\"name\": \"x\", \"grouping\": \"require_all\", "
	    "\"services\": [\"a\", \"b:i\"]}]}");

	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(s.pgs, "start"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(s.pgs, "context"));
	ck_assert_str_eq(str0(s.pgs, "dep_x", "restart_on"), "none");
	ck_assert_int_eq(cJSON_GetArraySize(vals(s.pgs, "dep_x", "services")), 2);
	kcfg_service_free(&s);
}
END_TEST

START_TEST(explicit_instances)
{
	kcfg_service s = convert_ok(
	    "{\"service\": \"db\", \"instances\": {\"main\": {}, \"spare\": "
	    "{\"enabled\": false, \"properties\": {\"cfg\": {\"port\": "
	    "{\"type\": \"integer\", \"value\": 5433}}}}}}");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(s.instances, "main");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(s.instances, "spare");

	ck_assert_int_eq(cJSON_GetArraySize(s.instances), 2);
	ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(vals(m, "general", "enabled"),
	    0)));
	ck_assert(cJSON_IsFalse(cJSON_GetArrayItem(vals(sp, "general", "enabled"),
	    0)));
	ck_assert(num0(sp, "cfg", "port") == 5433);
	kcfg_service_free(&s);
}
END_TEST

START_TEST(int64_exact)
{
	kcfg_service s = convert_ok(
	    "{\"service\": \"n\", \"properties\": {\"x\": {"
	    " \"big\": {\"type\": \"integer\", \"value\": \"9223372036854775807\"},"
	    " \"neg\": {\"type\": \"integer\", \"value\": \"-9007199254740993\"},"
	    " \"small\": {\"type\": \"integer\", \"value\": \"42\"},"
	    " \"cnt\": {\"type\": \"count\", \"values\": [0, \"18446744073709551615\"]},"
	    " \"edge\": {\"type\": \"integer\", \"value\": 9007199254740991},"
	    " \"over\": {\"type\": \"integer\", \"value\": \"9007199254740992\"}}}}");
	const cJSON *v;

	v = cJSON_GetArrayItem(vals(s.pgs, "x", "big"), 0);
	ck_assert(cJSON_IsString(v));
	ck_assert_str_eq(v->valuestring, "9223372036854775807");
	v = cJSON_GetArrayItem(vals(s.pgs, "x", "neg"), 0);
	ck_assert_str_eq(v->valuestring, "-9007199254740993");
	/* within 2^53 a string becomes a number: one canonical form */
	ck_assert(num0(s.pgs, "x", "small") == 42);
	ck_assert(num0(s.pgs, "x", "edge") == 9007199254740991.0);
	v = cJSON_GetArrayItem(vals(s.pgs, "x", "over"), 0);
	ck_assert_str_eq(v->valuestring, "9007199254740992");
	v = cJSON_GetArrayItem(vals(s.pgs, "x", "cnt"), 1);
	ck_assert_str_eq(v->valuestring, "18446744073709551615");
	kcfg_service_free(&s);
}
END_TEST

START_TEST(bad_inputs_name_pointer)
{
	static const struct {
		const char *json;
		const char *err;
	} cases[] = {
		{ "[]", "web.json: expected an object" },
		{ "{}", "web.json: /service: missing: every manifest names its "
		  "service" },
		{ "{\"service\": \"a b\"}",
		  "web.json: /service: expected a service name of 1 to 64 "
		  "characters [A-Za-z0-9_.-]" },
		{ "{\"service\": \"w\", \"colour\": 1}", "web.json: /colour: unknown key" },
		{ "{\"service\": \"w\", \"restart\": {\"burst\": -1}}",
		  "web.json: /restart/burst: expected a non-negative integer" },
		{ "{\"service\": \"w\", \"restart\": {\"burst\": 1.5}}",
		  "web.json: /restart/burst: expected a non-negative integer" },
		{ "{\"service\": \"w\", \"restart\": {\"policy\": \"sometimes\"}}",
		  "web.json: /restart/policy: expected one of always, on-failure, "
		  "never" },
		{ "{\"service\": \"w\", \"restart\": {\"delay_ms\": 5, "
		  "\"max_delay_ms\": 1}}",
		  "web.json: /restart/delay_ms: delay_ms exceeds max_delay_ms" },
		{ "{\"service\": \"w\", \"model\": \"daemon\"}",
		  "web.json: /model: expected one of child, forking, transient, "
		  "notify" },
		{ "{\"service\": \"w\", \"start\": {\"exec\": []}}",
		  "web.json: /start/exec: expected at least one value" },
		{ "{\"service\": \"w\", \"start\": {\"exec\": \"/bin/true\"}}",
		  "web.json: /start/exec: expected an array of strings" },
		{ "{\"service\": \"w\", \"start\": {\"exec\": [\"/bin/x\", 3]}}",
		  "web.json: /start/exec/1: expected a string" },
		{ "{\"service\": \"w\", \"start\": {\"exec\": [\"\"]}}",
		  "web.json: /start/exec: expected a program as the first argument" },
		{ "{\"service\": \"w\", \"start\": {\"signal\": \"TERM\"}}",
		  "web.json: /start/signal: unknown key" },
		{ "{\"service\": \"w\", \"stop\": {\"signal\": \"BOGUS\"}}",
		  "web.json: /stop/signal: expected a signal name such as TERM or "
		  "HUP" },
		{ "{\"service\": \"w\", \"context\": {\"umask\": \"999\"}}",
		  "web.json: /context/umask: expected an octal umask such as 022" },
		{ "{\"service\": \"w\", \"context\": {\"working_directory\": \"srv\"}}",
		  "web.json: /context/working_directory: expected an absolute path" },
		{ "{\"service\": \"w\", \"context\": {\"environment\": {\"A\": 1}}}",
		  "web.json: /context/environment/A: expected a string" },
		{ "{\"service\": \"w\", \"context\": {\"limits\": {\"nofile\": -2}}}",
		  "web.json: /context/limits/nofile: expected a non-negative integer" },
		{ "{\"service\": \"w\", \"log\": \"syslog\"}",
		  "web.json: /log: expected one of file, console" },
		{ "{\"service\": \"w\", \"dependencies\": [{\"name\": \"d\", "
		  "\"grouping\": \"require_some\", \"services\": [\"x\"]}]}",
		  "web.json: /dependencies/0/grouping: expected one of require_all, "
		  "require_any, optional_all, exclude_all" },
		{ "{\"service\": \"w\", \"dependencies\": [{\"name\": \"d\", "
		  "\"grouping\": \"require_all\", \"restart_on\": \"always\", "
		  "\"services\": [\"x\"]}]}",
		  "web.json: /dependencies/0/restart_on: expected one of none, error, "
		  "restart, refresh" },
		{ "{\"service\": \"w\", \"dependencies\": [{\"name\": \"d\", "
		  "\"grouping\": \"require_all\", \"services\": [\"svc:/\"]}]}",
		  "web.json: /dependencies/0/services/0: expected an FMRI such as "
		  "svc:/NAME:INSTANCE" },
		{ "{\"service\": \"w\", \"dependencies\": [{\"name\": \"d\", "
		  "\"grouping\": \"require_all\", \"services\": [\"x\"]}, "
		  "{\"name\": \"d\", \"grouping\": \"require_all\", "
		  "\"services\": [\"y\"]}]}",
		  "web.json: /dependencies/1/name: duplicate dependency name" },
		/* Found by fuzz_manifest: "" made the group "dep_", which no
		 * field matches (a NULL dereference). */
		{ "{\"service\": \"w\", \"dependencies\": [{\"name\": \"\", "
		  "\"grouping\": \"require_all\", \"services\": [\"x\"]}]}",
		  "web.json: /dependencies/0/name: expected a dependency name of 1 "
		  "to 60 characters [A-Za-z0-9_.-]" },
		{ "{\"service\": \"w\", \"instances\": {\"a/b\": {}}}",
		  "web.json: /instances/a~1b: expected an instance name of 1 to 64 "
		  "characters [A-Za-z0-9_.-]" },
		{ "{\"service\": \"w\", \"instances\": {\"x\": {\"enabled\": 1}}}",
		  "web.json: /instances/x/enabled: expected true or false" },
		{ "{\"service\": \"w\", \"properties\": {\"p\": {\"q\": {\"type\": "
		  "\"float\", \"value\": 1}}}}",
		  "web.json: /properties/p/q/type: expected a type: boolean, "
		  "integer, count, string or fmri" },
		{ "{\"service\": \"w\", \"properties\": {\"p\": {\"q\": {\"type\": "
		  "\"integer\", \"value\": 9007199254740992}}}}",
		  "web.json: /properties/p/q/value: expected an integer (a number "
		  "within 2^53 or a decimal string)" },
		{ "{\"service\": \"w\", \"properties\": {\"p\": {\"q\": {\"type\": "
		  "\"integer\", \"values\": [1, \"x\"]}}}}",
		  "web.json: /properties/p/q/values/1: expected an integer (a number "
		  "within 2^53 or a decimal string)" },
		{ "{\"service\": \"w\", \"properties\": {\"p\": {\"q\": {\"type\": "
		  "\"boolean\"}}}}",
		  "web.json: /properties/p/q: expected either value or values" },
		{ "{\"service\": \"w\", \"properties\": {\"start\": {}}}",
		  "web.json: /properties/start: reserved group name: set it with "
		  "the manifest's own keys or in property_groups" },
		{ "{\"service\": \"w\", \"property_groups\": {\"general\": {\"model\": "
		  "{\"type\": \"string\", \"value\": \"x\"}}}}",
		  "web.json: /property_groups/general/model: expected one of child, "
		  "forking, transient, notify" },
		{ "{\"service\": \"w\", \"property_groups\": {\"restart\": {\"burst\": "
		  "{\"type\": \"integer\", \"value\": 3}}}}",
		  "web.json: /property_groups/restart/burst: expected type count" },
		{ "{\"service\": \"w\", \"model\": \"child\", \"model\": \"notify\"}",
		  "web.json: /model: duplicate key" },
		{ "{\"service\": \"w\", \"description\": \"\\u00ff\\u00fe\", "
		  "\"properties\": {\"p\": {\"q\": {\"type\": \"string\", "
		  "\"value\": \"\xff\"}}}}",
		  "web.json: /properties/p/q/value: string is not valid UTF-8" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		convert_bad(cases[i].json, cases[i].err);
}
END_TEST

/* A manifest inside an array or an export comes named "FILE#/PTR" (kctl):
 * its faults name the file once and one JSON pointer from the file's root. */
START_TEST(bad_inputs_inside_a_file)
{
	static const struct {
		const char *name, *json, *err;
	} cases[] = {
		{ "arr.json#/1", "{\"service\": \"w\", \"model\": \"x\"}",
		  "arr.json: /1/model: expected one of child, forking, transient, "
		  "notify" },
		{ "exp.json#/services/0", "{\"description\": \"x\"}",
		  "exp.json: /services/0/service: missing: every manifest names "
		  "its service" },
		{ "arr.json#/2", "[]", "arr.json: /2: expected an object" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kcfg_service s;
		char         err[KCFG_ERR_MAX] = "";
		cJSON       *m = J(cases[i].json);

		ck_assert_int_ne(kcfg_manifest_convert(m, cases[i].name, &s, err,
		    sizeof(err)), 0);
		cJSON_Delete(m);
		kcfg_service_free(&s);
		ck_assert_str_eq(err, cases[i].err);
	}
}
END_TEST

START_TEST(long_names_refused)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "{\"service\": \"%065d\"}", 0);
	convert_bad(buf, "web.json: /service: expected a service name of 1 to "
	                 "64 characters [A-Za-z0-9_.-]");
	snprintf(buf, sizeof(buf), "{\"service\": \"%064d\"}", 0);
	kcfg_service s = convert_ok(buf);
	kcfg_service_free(&s);
}
END_TEST

START_TEST(export_reimports_exactly)
{
	kcfg_service a = convert_ok(WEB), b;
	cJSON       *exp = kcfg_manifest_export(a.name, a.pgs, a.instances);
	char         err[KCFG_ERR_MAX] = "";

	ck_assert_int_eq(kcfg_manifest_convert(exp, "export", &b, err,
	                     sizeof(err)), 0);
	ck_assert_msg(cJSON_Compare(a.pgs, b.pgs, 1), "service groups differ");
	ck_assert_msg(cJSON_Compare(a.instances, b.instances, 1),
	    "instance groups differ");
	cJSON_Delete(exp);
	kcfg_service_free(&a);
	kcfg_service_free(&b);
}
END_TEST

START_TEST(raw_groups_override_friendly)
{
	kcfg_service s = convert_ok(
	    "{\"service\": \"r\", \"model\": \"forking\", \"property_groups\": "
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": "
	    "[\"notify\"]}}, \"dep_x\": {\"services\": {\"type\": \"fmri\", "
	    "\"value\": \"svc:/y\"}}}}");

	ck_assert_str_eq(str0(s.pgs, "general", "model"), "notify");
	ck_assert_str_eq(str0(s.pgs, "general", "log"), "file");
	ck_assert_str_eq(str0(s.pgs, "dep_x", "services"), "svc:/y:default");
	kcfg_service_free(&s);
}
END_TEST

START_TEST(pgs_check_canonicalises)
{
	cJSON *pgs = J("{\"stop\": {\"signal\": {\"type\": \"string\", "
	               "\"value\": \"SIGHUP\"}}, \"x\": {\"n\": {\"type\": "
	               "\"count\", \"value\": \"7\"}}}");
	char   err[KCFG_ERR_MAX] = "";

	ck_assert_int_eq(kcfg_pgs_check(pgs, "admin", "", err, sizeof(err)), 0);
	ck_assert_str_eq(str0(pgs, "stop", "signal"), "HUP");
	ck_assert(num0(pgs, "x", "n") == 7);
	cJSON_Delete(pgs);
}
END_TEST

START_TEST(fmri_forms)
{
	char s[KCFG_NAME_MAX + 1], i[KCFG_NAME_MAX + 1], f[KCFG_FMRI_MAX];

	ck_assert_int_eq(kcfg_fmri_parse("web", s, i), 0);
	ck_assert_str_eq(s, "web");
	ck_assert_str_eq(i, "default");
	ck_assert_int_eq(kcfg_fmri_parse("web:x", s, i), 0);
	ck_assert_str_eq(i, "x");
	ck_assert_int_eq(kcfg_fmri_parse("svc:/web:default", s, i), 0);
	ck_assert_str_eq(s, "web");
	ck_assert_str_eq(i, "default");
	ck_assert_int_eq(kcfg_fmri_parse("svc:/web", s, i), 0);
	ck_assert_str_eq(i, "");
	kcfg_fmri_format(f, sizeof(f), "web", "x");
	ck_assert_str_eq(f, "svc:/web:x");
	ck_assert_int_ne(kcfg_fmri_parse("", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse("svc:/", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse("web:", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse(":x", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse("a:b:c", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse("svc:/a/b", s, i), 0);
	ck_assert_int_ne(kcfg_fmri_parse("..", s, i), 0);
}
END_TEST

static const char *
v0(const cJSON *pgs, const char *pg, const char *prop)
{
	return str0(pgs, pg, prop);
}

START_TEST(composition_and_layering)
{
	cJSON *sm = J("{\"g\": {\"a\": {\"type\": \"string\", \"values\": [\"sm\"]},"
	              " \"b\": {\"type\": \"string\", \"values\": [\"sm\"]},"
	              " \"c\": {\"type\": \"string\", \"values\": [\"sm\"]},"
	              " \"d\": {\"type\": \"string\", \"values\": [\"sm\"]}}}");
	cJSON *sa = J("{\"g\": {\"b\": {\"type\": \"string\", \"values\": [\"sa\"]},"
	              " \"d\": {\"type\": \"string\", \"values\": [\"sa\"]}}}");
	cJSON *im = J("{\"g\": {\"c\": {\"type\": \"string\", \"values\": [\"im\"]},"
	              " \"d\": {\"type\": \"string\", \"values\": [\"im\"]}},"
	              " \"h\": {\"e\": {\"type\": \"string\", \"values\": [\"im\"]}}}");
	cJSON *ia = J("{\"g\": {\"d\": {\"type\": \"string\", \"values\": [\"ia\"]}}}");
	cJSON *v = kcfg_view(sm, sa, im, ia);

	ck_assert_str_eq(v0(v, "g", "a"), "sm");
	ck_assert_str_eq(v0(v, "g", "b"), "sa"); /* admin over manifest */
	ck_assert_str_eq(v0(v, "g", "c"), "im"); /* instance over service */
	ck_assert_str_eq(v0(v, "g", "d"), "ia"); /* both */
	ck_assert_str_eq(v0(v, "h", "e"), "im");
	cJSON_Delete(v);
	/* An instance's manifest beats the service's admin layer (SMF). */
	v = kcfg_view(sm, sa, im, NULL);
	ck_assert_str_eq(v0(v, "g", "d"), "im");
	cJSON_Delete(v);
	v = kcfg_view(NULL, NULL, NULL, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(v), 0);
	cJSON_Delete(v);
	cJSON_Delete(sm);
	cJSON_Delete(sa);
	cJSON_Delete(im);
	cJSON_Delete(ia);
}
END_TEST

START_TEST(strip_secrets)
{
	cJSON *p = J("{\"a\": {\"k\": {\"type\": \"string\", \"values\": [\"x\"],"
	             " \"secret\": true}}, \"b\": {\"k\": {\"type\": \"string\","
	             " \"values\": [\"x\"], \"secret\": true}, \"o\": {\"type\":"
	             " \"string\", \"values\": [\"y\"]}}}");

	kcfg_strip_secrets(p);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(p, "a"));
	ck_assert_int_eq(cJSON_GetArraySize(
	                     cJSON_GetObjectItemCaseSensitive(p, "b")), 1);
	cJSON_Delete(p);
}
END_TEST

/* {FMRI: view} with dependency groups from a compact description. */
static cJSON *
dep_views(const char *const *spec, int n)
{
	cJSON *views = cJSON_CreateObject();

	for (int i = 0; i < n; i += 3) {
		char   text[512];
		cJSON *v = cJSON_GetObjectItemCaseSensitive(views, spec[i]);

		if (v == NULL)
			v = cJSON_AddObjectToObject(views, spec[i]);
		if (spec[i + 1] == NULL)
			continue;
		snprintf(text, sizeof(text),
		    "{\"grouping\": {\"type\": \"string\", \"values\": [\"%s\"]},"
		    " \"services\": {\"type\": \"fmri\", \"values\": [\"%s\"]}}",
		    spec[i + 1], spec[i + 2]);
		char name[64];
		snprintf(name, sizeof(name), "dep_%d", i);
		cJSON_AddItemToObject(v, name, J(text));
	}
	return views;
}

START_TEST(cycles)
{
	static const char *const acyclic[] = {
		"svc:/a:default", "require_all", "svc:/b:default",
		"svc:/b:default", "optional_all", "svc:/c:default",
		"svc:/a:default", "require_any", "svc:/c:default",
		"svc:/c:default", "require_all", "svc:/absent:default",
		"svc:/c:default", "exclude_all", "svc:/a:default",
	};
	static const char *const cyclic[] = {
		"svc:/a:default", "require_all", "svc:/b:default",
		"svc:/b:default", "optional_all", "svc:/c:x",
		"svc:/c:x", "require_any", "svc:/b:default",
		"svc:/d:default", NULL, NULL,
	};
	static const char *const self[] = {
		"svc:/a:default", "require_all", "svc:/a:default",
	};
	char   err[KCFG_ERR_MAX] = "";
	cJSON *v = dep_views(acyclic, 15);

	ck_assert_msg(kcfg_check_cycles(v, err, sizeof(err)) == 0, "%s", err);
	cJSON_Delete(v);
	v = dep_views(cyclic, 12);
	ck_assert_int_ne(kcfg_check_cycles(v, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "dependency cycle: b -> c:x -> b");
	cJSON_Delete(v);
	v = dep_views(self, 3);
	ck_assert_int_ne(kcfg_check_cycles(v, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "dependency cycle: a -> a");
	cJSON_Delete(v);
}
END_TEST

/* One random layer: groups a, b; properties x, y, z, as values,
 * tombstones (unless bottom: a manifest has none) or a group mask. */
static cJSON *
random_layer(unsigned *seed, bool bottom)
{
	static const char *const pgs[] = { "a", "b" }, *const props[] = { "x",
		"y", "z", KCFG_PG_MASK };
	cJSON *l = cJSON_CreateObject();

	for (int i = 0; i < 2; i++) {
		cJSON *g;

		if (rand_r(seed) % 3 == 0)
			continue;
		g = cJSON_AddObjectToObject(l, pgs[i]);
		for (int j = 0; j < 4; j++) {
			int    r = rand_r(seed) % 4;
			cJSON *p;

			if (r == 0 || (j == 3 && r != 1) || (bottom && r == 1))
				continue;
			p = cJSON_AddObjectToObject(g, props[j]);
			if (r == 1)
				cJSON_AddTrueToObject(p, "deleted");
			else
				cJSON_AddNumberToObject(p, "v", rand_r(seed) % 100);
		}
	}
	return l;
}

/* kcfg_view_prop finds what kcfg_view composes, property by property,
 * over random layers of values, tombstones and masks. */
START_TEST(view_prop_is_the_views)
{
	static const char *const pgs[] = { "a", "b", "c" }, *const props[] = {
		"x", "y", "z", "w" };
	unsigned seed = 7;

	for (int round = 0; round < 3000; round++) {
		cJSON *lay[4], *view;

		for (int i = 0; i < 4; i++)
			lay[i] = rand_r(&seed) % 5 == 0 ? NULL
			                                   : random_layer(&seed, i == 0);
		view = kcfg_view(lay[0], lay[1], lay[2], lay[3]);
		ck_assert_ptr_nonnull(view);
		for (int g = 0; g < 3; g++)
			for (int p = 0; p < 4; p++) {
				const cJSON *want = cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(view, pgs[g]),
				    props[p]);
				const cJSON *got = kcfg_view_prop(
				    (const cJSON *const *)lay, 4, pgs[g], props[p]);

				ck_assert_msg(cJSON_Compare(want, got, true) ||
				                  (want == NULL && got == NULL),
				    "round %d: %s/%s", round, pgs[g], props[p]);
			}
		cJSON_Delete(view);
		for (int i = 0; i < 4; i++)
			cJSON_Delete(lay[i]);
	}
}
END_TEST

START_TEST(cycle_long_chain)
{
	/* 2000 services in one chain closing on itself: no recursion limit. */
	cJSON *views = cJSON_CreateObject();
	char   err[KCFG_ERR_MAX] = "", f[64], t[64], text[256];

	for (int i = 0; i < 2000; i++) {
		snprintf(f, sizeof(f), "svc:/s%d:default", i);
		snprintf(t, sizeof(t), "svc:/s%d:default", (i + 1) % 2000);
		snprintf(text, sizeof(text),
		    "{\"dep_n\": {\"grouping\": {\"type\": \"string\", \"values\": "
		    "[\"require_all\"]}, \"services\": {\"type\": \"fmri\", "
		    "\"values\": [\"%s\"]}}}", t);
		cJSON_AddItemToObject(views, f, J(text));
	}
	ck_assert_int_ne(kcfg_check_cycles(views, err, sizeof(err)), 0);
	ck_assert(strncmp(err, "dependency cycle: ", 18) == 0);
	cJSON_Delete(views);
}
END_TEST

START_TEST(instance_hides_inherited)
{
	kcfg_service s = convert_ok(
	    "{\"service\": \"h\", \"properties\": {\"app\": {\"a\": {\"type\": "
	    "\"string\", \"value\": \"x\"}}, \"g\": {\"b\": {\"type\": \"string\", "
	    "\"value\": \"y\"}}}, \"instances\": {\"i\": {\"properties\": "
	    "{\"app\": {\"a\": null}, \"g\": null}}}}");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(s.instances, "i");
	cJSON       *v = kcfg_view(s.pgs, NULL, i, NULL);

	/* Kept as tombstones in the instance's layer... */
	ck_assert(kcfg_tombstone(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(i, "app"), "a")));
	ck_assert(kcfg_tombstone(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(i, "g"), KCFG_PG_MASK)));
	/* ...so the view hides both, and the instance is still enabled. */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(v, "app"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(v, "g"));
	ck_assert(cJSON_IsTrue(cJSON_GetArrayItem(vals(v, "general", "enabled"),
	    0)));
	ck_assert_str_eq(str0(s.pgs, "general", "description"), "");
	cJSON_Delete(v);
	kcfg_service_free(&s);
	/* Only an instance inherits. */
	convert_bad("{\"service\": \"h\", \"properties\": {\"app\": {\"a\": "
	            "null}}}", "web.json: /properties/app/a: null hides an "
	            "inherited property: only an instance inherits");
	convert_bad("{\"service\": \"h\", \"properties\": {\"app\": null}}",
	    "web.json: /properties/app: null hides an inherited group: only an "
	    "instance inherits");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kconfigd_manifest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, design_example_converts);
	tcase_add_test(tc, minimal_gets_defaults_and_default_instance);
	tcase_add_test(tc, milestone_without_methods);
	tcase_add_test(tc, explicit_instances);
	tcase_add_test(tc, int64_exact);
	tcase_add_test(tc, bad_inputs_name_pointer);
	tcase_add_test(tc, bad_inputs_inside_a_file);
	tcase_add_test(tc, long_names_refused);
	tcase_add_test(tc, export_reimports_exactly);
	tcase_add_test(tc, raw_groups_override_friendly);
	tcase_add_test(tc, pgs_check_canonicalises);
	tcase_add_test(tc, fmri_forms);
	tcase_add_test(tc, composition_and_layering);
	tcase_add_test(tc, strip_secrets);
	tcase_add_test(tc, cycles);
	tcase_add_test(tc, instance_hides_inherited);
	tcase_add_test(tc, cycle_long_chain);
	tcase_add_test(tc, view_prop_is_the_views);
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
