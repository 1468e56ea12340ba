/*
 * unixsock.c -- kinit.sock: a plain AF_UNIX SOCK_SEQPACKET socket carrying the
 * same envelope as the nng sockets, one request and one reply per connection.
 * kinit never links nng, so this is all it needs.  Also the privilege test
 * every server applies to a peer's credentials.
 */
#include "kipc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

int
kipc_unix_listen(const char *path, mode_t mode)
{
	struct sockaddr_un sa;
	int                fd, saved;

	if (unix_addr(&sa, path) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	(void)unlink(path);
	/* Bind under a umask that already keeps others out, then chmod: no
	 * window in which the socket is more open than mode. */
	mode_t old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	umask(old);
	if (chmod(path, mode) != 0 || listen(fd, 64) != 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	umask(old);
	close(fd);
	errno = saved;
	return -1;
}

static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long       ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000LL;
	return ms < 0 ? 0 : (ms > 1000000 ? 1000000 : (int)ms);
}

/* Waits for fd to be ready for events until the deadline. */
static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int           rv;

	do {
		rv = poll(&p, 1, ms_left(deadline));
	} while (rv < 0 && errno == EINTR);
	if (rv == 0)
		return KE_TIMEOUT;
	return rv < 0 ? KE_UNAVAILABLE : KE_OK;
}

static void __attribute__((format(printf, 2, 3)))
set_errmsg(char **errmsg, const char *fmt, ...)
{
	char    buf[512];
	va_list ap;

	if (errmsg == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*errmsg = strdup(buf);
}

/* Receives one reply and decodes it into result/errmsg. */
static int
unix_recv_reply(int fd, const struct timespec *deadline, cJSON **result,
    char **errmsg)
{
	char     why[256];
	char    *buf;
	ssize_t  n;
	kipc_msg m;
	int      rv;

	if ((rv = wait_fd(fd, POLLIN, deadline)) != KE_OK) {
		set_errmsg(errmsg, "%s", rv == KE_TIMEOUT ? "no reply in time" :
		    "connection failed");
		return rv;
	}
	if ((buf = malloc(KPROTO_MAX_MSG)) == NULL)
		return KE_INTERNAL;
	n = recv(fd, buf, KPROTO_MAX_MSG, MSG_TRUNC);
	if (n <= 0 || (size_t)n > KPROTO_MAX_MSG) {
		free(buf);
		set_errmsg(errmsg, "%s", n > 0 ? "reply too large" :
		    "connection closed without a reply");
		return n > 0 ? KE_TOO_LARGE : KE_UNAVAILABLE;
	}
	rv = kipc_decode_reply(buf, (size_t)n, &m, why, sizeof(why));
	free(buf);
	if (rv != KE_OK) {
		kipc_msg_free(&m);
		set_errmsg(errmsg, "bad reply: %s", why);
		return KE_INTERNAL;
	}
	rv = m.err;
	if (m.ok) {
		*result = cJSON_DetachItemViaPointer(m.root, m.result);
	} else {
		set_errmsg(errmsg, "%s", m.errmsg != NULL ? m.errmsg : "");
	}
	kipc_msg_free(&m);
	return rv;
}

int
kipc_unix_call(const char *path, const char *method, cJSON *params,
    int timeout_ms, cJSON **result, char **errmsg)
{
	struct sockaddr_un sa;
	struct timespec    deadline;
	char              *text = NULL;
	size_t             len;
	int                fd = -1, rv = KE_UNAVAILABLE;

	*result = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (unix_addr(&sa, path) != 0) {
		set_errmsg(errmsg, "socket path too long: %s", path);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rv = (errno == EACCES || errno == EPERM) ? KE_DENIED : KE_UNAVAILABLE;
		set_errmsg(errmsg, "cannot connect to %s", path);
		goto out;
	}
	text = kipc_encode_request(KPROTO_LEVEL, kipc_new_id(), method, params,
	    &len);
	if (text == NULL) {
		rv = KE_INTERNAL;
		goto out;
	}
	if ((rv = wait_fd(fd, POLLOUT, &deadline)) != KE_OK)
		goto out;
	if (send(fd, text, len, MSG_NOSIGNAL) != (ssize_t)len) {
		rv = KE_UNAVAILABLE;
		set_errmsg(errmsg, "cannot send to %s", path);
		goto out;
	}
	rv = unix_recv_reply(fd, &deadline, result, errmsg);
out:
	free(text);
	cJSON_Delete(params);
	if (fd >= 0)
		close(fd);
	return rv;
}

/*
 * Is gid among the supplementary groups of process pid, which must still
 * run as uid (the pid was read at connect time)?  A process's groups may
 * differ from the group database's (setpriv, newgrp, a container's
 * --group-add): the ones it runs with are what counts.
 */
static bool
proc_in_group(pid_t pid, uid_t uid, gid_t gid)
{
	char  path[64], line[4096];
	FILE *f;
	bool  uid_ok = false, in = false;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *end;

		if (strncmp(line, "Uid:", 4) == 0) {
			uid_ok = strtoul(line + 4, &end, 10) == uid;
		} else if (strncmp(line, "Groups:", 7) == 0) {
			for (p = line + 7;; p = end) {
				unsigned long g = strtoul(p, &end, 10);

				if (end == p)
					break;
				if ((gid_t)g == gid)
					in = true;
			}
		}
	}
	fclose(f);
	return uid_ok && in;
}

/*
 * Root, or a member of SYSTEMK_ADMIN_GROUP: the peer's gid, the groups the
 * peer process pid runs with (when pid > 0), or the group database's
 * supplementary groups of uid.  Uses the reentrant lookups: servers call
 * this from nng's threads.
 */
bool
kipc_uid_privileged(uid_t uid, gid_t gid, pid_t pid)
{
	const char    *name = getenv("SYSTEMK_ADMIN_GROUP");
	struct group   grb, *gr = NULL;
	struct passwd  pwb, *pw = NULL;
	char           buf[4096];
	gid_t          groups[256], admin;
	int            ngroups = 256;

	if (uid == 0)
		return true;
	if (name == NULL || *name == '\0')
		return false;
	if (getgrnam_r(name, &grb, buf, sizeof(buf), &gr) != 0 || gr == NULL)
		return false;
	admin = gr->gr_gid;
	if (gid == admin || (pid > 0 && proc_in_group(pid, uid, admin)))
		return true;
	if (getpwuid_r(uid, &pwb, buf, sizeof(buf), &pw) != 0 || pw == NULL)
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		return false;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == admin)
			return true;
	return false;
}
