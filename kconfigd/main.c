/*
 * main.c -- kconfigd (k.configd), SystemK's repository daemon.
 *
 * Theory of operation.  kconfigd is the only process that opens LMDB.  It
 * serves the repo.* and state.* methods of proto/ on RUN_DIR/configd.sock:
 *
 *   kctl ───────┐  nng req/rep (libkipc validates envelope, method, level,
 *   kstartd ────┴▶ params and privilege on nng's threads, then queues)
 *                   │
 *                   ▼  one thread, one poll loop
 *        signalfd ──┤── kipc_server_fd ──▶ kcfgd_dispatch ──▶ repo (LMDB)
 *                                          ──▶ kipc_req_reply / _fail
 *
 * Start-up: args -> log -> paths -> dispatch table checked against proto/
 * -> signals blocked, signalfd -> run dir -> repository (persistent
 * STATE_DIR/repo, volatile RUN_DIR/volatile) -> optional boot import of
 * MANIFEST_DIR -> listen -> readiness (one "\n" on --ready-fd, the fd
 * closed) -> loop.  Readiness is written only once the socket listens and
 * the repository is open, so kinit may start kstartd the moment it reads it.
 *
 * Error policy: a failure before readiness exits with a KEXIT_* code of
 * proto.h (kinit turns it into a reason and a remedy) after one log line.
 * After readiness nothing a request does ends the daemon: every request gets
 * exactly one reply, an error reply included.  Each request is handled to
 * completion (one LMDB transaction, durable before the reply) before the
 * next is taken, so requests are serialised and no lock is needed.
 * SIGTERM and SIGINT close the socket and the environments and exit 0;
 * SIGHUP is logged and ignored.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "handlers.h"
#include "kipc.h"
#include "repo.h"

typedef struct opts {
	kipc_paths paths;
	int        ready_fd;
	bool       boot_import;
} opts;

static void
usage(void)
{
	fprintf(stderr, "usage: kconfigd [--run-dir D] [--state-dir D] "
	                "[--manifest-dir D] [--log-dir D] [--ready-fd N] "
	                "[--boot-import]\n");
}

/* A file descriptor number, or -1. */
static int
parse_fd(const char *s)
{
	char *end;
	long  n;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	return (errno != 0 || *end != '\0' || n < 0 || n > 65535) ? -1 : (int)n;
}

/* 0, or -1 for a usage error (already reported). */
static int
parse_args(opts *o, int argc, char **argv)
{
	const char *env = getenv("SYSTEMK_READY_FD");
	int         i = 1, rc;

	kipc_paths_from_env(&o->paths);
	o->ready_fd = env != NULL ? parse_fd(env) : -1;
	o->boot_import = false;
	while (i < argc) {
		if ((rc = kipc_paths_arg(&o->paths, argc, argv, &i)) == 1)
			continue;
		if (rc < 0) {
			klog_err("unable to parse '%s': missing value", argv[i]);
			return -1;
		}
		if (strcmp(argv[i], "--boot-import") == 0) {
			o->boot_import = true;
			i++;
		} else if (strcmp(argv[i], "--ready-fd") == 0 && i + 1 < argc &&
		    parse_fd(argv[i + 1]) >= 0) {
			o->ready_fd = parse_fd(argv[i + 1]);
			i += 2;
		} else if (strncmp(argv[i], "--ready-fd=", 11) == 0 &&
		    parse_fd(argv[i] + 11) >= 0) {
			o->ready_fd = parse_fd(argv[i] + 11);
			i++;
		} else {
			klog_err("unable to parse '%s': unknown option", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Blocks the signals we handle and returns a signalfd for them, or -1. */
static int
signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE); /* a vanished peer must not kill us */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Readiness: one newline, then the fd is closed (s6 notification-fd). */
static void
notify_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) != 1)
		klog_warn("unable to write readiness to fd %d: %s", fd,
		    strerror(errno));
	close(fd);
}

static void
serve_one(krepo *repo, kipc_req *r)
{
	const kproto_method *m = kipc_req_method(r);
	cJSON               *result = NULL;
	char                 why[KCFG_ERR_MAX] = "";
	int                  ke;

	ke = kcfgd_dispatch(repo, m->id, kipc_req_params(r),
	    kipc_req_privileged(r), &result, why, sizeof(why));
	if (ke == KE_OK)
		kipc_req_reply(r, result);
	else {
		if (ke == KE_INTERNAL)
			klog_err("unable to serve '%s': %s", m->name, why);
		kipc_req_fail(r, ke, "%s", why);
	}
}

/* Returns true when a terminating signal arrived. */
static bool
read_signals(int sfd)
{
	struct signalfd_siginfo si;
	bool                    stop = false;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = true;
		else if (si.ssi_signo == SIGHUP)
			klog_info("SIGHUP ignored: import with 'kctl import'");
	}
	return stop;
}

static void
loop(krepo *repo, kipc_server *srv, int sfd)
{
	struct pollfd pfd[2] = { { .fd = sfd, .events = POLLIN },
		{ .fd = kipc_server_fd(srv), .events = POLLIN } };
	kipc_req     *r;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				klog_err("unable to poll: %s", strerror(errno));
			continue;
		}
		if ((pfd[0].revents & POLLIN) && read_signals(sfd))
			return;
		while ((r = kipc_server_next(srv)) != NULL)
			serve_one(repo, r);
	}
}

/* Everything up to the loop; returns a KEXIT_* code on failure. */
static int
start(const opts *o, krepo **repo, kipc_server **srv, int *sfd)
{
	char why[KCFG_ERR_MAX], sock[512];
	int  dexit = KEXIT_FAILURE, ke;

	if (kcfgd_check_table(why, sizeof(why)) != 0) {
		klog_err("unable to start: %s", why);
		return KEXIT_FAILURE;
	}
	/* Before any LMDB write: a SIGTERM then waits for the loop. */
	if ((*sfd = signals_open()) < 0) {
		klog_err("unable to open 'signalfd': %s", strerror(errno));
		return KEXIT_FAILURE;
	}
	if (kipc_mkdirs(o->paths.run_dir, 0755) != 0) {
		klog_err("unable to create '%s': %s", o->paths.run_dir,
		    strerror(errno));
		return KEXIT_RUNDIR;
	}
	if (kipc_mkdirs(o->paths.state_dir, 0755) != 0) {
		klog_err("unable to create '%s': %s", o->paths.state_dir,
		    strerror(errno));
		return KEXIT_STATEDIR;
	}
	if (krepo_open(repo, o->paths.state_dir, o->paths.run_dir, &dexit, why,
	        sizeof(why)) != KE_OK) {
		klog_err("%s", why);
		return dexit;
	}
	if (o->boot_import)
		kcfgd_boot_import(*repo, o->paths.manifest_dir);
	if (kipc_path_join(sock, sizeof(sock), o->paths.run_dir,
	        KPROTO_SOCK_CONFIGD) != 0) {
		klog_err("unable to listen on '%s/%s': path too long",
		    o->paths.run_dir, KPROTO_SOCK_CONFIGD);
		return KEXIT_SOCKET;
	}
	if ((ke = kipc_server_open(srv, sock, "k.configd", KD_CONFIGD)) !=
	    KE_OK) {
		klog_err("unable to listen on '%s': %s", sock,
		    kproto_err_name(ke));
		return KEXIT_SOCKET;
	}
	return KEXIT_OK;
}

int
main(int argc, char **argv)
{
	opts         o;
	krepo       *repo = NULL;
	kipc_server *srv = NULL;
	int          sfd = -1, rc;

	kipc_log_init("kconfigd");
	if (parse_args(&o, argc, argv) != 0) {
		usage();
		return KEXIT_USAGE;
	}
	if ((rc = start(&o, &repo, &srv, &sfd)) == KEXIT_OK) {
		notify_ready(o.ready_fd);
		klog_info("ready on '%s/%s'", o.paths.run_dir, KPROTO_SOCK_CONFIGD);
		loop(repo, srv, sfd);
		klog_info("stopping");
	}
	if (srv != NULL)
		kipc_server_close(srv);
	krepo_close(repo);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
