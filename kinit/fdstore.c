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
 * Bounds, so that keeping never costs a service or kinit more than it
 * gains:
 *   - at most KINIT_FDSTORE_MAX sockets, and never past kinit's descriptor
 *     limit less KINIT_FDSTORE_SPARE (kinit must still accept and fork);
 *   - while no kstartd runs, the kept sockets fill (a datagram queue holds
 *     net.unix.max_dgram_qlen, 10 by default) and a service that sends on
 *     a blocking socket would then wait: so they are closed
 *     KINIT_FDSTORE_HOLD_MS after kstartd is gone, unless a new kstartd
 *     took them by then (a handover, an automatic restart, an operator's
 *     `kctl startd restart` within the minute);
 *   - kinit never blocks on the channel, reads at most KINIT_FDSTORE_BURST
 *     messages per wake-up, and drops anything malformed with its
 *     descriptors.
 */
#include "kinit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define KINIT_FDSTORE_MAX   1024
#define KINIT_FDSTORE_SPARE 128
#define KINIT_FDSTORE_HOLD_MS 60000
#define KINIT_FDSTORE_BURST 256

/* How many sockets may be kept: KINIT_FDSTORE_MAX, or fewer by the limit. */
static size_t
store_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= KINIT_FDSTORE_MAX + KINIT_FDSTORE_SPARE)
		return KINIT_FDSTORE_MAX;
	return rl.rlim_cur > KINIT_FDSTORE_SPARE ?
	    (size_t)(rl.rlim_cur - KINIT_FDSTORE_SPARE) : 0;
}

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
	if (k->nkept >= store_cap()) {
		close(fd);
		if (!k->kept_full) /* once until there is room again */
			klog_warn("unable to keep '%s' for kstartd: %zu sockets "
			    "kept already", name, k->nkept);
		k->kept_full = true;
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
	k->kept_full = false;
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

	for (int burst = 0; k->fdch >= 0 && burst < KINIT_FDSTORE_BURST;
	     burst++) {
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
	k->kept_until = 0;
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
	/* What it sent before it died counts (bounded: a descriptor of the
	 * channel left in some process of kstartd's keeps it from its end). */
	for (int i = 0; i < 16 && k->fdch >= 0; i++)
		fdstore_readable(k);
	channel_close(k);
	if (k->nkept > 0)
		k->kept_until = kinit_now() + KINIT_FDSTORE_HOLD_MS;
}

int64_t
fdstore_next_deadline(const kinit *k)
{
	return k->kept_until > 0 ? k->kept_until : -1;
}

void
fdstore_step(kinit *k, int64_t now)
{
	if (k->kept_until == 0 || now < k->kept_until)
		return;
	k->kept_until = 0;
	klog_info("closed %zu notify sockets kept for kstartd: none came "
	    "back for them within %d s", k->nkept, KINIT_FDSTORE_HOLD_MS / 1000);
	for (size_t i = 0; i < k->nkept; i++)
		close(k->kept[i].fd);
	k->nkept = 0;
	k->kept_full = false;
}
