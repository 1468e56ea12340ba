/*
 * libFuzzer target: kinit's control-socket request path.  The bytes of one
 * message go through ctl_req_handle() (decode, method, level, params and
 * privilege checks, the handler, the encoded reply), as ctl_readable() would
 * pass them, against a fresh struct kinit in each of several views: an
 * unprivileged peer, and a privileged one with kstartd down, kconfigd not
 * ready, shutdown under way.
 *
 * No process is forked or signalled (kill and fork are wrapped to abort, as
 * a guard).  The handlers only set flags, except kinit.startd_restart: it
 * signals a running kstartd (so the struct never holds a daemon pid) and
 * forks a new one through sup_start(), stubbed here (supervise.c is not
 * linked) to fail as a failed fork(2) would.  The exit ring's pids are
 * above PID_MAX_LIMIT and only reported.  kinit.shutdown
 * runs the real shutdown_begin(), which only sets flags and writes
 * RUN_DIR/shutdown-deadline into a temp dir.  main_forward() is reachable
 * only from shutdown_step(), never from a handler: stubbed to abort.
 *
 * Any crash, leak or UB is a bug, and so is a reply that kinit's own client
 * could not decode, or that does not answer the request's id: exactly one
 * well-formed reply per request (DESIGN section 4).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kinit.h"

/* Above the kernel's PID_MAX_LIMIT (2^22): never a real process. */
#define FUZZ_FAKE_PID ((pid_t)0x40000000)

static char run_dir[64];

/* ---- the seams: supervise.c and main.c are not linked --------------------- */

/* The guard (-Wl,--wrap, see kinit.cmake): no handler forks or signals. */
int   __wrap_kill(pid_t pid, int sig);
pid_t __wrap_fork(void);

int
__wrap_kill(pid_t pid, int sig)
{
	fprintf(stderr, "fuzz: kinit would send signal %d to %d\n", sig,
	    (int)pid);
	abort();
}

pid_t
__wrap_fork(void)
{
	fprintf(stderr, "fuzz: kinit would fork\n");
	abort();
}

/* As when fork(2) fails: no pid ever enters the struct. */
int
sup_start(kinit *k, kdaemon *d, int64_t now)
{
	(void)k;
	d->restart_at = now + KINIT_BACKOFF_BASE;
	return -1;
}

void
main_forward(kinit *k, int sig)
{
	(void)k;
	(void)sig;
	abort(); /* only shutdown_step() signals the main command */
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
kinit_now(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
kinit_realtime(void)
{
	return clock_ms(CLOCK_REALTIME);
}

/* ---- the views -------------------------------------------------------------- */

/* kstartd is never running: a restart would signal its pid (handover). */
static const struct view {
	bool priv;
	bool configd_ready;
	bool stopping;
} views[] = {
	{ false, true, false },
	{ true, true, false },
	{ true, false, false },
	{ true, true, true },
};

static void
kinit_setup(kinit *k, const struct view *v)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->o.paths.run_dir, sizeof(k->o.paths.run_dir), "%s", run_dir);
	k->o.grace_ms = KINIT_GRACE_MS_DEFAULT;
	k->euid = 0;
	k->sigfd = -1;
	k->lfd = -1;
	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		k->conns[i].fd = -1;
	k->configd.name = "kconfigd";
	k->configd.ready_fd = -1;
	k->configd.ready = v->configd_ready;
	k->startd.name = "kstartd";
	k->startd.ready_fd = -1;
	k->startd.starts = 3; /* it ran and died */
	k->stopping = v->stopping;
	kinit_ring_init(&k->ring);
	for (int i = 0; i < 3; i++)
		kinit_ring_push(&k->ring, FUZZ_FAKE_PID + 1 + i, i << 8,
		    1700000000000LL + i);
}

/* RUN_DIR/shutdown-deadline, and the dir: gone at exit. */
static void
tmp_remove(void)
{
	kinit k = { 0 };

	snprintf(k.o.paths.run_dir, sizeof(k.o.paths.run_dir), "%s", run_dir);
	shutdown_deadline_clear(&k);
	(void)rmdir(run_dir);
}

/* The reply must decode as one, answering the request's id if it had one. */
static void
check_reply(const char *reply, size_t len, const uint8_t *data, size_t size)
{
	kipc_msg req, rep;
	char     why[256];
	int      rv = kipc_decode_request(data, size, &req, why, sizeof(why));

	if (reply == NULL || kipc_decode_reply(reply, len, &rep, why,
	    sizeof(why)) != KE_OK) {
		fprintf(stderr, "fuzz: undecodable reply: %s: %.*s\n",
		    reply != NULL ? why : "none", (int)len,
		    reply != NULL ? reply : "");
		abort();
	}
	if (rv == KE_OK && rep.id != req.id) {
		fprintf(stderr, "fuzz: reply id %llu to request id %llu\n",
		    (unsigned long long)rep.id, (unsigned long long)req.id);
		abort();
	}
	kipc_msg_free(&req);
	kipc_msg_free(&rep);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/fuzz-kinit.XXXXXX";

	(void)argc;
	(void)argv;
	kipc_log_init("fuzz");
	if (ctl_check_table() != 0 || mkdtemp(tmpl) == NULL)
		abort();
	snprintf(run_dir, sizeof(run_dir), "%s", tmpl);
	atexit(tmp_remove);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kinit k; /* large: the exit ring */

	if (size > 65536)
		return 0; /* ctl_readable() answers too_large before this */
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		kconn  c = { .fd = -1, .uid = views[i].priv ? 0 : 1000,
			.pid = 1234, .priv = views[i].priv };
		size_t len = 0;
		char  *reply;

		kinit_setup(&k, &views[i]);
		reply = ctl_req_handle(&k, &c, (const char *)data, size, &len);
		check_reply(reply, len, data, size);
		free(reply);
	}
	return 0;
}
