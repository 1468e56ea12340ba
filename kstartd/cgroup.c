/*
 * cgroup.c -- a cgroup v2 per forking instance (DESIGN section 5: "its
 * processes tracked by a per-instance cgroup when a writable cgroup v2 tree
 * is delegated, else by process group, session and an optional pidfile").
 *
 * A forking daemon may leave its start method's process group and session
 * (setsid), and its own helpers may leave the daemon's: a process group
 * cannot hold them, a cgroup can, since a process never leaves it by itself.
 *
 * At start kstartd finds its own cgroup v2 directory (the "0::PATH" line of
 * /proc/self/cgroup under the cgroup2 mount of /proc/self/mountinfo) and
 * creates systemk.HASH in it, HASH naming the run dir: kstartds of other
 * run dirs never share it, and the next kstartd of this one (after a crash)
 * finds its predecessor's.  Each forking instance gets NAME:INSTANCE below
 * it; the start method joins it before exec (spawn.c), so everything the
 * daemon forks is in it.  It is signalled together with the process group
 * (cgroup.kill for SIGKILL), and it names the daemon when there is no
 * pidfile.  Only forking instances: the other models' main process is
 * kstartd's own child, and joining a cgroup costs each spawn tens of
 * microseconds.
 *
 * No cgroup v2, no write access, or SYSTEMK_CGROUP=none: process groups,
 * sessions and pidfiles only, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kstartd.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* The cgroup2 mount point (first in mountinfo) into buf; -1 if none. */
static int
cgroup2_mount(char *buf, size_t len)
{
	char  line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int   rv = -1;

	if (!f)
		return -1;
	while (rv != 0 && fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPT...] - TYPE ... */
		char *sep = strstr(line, " - "), *mp;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		mp = line;
		for (int field = 0; field < 4 && mp; field++)
			mp = strchr(mp + 1, ' ');
		if (!mp || sscanf(mp + 1, "%4095s", line) != 1)
			continue;
		if (snprintf(buf, len, "%s", line) < (int)len)
			rv = 0;
	}
	fclose(f);
	return rv;
}

/* Our own cgroup v2 path ("0::PATH") into buf; -1 if none. */
static int
own_cgroup(char *buf, size_t len)
{
	char  line[4096];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int   rv = -1;

	if (!f)
		return -1;
	while (rv != 0 && fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(buf, len, "%s", line + 3) < (int)len)
			rv = 0;
	}
	fclose(f);
	return rv;
}

/* FNV-1a: a short, stable name for the run dir. */
static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

void
k_cgroup_init(kstartd *k)
{
	const char   *env = getenv("SYSTEMK_CGROUP");
	char          mnt[PATH_MAX], own[PATH_MAX], base[PATH_MAX], procs[PATH_MAX];
	struct statfs sf;

	k->cg_base = NULL;
	if ((env && strcmp(env, "none") == 0) ||
	    cgroup2_mount(mnt, sizeof mnt) != 0 ||
	    own_cgroup(own, sizeof own) != 0 || own[0] != '/')
		return;
	if (snprintf(base, sizeof base, "%s%s%ssystemk.%08x", mnt, own,
	        own[strlen(own) - 1] == '/' ? "" : "/",
	        fnv1a(k->paths.run_dir)) >= (int)sizeof base)
		return;
	if ((mkdir(base, 0755) != 0 && errno != EEXIST) ||
	    statfs(base, &sf) != 0 || sf.f_type != CGROUP2_SUPER_MAGIC ||
	    snprintf(procs, sizeof procs, "%s/cgroup.procs", base) >=
	        (int)sizeof procs || access(procs, W_OK) != 0)
		return;
	if ((k->cg_base = strdup(base)))
		klog_info("forking services are tracked by cgroup '%s'", base);
}

/* The instance's cgroup directory into buf; -1 when it has none. */
static int
inst_dir(const kstartd *k, const svc_config *cfg, char *buf, size_t len)
{
	const char *name = strncmp(cfg->fmri, "svc:/", 5) == 0 ? cfg->fmri + 5
	                                                        : cfg->fmri;
	int         n;

	if (!k->cg_base || cfg->model != SVC_MODEL_FORKING)
		return -1;
	n = snprintf(buf, len, "%s/%s", k->cg_base, name);
	if (n < 0 || (size_t)n >= len)
		return -1;
	/* A '/' in a service name would nest: flatten it, as logs do. */
	for (char *p = buf + strlen(k->cg_base) + 1; *p; p++)
		if (*p == '/')
			*p = '-';
	return 0;
}

int
k_cgroup_open(const kstartd *k, const svc_config *cfg)
{
	char dir[PATH_MAX], procs[PATH_MAX + 16];
	int  fd;

	if (inst_dir(k, cfg, dir, sizeof dir) != 0)
		return -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		klog_warn("unable to create '%s': %s; tracking '%s' by process "
		    "group", dir, strerror(errno), cfg->fmri);
		return -1;
	}
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	if ((fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
		klog_warn("unable to open '%s': %s; tracking '%s' by process "
		    "group", procs, strerror(errno), cfg->fmri);
	return fd;
}

/* Calls fn(pid, arg) for every process of the instance's cgroup. */
static size_t
each_pid(const kstartd *k, const svc_config *cfg,
         void (*fn)(pid_t, void *), void *arg)
{
	char  dir[PATH_MAX], procs[PATH_MAX + 16], line[32];
	FILE *f;
	size_t n = 0;

	if (inst_dir(k, cfg, dir, sizeof dir) != 0)
		return 0;
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	if (!(f = fopen(procs, "re")))
		return 0;
	while (fgets(line, sizeof line, f)) {
		long pid = strtol(line, NULL, 10);

		if (pid > 1 && pid != getpid()) {
			fn((pid_t)pid, arg);
			n++;
		}
	}
	fclose(f);
	return n;
}

typedef struct sigarg {
	pid_t pgid; /* already signalled as a group */
	int   sig;
	bool  any;
} sigarg;

static void
signal_one(pid_t pid, void *arg)
{
	sigarg *s = arg;

	if (s->pgid > 1 && getpgid(pid) == s->pgid)
		return;
	if (kill(pid, s->sig) == 0)
		s->any = true;
}

static void
count_one(pid_t pid, void *arg)
{
	(void)pid;
	(void)arg;
}

bool
k_cgroup_signal(const kstartd *k, const svc_config *cfg, pid_t pgid, int sig)
{
	char   dir[PATH_MAX], path[PATH_MAX + 16];
	sigarg s = {pgid, sig, false};
	int    fd;

	if (inst_dir(k, cfg, dir, sizeof dir) != 0)
		return false;
	/* SIGKILL: the kernel's cgroup.kill (5.14) also catches a process
	 * that forks while we read cgroup.procs. */
	if (sig == SIGKILL) {
		snprintf(path, sizeof path, "%s/cgroup.kill", dir);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
			bool populated = each_pid(k, cfg, count_one, NULL) > 0;

			if (populated && write(fd, "1", 1) != 1)
				each_pid(k, cfg, signal_one, &s);
			close(fd);
			return populated;
		}
	}
	each_pid(k, cfg, signal_one, &s);
	return s.any;
}

typedef struct oldest {
	pid_t    pid;
	uint64_t ticks;
} oldest;

static void
keep_oldest(pid_t pid, void *arg)
{
	oldest  *o = arg;
	uint64_t t = k_proc_start_ticks(pid);

	if (t && (!o->pid || t < o->ticks || (t == o->ticks && pid < o->pid))) {
		o->pid = pid;
		o->ticks = t;
	}
}

pid_t
k_cgroup_daemon(const kstartd *k, const svc_config *cfg)
{
	oldest o = {0, 0};

	each_pid(k, cfg, keep_oldest, &o);
	return o.pid;
}

/*
 * rmdir, tolerating what a cgroup.kill just left: its processes die
 * asynchronously, and orphans among them are ours to reap.  Bounded (about
 * 200 ms); EBUSY after that: something really still runs there.
 */
static void
remove_dir(const char *dir)
{
	for (int tries = 0; tries < 20; tries++) {
		siginfo_t si;

		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		do {
			memset(&si, 0, sizeof si);
		} while (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) == 0 &&
		         si.si_pid != 0);
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	}
	klog_warn("unable to remove '%s': %s", dir, strerror(errno));
}

void
k_cgroup_cleanup(kstartd *k)
{
	char dir[PATH_MAX];

	if (!k->cg_base)
		return;
	for (size_t i = 0; i < k->n; i++)
		if (inst_dir(k, k->insts[i]->cfg, dir, sizeof dir) == 0 &&
		    access(dir, F_OK) == 0)
			remove_dir(dir);
	remove_dir(k->cg_base);
	free(k->cg_base);
	k->cg_base = NULL;
}
