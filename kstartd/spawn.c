/*
 * spawn.c -- the one place kstartd forks: running a method, and the
 * instance log.
 *
 * kstartd's process holds nng's threads, and nng is not fork-safe: the child
 * may only make async-signal-safe system calls and exec (NOTES.md).  So
 * everything that can allocate or consult NSS -- the argv and envp, the
 * executable's path, the user's ids and groups, the log file -- is prepared
 * in the parent; the child only rearranges descriptors, ids and signals,
 * then execs.  No shell is involved: argv[0] is searched in the service's
 * own PATH, by the parent.
 *
 * The child shares kstartd's memory until its exec (clone with CLONE_VM |
 * CLONE_VFORK, like posix_spawn: no page tables copied, so a spawn costs
 * the same whatever kstartd's size) and reports a failed step ({step,
 * errno}) in the plan; the parent reads it when clone returns, which waits
 * only for the child's few pre-exec system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kstartd.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The child's steps, named in the parent's error message. */
enum step { ST_SETSID, ST_SIGNALS, ST_FDS, ST_UMASK_CHDIR, ST_IDS, ST_LIMITS,
	ST_EXEC, ST_CGROUP };
static const char *const step_names[] = {"setsid", "reset signals",
    "set up descriptors", "chdir", "set user", "set limits", "exec",
    "join the cgroup of"};

typedef struct child_report {
	int step;
	int err;
} child_report;

/* Everything the child needs, prepared by the parent. */
typedef struct plan {
	const svc_config *cfg;
	const char *path; /* resolved executable */
	char      **argv;
	char      **envp;
	int         in_fd, out_fd; /* out_fd -1: inherit stdout/stderr */
	int         cg_fd;  /* cgroup.procs to join first (cgroup.c); -1 */
	const char *cwd;
	int         umask;
	bool        set_ids;
	uid_t       uid;
	gid_t       gid;
	gid_t      *groups;
	int         ngroups;
	child_report rep; /* written by the child: step -1 until it fails */
} plan;

/* ---- time ----------------------------------------------------------------- */

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
k_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
k_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

void
k_rfc3339(int64_t wall_ms, char *buf, size_t len)
{
	time_t    t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char      base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

/* ---- the log -------------------------------------------------------------- */

int
spawn_log_path(const kipc_paths *p, const svc_config *cfg, char *buf,
               size_t len)
{
	char name[300];
	int  n = snprintf(name, sizeof name, "%s:%s.log", cfg->service,
	    cfg->instance);

	if (n < 0 || (size_t)n >= sizeof name)
		return -1;
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '-';
	return kipc_path_join(buf, len, p->log_dir, name);
}

/* The instance's log, or -1 for the console (log=console, or it failed). */
static int
open_log(const kipc_paths *p, const svc_config *cfg)
{
	char path[600];
	int  fd;

	if (cfg->log == SVC_LOG_CONSOLE)
		return -1;
	if (spawn_log_path(p, cfg, path, sizeof path) != 0)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (fd < 0)
		klog_warn("unable to open '%s': %s; using the console", path,
		    strerror(errno));
	return fd;
}

/* The rotation size: SYSTEMK_LOG_MAX_BYTES, else KSTARTD_LOG_MAX_BYTES. */
static uint64_t
log_max(void)
{
	static uint64_t max;
	const char     *e;

	if (max)
		return max;
	e = getenv("SYSTEMK_LOG_MAX_BYTES");
	max = e && strtoull(e, NULL, 10) >= 1024 ? strtoull(e, NULL, 10)
	                                          : KSTARTD_LOG_MAX_BYTES;
	return max;
}

/*
 * Size-based rotation, copy then truncate: the service holds the log open
 * (O_APPEND, no pipe through kstartd), so the file must stay the same
 * inode; after the truncation its appends land at the new end.  One older
 * generation is kept as NAME:INSTANCE.log.1.  Lines written between the
 * copy and the truncation are lost: the price of no pipe.
 */
void
svc_log_rotate(const kipc_paths *p, const svc_config *cfg)
{
	char        path[600], old[610], buf[65536];
	struct stat st;
	int         in, out;
	ssize_t     n;

	if (cfg->log == SVC_LOG_CONSOLE ||
	    spawn_log_path(p, cfg, path, sizeof path) != 0 ||
	    stat(path, &st) != 0 || (uint64_t)st.st_size < log_max())
		return;
	snprintf(old, sizeof old, "%s.1", path);
	if ((in = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return;
	out = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (out >= 0)
		close(out);
	if (out < 0 || ftruncate(in, 0) != 0)
		klog_warn("unable to rotate '%s': %s", path, strerror(errno));
	close(in);
}

/*
 * Held lines (svc_log_hold): one pass over many instances -- a shutdown
 * signalling every leaf, a burst of exits -- performs its signals and
 * spawns first and writes its lines afterwards, each instance's lines in
 * one open and one write, the console's in writes of whole lines up to
 * PIPE_BUF (so that they never interleave with a service's output).
 */
typedef struct held_line {
	const svc_config *cfg; /* alive until the flush: same loop pass */
	size_t            off, len;
} held_line;

static struct {
	int        depth;
	char      *buf;
	size_t     len, cap;
	held_line *v;
	size_t     n, cap_v;
} held;

static bool
hold_line(const svc_config *cfg, const char *line, size_t n)
{
	if (held.len + n > held.cap) {
		size_t c = held.cap ? held.cap * 2 : 65536;
		char  *b;

		while (c < held.len + n)
			c *= 2;
		if (!(b = realloc(held.buf, c)))
			return false;
		held.buf = b;
		held.cap = c;
	}
	if (held.n == held.cap_v) {
		size_t     c = held.cap_v ? held.cap_v * 2 : 1024;
		held_line *v = realloc(held.v, c * sizeof *v);

		if (!v)
			return false;
		held.v = v;
		held.cap_v = c;
	}
	memcpy(held.buf + held.len, line, n);
	held.v[held.n++] = (held_line){cfg, held.len, n};
	held.len += n;
	return true;
}

/* One instance's consecutive lines [off, off + len) into its log. */
static void
write_run(const kipc_paths *p, const svc_config *cfg, const char *b,
          size_t len)
{
	int fd;

	svc_log_rotate(p, cfg);
	fd = open_log(p, cfg);
	(void)!write(fd >= 0 ? fd : STDERR_FILENO, b, len);
	if (fd >= 0)
		close(fd);
}

void
svc_log_hold(void)
{
	held.depth++;
}

/* Console lines first, then each instance's lines together, every
 * group in the order its lines came (off grows with time). */
static int
by_dest(const void *a, const void *b)
{
	const held_line *x = a, *y = b;
	uintptr_t        cx = x->cfg->log == SVC_LOG_CONSOLE ? 0 : (uintptr_t)x->cfg;
	uintptr_t        cy = y->cfg->log == SVC_LOG_CONSOLE ? 0 : (uintptr_t)y->cfg;

	if (cx != cy)
		return cx < cy ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

void
svc_log_flush(const kipc_paths *p)
{
	size_t con_off = 0, con_len = 0; /* a pending run of console lines */
	char  *gather = NULL;

	if (held.depth > 0 && --held.depth > 0)
		return;
	/* One open per instance even when its lines were held apart (the
	 * boot holds every instance's first state line until its first
	 * pass has spawned, whose lines come after). */
	if (held.n > 1) /* (held.v is NULL before the first line) */
		qsort(held.v, held.n, sizeof *held.v, by_dest);
	for (size_t i = 0; i < held.n;) {
		const svc_config *cfg = held.v[i].cfg;
		size_t            off = held.v[i].off, len = 0, j;

		if (cfg->log == SVC_LOG_CONSOLE) {
			/* Whole lines, contiguous in buf, up to PIPE_BUF. */
			if (con_len && (con_off + con_len != held.v[i].off ||
			        con_len + held.v[i].len > PIPE_BUF)) {
				(void)!write(STDERR_FILENO, held.buf + con_off,
				    con_len);
				con_len = 0;
			}
			if (!con_len)
				con_off = held.v[i].off;
			con_len += held.v[i].len;
			i++;
			continue;
		}
		for (j = i; j < held.n && held.v[j].cfg == cfg; j++)
			len += held.v[j].len;
		if (held.v[j - 1].off + held.v[j - 1].len - off == len) {
			write_run(p, cfg, held.buf + off, len); /* contiguous */
		} else if (gather || (gather = malloc(held.len))) {
			for (len = 0; i < j; i++) {
				memcpy(gather + len, held.buf + held.v[i].off,
				    held.v[i].len);
				len += held.v[i].len;
			}
			write_run(p, cfg, gather, len);
		} else { /* out of memory: one write per line */
			for (; i < j; i++)
				write_run(p, cfg, held.buf + held.v[i].off,
				    held.v[i].len);
		}
		i = j;
	}
	free(gather);
	if (con_len)
		(void)!write(STDERR_FILENO, held.buf + con_off, con_len);
	held.n = held.len = 0;
	/* A boot or a shutdown of thousands held a lot: do not keep it. */
	if (held.cap > 65536) {
		free(held.buf);
		free(held.v);
		held.buf = NULL;
		held.v = NULL;
		held.cap = held.cap_v = 0;
	}
}

void
svc_log(const kipc_paths *p, const svc_config *cfg, const char *fmt, ...)
{
	char    line[1024], ts[40];
	int     n;
	va_list ap;

	k_rfc3339(k_wall_ms(), ts, sizeof ts);
	n = snprintf(line, sizeof line, "%s kstartd: %s: ", ts, cfg->fmri);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strnlen(line, sizeof line - 2);
	line[n++] = '\n';
	if (held.depth > 0 && hold_line(cfg, line, (size_t)n))
		return;
	/* One write per line: the service writes to the same file. */
	write_run(p, cfg, line, (size_t)n);
}

/* ---- preparing ------------------------------------------------------------ */

/* Does extra (NULL-terminated "K=V") set the variable of kv? */
static bool
env_overridden(char **extra, const char *kv)
{
	size_t n = strcspn(kv, "=");

	for (char **e = extra; e && *e; e++)
		if (strncmp(*e, kv, n) == 0 && (*e)[n] == '=')
			return true;
	return false;
}

/*
 * envp: exactly the configured environment plus SYSTEMK_FMRI, _METHOD and
 * extra (MAINPID, NOTIFY_SOCKET: borrowed, not freed by free_envp).
 */
static char **
build_envp(const svc_config *cfg, const char *method, char **extra)
{
	size_t next = 0;
	char **envp;
	size_t n = 0;

	while (extra && extra[next])
		next++;
	if (!(envp = calloc(cfg->nenv + next + 3, sizeof *envp)))
		return NULL;
	for (size_t i = 0; i < cfg->nenv; i++)
		if (strncmp(cfg->env[i], "SYSTEMK_", 8) != 0 &&
		    !env_overridden(extra, cfg->env[i]))
			envp[n++] = cfg->env[i];
	for (size_t i = 0; i < next; i++)
		envp[n++] = extra[i];
	if (asprintf(&envp[n++], "SYSTEMK_FMRI=%s", cfg->fmri) < 0 ||
	    asprintf(&envp[n++], "SYSTEMK_METHOD=%s", method) < 0) {
		envp[--n] = NULL;
		if (n > 0 && strncmp(envp[n - 1], "SYSTEMK_FMRI=", 13) == 0)
			free(envp[n - 1]);
		free(envp);
		return NULL;
	}
	return envp;
}

static void
free_envp(const svc_config *cfg, char **envp, char **extra)
{
	if (!envp)
		return;
	for (char **e = envp; *e; e++) {
		bool ours = true;

		for (size_t i = 0; i < cfg->nenv; i++)
			ours &= *e != cfg->env[i];
		for (char **x = extra; x && *x; x++)
			ours &= *e != *x;
		if (ours)
			free(*e);
	}
	free(envp);
}

/* argv[0] as given when it has a '/', else searched in the service's PATH. */
static int
resolve_exec(const svc_config *cfg, const char *file, char *buf, size_t len)
{
	const char *path = &SVC_DEF_PATH[5]; /* after "PATH=" */

	if (strchr(file, '/'))
		return snprintf(buf, len, "%s", file) < (int)len ? 0 : ENAMETOOLONG;
	for (size_t i = 0; i < cfg->nenv; i++)
		if (strncmp(cfg->env[i], "PATH=", 5) == 0)
			path = cfg->env[i] + 5;
	while (*path) {
		size_t dl = strcspn(path, ":");

		if (snprintf(buf, len, "%.*s/%s", (int)dl, dl ? path : ".", file) <
		        (int)len &&
		    access(buf, X_OK) == 0)
			return 0;
		path += dl + (path[dl] == ':');
	}
	return ENOENT;
}

/* NSS lookups happen here, in the parent, never in the child. */
static int
resolve_ids(const svc_config *cfg, plan *pl, char *why, size_t whylen)
{
	struct passwd *pw;
	struct group  *gr;

	if (!cfg->user && !cfg->group)
		return 0;
	pl->uid = getuid();
	pl->gid = getgid();
	if (cfg->user) {
		if (!(pw = getpwnam(cfg->user))) {
			snprintf(why, whylen, "unknown user '%s'", cfg->user);
			return ENOENT;
		}
		pl->uid = pw->pw_uid;
		pl->gid = pw->pw_gid;
	}
	if (cfg->group) {
		if (!(gr = getgrnam(cfg->group))) {
			snprintf(why, whylen, "unknown group '%s'", cfg->group);
			return ENOENT;
		}
		pl->gid = gr->gr_gid;
	}
	if (pl->uid == geteuid() && pl->gid == getegid())
		return 0;
	if (geteuid() != 0) {
		snprintf(why, whylen, "only root can run it as '%s'",
		    cfg->user ? cfg->user : cfg->group);
		return EPERM;
	}
	pl->set_ids = true;
	pl->ngroups = 1;
	pl->groups = calloc(NGROUPS_MAX, sizeof *pl->groups);
	if (!pl->groups)
		return ENOMEM;
	pl->groups[0] = pl->gid;
	if (cfg->user) {
		int n = NGROUPS_MAX;

		if (getgrouplist(cfg->user, pl->gid, pl->groups, &n) >= 0)
			pl->ngroups = n;
	}
	return 0;
}

/* ---- the child ------------------------------------------------------------ */

/*
 * The child runs on its own small stack in kstartd's memory (clone with
 * CLONE_VM | CLONE_VFORK, as posix_spawn does): no page tables are copied,
 * and kstartd waits only until the exec.  So the child must not touch what
 * other threads may hold: it makes raw system calls only (glibc's setuid
 * and sigaction would reach for the parent's threads or locks), and reports
 * a failed step by writing pl->rep, which the parent reads once clone
 * returns.  One spawn at a time (the loop thread), hence one static stack.
 */
static char child_stack[64 * 1024] __attribute__((aligned(64)));
/* The child's code is not instrumented by ASan: its stack is not a thread
 * ASan knows, and shadow memory it poisoned would stay poisoned for the
 * parent (shared memory). */
#define CHILD_CODE __attribute__((no_sanitize_address, noinline))

static CHILD_CODE _Noreturn void
child_fail(plan *pl, int step)
{
	pl->rep.err = errno ? errno : EIO;
	pl->rep.step = step;
	_exit(127);
}

/* The kernel's struct sigaction (rt_sigaction with an 8-byte mask). */
struct k_sigaction {
	void        (*handler)(int);
	unsigned long flags;
	void        (*restorer)(void);
	uint64_t      mask;
};

/* Dispositions and the mask survive exec: reset both (NOTES.md). */
static CHILD_CODE int
reset_signals(void)
{
	struct k_sigaction dfl = {.handler = SIG_DFL};
	uint64_t           none = 0;

	for (int sig = 1; sig < NSIG; sig++) /* KILL and STOP refuse */
		(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof none);
	return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    sizeof none);
}

/* Every descriptor above stderr closes at exec, whoever opened it. */
static CHILD_CODE int
cloexec_rest(void)
{
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	for (int fd = 3; fd < 65536; fd++)
		(void)syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static CHILD_CODE int
set_fds(const plan *pl)
{
	if (syscall(SYS_dup2, pl->in_fd, 0) < 0)
		return -1;
	if (pl->out_fd >= 0 && (syscall(SYS_dup2, pl->out_fd, 1) < 0 ||
	                           syscall(SYS_dup2, pl->out_fd, 2) < 0))
		return -1;
	return cloexec_rest();
}

/* Raw calls: they change this process only, as the child needs. */
static CHILD_CODE int
set_ids(const plan *pl)
{
	if (!pl->set_ids)
		return 0;
	if (syscall(SYS_setgroups, (size_t)pl->ngroups, pl->groups) != 0 ||
	    syscall(SYS_setgid, pl->gid) != 0 || syscall(SYS_setuid, pl->uid) != 0)
		return -1;
	return 0;
}

static CHILD_CODE int
run_child(void *arg)
{
	plan *pl = arg;

	/* First, so that everything the method forks is in the cgroup. */
	if (pl->cg_fd >= 0 && syscall(SYS_write, pl->cg_fd, "0", 1) != 1)
		child_fail(pl, ST_CGROUP);
	if (syscall(SYS_setsid) < 0)
		child_fail(pl, ST_SETSID);
	if (reset_signals() != 0)
		child_fail(pl, ST_SIGNALS);
	if (set_fds(pl) != 0)
		child_fail(pl, ST_FDS);
	if (pl->umask >= 0)
		(void)syscall(SYS_umask, pl->umask);
	if (pl->cwd && syscall(SYS_chdir, pl->cwd) != 0)
		child_fail(pl, ST_UMASK_CHDIR);
	for (size_t i = 0; i < pl->cfg->nlimits; i++) {
		uint64_t      v = pl->cfg->limits[i].value;
		struct rlimit rl;

		rl.rlim_cur = rl.rlim_max =
		    v == UINT64_MAX ? RLIM_INFINITY : (rlim_t)v;
		if (syscall(SYS_prlimit64, 0, pl->cfg->limits[i].resource, &rl,
		        NULL) != 0)
			child_fail(pl, ST_LIMITS);
	}
	if (set_ids(pl) != 0)
		child_fail(pl, ST_IDS);
	syscall(SYS_execve, pl->path, pl->argv, pl->envp);
	child_fail(pl, ST_EXEC);
}

/* ---- the parent ----------------------------------------------------------- */

/* The child's report: 0 when it exec'd, else its errno (why filled). */
static int
child_outcome(const plan *pl, char *why, size_t whylen)
{
	int step = pl->rep.step;

	if (step < 0)
		return 0;
	if (step > ST_CGROUP)
		step = ST_EXEC;
	snprintf(why, whylen, "%s '%s': %s", step_names[step],
	    step == ST_UMASK_CHDIR ? pl->cwd : pl->path, strerror(pl->rep.err));
	return pl->rep.err ? pl->rep.err : EIO;
}

/*
 * clone returns once the child has exec'd or exited.  Every signal is
 * blocked around it so that no handler runs on the child's stack; the
 * child sets its own mask.  A child that failed exits 127 and is reaped by
 * the loop as nobody's.
 */
static pid_t
clone_plan(plan *pl, int *err, char *why, size_t whylen)
{
	sigset_t all, old;
	pid_t    pid;

	pl->rep = (child_report){-1, 0};
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(run_child, child_stack + sizeof child_stack,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, pl);
	*err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		snprintf(why, whylen, "clone: %s", strerror(*err));
		return -1;
	}
	*err = child_outcome(pl, why, whylen);
	return *err ? -1 : pid;
}

/* /dev/null for every method's stdin, opened once (close-on-exec). */
static int
dev_null(void)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd;
}

pid_t
spawn_method(const kipc_paths *p, const svc_config *cfg, char **argv,
             const char *method, char **extra_env, int *err, char *why,
             size_t whylen)
{
	return spawn_method_cg(p, cfg, argv, method, extra_env, -1, err, why,
	    whylen);
}

pid_t
spawn_method_cg(const kipc_paths *p, const svc_config *cfg, char **argv,
                const char *method, char **extra_env, int cg_procs, int *err,
                char *why, size_t whylen)
{
	char  path[PATH_MAX];
	plan  pl = {.cfg = cfg, .argv = argv, .in_fd = -1, .out_fd = -1,
	            .cg_fd = cg_procs, .cwd = cfg->working_directory,
	            .umask = cfg->umask};
	pid_t pid = -1;

	*why = '\0';
	if ((*err = resolve_exec(cfg, argv[0], path, sizeof path)) != 0) {
		snprintf(why, whylen, "find '%s': %s", argv[0],
		    strerror(*err));
		return -1;
	}
	pl.path = path;
	if ((*err = resolve_ids(cfg, &pl, why, whylen)) != 0)
		goto out;
	if (!(pl.envp = build_envp(cfg, method, extra_env))) {
		*err = ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if ((pl.in_fd = dev_null()) < 0) {
		*err = errno;
		snprintf(why, whylen, "open '/dev/null': %s",
		    strerror(errno));
		goto out;
	}
	pl.out_fd = open_log(p, cfg);
	pid = clone_plan(&pl, err, why, whylen);
out:
	if (pl.out_fd >= 0)
		close(pl.out_fd);
	free_envp(cfg, pl.envp, extra_env);
	free(pl.groups);
	return pid;
}
