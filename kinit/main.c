/*
 * kinit -- SystemK's process 1.
 *
 * Theory of operation.
 *
 * kinit is PID 1 of a machine or a container, or, started by anything else,
 * a child subreaper (PR_SET_CHILD_SUBREAPER) that plays the same part for
 * its own descendants.  It is small on purpose: no LMDB, no nng, no threads.
 *
 *   kinit ── kconfigd   the repository; restarted with backoff when it dies
 *         ── kstartd    the restarter; restarted only on request
 *         │     └── services (their own sessions)
 *         └─ [CMD]      the main command, in main-command mode
 *
 * Start-up: arguments, log, signals blocked (all catchable ones, at once, so
 * that none is lost while PID 1 still has no way to read them), paths and
 * directories, the daemons found beside kinit's executable (else PATH), the
 * signalfd, kinit.sock.  Then kinit commits to running: after the marked line
 * it never exits except at the end of a shutdown, and an error costs a
 * retry, a log line or an error reply, never kinit.
 *
 * Boot: kconfigd starts with --ready-fd (and --boot-import); once it writes
 * its newline, kstartd starts the same way.  kstartd brings the services up
 * and reports the `default` milestone with kinit.milestone; in main-command
 * mode that starts CMD (maincmd.c).
 *
 * The loop polls the signalfd, the readiness pipes, the kinit.sock listener
 * and its connections, with the earliest deadline (readiness timeouts,
 * restart backoff, idle connections, the shutdown budget) as timeout.  After
 * every wake-up it reaps every zombie (one waitid loop: SIGCHLDs coalesce)
 * and takes one step: start what should run (supervise.c), act on the
 * milestone (maincmd.c), advance the shutdown (shutdown.c).  Handlers only
 * record; the step acts.
 *
 * Signals: SIGCHLD wakes the loop; SIGTERM and SIGINT begin shutdown (and
 * reach the main command first); every other signal but SIGPIPE, SIGTTIN
 * and SIGTTOU (kinit's own) is forwarded to the main command when there is
 * one, and logged and dropped when there is none.
 *
 * Errors: before the line, a problem is reported in the log grammar and kinit
 * exits 1 (2 for a bad command line): failing loudly at once beats a PID 1
 * that runs without its control socket.  A run, state or log dir kinit
 * cannot write (a non-root kinit on a read-only root, left at the defaults)
 * is such a problem; the message names the variable to set.  After the
 * line: see above.
 */
#include "kinit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SYSTEMK_VERSION
#define SYSTEMK_VERSION "0"
#endif

static kinit K; /* the one state, owned by this loop */

int64_t
kinit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
kinit_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kinit [--run-dir D] [--state-dir D] [--manifest-dir D] "
	    "[--log-dir D]\n"
	    "             [--configd PATH] [--startd PATH] "
	    "[--startd-restart=auto|manual]\n"
	    "             [--grace S] [--ready-timeout S] [--] [CMD ARGS...]\n"
	    "SystemK's init: runs kconfigd and kstartd, then CMD if given.\n"
	    "Environment: SYSTEMK_RUN_DIR, SYSTEMK_STATE_DIR, "
	    "SYSTEMK_MANIFEST_DIR,\n"
	    "SYSTEMK_LOG_DIR, SYSTEMK_GRACE_S (shutdown budget, default 8).\n");
}

/* ---- setup ------------------------------------------------------------------ */

/*
 * Every signal is blocked and read from the signalfd, the fault signals
 * too: a real fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) is
 * forced by the kernel whatever the mask, and abort() unblocks SIGABRT, so
 * both still kill (and dump) kinit; but the same signals sent with kill(1)
 * to a kinit that is not PID 1 (not protected by the kernel) no longer end
 * it: they are forwarded or ignored like any other.
 */
static void
block_signals(sigset_t *set)
{
	sigfillset(set);
	sigprocmask(SIG_SETMASK, set, NULL);
}

/* fds 0-2 open, so that no socket or pipe of ours lands there. */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/*
 * The run, state and log dirs must exist and be writable by kinit's uid.  A
 * non-root kinit on a read-only root (the container case) cannot use the
 * defaults under /run, /var/lib and /var/log: the message names the variable
 * (and flag) that points the directory somewhere writable.
 */
static int
make_dirs(const kipc_paths *p)
{
	static const struct {
		size_t      off;
		mode_t      mode;
		const char *env, *flag;
	} dirs[] = {
		{ offsetof(kipc_paths, run_dir), 0755, "SYSTEMK_RUN_DIR",
		  "--run-dir" },
		{ offsetof(kipc_paths, state_dir), 0700, "SYSTEMK_STATE_DIR",
		  "--state-dir" },
		{ offsetof(kipc_paths, log_dir), 0755, "SYSTEMK_LOG_DIR",
		  "--log-dir" },
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		const char *d = (const char *)p + dirs[i].off;
		const char *verb = "create";

		if (kipc_mkdirs(d, dirs[i].mode) == 0) {
			verb = "write to";
			if (access(d, W_OK | X_OK) == 0)
				continue;
		}
		klog_err("unable to %s '%s': %s; set %s (or %s) to a writable "
		    "directory", verb, d, strerror(errno), dirs[i].env,
		    dirs[i].flag);
		return -1;
	}
	return 0;
}

/*
 * The budget as kinit resolved it (flag, environment or default), so that
 * kstartd can cut stop timeouts to what is left after its SIGTERM.
 */
static void
export_grace(int64_t ms)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld.%03lld", (long long)(ms / 1000),
	    (long long)(ms % 1000));
	setenv("SYSTEMK_GRACE_S", v, 1);
}

/*
 * A kinit that starts is a boot: the restarter state of the last one
 * (RUN_DIR/volatile: states, maintenance, temporary enable/disable) must not
 * survive it, even when the run dir is not a tmpfs (a container restarted
 * in place, a test reusing its temp dir).  Only called once kinit.sock is
 * ours, so no live kinit is using it.
 */
static void
clear_volatile(const kipc_paths *p)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char dir[PATH_MAX], f[PATH_MAX];

	if (kipc_path_join(dir, sizeof(dir), p->run_dir, "volatile") != 0)
		return;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (kipc_path_join(f, sizeof(f), dir, files[i]) == 0 &&
		    unlink(f) != 0 && errno != ENOENT)
			klog_warn("unable to remove '%s': %s", f,
			    strerror(errno));
}

static int
setup(kinit *k, int argc, char **argv)
{
	char     why[256];
	sigset_t set;

	block_signals(&set);
	std_fds();
	kipc_log_init("kinit");
	kipc_paths_from_env(&k->o.paths);
	if (kinit_parse_args(&k->o, argc, argv, getenv("SYSTEMK_GRACE_S"), why,
	    sizeof(why)) != 0) {
		klog_err("unable to parse the command line: %s", why);
		usage(stderr);
		exit(2);
	}
	if (k->o.help || k->o.version) {
		if (k->o.help)
			usage(stdout);
		else
			printf("kinit (SystemK) %s\n", SYSTEMK_VERSION);
		exit(0);
	}
	k->pid1 = getpid() == 1;
	k->euid = geteuid();
	k->lfd = -1;
	k->fdch = -1;
	kinit_ring_init(&k->ring);
	if (!k->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		klog_err("unable to become a child subreaper: %s; kinit must be "
		    "PID 1 or a subreaper to reap orphans", strerror(errno));
		return -1;
	}
	if (ctl_check_table() != 0 || sup_init(k) != 0 ||
	    make_dirs(&k->o.paths) != 0)
		return -1;
	kipc_paths_export(&k->o.paths);
	export_grace(k->o.grace_ms);
	shutdown_deadline_clear(k); /* a stale one would mislead kstartd */
	k->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (k->sigfd < 0) {
		klog_err("unable to create a signalfd: %s", strerror(errno));
		return -1;
	}
	if (ctl_open(k) != 0)
		return -1;
	clear_volatile(&k->o.paths);
	klog_info("kinit %s running as %s (pid %d)%s", SYSTEMK_VERSION,
	    k->pid1 ? "PID 1" : "a subreaper", (int)getpid(),
	    k->o.cmd != NULL ? "; main command waits for milestone default" :
	    "");
	return 0;
}

/* ---- signals ---------------------------------------------------------------- */

static void
on_signal(kinit *k, int sig)
{
	switch (sig) {
	case SIGCHLD:
		return; /* the loop reaps after every wake-up */
	case SIGPIPE:
	case SIGTTIN:
	case SIGTTOU:
		return; /* side effects of kinit's own I/O: not for anyone */
	case SIGTERM:
	case SIGINT:
		if (!k->stopping) {
			char why[32];

			snprintf(why, sizeof(why), "SIG%s", kinit_signame(sig));
			shutdown_begin(k, sig, why); /* the main command first */
			return;
		}
		break;
	default:
		break;
	}
	if (k->main_pid > 0)
		main_forward(k, sig);
	else if (sig != SIGCONT && sig != SIGWINCH && sig != SIGURG)
		klog_info("ignoring SIG%s: no main command to forward it to",
		    kinit_signame(sig));
}

static void
read_signals(kinit *k)
{
	struct signalfd_siginfo si;

	while (read(k->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_signal(k, (int)si.ssi_signo);
}

/* ---- the loop --------------------------------------------------------------- */

enum { PFD_SIG, PFD_LISTEN, PFD_CONFIGD, PFD_STARTD, PFD_FDSTORE, PFD_CONN0 };
#define NPFD (PFD_CONN0 + KINIT_MAX_CONNS)

static int
poll_timeout(const kinit *k, int64_t now)
{
	int64_t ts[] = { sup_next_deadline(k), ctl_next_deadline(k),
		         shutdown_next_deadline(k), fdstore_next_deadline(k) };
	int64_t t = -1;

	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		if (ts[i] >= 0 && (t < 0 || ts[i] < t))
			t = ts[i];
	if (t < 0)
		return -1;
	if (t <= now)
		return 0;
	return t - now > 60000 ? 60000 : (int)(t - now);
}

static void
fill_pollfds(const kinit *k, struct pollfd *p)
{
	p[PFD_SIG] = (struct pollfd) { .fd = k->sigfd, .events = POLLIN };
	p[PFD_LISTEN] = (struct pollfd) { .fd = k->accept_at > 0 ? -1 : k->lfd,
		                          .events = POLLIN };
	p[PFD_CONFIGD] = (struct pollfd) { .fd = k->configd.ready_fd,
		                           .events = POLLIN };
	p[PFD_STARTD] = (struct pollfd) { .fd = k->startd.ready_fd,
		                          .events = POLLIN };
	p[PFD_FDSTORE] = (struct pollfd) { .fd = k->fdch, .events = POLLIN };
	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		p[PFD_CONN0 + i] = (struct pollfd) { .fd = k->conns[i].fd,
			                             .events = POLLIN };
}

static void
dispatch(kinit *k, const struct pollfd *p)
{
	if (p[PFD_SIG].revents)
		read_signals(k);
	if (p[PFD_CONFIGD].revents && k->configd.ready_fd >= 0)
		sup_readable(k, &k->configd);
	if (p[PFD_STARTD].revents && k->startd.ready_fd >= 0)
		sup_readable(k, &k->startd);
	if (p[PFD_FDSTORE].revents && k->fdch >= 0 &&
	    k->fdch == p[PFD_FDSTORE].fd)
		fdstore_readable(k);
	for (int i = 0; i < KINIT_MAX_CONNS; i++)
		if (p[PFD_CONN0 + i].revents && k->conns[i].fd >= 0 &&
		    k->conns[i].fd == p[PFD_CONN0 + i].fd)
			ctl_readable(k, &k->conns[i]);
	if (p[PFD_LISTEN].revents)
		ctl_accept(k);
}

static void
step(kinit *k)
{
	int64_t now = kinit_now();

	sup_reap(k);
	ctl_expire(k, now);
	sup_step(k, now);
	fdstore_step(k, now);
	main_step(k);
	shutdown_step(k, now); /* exits at the end of a shutdown */
}

int
main(int argc, char **argv)
{
	kinit         *k = &K;
	struct pollfd  p[NPFD];

	if (setup(k, argc, argv) != 0)
		return 1;

	/* From now on, we must not die: retry, degrade or report. */

	for (;;) {
		step(k);
		fill_pollfds(k, p);
		if (poll(p, NPFD, poll_timeout(k, kinit_now())) < 0) {
			if (errno != EINTR) {
				klog_err("unable to poll: %s", strerror(errno));
				usleep(100 * 1000); /* no busy loop on ENOMEM */
			}
			continue;
		}
		dispatch(k, p);
	}
}
