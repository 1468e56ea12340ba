/*
 * maincmd.c -- `kinit [opts] -- CMD ARGS...`: the container's main command.
 *
 * CMD starts once kstartd reports the `default` milestone online
 * (kinit.milestone), so that it finds its services running.  It runs in its
 * own process group, which becomes the terminal's foreground group when
 * stdin is a terminal (so ^C and ^Z reach CMD, as they would under a shell).
 * Signals kinit receives are forwarded to CMD's pid (tini's default; not to
 * its group, so that a USR1 meant for CMD does not kill helpers that never
 * asked for it).  SIGTERM/SIGINT also begin shutdown: CMD gets the signal
 * first, services stop once it has exited.
 *
 * CMD's exit begins shutdown; kinit exits with CMD's status (128+N for signal
 * N; 127 when CMD is not found, 126 when it cannot be executed: the child
 * says why on stderr before it exits).  If `default` fails before CMD ran,
 * kinit shuts down and exits 1 rather than hang.
 */
#include "kinit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void __attribute__((noreturn))
child_exec_cmd(char **cmd, bool tty)
{
	int e;

	(void)setpgid(0, 0);
	/* SIGTTOU is still blocked here (kinit's mask), as tcsetpgrp needs
	 * when called from a background group. */
	if (tty && tcsetpgrp(STDIN_FILENO, getpid()) != 0 && errno != ENOTTY &&
	    errno != ENXIO)
		dprintf(STDERR_FILENO, "kinit: warning: unable to give the "
		    "terminal to '%s': %s\n", cmd[0], strerror(errno));
	child_reset_signals();
	(void)close_range(3, ~0U, 0);
	execvp(cmd[0], cmd);
	e = errno;
	dprintf(STDERR_FILENO, "kinit: error: unable to execute '%s': %s\n",
	    cmd[0], strerror(e));
	_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

static void
main_start(kinit *k)
{
	/* Only hand over a terminal kinit holds in the foreground itself. */
	bool  tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	pid_t pid = fork();

	if (pid == 0)
		child_exec_cmd(k->o.cmd, tty);
	if (pid < 0) {
		/* Without its command the container has no purpose: stop. */
		klog_err("unable to start '%s': fork: %s", k->o.cmd[0],
		    strerror(errno));
		k->main_started = true;
		k->main_status = 126 << 8;
		shutdown_begin(k, 0, "the main command could not be started");
		return;
	}
	(void)setpgid(pid, pid);
	k->main_pid = pid;
	k->main_started = true;
	k->main_status = SIGKILL; /* what it is if never reaped */
	k->main_tty = tty;
	klog_info("started '%s' (pid %d)", k->o.cmd[0], (int)pid);
}

/* Acts on the default milestone in main-command mode. */
void
main_step(kinit *k)
{
	if (k->o.cmd == NULL || k->main_started || k->stopping)
		return;
	if (k->milestone > 0) {
		main_start(k);
	} else if (k->milestone < 0) {
		klog_err("unable to start '%s': milestone 'default' failed; "
		    "shutting down (exit 1); 'kctl explain' names the cause",
		    k->o.cmd[0]);
		k->default_failed = true;
		shutdown_begin(k, 0, "the default milestone failed");
	}
}

void
main_forward(kinit *k, int sig)
{
	if (k->main_pid <= 0)
		return;
	if (kill(k->main_pid, sig) != 0)
		klog_warn("unable to forward SIG%s to pid %d: %s",
		    kinit_signame(sig), (int)k->main_pid, strerror(errno));
}

void
main_exited(kinit *k, int status)
{
	char desc[256];

	kinit_describe_status(status, false, desc, sizeof(desc));
	k->main_pid = 0;
	k->main_status = status;
	/* Take the terminal back; SIGTTOU is blocked in kinit. */
	if (k->main_tty)
		(void)tcsetpgrp(STDIN_FILENO, getpgrp());
	k->main_tty = false;
	klog_info("main command '%s' %s", k->o.cmd[0], desc);
	shutdown_begin(k, 0, "the main command exited");
}
