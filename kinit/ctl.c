/*
 * ctl.c -- kinit.sock: kinit's control socket.
 *
 * A plain AF_UNIX SOCK_SEQPACKET socket (kinit never links nng), mode 0600 in
 * the run dir, carrying the envelope of DESIGN section 4: one request per
 * message, exactly one reply per request.  Peers are known by SO_PEERCRED:
 * uid 0, or kinit's own uid when kinit is not root, may call the kinit.*
 * methods; anyone who can reach the socket may call sys.hello (KA_READ in
 * proto.h); everyone else gets `denied`.
 *
 * Everything is non-blocking: a peer that does not read its reply loses its
 * connection, never kinit's attention.  At most KINIT_MAX_CONNS connections
 * live at once, each closed after KINIT_CONN_IDLE_MS of silence or when a
 * new one needs its slot (the longest silent goes first).
 *
 * Handlers record; the loop acts (shutdown, the main command).  The one
 * exception is kinit.startd_restart, which forks kstartd at once because its
 * reply carries the new pid.
 */
#include "kinit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KINIT_MAX_REQ 65536 /* kinit's requests are small; more is too_large */

typedef int handler_fn(kinit *k, const kconn *c, const cJSON *params,
    cJSON **result, char *why, size_t whylen);

/* ---- handlers -------------------------------------------------------------- */

static int
h_hello(kinit *k, const kconn *c, const cJSON *params, cJSON **result,
    char *why, size_t whylen)
{
	*result = cJSON_CreateObject();
	cJSON_AddStringToObject(*result, "name", "kinit");
	cJSON_AddNumberToObject(*result, "level", KPROTO_LEVEL);
	return KE_OK;
}

static int
h_startd_status(kinit *k, const kconn *c, const cJSON *params,
    cJSON **result, char *why, size_t whylen)
{
	const kdaemon *d = &k->startd;

	*result = cJSON_CreateObject();
	if (d->pid > 0)
		cJSON_AddNumberToObject(*result, "pid", d->pid);
	else
		cJSON_AddNullToObject(*result, "pid");
	cJSON_AddBoolToObject(*result, "running", d->pid > 0);
	cJSON_AddNumberToObject(*result, "restarts",
	    d->starts > 0 ? d->starts - 1 : 0);
	return KE_OK;
}

/*
 * A running kstartd is replaced: it gets KPROTO_SIG_STARTD_HANDOVER (write
 * its states, exit 0, leave the services running) and the next one starts
 * as soon as it has exited (supervise.c), or after KINIT_HANDOVER_MS with
 * SIGKILL if it hangs.  The reply does not wait for the new one.
 */
static int
startd_handover(kinit *k, const kconn *c, cJSON **result, char *why,
    size_t whylen)
{
	kdaemon *d = &k->startd;

	if (d->handover_at == 0) {
		if (kill(d->pid, KPROTO_SIG_STARTD_HANDOVER) != 0) {
			snprintf(why, whylen, "unable to signal kstartd (pid %d): "
			    "%s", (int)d->pid, strerror(errno));
			return KE_INTERNAL;
		}
		d->handover_at = kinit_now() + KINIT_HANDOVER_MS;
		klog_info("kstartd (pid %d) hands over on request of uid %d",
		    (int)d->pid, (int)c->uid);
	}
	*result = cJSON_CreateObject();
	cJSON_AddNumberToObject(*result, "replacing", d->pid);
	return KE_OK;
}

/*
 * Starts kstartd when it is down, or replaces a running one (never with
 * SIGTERM: that stops every service); either way the new kstartd re-adopts
 * the running services.
 */
static int
h_startd_restart(kinit *k, const kconn *c, const cJSON *params,
    cJSON **result, char *why, size_t whylen)
{
	kdaemon *d = &k->startd;

	if (k->stopping) {
		snprintf(why, whylen, "kinit is shutting down");
		return KE_BUSY;
	}
	if (d->pid > 0)
		return startd_handover(k, c, result, why, whylen);
	if (!k->configd.ready) {
		snprintf(why, whylen, "kconfigd is not ready yet; try again");
		return KE_UNAVAILABLE;
	}
	d->want = true;
	d->failures = 0;
	d->restart_at = 0;
	if (sup_start(k, d, kinit_now()) != 0) {
		snprintf(why, whylen, "unable to start kstartd (see kinit's log); "
		    "kinit retries");
		return KE_INTERNAL;
	}
	klog_info("kstartd restarted on request of uid %d", (int)c->uid);
	*result = cJSON_CreateObject();
	cJSON_AddNumberToObject(*result, "pid", d->pid);
	return KE_OK;
}

static int
h_shutdown(kinit *k, const kconn *c, const cJSON *params, cJSON **result,
    char *why, size_t whylen)
{
	char reason[64];

	snprintf(reason, sizeof(reason), "kinit.shutdown from uid %d",
	    (int)c->uid);
	shutdown_begin(k, SIGTERM, reason); /* idempotent */
	return KE_OK;
}

/*
 * Only `default` matters to kinit; its state is recorded and acted on by the
 * loop (main_step).  Repeats are harmless; online after failed (an operator
 * cleared the cause) counts when the main command has not yet run.
 */
static int
h_milestone(kinit *k, const kconn *c, const cJSON *params, cJSON **result,
    char *why, size_t whylen)
{
	const char *name = kipc_json_str(params, "name");
	const char *state = kipc_json_str(params, "state");
	int         m;

	if (strcmp(name, "default") != 0) {
		snprintf(why, whylen, "unknown milestone \"%.64s\": kinit "
		    "follows only \"default\"", name);
		return KE_INVALID;
	}
	if (strcmp(state, "online") == 0) {
		m = 1;
	} else if (strcmp(state, "failed") == 0) {
		m = -1;
	} else {
		snprintf(why, whylen, "state must be \"online\" or \"failed\", "
		    "not \"%.32s\"", state);
		return KE_INVALID;
	}
	if (m != k->milestone)
		klog_info("milestone default is %s", state);
	k->milestone = m;
	return KE_OK;
}

/*
 * Hands over the exit ring and clears it: {"exits": [{"pid": N, "status": S,
 * "time": T}...]}, oldest first.  status is the wait(2) status (exit code
 * << 8, or the signal number, | 0x80 for a core dump); time is milliseconds
 * since the epoch.
 */
static int
h_exits(kinit *k, const kconn *c, const cJSON *params, cJSON **result,
    char *why, size_t whylen)
{
	static kinit_exit out[KINIT_RING_CAP];
	cJSON            *arr;
	size_t            n;

	*result = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(*result, "exits");
	if (arr == NULL) {
		snprintf(why, whylen, "out of memory");
		return KE_INTERNAL;
	}
	n = kinit_ring_drain(&k->ring, out, KINIT_RING_CAP);
	for (size_t i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		if (e == NULL)
			break;
		cJSON_AddNumberToObject(e, "pid", out[i].pid);
		cJSON_AddNumberToObject(e, "status", out[i].status);
		kipc_json_add_int64(e, "time", out[i].time_ms);
		cJSON_AddItemToArray(arr, e);
	}
	return KE_OK;
}

/* ---- the dispatch table, checked against proto.h ------------------------------ */

static const struct {
	kproto_method_id id;
	handler_fn      *fn;
} handlers[] = {
	{ KM_SYS_HELLO, h_hello },
	{ KM_KINIT_STARTD_STATUS, h_startd_status },
	{ KM_KINIT_STARTD_RESTART, h_startd_restart },
	{ KM_KINIT_SHUTDOWN, h_shutdown },
	{ KM_KINIT_MILESTONE, h_milestone },
	{ KM_KINIT_EXITS, h_exits },
};

#define NHANDLERS (sizeof(handlers) / sizeof(handlers[0]))

static handler_fn *
handler_for(kproto_method_id id)
{
	for (size_t i = 0; i < NHANDLERS; i++)
		if (handlers[i].id == id)
			return handlers[i].fn;
	return NULL;
}

/* Every method proto.h gives to kinit has a handler, and no other: 0 or -1. */
int
ctl_check_table(void)
{
	int rc = 0;

	for (int id = 0; id < KM__COUNT; id++) {
		const kproto_method *m = kproto_method_by_id(id);
		bool ours = m != NULL && (m->daemons & KD_KINIT) != 0;

		if (ours != (handler_for(id) != NULL)) {
			klog_err("unable to check the dispatch table: method '%s' "
			    "is %s kinit in proto.h but %s a handler",
			    m != NULL ? m->name : "?", ours ? "served by" :
			    "not served by", ours ? "lacks" : "has");
			rc = -1;
		}
	}
	return rc;
}

/* ---- requests ----------------------------------------------------------------- */

/* Validates m for kinit (method, level, params, privilege); KE_OK or why. */
static int
req_validate(const kconn *c, const kipc_msg *m, const kproto_method **pm,
    char *why, size_t whylen)
{
	const kproto_method *meth = kproto_method_by_name(m->method);

	if (meth == NULL || (meth->daemons & KD_KINIT) == 0) {
		snprintf(why, whylen, "unknown method \"%.64s\" for kinit",
		    m->method);
		return KE_INVALID;
	}
	if (m->v > KPROTO_LEVEL || meth->level > m->v) {
		snprintf(why, whylen, "%s needs level %d; kinit speaks up to %d, "
		    "the request %d", meth->name, meth->level, KPROTO_LEVEL,
		    m->v);
		return KE_INVALID;
	}
	if (kipc_params_check(meth, m->params, why, whylen) != KE_OK)
		return KE_INVALID;
	if (meth->access == KA_WRITE && !c->priv) {
		snprintf(why, whylen, "%s needs root (uid 0) or kinit's own uid",
		    meth->name);
		return KE_DENIED;
	}
	*pm = meth;
	return KE_OK;
}

char *
ctl_req_handle(kinit *k, const kconn *c, const char *buf, size_t n,
    size_t *len)
{
	const kproto_method *meth = NULL;
	char                 why[512] = "";
	cJSON               *result = NULL;
	kipc_msg             m;
	char                *text;
	int                  rv, v;

	rv = kipc_decode_request(buf, n, &m, why, sizeof(why));
	v = m.v > 0 && m.v <= KPROTO_LEVEL ? m.v : KPROTO_LEVEL;
	if (rv == KE_OK)
		rv = req_validate(c, &m, &meth, why, sizeof(why));
	if (rv == KE_OK)
		rv = handler_for(meth->id)(k, c, m.params, &result, why,
		    sizeof(why));
	if (rv == KE_OK)
		text = kipc_encode_ok(v, m.id, result, len);
	else
		text = kipc_encode_err(v, m.id, rv, why, len);
	cJSON_Delete(result);
	kipc_msg_free(&m);
	return text;
}

/* ---- connections ------------------------------------------------------------- */

static void
conn_close(kconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
ctl_open(kinit *k)
{
	struct sockaddr_un sa;
	int                fd;

	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		k->conns[i].fd = -1;
	if (kipc_path_join(k->sock_path, sizeof(k->sock_path),
	    k->o.paths.run_dir, KPROTO_SOCK_KINIT) != 0 ||
	    strlen(k->sock_path) >= sizeof(sa.sun_path)) {
		klog_err("unable to listen on '%s/%s': path too long",
		    k->o.paths.run_dir, KPROTO_SOCK_KINIT);
		return -1;
	}
	/* A socket that answers belongs to a live kinit: never steal it. */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, k->sock_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		klog_err("unable to listen on '%s': another kinit answers there",
		    k->sock_path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	k->lfd = kipc_unix_listen(k->sock_path, 0600);
	if (k->lfd < 0) {
		klog_err("unable to listen on '%s': %s", k->sock_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A free slot; when all are taken, the one silent the longest is closed:
 * a fresh request always gets through, and a peer hoarding connections
 * only loses its own.
 */
static kconn *
conn_slot(kinit *k)
{
	kconn *oldest = &k->conns[0];

	for (int i = 0; i < KINIT_MAX_CONNS; i++) {
		if (k->conns[i].fd < 0)
			return &k->conns[i];
		if (k->conns[i].idle_deadline < oldest->idle_deadline)
			oldest = &k->conns[i];
	}
	conn_close(oldest);
	return oldest;
}

void
ctl_accept(kinit *k)
{
	for (;;) {
		struct ucred cr;
		socklen_t    crlen = sizeof(cr);
		kconn       *c;
		int          fd;

		fd = accept4(k->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors (or memory), the connection
			 * stays queued and the listener readable: without a
			 * pause, PID 1 would spin on it.  One line per
			 * episode, not per try. */
			bool pause = errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM;

			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED && !k->accept_paused)
				klog_warn("unable to accept on '%s': %s%s",
				    k->sock_path, strerror(errno), pause ?
				    " (trying again every 100 ms)" : "");
			k->accept_paused = pause;
			k->accept_at = pause ? kinit_now() + 100 : 0;
			return;
		}
		k->accept_paused = false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0) {
			close(fd);
			continue;
		}
		c = conn_slot(k);
		c->fd = fd;
		c->uid = cr.uid;
		c->pid = cr.pid;
		c->priv = cr.uid == 0 || cr.uid == k->euid;
		c->idle_deadline = kinit_now() + KINIT_CONN_IDLE_MS;
	}
}

void
ctl_readable(kinit *k, kconn *c)
{
	static char buf[KINIT_MAX_REQ];
	char       *reply;
	size_t      len = 0;
	ssize_t     n;

	n = recv(c->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	if ((size_t)n > sizeof(buf)) {
		reply = kipc_encode_err(KPROTO_LEVEL, 0, KE_TOO_LARGE,
		    "request exceeds kinit's 64 KiB", &len);
	} else {
		reply = ctl_req_handle(k, c, buf, (size_t)n, &len);
	}
	if (reply == NULL ||
	    send(c->fd, reply, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		conn_close(c); /* never wait for a slow reader */
	free(reply);
	if (c->fd >= 0)
		c->idle_deadline = kinit_now() + KINIT_CONN_IDLE_MS;
}

void
ctl_expire(kinit *k, int64_t now)
{
	if (k->accept_at > 0 && now >= k->accept_at)
		k->accept_at = 0; /* the listener is polled again */
	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		if (k->conns[i].fd >= 0 && now >= k->conns[i].idle_deadline)
			conn_close(&k->conns[i]);
}

int64_t
ctl_next_deadline(const kinit *k)
{
	int64_t t = k->accept_at > 0 ? k->accept_at : -1;

	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		if (k->conns[i].fd >= 0 &&
		    (t < 0 || k->conns[i].idle_deadline < t))
			t = k->conns[i].idle_deadline;
	return t;
}

void
ctl_close_all(kinit *k)
{
	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		conn_close(&k->conns[i]);
	if (k->lfd >= 0) {
		close(k->lfd);
		(void)unlink(k->sock_path);
	}
	k->lfd = -1;
}
