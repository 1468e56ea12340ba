/*
 * readopt.c -- surviving our own death (DESIGN section 1).
 *
 * Every instance's restarter state goes to kconfigd's volatile namespace
 * (settle.c, batched).  A new kstartd reads it back with state.list before
 * it loads the running snapshots, and for each instance:
 *
 *   - the recorded main process still runs, with the same start time
 *     (/proc/PID/stat field 22, so a recycled pid is not mistaken for it):
 *     it is adopted as it is, not restarted.  It is no longer our child, so
 *     its exit arrives as readability of a pidfd, and its status from
 *     kinit's exit ring (kinit.exits: kinit, the subreaper above us,
 *     reaped it);
 *   - the recorded process is gone (it died while nobody watched): its exit
 *     is fed to the core as if we had seen it, with the status from kinit's
 *     ring when it is there, so the restart policy decides;
 *   - settled states without a process (maintenance, a transient job that
 *     finished, a method-less milestone) are restored;
 *   - temporary enable/disable survives.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kstartd.h"

/* How long an adopted exit waits for kinit to have reaped it. */
#define EXITS_RETRY_MS 20
#define EXITS_GIVE_UP_MS 1000

uint64_t
k_proc_start_ticks(pid_t pid)
{
	char               path[64], buf[1024];
	unsigned long long v = 0;
	ssize_t            n;
	int                fd;
	char              *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;
	/* Field 3 (state) is the first after ')'; start time is field 22. */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &v) != 1)
		return 0;
	/* A zombie has exited: it cannot be adopted. */
	return v;
}

static int
pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Is the process a zombie (exited, not yet reaped)? */
static bool
proc_zombie(pid_t pid)
{
	char  path[64], buf[512];
	int   fd;
	ssize_t n;
	char *p;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

/* ---- kinit's exit ring ---------------------------------------------------- */

/* Appends kinit's ring to k->exits; false when kinit cannot be asked. */
static bool
fetch_exits(kstartd *k)
{
	char         path[300];
	cJSON       *res = NULL, *it;
	const cJSON *arr;
	char        *err = NULL;
	int          rv;

	if (kipc_path_join(path, sizeof path, k->paths.run_dir,
	        KPROTO_SOCK_KINIT) != 0)
		return false;
	rv = kipc_unix_call(path, kproto_method_by_id(KM_KINIT_EXITS)->name,
	    cJSON_CreateObject(), 1000, &res, &err);
	free(err);
	if (rv != KE_OK) {
		cJSON_Delete(res);
		return false;
	}
	if (!k->exits)
		k->exits = cJSON_CreateArray();
	if ((arr = kipc_json_arr(res, "exits")) && k->exits) {
		while ((it = cJSON_DetachItemFromArray((cJSON *)arr, 0)))
			cJSON_AddItemToArray(k->exits, it);
	}
	cJSON_Delete(res);
	return true;
}

/* Takes pid's exit from the cache: true with code and status. */
static bool
take_cached_exit(kstartd *k, pid_t pid, int *code, int *status)
{
	cJSON *it;

	cJSON_ArrayForEach(it, k->exits) {
		int64_t p, ws;

		if (kipc_json_int64(cJSON_GetObjectItemCaseSensitive(it, "pid"),
		        &p) != 0 || p != pid)
			continue;
		if (kipc_json_int64(cJSON_GetObjectItemCaseSensitive(it,
		        "status"), &ws) != 0)
			ws = SIGKILL;
		if (WIFEXITED((int)ws)) {
			*code = CLD_EXITED;
			*status = WEXITSTATUS((int)ws);
		} else {
			*code = WCOREDUMP((int)ws) ? CLD_DUMPED : CLD_KILLED;
			*status = WTERMSIG((int)ws);
		}
		cJSON_Delete(cJSON_DetachItemViaPointer(k->exits, it));
		return true;
	}
	return false;
}

/* ---- adopting ------------------------------------------------------------- */

static int
rec_int(const cJSON *rec, const char *key, int64_t *out)
{
	return kipc_json_int64(cJSON_GetObjectItemCaseSensitive(rec, key), out);
}

static void
restore_counters(inst *in, const cJSON *rec)
{
	int64_t v;

	if (rec_int(rec, "restarts", &v) == 0 && v >= 0)
		in->st.restarts = (uint32_t)v;
	if (rec_int(rec, "delay_ms", &v) == 0 && v >= 0)
		in->st.delay_ms = (uint64_t)v;
}

/* Restores the temporary enable/disable of a previous kstartd. */
static void
restore_temporary(inst *in, const cJSON *rec)
{
	int t = kipc_json_bool(rec, "temporary");

	if (t < 0)
		return;
	in->temporary = true;
	in->temp_enabled = t == 1;
}

bool
k_adopt(kstartd *k, size_t i)
{
	inst        *in = k->insts[i];
	const cJSON *rec = k->recovered ? kipc_json_obj(k->recovered,
	    in->cfg->fmri) : NULL;
	int          state, next;
	int64_t      pid = 0, ticks = 0, v;
	const char  *ns;

	if (!rec)
		return false;
	restore_temporary(in, rec);
	state = svc_st_parse(kipc_json_str(rec, "state"));
	ns = kipc_json_str(rec, "next_state");
	next = ns ? svc_st_parse(ns) : SVC_ST_NONE;
	if (rec_int(rec, "pid", &pid) != 0)
		pid = 0;
	if (rec_int(rec, "start_ticks", &ticks) != 0)
		ticks = 0;
	if (state < 0 || next < 0)
		return false;
	if (!k_enabled(in) && pid <= 0)
		return false; /* nothing runs: the usual DISABLE */
	in->st.enabled = k_enabled(in);
	restore_counters(in, rec);
	if (pid > 0) {
		bool alive = ticks > 0 && !proc_zombie((pid_t)pid) &&
		    k_proc_start_ticks((pid_t)pid) == (uint64_t)ticks;

		in->st.state = (enum svc_st)state;
		in->st.next = (enum svc_st)next;
		in->st.pid = (pid_t)pid;
		in->st.pgid = rec_int(rec, "pgid", &v) == 0 && v > 0 ? (pid_t)v
		                                                   : (pid_t)pid;
		in->st.deps_ok = true;
		in->st.start_mono_ms = k_now_ms();
		in->st.start_wall_ms = k_wall_ms();
		in->start_ticks = (uint64_t)ticks;
		if (alive && (in->pidfd = pidfd_open_((pid_t)pid)) >= 0) {
			svc_log(&k->paths, in->cfg, "adopted pid %ld (%s)",
			    (long)pid, svc_st_name(in->st.state));
			/* Same NOTIFY_SOCKET path, bound anew: STATUS= and
			 * STOPPING=1 keep working for an adopted service. */
			if (in->cfg->model == SVC_MODEL_NOTIFY)
				(void)k_start_env(k, in);
			klog_info("adopted '%s': pid %ld", in->cfg->fmri, (long)pid);
			if (in->st.next != SVC_ST_NONE && in->st.next !=
			    SVC_ST_ONLINE) {
				/* It was being stopped: finish the job. */
				in->timer_at = k_now_ms() +
				    (int64_t)in->cfg->stop.timeout_ms;
				in->timer_kind = SVC_TIMER_STOP;
				in->st.timer = SVC_TIMER_STOP;
				kill(-(pid_t)pid, in->cfg->stop_signal);
			} else if (in->st.next == SVC_ST_ONLINE) {
				in->timer_at = k_now_ms() +
				    (int64_t)in->cfg->start.timeout_ms;
				in->timer_kind = SVC_TIMER_START;
				in->st.timer = SVC_TIMER_START;
			}
			return true;
		}
		/* Gone while nobody watched: the core hears its exit now. */
		in->pidfd = -1;
		k_adopted_exited(k, i, true);
		return true;
	}
	if (state == SVC_ST_MAINTENANCE || state == SVC_ST_ONLINE ||
	    state == SVC_ST_DEGRADED) {
		in->st.state = (enum svc_st)state;
		in->st.next = SVC_ST_NONE;
		in->st.deps_ok = state != SVC_ST_MAINTENANCE;
		if (state == SVC_ST_MAINTENANCE)
			in->st.reason = "in maintenance before kstartd restarted";
		svc_log(&k->paths, in->cfg, "restored %s", svc_st_name(state));
		return true;
	}
	return false;
}

void
k_adopted_exited(kstartd *k, size_t i, bool first)
{
	inst   *in = k->insts[i];
	pid_t   pid = in->st.pid;
	int     code = CLD_KILLED, status = SIGKILL;
	bool    known;

	known = take_cached_exit(k, pid, &code, &status);
	if (!known && fetch_exits(k))
		known = take_cached_exit(k, pid, &code, &status);
	if (!known && !first) {
		/* kinit may not have reaped it yet: ask again shortly. */
		if (!in->exit_wait_since)
			in->exit_wait_since = k_now_ms();
		if (k_now_ms() - in->exit_wait_since < EXITS_GIVE_UP_MS) {
			k->exits_retry_at = k_now_ms() + EXITS_RETRY_MS;
			return;
		}
	}
	in->exit_wait_since = 0;
	if (in->pidfd >= 0) {
		close(in->pidfd);
		in->pidfd = -1;
	}
	if (known)
		svc_log(&k->paths, in->cfg, "exit: pid %ld %s %d%s", (long)pid,
		    code == CLD_EXITED ? "exited" : "killed by signal", status,
		    first ? " while kstartd was down" : "");
	else
		svc_log(&k->paths, in->cfg, "exit: pid %ld is gone, status "
		    "unknown%s", (long)pid, first ? " (while kstartd was down)" : "");
	k_feed_ev(k, i, (svc_event){.type = SVC_EV_EXIT, .pid = pid,
	    .code = code, .status = status});
}

/* Retries the adopted exits that waited for kinit's ring. */
void
k_exits_retry(kstartd *k)
{
	if (!k->exits_retry_at || k_now_ms() < k->exits_retry_at)
		return;
	k->exits_retry_at = 0;
	for (size_t i = 0; i < k->n; i++)
		if (k->insts[i]->exit_wait_since)
			k_adopted_exited(k, i, false);
}

int
k_recover_fetch(kstartd *k, char *why, size_t whylen)
{
	cJSON *res = NULL;
	char  *err = NULL;
	int    rv;

	rv = kipc_call(k->configd, kproto_method_by_id(KM_STATE_LIST)->name,
	    cJSON_CreateObject(), &res, &err);
	if (rv != KE_OK) {
		snprintf(why, whylen, "%s", err ? err : kproto_err_name(rv));
		free(err);
		return rv;
	}
	k->recovered = cJSON_DetachItemFromObjectCaseSensitive(res, "states");
	cJSON_Delete(res);
	/* Exits that happened while nobody watched. */
	(void)fetch_exits(k);
	return KE_OK;
}
