/*
 * floor -- the floors SystemK's benchmarks are measured against: what the
 * kernel costs with no supervisor at all.
 *
 *   floor spawn N [CMD ARG...]
 *                      posix_spawn N sleepers (or N copies of CMD, each in
 *                      its own session, as a supervisor starts services);
 *                      ms until all are spawned
 *   floor teardown N   N sleepers already running; ms to SIGTERM and reap all
 *   floor restart N    N times: kill -9 one child, respawn on reap;
 *                      prints p50 and p99 of kill -> respawned, in microseconds
 *   floor probe R PID...
 *                      restart latency of a supervisor: R times, kill -9 a
 *                      child of one of the PIDs (in turn) and spin until that
 *                      parent has a new child; p50, p99, max in microseconds
 *   floor count MARKER N TIMEOUT_MS
 *                      waits until N processes have MARKER in their command
 *                      line; prints the wall-clock ms when they did (0: never)
 *
 * Output is one line "floor MODE N VALUE..." for the bench scripts to parse.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b);

/* CMD ARG... in a session of its own (a service, as supervisors run them). */
static pid_t
spawn_cmd(char **argv)
{
	posix_spawnattr_t a;
	pid_t             pid;

	posix_spawnattr_init(&a);
	posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSID);
	if (posix_spawn(&pid, argv[0], NULL, &a, argv, environ) != 0) {
		perror("posix_spawn");
		exit(1);
	}
	posix_spawnattr_destroy(&a);
	return pid;
}

/* The children of pid (its main thread's), up to max; how many. */
static int
children_of(pid_t pid, pid_t *out, int max)
{
	char  path[64], buf[65536];
	int   fd, n = 0;
	ssize_t len;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (char *p = buf, *end; n < max; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		out[n++] = (pid_t)v;
	}
	return n;
}

static bool
member(pid_t p, const pid_t *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/* R kills of a child of one of the parents; latency until a new child. */
static int
probe(int r, int nparents, char **parents)
{
	enum { MAXC = 65536 };
	pid_t  *before = calloc(MAXC, sizeof *before);
	pid_t  *now = calloc(MAXC, sizeof *now);
	double *lat = calloc((size_t)r, sizeof *lat);
	int     got = 0;

	for (int i = 0; i < r; i++) {
		pid_t parent = (pid_t)atoi(parents[i % nparents]);
		int   nb = children_of(parent, before, MAXC), nn;
		pid_t victim = 0, vpgid, ppgid = getpgid(parent);
		bool  found = false;
		double t0;

		/* A child leading its own session: a service, not an orphan. */
		for (int k = 0; k < nb && !victim; k++) {
			pid_t c = before[(k + i * 7) % nb];

			if (getpgid(c) == c || nparents > 1)
				victim = c;
		}
		if (!victim)
			continue;
		vpgid = getpgid(victim);
		t0 = now_us();
		if (kill(victim, SIGKILL) != 0)
			continue;
		while (!found && now_us() - t0 < 10e6) {
			/* Spin politely: on a small machine the supervisor
			 * needs the CPU this loop would take. */
			sched_yield();
			nn = children_of(parent, now, MAXC);
			for (int k = 0; k < nn && !found; k++)
				/* New, and not a leftover of the killed group
				 * re-parented to a subreaper. */
				found = !member(now[k], before, nb) &&
				    (getpgid(now[k]) != vpgid || vpgid == ppgid);
		}
		if (found)
			lat[got++] = now_us() - t0;
		/* What the killed service left (a peer's `sh -c` leaves its
		 * `sleep`, re-parented to PID 1): its group, after the
		 * measure, unless that group is the supervisor's own. */
		if (vpgid > 1 && vpgid != ppgid)
			(void)kill(-vpgid, SIGKILL);
		usleep(50000); /* let the supervisor settle */
	}
	if (got == 0) {
		printf("floor probe %d none\n", r);
		return 1;
	}
	qsort(lat, (size_t)got, sizeof *lat, cmp);
	printf("floor probe %d p50 %.0f us p99 %.0f us max %.0f us\n", got,
	    lat[got / 2], lat[(got * 99) / 100], lat[got - 1]);
	return 0;
}

/* Processes whose command line contains marker. */
static int
count_marked(const char *marker)
{
	DIR           *d = opendir("/proc");
	struct dirent *e;
	int            n = 0;

	while (d && (e = readdir(d))) {
		char    path[300], buf[4096];
		ssize_t len;
		int     fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		n += strstr(buf, marker) != NULL;
	}
	if (d)
		closedir(d);
	return n;
}

static pid_t
spawn_sleeper(void)
{
	char *argv[] = { "sleep", "100000", NULL };
	pid_t pid;

	if (posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ) != 0) {
		perror("posix_spawn");
		exit(1);
	}
	return pid;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int    n = argc > 2 ? atoi(argv[2]) : 1000;
	pid_t *pids;
	double t0;

	if (argc > 4 && strcmp(argv[1], "count") == 0) {
		double deadline = now_us() + atof(argv[4]) * 1000;

		n = atoi(argv[3]);
		while (count_marked(argv[2]) < n && now_us() < deadline)
			usleep(20000);
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		printf("floor count %d %lld\n", n, now_us() < deadline ?
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 : 0LL);
		return 0;
	}
	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: floor spawn|teardown|restart N, probe R PID..., count MARKER N MS\n");
		return 2;
	}
	pids = calloc((size_t)n, sizeof(*pids));
	if (strcmp(argv[1], "probe") == 0)
		return argc > 3 ? probe(n, argc - 3, argv + 3) : 2;
	if (strcmp(argv[1], "spawn") == 0 || strcmp(argv[1], "teardown") == 0) {
		bool spawn = argv[1][0] == 's';
		bool cmd = spawn && argc > 3;

		t0 = now_us();
		for (int i = 0; i < n; i++)
			pids[i] = cmd ? spawn_cmd(argv + 3) : spawn_sleeper();
		double spawned = now_us() - t0;

		t0 = now_us();
		for (int i = 0; i < n; i++)
			kill(cmd ? -pids[i] : pids[i], cmd ? SIGKILL : SIGTERM);
		for (int i = 0; i < n; i++)
			waitpid(pids[i], NULL, 0);
		double torn = now_us() - t0;

		printf("floor %s %d %.1f ms\n", argv[1], n,
		    (spawn ? spawned : torn) / 1000.0);
		return 0;
	}
	if (strcmp(argv[1], "restart") == 0) {
		double *lat = calloc((size_t)n, sizeof(*lat));
		pid_t   p = spawn_sleeper();

		for (int i = 0; i < n; i++) {
			t0 = now_us();
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
			p = spawn_sleeper();
			lat[i] = now_us() - t0;
		}
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		qsort(lat, (size_t)n, sizeof(*lat), cmp);
		printf("floor restart %d p50 %.0f us p99 %.0f us\n", n, lat[n / 2],
		    lat[(n * 99) / 100]);
		return 0;
	}
	fprintf(stderr, "floor: unknown mode %s\n", argv[1]);
	return 2;
}
