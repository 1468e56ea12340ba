/*
 * instance.c -- the instance table: where events meet the core and actions
 * meet the system.
 *
 * k_feed_ev() is the only caller of svc_step().  Actions are performed in
 * the order the core gave them; a spawn's outcome becomes the SPAWNED event,
 * fed after the current actions so that log lines keep their order.
 * Graph-level consequences (who may start now, who must stop because a
 * dependency left) are computed once per loop iteration in k_settle(), never
 * from inside an action, so nothing recurses through the graph.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kstartd.h"

/* ---- lookup --------------------------------------------------------------- */

long
k_find(const kstartd *k, const char *fmri)
{
	if (k->graph)
		return kgraph_find(k->graph, fmri);
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->insts[i]->cfg->fmri, fmri) == 0)
			return (long)i;
	return -1;
}

bool
k_enabled(const inst *in)
{
	return in->temporary ? in->temp_enabled : in->cfg->enabled;
}

/* ---- performing actions --------------------------------------------------- */

/*
 * Is pgid no longer the service's group?  The kernel keeps a pid number
 * while a group of that id has members, so once the leader is reaped, a
 * live process with that pid is a stranger that got the number again (and
 * may lead a group of its own: timeout(1) and shells do), and the
 * service's group is empty.  Without this, the group of a main process
 * that exited long ago (an exit kstartd learns from kinit's ring after its
 * own restart) would be killed under another process's feet.
 */
static bool
group_reused(const inst *in, pid_t pgid)
{
	if (pgid == in->st.pid)
		return false; /* the main process, not reaped yet */
	return kill(pgid, 0) == 0 || errno == EPERM;
}

/*
 * kill(-pgid) with guards: pgid 0 or 1 would hit kstartd or everyone, and
 * a reused pgid someone else.  True when some process received it.
 */
static bool
signal_group(const inst *in, pid_t pgid, int sig)
{
	if (pgid <= 1) {
		klog_err("unable to signal '%s': no process group",
		    in->cfg->fmri);
		return false;
	}
	if (group_reused(in, pgid))
		return false;
	if (kill(-pgid, sig) == 0)
		return true;
	if (errno != ESRCH)
		klog_err("unable to signal '%s': %s", in->cfg->fmri,
		    strerror(errno));
	return false;
}

/*
 * The main process's group now, when it is not pgid: a forking daemon
 * found before it called setsid(2) was recorded with its start method's
 * group, which it left a moment later.  Signalling that group too keeps
 * the stop from missing the daemon.  0 when there is nothing more.
 */
static pid_t
moved_group(const inst *in, pid_t pgid)
{
	pid_t cur;

	if (in->st.pid <= 1 || in->cfg->model != SVC_MODEL_FORKING)
		return 0;
	cur = getpgid(in->st.pid);
	return cur > 1 && cur != pgid ? cur : 0;
}

static void
spawn_start(kstartd *k, inst *in, svc_event *next)
{
	char **argv = svc_method_argv(in->cfg, &in->cfg->start, in->st.pid);
	char   why[512] = "out of memory";
	int    err = ENOMEM;
	pid_t  pid = -1;
	int    cg = argv ? k_cgroup_open(k, in->cfg) : -1; /* forking only */

	if (argv)
		pid = spawn_method_cg(&k->paths, in->cfg, argv, "start",
		    k_start_env(k, in), cg, &err, why, sizeof why);
	if (cg >= 0)
		close(cg);
	*next = (svc_event){.type = SVC_EV_SPAWNED, .pid = pid > 0 ? pid : 0,
	    .err = pid > 0 ? 0 : err};
	if (pid > 0) {
		in->start_ticks = k_proc_start_ticks(pid);
		if (!in->tl_start_ms) /* the boot timeline: the first start */
			in->tl_start_ms = k_wall_ms();
		svc_log(&k->paths, in->cfg, "start: pid %ld: %s", (long)pid,
		    argv[0]);
	} else {
		svc_log(&k->paths, in->cfg, "start failed: %s", why);
		klog_err("unable to start '%s': %s", in->cfg->fmri, why);
	}
	svc_argv_free(argv);
}

static void
notify(kstartd *k, inst *in, const svc_event *ev, const svc_action *a)
{
	const char *to = svc_st_name(a->to);
	const char *next = svc_st_name(in->st.next);
	const char *why = in->st.reason;

	k->changes++;
	k->last_change_ms = ev->now_ms;
	k_record_change(k, in, a->from, a->to);
	/* A successful start (DESIGN section 3): its `start` snapshot is taken
	 * in the next state.put_many (settle.c). */
	if (a->from == SVC_ST_OFFLINE && a->to == SVC_ST_ONLINE &&
	    in->st.next == SVC_ST_NONE)
		in->snap_start = true;

	if (next)
		svc_log(&k->paths, in->cfg, "state: %s -> %s* (next %s)",
		    svc_st_name(a->from), to, next);
	else
		svc_log(&k->paths, in->cfg, "state: %s -> %s",
		    svc_st_name(a->from), to);
	if (why && (a->to == SVC_ST_MAINTENANCE || a->to == SVC_ST_OFFLINE))
		svc_log(&k->paths, in->cfg, "reason: %s", why);
	if (a->to == SVC_ST_MAINTENANCE)
		klog_warn("'%s' is in maintenance: %s", in->cfg->fmri,
		    why ? why : "?");
	/* Leaving UP: online or degraded before, and no longer settled there. */
	bool was_up = a->from == SVC_ST_ONLINE || a->from == SVC_ST_DEGRADED;
	bool is_up = (a->to == SVC_ST_ONLINE || a->to == SVC_ST_DEGRADED) &&
	    in->st.next == SVC_ST_NONE;

	/* Once per departure: a requested stop (online -> online*) is the
	 * loss; the SIGTERM exit that ends it is not a second one (an error). */
	if (is_up)
		in->left_up = false;
	/* The boot timeline (svc.timeline): the first wait and online. */
	if (a->to == SVC_ST_OFFLINE && in->st.enabled && !in->tl_wait_ms)
		in->tl_wait_ms = ev->wall_ms;
	if (is_up && !in->tl_online_ms)
		in->tl_online_ms = ev->wall_ms;
	if (was_up && !is_up && !in->left_up) {
		in->left_up = true;
		bool failed = ev->type == SVC_EV_EXIT &&
		    !(ev->code == CLD_EXITED && ev->status == 0);

		in->lost = true;
		in->lost_cause = failed ? SVC_RON_ERROR : SVC_RON_RESTART;
	}
}

static void
perform(kstartd *k, inst *in, const svc_event *ev, const svc_action *a,
        svc_event *next)
{
	pid_t moved;

	switch (a->type) {
	case SVC_ACT_SPAWN:
		spawn_start(k, in, next);
		break;
	case SVC_ACT_SIGNAL_GROUP:
		signal_group(in, a->pgid, a->sig);
		if ((moved = moved_group(in, a->pgid)))
			signal_group(in, moved, a->sig);
		/* A forking daemon's processes that left the group. */
		(void)k_cgroup_signal(k, in->cfg, a->pgid, a->sig);
		break;
	case SVC_ACT_KILL_GROUP:
		/* Often the group is already empty; say so only when it was not. */
		if (signal_group(in, a->pgid, SIGKILL))
			svc_log(&k->paths, in->cfg, "killed process group %ld",
			    (long)a->pgid);
		if ((moved = moved_group(in, a->pgid)) &&
		    signal_group(in, moved, SIGKILL))
			svc_log(&k->paths, in->cfg, "killed process group %ld",
			    (long)moved);
		if (k_cgroup_signal(k, in->cfg, a->pgid, SIGKILL))
			svc_log(&k->paths, in->cfg, "killed its cgroup");
		break;
	case SVC_ACT_ARM_TIMER:
		in->timer_at = ev->now_ms + (int64_t)a->ms;
		in->timer_kind = a->timer;
		/* The backoff, visible in the log. */
		if (a->timer == SVC_TIMER_RESTART)
			svc_log(&k->paths, in->cfg, "restart %u in %llu ms",
			    in->st.restarts, (unsigned long long)a->ms);
		break;
	case SVC_ACT_CANCEL_TIMER:
		in->timer_at = 0;
		in->timer_kind = SVC_TIMER_NONE;
		break;
	case SVC_ACT_PERSIST:
		in->dirty = true;
		break;
	case SVC_ACT_NOTIFY:
		notify(k, in, ev, a);
		break;
	case SVC_ACT_STOP_METHOD:
		/* Could not run: the core signals the group at METHOD_DONE. */
		if (!k_run_stop_method(k, (size_t)(k_find(k, in->cfg->fmri))))
			*next = (svc_event){.type = SVC_EV_METHOD_DONE};
		break;
	case SVC_ACT_KILL_METHOD:
		/* Methods lead their own session (spawn.c): kill the group,
		 * and forget it (its exit is reaped as nobody's). */
		if (in->aux_pid > 0) {
			svc_log(&k->paths, in->cfg, "%s method: pid %ld timed out: "
			    "killed", in->aux_stop ? "stop" : "refresh",
			    (long)in->aux_pid);
			if (kill(-in->aux_pid, SIGKILL) != 0 && errno == ESRCH)
				(void)kill(in->aux_pid, SIGKILL);
			in->aux_pid = 0;
		}
		in->aux_deadline = 0;
		break;
	default:
		break;
	}
}

void
k_feed_ev(kstartd *k, size_t i, svc_event ev)
{
	inst      *in = k->insts[i];
	svc_action acts[SVC_MAX_ACTIONS];
	size_t     n;

	/* A spawn yields one follow-up event; bound the chain all the same. */
	for (int round = 0; round < 4; round++) {
		svc_event next = {.type = SVC_EV__COUNT};

		ev.now_ms = k_now_ms();
		ev.wall_ms = k_wall_ms();
		/* Shutdown: stop timers end before kinit's deadline. */
		ev.cap_ms = 0;
		if (k->stop_deadline)
			ev.cap_ms = k->stop_deadline > ev.now_ms
			    ? (uint64_t)(k->stop_deadline - ev.now_ms) : 1;
		svc_step(in->cfg, &in->st, &ev, acts, &n);
		for (size_t a = 0; a < n; a++)
			perform(k, in, &ev, &acts[a], &next);
		if (next.type == SVC_EV__COUNT)
			return;
		ev = next;
	}
}

void
k_feed(kstartd *k, size_t i, enum svc_ev_type type)
{
	k_feed_ev(k, i, (svc_event){.type = type});
}

/* ---- exits and timers ----------------------------------------------------- */

static void
log_exit(kstartd *k, inst *in, pid_t pid, int code, int status)
{
	if (code == CLD_EXITED)
		svc_log(&k->paths, in->cfg, "exit: pid %ld exited %d",
		    (long)pid, status);
	else
		svc_log(&k->paths, in->cfg, "exit: pid %ld killed by signal %d%s",
		    (long)pid, status, code == CLD_DUMPED ? " (core dumped)" : "");
}

/* A refresh or stop method exited; after a stop method, the signal. */
static bool
aux_exited(kstartd *k, pid_t pid, int code, int status)
{
	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];

		if (in->aux_pid != pid)
			continue;
		in->aux_pid = 0;
		if (code == CLD_EXITED)
			svc_log(&k->paths, in->cfg, "%s method: pid %ld exited %d",
			    in->aux_stop ? "stop" : "refresh", (long)pid, status);
		else
			svc_log(&k->paths, in->cfg, "%s method: pid %ld killed by "
			    "signal %d", in->aux_stop ? "stop" : "refresh",
			    (long)pid, status);
		in->aux_deadline = 0;
		/* After a stop method, the core sends the stop signal. */
		if (in->aux_stop)
			k_feed_ev(k, i, (svc_event){.type = SVC_EV_METHOD_DONE});
		return true;
	}
	return false;
}

/* The pid in a pidfile, if that process runs; else 0. */
static pid_t
read_pidfile(const char *path)
{
	char  buf[32];
	FILE *f = fopen(path, "re");
	long  v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof buf, f))
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v > 1 && kill((pid_t)v, 0) == 0 ? (pid_t)v : 0;
}

/* Field n (1-based, n >= 3) of /proc/PID/stat as a number; -1 if unknown. */
static long
stat_field(pid_t pid, int n)
{
	char  path[64], buf[1024], *p;
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')'))) {
		p++;
		for (int field = 3; field < n && p; field++)
			p = strchr(p + 1, ' ');
		if (p)
			v = strtol(p, NULL, 10);
	}
	fclose(f);
	return v;
}

/*
 * Is pid our descendant?  The start method is reaped by the time its daemon
 * is looked for, so its pid -- the session and group ids searched for --
 * may already name a stranger's new session under load.
 */
static bool
descends_from_us(pid_t pid)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		long ppid = stat_field(pid, 4);

		if (ppid == getpid())
			return true;
		pid = (pid_t)ppid;
	}
	return false;
}

/*
 * The daemon a forking start method left behind: the pidfile's pid, else
 * the oldest process of the instance's cgroup (cgroup.c), else the oldest
 * process still in the method's session or process group (and ours), else
 * the oldest child re-parented to us (we are a subreaper: a daemon that
 * called setsid lands here) that no instance claims and that started no
 * earlier than the start method.  0 when none.
 */
static pid_t
find_daemon(const kstartd *k, const inst *in)
{
	pid_t          best = 0, orphan = 0;
	DIR           *d;
	struct dirent *e;

	if (in->cfg->pidfile && (best = read_pidfile(in->cfg->pidfile)))
		return best;
	/* The cgroup holds the daemon wherever it went (setsid). */
	if ((best = k_cgroup_daemon(k, in->cfg)) > 0)
		return best;
	if (!(d = opendir("/proc")))
		return 0;
	while ((e = readdir(d))) {
		long pid = strtol(e->d_name, NULL, 10);
		bool claimed = false;

		if (pid <= 1 || pid == getpid())
			continue;
		if ((stat_field((pid_t)pid, 6) == in->st.pgid ||
		        stat_field((pid_t)pid, 5) == in->st.pgid) &&
		    descends_from_us((pid_t)pid)) {
			if (!best || pid < best)
				best = (pid_t)pid;
			continue;
		}
		if (stat_field((pid_t)pid, 4) != getpid())
			continue;
		/* An orphan older than the start method is not its daemon
		 * (a helper an earlier run leaked, say). */
		if (in->start_ticks && k_proc_start_ticks((pid_t)pid) <
		        in->start_ticks)
			continue;
		for (size_t i = 0; i < k->n && !claimed; i++)
			claimed = k->insts[i]->st.pid == pid ||
			    k->insts[i]->aux_pid == pid ||
			    k->insts[i]->st.pgid == getpgid((pid_t)pid);
		if (!claimed && (!orphan || pid < orphan))
			orphan = (pid_t)pid;
	}
	closedir(d);
	return best ? best : orphan;
}

void
k_child_exited(kstartd *k, pid_t pid, int code, int status)
{
	if (aux_exited(k, pid, code, status))
		return;
	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];
		pid_t d;

		if (in->st.pid != pid)
			continue;
		log_exit(k, in, pid, code, status);
		k_feed_ev(k, i, (svc_event){.type = SVC_EV_EXIT, .pid = pid,
		    .code = code, .status = status});
		if (in->cfg->model != SVC_MODEL_FORKING || in->st.pid > 0 ||
		    in->st.pgid <= 0 || svc_phase_of(&in->st) != SVC_PH_ONLINE)
			return;
		if ((d = find_daemon(k, in)) > 0) {
			svc_log(&k->paths, in->cfg, "daemon: pid %ld", (long)d);
			in->start_ticks = k_proc_start_ticks(d);
			k_feed_ev(k, i, (svc_event){.type = SVC_EV_MAINPID,
			    .pid = d, .pgid = getpgid(d)});
		} else {
			svc_log(&k->paths, in->cfg, "daemon: not found; tracking "
			    "process group %ld", (long)in->st.pgid);
		}
		return;
	}
	/* A daemon's grandchild re-parented to us (subreaper), or a failed
	 * spawn's child: reaped, nothing else to do. */
}

static enum svc_ev_type
timer_event(enum svc_timer kind)
{
	switch (kind) {
	case SVC_TIMER_RESTART: return SVC_EV_RESTART_TIMER;
	case SVC_TIMER_START:   return SVC_EV_START_TIMEOUT;
	default:                return SVC_EV_STOP_TIMEOUT;
	}
}

void
k_timers(kstartd *k)
{
	int64_t now = k_now_ms();

	if (now >= k->rotate_at) {
		for (size_t i = 0; i < k->n; i++)
			svc_log_rotate(&k->paths, k->insts[i]->cfg);
		k->rotate_at = now + KSTARTD_ROTATE_CHECK_MS;
	}

	svc_log_hold(); /* restarts first, their log lines after */
	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];

		/* The refresh method's timeout: the core decides (maintenance). */
		if (in->aux_deadline && in->aux_deadline <= now) {
			in->aux_deadline = 0;
			if (in->aux_pid > 0 && !in->aux_stop) {
				svc_log(&k->paths, in->cfg, "refresh method timed out");
				k_feed(k, i, SVC_EV_REFRESH_TIMEOUT);
			}
		}
		if (!in->timer_at || in->timer_at > now)
			continue;
		enum svc_timer kind = in->timer_kind;

		in->timer_at = 0;
		in->timer_kind = SVC_TIMER_NONE;
		if (kind == SVC_TIMER_START)
			svc_log(&k->paths, in->cfg, "start method timed out");
		else if (kind == SVC_TIMER_STOP)
			svc_log(&k->paths, in->cfg, "stop timed out");
		k_feed(k, i, timer_event(kind));
	}
	svc_log_flush(&k->paths);
}

int
k_poll_timeout(const kstartd *k)
{
	int64_t now = k_now_ms(), first = 0;

	for (size_t i = 0; i < k->n; i++) {
		if (k->insts[i]->timer_at &&
		    (!first || k->insts[i]->timer_at < first))
			first = k->insts[i]->timer_at;
		if (k->insts[i]->aux_deadline &&
		    (!first || k->insts[i]->aux_deadline < first))
			first = k->insts[i]->aux_deadline;
	}
	if (k->persist_after && (!first || k->persist_after < first))
		first = k->persist_after;
	/* Start snapshots wait for k_persist(), which shutdown skips and a
	 * failed one defers. */
	if (k->snap_due && !k->shutting_down) {
		int64_t due = k->snap_due > k->persist_after ? k->snap_due
		                                              : k->persist_after;

		if (!first || due < first)
			first = due;
	}
	if (k->milestone_at && (!first || k->milestone_at < first))
		first = k->milestone_at;
	if (k->rotate_at && (!first || k->rotate_at < first))
		first = k->rotate_at;
	if (k_waiters_deadline(k) && (!first || k_waiters_deadline(k) < first))
		first = k_waiters_deadline(k);
	if (k->exits_retry_at && (!first || k->exits_retry_at < first))
		first = k->exits_retry_at;
	if (!first)
		return -1;
	if (first <= now)
		return 0;
	return first - now > 60000 ? 60000 : (int)(first - now);
}
