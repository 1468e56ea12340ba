/*
 * boot.c -- the boot-time import of SYSTEMK_MANIFEST_DIR.
 *
 * Unlike repo.import, a bad file must not stop the boot: every file is
 * validated alone, the bad ones are logged and skipped, and the good ones
 * are imported together in one transaction.  If that transaction is refused
 * (a dependency cycle, a service in two files), each good file is tried
 * alone so that one fault costs only its own services.
 */
#include "handlers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kipc.h"
#include "manifest.h"

#define MAX_FILES 4096

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_manifest_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".json") == 0;
}

/* The sorted *.json names in dir; *n of them.  NULL with errno on failure. */
static char **
list_json(const char *dir, int *n)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char         **names;

	*n = 0;
	if (d == NULL)
		return NULL;
	if ((names = calloc(MAX_FILES, sizeof(*names))) == NULL) {
		closedir(d);
		return NULL;
	}
	while ((e = readdir(d)) != NULL && *n < MAX_FILES)
		if (is_manifest_name(e->d_name) &&
		    (names[*n] = strdup(e->d_name)) != NULL)
			(*n)++;
	closedir(d);
	qsort(names, (size_t)*n, sizeof(*names), cmp_str);
	return names;
}

/* Reads and parses one file; NULL with the reason in why. */
static cJSON *
read_json(const char *path, char *why, size_t whylen)
{
	int         fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char       *buf;
	size_t      len = 0, cap;
	ssize_t     r = 1;
	cJSON      *j;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	/* A buffer the file's size (one byte more shows it grew), not the
	 * limit's 4 MiB for every small manifest. */
	cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	        (unsigned long long)st.st_size < KPROTO_MAX_MSG
	    ? (size_t)st.st_size + 1
	    : KPROTO_MAX_MSG + 1; /* a size it cannot tell: the limit */
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	while (len < cap && (r = read(fd, buf + len, cap - len)) != 0)
		if (r > 0)
			len += (size_t)r;
		else if (errno != EINTR)
			break;
	close(fd);
	if (r < 0)
		snprintf(why, whylen, "%s", strerror(errno));
	else if (len == cap && cap <= KPROTO_MAX_MSG)
		snprintf(why, whylen, "the file changed while it was read");
	j = r >= 0 && !(len == cap && cap <= KPROTO_MAX_MSG)
	    ? kipc_json_parse(buf, len, why, whylen)
	    : NULL;
	free(buf);
	return j;
}

/*
 * Validates dir/name into *svc; returns -1 when it is bad, with the line
 * to log in *err (malloc'd; the caller logs them in name order).
 */
static int
load_one(const char *dir, const char *name, kcfg_service *svc, char **err)
{
	char   path[512], why[KCFG_ERR_MAX], line[1024 + KCFG_ERR_MAX];
	cJSON *j;
	int    rc = -1;

	memset(svc, 0, sizeof(*svc));
	*err = NULL;
	if (kipc_path_join(path, sizeof(path), dir, name) != 0) {
		snprintf(line, sizeof(line), "unable to import '%s/%s': path too "
		    "long", dir, name);
	} else if ((j = read_json(path, why, sizeof(why))) == NULL) {
		snprintf(line, sizeof(line), "unable to import '%s': %s", path,
		    why);
	} else {
		rc = kcfg_manifest_convert(j, name, svc, why, sizeof(why));
		cJSON_Delete(j);
		if (rc != 0) {
			snprintf(line, sizeof(line), "unable to import '%s': %s",
			    path, why);
			kcfg_service_free(svc);
		}
	}
	if (rc != 0 && (*err = strdup(line)) == NULL)
		klog_err("%s", line); /* no memory to keep it: now, then */
	return rc;
}

static int
import_batch(krepo *repo, const kcfg_service *svcs, int n, const char *what)
{
	char   why[KCFG_ERR_MAX];
	cJSON *res = NULL;
	int    ke = krepo_import(repo, svcs, n, false, &res, why, sizeof(why));

	if (ke != KE_OK)
		klog_err("unable to import '%s': %s", what, why);
	cJSON_Delete(res);
	return ke;
}

/* Files [from, to) of names into svcs[i]; ok[i] says which are good,
 * err[i] why one is not. */
typedef struct loader {
	const char   *dir;
	char *const  *names;
	kcfg_service *svcs;
	bool         *ok;
	char        **err;
	int           from, to;
} loader;

static void *
load_range(void *arg)
{
	loader *l = arg;

	for (int i = l->from; i < l->to; i++)
		l->ok[i] = load_one(l->dir, l->names[i], &l->svcs[i],
		    &l->err[i]) == 0;
	return NULL;
}

/*
 * Reads and validates every file into svcs, the good ones first, in name
 * order; returns how many are good.  Reading and parsing is a fifth of a
 * boot import, and nothing else runs yet: a second thread takes the second
 * half of a long list.
 */
static int
load_all(const char *dir, char *const *names, int n, kcfg_service *svcs)
{
	bool     *ok = calloc((size_t)n + 1, sizeof(*ok));
	char    **err = calloc((size_t)n + 1, sizeof(*err));
	loader    a = { dir, names, svcs, ok, err, 0, n }, b = a;
	pthread_t tid;
	bool      two = false;
	int       good = 0;

	if (ok == NULL || err == NULL) {
		klog_err("unable to import '%s': out of memory", dir);
		free(ok);
		free(err);
		return 0;
	}
	if (n >= 64) {
		a.to = b.from = n / 2;
		two = pthread_create(&tid, NULL, load_range, &b) == 0;
		if (!two)
			a.to = n;
	}
	load_range(&a);
	if (two)
		pthread_join(tid, NULL);
	for (int i = 0; i < n; i++) {
		if (err[i] != NULL)
			klog_err("%s", err[i]);
		free(err[i]);
		if (ok[i])
			svcs[good++] = svcs[i];
	}
	free(ok);
	free(err);
	return good;
}

int
kcfgd_boot_import(krepo *repo, const char *dir)
{
	kcfg_service *svcs;
	char        **names;
	int           n, good = 0, done = 0;

	if ((names = list_json(dir, &n)) == NULL) {
		klog_warn("unable to read manifest directory '%s': %s", dir,
		    strerror(errno));
		return 0;
	}
	if ((svcs = calloc((size_t)n + 1, sizeof(*svcs))) != NULL)
		good = load_all(dir, names, n, svcs);
	if (svcs != NULL && good > 0) {
		if (import_batch(repo, svcs, good, dir) == KE_OK)
			done = good;
		else
			for (int i = 0; i < good; i++)
				done += import_batch(repo, &svcs[i], 1,
				            svcs[i].name) == KE_OK;
	}
	klog_info("imported %d of %d manifest(s) from '%s'", done, n, dir);
	for (int i = 0; i < good; i++)
		kcfg_service_free(&svcs[i]);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(svcs);
	free(names);
	return done;
}
