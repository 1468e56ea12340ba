/*
 * server.c -- the concurrent REP server every daemon runs (nng_ctx + aio).
 *
 * Theory of operation.  One REP socket listens on ipc://PATH with KIPC_NCTX
 * contexts, each a small state machine driven by its aio callback on nng's
 * threads:
 *
 *   RECV ──request──▶ validate ──bad──▶ SEND error reply ──▶ RECV
 *                        │
 *                        ├─ sys.hello / resent id ──▶ SEND ──▶ RECV
 *                        └─ good ──▶ queue ──▶ (daemon loop) ──▶ SEND ──▶ RECV
 *
 * Validation happens here, before a daemon sees anything: the envelope
 * (bounded size and depth, exact ids), the method (declared in proto/, served
 * by this daemon, at a level the caller speaks), the params (schema) and the
 * privilege (writes need root or SYSTEMK_ADMIN_GROUP, by the peer's uid).  So
 * a bad request costs its sender an error reply and the daemon nothing.
 *
 * Good requests go on a queue and an eventfd becomes readable; the daemon's
 * single poll loop takes them with kipc_server_next() and replies with
 * kipc_req_reply()/kipc_req_fail(), possibly later (a deferred reply holds
 * its context until then).
 *
 * A daemon may serve reads right here instead (kipc_server_inline): then
 * a read costs no trip through the queue and the daemon's loop, and reads
 * go on while the loop is busy with a group commit.
 *
 * Idempotency: the replies to the last KIPC_IDEM writes are remembered by
 * (uid, id); a resent write gets the remembered reply, never a second
 * application.  A resend that arrives while the first is still being worked
 * on is answered `busy`.
 */
#include "kipc.h"
#include "kipc_local.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/transport/ipc/ipc.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define KIPC_NCTX 128
#define KIPC_IDEM 1024
#define KIPC_PEERS 256 /* connections whose credentials are remembered */

enum ctx_phase { PH_RECV, PH_WORK, PH_SEND };

struct kipc_ctx {
	kipc_server   *srv;
	nng_ctx        ctx;
	nng_aio       *aio;
	enum ctx_phase phase;
	kipc_req      *sent; /* answered; freed on nng's thread (ctx_reap) */
};

struct kipc_req {
	struct kipc_ctx     *c;
	const kproto_method *method;
	kipc_msg             m;
	uid_t                uid;
	gid_t                gid;
	bool                 privileged;
	int                  idem_slot; /* -1 unless a remembered write */
	kipc_local_reply    *local;     /* c is NULL: kipc_req_local_new */
	kipc_req            *next;
};

struct idem_entry {
	bool     used;
	bool     pending;
	uid_t    uid;
	uint64_t id;
	char    *reply;
	size_t   len;
	unsigned next; /* the next of its bucket, slot + 1, 0 at the end */
};

/* A connection's credentials, as the kernel gave them at connect time. */
struct peer {
	uint32_t pipe; /* nng_pipe_id(), 0: empty */
	uid_t    uid;
	gid_t    gid;
	bool     privileged;
};

struct kipc_server {
	nng_socket        sock;
	const char       *name;
	int               daemon;
	int               efd;
	bool              signaled; /* efd written since the queue was empty */
	pthread_mutex_t   mu;
	kipc_req         *head, *tail;
	struct kipc_ctx   ctxs[KIPC_NCTX];
	struct idem_entry idem[KIPC_IDEM];
	unsigned          idem_head[KIPC_IDEM]; /* by idem_hash: slot + 1 */
	unsigned          idem_next;
	kipc_inline_fn    inline_fn; /* under mu */
	void             *inline_arg;
	pthread_mutex_t   peer_mu;
	struct peer       peers[KIPC_PEERS]; /* by pipe id, under peer_mu */
};

static void ctx_cb(void *arg);
static void ctx_reap(struct kipc_ctx *c);

/* ---- sending -------------------------------------------------------------- */

/* Sends text (taken) on c's context; the callback then receives again. */
static void
ctx_send_text(struct kipc_ctx *c, char *text, size_t len)
{
	nng_msg *msg;

	if (text == NULL || nng_msg_alloc(&msg, 0) != 0) {
		free(text);
		goto recv_again;
	}
	if (nng_msg_append(msg, text, len) != 0) {
		nng_msg_free(msg);
		free(text);
		goto recv_again;
	}
	free(text);
	c->phase = PH_SEND;
	nng_aio_set_msg(c->aio, msg);
	nng_ctx_send(c->ctx, c->aio);
	return;
recv_again:
	/* Without a reply the REQ peer times out; keep this context alive. */
	c->phase = PH_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

static void
ctx_send_err(struct kipc_ctx *c, int v, uint64_t id, kproto_err e,
    const char *why)
{
	size_t len = 0;
	char  *text = kipc_encode_err(v > 0 ? v : KPROTO_LEVEL, id, e, why, &len);

	ctx_send_text(c, text, len);
}

/* ---- idempotency memory ------------------------------------------------- */

static unsigned
idem_hash(uid_t uid, uint64_t id)
{
	uint64_t h = (id ^ ((uint64_t)uid << 32)) * 0x9e3779b97f4a7c15u;

	return (unsigned)(h >> 40) % KIPC_IDEM;
}

/* Under s->mu.  Returns the slot remembering (uid, id), or -1. */
static int
idem_find(kipc_server *s, uid_t uid, uint64_t id)
{
	for (unsigned i = s->idem_head[idem_hash(uid, id)]; i != 0;
	     i = s->idem[i - 1].next)
		if (s->idem[i - 1].id == id && s->idem[i - 1].uid == uid)
			return (int)i - 1;
	return -1;
}

/* Under s->mu.  Takes slot i out of its bucket (it is used). */
static void
idem_unlink(kipc_server *s, int i)
{
	unsigned *l = &s->idem_head[idem_hash(s->idem[i].uid, s->idem[i].id)];

	while (*l != 0 && *l != (unsigned)i + 1)
		l = &s->idem[*l - 1].next;
	if (*l != 0)
		*l = s->idem[i].next;
	s->idem[i].used = false;
}

/* Under s->mu.  Claims a slot for a write about to be worked on. */
static int
idem_claim(kipc_server *s, uid_t uid, uint64_t id)
{
	for (int tries = 0; tries < KIPC_IDEM; tries++) {
		int       i = (int)(s->idem_next++ % KIPC_IDEM);
		unsigned *head = &s->idem_head[idem_hash(uid, id)];

		if (s->idem[i].pending)
			continue;
		if (s->idem[i].used)
			idem_unlink(s, i);
		free(s->idem[i].reply);
		s->idem[i] = (struct idem_entry) { .used = true, .pending = true,
			.uid = uid, .id = id, .next = *head };
		*head = (unsigned)i + 1;
		return i;
	}
	return -1;
}

static void
idem_store(kipc_server *s, int slot, const char *text, size_t len)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&s->mu);
	s->idem[slot].pending = false;
	s->idem[slot].reply = text != NULL ? strndup(text, len) : NULL;
	s->idem[slot].len = len;
	if (s->idem[slot].reply == NULL)
		idem_unlink(s, slot);
	pthread_mutex_unlock(&s->mu);
}

/* ---- receiving ------------------------------------------------------------ */

/*
 * The sender of msg: uid, gid and whether it may write.  The kernel fixes
 * a connection's credentials when it connects (SO_PEERCRED), so they are
 * looked up once per connection, not per request: three getsockopt()
 * calls, and for a peer other than root the group database and
 * /proc/PID/status.  Group membership is thus judged when a connection
 * sends its first request, as sudo or D-Bus judge it once per session.
 */
static void
peer_creds(kipc_server *s, nng_msg *msg, kipc_req *r)
{
	nng_pipe     p = nng_msg_get_pipe(msg);
	uint32_t     id = (uint32_t)nng_pipe_id(p);
	struct peer *e = &s->peers[id % KIPC_PEERS], got;
	uint64_t     u = (uint64_t)-1, g = (uint64_t)-1, pid = 0;
	bool         hit;

	pthread_mutex_lock(&s->peer_mu);
	got = *e;
	hit = id != 0 && e->pipe == id;
	pthread_mutex_unlock(&s->peer_mu);
	if (!hit) {
		if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &u) != 0)
			u = (uint64_t)-1;
		if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_GID, &g) != 0)
			g = (uint64_t)-1;
		if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) != 0)
			pid = 0;
		got = (struct peer) { .pipe = id, .uid = (uid_t)u,
			.gid = (gid_t)g };
		got.privileged = got.uid != (uid_t)-1 &&
		    kipc_uid_privileged(got.uid, got.gid, (pid_t)pid);
		pthread_mutex_lock(&s->peer_mu);
		if (id != 0 && got.uid != (uid_t)-1)
			*e = got;
		pthread_mutex_unlock(&s->peer_mu);
	}
	r->uid = got.uid;
	r->gid = got.gid;
	r->privileged = got.privileged;
}

/* nng: a connection is gone; forget its credentials (nng does not reuse a
 * pipe id until 2^31 more have been made, but a slot may be). */
static void
peer_gone(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	kipc_server *s = arg;
	uint32_t     id = (uint32_t)nng_pipe_id(p);
	struct peer *e = &s->peers[id % KIPC_PEERS];

	(void)ev;
	pthread_mutex_lock(&s->peer_mu);
	if (e->pipe == id)
		e->pipe = 0;
	pthread_mutex_unlock(&s->peer_mu);
}

/* The level of an error reply: the request's when this daemon speaks it,
 * else its own (a request from a newer peer learns what we speak). */
static int
reply_level(int v)
{
	return v > 0 && v <= KPROTO_LEVEL ? v : KPROTO_LEVEL;
}

/* Checks method, level and params for daemon (KD_*) called name; returns
 * KE_OK or fills why. */
static int
req_validate(int daemon, const char *name, kipc_req *r, char *why,
    size_t whylen)
{
	r->method = kproto_method_by_name(r->m.method);
	if (r->method == NULL || (r->method->daemons & daemon) == 0) {
		snprintf(why, whylen, "unknown method \"%.64s\" for %s",
		    r->m.method, name);
		return KE_INVALID;
	}
	if (r->m.v > KPROTO_LEVEL || r->method->level > r->m.v) {
		snprintf(why, whylen, "%s needs level %d; %s speaks up to %d, "
		    "the request %d", r->method->name, r->method->level, name,
		    KPROTO_LEVEL, r->m.v);
		return KE_INVALID;
	}
	if (kipc_params_check(r->method, r->m.params, why, whylen) != KE_OK)
		return KE_INVALID;
	if (r->method->access == KA_WRITE && !r->privileged) {
		snprintf(why, whylen, "%s needs root or the admin group",
		    r->method->name);
		return KE_DENIED;
	}
	return KE_OK;
}

/* The reply to sys.hello from the daemon called name; caller frees. */
static char *
hello_text(const char *name, const kipc_req *r, size_t *len)
{
	cJSON *res = cJSON_CreateObject();
	char  *text;

	cJSON_AddStringToObject(res, "name", name);
	cJSON_AddNumberToObject(res, "level", KPROTO_LEVEL);
	text = kipc_encode_ok(r->m.v, r->m.id, res, len);
	cJSON_Delete(res);
	return text;
}

static void
hello(struct kipc_ctx *c, kipc_req *r)
{
	size_t len = 0;
	char  *text = hello_text(c->srv->name, r, &len);

	ctx_send_text(c, text, len);
}

/* Under s->mu: remembered or in-flight write?  Sends and returns true. */
static bool
idem_answer(struct kipc_ctx *c, kipc_req *r)
{
	kipc_server *s = c->srv;
	int          i = idem_find(s, r->uid, r->m.id);

	if (i < 0) {
		r->idem_slot = idem_claim(s, r->uid, r->m.id);
		return false;
	}
	if (s->idem[i].pending) {
		ctx_send_err(c, r->m.v, r->m.id, KE_BUSY,
		    "a request with this id is being worked on");
		return true;
	}
	ctx_send_text(c, strndup(s->idem[i].reply, s->idem[i].len),
	    s->idem[i].len);
	return true;
}

/*
 * Serves r on this thread if the daemon wants it so; true when replied.
 * The reply is bounded like any other.
 */
static bool
serve_inline(struct kipc_ctx *c, kipc_req *r)
{
	kipc_server   *s = c->srv;
	kipc_inline_fn fn;
	void          *arg;
	cJSON         *result = NULL;
	char           why[512] = "", *text;
	size_t         len = 0;
	int            ke;

	if (r->method->access != KA_READ)
		return false;
	pthread_mutex_lock(&s->mu);
	fn = s->inline_fn;
	arg = s->inline_arg;
	pthread_mutex_unlock(&s->mu);
	if (fn == NULL || (ke = fn(arg, r->method, r->m.params, r->privileged,
	                       &result, why, sizeof(why))) == KIPC_QUEUE)
		return false;
	if (ke == KE_OK)
		text = kipc_encode_ok(r->m.v, r->m.id, result, &len);
	else
		text = kipc_encode_err(r->m.v, r->m.id, ke, why, &len);
	cJSON_Delete(result);
	if (text != NULL && len > KPROTO_MAX_MSG) {
		free(text);
		text = kipc_encode_err(r->m.v, r->m.id, KE_TOO_LARGE,
		    "reply exceeds the message bound", &len);
	}
	ctx_send_text(c, text, len);
	return true;
}

static void
enqueue(kipc_server *s, kipc_req *r)
{
	uint64_t one = 1;

	r->next = NULL;
	if (s->tail != NULL)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	/* One write per wake-up, not per request: the loop drains the queue
	 * until kipc_server_next() finds it empty, which reads efd. */
	if (!s->signaled) {
		(void)!write(s->efd, &one, sizeof(one));
		s->signaled = true;
	}
}

static void
on_request(struct kipc_ctx *c, nng_msg *msg)
{
	kipc_server *s = c->srv;
	kipc_req    *r = calloc(1, sizeof(*r));
	char         why[300];
	int          rv;

	if (r == NULL) {
		nng_msg_free(msg);
		ctx_send_err(c, 0, 0, KE_INTERNAL, "out of memory");
		return;
	}
	r->c = c;
	r->idem_slot = -1;
	peer_creds(s, msg, r);
	rv = kipc_decode_request(nng_msg_body(msg), nng_msg_len(msg), &r->m, why,
	    sizeof(why));
	nng_msg_free(msg);
	if (rv == KE_OK)
		rv = req_validate(s->daemon, s->name, r, why, sizeof(why));
	if (rv != KE_OK) {
		ctx_send_err(c, reply_level(r->m.v), r->m.id, rv, why);
		kipc_msg_free(&r->m);
		free(r);
		return;
	}
	if (r->method->id == KM_SYS_HELLO) {
		hello(c, r);
		kipc_msg_free(&r->m);
		free(r);
		return;
	}
	if (serve_inline(c, r)) {
		kipc_msg_free(&r->m);
		free(r);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (r->method->access == KA_WRITE && idem_answer(c, r)) {
		pthread_mutex_unlock(&s->mu);
		kipc_msg_free(&r->m);
		free(r);
		return;
	}
	c->phase = PH_WORK;
	enqueue(s, r);
	pthread_mutex_unlock(&s->mu);
}

/*
 * Frees the request c last answered.  Its tree was parsed on one of nng's
 * threads and is freed on one of them: freed on the daemon's threads
 * instead, its few dozen nodes went to another thread's cache and then,
 * under a lock that nng's threads were taking to allocate the next
 * requests, back to their arena (a fifth of the replier's time).
 */
static void
ctx_reap(struct kipc_ctx *c)
{
	kipc_req *r = c->sent;

	if (r == NULL)
		return;
	c->sent = NULL;
	kipc_msg_free(&r->m);
	free(r);
}

static void
ctx_cb(void *arg)
{
	struct kipc_ctx *c = arg;
	int              rv = nng_aio_result(c->aio);

	if (c->phase != PH_WORK)
		ctx_reap(c);

	switch (c->phase) {
	case PH_RECV:
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		if (rv != 0) {
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		on_request(c, nng_aio_get_msg(c->aio));
		return;
	case PH_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			nng_aio_set_msg(c->aio, NULL);
		}
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		c->phase = PH_RECV;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	case PH_WORK:
		return;
	}
}

/* ---- the daemon's side -------------------------------------------------- */

int
kipc_server_open(kipc_server **sp, const char *path, const char *name,
    int daemon)
{
	kipc_server *s;
	nng_listener l;
	char         url[300];
	int          rv, i;

	*sp = NULL;
	if (snprintf(url, sizeof(url), "ipc://%s", path) >= (int)sizeof(url))
		return KE_INVALID;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KE_INTERNAL;
	s->name = name;
	s->daemon = daemon;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->peer_mu, NULL);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0 || nng_rep0_open(&s->sock) != 0) {
		if (s->efd >= 0)
			close(s->efd);
		free(s);
		return KE_INTERNAL;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG);
	if ((rv = nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, peer_gone,
	         s)) != 0 ||
	    (rv = nng_listener_create(&l, s->sock, url)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0666)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0)
		goto fail;
	for (i = 0; i < KIPC_NCTX; i++) {
		struct kipc_ctx *c = &s->ctxs[i];

		c->srv = s;
		if ((rv = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0 ||
		    (rv = nng_ctx_open(&c->ctx, s->sock)) != 0)
			goto fail;
		c->phase = PH_RECV;
		nng_ctx_recv(c->ctx, c->aio);
	}
	*sp = s;
	return KE_OK;
fail:
	kipc_server_close(s);
	errno = rv == NNG_EADDRINUSE ? EADDRINUSE : EIO;
	return KE_UNAVAILABLE;
}

void
kipc_server_close(kipc_server *s)
{
	kipc_req *r;

	if (s == NULL)
		return;
	nng_close(s->sock);
	for (int i = 0; i < KIPC_NCTX; i++) {
		struct kipc_ctx *c = &s->ctxs[i];

		if (c->aio != NULL) {
			/* A reply sent on nng's thread (sys.hello, an error)
			 * while the socket closed: stopped here, its callback
			 * never runs to free the message (LSan saw it once in
			 * socket_abuse's shutdown). */
			nng_aio_stop(c->aio);
			if (c->phase == PH_SEND)
				nng_msg_free(nng_aio_get_msg(c->aio));
			nng_aio_free(c->aio);
		}
		ctx_reap(c);
	}
	while ((r = s->head) != NULL) {
		s->head = r->next;
		kipc_msg_free(&r->m);
		free(r);
	}
	for (int i = 0; i < KIPC_IDEM; i++)
		free(s->idem[i].reply);
	close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->peer_mu);
	free(s);
}

void
kipc_server_inline(kipc_server *s, kipc_inline_fn fn, void *arg)
{
	pthread_mutex_lock(&s->mu);
	s->inline_fn = fn;
	s->inline_arg = arg;
	pthread_mutex_unlock(&s->mu);
}

int
kipc_server_fd(kipc_server *s)
{
	return s->efd;
}

kipc_req *
kipc_server_next(kipc_server *s)
{
	kipc_req *r;
	uint64_t  n;

	pthread_mutex_lock(&s->mu);
	r = s->head;
	if (r != NULL) {
		s->head = r->next;
		if (s->head == NULL)
			s->tail = NULL;
	} else {
		(void)!read(s->efd, &n, sizeof(n));
		s->signaled = false;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

const kproto_method *
kipc_req_method(const kipc_req *r)
{
	return r->method;
}

cJSON *
kipc_req_params(const kipc_req *r)
{
	return r->m.params;
}

uint64_t
kipc_req_id(const kipc_req *r)
{
	return r->m.id;
}

uid_t
kipc_req_uid(const kipc_req *r)
{
	return r->uid;
}

bool
kipc_req_privileged(const kipc_req *r)
{
	return r->privileged;
}

static void
req_finish(kipc_req *r, char *text, size_t len)
{
	if (text != NULL && len > KPROTO_MAX_MSG) {
		free(text);
		text = kipc_encode_err(r->m.v, r->m.id, KE_TOO_LARGE,
		    "reply exceeds the message bound", &len);
	}
	if (r->c != NULL) {
		struct kipc_ctx *c = r->c;

		idem_store(c->srv, r->idem_slot, text, len);
		c->sent = r; /* r is the context's from here on */
		ctx_send_text(c, text, len);
		return;
	}
	r->local->text = text; /* kipc_req_local_new: the caller's */
	r->local->len = len;
	kipc_msg_free(&r->m);
	free(r);
}

void
kipc_req_reply(kipc_req *r, cJSON *result)
{
	size_t len = 0;
	char  *text = kipc_encode_ok(r->m.v, r->m.id, result, &len);

	cJSON_Delete(result);
	req_finish(r, text, len);
}

void
kipc_req_fail(kipc_req *r, kproto_err e, const char *fmt, ...)
{
	char    why[512];
	size_t  len = 0;
	char   *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* Encode first: the order of evaluation of arguments is unspecified. */
	text = kipc_encode_err(r->m.v, r->m.id, e, why, &len);
	req_finish(r, text, len);
}

/* ---- requests from no socket (kipc_local.h) --------------------------------- */

kipc_req *
kipc_req_local_new(const void *buf, size_t len, int daemon, const char *name,
    bool privileged, kipc_local_reply *out)
{
	kipc_req *r = calloc(1, sizeof(*r));
	char      why[300];
	int       rv;

	out->text = NULL;
	out->len = 0;
	if (r == NULL)
		return NULL;
	r->idem_slot = -1;
	r->local = out;
	r->privileged = privileged;
	r->uid = privileged ? 0 : (uid_t)-1;
	r->gid = privileged ? 0 : (gid_t)-1;
	rv = kipc_decode_request(buf, len, &r->m, why, sizeof(why));
	if (rv == KE_OK)
		rv = req_validate(daemon, name, r, why, sizeof(why));
	if (rv != KE_OK)
		out->text = kipc_encode_err(reply_level(r->m.v),
		    r->m.id, rv, why, &out->len);
	else if (r->method->id == KM_SYS_HELLO)
		out->text = hello_text(name, r, &out->len);
	else
		return r;
	kipc_msg_free(&r->m);
	free(r);
	return NULL;
}
