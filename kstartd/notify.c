/*
 * notify.c -- the sd_notify protocol for the `notify` model (DESIGN 5).
 *
 * Each notify instance gets its own AF_UNIX datagram socket,
 * RUN_DIR/notify/NAME:INSTANCE, passed to the start method as
 * NOTIFY_SOCKET.  SO_PASSCRED makes the kernel attach the sender's
 * credentials to every datagram, so a message counts only when its sender
 * belongs to the service: its main process or a process in its session.
 * Understood: READY=1 (online), STATUS=TEXT (shown by status), STOPPING=1,
 * MAINPID=N (shown, and ${MAINPID} for the refresh and stop methods).
 * Anything else is ignored, as systemd does.
 *
 * Under kinit each socket also lives in kinit's fd store (kinit/fdstore.c):
 * kstartd hands a copy over when it binds one and drops it when it closes
 * one.  When kstartd dies, datagrams queue in the copy; the next kstartd
 * gets the copies back (k_fdstore_load) and adopts each with its instance,
 * so a READY=1 sent while no kstartd ran still counts.
 *
 * A sender that exited (and was reaped) before its datagram is read can no
 * longer be placed in the session; its message counts when it ran as root
 * or as the service's user (may_notify()).  Clients can also wait with
 * sd_notify_barrier(): BARRIER=1 carrying a descriptor, which is closed
 * once everything sent before it was handled; every descriptor a datagram
 * carries is closed after it is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kstartd.h"

/* The socket path of an instance; -1 when it does not fit. */
static int
notify_path(const kstartd *k, const inst *in, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/notify/%s:%s", k->paths.run_dir,
	    in->cfg->service, in->cfg->instance);

	if (n < 0 || (size_t)n >= len ||
	    (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -1;
	for (char *c = buf + strlen(k->paths.run_dir) + 8; *c; c++)
		if (*c == '/')
			*c = '-';
	return 0;
}

static int
open_notify(const kstartd *k, inst *in, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char               dir[600];
	int                one = 1, fd;

	snprintf(dir, sizeof dir, "%s/notify", k->paths.run_dir);
	if (kipc_mkdirs(dir, 0755) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	/* A service that runs as another user must be able to send. */
	(void)chmod(path, 0666);
	in->notify_fd = fd;
	return 0;
}

/* ---- kinit's fd store ---------------------------------------------------- */

/* An instance's name in the store: its socket's file name. */
static const char *
store_name(const kstartd *k, const char *path)
{
	return path + strlen(k->paths.run_dir) + strlen("/notify/");
}

static void
store_send(const kstartd *k, char op, const char *name, int fd)
{
	char msg[300];
	int  n = snprintf(msg, sizeof msg, "%c%s", op, name);

	if (k->fdstore < 0 || n < 0 || (size_t)n >= sizeof msg)
		return;
	/* A burst (a thousand notify services starting) can fill the
	 * channel: kinit reads it at once, so wait for room, briefly. */
	for (int tries = 0;; tries++) {
		struct pollfd p = {.fd = k->fdstore, .events = POLLOUT};

		if (kipc_fds_send(k->fdstore, msg, (size_t)n, &fd, fd >= 0) == 0)
			return;
		if (errno != EAGAIN || tries == 10 || poll(&p, 1, 100) < 0)
			break;
	}
	klog_warn("unable to %s '%s' in kinit's fd store: %s",
	    op == '+' ? "keep" : "drop", name, strerror(errno));
}

/*
 * The socket a previous kstartd left for the instance at path, taken; -1
 * when none, or when nothing is bound at path any more (the run dir was
 * cleaned): a socket nobody can reach is no use, one is bound anew.
 */
static int
store_take(kstartd *k, const char *path)
{
	const char *name = store_name(k, path);
	struct stat st;

	for (size_t i = 0; i < k->nkept; i++) {
		int fd = k->kept[i].fd;

		if (strcmp(k->kept[i].name, name) != 0)
			continue;
		free(k->kept[i].name);
		k->kept[i] = k->kept[--k->nkept];
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return fd;
		close(fd);
		return -1;
	}
	return -1;
}

void
k_fdstore_load(kstartd *k, int fd)
{
	int64_t end = k_now_ms() + 2000;
	char    buf[KIPC_FDS_MAX * 256 + 2];

	k->fdstore = fd;
	if (fd < 0)
		return;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* never a service's */
	for (;;) {
		int     fds[KIPC_FDS_MAX], n;
		ssize_t r = kipc_fds_recv(fd, buf, sizeof buf, fds,
		    KIPC_FDS_MAX, &n);
		size_t  off = 1;

		if (r < 0 && errno == EAGAIN && k_now_ms() < end) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			(void)poll(&p, 1, (int)(end - k_now_ms()));
			continue;
		}
		if (r <= 0 || buf[0] == '.')
			break;
		for (int i = 0; i < n; i++) {
			const char *name = buf[0] == '=' && off < (size_t)r ?
			    buf + off : NULL;
			struct kept_sock *p = NULL;

			if (name != NULL)
				off += strlen(name) + 1;
			if (name != NULL && *name != '\0')
				p = realloc(k->kept, (k->nkept + 1) * sizeof(*p));
			if (p != NULL)
				k->kept = p;
			if (p == NULL ||
			    (p[k->nkept].name = strdup(name)) == NULL) {
				close(fds[i]);
				continue;
			}
			p[k->nkept++].fd = fds[i];
		}
	}
	if (k->nkept > 0)
		klog_info("took %zu notify sockets from kinit", k->nkept);
}

void
k_fdstore_prune(kstartd *k)
{
	for (size_t i = 0; i < k->nkept; i++) {
		char path[600];

		store_send(k, '-', k->kept[i].name, -1);
		close(k->kept[i].fd);
		/* Its instance is gone or not running: nor is its path kept. */
		if (snprintf(path, sizeof path, "%s/notify/%s", k->paths.run_dir,
		        k->kept[i].name) < (int)sizeof path)
			unlink(path);
		free(k->kept[i].name);
	}
	free(k->kept);
	k->kept = NULL;
	k->nkept = 0;
}

/* ---- the protocol ---------------------------------------------------------- */

char **
k_start_env(kstartd *k, inst *in)
{
	static char  env[700];
	static char *extra[] = {env, NULL};
	char         path[600];

	if (in->cfg->model != SVC_MODEL_NOTIFY)
		return NULL;
	if (notify_path(k, in, path, sizeof path) != 0) {
		klog_err("unable to create the notify socket of '%s': path too "
		    "long", in->cfg->fmri);
		return NULL;
	}
	if (in->notify_fd < 0 && (in->notify_fd = store_take(k, path)) < 0) {
		if (open_notify(k, in, path) != 0) {
			klog_err("unable to create '%s': %s", path,
			    strerror(errno));
			return NULL;
		}
		store_send(k, '+', store_name(k, path), in->notify_fd);
	}
	in->mainpid = 0;
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", path);
	return extra;
}

/* Does pid belong to the service whose main process (and session) is main? */
static bool
belongs(pid_t pid, pid_t main)
{
	pid_t sid;

	if (main <= 0 || pid <= 0)
		return false;
	if (pid == main)
		return true;
	sid = getsid(pid);
	return sid == main;
}

/*
 * May the datagram of this sender count for the service of main?  A sender
 * in the service's session may.  So may one that is gone already when its
 * datagram is read (the usual `sh -c '... notify; exec daemon'` helper, or
 * systemd-notify without a barrier), if it ran as root or as the service's
 * user: such a process could signal or trace the service anyway, so this
 * widens nothing.  A live stranger never counts.
 */
static bool
may_notify(const struct ucred *cred, pid_t main)
{
	char        proc[32];
	struct stat st;

	if (!cred || main <= 0)
		return false;
	if (belongs(cred->pid, main))
		return true;
	if (cred->pid <= 0 || kill(cred->pid, 0) == 0 || errno != ESRCH)
		return false;
	if (cred->uid == 0)
		return true;
	snprintf(proc, sizeof proc, "/proc/%ld", (long)main);
	return stat(proc, &st) == 0 && st.st_uid == cred->uid;
}

static void
handle_line(kstartd *k, size_t i, const char *line, size_t n)
{
	inst *in = k->insts[i];

#define IS(lit) (n >= sizeof(lit) - 1 && memcmp(line, lit, sizeof(lit) - 1) == 0)
	if (n == 7 && memcmp(line, "READY=1", 7) == 0) {
		svc_log(&k->paths, in->cfg, "notify: READY=1");
		k_feed(k, i, SVC_EV_READY);
	} else if (n == 10 && memcmp(line, "STOPPING=1", 10) == 0) {
		svc_log(&k->paths, in->cfg, "notify: STOPPING=1");
		k_feed(k, i, SVC_EV_STOPPING);
	} else if (IS("STATUS=")) {
		char *s = strndup(line + 7, n - 7 > 256 ? 256 : n - 7);

		if (s) {
			free(in->status_text);
			in->status_text = s;
		}
	} else if (IS("MAINPID=")) {
		char  buf[24];
		char *end;
		long  v;

		snprintf(buf, sizeof buf, "%.*s", (int)(n - 8), line + 8);
		v = strtol(buf, &end, 10);
		if (*end == '\0' && v > 0 && belongs((pid_t)v, in->st.pid))
			in->mainpid = (pid_t)v;
	}
#undef IS
}

/*
 * Once online, a MAINPID= naming another process of the service makes it
 * the main process (in either order: MAINPID= before or after READY=1), so
 * a wrapper that reports its daemon and exits does not end the service.
 */
static void
adopt_mainpid(kstartd *k, size_t i)
{
	inst          *in = k->insts[i];
	enum svc_phase ph = svc_phase_of(&in->st);
	pid_t          pgid;

	if (in->mainpid <= 0 || in->mainpid == in->st.pid ||
	    (ph != SVC_PH_ONLINE && ph != SVC_PH_DEGRADED))
		return;
	pgid = getpgid(in->mainpid);
	in->start_ticks = k_proc_start_ticks(in->mainpid); /* re-adoption */
	svc_log(&k->paths, in->cfg, "notify: main process is now pid %ld",
	    (long)in->mainpid);
	k_feed_ev(k, i, (svc_event){.type = SVC_EV_MAINPID,
	    .pid = in->mainpid, .pgid = pgid > 1 ? pgid : 0});
}

void
k_notify_read(kstartd *k, size_t i)
{
	inst *in = k->insts[i];

	for (int budget = 0; budget < 64; budget++) {
		char            buf[4096];
		/* Credentials, and room for a few descriptors (BARRIER=1):
		 * the kernel closes those that do not fit. */
		char            cbuf[CMSG_SPACE(sizeof(struct ucred)) +
		                     CMSG_SPACE(4 * sizeof(int))]
		    __attribute__((aligned(8)));
		struct iovec    iov = {buf, sizeof buf - 1};
		struct msghdr   mh = {.msg_iov = &iov, .msg_iovlen = 1,
		                      .msg_control = cbuf,
		                      .msg_controllen = sizeof cbuf};
		struct cmsghdr *c;
		struct ucred   *cred = NULL;
		ssize_t         n = recvmsg(in->notify_fd, &mh,
		    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_CREDENTIALS)
				cred = (struct ucred *)CMSG_DATA(c);
			/* BARRIER=1's descriptor, or anyone's: the messages
			 * before it are handled, and none may leak. */
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t f = 0; f < nfd; f++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + f * sizeof fd,
					    sizeof fd);
					close(fd);
				}
			}
		}
		if (!may_notify(cred, in->st.pid)) {
			klog_warn("unable to accept a notification for '%s': "
			    "sender %ld is not the service's", in->cfg->fmri,
			    cred ? (long)cred->pid : -1L);
			continue;
		}
		buf[n] = '\0';
		for (char *p = buf; p < buf + n;) {
			size_t len = strcspn(p, "\n");

			handle_line(k, i, p, len);
			if ((size_t)(k->n) <= i || k->insts[i] != in)
				return;
			p += len + 1;
		}
		adopt_mainpid(k, i);
	}
}

void
k_notify_close(const kstartd *k, inst *in)
{
	char path[600];

	if (in->notify_fd < 0)
		return;
	close(in->notify_fd);
	in->notify_fd = -1;
	/* Handing over, the services run on: their socket stays, in kinit's
	 * store and at its path, for the next kstartd. */
	if (!k->handing_over && notify_path(k, in, path, sizeof path) == 0) {
		unlink(path);
		store_send(k, '-', store_name(k, path), -1);
	}
}
