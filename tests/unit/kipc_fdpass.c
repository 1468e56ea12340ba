/*
 * Unit tests for libkipc/fdpass.c: data and descriptors as one message,
 * and what the receiver does with too many descriptors or a cut message
 * (closes them: kinit must never leak one).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kipc.h"

static int sv[2];

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static void
teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

/* How many descriptors this process has open. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int  n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

START_TEST(data_and_fds_arrive_close_on_exec)
{
	int  p[2], fds[4], n;
	char buf[64];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(kipc_fds_send(sv[0], "+a", 2, p, 2), 0);
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 4, &n), 2);
	ck_assert_str_eq(buf, "+a");
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(read(fds[0], buf, 1), 1); /* the same pipe */
	for (int i = 0; i < 2; i++)
		close(fds[i]), close(p[i]);
	/* Without descriptors; then nothing queued. */
	ck_assert_int_eq(kipc_fds_send(sv[0], "-a", 2, NULL, 0), 0);
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 4, &n), 2);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 4, &n), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(extra_fds_closed)
{
	int  p[2], fds[1], n, before;
	char buf[64];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(kipc_fds_send(sv[0], "+b", 2, p, 2), 0);
	before = open_fds();
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 1, &n), 2);
	ck_assert_int_eq(n, 1);
	close(fds[0]);
	/* The second one was closed: none was left open. */
	ck_assert_int_eq(open_fds(), before);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(cut_message_dropped_with_its_fds)
{
	int  p[2], fds[4], n, before;
	char buf[4];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(kipc_fds_send(sv[0], "+long-name", 10, p, 1), 0);
	before = open_fds();
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 4, &n), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(open_fds(), before);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(end_of_stream_and_bad_args)
{
	int  fds[1], n;
	char buf[8];

	ck_assert_int_eq(kipc_fds_send(sv[0], "", 0, NULL, 0), -1);
	ck_assert_int_eq(kipc_fds_send(sv[0], "x", 1, fds, KIPC_FDS_MAX + 1), -1);
	close(sv[0]);
	sv[0] = open("/dev/null", O_RDONLY); /* for teardown */
	ck_assert_int_eq(kipc_fds_recv(sv[1], buf, sizeof(buf), fds, 1, &n), 0);
}
END_TEST

int
main(void)
{
	Suite   *s = suite_create("kipc_fdpass");
	TCase   *tc = tcase_create("fdpass");
	SRunner *sr;
	int      failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, data_and_fds_arrive_close_on_exec);
	tcase_add_test(tc, extra_fds_closed);
	tcase_add_test(tc, cut_message_dropped_with_its_fds);
	tcase_add_test(tc, end_of_stream_and_bad_args);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
