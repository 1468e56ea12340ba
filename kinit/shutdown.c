/*
 * shutdown.c -- stopping everything, in order, within the grace budget.
 *
 * SIGTERM/SIGINT, kinit.shutdown, the main command's exit or the default
 * milestone failing in main-command mode begin shutdown: the budget
 * (SYSTEMK_GRACE_S, default 8 s) starts, nothing is (re)started any more, and
 * the phases of kinit_core.h run.  The budget's end is published first in
 * RUN_DIR/shutdown-deadline (proto.h: KPROTO_FILE_SHUTDOWN_DEADLINE), so that
 * kstartd can cut its stop timeouts to what is left.  The main command gets
 * the signal; once it has exited kstartd gets SIGTERM (it stops the services
 * in reverse dependency order); then kconfigd; then whatever is left
 * (orphans of a dead kstartd) gets SIGTERM; at the deadline everything gets
 * SIGKILL.  kinit then reaps until no child is left (bounded:
 * KINIT_KILL_WAIT_MS) and exits.
 *
 * "Everything": as PID 1, kill(-1, sig), which spares only kinit itself.  As
 * a subreaper, kill(-1) would hit the whole machine, so kinit walks
 * /proc/[pid]/stat and signals its own descendants only, each through a
 * pidfd whose parent is checked again after opening it (no pid-reuse race).
 */
#include "kinit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KINIT_MAX_PROCS 65536 /* /proc entries considered per sweep */

/* ---- finding and signalling descendants ------------------------------------- */

static int
read_ppid(pid_t pid, pid_t *ppid)
{
	char    path[64], buf[1024];
	ssize_t n;
	int     fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return -1;
	return kinit_stat_ppid(buf, (size_t)n, ppid);
}

/* The (pid, ppid) table of every process; caller frees.  -1 on failure. */
static ssize_t
proc_table(kinit_pp **out)
{
	size_t         n = 0, cap = 256;
	kinit_pp      *t = malloc(cap * sizeof(*t));
	DIR           *d = opendir("/proc");
	struct dirent *e;

	if (t == NULL || d == NULL) {
		free(t);
		if (d != NULL)
			closedir(d);
		return -1;
	}
	while ((e = readdir(d)) != NULL && n < KINIT_MAX_PROCS) {
		char *end;
		long  pid = strtol(e->d_name, &end, 10);
		pid_t ppid;

		if (*end != '\0' || pid <= 0 || read_ppid(pid, &ppid) != 0)
			continue;
		if (n == cap) {
			kinit_pp *nt = realloc(t, 2 * cap * sizeof(*t));

			if (nt == NULL)
				break;
			t = nt;
			cap *= 2;
		}
		t[n].pid = (pid_t)pid;
		t[n].ppid = ppid;
		n++;
	}
	closedir(d);
	*out = t;
	return (ssize_t)n;
}

/* Signals pid through a pidfd if its parent is still ppid; 1 if sent. */
static int
signal_checked(pid_t pid, pid_t ppid, int sig)
{
	pid_t now_ppid;
	int   fd = (int)syscall(SYS_pidfd_open, pid, 0);
	int   sent = 0;

	if (fd < 0)
		return 0;
	if (read_ppid(pid, &now_ppid) == 0 && now_ppid == ppid &&
	    syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == 0)
		sent = 1;
	close(fd);
	return sent;
}

/* Signals every descendant of kinit; returns how many were signalled. */
static int
signal_descendants(int sig)
{
	kinit_pp *t = NULL;
	pid_t    *ds;
	ssize_t   n = proc_table(&t);
	size_t    nd;
	int       sent = 0;

	if (n < 0) {
		klog_err("unable to read '/proc': %s", strerror(errno));
		return 0;
	}
	ds = malloc(((size_t)n + 1) * sizeof(*ds));
	if (ds == NULL) {
		free(t);
		return 0;
	}
	nd = kinit_descendants(t, (size_t)n, getpid(), ds, (size_t)n);
	for (size_t i = 0; i < nd && i < (size_t)n; i++)
		for (ssize_t j = 0; j < n; j++)
			if (t[j].pid == ds[i]) {
				sent += signal_checked(ds[i], t[j].ppid, sig);
				break;
			}
	free(ds);
	free(t);
	return sent;
}

/*
 * As PID 1, processes of the namespace that are not kinit's descendants
 * (entered with setns, as `docker exec` does) are waited for too: any live
 * process but kinit in /proc, if /proc is this namespace's.
 */
static bool
others_alive(const kinit *k)
{
	char           self[16];
	ssize_t        n = readlink("/proc/self", self, sizeof(self) - 1);
	DIR           *d;
	struct dirent *e;
	bool           found = false;

	if (!k->pid1 || n != 1 || self[0] != '1' || (d = opendir("/proc")) == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		char    path[64], buf[512], *p;
		char   *end;
		long    pid = strtol(e->d_name, &end, 10);
		ssize_t r;
		int     fd;

		if (*end != '\0' || pid <= 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		p = strrchr(buf, ')');
		found = p != NULL && p[1] == ' ' && p[2] != 'Z';
	}
	closedir(d);
	return found;
}

/* Signals every process but kinit: the whole namespace as PID 1. */
static int
signal_rest(kinit *k, int sig)
{
	if (k->pid1)
		return kill(-1, sig) == 0 ? 1 : 0;
	return signal_descendants(sig);
}

/* ---- the phases ---------------------------------------------------------------- */

/* RUN_DIR/shutdown-deadline into buf; -1 if it does not fit. */
static int
deadline_path(const kinit *k, char *buf, size_t len)
{
	return kipc_path_join(buf, len, k->o.paths.run_dir,
	    KPROTO_FILE_SHUTDOWN_DEADLINE);
}

void
shutdown_deadline_clear(const kinit *k)
{
	char path[PATH_MAX];

	if (deadline_path(k, path, sizeof(path)) == 0)
		(void)unlink(path);
}

/*
 * Publishes the end of the budget for kstartd (proto.h,
 * KPROTO_FILE_SHUTDOWN_DEADLINE): written to a temporary name and renamed,
 * so a reader sees the whole line or no file.  kstartd's environment was
 * fixed at its exec, hence a file.  A failure is logged; kstartd then uses
 * its own stop timeouts and kinit's SIGKILL at the deadline still holds.
 */
static void
deadline_publish(const kinit *k, int64_t realtime_ms)
{
	char  path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int   e;

	if (deadline_path(k, path, sizeof(path)) != 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (f != NULL) {
		bool written = fprintf(f, "%lld\n", (long long)realtime_ms) > 0;

		if (fclose(f) == 0 && written && rename(tmp, path) == 0)
			return;
		e = errno;
		(void)unlink(tmp);
		errno = e;
	}
	klog_warn("unable to write '%s': %s; kstartd uses its own stop "
	    "timeouts", path, strerror(errno));
}

void
shutdown_begin(kinit *k, int sig, const char *why)
{
	if (k->stopping)
		return;
	k->stopping = true;
	k->stop_signal = sig;
	k->deadline = kinit_now() + k->o.grace_ms;
	deadline_publish(k, kinit_realtime() + k->o.grace_ms);
	klog_info("shutting down (%s); grace %lld ms", why,
	    (long long)k->o.grace_ms);
}

static void
term_daemon(kdaemon *d)
{
	if (d->pid <= 0)
		return;
	d->terminated = true;
	if (kill(d->pid, SIGTERM) != 0)
		klog_warn("unable to signal '%s' (pid %d): %s", d->name,
		    (int)d->pid, strerror(errno));
}

static void __attribute__((noreturn))
finish(kinit *k)
{
	kinit_outcome o = {
		.has_cmd = k->o.cmd != NULL,
		.cmd_started = k->main_started,
		.cmd_status = k->main_status,
		.default_failed = k->default_failed,
		.stop_signal = k->stop_signal,
		.clean = !k->unclean && !k->children,
	};
	int status = kinit_final_status(&o);

	ctl_close_all(k);
	shutdown_deadline_clear(k);
	klog_info("exiting with status %d", status);
	/* The end of shutdown: the one place kinit exits after setup. */
	exit(status);
}

static void
act(kinit *k, int actions, int64_t now)
{
	if (actions & KINIT_ACT_SIGNAL_MAIN)
		main_forward(k, k->stop_signal > 0 ? k->stop_signal : SIGTERM);
	if (actions & KINIT_ACT_TERM_STARTD)
		term_daemon(&k->startd);
	if (actions & KINIT_ACT_TERM_CONFIGD)
		term_daemon(&k->configd);
	if (actions & KINIT_ACT_TERM_REST)
		(void)signal_rest(k, SIGTERM);
	if (actions & KINIT_ACT_KILL_ALL) {
		if (now >= k->deadline) {
			k->unclean = true;
			klog_warn("grace of %lld ms is over: killing what is left",
			    (long long)k->o.grace_ms);
		}
		if (signal_rest(k, SIGKILL) > 0)
			k->unclean = true;
		k->kill_deadline = now + KINIT_KILL_WAIT_MS;
	}
	if (actions & KINIT_ACT_EXIT)
		finish(k);
}

void
shutdown_step(kinit *k, int64_t now)
{
	for (;;) {
		kinit_facts f = {
			.stopping = k->stopping,
			.main_alive = k->main_pid > 0,
			.startd_alive = k->startd.pid > 0,
			.configd_alive = k->configd.pid > 0,
			.children = k->children ||
			    (k->phase >= KINIT_PH_CONFIGD && others_alive(k)),
			.deadline = now >= k->deadline,
			.kill_expired = now >= k->kill_deadline,
		};
		enum kinit_phase next = kinit_phase_next(k->phase, &f);

		if (next == k->phase)
			break;
		k->phase = next;
		act(k, kinit_phase_actions(next), now);
	}
	/* Processes re-parented to a subreaper after the sweep: sweep again. */
	if (k->phase == KINIT_PH_KILL && !k->pid1)
		(void)signal_rest(k, SIGKILL);
}

int64_t
shutdown_next_deadline(const kinit *k)
{
	if (!k->stopping)
		return -1;
	if (k->phase < KINIT_PH_KILL)
		return k->deadline;
	/* While killing, look again soon for re-parented stragglers. */
	return k->phase == KINIT_PH_KILL ? kinit_now() + 50 : -1;
}
