/*
 * fdpass.c -- messages carrying descriptors (SCM_RIGHTS) on a SOCK_SEQPACKET
 * socket: the channel on which kinit keeps kstartd's notify sockets while
 * kstartd is down (kinit/fdstore.c, kstartd/notify.c).
 */
#include "kipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
kipc_fds_send(int sock, const void *data, size_t len, const int *fds, int n)
{
	char           cbuf[CMSG_SPACE(sizeof(int) * KIPC_FDS_MAX)];
	struct iovec   iov = { (void *)data, len };
	struct msghdr  mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t        w;

	if (n < 0 || n > KIPC_FDS_MAX || len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > 0) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	}
	do {
		w = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	return w == (ssize_t)len ? 0 : -1;
}

ssize_t
kipc_fds_recv(int sock, char *buf, size_t buflen, int *fds, int max, int *n)
{
	char           cbuf[CMSG_SPACE(sizeof(int) * KIPC_FDS_MAX)];
	struct iovec   iov = { buf, buflen - 1 };
	struct msghdr  mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t        r;

	*n = 0;
	do {
		r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*n < max)
				fds[(*n)++] = fd;
			else
				close(fd);
		}
	}
	buf[r] = '\0';
	/* A cut message (data or descriptors) is no message. */
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		for (int i = 0; i < *n; i++)
			close(fds[i]);
		*n = 0;
		errno = EMSGSIZE;
		return -1;
	}
	return r;
}
