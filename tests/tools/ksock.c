/*
 * ksock -- a test tool that talks to SystemK sockets the way a careless or
 * hostile peer would, and the way a well-behaved one does.
 *
 *   ksock halfsp PATH [N]       connect, send half an SP header, close (N times)
 *   ksock garbage PATH          connect, send a full SP header and junk, close
 *   ksock hello PATH            sys.hello over nng; prints the result, exit 0 if ok
 *   ksock call PATH METHOD JSON any method over nng; prints the reply
 *   ksock calls PATH            one connection for many calls: each stdin
 *                               line "METHOD JSON", each reply one line
 *   ksock unix PATH METHOD JSON any method over an AF_UNIX seqpacket socket
 *   ksock unixjunk PATH         send junk and a truncated envelope to seqpacket
 *   ksock sub PATH N MS         subscribe to an events socket; print N messages
 *                               (exit 1 if fewer arrive within MS each);
 *                               "subscribed" on stderr once dialled
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>

#include "kipc.h"

static int
connect_to(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd = socket(AF_UNIX, type, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int
print_result(int rv, cJSON *res, char *msg)
{
	char *s;

	if (rv != KE_OK) {
		printf("error %s: %s\n", kproto_err_name(rv), msg ? msg : "");
		free(msg);
		return rv == KE_UNAVAILABLE ? 5 : 1;
	}
	s = cJSON_PrintUnformatted(res);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(res);
	return 0;
}

static int
nng_call(const char *path, const char *method, const char *params)
{
	kipc_client *c;
	cJSON       *res = NULL;
	char        *msg = NULL;
	int          rv = kipc_client_open(&c, path, 3000);

	if (rv != KE_OK)
		return print_result(rv, NULL, strdup("cannot dial"));
	rv = kipc_call(c, method, params ? cJSON_Parse(params) : NULL, &res, &msg);
	kipc_client_close(c);
	return print_result(rv, res, msg);
}

/* ksock calls: lines of "METHOD JSON" on one connection, a reply each. */
static int
nng_calls(const char *path)
{
	kipc_client *c;
	char         line[8192];
	int          rv = kipc_client_open(&c, path, 3000);

	if (rv != KE_OK)
		return print_result(rv, NULL, strdup("cannot dial"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char  *params = strchr(line, ' ');
		cJSON *res = NULL;
		char  *msg = NULL;

		line[strcspn(line, "\n")] = '\0';
		if (params != NULL)
			*params++ = '\0';
		rv = kipc_call(c, line, params ? cJSON_Parse(params) : NULL,
		    &res, &msg);
		print_result(rv, res, msg);
	}
	kipc_client_close(c);
	return 0;
}

static int
sub_events(const char *path, int n, int ms)
{
	nng_socket s;
	char       url[600];

	snprintf(url, sizeof(url), "ipc://%s", path);
	if (nng_sub0_open(&s) != 0 ||
	    nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, ms) != 0 ||
	    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG) != 0 ||
	    nng_dial(s, url, NULL, 0) != 0) {
		fprintf(stderr, "ksock: cannot subscribe to %s\n", path);
		return 5;
	}
	fprintf(stderr, "subscribed\n");
	for (int i = 0; i < n; i++) {
		char  *buf;
		size_t len;

		if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) != 0) {
			nng_close(s);
			return 1;
		}
		printf("%.*s\n", (int)len, buf);
		fflush(stdout);
		nng_free(buf, len);
	}
	nng_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ksock halfsp|garbage|hello|call|calls|unix|unixjunk PATH ...\n");
		return 2;
	}
	if (strcmp(argv[1], "halfsp") == 0) {
		int n = argc > 3 ? atoi(argv[3]) : 1;

		for (int i = 0; i < n; i++) {
			int fd = connect_to(argv[2], SOCK_STREAM);

			(void)!write(fd, "\0SP", 3);
			close(fd);
		}
		return 0;
	}
	if (strcmp(argv[1], "garbage") == 0) {
		static const char junk[] = "\0SP\0\0\x31\0\0"
		                           "\x01\0\0\0\0\0\0\x04{{{{";
		int fd = connect_to(argv[2], SOCK_STREAM);

		(void)!write(fd, junk, sizeof(junk) - 1);
		usleep(100000);
		close(fd);
		return 0;
	}
	if (strcmp(argv[1], "hello") == 0)
		return nng_call(argv[2], "sys.hello", NULL);
	if (strcmp(argv[1], "sub") == 0 && argc >= 5)
		return sub_events(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (strcmp(argv[1], "calls") == 0)
		return nng_calls(argv[2]);
	if (strcmp(argv[1], "call") == 0 && argc >= 4)
		return nng_call(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if (strcmp(argv[1], "unix") == 0 && argc >= 4) {
		cJSON *res = NULL;
		char  *msg = NULL;
		int    rv = kipc_unix_call(argv[2], argv[3],
		    argc > 4 ? cJSON_Parse(argv[4]) : NULL, 3000, &res, &msg);

		return print_result(rv, res, msg);
	}
	if (strcmp(argv[1], "unixjunk") == 0) {
		const char *bad[] = { "{\"v\":1,\"id\":1,\"meth", "\xff\xfe", "[]" };

		for (size_t i = 0; i < 3; i++) {
			int  fd = connect_to(argv[2], SOCK_SEQPACKET);
			char buf[4096];

			(void)!send(fd, bad[i], strlen(bad[i]), MSG_NOSIGNAL);
			(void)!recv(fd, buf, sizeof(buf), 0);
			close(fd);
		}
		/* And one that connects and hangs up without a word. */
		close(connect_to(argv[2], SOCK_SEQPACKET));
		return 0;
	}
	fprintf(stderr, "ksock: unknown mode %s\n", argv[1]);
	return 2;
}
