/*
 * client.c -- the REQ side of the daemons' nng sockets, spoken directly.
 *
 * The daemons listen with nng's REP (server.c); a client needs none of
 * nng's machinery to talk to them.  The wire is SP over IPC (nng's
 * src/sp/transport/ipc/ipc.c and RFC sp-request-reply-01):
 *
 *   connect ──▶ header 00 'S' 'P' 00 | 00 30 (REQ0) | 00 00 ◀── (peer's, 00 31: REP0)
 *   request ──▶ 01 | length (8 bytes, big endian) | id (4, top bit set) | text
 *   reply   ◀── 01 | length                        | the same id        | text
 *
 * An AF_UNIX stream and the calling thread do it all.  With nng's REQ
 * socket every call went through nng's poller and task threads and woke
 * the caller from there: about three thread switches and a dozen system
 * calls per call, in every client (docs/benchmarks.md).  Here a call is one
 * sendmsg(), a poll() and two reads.
 *
 * Semantics are those of the REQ socket it replaces (NOTES.md):
 *   - no resend, ever: a call that timed out or lost its connection is not
 *     sent again (the request id makes a resent write harmless anyway, but
 *     the caller decides);
 *   - a reply is bounded by KPROTO_MAX_MSG, checked before any allocation;
 *   - the connection comes back by itself: a call on a client whose daemon
 *     restarted dials again (every 100 ms until its deadline, as nng's
 *     dialer did), and a request that could not be written at all on a
 *     connection the peer had closed is written on a new one;
 *   - after a timeout the connection is dropped, so that a late reply can
 *     never be taken for the next call's.
 * One caller at a time per client, as before.
 */
#include "kipc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SP_REQ0      0x30 /* nng's protocol numbers, 16 bits on the wire */
#define SP_REP0      0x31
#define SP_MSG       1    /* message type of every frame */
#define SP_ID_BIT    0x80000000u
#define REDIAL_MS    100  /* nng's NNG_OPT_RECONNMINT */

struct kipc_client {
	struct sockaddr_un sa;
	int                fd;      /* -1: not connected */
	bool               greeted; /* the peer's SP header was read on fd */
	int                timeout_ms;
	uint32_t           next_id; /* SP request id, without SP_ID_BIT */
};

int64_t
kipc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
drop(kipc_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->greeted = false;
}

/* Waits until fd is ready for events, or the deadline. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int           rv;

	for (;;) {
		int64_t left = deadline - kipc_mono_ms();

		rv = poll(&p, 1, left <= 0 ? 0 : left > 1000000 ? 1000000 :
		    (int)left);
		if (rv > 0)
			return KE_OK;
		if (rv == 0 && left <= 0)
			return KE_TIMEOUT;
		if (rv < 0 && errno != EINTR)
			return KE_UNAVAILABLE;
	}
}

/*
 * One connect(), and our SP header at once: nng closes a connection whose
 * handshake is not done within 10 s, and a first request sent late would
 * meet that close.  KE_OK, KE_DENIED (the socket's mode keeps us out),
 * KE_UNAVAILABLE (nobody listens), KE_BUSY (the backlog is full) or
 * KE_INTERNAL (no descriptor: errno says why).
 */
static int
dial_once(kipc_client *c)
{
	static const unsigned char hello[8] = { 0, 'S', 'P', 0, 0, SP_REQ0, 0,
		0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return KE_INTERNAL;
	if (connect(fd, (struct sockaddr *)&c->sa, sizeof(c->sa)) != 0) {
		int e = errno;

		close(fd);
		return e == EACCES || e == EPERM ? KE_DENIED :
		    e == EAGAIN ? KE_BUSY : KE_UNAVAILABLE;
	}
	/* 8 bytes into an empty buffer: only a peer gone already fails. */
	if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != sizeof(hello)) {
		close(fd);
		return KE_UNAVAILABLE;
	}
	c->fd = fd;
	c->greeted = false;
	return KE_OK;
}

/* Writes all of iov (modified) before the deadline. */
static int
write_all(int fd, struct iovec *iov, int n, int64_t deadline, size_t *sent)
{
	*sent = 0;
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t       w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		int           rv;

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return KE_UNAVAILABLE;
			if ((rv = wait_fd(fd, POLLOUT, deadline)) != KE_OK)
				return rv;
			continue;
		}
		*sent += (size_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return KE_OK;
}

/* Reads exactly len bytes before the deadline; the end of the stream is
 * KE_UNAVAILABLE. */
static int
read_all(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(fd, (char *)buf + got, len - got, 0);
		int     rv;

		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return KE_UNAVAILABLE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return KE_UNAVAILABLE;
		if ((rv = wait_fd(fd, POLLIN, deadline)) != KE_OK)
			return rv;
	}
	return KE_OK;
}

/* Connected, dialing again every REDIAL_MS until the deadline while
 * nobody listens, as nng's dialer did in the background. */
static int
ensure_dialed(kipc_client *c, int64_t deadline)
{
	int rv;

	while (c->fd < 0) {
		int64_t left;

		if ((rv = dial_once(c)) == KE_OK)
			break;
		if (rv == KE_DENIED || rv == KE_INTERNAL)
			return rv;
		if ((left = deadline - kipc_mono_ms()) <= 0)
			return rv == KE_BUSY ? KE_TIMEOUT : KE_UNAVAILABLE;
		if (left > (rv == KE_BUSY ? 10 : REDIAL_MS))
			left = rv == KE_BUSY ? 10 : REDIAL_MS;
		nanosleep(&(struct timespec){ 0, (long)left * 1000000L }, NULL);
	}
	return KE_OK;
}

/* Reads the peer's SP header once per connection (ours went out at
 * connect). */
static int
read_greeting(kipc_client *c, int64_t deadline)
{
	unsigned char h[8];
	int           rv;

	if (c->greeted)
		return KE_OK;
	if ((rv = read_all(c->fd, h, sizeof(h), deadline)) != KE_OK)
		return rv;
	if (h[0] != 0 || h[1] != 'S' || h[2] != 'P' || h[3] != 0 ||
	    h[4] != 0 || h[5] != SP_REP0 || h[6] != 0 || h[7] != 0)
		return KE_INTERNAL;
	c->greeted = true;
	return KE_OK;
}

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Sends text as one request with SP id and dials again when the peer had
 * closed the connection before a byte of it went out (a daemon restarted
 * since the last call): nothing of it can have reached anybody.
 */
static int
send_request(kipc_client *c, uint32_t id, const char *text, size_t len,
    int64_t deadline, char *why, size_t whylen)
{
	unsigned char frame[1 + 8 + 4];
	struct iovec  iov[2];
	size_t        sent = 0;
	int           rv;

	frame[0] = SP_MSG;
	put_be(frame + 1, (uint64_t)len + 4, 8);
	put_be(frame + 9, id | SP_ID_BIT, 4);
	for (int tries = 0;; tries++) {
		if ((rv = ensure_dialed(c, deadline)) != KE_OK) {
			snprintf(why, whylen, "%s", rv == KE_INTERNAL ?
			    strerror(errno) : rv == KE_DENIED ?
			    "permission denied" : rv == KE_TIMEOUT ?
			    "no connection in time" : "nobody answers");
			return rv;
		}
		iov[0] = (struct iovec){ frame, sizeof(frame) };
		iov[1] = (struct iovec){ (void *)text, len };
		rv = write_all(c->fd, iov, 2, deadline, &sent);
		if (rv == KE_OK)
			return KE_OK;
		drop(c);
		if (rv != KE_UNAVAILABLE || sent > 0 || tries > 0) {
			snprintf(why, whylen, "%s", rv == KE_TIMEOUT ?
			    "the request was not taken in time" :
			    "connection closed while sending");
			return rv;
		}
	}
}

/* Receives the reply to SP id into a malloc'd *text. */
static int
recv_reply(kipc_client *c, uint32_t id, char **text, size_t *len,
    int64_t deadline, char *why, size_t whylen)
{
	unsigned char head[1 + 8 + 4];
	uint64_t      n;
	int           rv;

	*text = NULL;
	if ((rv = read_greeting(c, deadline)) != KE_OK) {
		snprintf(why, whylen, "%s", rv == KE_INTERNAL ?
		    "the peer is not an SP REP socket" : "no SP header from the peer");
		return rv;
	}
	for (;;) {
		/* Frames for other ids do not extend the deadline. */
		if (kipc_mono_ms() > deadline) {
			snprintf(why, whylen, "no reply in time");
			return KE_TIMEOUT;
		}
		if ((rv = read_all(c->fd, head, sizeof(head), deadline)) != KE_OK) {
			snprintf(why, whylen, "%s", rv == KE_TIMEOUT ?
			    "no reply in time" : "connection closed without a reply");
			return rv;
		}
		n = get_be(head + 1, 8);
		if (head[0] != SP_MSG || n < 4) {
			snprintf(why, whylen, "bad frame from the peer");
			return KE_INTERNAL;
		}
		if (n - 4 > KPROTO_MAX_MSG) {
			snprintf(why, whylen, "reply exceeds the message bound");
			return KE_TOO_LARGE;
		}
		n -= 4;
		if ((*text = malloc(n + 1)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return KE_INTERNAL;
		}
		if ((rv = read_all(c->fd, *text, (size_t)n, deadline)) != KE_OK) {
			free(*text);
			*text = NULL;
			snprintf(why, whylen, "%s", rv == KE_TIMEOUT ?
			    "no reply in time" : "connection closed mid-reply");
			return rv;
		}
		/* Only one request is ever outstanding on a connection; a reply
		 * to another id would be a peer's error.  Skip it. */
		if ((uint32_t)get_be(head + 9, 4) == (id | SP_ID_BIT))
			break;
		free(*text);
		*text = NULL;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	return KE_OK;
}

int
kipc_client_open(kipc_client **cp, const char *path, int timeout_ms)
{
	kipc_client *c;
	int          rv;

	*cp = NULL;
	if (strlen(path) >= sizeof(c->sa.sun_path))
		return KE_INVALID;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KE_INTERNAL;
	c->sa.sun_family = AF_UNIX;
	strcpy(c->sa.sun_path, path);
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->next_id = (uint32_t)kipc_new_id();
	/* Nobody listening, or a mode that keeps us out, is known now; a
	 * listener that never answers costs the first call its timeout. */
	if ((rv = dial_once(c)) == KE_BUSY)
		rv = KE_OK;
	if (rv != KE_OK) {
		free(c);
		return rv;
	}
	*cp = c;
	return KE_OK;
}

void
kipc_client_close(kipc_client *c)
{
	if (c == NULL)
		return;
	drop(c);
	free(c);
}

static void
set_err(char **errmsg, const char *s)
{
	if (errmsg != NULL)
		*errmsg = s != NULL ? strdup(s) : NULL;
}

int
kipc_client_roundtrip(kipc_client *c, const char *text, size_t len,
    char **reply, size_t *rlen, char *why, size_t whylen)
{
	int64_t  deadline = kipc_mono_ms() + c->timeout_ms;
	uint32_t sp_id = c->next_id++ & ~SP_ID_BIT;
	int      rv;

	*reply = NULL;
	*rlen = 0;
	/* nng's receive bound counts the 4 bytes of the SP id: a longer
	 * request would cost the connection, and read as a daemon gone. */
	if (len > KPROTO_MAX_MSG - 4) {
		snprintf(why, whylen, "request exceeds the message bound");
		return KE_TOO_LARGE;
	}
	if ((rv = send_request(c, sp_id, text, len, deadline, why,
	         whylen)) != KE_OK)
		return rv;
	if ((rv = recv_reply(c, sp_id, reply, rlen, deadline, why,
	         whylen)) != KE_OK)
		drop(c);
	return rv;
}

int
kipc_call(kipc_client *c, const char *method, cJSON *params, cJSON **result,
    char **errmsg)
{
	char     why[256] = "";
	char    *text, *reply;
	size_t   len, rlen = 0;
	uint64_t id = kipc_new_id();
	kipc_msg m;
	int      rv;

	*result = NULL;
	set_err(errmsg, NULL);
	text = kipc_encode_request(KPROTO_LEVEL, id, method, params, &len);
	cJSON_Delete(params);
	if (text == NULL)
		return KE_INTERNAL;
	rv = kipc_client_roundtrip(c, text, len, &reply, &rlen, why,
	    sizeof(why));
	free(text);
	if (rv != KE_OK) {
		set_err(errmsg, why);
		return rv;
	}
	rv = kipc_decode_reply(reply, rlen, &m, why, sizeof(why));
	free(reply);
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
