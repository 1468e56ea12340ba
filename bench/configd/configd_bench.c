/*
 * configd_bench -- kconfigd next to its floors, for bench/configd/run.sh.
 *
 *   configd_bench echo-server URL
 *       a raw nng REP echo server (one blocking socket, no JSON) until
 *       SIGTERM: the floor for a request/reply over ipc://;
 *   configd_bench latency CONFIGD_SOCK ECHO_URL FMRI N ROUNDS
 *       ROUNDS rounds, each N echo round trips (the exact bytes of the
 *       repo.get request) with a raw nng REQ socket, N more through
 *       libkipc's client (kipc_client_roundtrip: no JSON either way), then
 *       N repo.get calls through libkipc; interleaved so that the machine's
 *       noise hits all alike.  Prints "latency echo p50 P p99 P kecho p50 P
 *       p99 P get p50 P p99 P" in microseconds;
 *   configd_bench commit CONFIGD_SOCK FMRI CLIENTS SECONDS
 *       CLIENTS threads, each with its own connection, committing
 *       repo.commit (one set of app/cK, durable on reply) back to back for
 *       SECONDS.  Prints "commit CLIENTS n N per_s R";
 *   configd_bench echo-load ECHO_URL CLIENTS SECONDS
 *       the throughput ceiling of the transport on this machine: CLIENTS
 *       threads echoing a repo.commit-sized request through the raw echo
 *       server back to back.  Prints "echo-load CLIENTS n N per_s R";
 *   configd_bench lmdb DIR SECONDS
 *       the floor for durable commits: one put per mdb_txn_commit with
 *       LMDB's default (synchronous) flags, one writer, in DIR.  Prints
 *       "lmdb n N per_s R".
 *
 * Figures only, never pass/fail: the machines are shared and noisy.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "kipc.h"

#define TIMEOUT_MS 30000

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, int p)
{
	size_t i = (n * (size_t)p) / 100;

	qsort(v, n, sizeof(*v), cmp);
	return v[i < n ? i : n - 1];
}

static _Noreturn void
die(const char *what, const char *why)
{
	fprintf(stderr, "configd_bench: error: unable to %s: %s\n", what, why);
	exit(1);
}

/* ---- echo ---------------------------------------------------------------- */

static _Noreturn void
echo_server(const char *url)
{
	nng_socket s;
	int        rv;

	if ((rv = nng_rep0_open(&s)) != 0 ||
	    (rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG)) !=
	        0 ||
	    (rv = nng_listen(s, url, NULL, 0)) != 0)
		die("listen", nng_strerror(rv));
	for (;;) {
		nng_msg *m;

		if ((rv = nng_recvmsg(s, &m, 0)) != 0)
			die("receive", nng_strerror(rv));
		if ((rv = nng_sendmsg(s, m, 0)) != 0) {
			nng_msg_free(m);
			die("send", nng_strerror(rv));
		}
	}
}

/* A REQ socket set up as libkipc's client sets its own. */
static nng_socket
echo_dial(const char *url)
{
	nng_socket s;
	int        rv;

	if ((rv = nng_req0_open(&s)) != 0)
		die("open a req socket", nng_strerror(rv));
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, TIMEOUT_MS);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, TIMEOUT_MS);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, KPROTO_MAX_MSG);
	if ((rv = nng_dial(s, url, NULL, 0)) != 0)
		die("dial the echo server", nng_strerror(rv));
	return s;
}

static double
echo_once(nng_socket s, const char *text, size_t len)
{
	double t0 = now_us();
	char  *buf = NULL;
	size_t sz = 0;
	int    rv;

	if ((rv = nng_send(s, (void *)text, len, 0)) != 0 ||
	    (rv = nng_recv(s, &buf, &sz, NNG_FLAG_ALLOC)) != 0)
		die("echo", nng_strerror(rv));
	if (sz != len)
		die("echo", "short reply");
	nng_free(buf, sz);
	return now_us() - t0;
}

/* The same bytes through libkipc's client: the floor of a repo.get. */
static double
kecho_once(kipc_client *c, const char *text, size_t len)
{
	double t0 = now_us();
	char   why[256], *reply;
	size_t rlen;
	int    ke;

	if ((ke = kipc_client_roundtrip(c, text, len, &reply, &rlen, why,
	         sizeof(why))) != KE_OK)
		die("echo through libkipc", why);
	if (rlen != len)
		die("echo through libkipc", "short reply");
	free(reply);
	return now_us() - t0;
}

static double
get_once(kipc_client *c, const char *fmri)
{
	double t0 = now_us();
	cJSON *params = cJSON_CreateObject(), *res = NULL;
	char  *err = NULL;
	int    ke;

	cJSON_AddStringToObject(params, "fmri", fmri);
	if ((ke = kipc_call(c, kproto_method_by_id(KM_REPO_GET)->name, params,
	                    &res, &err)) != KE_OK)
		die("call repo.get", err != NULL ? err : kproto_err_name(ke));
	cJSON_Delete(res);
	free(err);
	return now_us() - t0;
}

static int
latency(const char *sock, const char *url, const char *fmri, int n, int rounds)
{
	double      *echo = calloc((size_t)n * rounds, sizeof(double));
	double      *kecho = calloc((size_t)n * rounds, sizeof(double));
	double      *get = calloc((size_t)n * rounds, sizeof(double));
	cJSON       *params = cJSON_CreateObject();
	kipc_client *c, *ke_c;
	nng_socket   s = echo_dial(url);
	size_t       len = 0;
	char        *text;
	int          ke;

	if (echo == NULL || kecho == NULL || get == NULL || params == NULL)
		die("allocate", "out of memory");
	/* The echo carries the very bytes of a repo.get request. */
	cJSON_AddStringToObject(params, "fmri", fmri);
	text = kipc_encode_request(KPROTO_LEVEL, 1,
	                           kproto_method_by_id(KM_REPO_GET)->name,
	                           params, &len);
	cJSON_Delete(params);
	if ((ke = kipc_client_open(&c, sock, TIMEOUT_MS)) != KE_OK)
		die("dial kconfigd", kproto_err_name(ke));
	if ((ke = kipc_client_open(&ke_c, url + strlen("ipc://"),
	         TIMEOUT_MS)) != KE_OK)
		die("dial the echo server through libkipc", kproto_err_name(ke));
	/* Warm every path (threads, pipes, page cache). */
	for (int i = 0; i < 200; i++) {
		echo_once(s, text, len);
		kecho_once(ke_c, text, len);
		get_once(c, fmri);
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < n; i++)
			echo[r * n + i] = echo_once(s, text, len);
		for (int i = 0; i < n; i++)
			kecho[r * n + i] = kecho_once(ke_c, text, len);
		for (int i = 0; i < n; i++)
			get[r * n + i] = get_once(c, fmri);
	}
	size_t all = (size_t)n * rounds;
	double e50 = pct(echo, all, 50), e99 = pct(echo, all, 99);
	double k50 = pct(kecho, all, 50), k99 = pct(kecho, all, 99);
	double g50 = pct(get, all, 50), g99 = pct(get, all, 99);

	printf("latency echo p50 %.1f p99 %.1f kecho p50 %.1f p99 %.1f "
	       "get p50 %.1f p99 %.1f\n",
	       e50, e99, k50, k99, g50, g99);
	kipc_client_close(c);
	kipc_client_close(ke_c);
	nng_close(s);
	free(text);
	free(echo);
	free(kecho);
	free(get);
	return 0;
}

/* ---- throughput ceiling: concurrent raw echoes ----------------------------
 */

typedef struct echoer {
	const char *url;
	double      until;
	long        n;
	pthread_t   th;
} echoer;

static void *
echoer_run(void *arg)
{
	static const char text[] =
	    "{\"v\":1,\"id\":1,\"method\":\"repo.commit\","
	    "\"params\":{\"fmri\":\"svc:/bench:default\",\"ops\":[{\"op\":"
	    "\"set\",\"pg\":\"app\",\"prop\":\"c1\",\"type\":\"integer\","
	    "\"values\":[1]}]}}";
	echoer    *e = arg;
	nng_socket s = echo_dial(e->url);

	while (now_us() < e->until) {
		echo_once(s, text, sizeof(text) - 1);
		e->n++;
	}
	nng_close(s);
	return NULL;
}

static int
echo_load(const char *url, int clients, double secs)
{
	echoer *e = calloc((size_t)clients, sizeof(*e));
	double  t0 = now_us(), t1;
	long    total = 0;

	if (e == NULL)
		die("allocate", "out of memory");
	for (int i = 0; i < clients; i++) {
		e[i] = (echoer){.url = url, .until = t0 + secs * 1e6};
		if (pthread_create(&e[i].th, NULL, echoer_run, &e[i]) != 0)
			die("start a client", strerror(errno));
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(e[i].th, NULL);
		total += e[i].n;
	}
	t1 = now_us();
	printf("echo-load %d n %ld per_s %.0f\n", clients, total,
	       (double)total / ((t1 - t0) / 1e6));
	free(e);
	return 0;
}

/* ---- commits through kconfigd ------------------------------------------- */

typedef struct writer {
	const char *sock;
	const char *fmri;
	int         k;
	double      until;
	long        n;
	pthread_t   th;
} writer;

static void *
writer_run(void *arg)
{
	writer      *w = arg;
	kipc_client *c;
	char         prop[32];
	int          ke;

	if ((ke = kipc_client_open(&c, w->sock, TIMEOUT_MS)) != KE_OK)
		die("dial kconfigd", kproto_err_name(ke));
	snprintf(prop, sizeof(prop), "c%d", w->k);
	while (now_us() < w->until) {
		cJSON *params = cJSON_CreateObject(), *ops, *op, *vals,
		      *res = NULL;
		char *err = NULL;

		cJSON_AddStringToObject(params, "fmri", w->fmri);
		ops = cJSON_AddArrayToObject(params, "ops");
		op = cJSON_CreateObject();
		cJSON_AddStringToObject(op, "op", "set");
		cJSON_AddStringToObject(op, "pg", "app");
		cJSON_AddStringToObject(op, "prop", prop);
		cJSON_AddStringToObject(op, "type", "integer");
		vals = cJSON_AddArrayToObject(op, "values");
		cJSON_AddItemToArray(vals, cJSON_CreateNumber((double)w->n));
		cJSON_AddItemToArray(ops, op);
		ke = kipc_call(c, kproto_method_by_id(KM_REPO_COMMIT)->name,
		               params, &res, &err);
		if (ke != KE_OK)
			die("call repo.commit",
			    err != NULL ? err : kproto_err_name(ke));
		cJSON_Delete(res);
		free(err);
		w->n++;
	}
	kipc_client_close(c);
	return NULL;
}

static int
commits(const char *sock, const char *fmri, int clients, double secs)
{
	writer *w = calloc((size_t)clients, sizeof(*w));
	double  t0 = now_us(), t1;
	long    total = 0;

	if (w == NULL)
		die("allocate", "out of memory");
	for (int i = 0; i < clients; i++) {
		w[i] = (writer){.sock = sock,
		                .fmri = fmri,
		                .k = i,
		                .until = t0 + secs * 1e6};
		if (pthread_create(&w[i].th, NULL, writer_run, &w[i]) != 0)
			die("start a writer", strerror(errno));
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].n;
	}
	t1 = now_us();
	printf("commit %d n %ld per_s %.0f\n", clients, total,
	       (double)total / ((t1 - t0) / 1e6));
	free(w);
	return 0;
}

/* ---- raw LMDB -------------------------------------------------------------
 */

static void
lmdb_check(int rc, const char *what)
{
	if (rc != 0)
		die(what, mdb_strerror(rc));
}

static int
lmdb_floor(const char *dir, double secs)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi  dbi;
	double   t0, t1, until;
	long     n = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		die("create the lmdb dir", strerror(errno));
	lmdb_check(mdb_env_create(&env), "create an lmdb env");
	lmdb_check(mdb_env_set_mapsize(env, 64u << 20), "size the map");
	lmdb_check(mdb_env_open(env, dir, 0, 0600), "open the lmdb env");
	lmdb_check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	lmdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "open the db");
	lmdb_check(mdb_txn_commit(txn), "commit");
	t0 = now_us();
	until = t0 + secs * 1e6;
	while (now_us() < until) {
		char    key[32], val[64];
		MDB_val k, v;

		snprintf(key, sizeof(key), "k%ld", n % 64);
		snprintf(val, sizeof(val), "{\"n\": %ld}", n);
		k = (MDB_val){strlen(key), key};
		v = (MDB_val){strlen(val), val};
		lmdb_check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
		lmdb_check(mdb_put(txn, dbi, &k, &v, 0), "put");
		lmdb_check(mdb_txn_commit(txn), "commit");
		n++;
	}
	t1 = now_us();
	printf("lmdb n %ld per_s %.0f\n", n, (double)n / ((t1 - t0) / 1e6));
	mdb_env_close(env);
	return 0;
}

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: configd_bench echo-server URL\n"
	    "       configd_bench latency CONFIGD_SOCK ECHO_URL FMRI N ROUNDS\n"
	    "       configd_bench commit CONFIGD_SOCK FMRI CLIENTS SECONDS\n"
	    "       configd_bench echo-load ECHO_URL CLIENTS SECONDS\n"
	    "       configd_bench lmdb DIR SECONDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "echo-server") == 0)
		echo_server(argv[2]);
	if (argc == 7 && strcmp(argv[1], "latency") == 0 && atoi(argv[5]) > 0 &&
	    atoi(argv[6]) > 0)
		return latency(argv[2], argv[3], argv[4], atoi(argv[5]),
		               atoi(argv[6]));
	if (argc == 6 && strcmp(argv[1], "commit") == 0 && atoi(argv[4]) > 0 &&
	    atof(argv[5]) > 0)
		return commits(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	if (argc == 5 && strcmp(argv[1], "echo-load") == 0 &&
	    atoi(argv[3]) > 0 && atof(argv[4]) > 0)
		return echo_load(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "lmdb") == 0 && atof(argv[3]) > 0)
		return lmdb_floor(argv[2], atof(argv[3]));
	usage();
	return 2;
}
