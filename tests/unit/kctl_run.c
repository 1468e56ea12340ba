/*
 * Unit tests for whole kctl command lines (kctl/run.c, cmd_*.c) against a
 * fake daemon behind the transport seam: which requests each verb sends,
 * what it prints, and the exit code and error grammar of every failure.
 */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kctl.h"

typedef struct canned {
	const char *method;
	int         code;
	const char *result; /* JSON text when code is KE_OK */
	const char *errmsg;
} canned;

static struct {
	kctl_transport tp;
	canned         replies[8];
	int            nreplies;
	int            ncalls;
	struct {
		int    daemon;
		char   method[64];
		cJSON *params;
	} calls[16];
} fake;

static char *out, *err;
static char  tmpdir[64]; /* a test's files, removed by teardown */

static int
fake_call(kctl_transport *tp, const kctl_opts *opts, int daemon,
    const char *method, cJSON *params, cJSON **result, char **errmsg)
{
	int n = fake.ncalls++;

	ck_assert_int_lt(n, 16);
	fake.calls[n].daemon = daemon;
	snprintf(fake.calls[n].method, sizeof(fake.calls[n].method), "%s", method);
	fake.calls[n].params = params;
	for (int i = 0; i < fake.nreplies; i++) {
		canned *c = &fake.replies[i];

		if (strcmp(c->method, method) != 0)
			continue;
		if (c->code == KE_OK)
			ck_assert_ptr_nonnull(*result = cJSON_Parse(c->result));
		else
			*errmsg = c->errmsg != NULL ? strdup(c->errmsg) : NULL;
		return c->code;
	}
	*errmsg = strdup("nobody answers on /fake.sock");
	return KE_UNAVAILABLE;
}

static void
reply(const char *method, int code, const char *text)
{
	canned *c = &fake.replies[fake.nreplies++];

	c->method = method;
	c->code = code;
	c->result = code == KE_OK ? text : NULL;
	c->errmsg = code == KE_OK ? NULL : text;
}

static void
setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.tp.call = fake_call;
	setenv("SYSTEMK_RUN_DIR", "/fake/run", 1);
	setenv("TZ", "UTC", 1);
	out = err = NULL;
	tmpdir[0] = '\0';
}

static void
teardown(void)
{
	char cmd[128];

	if (tmpdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)!system(cmd);
	}
	for (int i = 0; i < fake.ncalls; i++)
		cJSON_Delete(fake.calls[i].params);
	free(out);
	free(err);
}

static int
run(const char *first, ...)
{
	char   *argv[32];
	size_t  olen, elen;
	FILE   *o, *e;
	va_list ap;
	int     argc = 0, rv;

	argv[argc++] = (char *)"kctl";
	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	free(out);
	free(err);
	o = open_memstream(&out, &olen);
	e = open_memstream(&err, &elen);
	rv = kctl_run(argc, argv, &fake.tp, o, e);
	fclose(o);
	fclose(e);
	return rv;
}

static void
contains(const char *hay, const char *needle)
{
	ck_assert_msg(strstr(hay, needle) != NULL, "'%s' not in:\n%s", needle,
	    hay);
}

static const char *
param_str(int call, const char *key)
{
	return kipc_json_str(fake.calls[call].params, key);
}

#define LIST_REPLY                                                           \
	"{\"instances\":[{\"fmri\":\"svc:/web:default\",\"service\":\"web\","   \
	"\"instance\":\"default\",\"state\":\"offline\",\"next_state\":"        \
	"\"online\",\"since\":\"2024-05-01T12:00:00Z\",\"pid\":null,"           \
	"\"description\":\"front-end web server\"},"                            \
	"{\"fmri\":\"svc:/old:default\",\"service\":\"old\",\"instance\":"      \
	"\"default\",\"state\":\"disabled\",\"next_state\":null,\"since\":"     \
	"\"2024-05-01T12:00:00Z\",\"pid\":null,\"description\":\"retired\"}]}"

START_TEST(list_hides_disabled_without_a)
{
	reply("svc.list", KE_OK, LIST_REPLY);
	ck_assert_int_eq(run("list", NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.ncalls, 1);
	ck_assert_int_eq(fake.calls[0].daemon, KD_STARTD);
	ck_assert_str_eq(fake.calls[0].method, "svc.list");
	ck_assert_int_eq(kipc_json_bool(fake.calls[0].params, "all"), 0);
	contains(out, "STATE");
	contains(out, "offline*  online");
	contains(out, "svc:/web:default");
	ck_assert_ptr_null(strstr(out, "svc:/old:default"));
	ck_assert_str_eq(err, "");

	ck_assert_int_eq(run("list", "-a", NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(kipc_json_bool(fake.calls[1].params, "all"), 1);
	contains(out, "svc:/old:default");
}
END_TEST

START_TEST(list_json_passes_objects_through)
{
	cJSON *want = cJSON_Parse(LIST_REPLY), *got;

	reply("svc.list", KE_OK, LIST_REPLY);
	ck_assert_int_eq(run("list", "-a", "--json", NULL), KCTL_EXIT_OK);
	got = cJSON_Parse(out);
	ck_assert(cJSON_IsArray(got));
	/* The daemon's objects untouched, sorted by fmri (old before web). */
	ck_assert_int_eq(cJSON_GetArraySize(got), 2);
	ck_assert(cJSON_Compare(cJSON_GetArrayItem(got, 0),
	    cJSON_GetArrayItem(kipc_json_arr(want, "instances"), 1), 1));
	ck_assert(cJSON_Compare(cJSON_GetArrayItem(got, 1),
	    cJSON_GetArrayItem(kipc_json_arr(want, "instances"), 0), 1));
	cJSON_Delete(got);
	ck_assert_int_eq(run("--json", "list", NULL), KCTL_EXIT_OK);
	got = cJSON_Parse(out);
	ck_assert_int_eq(cJSON_GetArraySize(got), 1);
	cJSON_Delete(got);
	cJSON_Delete(want);
}
END_TEST

START_TEST(status_not_found)
{
	cJSON *o;

	reply("svc.status", KE_NOT_FOUND, "no instance svc:/nosuch:default");
	ck_assert_int_eq(run("status", "nosuch", NULL), KCTL_EXIT_NOT_FOUND);
	ck_assert_str_eq(param_str(0, "fmri"), "svc:/nosuch:default");
	contains(err, "kctl: error: unable to query 'svc:/nosuch:default': "
	    "no instance svc:/nosuch:default\nkctl: hint: ");
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(run("status", "nosuch", "--json", NULL),
	    KCTL_EXIT_NOT_FOUND);
	contains(err, "kctl: error: unable to query");
	o = cJSON_Parse(out);
	ck_assert_str_eq(kipc_json_str(kipc_json_obj(o, "error"), "code"),
	    "not_found");
	contains(kipc_json_str(kipc_json_obj(o, "error"), "message"),
	    "no instance");
	cJSON_Delete(o);
}
END_TEST

START_TEST(status_prints_fields)
{
	reply("svc.status", KE_OK, "{\"fmri\":\"svc:/web:default\","
	    "\"state\":\"online\",\"next_state\":null,\"pid\":42,"
	    "\"restarts\":3,\"description\":\"web\"}");
	ck_assert_int_eq(run("status", "svc:/web", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(out, "fmri         svc:/web:default\n"
	                      "description  web\n"
	                      "state        online\n"
	                      "next_state   -\n"
	                      "pid          42\n"
	                      "restarts     3\n");
}
END_TEST

START_TEST(unreachable_daemon)
{
	ck_assert_int_eq(run("list", NULL), KCTL_EXIT_UNREACHABLE);
	contains(err, "kctl: error: unable to list 'instances': nobody answers");
	contains(err, "kctl: hint: is kinit running? check SYSTEMK_RUN_DIR "
	    "(now '/fake/run')");
	ck_assert_int_eq(run("--run-dir", "/elsewhere", "startd", "status",
	    NULL), KCTL_EXIT_UNREACHABLE);
	ck_assert_int_eq(fake.calls[1].daemon, KD_KINIT);
	contains(err, "(now '/elsewhere')");
}
END_TEST

START_TEST(enable_each_operand)
{
	reply("svc.enable", KE_OK, "{}");
	ck_assert_int_eq(run("enable", "-t", "web", "svc:/db:main", NULL),
	    KCTL_EXIT_OK);
	ck_assert_int_eq(fake.ncalls, 2);
	ck_assert_str_eq(param_str(0, "fmri"), "svc:/web:default");
	ck_assert_str_eq(param_str(1, "fmri"), "svc:/db:main");
	ck_assert_int_eq(kipc_json_bool(fake.calls[1].params, "temporary"), 1);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(disable_first_failure_wins)
{
	reply("svc.disable", KE_DENIED, "not privileged");
	ck_assert_int_eq(run("disable", "web", "db", NULL), KCTL_EXIT_DENIED);
	ck_assert_int_eq(fake.ncalls, 2); /* both tried */
	ck_assert_ptr_null(cJSON_GetObjectItem(fake.calls[0].params,
	    "temporary"));
	contains(err, "unable to disable 'svc:/web:default': not privileged");
	contains(err, "unable to disable 'svc:/db:default': not privileged");
	contains(err, "SYSTEMK_ADMIN_GROUP");
}
END_TEST

START_TEST(malformed_fmri_is_invalid)
{
	ck_assert_int_eq(run("status", "svc:/", NULL), KCTL_EXIT_INVALID);
	ck_assert_int_eq(fake.ncalls, 0);
	contains(err, "kctl: error: unable to status 'svc:/': ");
}
END_TEST

static void
write_file(const char *name, const char *text)
{
	char  path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
make_dir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kctl-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	write_file("b.json", "{\"service\":\"b\"}\n");
	write_file("a.json", "{\"service\":\"a\"}");
	write_file("notes.txt", "not json");
}


START_TEST(import_dir_sorted_then_reload)
{
	const cJSON *files, *mans;
	char         want[128];

	make_dir();
	reply("repo.import", KE_OK, "{\"services\":[\"a\",\"b\"],"
	    "\"instances\":[\"svc:/a:default\",\"svc:/b:default\"]}");
	reply("svc.reload", KE_OK, "{}");
	ck_assert_int_eq(run("import", tmpdir, NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.ncalls, 2);
	ck_assert_str_eq(fake.calls[0].method, "repo.import");
	ck_assert_int_eq(fake.calls[0].daemon, KD_CONFIGD);
	files = kipc_json_arr(fake.calls[0].params, "files");
	mans = kipc_json_arr(fake.calls[0].params, "manifests");
	ck_assert_int_eq(cJSON_GetArraySize(files), 2);
	snprintf(want, sizeof(want), "%s/a.json", tmpdir);
	ck_assert_str_eq(cJSON_GetArrayItem(files, 0)->valuestring, want);
	ck_assert_str_eq(kipc_json_str(cJSON_GetArrayItem(mans, 1), "service"),
	    "b");
	ck_assert_str_eq(fake.calls[1].method, "svc.reload");
	ck_assert_int_eq(fake.calls[1].daemon, KD_STARTD);
	ck_assert_str_eq(out, "imported 2 services: a, b\n");
	ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(import_without_startd_is_quiet)
{
	make_dir();
	reply("repo.import", KE_OK, "{\"services\":[\"a\"],\"instances\":[]}");
	ck_assert_int_eq(run("import", "--json", tmpdir, NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.ncalls, 2); /* reload tried, unavailable */
	ck_assert_str_eq(err, "");
	contains(out, "\"services\"");
}
END_TEST

START_TEST(import_dry_run_validates)
{
	make_dir();
	reply("repo.validate", KE_OK, "{\"services\":[\"a\",\"b\"]}");
	ck_assert_int_eq(run("import", "--dry-run", tmpdir, NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.ncalls, 1);
	ck_assert_str_eq(fake.calls[0].method, "repo.validate");
	ck_assert_str_eq(out, "would import 2 services: a, b\n");
}
END_TEST

START_TEST(import_bad_json_names_file_and_position)
{
	char want[160];

	make_dir();
	write_file("c.json", "{\n  \"service\": \"c\",\n  oops\n}\n");
	ck_assert_int_eq(run("import", tmpdir, NULL), KCTL_EXIT_INVALID);
	ck_assert_int_eq(fake.ncalls, 0); /* nothing sent */
	snprintf(want, sizeof(want), "kctl: error: unable to import '%s/c.json': "
	    "malformed JSON at byte 23 (line 3, column 4)\n", tmpdir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(import_refusal_from_configd)
{
	make_dir();
	reply("repo.import", KE_INVALID, "a.json: /start/exec: must be an array");
	ck_assert_int_eq(run("import", tmpdir, NULL), KCTL_EXIT_INVALID);
	ck_assert_int_eq(fake.ncalls, 1); /* no reload after a refusal */
	contains(err, "/start/exec: must be an array");
}
END_TEST

START_TEST(import_export_bundle_and_missing_file)
{
	char want[160];

	make_dir();
	write_file("dump.js", "{\"services\":[{\"service\":\"x\"},"
	    "{\"service\":\"y\"}]}");
	reply("repo.import", KE_OK, "{\"services\":[\"x\",\"y\"]}");
	snprintf(want, sizeof(want), "%s/dump.js", tmpdir);
	ck_assert_int_eq(run("import", want, NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(cJSON_GetArraySize(kipc_json_arr(fake.calls[0].params,
	    "manifests")), 2);
	contains(cJSON_GetArrayItem(kipc_json_arr(fake.calls[0].params, "files"),
	    1)->valuestring, "dump.js#/services/1");
	ck_assert_int_eq(run("import", "/nonexistent/x.json", NULL),
	    KCTL_EXIT_NOT_FOUND);
	contains(err, "unable to import '/nonexistent/x.json': No such file");
	write_file("arr.json", "[1]");
	snprintf(want, sizeof(want), "%s/arr.json", tmpdir);
	ck_assert_int_eq(run("validate", want, NULL), KCTL_EXIT_INVALID);
	contains(err, "/0: not a manifest");
}
END_TEST

START_TEST(get_one_property)
{
	reply("repo.get", KE_OK, "{\"fmri\":\"svc:/web:default\","
	    "\"property_groups\":{\"start\":{\"exec\":{\"type\":\"string\","
	    "\"values\":[\"/bin/web\",\"--port\",\"80\"]},"
	    "\"timeout_s\":{\"type\":\"integer\",\"value\":30}}}}");
	ck_assert_int_eq(run("get", "web/start/exec", "--running", NULL),
	    KCTL_EXIT_OK);
	ck_assert_str_eq(param_str(0, "fmri"), "svc:/web:default");
	ck_assert_str_eq(param_str(0, "pg"), "start");
	ck_assert_str_eq(param_str(0, "prop"), "exec");
	ck_assert_int_eq(kipc_json_bool(fake.calls[0].params, "running"), 1);
	ck_assert_str_eq(out, "/bin/web --port 80\n");
	ck_assert_int_eq(run("get", "web", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(out, "start/exec       string   /bin/web --port 80\n"
	                      "start/timeout_s  integer  30\n");
}
END_TEST

START_TEST(export_one_service_prints_manifest)
{
	cJSON *o;

	reply("repo.export", KE_OK, "{\"services\":[{\"service\":\"web\"}]}");
	ck_assert_int_eq(run("export", "svc:/web:default", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(param_str(0, "service"), "web");
	o = cJSON_Parse(out);
	ck_assert_str_eq(kipc_json_str(o, "service"), "web");
	cJSON_Delete(o);
	ck_assert_int_eq(run("export", NULL), KCTL_EXIT_OK);
	o = cJSON_Parse(out);
	ck_assert_ptr_nonnull(kipc_json_arr(o, "services"));
	cJSON_Delete(o);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
	cJSON *o;

	ck_assert_int_eq(run(NULL), KCTL_EXIT_USAGE);
	contains(err, "kctl: error: no verb given\nkctl: hint: run 'kctl --help'");
	ck_assert_int_eq(run("list", "--bogus", NULL), KCTL_EXIT_USAGE);
	contains(err, "run 'kctl list --help'");
	ck_assert_int_eq(run("startd", "reboot", NULL), KCTL_EXIT_USAGE);
	ck_assert_int_eq(run("hello", "nobody", NULL), KCTL_EXIT_USAGE);
	ck_assert_int_eq(run("help", "nosuch", NULL), KCTL_EXIT_USAGE);
	ck_assert_int_eq(run("--json", "status", NULL), KCTL_EXIT_USAGE);
	o = cJSON_Parse(out);
	ck_assert_str_eq(kipc_json_str(kipc_json_obj(o, "error"), "code"),
	    "usage");
	cJSON_Delete(o);
	ck_assert_int_eq(fake.ncalls, 0);
}
END_TEST

START_TEST(help_exits_0)
{
	ck_assert_int_eq(run("--help", NULL), KCTL_EXIT_OK);
	contains(out, "usage: kctl [OPTIONS] VERB");
	contains(out, "import FILE|DIR... [--dry-run]");
	contains(out, "exit codes:");
	ck_assert_int_eq(run("import", "-h", NULL), KCTL_EXIT_OK);
	contains(out, "usage: kctl [OPTIONS] import FILE|DIR... [--dry-run]");
	contains(out, "talks to: kconfigd, kstartd");
	ck_assert_int_eq(run("help", "list", NULL), KCTL_EXIT_OK);
	contains(out, "kctl [OPTIONS] list [-a]");
}
END_TEST

START_TEST(kinit_verbs)
{
	reply("kinit.startd_status", KE_OK, "{\"pid\":77,\"running\":true,"
	    "\"restarts\":1}");
	reply("kinit.shutdown", KE_OK, "{}");
	ck_assert_int_eq(run("startd", "status", NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.calls[0].daemon, KD_KINIT);
	ck_assert_str_eq(out, "kstartd running, pid 77, 1 restarts\n");
	ck_assert_int_eq(run("shutdown", NULL), KCTL_EXIT_OK);
	ck_assert_str_eq(fake.calls[1].method, "kinit.shutdown");
	ck_assert_int_eq(run("startd", "restart", NULL), KCTL_EXIT_UNREACHABLE);
	contains(err, "unable to restart 'kstartd'");
}
END_TEST

START_TEST(hello_names_daemons)
{
	reply("sys.hello", KE_OK, "{\"name\":\"k.configd\",\"level\":1}");
	ck_assert_int_eq(run("hello", "configd", "startd", NULL), KCTL_EXIT_OK);
	ck_assert_int_eq(fake.calls[0].daemon, KD_CONFIGD);
	ck_assert_int_eq(fake.calls[1].daemon, KD_STARTD);
	contains(out, "configd  k.configd  1\n");
}
END_TEST

START_TEST(validate_without_configd_checks_locally)
{
	make_dir();
	/* No canned reply: kconfigd is unreachable, the files are checked here. */
	ck_assert_int_eq(run("validate", "--json", tmpdir, NULL), KCTL_EXIT_OK);
	contains(out, "\"checked_by\":\t\"kctl\"");
	contains(out, "\"a\"");
	write_file("c.json", "{\"service\":\"c\",\"start\":{\"exec\":5}}");
	ck_assert_int_eq(run("validate", tmpdir, NULL), KCTL_EXIT_INVALID);
	contains(err, "c.json: /start/exec: ");
	write_file("c.json", "{\"service\":\"c\",\"dependencies\":[{\"name\":"
	    "\"x\",\"grouping\":\"require_all\",\"restart_on\":\"none\","
	    "\"services\":[\"d\"]}]}");
	write_file("d.json", "{\"service\":\"d\",\"dependencies\":[{\"name\":"
	    "\"x\",\"grouping\":\"require_all\",\"restart_on\":\"none\","
	    "\"services\":[\"c\"]}]}");
	ck_assert_int_eq(run("validate", tmpdir, NULL), KCTL_EXIT_INVALID);
	contains(err, "dependency cycle: c -> d -> c");
	/* With kconfigd up it is asked as well, and says so. */
	unlink(strcat(strcpy((char[256]){ 0 }, tmpdir), "/d.json"));
	unlink(strcat(strcpy((char[256]){ 0 }, tmpdir), "/c.json"));
	reply("repo.validate", KE_OK, "{\"services\":[\"a\",\"b\"]}");
	ck_assert_int_eq(run("validate", "--json", tmpdir, NULL), KCTL_EXIT_OK);
	contains(out, "\"checked_by\":\t\"k.configd\"");
	ck_assert_str_eq(fake.calls[fake.ncalls - 1].method, "repo.validate");
}
END_TEST

START_TEST(status_shows_log_tail)
{
	char reply_text[512];

	make_dir();
	write_file("web.log", "one\ntwo\nthree\n");
	snprintf(reply_text, sizeof(reply_text), "{\"fmri\":\"svc:/web:default\","
	    "\"state\":\"online\",\"next_state\":null,\"pid\":7,"
	    "\"log\":\"%s/web.log\",\"last_exit\":{\"status\":3,"
	    "\"signal\":null,\"time\":\"2024-05-01T12:00:00Z\"},"
	    "\"dependencies\":[{\"name\":\"db\",\"grouping\":\"require_all\","
	    "\"restart_on\":\"none\",\"services\":[\"svc:/db:default\"],"
	    "\"satisfied\":\"satisfied\"}]}", tmpdir);
	reply("svc.status", KE_OK, reply_text);
	ck_assert_int_eq(run("status", "web", "-n", "2", NULL), KCTL_EXIT_OK);
	contains(out, "\ntwo\nthree\n");
	ck_assert_ptr_null(strstr(out, "\none\n"));
	contains(out, "last_exit   exit 3 at 2024-05-01T12:00:00Z");
	contains(out, "dependency  require_all/none svc:/db:default (satisfied)");
	ck_assert_int_eq(run("status", "web", "--json", NULL), KCTL_EXIT_OK);
	contains(out, "\"log_tail\":\t[\"one\", \"two\", \"three\"]");
	ck_assert_int_eq(run("status", "web", "-n", "x", NULL), KCTL_EXIT_USAGE);
}
END_TEST

START_TEST(plot_svg_bars_and_escaping)
{
	cJSON *tl = cJSON_Parse("{\"instances\":["
	    "{\"fmri\":\"svc:/a<&>:default\",\"state\":\"online\","
	    "\"wait\":\"2024-05-01T12:00:00.100Z\","
	    "\"start\":\"2024-05-01T12:00:00.250Z\","
	    "\"online\":\"2024-05-01T12:00:01.100Z\"},"
	    "{\"fmri\":\"svc:/m:default\",\"state\":\"maintenance\","
	    "\"wait\":\"2024-05-01T12:00:00.000Z\",\"start\":null,"
	    "\"online\":null}]}");
	char  *svg = NULL;
	size_t len;
	FILE  *f = open_memstream(&svg, &len);

	ck_assert_int_eq(kctl_plot_svg(tl, f), 0);
	fclose(f);
	contains(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
	contains(svg, "data-fmri=\"svc:/a&lt;&amp;&gt;:default\"");
	ck_assert_ptr_null(strstr(svg, "a<&>"));
	/* Ordered by first event: m waited first. */
	ck_assert(strstr(svg, "svc:/m:default") < strstr(svg, "svc:/a&lt;"));
	contains(svg, "<title>waited 150 ms</title>");
	contains(svg, "<title>starting 850 ms</title>");
	contains(svg, "online at +1.1 s");
	contains(svg, "not online: maintenance");
	contains(svg, "</svg>\n");
	free(svg);
	cJSON_Delete(tl);
	reply("svc.timeline", KE_OK, "{\"instances\":[]}");
	ck_assert_int_eq(run("plot", NULL), KCTL_EXIT_OK);
	contains(out, "(0 instances)");
	ck_assert_str_eq(fake.calls[0].method, "svc.timeline");
	ck_assert_int_eq(run("plot", "--json", NULL), KCTL_EXIT_OK);
	contains(out, "\"instances\"");
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kctl_run");
	TCase   *tc = tcase_create("run");
	SRunner *sr;
	int      failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, list_hides_disabled_without_a);
	tcase_add_test(tc, list_json_passes_objects_through);
	tcase_add_test(tc, status_not_found);
	tcase_add_test(tc, status_prints_fields);
	tcase_add_test(tc, unreachable_daemon);
	tcase_add_test(tc, enable_each_operand);
	tcase_add_test(tc, disable_first_failure_wins);
	tcase_add_test(tc, malformed_fmri_is_invalid);
	tcase_add_test(tc, import_dir_sorted_then_reload);
	tcase_add_test(tc, import_without_startd_is_quiet);
	tcase_add_test(tc, import_dry_run_validates);
	tcase_add_test(tc, import_bad_json_names_file_and_position);
	tcase_add_test(tc, import_refusal_from_configd);
	tcase_add_test(tc, import_export_bundle_and_missing_file);
	tcase_add_test(tc, get_one_property);
	tcase_add_test(tc, export_one_service_prints_manifest);
	tcase_add_test(tc, usage_errors_exit_2);
	tcase_add_test(tc, help_exits_0);
	tcase_add_test(tc, kinit_verbs);
	tcase_add_test(tc, hello_names_daemons);
	tcase_add_test(tc, validate_without_configd_checks_locally);
	tcase_add_test(tc, status_shows_log_tail);
	tcase_add_test(tc, plot_svg_bars_and_escaping);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
