/*
 * fdstore.c -- kinit keeps kstartd's notify sockets while kstartd is down.
 *
 * A `notify` service tells kstartd READY=1 on a datagram socket kstartd
 * bound (kstartd/notify.c).  When kstartd dies, its sockets would die with
 * it, and a READY=1 sent before the next kstartd binds anew would be
 * refused: the service, re-adopted as starting, would never come online.
 * So kstartd hands a copy of each socket to kinit, which outlives it, and
 * datagrams queue in the socket meanwhile; the next kstartd gets the copies
 * back and reads what queued (systemd keeps its notify socket across a
 * re-exec the same way).
 *
 * The channel is a SOCK_SEQPACKET socketpair made at each start of kstartd,
 * kstartd's end passed as its fd 4 (--fdstore-fd 4):
 *
 *   kinit   ──▶ kstartd   "=NAME\0NAME\0..." + fds   what kinit keeps
 *                         "."                        (queued before exec)
 *   kstartd ──▶ kinit     "+NAME" + 1 fd             keep (replace) it
 *                         "-NAME"                    drop it
 *
 * At most KINIT_FDSTORE_MAX sockets are kept; kinit never blocks on the
 * channel, and anything malformed is dropped with its descriptors.
 */
#include "kinit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KINIT_FDSTORE_MAX 1024

static int
find(const kinit *k, const char *name)
{
	for (size_t i = 0; i < k->nkept; i++)
		if (strcmp(k->kept[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool
name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < KINIT_FD_NAME && strchr(name, '/') == NULL;
}

static void
keep(kinit *k, const char *name, int fd)
{
	int i = find(k, name);

	if (i >= 0) {
		close(k->kept[i].fd);
		k->kept[i].fd = fd;
		return;
	}
	if (k->nkept == KINIT_FDSTORE_MAX) {
		close(fd);
		klog_warn("unable to keep '%s' for kstartd: %d sockets kept "
		    "already", name, KINIT_FDSTORE_MAX);
		return;
	}
	if (k->nkept == k->capkept) {
		size_t      cap = k->capkept ? 2 * k->capkept : 16;
		struct kfd *p = realloc(k->kept, cap * sizeof(*p));

		if (p == NULL) {
			close(fd);
			klog_warn("unable to keep '%s' for kstartd: out of memory",
			    name);
			return;
		}
		k->kept = p;
		k->capkept = cap;
	}
	snprintf(k->kept[k->nkept].name, KINIT_FD_NAME, "%s", name);
	k->kept[k->nkept++].fd = fd;
}

static void
drop(kinit *k, const char *name)
{
	int i = find(k, name);

	if (i < 0)
		return;
	close(k->kept[i].fd);
	k->kept[i] = k->kept[--k->nkept];
}

static void
channel_close(kinit *k)
{
	if (k->fdch >= 0)
		close(k->fdch);
	k->fdch = -1;
}

void
fdstore_readable(kinit *k)
{
	char buf[KINIT_FD_NAME + 2];
	int  fds[KIPC_FDS_MAX], n;

	while (k->fdch >= 0) {
		ssize_t r = kipc_fds_recv(k->fdch, buf, sizeof(buf), fds,
		    KIPC_FDS_MAX, &n);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EMSGSIZE)
			continue;
		if (r <= 0) { /* kstartd is gone; what it handed over stays */
			channel_close(k);
			return;
		}
		if (buf[0] == '+' && n == 1 && name_ok(buf + 1)) {
			keep(k, buf + 1, fds[0]);
			continue;
		}
		if (buf[0] == '-' && n == 0 && name_ok(buf + 1)) {
			drop(k, buf + 1);
			continue;
		}
		for (int i = 0; i < n; i++)
			close(fds[i]);
		klog_warn("unable to read kstartd's fd store message: malformed");
	}
}

int
fdstore_open(kinit *k)
{
	int  sv[2];
	char buf[KIPC_FDS_MAX * KINIT_FD_NAME + 2];

	channel_close(k);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		klog_warn("unable to keep notify sockets for kstartd: %s",
		    strerror(errno));
		return -1;
	}
	/* What is kept goes first, in batches, then the end mark: all of it
	 * queued before kstartd runs. */
	for (size_t i = 0; i < k->nkept;) {
		int    fds[KIPC_FDS_MAX], n = 0;
		size_t len = 1;

		buf[0] = '=';
		for (; i < k->nkept && n < KIPC_FDS_MAX; i++, n++) {
			size_t l = strlen(k->kept[i].name) + 1;

			memcpy(buf + len, k->kept[i].name, l);
			len += l;
			fds[n] = k->kept[i].fd;
		}
		if (kipc_fds_send(sv[0], buf, len, fds, n) != 0) {
			klog_warn("unable to hand kstartd its notify sockets: %s",
			    strerror(errno));
			break;
		}
	}
	if (kipc_fds_send(sv[0], ".", 1, NULL, 0) != 0)
		klog_warn("unable to hand kstartd its notify sockets: %s",
		    strerror(errno));
	k->fdch = sv[0];
	return sv[1];
}

void
fdstore_gone(kinit *k)
{
	fdstore_readable(k); /* what it sent before it died counts */
	channel_close(k);
}
