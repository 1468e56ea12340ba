/*
 * Unit tests for libkipc's client (client.c), which speaks nng's SP wire
 * itself: against a scripted peer that misbehaves in every way the wire
 * allows (wrong greeting, oversized or stray frames, silence, a connection
 * cut mid-reply), and against the real nng server across a restart.  Each
 * test bounds its time; every thread and socket is ended in the test.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kipc.h"

static char dir[64], sock_path[128];

static void
setup(void)
{
	strcpy(dir, "/tmp/kipc-client-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/peer.sock", dir);
}

static void
teardown(void)
{
	unlink(sock_path);
	rmdir(dir);
}

/* ---- a scripted SP peer ------------------------------------------------- */

enum script {
	GOOD,         /* answer every request */
	BAD_GREETING, /* greet as something that is not REP0 */
	HUGE,         /* announce a reply over KPROTO_MAX_MSG */
	STRAY_FIRST,  /* a frame with another SP id, then the reply */
	CUT_THEN_GOOD, /* 1st connection: half a reply, then close */
	LATE_THEN_GOOD, /* 1st connection: reply after the client gave up */
	HEAD_THEN_CLOSE, /* read a request's frame header, then close */
	SILENT,       /* read nothing after the greeting */
};

struct peer {
	enum script script;
	int         lfd;
	atomic_int  stop;
	atomic_int  conns;
	pthread_t   th;
};

static int
read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t       r;

		if (poll(&p, 1, 3000) <= 0)
			return -1;
		if ((r = read(fd, (char *)buf + got, n - got)) <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* Sends one frame: SP id sp_id, then len bytes of text.  Unchecked: a
 * late reply meets a connection the client has closed. */
static void
send_frame(int fd, const unsigned char *sp_id, const char *text, size_t len)
{
	unsigned char h[9];

	h[0] = 1;
	put_be(h + 1, len + 4, 8);
	(void)!write(fd, h, 9);
	(void)!write(fd, sp_id, 4);
	if (len > 0)
		(void)!write(fd, text, len);
}

/* Reads one request frame; returns its envelope id, sp_id gets its SP id. */
static uint64_t
read_request(int fd, unsigned char sp_id[4])
{
	unsigned char h[9];
	uint64_t      len = 0, id;
	char          why[200], *buf;
	kipc_msg      m;

	if (read_n(fd, h, 9) != 0)
		return 0;
	for (int i = 1; i < 9; i++)
		len = len << 8 | h[i];
	ck_assert_int_eq(h[0], 1);
	ck_assert(len >= 4 && len < 65536);
	ck_assert_int_eq(read_n(fd, sp_id, 4), 0);
	ck_assert(sp_id[0] & 0x80); /* REQ sets the top bit of its id */
	buf = malloc(len - 4);
	ck_assert_int_eq(read_n(fd, buf, len - 4), 0);
	ck_assert_int_eq(kipc_decode_request(buf, len - 4, &m, why, sizeof(why)),
	    KE_OK);
	id = m.id;
	kipc_msg_free(&m);
	free(buf);
	return id;
}

static void
reply_ok(int fd, const unsigned char sp_id[4], uint64_t id, const char *word)
{
	cJSON *res = cJSON_CreateObject();
	size_t len;
	char  *text;

	cJSON_AddStringToObject(res, "word", word);
	text = kipc_encode_ok(KPROTO_LEVEL, id, res, &len);
	cJSON_Delete(res);
	send_frame(fd, sp_id, text, len);
	free(text);
}

static void
serve_conn(struct peer *p, int fd, int nth)
{
	static const unsigned char rep0[8] = { 0, 'S', 'P', 0, 0, 0x31, 0, 0 };
	static const unsigned char pair[8] = { 0, 'S', 'P', 0, 0, 0x10, 0, 0 };
	unsigned char              hello[8], sp_id[4], h[9];
	uint64_t                   id;

	ck_assert_int_eq(read_n(fd, hello, 8), 0);
	ck_assert_int_eq(hello[5], 0x30); /* REQ0 */
	ck_assert_int_eq(write(fd, p->script == BAD_GREETING ? pair : rep0, 8),
	    8);
	if (p->script == HEAD_THEN_CLOSE) {
		(void)read_n(fd, h, 9);
		return;
	}
	if (p->script == SILENT) {
		while (!atomic_load(&p->stop))
			usleep(10 * 1000);
		return;
	}
	while ((id = read_request(fd, sp_id)) != 0) {
		switch (p->script) {
		case BAD_GREETING:
			return;
		case HUGE:
			h[0] = 1;
			put_be(h + 1, (uint64_t)KPROTO_MAX_MSG + 5, 8);
			ck_assert_int_eq(write(fd, h, 9), 9);
			ck_assert_int_eq(write(fd, sp_id, 4), 4);
			return;
		case STRAY_FIRST: {
			unsigned char other[4] = { sp_id[0], sp_id[1], sp_id[2],
				(unsigned char)(sp_id[3] ^ 1) };

			reply_ok(fd, other, id + 1, "stray");
			reply_ok(fd, sp_id, id, "good");
			break;
		}
		case CUT_THEN_GOOD:
			if (nth == 0) {
				h[0] = 1;
				put_be(h + 1, 100, 8);
				ck_assert_int_eq(write(fd, h, 9), 9);
				ck_assert_int_eq(write(fd, sp_id, 4), 4);
				ck_assert_int_eq(write(fd, "{\"v\":", 5), 5);
				return;
			}
			reply_ok(fd, sp_id, id, "good");
			break;
		case LATE_THEN_GOOD:
			if (nth == 0) {
				/* The client waits 300 ms.  The late reply
				 * carries the SP id the client's next call
				 * will use: taken, it would answer that call. */
				unsigned char next[4];

				put_be(next, ((uint64_t)sp_id[0] << 24 |
				    (uint64_t)sp_id[1] << 16 | sp_id[2] << 8 |
				    sp_id[3]) + 1, 4);
				next[0] |= 0x80;
				usleep(500 * 1000);
				reply_ok(fd, next, id + 1, "late");
				break;
			}
			reply_ok(fd, sp_id, id, "good");
			break;
		case HEAD_THEN_CLOSE:
		case SILENT:
		case GOOD:
			reply_ok(fd, sp_id, id, "good");
			break;
		}
	}
}

static void *
peer_run(void *arg)
{
	struct peer *p = arg;

	while (!atomic_load(&p->stop)) {
		struct pollfd pf = { .fd = p->lfd, .events = POLLIN };
		int           fd;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		if ((fd = accept(p->lfd, NULL, NULL)) < 0)
			continue;
		serve_conn(p, fd, atomic_fetch_add(&p->conns, 1));
		close(fd);
	}
	return NULL;
}

static void
peer_start(struct peer *p, enum script script)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->script = script;
	strcpy(sa.sun_path, sock_path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->lfd, 0);
	ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(p->lfd, 8), 0);
	ck_assert_int_eq(pthread_create(&p->th, NULL, peer_run, p), 0);
}

static void
peer_stop(struct peer *p)
{
	atomic_store(&p->stop, 1);
	pthread_join(p->th, NULL);
	close(p->lfd);
	unlink(sock_path);
}

/* A peer playing script, and a client of it with calls bounded by
 * timeout_ms. */
static kipc_client *
peer_client(struct peer *p, enum script script, int timeout_ms)
{
	kipc_client *c;

	peer_start(p, script);
	ck_assert_int_eq(kipc_client_open(&c, sock_path, timeout_ms), KE_OK);
	return c;
}

static void
peer_client_end(struct peer *p, kipc_client *c)
{
	kipc_client_close(c);
	peer_stop(p);
}

static int
call_word(kipc_client *c, const char **word, char **msg)
{
	static char buf[32];
	cJSON      *res = NULL;
	int         rv;

	*msg = NULL;
	rv = kipc_call(c, "sys.hello", NULL, &res, msg);
	buf[0] = '\0';
	if (res != NULL)
		snprintf(buf, sizeof(buf), "%s", kipc_json_str(res, "word"));
	cJSON_Delete(res);
	*word = buf;
	return rv;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(many_calls_one_connection)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;

	c = peer_client(&p, GOOD, 2000);
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(call_word(c, &w, &msg), KE_OK);
		ck_assert_str_eq(w, "good");
	}
	ck_assert_int_eq(atomic_load(&p.conns), 1);
	peer_client_end(&p, c);
}
END_TEST

START_TEST(not_a_rep_socket)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;

	c = peer_client(&p, BAD_GREETING, 2000);
	ck_assert_int_eq(call_word(c, &w, &msg), KE_INTERNAL);
	ck_assert_str_eq(msg, "the peer is not an SP REP socket");
	free(msg);
	peer_client_end(&p, c);
}
END_TEST

/* A frame announcing more than the bound is refused before any
 * allocation: the client neither reserves it nor waits for it. */
START_TEST(oversized_reply_refused)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;
	int64_t      t0;

	c = peer_client(&p, HUGE, 5000);
	t0 = kipc_mono_ms();
	ck_assert_int_eq(call_word(c, &w, &msg), KE_TOO_LARGE);
	ck_assert_int_lt(kipc_mono_ms() - t0, 4000);
	ck_assert_str_eq(msg, "reply exceeds the message bound");
	free(msg);
	peer_client_end(&p, c);
}
END_TEST

START_TEST(stray_frame_skipped)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;

	c = peer_client(&p, STRAY_FIRST, 2000);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(call_word(c, &w, &msg), KE_OK);
		ck_assert_str_eq(w, "good");
	}
	peer_client_end(&p, c);
}
END_TEST

/* Half a reply, then the end of the stream: unavailable (the request may
 * have been served); the next call dials again and gets its answer. */
START_TEST(cut_mid_reply_then_redial)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;

	c = peer_client(&p, CUT_THEN_GOOD, 2000);
	ck_assert_int_eq(call_word(c, &w, &msg), KE_UNAVAILABLE);
	ck_assert_str_eq(msg, "connection closed mid-reply");
	free(msg);
	ck_assert_int_eq(call_word(c, &w, &msg), KE_OK);
	ck_assert_str_eq(w, "good");
	ck_assert_int_eq(atomic_load(&p.conns), 2);
	peer_client_end(&p, c);
}
END_TEST

/* A timed-out call drops its connection: the late reply to it can never
 * be taken for the next call's. */
START_TEST(late_reply_never_taken_for_the_next)
{
	struct peer  p;
	kipc_client *c;
	const char  *w;
	char        *msg;
	int64_t      t0;

	c = peer_client(&p, LATE_THEN_GOOD, 300);
	t0 = kipc_mono_ms();
	ck_assert_int_eq(call_word(c, &w, &msg), KE_TIMEOUT);
	ck_assert_int_ge(kipc_mono_ms() - t0, 290);
	free(msg);
	usleep(400 * 1000); /* the late reply is written by now */
	ck_assert_int_eq(call_word(c, &w, &msg), KE_OK);
	ck_assert_str_eq(w, "good");
	ck_assert_int_eq(atomic_load(&p.conns), 2);
	peer_client_end(&p, c);
}
END_TEST

/*
 * A request the peer stopped reading partway is never sent again on a new
 * connection (part of it may have been read: only a request of which no
 * byte went out is); one over the bound never leaves; one the peer never
 * reads times out.
 */
START_TEST(requests_cut_oversized_or_not_taken)
{
	size_t       big = KPROTO_MAX_MSG - 4;
	char        *text = malloc(big + 1), why[256], *reply;
	size_t       rlen;
	struct peer  p;
	kipc_client *c;
	int64_t      t0;

	ck_assert_ptr_nonnull(text);
	memset(text, ' ', big + 1);

	c = peer_client(&p, HEAD_THEN_CLOSE, 2000);
	ck_assert_int_eq(kipc_client_roundtrip(c, text, big, &reply, &rlen, why,
	    sizeof(why)), KE_UNAVAILABLE);
	ck_assert_str_eq(why, "connection closed while sending");
	ck_assert_int_eq(kipc_client_roundtrip(c, text, big + 1, &reply, &rlen,
	    why, sizeof(why)), KE_TOO_LARGE);
	ck_assert_str_eq(why, "request exceeds the message bound");
	ck_assert_int_eq(atomic_load(&p.conns), 1);
	peer_client_end(&p, c);

	c = peer_client(&p, SILENT, 300);
	t0 = kipc_mono_ms();
	ck_assert_int_eq(kipc_client_roundtrip(c, text, big, &reply, &rlen, why,
	    sizeof(why)), KE_TIMEOUT);
	ck_assert_int_ge(kipc_mono_ms() - t0, 290);
	ck_assert_str_eq(why, "the request was not taken in time");
	peer_client_end(&p, c);
	free(text);
}
END_TEST

/* ---- against the real nng server --------------------------------------- */

static kipc_server *srv;
static atomic_int   srv_stop;

static void *
srv_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv_stop)) {
		struct pollfd p = { .fd = kipc_server_fd(srv), .events = POLLIN };
		kipc_req     *r;

		if (poll(&p, 1, 20) <= 0)
			continue;
		while ((r = kipc_server_next(srv)) != NULL)
			kipc_req_reply(r, cJSON_CreateObject());
	}
	return NULL;
}

static void
srv_up(pthread_t *th)
{
	ck_assert_int_eq(kipc_server_open(&srv, sock_path, "k.configd",
	    KD_CONFIGD), KE_OK);
	atomic_store(&srv_stop, 0);
	ck_assert_int_eq(pthread_create(th, NULL, srv_loop, NULL), 0);
}

static void
srv_down(pthread_t th)
{
	atomic_store(&srv_stop, 1);
	pthread_join(th, NULL);
	kipc_server_close(srv);
	unlink(sock_path);
}

static void *
srv_up_later(void *arg)
{
	usleep(300 * 1000);
	srv_up(arg);
	return NULL;
}

/*
 * A long-lived client (kstartd's to kconfigd) outlives its server: a call
 * while nobody listens keeps dialling until its deadline and is
 * unavailable; a call made while the server comes back waits for it and is
 * answered; and the first write after a restart, on the connection the
 * old server left, goes out on a new one.
 */
START_TEST(server_restart)
{
	pthread_t    th, starter;
	kipc_client *c;
	cJSON       *res;
	char        *msg;
	int64_t      t0;

	srv_up(&th);
	ck_assert_int_eq(kipc_client_open(&c, sock_path, 1500), KE_OK);
	ck_assert_int_eq(kipc_call(c, "repo.list", NULL, &res, &msg), KE_OK);
	cJSON_Delete(res);
	srv_down(th);

	t0 = kipc_mono_ms();
	ck_assert_int_eq(kipc_call(c, "repo.list", NULL, &res, &msg),
	    KE_UNAVAILABLE);
	ck_assert_int_ge(kipc_mono_ms() - t0, 1400);
	free(msg);

	ck_assert_int_eq(pthread_create(&starter, NULL, srv_up_later, &th), 0);
	ck_assert_int_eq(kipc_call(c, "repo.list", NULL, &res, &msg), KE_OK);
	cJSON_Delete(res);
	pthread_join(starter, NULL);

	srv_down(th); /* and straight back: the client's connection is dead */
	srv_up(&th);
	ck_assert_int_eq(kipc_call(c, "repo.list", NULL, &res, &msg), KE_OK);
	cJSON_Delete(res);
	kipc_client_close(c);
	srv_down(th);
}
END_TEST

START_TEST(nobody_listens)
{
	kipc_client *c;

	ck_assert_int_eq(kipc_client_open(&c, sock_path, 500), KE_UNAVAILABLE);
	ck_assert_int_eq(kipc_client_open(&c, "/tmp/no-such-dir/x.sock", 500),
	    KE_UNAVAILABLE);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kipc_client");
	TCase   *tc = tcase_create("client");
	SRunner *sr;
	int      failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, many_calls_one_connection);
	tcase_add_test(tc, not_a_rep_socket);
	tcase_add_test(tc, oversized_reply_refused);
	tcase_add_test(tc, stray_frame_skipped);
	tcase_add_test(tc, cut_mid_reply_then_redial);
	tcase_add_test(tc, late_reply_never_taken_for_the_next);
	tcase_add_test(tc, requests_cut_oversized_or_not_taken);
	tcase_add_test(tc, server_restart);
	tcase_add_test(tc, nobody_listens);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
