/*
 * Unit tests for kctl's systemd translator (kctl/unit.c) and graph builder
 * (kctl/cmd_graph.c): directive by directive, exec-line quoting and
 * variables, dependencies, and what gets reported as untranslated.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "kctl.h"
#include "unit.h"

static cJSON *notes;

/* A fake EnvironmentFile= reader: /etc/default/x exists, nothing else. */
static char *
reader(const char *path, void *arg)
{
	(void)arg;
	if (strcmp(path, "/etc/default/x") == 0)
		return strdup("# comment\nOPTS=\"-a -b\"\nQ='one word'\n\nPORT=80\n");
	return NULL;
}

static cJSON *
tr(const char *name, const char *text)
{
	cJSON *m = NULL;
	char   why[256];

	cJSON_Delete(notes);
	notes = cJSON_CreateArray();
	ck_assert_msg(kctl_unit_translate(text, name, reader, NULL, &m, notes,
	    why, sizeof(why)) == 0, "refused: %s", why);
	return m;
}

/* The compact JSON of m at a path of object keys, e.g. "start", "exec". */
static char *
at(const cJSON *m, const char *k1, const char *k2)
{
	static char buf[1024];
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, k1);
	char        *s;

	if (k2 != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, k2);
	if (v == NULL)
		return NULL;
	s = cJSON_PrintUnformatted(v);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

/* Is there a note whose directive starts with d (untranslated: !ok)? */
static bool
noted(const char *d, bool translated)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, notes)
		if (strncmp(kipc_json_str(n, "directive"), d, strlen(d)) == 0 &&
		    kipc_json_bool(n, "translated") == (int)translated)
			return true;
	return false;
}

START_TEST(basic_service)
{
	cJSON *m = tr("web.service",
	    "[Unit]\nDescription=A web server\n\n"
	    "[Service]\n# comment\nExecStart=/usr/sbin/web -p 80\n"
	    "User=www-data\nGroup=www-data\nWorkingDirectory=/srv\n"
	    "UMask=0027\nLimitNOFILE=65536\nRestart=on-failure\nRestartSec=5\n"
	    "TimeoutStopSec=1min 30s\nPrivateTmp=yes\n"
	    "[Install]\nWantedBy=multi-user.target\n");

	ck_assert_str_eq(at(m, "service", NULL), "\"web\"");
	ck_assert_str_eq(at(m, "description", NULL), "\"A web server\"");
	ck_assert_str_eq(at(m, "model", NULL), "\"child\"");
	ck_assert_str_eq(at(m, "start", "exec"), "[\"/usr/sbin/web\",\"-p\",\"80\"]");
	ck_assert_str_eq(at(m, "stop", "timeout_s"), "90");
	ck_assert_str_eq(at(m, "restart", NULL),
	    "{\"policy\":\"on-failure\",\"delay_ms\":5000}");
	ck_assert_str_eq(at(m, "context", NULL),
	    "{\"user\":\"www-data\",\"group\":\"www-data\",\"working_directory\":"
	    "\"/srv\",\"umask\":\"0027\",\"limits\":{\"nofile\":65536}}");
	ck_assert_str_eq(at(m, "instances", NULL),
	    "{\"default\":{\"enabled\":true}}");
	ck_assert(noted("PrivateTmp=yes", false));
	ck_assert_int_eq(cJSON_GetArraySize(notes), 1);
	ck_assert_ptr_null(at(m, "refresh", NULL));
	cJSON_Delete(m);
}
END_TEST

START_TEST(types_and_defaults)
{
	cJSON *m = tr("d.service", "[Service]\nType=forking\nPIDFile=/run/d.pid\n"
	    "ExecStart=/usr/sbin/d\n");

	ck_assert_str_eq(at(m, "model", NULL), "\"forking\"");
	ck_assert_str_eq(at(m, "pidfile", NULL), "\"/run/d.pid\"");
	/* systemd's default is Restart=no; no [Install]: not enabled */
	ck_assert_str_eq(at(m, "restart", "policy"), "\"never\"");
	ck_assert_str_eq(at(m, "instances", NULL),
	    "{\"default\":{\"enabled\":false}}");
	cJSON_Delete(m);
	m = tr("o.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
	    "ExecStart=/bin/true\n");
	ck_assert_str_eq(at(m, "model", NULL), "\"transient\"");
	ck_assert_int_eq(cJSON_GetArraySize(notes), 0);
	cJSON_Delete(m);
	m = tr("n.service", "[Service]\nType=notify\nExecStart=/bin/n\n"
	    "PIDFile=/run/n.pid\nRestart=always\n");
	ck_assert_str_eq(at(m, "model", NULL), "\"notify\"");
	ck_assert_ptr_null(at(m, "pidfile", NULL));
	ck_assert(noted("PIDFile=/run/n.pid", false));
	ck_assert_str_eq(at(m, "restart", "policy"), "\"always\"");
	cJSON_Delete(m);
}
END_TEST

START_TEST(exec_prefixes_and_quotes)
{
	cJSON *m = tr("q.service", "[Service]\n"
	    "ExecStart=-/usr/sbin/nginx -g 'daemon on; master_process on;'\n"
	    "ExecStop=-/sbin/start-stop-daemon --quiet --stop --retry QUIT/5\n"
	    "ExecReload=+/bin/echo \"a \\\"b\\\"\" c\\x41 100% 50%%\n");

	ck_assert_str_eq(at(m, "start", "exec"),
	    "[\"/usr/sbin/nginx\",\"-g\",\"daemon on; master_process on;\"]");
	ck_assert_str_eq(at(m, "stop", "exec"), "[\"/sbin/start-stop-daemon\","
	    "\"--quiet\",\"--stop\",\"--retry\",\"QUIT/5\"]");
	ck_assert_str_eq(at(m, "refresh", "exec"),
	    "[\"/bin/echo\",\"a \\\"b\\\"\",\"cA\",\"100%\",\"50%\"]");
	cJSON_Delete(m);
	m = tr("at.service", "[Service]\nExecStart=@/usr/bin/prog prog-name -x\n");
	ck_assert_str_eq(at(m, "start", "exec"), "[\"/usr/bin/prog\",\"-x\"]");
	ck_assert(noted("ExecStart=@", false));
	cJSON_Delete(m);
}
END_TEST

START_TEST(continuation_lines)
{
	cJSON *m = tr("c.service", "[Service]\nExecStart=/bin/prog \\\n"
	    "    --one \\\n    --two\nUser=u\n");

	ck_assert_str_eq(at(m, "start", "exec"),
	    "[\"/bin/prog\",\"--one\",\"--two\"]");
	ck_assert_str_eq(at(m, "context", "user"), "\"u\"");
	cJSON_Delete(m);
}
END_TEST

START_TEST(variables)
{
	cJSON *m = tr("v.service", "[Service]\nEnvironment=\"A=1 2\" B=x\n"
	    "EnvironmentFile=-/etc/default/x\nEnvironmentFile=-/etc/default/none\n"
	    "ExecStart=/bin/p $OPTS ${A} $A pre${PORT} $UNSET ${Q} $$HOME \"$5\"\n"
	    "ExecReload=/bin/kill -HUP $MAINPID\n"
	    "ExecStop=/bin/kill -s TERM ${MAINPID}\n");

	ck_assert_str_eq(at(m, "start", "exec"),
	    "[\"/bin/p\",\"-a\",\"-b\",\"1 2\",\"1\",\"2\",\"pre80\","
	    "\"one word\",\"$$HOME\",\"$$5\"]");
	ck_assert(noted("ExecStart=/bin/p", false)); /* $UNSET */
	ck_assert_str_eq(at(m, "refresh", NULL), "{\"signal\":\"HUP\"}");
	ck_assert_str_eq(at(m, "stop", NULL), "{\"signal\":\"TERM\"}");
	ck_assert_str_eq(at(m, "context", "environment"),
	    "{\"A\":\"1 2\",\"B\":\"x\",\"OPTS\":\"-a -b\",\"Q\":\"one word\","
	    "\"PORT\":\"80\"}");
	ck_assert(noted("EnvironmentFile=-/etc/default/x", true));
	ck_assert(noted("EnvironmentFile=-/etc/default/none", false));
	cJSON_Delete(m);
}
END_TEST

START_TEST(reload_keeps_kill_and_reports_rest)
{
	cJSON *m = tr("ssh.service", "[Service]\nType=notify\n"
	    "ExecStartPre=/usr/sbin/sshd -t\nExecStart=/usr/sbin/sshd -D\n"
	    "ExecReload=/usr/sbin/sshd -t\nExecReload=/bin/kill -HUP $MAINPID\n");

	ck_assert_str_eq(at(m, "refresh", NULL), "{\"signal\":\"HUP\"}");
	ck_assert(noted("ExecReload=/usr/sbin/sshd -t", false));
	ck_assert(noted("ExecStartPre=", false));
	cJSON_Delete(m);
}
END_TEST

START_TEST(shell_kept_and_said)
{
	cJSON *m = tr("s.service", "[Service]\n"
	    "ExecStart=/bin/sh -c 'exec /bin/prog >>/var/log/p 2>&1'\n");

	ck_assert_str_eq(at(m, "start", "exec"),
	    "[\"/bin/sh\",\"-c\",\"exec /bin/prog >>/var/log/p 2>&1\"]");
	ck_assert(noted("ExecStart=/bin/sh", true));
	cJSON_Delete(m);
	/* shell syntax without a shell is passed as systemd passes it */
	m = tr("t.service", "[Service]\nExecStart=/bin/prog a|b\n");
	ck_assert_str_eq(at(m, "start", "exec"), "[\"/bin/prog\",\"a|b\"]");
	ck_assert_int_eq(cJSON_GetArraySize(notes), 0);
	cJSON_Delete(m);
}
END_TEST

START_TEST(dependencies)
{
	cJSON *m = tr("app.service", "[Unit]\nRequires=db.service\n"
	    "Wants=cache.service db.service\n"
	    "After=network.target db.service cache.service log.service "
	    "app.service\nAfter=tmp.mount getty@tty1.service\n"
	    "Conflicts=shutdown.target other.service\n"
	    "[Service]\nExecStart=/bin/app\n");

	ck_assert_str_eq(at(m, "dependencies", NULL),
	    "[{\"name\":\"requires\",\"grouping\":\"require_all\",\"restart_on\":"
	    "\"none\",\"services\":[\"svc:/db:default\"]},"
	    "{\"name\":\"wants\",\"grouping\":\"optional_all\",\"restart_on\":"
	    "\"none\",\"services\":[\"svc:/cache:default\"]},"
	    "{\"name\":\"after\",\"grouping\":\"optional_all\",\"restart_on\":"
	    "\"none\",\"services\":[\"svc:/log:default\",\"svc:/getty:tty1\"]},"
	    "{\"name\":\"conflicts\",\"grouping\":\"exclude_all\",\"restart_on\":"
	    "\"none\",\"services\":[\"svc:/other:default\"]}]");
	ck_assert(noted("After=network.target", false));
	ck_assert(noted("After=tmp.mount", false));
	ck_assert(noted("Conflicts=shutdown.target", false));
	cJSON_Delete(m);
}
END_TEST

START_TEST(templates)
{
	cJSON *m = tr("redis-server@.service", "[Unit]\nDescription=store (%I)\n"
	    "[Service]\nExecStart=/usr/bin/redis-server /etc/redis/redis-%i.conf "
	    "--name %p\n[Install]\nWantedBy=multi-user.target\n");

	ck_assert_str_eq(at(m, "service", NULL), "\"redis-server\"");
	ck_assert_str_eq(at(m, "start", "exec"), "[\"/usr/bin/redis-server\","
	    "\"/etc/redis/redis-${INSTANCE}.conf\",\"--name\",\"redis-server\"]");
	ck_assert_str_eq(at(m, "instances", NULL),
	    "{\"default\":{\"enabled\":true}}");
	cJSON_Delete(m);
	m = tr("getty@tty1.service", "[Service]\nExecStart=/sbin/agetty %I\n");
	ck_assert_str_eq(at(m, "start", "exec"), "[\"/sbin/agetty\",\"tty1\"]");
	ck_assert_str_eq(at(m, "instances", NULL),
	    "{\"tty1\":{\"enabled\":false}}");
	cJSON_Delete(m);
}
END_TEST

START_TEST(timespans)
{
	long long ms;

	ck_assert_int_eq(kctl_unit_timespan("5", &ms), 0);
	ck_assert_int_eq(ms, 5000);
	ck_assert_int_eq(kctl_unit_timespan("100ms", &ms), 0);
	ck_assert_int_eq(ms, 100);
	ck_assert_int_eq(kctl_unit_timespan("1min 30s", &ms), 0);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(kctl_unit_timespan("2h", &ms), 0);
	ck_assert_int_eq(ms, 7200000);
	ck_assert_int_eq(kctl_unit_timespan("1.5s", &ms), 0);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(kctl_unit_timespan("infinity", &ms), 1);
	ck_assert_int_eq(kctl_unit_timespan("5 parsecs", &ms), -1);
	ck_assert_int_eq(kctl_unit_timespan("", &ms), -1);
	ck_assert_int_eq(kctl_unit_timespan("-1", &ms), -1);
}
END_TEST

START_TEST(timeouts_and_signals)
{
	cJSON *m = tr("t.service", "[Service]\nExecStart=/bin/t\nTimeoutSec=10\n"
	    "TimeoutStopSec=0\nKillSignal=SIGINT\nRestart=on-abnormal\n"
	    "StartLimitBurst=3\nStartLimitInterval=60s\nRestartSec=2min\n");

	ck_assert_str_eq(at(m, "start", "timeout_s"), "10");
	ck_assert_str_eq(at(m, "stop", NULL), "{\"signal\":\"INT\"}");
	ck_assert(noted("TimeoutStopSec=0", false));
	ck_assert(noted("Restart=on-abnormal", false));
	ck_assert_str_eq(at(m, "restart", NULL),
	    "{\"policy\":\"on-failure\",\"delay_ms\":120000,\"max_delay_ms\":"
	    "120000,\"burst\":3,\"window_s\":60}");
	cJSON_Delete(m);
}
END_TEST

START_TEST(refused)
{
	cJSON *m = NULL, *n = cJSON_CreateArray();
	char   why[256];

	ck_assert_int_eq(kctl_unit_translate("[Service]\n", "x.socket", NULL,
	    NULL, &m, n, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, ".service"));
	ck_assert_int_eq(kctl_unit_translate("[Unit]\nDescription=x\n",
	    "x.service", NULL, NULL, &m, n, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "[Service]"));
	ck_assert_int_eq(kctl_unit_translate("[Service]\n",
	    "sys-devices-a\\x2db.service", NULL, NULL, &m, n, why, sizeof(why)),
	    -1);
	ck_assert_ptr_null(m);
	cJSON_Delete(n);
}
END_TEST

START_TEST(graph)
{
	const char *running =
	    "{\"instances\": {"
	    " \"svc:/web:default\": {\"property_groups\": {"
	    "  \"general\": {\"enabled\": {\"type\": \"boolean\", \"values\": [true]}},"
	    "  \"dep_db\": {\"grouping\": {\"type\": \"string\", \"values\": [\"require_all\"]},"
	    "   \"restart_on\": {\"type\": \"string\", \"values\": [\"restart\"]},"
	    "   \"services\": {\"type\": \"fmri\", \"values\": [\"svc:/db:default\", \"svc:/ghost:default\"]}},"
	    "  \"dep_cache\": {\"grouping\": {\"type\": \"string\", \"values\": [\"optional_all\"]},"
	    "   \"services\": {\"type\": \"fmri\", \"values\": [\"svc:/cache:default\"]}}}},"
	    " \"svc:/db:default\": {\"property_groups\": {}},"
	    " \"svc:/cache:default\": {\"property_groups\": {"
	    "  \"general\": {\"enabled\": {\"type\": \"boolean\", \"values\": [false]}}}}}}";
	cJSON *r = cJSON_Parse(running), *g = kctl_graph_build(r);
	char  *buf = NULL;
	size_t len = 0;
	FILE  *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(g);
	ck_assert_str_eq(at(g, "nodes", NULL),
	    "[{\"fmri\":\"svc:/cache:default\",\"enabled\":false,\"known\":true},"
	    "{\"fmri\":\"svc:/db:default\",\"enabled\":true,\"known\":true},"
	    "{\"fmri\":\"svc:/web:default\",\"enabled\":true,\"known\":true},"
	    "{\"fmri\":\"svc:/ghost:default\",\"enabled\":false,\"known\":false}]");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "edges")), 3);
	kctl_graph_dot(g, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "digraph systemk {\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\"svc:/web:default\" -> "
	    "\"svc:/db:default\" [label=\"require_all\"];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\"svc:/web:default\" -> "
	    "\"svc:/cache:default\" [label=\"optional_all\", style=dashed];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\"svc:/ghost:default\" [style=dotted];\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\t\"svc:/cache:default\" [color=gray, "
	    "fontcolor=gray];\n"));
	ck_assert_ptr_null(kctl_graph_build(cJSON_GetObjectItem(r, "nothing")));
	free(buf);
	cJSON_Delete(g);
	cJSON_Delete(r);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kctl_unit");
	TCase   *tc = tcase_create("translate");
	SRunner *sr;
	int      failed;

	tcase_add_test(tc, basic_service);
	tcase_add_test(tc, types_and_defaults);
	tcase_add_test(tc, exec_prefixes_and_quotes);
	tcase_add_test(tc, continuation_lines);
	tcase_add_test(tc, variables);
	tcase_add_test(tc, reload_keeps_kill_and_reports_rest);
	tcase_add_test(tc, shell_kept_and_said);
	tcase_add_test(tc, dependencies);
	tcase_add_test(tc, templates);
	tcase_add_test(tc, timespans);
	tcase_add_test(tc, timeouts_and_signals);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, graph);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cJSON_Delete(notes);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
