/*
 * policy.c -- kinit's pure decisions: how a status reads, how long to back
 * off, which shutdown phase follows which, and what kinit finally exits with.
 */
#include "kinit_core.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int
kinit_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

const char *
kinit_signame(int sig)
{
	const char *n = sigabbrev_np(sig);

	return n != NULL ? n : "?";
}

void
kinit_describe_status(int wstatus, bool daemon, char *buf, size_t len)
{
	if (WIFEXITED(wstatus)) {
		int         code = WEXITSTATUS(wstatus);
		const char *reason = daemon ? kproto_exit_reason(code) : NULL;
		const char *remedy = daemon ? kproto_exit_remedy(code) : NULL;

		if (reason != NULL && remedy != NULL && code != 0)
			snprintf(buf, len, "exited %d: %s; remedy: %s", code,
			    reason, remedy);
		else
			snprintf(buf, len, "exited %d", code);
	} else if (WIFSIGNALED(wstatus)) {
		snprintf(buf, len, "killed by signal %d (SIG%s)%s",
		    WTERMSIG(wstatus), kinit_signame(WTERMSIG(wstatus)),
		    WCOREDUMP(wstatus) ? ", core dumped" : "");
	} else {
		snprintf(buf, len, "ended with wait status %#x", wstatus);
	}
}

int64_t
kinit_backoff_ms(unsigned failures, int64_t base, int64_t max)
{
	int64_t d = base;

	if (failures == 0)
		return 0;
	while (--failures > 0 && d < max)
		d *= 2;
	return d < max ? d : max;
}

enum kinit_phase
kinit_phase_next(enum kinit_phase ph, const kinit_facts *f)
{
	if (ph == KINIT_PH_RUN)
		return f->stopping ? KINIT_PH_MAIN : KINIT_PH_RUN;
	if (ph < KINIT_PH_KILL && f->deadline)
		return KINIT_PH_KILL;
	switch (ph) {
	case KINIT_PH_MAIN:
		return f->main_alive ? ph : KINIT_PH_STARTD;
	case KINIT_PH_STARTD:
		return f->startd_alive ? ph : KINIT_PH_CONFIGD;
	case KINIT_PH_CONFIGD:
		return f->configd_alive ? ph : KINIT_PH_REST;
	case KINIT_PH_REST:
		return f->children ? ph : KINIT_PH_KILL;
	case KINIT_PH_KILL:
		return f->children && !f->kill_expired ? ph : KINIT_PH_DONE;
	default:
		return KINIT_PH_DONE;
	}
}

int
kinit_phase_actions(enum kinit_phase ph)
{
	switch (ph) {
	case KINIT_PH_MAIN: return KINIT_ACT_SIGNAL_MAIN;
	case KINIT_PH_STARTD: return KINIT_ACT_TERM_STARTD;
	case KINIT_PH_CONFIGD: return KINIT_ACT_TERM_CONFIGD;
	case KINIT_PH_REST: return KINIT_ACT_TERM_REST;
	case KINIT_PH_KILL: return KINIT_ACT_KILL_ALL;
	case KINIT_PH_DONE: return KINIT_ACT_EXIT;
	default: return KINIT_ACT_NONE;
	}
}

const char *
kinit_phase_name(enum kinit_phase ph)
{
	static const char *names[] = { "run", "main", "startd", "configd",
		                       "rest", "kill", "done" };

	if ((unsigned)ph < sizeof(names) / sizeof(names[0]))
		return names[ph];
	return "?";
}

int
kinit_final_status(const kinit_outcome *o)
{
	if (!o->has_cmd)
		return o->clean ? 0 : 1;
	if (o->cmd_started)
		return kinit_status_code(o->cmd_status);
	if (o->default_failed)
		return 1;
	if (o->stop_signal > 0)
		return 128 + o->stop_signal;
	return 1;
}
