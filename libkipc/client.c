/*
 * client.c -- a REQ client for the daemons' nng sockets.
 *
 * Resend is disabled (NOTES.md: REQ resends every 60 s by default and a
 * receive timeout does not cancel the request); every call has its own id,
 * so a daemon that sees an id twice answers from its memory instead of
 * applying the request again.  Receive size is bounded on this side too.
 */
#include "kipc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct kipc_client {
	nng_socket sock;
	nng_aio   *aio; /* every send and receive: one allocation, not two per call */
};

static int
map_nng(int rv)
{
	switch (rv) {
	case 0:
		return KE_OK;
	case NNG_ETIMEDOUT:
		return KE_TIMEOUT;
	case NNG_ENOMEM:
		return KE_INTERNAL;
	case NNG_EPERM:
		return KE_DENIED;
	default:
		return KE_UNAVAILABLE;
	}
}

/*
 * Is anybody listening on path?  A blocking nng_dial would answer that too,
 * but it also waits, without any bound, for the SP handshake of a listener
 * that accepts and never answers (a stopped daemon): so the kernel answers
 * whether a listener exists, and the dial itself does not block.
 */
static int
probe_listener(const char *path)
{
	struct sockaddr_un sa;
	int                fd, rv = KE_OK;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return KE_INVALID;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return KE_INTERNAL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		rv = (errno == EACCES || errno == EPERM) ? KE_DENIED :
		    KE_UNAVAILABLE;
	close(fd);
	return rv;
}

int
kipc_client_open(kipc_client **cp, const char *path, int timeout_ms)
{
	kipc_client *c;
	char         url[300];
	int          rv;

	*cp = NULL;
	if (snprintf(url, sizeof(url), "ipc://%s", path) >= (int)sizeof(url))
		return KE_INVALID;
	if ((rv = probe_listener(path)) != KE_OK)
		return rv;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KE_INTERNAL;
	if ((rv = nng_aio_alloc(&c->aio, NULL, NULL)) != 0) {
		free(c);
		return map_nng(rv);
	}
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		nng_aio_free(c->aio);
		free(c);
		return map_nng(rv);
	}
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG);
	/* Not blocking: a listener that never completes the handshake costs
	 * the first call its timeout (KE_TIMEOUT), not a hang. */
	if ((rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nng_close(c->sock);
		nng_aio_free(c->aio);
		free(c);
		return map_nng(rv);
	}
	*cp = c;
	return KE_OK;
}

void
kipc_client_close(kipc_client *c)
{
	if (c == NULL)
		return;
	nng_close(c->sock);
	nng_aio_free(c->aio);
	free(c);
}

/*
 * nng_sendmsg() and nng_recvmsg() without their nng_aio_alloc() each: an
 * aio costs a malloc and, through glibc 2.36's arc4random(), a getrandom
 * system call.  The socket's SENDTIMEO and RECVTIMEO still apply.
 */
static int
aio_send(kipc_client *c, const char *text, size_t len)
{
	nng_msg *msg;
	int      rv;

	if ((rv = nng_msg_alloc(&msg, len)) != 0)
		return rv;
	memcpy(nng_msg_body(msg), text, len);
	nng_aio_set_timeout(c->aio, NNG_DURATION_DEFAULT);
	nng_aio_set_msg(c->aio, msg);
	nng_send_aio(c->sock, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) != 0)
		nng_msg_free(nng_aio_get_msg(c->aio));
	return rv;
}

static int
aio_recv(kipc_client *c, nng_msg **msgp)
{
	int rv;

	nng_aio_set_timeout(c->aio, NNG_DURATION_DEFAULT);
	nng_recv_aio(c->sock, c->aio);
	nng_aio_wait(c->aio);
	if ((rv = nng_aio_result(c->aio)) == 0)
		*msgp = nng_aio_get_msg(c->aio);
	return rv;
}

static void
set_err(char **errmsg, const char *s)
{
	if (errmsg != NULL)
		*errmsg = s != NULL ? strdup(s) : NULL;
}

int
kipc_call(kipc_client *c, const char *method, cJSON *params, cJSON **result,
    char **errmsg)
{
	char     why[256];
	char    *text;
	nng_msg *reply;
	size_t   len;
	uint64_t id = kipc_new_id();
	kipc_msg m;
	int      rv;

	*result = NULL;
	set_err(errmsg, NULL);
	text = kipc_encode_request(KPROTO_LEVEL, id, method, params, &len);
	cJSON_Delete(params);
	if (text == NULL)
		return KE_INTERNAL;
	rv = aio_send(c, text, len);
	free(text);
	if (rv == 0)
		rv = aio_recv(c, &reply);
	if (rv != 0) {
		set_err(errmsg, nng_strerror(rv));
		return map_nng(rv);
	}
	rv = kipc_decode_reply(nng_msg_body(reply), nng_msg_len(reply), &m,
	    why, sizeof(why));
	nng_msg_free(reply);
	if (rv == KE_OK && m.id != id) {
		snprintf(why, sizeof(why), "reply to another request");
		rv = KE_INTERNAL;
	}
	if (rv != KE_OK) {
		kipc_msg_free(&m);
		set_err(errmsg, why);
		return KE_INTERNAL;
	}
	rv = m.err;
	if (m.ok)
		*result = cJSON_DetachItemViaPointer(m.root, m.result);
	else
		set_err(errmsg, m.errmsg);
	kipc_msg_free(&m);
	return rv;
}
