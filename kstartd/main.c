/*
 * kstartd (k.startd) -- SystemK's restarter.
 *
 * Theory of operation.
 *
 *   kinit ──fork/exec──▶ kstartd ──fork/exec──▶ services (own session each)
 *                          │  ▲
 *      repo.running,       │  │ svc.list/status/enable/disable/reload
 *      repo.set_enabled,   ▼  │ (kctl, over startd.sock)
 *      state.put ──────▶ kconfigd
 *
 * kstartd reads every instance's running snapshot from kconfigd once at
 * start (and on svc.reload or SIGHUP), turns each into a typed svc_config
 * (config.c), builds the dependency graph (graph.c), and drives one
 * restarter state machine per instance (restarter.c).  Those three are pure;
 * this file and its neighbours are the shell that performs their decisions:
 *
 *   args -> log -> signals (blocked, signalfd) -> dial kconfigd ->
 *   repo.running -> listen on startd.sock -> readiness "\n" -> loop
 *
 * Before the first load it reads state.list: what a previous kstartd left
 * in kconfigd's volatile namespace.  Services whose recorded pid still runs
 * with the recorded start time are adopted, not restarted; their exits come
 * through pidfds and kinit's exit ring (readopt.c).
 *
 * The loop is one poll(2) over the signalfd, the server's eventfd, the
 * pidfds of adopted services, the notify sockets, and the earliest deadline
 * (restart delay, start or stop timeout, persist retry, a waiter's timeout,
 * the log rotation check).  Waiting requests (svc.wait, svc.changes) are
 * answered after the settle in which their condition came to hold.
 * Each iteration: reap every exited child (waitid loop: SIGCHLDs coalesce),
 * serve the queued requests, fire due timers, then settle: let the graph
 * start what may start, stop what lost a dependency, report the `default`
 * milestone to kinit, and write changed states to kconfigd in one batch.
 * Nothing in the loop waits on a service; the only blocking calls are the
 * short, bounded requests to kconfigd and kinit.
 *
 * kstartd is a child subreaper, so a daemon that double-forks still exits
 * to us.  Children only exec (nng is not fork-safe), see spawn.c.
 *
 * Error policy: before readiness, a missing kconfigd or socket is fatal with
 * a KEXIT_* code that kinit explains.  After it, kstartd does not exit on
 * errors: a failed spawn is a service failure, a failed state.put is retried.
 * SIGTERM/SIGINT stop every instance in reverse dependency order (stop
 * signal to its process group, SIGKILL at its stop timeout, cut to kinit's
 * shutdown budget from RUN_DIR/shutdown-deadline), persist, and exit 0.
 * SIGHUP re-reads the running snapshots.  KPROTO_SIG_STARTD_HANDOVER (from
 * kinit, for `kctl startd restart`) writes the pending states and exits 0
 * with every service left running, for the next kstartd to adopt.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kstartd.h"

/* How long kstartd tries to reach kconfigd before giving up. */
#define CONFIGD_WAIT_MS 5000

static void
usage(void)
{
	fprintf(stderr, "usage: kstartd [--run-dir DIR] [--state-dir DIR] "
	    "[--manifest-dir DIR] [--log-dir DIR] [--ready-fd N] "
	    "[--fdstore-fd N]\n");
}

/* ---- setup ---------------------------------------------------------------- */

static int
parse_fd(const char *s)
{
	char *end;
	long  n;

	errno = 0;
	n = strtol(s, &end, 10);
	return (errno || *end || end == s || n < 0 || n > 65535) ? -2 : (int)n;
}

/* Returns 0, or -1 on a usage error.  *ready_fd and *store_fd are -1 when
 * not given. */
static int
parse_args(kstartd *k, int argc, char **argv, int *ready_fd, int *store_fd)
{
	const char *env = getenv("SYSTEMK_READY_FD");

	*ready_fd = env && *env ? parse_fd(env) : -1;
	*store_fd = -1;
	for (int i = 1; i < argc;) {
		int rv = kipc_paths_arg(&k->paths, argc, argv, &i);

		if (rv < 0)
			return -1;
		if (rv > 0)
			continue;
		if (strcmp(argv[i], "--ready-fd") == 0 && i + 1 < argc) {
			*ready_fd = parse_fd(argv[i + 1]);
			i += 2;
		} else if (strncmp(argv[i], "--ready-fd=", 11) == 0) {
			*ready_fd = parse_fd(argv[i] + 11);
			i++;
		} else if (strcmp(argv[i], "--fdstore-fd") == 0 && i + 1 < argc) {
			*store_fd = parse_fd(argv[i + 1]);
			i += 2;
		} else {
			return -1;
		}
	}
	unsetenv("SYSTEMK_READY_FD");
	return *ready_fd == -2 || *store_fd == -2 ? -1 : 0;
}

/* fds 0-2 must be open, or a later open() would land there (spawn.c). */
static void
ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);

		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

/* Every signal we care about arrives on the signalfd, never as a handler. */
static int
setup_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, KPROTO_SIG_STARTD_HANDOVER);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	/* A dead kctl must not kill us through a write to its socket. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int
dial_configd(kstartd *k)
{
	char    path[300];
	int64_t deadline = k_now_ms() + CONFIGD_WAIT_MS;
	int     rv;

	if (kipc_path_join(path, sizeof path, k->paths.run_dir,
	        KPROTO_SOCK_CONFIGD) != 0)
		return KE_INVALID;
	for (;;) {
		rv = kipc_client_open(&k->configd, path, KSTARTD_CALL_MS);
		if (rv == KE_OK || k_now_ms() >= deadline)
			break;
		nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	}
	if (rv != KE_OK)
		klog_err("unable to dial '%s': %s", path, kproto_err_name(rv));
	return rv;
}

static int
open_server(kstartd *k)
{
	char path[300];
	int  rv;

	if (kipc_path_join(path, sizeof path, k->paths.run_dir,
	        KPROTO_SOCK_STARTD) != 0)
		return KE_INVALID;
	rv = kipc_server_open(&k->server, path, "k.startd", KD_STARTD);
	if (rv != KE_OK)
		klog_err("unable to listen on '%s': %s", path, kproto_err_name(rv));
	return rv;
}

/* s6-style readiness: one newline on the fd kinit passed, then close it. */
static void
signal_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) != 1)
		klog_warn("unable to write readiness to fd %d: %s", fd,
		    strerror(errno));
	close(fd);
}

/* ---- the loop ------------------------------------------------------------- */

static void
reap(kstartd *k)
{
	svc_log_hold(); /* a burst of exits: one log write per instance */
	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0 ||
		    si.si_pid == 0)
			break;
		k_child_exited(k, si.si_pid, si.si_code, si.si_status);
	}
	svc_log_flush(&k->paths);
}

/*
 * kinit's shutdown budget (proto.h: KPROTO_FILE_SHUTDOWN_DEADLINE) as the
 * monotonic time by which every stop timer must end: the deadline less a
 * margin for kstartd's and kconfigd's own exit (a quarter of what is left,
 * 100 ms to 1 s), so that kstartd, not kinit's final SIGKILL, ends every
 * service.  0 when kinit published none (kstartd run without kinit).
 */
static int64_t
read_stop_deadline(const kstartd *k)
{
	char      path[300], buf[32], *end;
	FILE     *f;
	long long at;
	int64_t   left, margin;

	if (kipc_path_join(path, sizeof path, k->paths.run_dir,
	        KPROTO_FILE_SHUTDOWN_DEADLINE) != 0 || !(f = fopen(path, "re")))
		return 0;
	buf[0] = '\0';
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	errno = 0;
	at = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || at <= 0) {
		klog_warn("unable to use '%s': not a time in ms", path);
		return 0;
	}
	left = (int64_t)at - k_wall_ms();
	margin = left / 4 < 100 ? 100 : left / 4 > 1000 ? 1000 : left / 4;
	klog_info("shutdown budget: %lld ms left; stop timeouts end within "
	    "%lld ms", (long long)left,
	    (long long)(left - margin > 1 ? left - margin : 1));
	return k_now_ms() + (left - margin > 1 ? left - margin : 1);
}

static void
begin_shutdown(kstartd *k, int sig)
{
	if (k->shutting_down)
		return;
	klog_info("stopping every instance (signal %d)", sig);
	k->shutting_down = true;
	k->stop_deadline = read_stop_deadline(k);
	/* Stops already under way get their timers cut to the budget too. */
	for (size_t i = 0; k->stop_deadline && i < k->n; i++)
		if (svc_phase_of(&k->insts[i]->st) == SVC_PH_STOPPING)
			k_feed(k, i, SVC_EV_STOP);
	k_waiters_flush(k);
}

static void
reload(kstartd *k)
{
	char why[256];

	if (k_reload(k, why, sizeof why) != KE_OK)
		klog_err("unable to reload 'repo.running': %s", why);
}

/* Drains the signalfd; exits are reaped by the caller regardless. */
static void
read_signals(kstartd *k)
{
	struct signalfd_siginfo si;

	while (read(k->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_shutdown(k, (int)si.ssi_signo);
			break;
		case SIGHUP:
			if (!k->shutting_down)
				reload(k);
			break;
		case KPROTO_SIG_STARTD_HANDOVER:
			if (!k->shutting_down) {
				klog_info("handing over to the next kstartd: "
				    "services keep running");
				k->handing_over = true;
			}
			break;
		default:
			break;
		}
	}
}

static void
serve(kstartd *k)
{
	kipc_req *r;

	while ((r = kipc_server_next(k->server))) {
		const kproto_method *m = kipc_req_method(r);

		/* Starting things while everything stops would fight shutdown. */
		if (k->shutting_down && m->access == KA_WRITE)
			kipc_req_fail(r, KE_BUSY, "k.startd is shutting down");
		else
			k_handle(k, r);
	}
}

/*
 * The poll set: the signalfd, the server, then one fd per instance that has
 * one: the pidfd of an adopted process, the notify socket.  Rebuilt every
 * iteration (the table changes on reload); *nset is its size.
 */
static struct pollfd *
poll_set(kstartd *k, struct pollfd *pfd, size_t *cap, size_t *nset)
{
	size_t need = 2 + 2 * k->n, n = 2;

	if (need > *cap) {
		struct pollfd *p = realloc(pfd, need * sizeof *p);

		if (!p) {
			*nset = 2;
			return pfd;
		}
		pfd = p;
		*cap = need;
	}
	pfd[0] = (struct pollfd){.fd = k->sigfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = kipc_server_fd(k->server),
	    .events = POLLIN};
	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];

		if (in->pidfd >= 0 && !in->exit_wait_since)
			pfd[n++] = (struct pollfd){.fd = in->pidfd,
			    .events = POLLIN};
		if (in->notify_fd >= 0)
			pfd[n++] = (struct pollfd){.fd = in->notify_fd,
			    .events = POLLIN};
	}
	*nset = n;
	return pfd;
}

/* Adopted exits and notifications whose fds poll reported. */
static void
instance_fds(kstartd *k, const struct pollfd *pfd, size_t nset)
{
	for (size_t j = 2; j < nset; j++) {
		if (!pfd[j].revents)
			continue;
		for (size_t i = 0; i < k->n; i++) {
			inst *in = k->insts[i];

			if (in->pidfd == pfd[j].fd && !in->exit_wait_since) {
				k_adopted_exited(k, i, false);
				break;
			}
			if (in->notify_fd == pfd[j].fd) {
				k_notify_read(k, i);
				break;
			}
		}
	}
}

/*
 * Loading the snapshots and persisting states in batches leave the heap
 * full of freed JSON, fragmented by the configs allocated among it.  Once
 * the loop has been idle TRIM_IDLE_MS after any work, the free pages go
 * back to the kernel: at 1000 instances the resident heap drops from about
 * 9 to 1.5 MiB.  A trim costs tens of microseconds and never delays work.
 */
#define TRIM_IDLE_MS 200

static void
loop(kstartd *k)
{
	struct pollfd *pfd = NULL;
	size_t         cap = 0, nset = 0;
	int            timeout, n;
	bool           trim_due = true, trimming;
	uint64_t       changes = k->changes;
	bool           first = true;

	for (;;) {
		k_settle(k);
		if (first) { /* the load's lines, held in main */
			svc_log_flush(&k->paths);
			first = false;
		}
		/* After k_settle's k_persist, never before: a `kctl wait`
		 * answered means the states it saw are in kconfigd, so a
		 * kstartd SIGKILLed right after it is re-adopted from them
		 * (answering first, a new kstartd started those again). */
		k_waiters_check(k);
		if (k->shutting_down && k_all_down(k))
			break;
		if (k->handing_over)
			break;
		pfd = poll_set(k, pfd, &cap, &nset);
		if (!pfd) {
			nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
			continue;
		}
		timeout = k_poll_timeout(k);
		if (k->changes != changes) {
			changes = k->changes;
			trim_due = true;
		}
		trimming = trim_due && (timeout < 0 || timeout > TRIM_IDLE_MS);
		if (trimming)
			timeout = TRIM_IDLE_MS;
		if ((n = poll(pfd, nset, timeout)) < 0 && errno != EINTR) {
			klog_err("unable to poll: %s", strerror(errno));
			nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
			continue;
		}
		if (n == 0 && trimming) {
			malloc_trim(0);
			trim_due = false;
		} else if (n != 0)
			trim_due = true;
		read_signals(k);
		reap(k);
		instance_fds(k, pfd, nset);
		k_exits_retry(k);
		serve(k);
		k_timers(k);
	}
	free(pfd);
}

int
main(int argc, char **argv)
{
	kstartd k = {.sigfd = -1, .milestone = -1, .fdstore = -1};
	char    why[256];
	int     ready_fd, store_fd;

	kipc_log_init("kstartd");
	/* nng's threads only pass messages: they share the main arena rather
	 * than keep one each (up to 0.8 MiB resident at 1000 services), and
	 * big messages (repo.running: 1 MiB at 1000) always get their own
	 * mapping, given back when freed, instead of glibc's raised dynamic
	 * threshold putting the next one in a heap that then stays large. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	kipc_paths_from_env(&k.paths);
	if (parse_args(&k, argc, argv, &ready_fd, &store_fd) != 0) {
		usage();
		return KEXIT_USAGE;
	}
	ensure_std_fds();
	if (ready_fd >= 0)
		(void)fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
	k_fdstore_load(&k, store_fd); /* before adoption, which takes them */
	kipc_paths_export(&k.paths);
	if ((k.sigfd = setup_signals()) < 0) {
		klog_err("unable to block signals: %s", strerror(errno));
		return KEXIT_FAILURE;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		klog_warn("unable to become a subreaper: %s", strerror(errno));
	k_cgroup_init(&k); /* forking services' cgroups, when we may */
	/* Prepare: the log directory; its absence costs only file logs. */
	if (kipc_mkdirs(k.paths.log_dir, 0755) != 0)
		klog_warn("unable to create '%s': %s", k.paths.log_dir,
		    strerror(errno));
	if (dial_configd(&k) != KE_OK)
		return KEXIT_CONFIGD;
	/* What a previous kstartd left: running services to adopt. */
	if (k_recover_fetch(&k, why, sizeof why) != KE_OK)
		klog_warn("unable to read 'state.list': %s", why);
	/* The load's log lines (a state line per instance: at 1000, 1000
	 * files created) wait until the first pass has spawned (loop). */
	svc_log_hold();
	if (k_reload(&k, why, sizeof why) != KE_OK) {
		svc_log_flush(&k.paths);
		klog_err("unable to read 'repo.running': %s", why);
		return KEXIT_CONFIGD;
	}
	if (open_server(&k) != KE_OK) {
		svc_log_flush(&k.paths);
		return KEXIT_SOCKET;
	}
	cJSON_Delete(k.recovered); /* adoption happens at the first load only */
	k.recovered = NULL;
	k_fdstore_prune(&k);
	signal_ready(ready_fd);
	klog_info("ready: %zu instances", k.n);
	loop(&k);
	/* Under kinit's shutdown (it published a deadline) the volatile
	 * namespace ends with this boot (kinit clears it at the next), so the
	 * last states would be written for nobody: only what is due for the
	 * repository itself goes.  Otherwise a later kstartd reads them. */
	for (size_t i = 0; k.stop_deadline && i < k.n; i++)
		k.insts[i]->dirty = false;
	k_persist(&k);
	/* Shutting down: none, refused since it began.  Handing over (the
	 * next kstartd re-adopts the services from the states just written):
	 * waiting clients are told to come again, and kctl wait retries. */
	k_waiters_flush(&k);
	k_ring_free(&k);
	if (k.handing_over) {
		klog_info("handed over: services, cgroups and logs left as they "
		    "are");
	} else {
		klog_info("every instance is stopped");
		k_cgroup_cleanup(&k);
	}
	kipc_server_close(k.server);
	kipc_client_close(k.configd);
	k_free(&k);
	return KEXIT_OK;
}
