/*
 * floor -- the floors SystemK's benchmarks are measured against: what the
 * kernel costs with no supervisor at all.
 *
 *   floor spawn N      posix_spawn N sleepers; ms until all exist
 *   floor teardown N   N sleepers already running; ms to SIGTERM and reap all
 *   floor restart N    N times: kill -9 one child, respawn on reap;
 *                      prints p50 and p99 of kill -> respawned, in microseconds
 *
 * Output is one line "floor MODE N VALUE..." for the bench scripts to parse.
 */
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

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: floor spawn|teardown|restart N\n");
		return 2;
	}
	pids = calloc((size_t)n, sizeof(*pids));
	if (strcmp(argv[1], "spawn") == 0 || strcmp(argv[1], "teardown") == 0) {
		bool spawn = argv[1][0] == 's';

		t0 = now_us();
		for (int i = 0; i < n; i++)
			pids[i] = spawn_sleeper();
		double spawned = now_us() - t0;

		t0 = now_us();
		for (int i = 0; i < n; i++)
			kill(pids[i], SIGTERM);
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
