/*
 * Unit tests for the nng server (libkipc/server.c; the client's are in
 * kipc_client.c): validation before dispatch, error replies, idempotent
 * writes, and the listener bug of nng 1.5.2 (a half SP handshake must not
 * silence a server).
 * nng is set up inside each test: it is not fork-safe (NOTES.md).
 */
#include <check.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kipc.h"

static char        dir[64], sock_path[128];
static kipc_server *srv;
static pthread_t    loop_thr;
static atomic_int   stop_loop, writes_applied;

/* A tiny daemon loop: repo.get echoes, state.put counts. */
static void *
loop(void *arg)
{
	while (!atomic_load(&stop_loop)) {
		struct pollfd p = { .fd = kipc_server_fd(srv), .events = POLLIN };
		kipc_req     *r;

		if (poll(&p, 1, 50) <= 0)
			continue;
		while ((r = kipc_server_next(srv)) != NULL) {
			cJSON *res;

			if (kipc_req_method(r)->id == KM_REPO_LIST) {
				kipc_req_fail(r, KE_NOT_FOUND, "no %s here", "list");
				continue;
			}
			res = cJSON_CreateObject();
			if (kipc_req_method(r)->id == KM_STATE_PUT)
				atomic_fetch_add(&writes_applied, 1);
			cJSON_AddItemToObject(res, "echo",
			    cJSON_Duplicate(kipc_req_params(r), 1));
			kipc_req_reply(r, res);
		}
	}
	return NULL;
}

static void
setup(void)
{
	strcpy(dir, "/tmp/kipc-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/configd.sock", dir);
	ck_assert_int_eq(kipc_server_open(&srv, sock_path, "k.configd",
	    KD_CONFIGD), KE_OK);
	atomic_store(&stop_loop, 0);
	atomic_store(&writes_applied, 0);
	pthread_create(&loop_thr, NULL, loop, NULL);
}

static void
teardown(void)
{
	atomic_store(&stop_loop, 1);
	pthread_join(loop_thr, NULL);
	kipc_server_close(srv);
	unlink(sock_path);
	rmdir(dir);
}

static int
call(const char *method, const char *params, cJSON **res, char **msg)
{
	kipc_client *c;
	int          rv;

	rv = kipc_client_open(&c, sock_path, 2000);
	ck_assert_int_eq(rv, KE_OK);
	rv = kipc_call(c, method, params ? cJSON_Parse(params) : NULL, res, msg);
	kipc_client_close(c);
	return rv;
}

START_TEST(hello)
{
	cJSON *res;
	char  *msg;

	ck_assert_int_eq(call("sys.hello", NULL, &res, &msg), KE_OK);
	ck_assert_str_eq(kipc_json_str(res, "name"), "k.configd");
	cJSON_Delete(res);
}
END_TEST

START_TEST(dispatch_and_echo)
{
	cJSON *res;
	char  *msg;

	ck_assert_int_eq(call("repo.get", "{\"fmri\":\"web\"}", &res, &msg), KE_OK);
	ck_assert_str_eq(kipc_json_str(kipc_json_obj(res, "echo"), "fmri"), "web");
	cJSON_Delete(res);
}
END_TEST

START_TEST(unknown_and_foreign_methods)
{
	cJSON *res;
	char  *msg;

	ck_assert_int_eq(call("no.such", NULL, &res, &msg), KE_INVALID);
	ck_assert(strstr(msg, "unknown method") != NULL);
	free(msg);
	/* Declared in proto/, but served by kstartd, not here. */
	ck_assert_int_eq(call("svc.list", NULL, &res, &msg), KE_INVALID);
	free(msg);
}
END_TEST

START_TEST(handler_error_reply)
{
	cJSON *res;
	char  *msg;

	ck_assert_int_eq(call("repo.list", NULL, &res, &msg), KE_NOT_FOUND);
	ck_assert_str_eq(msg, "no list here");
	free(msg);
}
END_TEST

START_TEST(bad_params)
{
	cJSON *res;
	char  *msg;

	ck_assert_int_eq(call("repo.get", "{\"fmri\":1}", &res, &msg), KE_INVALID);
	ck_assert(strstr(msg, "fmri") != NULL);
	free(msg);
}
END_TEST

/* Sends raw text with a chosen id on a REQ socket; returns the reply text. */
static char *
raw_call(const char *text)
{
	nng_socket s;
	char       url[160], *buf = NULL, *out;
	size_t     sz = 0;

	snprintf(url, sizeof(url), "ipc://%s", sock_path);
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	ck_assert_int_eq(nng_dial(s, url, NULL, 0), 0);
	ck_assert_int_eq(nng_send(s, (void *)text, strlen(text), 0), 0);
	ck_assert_int_eq(nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC), 0);
	out = strndup(buf, sz);
	nng_free(buf, sz);
	nng_close(s);
	return out;
}

START_TEST(level_too_high)
{
	char *r = raw_call("{\"v\":99,\"id\":3,\"method\":\"sys.hello\"}");

	ck_assert(strstr(r, "\"ok\":false") != NULL);
	ck_assert(strstr(r, "\"id\":3") != NULL);
	/* The reply speaks the daemon's own level, as kinit's does. */
	ck_assert_msg(strstr(r, "\"v\":1") != NULL, "reply: %s", r);
	free(r);
}
END_TEST

START_TEST(garbage_gets_error_reply)
{
	char *r = raw_call("this is not json");

	ck_assert(strstr(r, "\"code\":\"invalid\"") != NULL);
	free(r);
}
END_TEST

START_TEST(resent_write_applied_once)
{
	const char *req = "{\"v\":1,\"id\":4242,\"method\":\"state.put\","
	    "\"params\":{\"fmri\":\"svc:/a:default\",\"state\":{}}}";
	char *r1 = raw_call(req);
	char *r2 = raw_call(req);

	ck_assert_str_eq(r1, r2);
	ck_assert_int_eq(atomic_load(&writes_applied), 1);
	free(r1);
	free(r2);
}
END_TEST

/* Sends "state.put" with id on s; returns the reply text. */
static char *
put_with_id(nng_socket s, unsigned id)
{
	char   req[200], *buf = NULL, *out;
	size_t sz = 0;

	snprintf(req, sizeof(req), "{\"v\":1,\"id\":%u,\"method\":"
	    "\"state.put\",\"params\":{\"fmri\":\"svc:/a:default\","
	    "\"state\":{}}}", id);
	ck_assert_int_eq(nng_send(s, req, strlen(req), 0), 0);
	ck_assert_int_eq(nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC), 0);
	out = strndup(buf, sz);
	nng_free(buf, sz);
	return out;
}

/* The last 1024 writes are remembered (a resend is answered, not applied);
 * older ones are forgotten in order, wherever they hash. */
START_TEST(idempotency_remembers_the_last_writes)
{
	nng_socket s;
	char       url[160];
	int        before;

	snprintf(url, sizeof(url), "ipc://%s", sock_path);
	ck_assert_int_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
	ck_assert_int_eq(nng_dial(s, url, NULL, 0), 0);
	for (unsigned id = 1; id <= 1100; id++)
		free(put_with_id(s, 100000 + id));
	before = atomic_load(&writes_applied);
	ck_assert_int_eq(before, 1100);
	for (unsigned id = 77; id <= 1100; id += 51) /* remembered */
		free(put_with_id(s, 100000 + id));
	ck_assert_int_eq(atomic_load(&writes_applied), before);
	free(put_with_id(s, 100000 + 1)); /* forgotten: applied again */
	ck_assert_int_eq(atomic_load(&writes_applied), before + 1);
	nng_close(s);
}
END_TEST

START_TEST(half_handshake_does_not_kill_listener)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cJSON             *res;
	char              *msg;

	strcpy(sa.sun_path, sock_path);
	for (int i = 0; i < 20; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(write(fd, "\0SP", 3), 3);
		close(fd);
	}
	usleep(100000);
	ck_assert_int_eq(call("sys.hello", NULL, &res, &msg), KE_OK);
	cJSON_Delete(res);
}
END_TEST

/* Serves repo.get on nng's thread; queues everything else. */
static int
inline_get(void *arg, const kproto_method *m, const cJSON *params,
    bool privileged, cJSON **result, char *why, size_t whylen)
{
	if (m->id != KM_REPO_GET)
		return KIPC_QUEUE;
	atomic_fetch_add((atomic_int *)arg, 1);
	if (strcmp(kipc_json_str(params, "fmri"), "missing") == 0) {
		snprintf(why, whylen, "no such service");
		return KE_NOT_FOUND;
	}
	*result = cJSON_CreateObject();
	cJSON_AddStringToObject(*result, "inline", kipc_json_str(params, "fmri"));
	return KE_OK;
}

START_TEST(inline_reads)
{
	static atomic_int served;
	cJSON            *res;
	char             *msg;

	atomic_store(&served, 0);
	kipc_server_inline(srv, inline_get, &served);
	ck_assert_int_eq(call("repo.get", "{\"fmri\":\"web\"}", &res, &msg), KE_OK);
	ck_assert_str_eq(kipc_json_str(res, "inline"), "web");
	ck_assert_ptr_null(kipc_json_obj(res, "echo")); /* not the loop's */
	cJSON_Delete(res);
	ck_assert_int_eq(call("repo.get", "{\"fmri\":\"missing\"}", &res, &msg),
	    KE_NOT_FOUND);
	ck_assert_str_eq(msg, "no such service");
	free(msg);
	/* Validation still comes first: a bad request never reaches fn. */
	ck_assert_int_eq(call("repo.get", "{}", &res, &msg), KE_INVALID);
	free(msg);
	ck_assert_int_eq(atomic_load(&served), 2);
	/* Reads fn declines and writes go through the loop as before. */
	ck_assert_int_eq(call("repo.list", NULL, &res, &msg), KE_NOT_FOUND);
	free(msg);
	ck_assert_int_eq(call("state.put", "{\"fmri\":\"svc:/a:default\","
	                     "\"state\":{}}", &res, &msg), KE_OK);
	cJSON_Delete(res);
	ck_assert_int_eq(atomic_load(&writes_applied), 1);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kipc_server");
	TCase   *tc = tcase_create("server");
	SRunner *sr;
	int      failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, hello);
	tcase_add_test(tc, dispatch_and_echo);
	tcase_add_test(tc, unknown_and_foreign_methods);
	tcase_add_test(tc, handler_error_reply);
	tcase_add_test(tc, bad_params);
	tcase_add_test(tc, level_too_high);
	tcase_add_test(tc, garbage_gets_error_reply);
	tcase_add_test(tc, resent_write_applied_once);
	tcase_add_test(tc, idempotency_remembers_the_last_writes);
	tcase_add_test(tc, half_handshake_does_not_kill_listener);
	tcase_add_test(tc, inline_reads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
