/*
 * kabuse -- a test tool that abuses SystemK's sockets the way a hostile local
 * peer would, then checks that a well-formed request is still answered.
 * Used by tests/integration/socket_abuse.sh.  Every mode prints one summary
 * line "MODE key=value ..." on stdout; exit 0 unless the mode says otherwise.
 *
 * nng sockets (configd.sock, startd.sock: SP handshake, then frames of one
 * type byte 0x01 and an 8-byte big-endian length):
 *   kabuse random PATH N SEED    N connections of random bytes: a third
 *                                before any handshake, a third after a valid
 *                                one, a third as a frame with a random length
 *   kabuse trunc PATH N          N frames that announce up to 4 MiB and stop
 *                                partway, the connection then closed
 *   kabuse big PATH N            N frames announcing 64 MiB; exit 1 unless
 *                                the daemon hangs up on every one
 *   kabuse idle PATH N           holds N connections open at once (silent,
 *                                handshaken, or mid-frame), calls sys.hello
 *                                while they are held, then closes them;
 *                                exit 1 if that call was not answered
 *   kabuse flood PATH N C METHOD [JSON]
 *                                N calls of METHOD from C threads at once;
 *                                exit 1 unless every call got a reply
 *                                (an error reply counts: it is a reply)
 * kinit.sock (AF_UNIX SOCK_SEQPACKET, one envelope per message):
 *   kabuse urandom PATH N SEED   N messages of random bytes, one per connection;
 *                                exit 1 unless each gets an error reply
 *   kabuse ubig PATH             a 1 MiB message; exit 1 unless kinit replies
 *                                too_large or hangs up
 *   kabuse uidle PATH N          as idle, over seqpacket
 *   kabuse uflood PATH N C METHOD [JSON]   as flood, over seqpacket
 * The method table:
 *   kabuse writes configd|startd|kinit FMRI
 *                                one line "METHOD PARAMS" per write method
 *                                proto.h gives the daemon, PARAMS valid for
 *                                its schema (every string FMRI), so a denial
 *                                cannot hide behind a params error
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kipc.h"

static const unsigned char sp_req[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };

/* A private xorshift generator: runs are reproducible from the seed. */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
rng_fill(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)rng();
}

/* Connects to path; -1 (errno set) when the daemon refuses. */
static int
dial(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int                fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
put_frame_header(unsigned char *h, uint64_t len)
{
	h[0] = 1;
	for (int i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)(len >> (56 - 8 * i));
}

/* Writes what it can; a peer that hangs up early is part of the game. */
static void
put(int fd, const void *buf, size_t len)
{
	(void)!send(fd, buf, len, MSG_NOSIGNAL);
}

/* Waits up to ms for the peer to hang up; true when it did. */
static bool
hung_up(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char          buf[4096];

	for (;;) {
		int rv = poll(&p, 1, ms);

		if (rv <= 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

/* Waits up to ms for one seqpacket reply; true when it is an error reply. */
static bool
replied(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char          buf[4096];
	ssize_t       n;

	if (poll(&p, 1, ms) != 1)
		return false;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "\"ok\":false") != NULL;
}

static void
raise_nofile(rlim_t want)
{
	struct rlimit rl = { want, want };

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- well-formed calls ---------------------------------------------------- */

/* One call over nng or seqpacket; KE_* of the reply, or of the failure. */
static int
call_once(bool unix_sock, const char *path, const char *method,
    const char *params, kipc_client *c)
{
	cJSON *res = NULL, *p = params ? cJSON_Parse(params) : NULL;
	char  *msg = NULL;
	int    rv;

	if (unix_sock)
		rv = kipc_unix_call(path, method, p, 5000, &res, &msg);
	else
		rv = kipc_call(c, method, p, &res, &msg);
	cJSON_Delete(res);
	free(msg);
	return rv;
}

static int
hello(bool unix_sock, const char *path)
{
	kipc_client *c = NULL;
	int          rv;

	if (!unix_sock && (rv = kipc_client_open(&c, path, 5000)) != KE_OK)
		return rv;
	rv = call_once(unix_sock, path, "sys.hello", NULL, c);
	if (c != NULL)
		kipc_client_close(c);
	return rv;
}

/* ---- nng modes ------------------------------------------------------------ */

static int
mode_random(const char *path, int n)
{
	unsigned char buf[8192];
	int           refused = 0;

	for (int i = 0; i < n; i++) {
		int    fd = dial(path, SOCK_STREAM);
		size_t len = 1 + rng() % sizeof(buf);

		if (fd < 0) {
			refused++;
			continue;
		}
		rng_fill(buf, len);
		if (i % 3 == 1) {
			put(fd, sp_req, sizeof(sp_req));
		} else if (i % 3 == 2) {
			unsigned char h[9];

			put(fd, sp_req, sizeof(sp_req));
			put_frame_header(h, rng() % (len + 16));
			put(fd, h, sizeof(h));
		}
		put(fd, buf, len);
		close(fd);
	}
	printf("random connections=%d refused=%d\n", n, refused);
	return 0;
}

static int
mode_trunc(const char *path, int n)
{
	unsigned char buf[4096], h[9];

	rng_fill(buf, sizeof(buf));
	for (int i = 0; i < n; i++) {
		int      fd = dial(path, SOCK_STREAM);
		uint64_t len = 16 + rng() % KPROTO_MAX_MSG;

		if (fd < 0)
			continue;
		put(fd, sp_req, sizeof(sp_req));
		put_frame_header(h, len);
		put(fd, h, i % 4 == 0 ? 5 : sizeof(h)); /* some headers cut too */
		if (i % 4 != 0)
			put(fd, buf, len / 2 < sizeof(buf) ? len / 2 : sizeof(buf));
		close(fd);
	}
	printf("trunc frames=%d\n", n);
	return 0;
}

static int
mode_big(const char *path, int n)
{
	unsigned char h[9], buf[65536];
	int           closed = 0;

	memset(buf, '{', sizeof(buf));
	for (int i = 0; i < n; i++) {
		int fd = dial(path, SOCK_STREAM);

		if (fd < 0)
			continue;
		put(fd, sp_req, sizeof(sp_req));
		put_frame_header(h, 64ull << 20);
		put(fd, h, sizeof(h));
		put(fd, buf, sizeof(buf));
		closed += hung_up(fd, 5000);
		close(fd);
	}
	printf("big frames=%d hung_up=%d\n", n, closed);
	return closed == n ? 0 : 1;
}

static int
mode_idle(const char *path, int n, bool unix_sock)
{
	int          *fds = calloc((size_t)n, sizeof(int));
	int           held = 0, refused = 0, rv;
	unsigned char h[9];

	struct rlimit rl;

	raise_nofile((rlim_t)n + 256);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64)
		n = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 64 : 0; /* what fits */
	for (int i = 0; i < n; i++) {
		fds[i] = dial(path, unix_sock ? SOCK_SEQPACKET : SOCK_STREAM);
		if (fds[i] < 0) {
			refused++;
			continue;
		}
		held++;
		if (unix_sock || i % 3 == 0)
			continue; /* silent */
		put(fds[i], sp_req, sizeof(sp_req));
		if (i % 3 == 2) { /* mid-frame: announced, never sent */
			put_frame_header(h, 1024);
			put(fds[i], h, sizeof(h));
		}
	}
	rv = hello(unix_sock, path);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("idle held=%d refused=%d hello_while_held=%s\n", held, refused,
	    kproto_err_name(rv));
	return rv == KE_OK ? 0 : 1;
}

struct flood {
	bool        unix_sock;
	const char *path, *method, *params;
	int         calls;
	int         replies, failures;
};

static void *
flood_thread(void *arg)
{
	struct flood *f = arg;
	kipc_client  *c = NULL;

	if (!f->unix_sock && kipc_client_open(&c, f->path, 5000) != KE_OK) {
		f->failures = f->calls;
		return NULL;
	}
	for (int i = 0; i < f->calls; i++) {
		int rv = call_once(f->unix_sock, f->path, f->method, f->params, c);

		/* Unavailable or timeout: no reply.  Anything else is one. */
		if (rv == KE_UNAVAILABLE || rv == KE_TIMEOUT)
			f->failures++;
		else
			f->replies++;
	}
	if (c != NULL)
		kipc_client_close(c);
	return NULL;
}

static int
mode_flood(bool unix_sock, const char *path, int n, int nthreads,
    const char *method, const char *params)
{
	pthread_t      *t = calloc((size_t)nthreads, sizeof(*t));
	struct flood   *f = calloc((size_t)nthreads, sizeof(*f));
	int             replies = 0, failures = 0;
	struct timespec t0, t1;
	long long       ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (int i = 0; i < nthreads; i++) {
		f[i] = (struct flood){ unix_sock, path, method, params,
			n / nthreads + (i < n % nthreads), 0, 0 };
		pthread_create(&t[i], NULL, flood_thread, &f[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		replies += f[i].replies;
		failures += f[i].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	free(t);
	free(f);
	/* A figure for docs/reliability.md, never asserted on. */
	printf("flood method=%s calls=%d replies=%d failures=%d ms=%lld "
	    "per_s=%lld\n", method, n, replies, failures, ms,
	    ms > 0 ? replies * 1000LL / ms : (long long)replies);
	return failures == 0 ? 0 : 1;
}

/* ---- seqpacket modes ------------------------------------------------------- */

static int
mode_urandom(const char *path, int n)
{
	unsigned char buf[8192];
	int           refused = 0, answered = 0;

	for (int i = 0; i < n; i++) {
		int    fd = dial(path, SOCK_SEQPACKET);
		size_t len = 1 + rng() % sizeof(buf);

		if (fd < 0) {
			refused++;
			continue;
		}
		rng_fill(buf, len);
		if (i % 2 == 0) /* half look like the start of an envelope */
			memcpy(buf, "{\"v\":1,\"id\":", len < 12 ? len : 12);
		put(fd, buf, len);
		answered += replied(fd, 5000);
		close(fd);
	}
	printf("urandom messages=%d refused=%d error_replies=%d\n", n, refused,
	    answered);
	return answered == n - refused ? 0 : 1;
}

static int
mode_ubig(const char *path)
{
	size_t len = 1u << 20;
	char  *buf = malloc(len);
	int    fd = dial(path, SOCK_SEQPACKET), sz = (int)len * 2, ok = 0;
	char   reply[4096];

	if (fd < 0 || buf == NULL)
		return 1;
	memset(buf, ' ', len);
	memcpy(buf, "{\"v\":1,\"id\":7,\"method\":\"sys.hello\",\"x\":\"", 38);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
		ok = 1; /* the kernel refused a message this large: fine too */
	} else {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) == 1) {
			ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);

			reply[n > 0 ? n : 0] = '\0';
			ok = n <= 0 || strstr(reply, "too_large") != NULL;
		}
	}
	close(fd);
	free(buf);
	printf("ubig bytes=%zu answered=%s\n", len, ok ? "yes" : "no");
	return ok ? 0 : 1;
}

/* Params that pass m's schema: every required field with a plain value. */
static char *
valid_params(const kproto_method *m, const char *fmri)
{
	cJSON *o = cJSON_CreateObject();
	char  *schema = strdup(m->params), *save = NULL, *out;

	for (char *f = strtok_r(schema, " ", &save); f != NULL;
	    f = strtok_r(NULL, " ", &save)) {
		char *type = strchr(f, ':');

		if (type == NULL || f[strlen(f) - 1] == '?')
			continue;
		*type++ = '\0';
		if (strcmp(type, "string") == 0)
			cJSON_AddStringToObject(o, f, fmri);
		else if (strcmp(type, "int") == 0)
			cJSON_AddNumberToObject(o, f, 1);
		else if (strcmp(type, "bool") == 0)
			cJSON_AddTrueToObject(o, f);
		else if (strcmp(type, "array") == 0)
			cJSON_AddArrayToObject(o, f);
		else
			cJSON_AddObjectToObject(o, f);
	}
	free(schema);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static int
mode_writes(const char *daemon, const char *fmri)
{
	int mask = strcmp(daemon, "configd") == 0 ? KD_CONFIGD :
	    strcmp(daemon, "startd") == 0 ? KD_STARTD :
	    strcmp(daemon, "kinit") == 0 ? KD_KINIT : 0;

	if (mask == 0)
		return 2;
	for (int id = 0; id < KM__COUNT; id++) {
		const kproto_method *m = kproto_method_by_id(id);
		char                *p;

		if (m == NULL || m->access != KA_WRITE || !(m->daemons & mask))
			continue;
		p = valid_params(m, fmri);
		printf("%s %s\n", m->name, p);
		free(p);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "", *path = argc > 2 ? argv[2] : "";
	int         n = argc > 3 ? atoi(argv[3]) : 1;

	if (argc > 4 && strcmp(m, "random") == 0)
		rng_state ^= strtoull(argv[4], NULL, 10) * 2654435761ULL;
	if (argc > 4 && strcmp(m, "urandom") == 0)
		rng_state ^= strtoull(argv[4], NULL, 10) * 2654435761ULL;
	if (strcmp(m, "random") == 0 && argc >= 4)
		return mode_random(path, n);
	if (strcmp(m, "trunc") == 0 && argc >= 4)
		return mode_trunc(path, n);
	if (strcmp(m, "big") == 0 && argc >= 4)
		return mode_big(path, n);
	if (strcmp(m, "idle") == 0 && argc >= 4)
		return mode_idle(path, n, false);
	if (strcmp(m, "uidle") == 0 && argc >= 4)
		return mode_idle(path, n, true);
	if ((strcmp(m, "flood") == 0 || strcmp(m, "uflood") == 0) && argc >= 6)
		return mode_flood(m[0] == 'u', path, n, atoi(argv[4]), argv[5],
		    argc > 6 ? argv[6] : NULL);
	if (strcmp(m, "urandom") == 0 && argc >= 4)
		return mode_urandom(path, n);
	if (strcmp(m, "ubig") == 0 && argc >= 3)
		return mode_ubig(path);
	if (strcmp(m, "writes") == 0 && argc >= 4)
		return mode_writes(argv[2], argv[3]);
	fprintf(stderr, "usage: kabuse random|trunc|big|idle|flood|urandom|ubig|"
	    "uidle|uflood PATH ...\n");
	return 2;
}
