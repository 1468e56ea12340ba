/*
 * main.c -- kconfigd (k.configd), SystemK's repository daemon.
 *
 * Theory of operation.  kconfigd is the only process that opens LMDB.  It
 * serves the repo.* and state.* methods of proto/ on RUN_DIR/configd.sock:
 *
 *   kctl ───────┐  nng req/rep (libkipc validates envelope, method, level,
 *   kstartd ────┴▶ params and privilege on nng's threads, then queues)
 *                   │
 *                   ▼  one thread, one poll loop
 *        signalfd ──┤── kipc_server_fd ──▶ kcfgd_dispatch ──▶ repo (LMDB)
 *                                          ──▶ kipc_req_reply / _fail
 *
 * Start-up: args -> log -> paths -> dispatch table checked against proto/
 * -> signals blocked, signalfd -> run dir -> repository (persistent
 * STATE_DIR/repo, volatile RUN_DIR/volatile) -> optional boot import of
 * MANIFEST_DIR -> listen -> readiness (one "\n" on --ready-fd, the fd
 * closed) -> loop.  Readiness is written only once the socket listens and
 * the repository is open, so kinit may start kstartd the moment it reads it.
 *
 * Error policy: a failure before readiness exits with a KEXIT_* code of
 * proto.h (kinit turns it into a reason and a remedy) after one log line.
 * After readiness nothing a request does ends the daemon: every request gets
 * exactly one reply, an error reply included.
 *
 * Group commit.  Each wake-up drains every queued request (up to
 * BATCH_MAX), opens one LMDB write transaction, runs each write in it (one
 * that fails after writing sends the batch round again, each write then in
 * a nested transaction that a failure aborts alone), commits it once --
 * one fsync for the lot -- and only then replies to all and publishes
 * their events on events.sock.  A reply therefore always means durable.
 * The replies and the events are encoded and sent by a second thread, the
 * replier, so that the loop starts the next batch at once.
 * Requests are still handled one at a time on one thread, so no lock is
 * needed.  repo.backup runs between batches, never inside.
 *
 * Reads served where they arrive.  repo.get and state.get are pure reads
 * of one read transaction each (repo.h: Threads), so they are answered on
 * nng's threads (kipc_server_inline): no hop through the queue and the
 * loop, and no wait behind a group commit's fsync.  They see what was
 * committed before they began; a write's reply comes only after its
 * commit, so a client reads its own acknowledged writes.
 * SIGTERM and SIGINT close the socket and the environments and exit 0;
 * SIGHUP is logged and ignored.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

#include "handlers.h"
#include "kipc.h"
#include "repo.h"

#define BATCH_MAX 512 /* requests in one group commit */
#define TRIM_IDLE_MS 200 /* idle this long after work: give memory back */
#define MMAP_IDLE (128 << 10) /* allocations this big get their own map */
/*
 * Fastbins while serving: glibc's default bound (64 * sizeof(size_t) / 4).
 * Each request is a tree of a few dozen small nodes, parsed on one of
 * nng's threads and freed on another; past the thread cache's 7 chunks of
 * a size, a free without fastbins merges the chunk with its neighbours
 * under the arena's lock.  With them, 32 writers cost about 10% less CPU
 * per commit (docs/benchmarks.md).
 */
#define SERVE_MXFAST (64 * sizeof(size_t) / 4)

/* Set (to our pid) across the exec after a boot import: the repository
 * was checked and written by this very process a moment ago. */
#define ENV_IMPORTED "SYSTEMK_KCONFIGD_IMPORTED"

typedef struct opts {
	kipc_paths paths;
	int        ready_fd;
	bool       boot_import;
	bool       imported; /* ENV_IMPORTED named this process */
} opts;

static void
usage(void)
{
	fprintf(stderr, "usage: kconfigd [--run-dir D] [--state-dir D] "
	                "[--manifest-dir D] [--log-dir D] [--ready-fd N] "
	                "[--boot-import]\n");
}

/* A file descriptor number, or -1. */
static int
parse_fd(const char *s)
{
	char *end;
	long  n;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	return (errno != 0 || *end != '\0' || n < 0 || n > 65535) ? -1 : (int)n;
}

/* 0, or -1 for a usage error (already reported). */
static int
parse_args(opts *o, int argc, char **argv)
{
	const char *env = getenv("SYSTEMK_READY_FD");
	int         i = 1, rc;

	kipc_paths_from_env(&o->paths);
	o->ready_fd = env != NULL ? parse_fd(env) : -1;
	o->boot_import = false;
	env = getenv(ENV_IMPORTED);
	o->imported = env != NULL && strtol(env, NULL, 10) == (long)getpid();
	unsetenv(ENV_IMPORTED);
	while (i < argc) {
		if ((rc = kipc_paths_arg(&o->paths, argc, argv, &i)) == 1)
			continue;
		if (rc < 0) {
			klog_err("unable to parse '%s': missing value", argv[i]);
			return -1;
		}
		if (strcmp(argv[i], "--boot-import") == 0) {
			o->boot_import = true;
			i++;
		} else if (strcmp(argv[i], "--ready-fd") == 0 && i + 1 < argc &&
		    parse_fd(argv[i + 1]) >= 0) {
			o->ready_fd = parse_fd(argv[i + 1]);
			i += 2;
		} else if (strncmp(argv[i], "--ready-fd=", 11) == 0 &&
		    parse_fd(argv[i] + 11) >= 0) {
			o->ready_fd = parse_fd(argv[i] + 11);
			i++;
		} else {
			klog_err("unable to parse '%s': unknown option", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Blocks the signals we handle and returns a signalfd for them, or -1. */
static int
signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE); /* a vanished peer must not kill us */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Runs on nng's threads: repo.get and state.get, else the loop's. */
static int
serve_read(void *arg, const kproto_method *m, const cJSON *params,
    bool privileged, cJSON **result, char *why, size_t whylen)
{
	char *text = NULL;
	int   ke;

	if (m->id != KM_REPO_GET && m->id != KM_STATE_GET)
		return KIPC_QUEUE;
	if (m->id == KM_REPO_GET) {
		/* Printed once per repository state; raw into the reply. */
		if ((ke = kcfgd_get_text(arg, params, privileged, &text, why,
		         whylen)) == KE_OK &&
		    (*result = cJSON_CreateRaw(text)) == NULL) {
			snprintf(why, whylen, "out of memory");
			ke = KE_INTERNAL;
		}
		free(text);
	} else
		ke = kcfgd_dispatch(arg, m->id, params, privileged, result, why,
		    whylen);
	if (ke == KE_INTERNAL)
		klog_err("unable to serve '%s': %s", m->name, why);
	return ke;
}

/* Readiness: one newline, then the fd is closed (s6 notification-fd). */
static void
notify_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) != 1)
		klog_warn("unable to write readiness to fd %d: %s", fd,
		    strerror(errno));
	close(fd);
}

/* One request of a batch and its outcome, replied after the commit. */
typedef struct pending {
	kipc_req *r;
	int       ke;
	cJSON    *result;
	bool      retried; /* once after a full map */
	bool      ran;     /* run once already (run_one) */
	char      why[KCFG_ERR_MAX];
} pending;

/* Does the method write the persistent store (so waits for the commit)? */
static bool
persistent_write(const kproto_method *m)
{
	return m->access == KA_WRITE && strncmp(m->name, "repo.", 5) == 0;
}

/* Runs p's request, maybe again when its batch runs a second time
 * (run_batch; kcfgd_rerun_kept says what is done again). */
static void
run_one(krepo *repo, pending *p)
{
	const kproto_method *m = kipc_req_method(p->r);

	if (p->ran &&
	    kcfgd_rerun_kept(repo, m->id, kipc_req_params(p->r), p->ke))
		return;
	p->ran = true;

	p->why[0] = '\0';
	cJSON_Delete(p->result);
	p->result = NULL;
	p->ke = kcfgd_dispatch(repo, m->id, kipc_req_params(p->r),
	    kipc_req_privileged(p->r), &p->result, p->why, sizeof(p->why));
}

/*
 * The replier: a thread that encodes and sends the replies of finished
 * batches, then publishes their events, so that the loop goes on to the
 * next batch at once (replies are most of a commit's cost besides the
 * commit itself).  The loop hands over a whole batch under one lock; the
 * replies were decided after the batch committed, so they still mean
 * durable, and the events come only from committed batches.
 */
typedef struct done {
	kipc_req    *r;      /* NULL: an item of events to publish */
	cJSON       *events; /* [...] of a committed batch, when r is NULL */
	int          ke;
	cJSON       *result;
	char         why[KCFG_ERR_MAX];
	struct done *next;
} done;

typedef struct replier {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	done           *head, **tail;
	bool            stop;
	bool            running;
	nng_socket     *pub; /* events.sock, or NULL */
	nng_aio        *pub_aio; /* the thread's sends on pub, or NULL */
	pthread_t       th;
} replier;

static replier rep_q = { .mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER };

/* Sends text on pub with aio, or with nng_send() (an aio of its own,
 * a malloc and a getrandom() each) when aio is NULL. */
static void
pub_send(nng_socket *pub, nng_aio *aio, const char *text, size_t len)
{
	nng_msg *msg;

	if (aio == NULL) {
		nng_send(*pub, (void *)text, len, NNG_FLAG_NONBLOCK);
		return;
	}
	if (nng_msg_alloc(&msg, len) != 0)
		return;
	memcpy(nng_msg_body(msg), text, len);
	nng_aio_set_msg(aio, msg);
	nng_send_aio(*pub, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0)
		nng_msg_free(nng_aio_get_msg(aio));
}

/* Publishes a committed batch's events (taken); PUB never blocks.  aio:
 * the replier's, or NULL on any other thread. */
static void
publish(nng_socket *pub, nng_aio *aio, cJSON *evs)
{
	for (cJSON *e = evs != NULL ? evs->child : NULL;
	     pub != NULL && e != NULL; e = e->next) {
		size_t len;
		char  *text = kipc_json_print(e, &len);

		if (text != NULL)
			pub_send(pub, aio, text, len);
		free(text);
	}
	cJSON_Delete(evs);
}

static void
send_done(done *d, nng_aio *pub_aio)
{
	while (d != NULL) {
		done *next = d->next;

		if (d->r == NULL)
			publish(rep_q.pub, pub_aio, d->events);
		else if (d->ke == KE_OK)
			kipc_req_reply(d->r, d->result);
		else
			kipc_req_fail(d->r, d->ke, "%s", d->why);
		free(d);
		d = next;
	}
}

static void *
replier_run(void *arg)
{
	replier *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		done *d = q->head;

		if (d == NULL && q->stop)
			break;
		if (d == NULL) {
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		q->head = NULL;
		q->tail = &q->head;
		pthread_mutex_unlock(&q->mu);
		send_done(d, q->pub_aio);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
replier_start(replier *q)
{
	q->head = NULL;
	q->tail = &q->head;
	if (nng_aio_alloc(&q->pub_aio, NULL, NULL) == 0)
		nng_aio_set_timeout(q->pub_aio, NNG_DURATION_ZERO);
	else
		q->pub_aio = NULL;
	q->running = pthread_create(&q->th, NULL, replier_run, q) == 0;
	if (!q->running)
		klog_warn("unable to start 'replier': replying on the loop");
}

/* Sends what is queued, then ends the thread. */
static void
replier_stop(replier *q)
{
	if (q->running) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->th, NULL);
		q->running = false;
	}
	if (q->pub_aio != NULL)
		nng_aio_free(q->pub_aio);
	q->pub_aio = NULL;
}

/* Hands a batch's replies (a list) to the replier, or sends them. */
static void
replier_put(replier *q, done *first, done **last)
{
	if (first == NULL)
		return;
	if (!q->running) {
		send_done(first, NULL);
		return;
	}
	pthread_mutex_lock(&q->mu);
	*q->tail = first;
	q->tail = last;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Replies to n requests whose batch committed with cke (KE_OK) or not. */
static void
finish(pending *p, int n, int cke, const char *cwhy)
{
	done *first = NULL, **last = &first;

	for (int i = 0; i < n; i++) {
		const kproto_method *m = kipc_req_method(p[i].r);
		done                *d = malloc(sizeof(*d));

		if (p[i].ke == KE_OK && cke != KE_OK && persistent_write(m)) {
			cJSON_Delete(p[i].result);
			p[i].result = NULL;
			p[i].ke = cke;
			snprintf(p[i].why, sizeof(p[i].why), "%s", cwhy);
		}
		if (p[i].ke == KE_INTERNAL)
			klog_err("unable to serve '%s': %s", m->name, p[i].why);
		if (d == NULL) { /* no memory for the hand-over: reply here */
			if (p[i].ke == KE_OK)
				kipc_req_reply(p[i].r, p[i].result);
			else
				kipc_req_fail(p[i].r, p[i].ke, "%s", p[i].why);
		} else {
			*d = (done) { .r = p[i].r, .ke = p[i].ke,
				.result = p[i].result };
			snprintf(d->why, sizeof(d->why), "%s", p[i].why);
			*last = d;
			last = &d->next;
		}
		p[i].r = NULL;
		p[i].result = NULL;
		p[i].retried = p[i].ran = false;
	}
	replier_put(&rep_q, first, last);
}

/* Hands a committed batch's events to the replier, after its replies. */
static void
publish_later(krepo *repo)
{
	cJSON *evs = krepo_take_events(repo);
	done  *d;

	if (evs == NULL)
		return;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		publish(rep_q.pub, NULL, evs);
		return;
	}
	d->events = evs;
	replier_put(&rep_q, d, &d->next);
}

/*
 * Runs p[*i...] inside one group commit until the end, an unbatched
 * request or a full map; replies to them after the commit.  Requests run
 * in the batch's own transaction; when one fails halfway through its
 * writes, the batch is dropped and run again with each request in a
 * nested transaction of its own (repo.h: Group commit).  Nothing was
 * replied yet, and each request does the same again on the same data --
 * but for its writes to the volatile namespace, which stand (run_one).
 */
static void
run_batch(krepo *repo, pending *p, int n, int *i)
{
	char why[KCFG_ERR_MAX] = "";
	int  start = *i, cke;
	bool nested = false;

again:
	cke = krepo_batch_begin(repo, nested, why, sizeof(why));
	if (cke != KE_OK) {
		for (; *i < n; (*i)++)
			p[*i].ke = cke, snprintf(p[*i].why, sizeof(p[*i].why), "%s", why);
		finish(&p[start], n - start, KE_OK, "");
		return;
	}
	for (; *i < n && kipc_req_method(p[*i].r)->id != KM_REPO_BACKUP; (*i)++) {
		run_one(repo, &p[*i]);
		if (krepo_batch_poisoned(repo)) {
			klog_info("running a batch of %d again, one request at a "
			    "time: '%s' failed after writing: %s", n - start,
			    kipc_req_method(p[*i].r)->name, p[*i].why);
			krepo_batch_abort(repo);
			*i = start;
			nested = true;
			goto again;
		}
		/* A full map: commit what we have, grow, run it again --
		 * unless it was alone, then the map cannot take it. */
		if (krepo_batch_full(repo) && (*i > start || !p[*i].retried)) {
			p[*i].retried = true;
			break;
		}
	}
	if (krepo_batch_flush(repo, why, sizeof(why)) != KE_OK) {
		krepo_batch_abort(repo);
		*i = start;
		nested = true;
		goto again;
	}
	cke = krepo_batch_end(repo, why, sizeof(why));
	finish(&p[start], *i - start, cke, why);
	if (cke == KE_OK)
		publish_later(repo);
}

/* Drains the queue and serves it in group commits. */
static void
serve_all(krepo *repo, kipc_server *srv, pending *p)
{
	kipc_req *r;
	int       n = 0, i = 0;

	while (n < BATCH_MAX && (r = kipc_server_next(srv)) != NULL)
		p[n++].r = r;
	while (i < n) {
		if (kipc_req_method(p[i].r)->id == KM_REPO_BACKUP) {
			run_one(repo, &p[i]);
			finish(&p[i], 1, KE_OK, "");
			i++;
		} else
			run_batch(repo, p, n, &i);
	}
}

/* Returns true when a terminating signal arrived. */
static bool
read_signals(int sfd)
{
	struct signalfd_siginfo si;
	bool                    stop = false;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			stop = true;
		else if (si.ssi_signo == SIGHUP)
			klog_info("SIGHUP ignored: import with 'kctl import'");
	}
	return stop;
}

/* Serves until SIGTERM/SIGINT: KEXIT_OK; KEXIT_FAILURE when the repository
 * could not be opened again (its data is committed; kinit restarts us). */
static int
loop(krepo *repo, kipc_server *srv, int sfd, pending *p)
{
	struct epoll_event ev[2];
	char               why[KCFG_ERR_MAX];
	int                idle_ms = TRIM_IDLE_MS, n, rc = KEXIT_OK; /* boot import */
	int                ep = epoll_create1(EPOLL_CLOEXEC);
	bool               failing = false, sig;

	/* epoll, not poll: poll(2) refuses more descriptors than
	 * RLIMIT_NOFILE allows (EINVAL), so at a limit of one kconfigd spun,
	 * logging, and served nobody.  epoll_wait has no such check. */
	if (ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &(struct epoll_event){
	        .events = EPOLLIN, .data.u32 = 0 }) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, kipc_server_fd(srv),
	        &(struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 }) != 0) {
		klog_err("unable to watch the signals and the socket: %s",
		    strerror(errno));
		if (ep >= 0)
			close(ep);
		return KEXIT_FAILURE;
	}
	for (;;) {
		if ((n = epoll_wait(ep, ev, 2, idle_ms)) < 0) {
			if (errno != EINTR && !failing)
				klog_err("unable to wait: %s", strerror(errno));
			failing = errno != EINTR;
			if (failing) /* no busy loop */
				nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
			continue;
		}
		failing = false;
		/* Idle after work: an import or a big batch leaves the heaps
		 * full of freed JSON; give their free pages back (at 1000
		 * services about half of kconfigd's resident memory). */
		if (n == 0) {
			/* Trimmed first, so that the environments opened
			 * again get clean pages, not the import's garbage. */
			malloc_trim(0);
			if (krepo_release(repo, why, sizeof(why)) != KE_OK) {
				klog_err("%s", why);
				rc = KEXIT_FAILURE;
				break;
			}
			malloc_trim(0);
			idle_ms = -1;
			continue;
		}
		sig = false;
		for (int i = 0; i < n; i++)
			sig = sig || ev[i].data.u32 == 0;
		if (sig && read_signals(sfd))
			break;
		serve_all(repo, srv, p);
		idle_ms = TRIM_IDLE_MS;
	}
	close(ep);
	return rc;
}

/*
 * The event publisher on RUN_DIR/events.sock (0666: events carry no
 * secrets).  Events are hints; without the socket kconfigd still serves.
 */
static int
events_open(const opts *o, nng_socket *pub)
{
	char         path[512], url[600];
	nng_listener l;
	int          rv;

	if (kipc_path_join(path, sizeof(path), o->paths.run_dir,
	        KPROTO_SOCK_EVENTS) != 0)
		return -1;
	snprintf(url, sizeof(url), "ipc://%s", path);
	if ((rv = nng_pub0_open(pub)) != 0) {
		klog_warn("unable to open '%s': %s", path, nng_strerror(rv));
		return -1;
	}
	nng_socket_set_size(*pub, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG);
	if ((rv = nng_listener_create(&l, *pub, url)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0666)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		klog_warn("unable to listen on '%s': %s", path, nng_strerror(rv));
		nng_close(*pub);
		return -1;
	}
	return 0;
}

/*
 * After the boot import: this program again, without --boot-import (same
 * pid, readiness fd, blocked and pending signals).  The import scatters
 * its few long-lived allocations over a heap it grew to 20 MiB: the trim
 * gave back all but about 1.1 MiB, pinned by 0.2 MiB in use.  A new image
 * starts from the imported repository with a heap of its own size.
 * Returns only when it could not (then this process goes on).
 */
static void
reexec_without_import(char **argv)
{
	const char *path = (const char *)getauxval(AT_EXECFN), *base;
	char       *nargv[32], pid[24];
	struct stat self, named;
	int         n = 0;

	/* The path this image was started by (AT_EXECFN), so that the new one
	 * has the same name (comm): only when it is still this program's
	 * file, and not the dynamic loader (`ld.so kconfigd`), which would
	 * take our options for its own.  Otherwise this process goes on. */
	if (path == NULL || stat("/proc/self/exe", &self) != 0 ||
	    stat(path, &named) != 0 || self.st_dev != named.st_dev ||
	    self.st_ino != named.st_ino)
		return;
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if (strncmp(base, "ld-", 3) == 0 || strncmp(base, "ld.so", 5) == 0)
		return;
	for (int i = 0; argv[i] != NULL; i++) {
		if (strcmp(argv[i], "--boot-import") == 0)
			continue;
		if (n == (int)(sizeof(nargv) / sizeof(nargv[0])) - 1)
			return;
		nargv[n++] = argv[i];
	}
	nargv[n] = NULL;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv(ENV_IMPORTED, pid, 1) != 0)
		return;
	execv(path, nargv);
	unsetenv(ENV_IMPORTED);
	klog_warn("unable to start again after the import (%s): going on "
	    "with this heap", strerror(errno));
}

/* Everything up to the loop; returns a KEXIT_* code on failure. */
static int
start(const opts *o, char **argv, krepo **repo, kipc_server **srv, int *sfd)
{
	char why[KCFG_ERR_MAX], sock[512];
	int  dexit = KEXIT_FAILURE, ke;

	if (kcfgd_check_table(why, sizeof(why)) != 0) {
		klog_err("unable to start: %s", why);
		return KEXIT_FAILURE;
	}
	/* Before any LMDB write: a SIGTERM then waits for the loop. */
	if ((*sfd = signals_open()) < 0) {
		klog_err("unable to open 'signalfd': %s", strerror(errno));
		return KEXIT_FAILURE;
	}
	if (kipc_mkdirs(o->paths.run_dir, 0755) != 0) {
		klog_err("unable to create '%s': %s", o->paths.run_dir,
		    strerror(errno));
		return KEXIT_RUNDIR;
	}
	if (kipc_mkdirs(o->paths.state_dir, 0755) != 0) {
		klog_err("unable to create '%s': %s", o->paths.state_dir,
		    strerror(errno));
		return KEXIT_STATEDIR;
	}
	if ((o->imported ? krepo_open_checked : krepo_open)(repo,
	        o->paths.state_dir, o->paths.run_dir, &dexit, why,
	        sizeof(why)) != KE_OK) {
		klog_err("%s", why);
		return dexit;
	}
	if (o->boot_import) {
		char      path[1024];
		long long bytes = 0;

		/* A known-good copy before the import changes anything. */
		if (krepo_backup(*repo, path, sizeof(path), &bytes, why,
		        sizeof(why)) != KE_OK)
			klog_warn("%s", why);
		kcfgd_boot_import(*repo, o->paths.manifest_dir);
		cJSON_Delete(krepo_take_events(*repo));
		krepo_close(*repo);
		*repo = NULL;
		reexec_without_import(argv);
		if (krepo_open_checked(repo, o->paths.state_dir,
		        o->paths.run_dir, &dexit, why, sizeof(why)) != KE_OK) {
			klog_err("%s", why);
			return dexit;
		}
	}
	if (kipc_path_join(sock, sizeof(sock), o->paths.run_dir,
	        KPROTO_SOCK_CONFIGD) != 0) {
		klog_err("unable to listen on '%s/%s': path too long",
		    o->paths.run_dir, KPROTO_SOCK_CONFIGD);
		return KEXIT_SOCKET;
	}
	if ((ke = kipc_server_open(srv, sock, "k.configd", KD_CONFIGD)) !=
	    KE_OK) {
		klog_err("unable to listen on '%s': %s", sock,
		    kproto_err_name(ke));
		return KEXIT_SOCKET;
	}
	return KEXIT_OK;
}

int
main(int argc, char **argv)
{
	opts         o;
	krepo       *repo = NULL;
	kipc_server *srv = NULL;
	nng_socket   pub;
	bool         have_pub = false;
	pending     *p;
	int          sfd = -1, rc;

	kipc_log_init("kconfigd");
	/* A fixed threshold: LMDB's 1-2 MiB per-environment arrays (and big
	 * replies) get their own mappings, untouched pages stay unbacked and
	 * freeing them gives the memory back.  glibc's default raises the
	 * threshold after the first such free, after which a reopened
	 * environment's calloc lands in the heap and zeroes 2 MiB of it. */
	mallopt(M_MMAP_THRESHOLD, MMAP_IDLE);
	/* The main thread's arena and one for all of nng's threads (which
	 * answer reads), not one per thread: 1.5 MiB less at 1000 services. */
	mallopt(M_ARENA_MAX, 2);
	/* No fastbins while starting: a boot import frees thousands of small
	 * JSON nodes, and the first large free after them walked and merged
	 * them all (malloc_consolidate: 8% of the import's CPU).  Freed small
	 * chunks go to the thread cache, then merge at once.  Serving turns
	 * them back on (SERVE_MXFAST). */
	mallopt(M_MXFAST, 0);
	if (parse_args(&o, argc, argv) != 0) {
		usage();
		return KEXIT_USAGE;
	}
	/* Before the boot import: a fresh mapping, resident only as far as
	 * batches have used it (later it would be cut from the import's
	 * freed heap and zeroed there, all 270 KiB of it). */
	if ((p = calloc(BATCH_MAX, sizeof(*p))) == NULL) {
		klog_err("unable to start: out of memory");
		return KEXIT_NOMEM;
	}
	if ((rc = start(&o, argv, &repo, &srv, &sfd)) == KEXIT_OK) {
		have_pub = events_open(&o, &pub) == 0;
		kipc_server_inline(srv, serve_read, repo);
		rep_q.pub = have_pub ? &pub : NULL;
		replier_start(&rep_q);
		mallopt(M_MXFAST, SERVE_MXFAST);
		notify_ready(o.ready_fd);
		klog_info("ready on '%s/%s'", o.paths.run_dir, KPROTO_SOCK_CONFIGD);
		rc = loop(repo, srv, sfd, p);
		klog_info("stopping");
		replier_stop(&rep_q);
	}
	if (have_pub)
		nng_close(pub);
	if (srv != NULL)
		kipc_server_close(srv);
	krepo_close(repo);
	if (sfd >= 0)
		close(sfd);
	free(p);
	return rc;
}
