/*
 * supervise.c -- kinit's two daemons, and reaping.
 *
 * A daemon is down (pid 0), starting (pid, readiness pipe open) or up
 * (ready).  sup_step() starts what should run: kconfigd whenever it is down
 * and its backoff has passed; kstartd when it is wanted, kconfigd is up, and
 * its own backoff has passed.  Readiness is one newline on the pipe kinit
 * passes as --ready-fd (s6-style); a daemon that has not written it within
 * the readiness timeout is killed and takes its exit path.
 *
 * Exits: kconfigd is restarted with exponential backoff (100 ms doubling to
 * 30 s; it starts over after 10 s up).  kstartd is restarted only with
 * --startd-restart=auto; otherwise it stays down until kinit.startd_restart
 * (`kctl startd restart`).  Its services live on: they are re-parented to
 * kinit and their exits land in the exit ring for the next kstartd.
 *
 * Every process kinit forks gets a clean slate before exec: default signal
 * dispositions, an empty mask, only fds 0-2 (plus the readiness fd), its own
 * process group (so a terminal's ^C reaches kinit, not the daemons directly).
 */
#include "kinit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_FD 3 /* the fd number daemons get for --ready-fd */
#define STORE_FD 4 /* kstartd's end of its fd store (--fdstore-fd) */

/* ---- finding the daemons -------------------------------------------------- */

static bool
executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Searches PATH for name; 0 with the result in out, or -1. */
static int
search_path(const char *name, char *out, size_t len)
{
	const char *p = getenv("PATH");
	char        dirs[4096];
	char       *save = NULL, *dir;

	if (p == NULL || *p == '\0')
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	snprintf(dirs, sizeof(dirs), "%s", p);
	for (dir = strtok_r(dirs, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		if (*dir == '\0' || kipc_path_join(out, len, dir, name) != 0)
			continue;
		if (executable(out))
			return 0;
	}
	return -1;
}

/*
 * The daemon's path: the override as given, else beside kinit's own
 * executable, else from PATH.  Fails loudly: this runs before kinit commits
 * to running.
 */
static int
find_daemon(kdaemon *d, const char *override, const char *self_dir)
{
	if (override != NULL) {
		if (strchr(override, '/') == NULL &&
		    search_path(override, d->path, sizeof(d->path)) == 0)
			return 0;
		snprintf(d->path, sizeof(d->path), "%s", override);
		if (executable(d->path))
			return 0;
		klog_err("unable to use '%s' as %s: %s", override, d->name,
		    strerror(errno));
		return -1;
	}
	if (self_dir != NULL &&
	    kipc_path_join(d->path, sizeof(d->path), self_dir, d->name) == 0 &&
	    executable(d->path))
		return 0;
	if (search_path(d->name, d->path, sizeof(d->path)) == 0)
		return 0;
	klog_err("unable to find '%s': not beside kinit (%s) nor in PATH",
	    d->name, self_dir != NULL ? self_dir : "unknown");
	return -1;
}

static void
daemon_init(kdaemon *d, const char *name, bool restart_auto)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->restart_auto = restart_auto;
	d->want = true;
	d->ready_fd = -1;
}

int
sup_init(kinit *k)
{
	char    self[PATH_MAX];
	char   *dir = NULL;
	ssize_t n;

	daemon_init(&k->configd, "kconfigd", true);
	daemon_init(&k->startd, "kstartd", k->o.startd_auto);
	k->configd.boot_import = true;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
	} else {
		klog_warn("unable to read '/proc/self/exe': %s; searching PATH",
		    strerror(errno));
	}
	if (find_daemon(&k->configd, k->o.configd, dir) != 0 ||
	    find_daemon(&k->startd, k->o.startd, dir) != 0)
		return -1;
	return 0;
}

/* ---- spawning ------------------------------------------------------------ */

void
child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t         none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child: stdin from /dev/null, ready_fd as fd 3, store_fd (when
 * >= 0) as fd 4, nothing else. */
static void
child_fds(int ready_fd, int store_fd)
{
	int r = fcntl(ready_fd, F_DUPFD, 10); /* F_DUPFD clears CLOEXEC */
	int s = store_fd >= 0 ? fcntl(store_fd, F_DUPFD, 10) : -1;
	int n = open("/dev/null", O_RDONLY);

	/* Never a daemon with argv naming a descriptor it does not have. */
	if (r < 0 || (store_fd >= 0 && s < 0)) {
		dprintf(STDERR_FILENO, "kinit: error: unable to pass "
		    "descriptors to a daemon: %s\n", strerror(errno));
		_exit(126);
	}

	if (n > 0) {
		dup2(n, STDIN_FILENO);
		close(n);
	}
	dup2(r, READY_FD);
	close(r);
	if (s >= 0) {
		dup2(s, STORE_FD);
		close(s);
	}
	(void)close_range(s >= 0 ? STORE_FD + 1 : READY_FD + 1, ~0U, 0);
}

static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], int ready_fd, int store_fd)
{
	int e;

	(void)setpgid(0, 0);
	child_reset_signals();
	child_fds(ready_fd, store_fd);
	execv(path, argv);
	e = errno;
	dprintf(STDERR_FILENO, "kinit: error: unable to execute '%s': %s\n",
	    path, strerror(e));
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

int
sup_start(kinit *k, kdaemon *d, int64_t now)
{
	char  rfd[16], sfd[16];
	char *argv[18];
	int   p[2], a = 0, store = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		klog_err("unable to start '%s': pipe: %s", d->name,
		    strerror(errno));
		goto retry;
	}
	snprintf(rfd, sizeof(rfd), "%d", READY_FD);
	argv[a++] = d->path;
	argv[a++] = "--run-dir", argv[a++] = k->o.paths.run_dir;
	argv[a++] = "--state-dir", argv[a++] = k->o.paths.state_dir;
	argv[a++] = "--manifest-dir", argv[a++] = k->o.paths.manifest_dir;
	argv[a++] = "--log-dir", argv[a++] = k->o.paths.log_dir;
	argv[a++] = "--ready-fd", argv[a++] = rfd;
	if (d->boot_import)
		argv[a++] = "--boot-import";
	if (d == &k->startd && (store = fdstore_open(k)) >= 0) {
		snprintf(sfd, sizeof(sfd), "%d", STORE_FD);
		argv[a++] = "--fdstore-fd", argv[a++] = sfd;
	}
	argv[a] = NULL;

	pid = fork();
	if (pid == 0)
		child_exec(d->path, argv, p[1], store);
	close(p[1]);
	if (store >= 0)
		close(store);
	if (pid < 0) {
		klog_err("unable to start '%s': fork: %s", d->name,
		    strerror(errno));
		close(p[0]);
		goto retry;
	}
	(void)setpgid(pid, pid); /* also here: no race with our signals */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	d->pid = pid;
	d->ready_fd = p[0];
	d->ready = false;
	d->ready_eof = false;
	d->terminated = false;
	d->started_at = now;
	d->ready_deadline = now + k->o.ready_ms;
	d->starts++;
	if (d->boot_import)
		d->import_tries++;
	klog_info("started %s (pid %d)%s", d->name, (int)pid,
	    d->boot_import ? " with --boot-import" : "");
	return 0;
retry:
	d->failures++;
	d->restart_at = now + kinit_backoff_ms(d->failures, KINIT_BACKOFF_BASE,
	    KINIT_BACKOFF_MAX);
	return -1;
}

/* ---- readiness ------------------------------------------------------------- */

static void
ready_close(kdaemon *d)
{
	if (d->ready_fd >= 0)
		close(d->ready_fd);
	d->ready_fd = -1;
}

void
sup_readable(kinit *k, kdaemon *d)
{
	char    buf[64];
	ssize_t n;

	while ((n = read(d->ready_fd, buf, sizeof(buf))) > 0) {
		if (memchr(buf, '\n', (size_t)n) == NULL)
			continue;
		ready_close(d);
		d->ready = true;
		if (d->boot_import)
			d->boot_import = false; /* the import happened */
		klog_info("%s is ready (pid %d)", d->name, (int)d->pid);
		return;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* Closed without a newline: usually it is dying (its exit
		 * says why); if it lingers, the readiness timeout says so. */
		d->ready_eof = true;
		ready_close(d);
	}
}

/* A daemon that did not become ready in time is killed; its exit follows. */
static void
ready_check(kinit *k, kdaemon *d, int64_t now)
{
	if (d->pid <= 0 || d->ready || d->terminated || now < d->ready_deadline)
		return;
	klog_err("unable to start '%s': not ready within %lld ms%s; killing "
	    "pid %d", d->name, (long long)k->o.ready_ms, d->ready_eof ?
	    " (it closed its readiness fd without a newline)" : "",
	    (int)d->pid);
	(void)kill(d->pid, SIGKILL);
	d->terminated = true; /* once */
	ready_close(d);
}

/* ---- exits ----------------------------------------------------------------- */

static void
daemon_exited(kinit *k, kdaemon *d, int status, int64_t now)
{
	char desc[512];
	bool up_long = d->ready && now - d->started_at >= KINIT_STABLE_MS;

	kinit_describe_status(status, true, desc, sizeof(desc));
	ready_close(d);
	if (d == &k->startd)
		fdstore_gone(k);
	d->pid = 0;
	d->ready = false;
	if (d->handover_at != 0 && !k->stopping) {
		/* `kctl startd restart`: the next one starts now. */
		d->handover_at = 0;
		d->want = true;
		d->failures = 0;
		d->restart_at = now;
		klog_info("%s handed over (%s); starting the next one", d->name,
		    desc);
		return;
	}
	d->handover_at = 0;
	if (k->stopping) {
		if (status != 0) {
			k->unclean = true;
			klog_warn("unable to stop '%s' cleanly: %s", d->name,
			    desc);
		} else {
			klog_info("%s stopped", d->name);
		}
		return;
	}
	klog_err("unable to keep '%s' running: %s", d->name, desc);
	if (d->boot_import && d->import_tries >= KINIT_IMPORT_TRIES) {
		klog_err("unable to import '%s': %s failed %u times with "
		    "--boot-import; starting it without", k->o.paths.manifest_dir,
		    d->name, d->import_tries);
		d->boot_import = false;
	}
	d->failures = up_long ? 1 : d->failures + 1;
	if (!d->restart_auto) {
		d->want = false;
		klog_info("%s is not restarted automatically; run 'kctl startd "
		    "restart' (or start kinit with --startd-restart=auto)",
		    d->name);
		return;
	}
	d->restart_at = now + kinit_backoff_ms(d->failures, KINIT_BACKOFF_BASE,
	    KINIT_BACKOFF_MAX);
	klog_info("restarting %s in %lld ms", d->name,
	    (long long)(d->restart_at - now));
}

/* The wait(2) status of what waitid reported. */
static int
wait_status(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED: return (si->si_status & 0xff) << 8;
	case CLD_KILLED: return si->si_status & 0x7f;
	case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
	default: return 0;
	}
}

static void
reaped(kinit *k, pid_t pid, int status, int64_t now)
{
	if (pid == k->configd.pid)
		daemon_exited(k, &k->configd, status, now);
	else if (pid == k->startd.pid)
		daemon_exited(k, &k->startd, status, now);
	else if (pid == k->main_pid)
		main_exited(k, status);
	else if (kinit_ring_push(&k->ring, pid, status, kinit_realtime()) &&
	    k->ring.dropped == 1)
		klog_warn("unable to keep every orphan's exit: the ring of %d "
		    "is full; the oldest are dropped until kstartd fetches them",
		    KINIT_RING_CAP);
}

/*
 * Reaps every zombie: SIGCHLDs coalesce, so one signal may stand for many
 * exits.  Records whether any child is left (a shutdown fact).
 */
void
sup_reap(kinit *k)
{
	int64_t now = kinit_now();

	for (;;) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0) {
			if (errno == EINTR)
				continue;
			k->children = false; /* ECHILD */
			return;
		}
		if (si.si_pid == 0) {
			k->children = true;
			return;
		}
		reaped(k, si.si_pid, wait_status(&si), now);
	}
}

/* ---- the step ------------------------------------------------------------- */

void
sup_step(kinit *k, int64_t now)
{
	ready_check(k, &k->configd, now);
	ready_check(k, &k->startd, now);
	if (k->stopping)
		return;
	if (k->startd.pid > 0 && k->startd.handover_at != 0 &&
	    now >= k->startd.handover_at) {
		klog_warn("unable to replace kstartd cleanly: pid %d did not hand "
		    "over within %d ms; killing it (services keep running)",
		    (int)k->startd.pid, KINIT_HANDOVER_MS);
		(void)kill(k->startd.pid, SIGKILL);
		k->startd.handover_at = now + KINIT_HANDOVER_MS;
	}
	if (k->configd.pid == 0 && now >= k->configd.restart_at)
		(void)sup_start(k, &k->configd, now);
	if (k->startd.pid == 0 && k->startd.want && k->configd.ready &&
	    now >= k->startd.restart_at)
		(void)sup_start(k, &k->startd, now);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* The next time sup_step has something to do, or -1. */
int64_t
sup_next_deadline(const kinit *k)
{
	const kdaemon *ds[2] = { &k->configd, &k->startd };
	int64_t        t = -1;

	for (int i = 0; i < 2; i++) {
		const kdaemon *d = ds[i];

		if (d->pid > 0 && !d->ready && !d->terminated)
			t = earliest(t, d->ready_deadline);
		if (d->pid > 0 && d->handover_at != 0 && !k->stopping)
			t = earliest(t, d->handover_at);
		if (d->pid == 0 && d->want && !k->stopping &&
		    (d == &k->configd || k->configd.ready))
			t = earliest(t, d->restart_at);
	}
	return t;
}
