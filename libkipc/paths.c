/*
 * paths.c -- DESIGN section 2: where SystemK keeps its sockets, repository,
 * manifests and logs.  Environment first, flags override.
 */
#include "kipc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *env;
	const char *flag;
	const char *def;
	size_t      off;
} path_table[] = {
	{ "SYSTEMK_RUN_DIR", "--run-dir", "/run/systemk",
	  offsetof(kipc_paths, run_dir) },
	{ "SYSTEMK_STATE_DIR", "--state-dir", "/var/lib/systemk",
	  offsetof(kipc_paths, state_dir) },
	{ "SYSTEMK_MANIFEST_DIR", "--manifest-dir", "/etc/systemk/services",
	  offsetof(kipc_paths, manifest_dir) },
	{ "SYSTEMK_LOG_DIR", "--log-dir", "/var/log/systemk",
	  offsetof(kipc_paths, log_dir) },
};

#define NPATHS (sizeof(path_table) / sizeof(path_table[0]))
#define PATHMAX sizeof(((kipc_paths *)0)->run_dir)

static void
path_set(kipc_paths *p, size_t i, const char *v)
{
	char *dst = (char *)p + path_table[i].off;

	snprintf(dst, PATHMAX, "%s", v);
}

void
kipc_paths_from_env(kipc_paths *p)
{
	for (size_t i = 0; i < NPATHS; i++) {
		const char *v = getenv(path_table[i].env);

		path_set(p, i, (v != NULL && *v != '\0') ? v : path_table[i].def);
	}
}

int
kipc_paths_arg(kipc_paths *p, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	for (size_t k = 0; k < NPATHS; k++) {
		size_t fl = strlen(path_table[k].flag);

		if (strncmp(a, path_table[k].flag, fl) != 0)
			continue;
		if (a[fl] == '=') {
			path_set(p, k, a + fl + 1);
			*i += 1;
			return 1;
		}
		if (a[fl] != '\0')
			continue;
		if (*i + 1 >= argc)
			return -1;
		path_set(p, k, argv[*i + 1]);
		*i += 2;
		return 1;
	}
	return 0;
}

void
kipc_paths_export(const kipc_paths *p)
{
	for (size_t i = 0; i < NPATHS; i++)
		setenv(path_table[i].env, (const char *)p + path_table[i].off, 1);
}

int
kipc_path_join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
kipc_mkdirs(const char *path, mode_t mode)
{
	char   tmp[512];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *s = tmp + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}
