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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	FILE  *f = fopen(path, "re");
	char  *buf;
	size_t len;
	cJSON *j;

	if (f == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(KPROTO_MAX_MSG + 1)) == NULL) {
		fclose(f);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	len = fread(buf, 1, KPROTO_MAX_MSG + 1, f);
	fclose(f);
	j = kipc_json_parse(buf, len, why, whylen);
	free(buf);
	return j;
}

/* Validates dir/name into *svc; logs and returns -1 when it is bad. */
static int
load_one(const char *dir, const char *name, kcfg_service *svc)
{
	char   path[512], why[KCFG_ERR_MAX];
	cJSON *j;
	int    rc;

	memset(svc, 0, sizeof(*svc));
	if (kipc_path_join(path, sizeof(path), dir, name) != 0) {
		klog_err("unable to import '%s/%s': path too long", dir, name);
		return -1;
	}
	if ((j = read_json(path, why, sizeof(why))) == NULL) {
		klog_err("unable to import '%s': %s", path, why);
		return -1;
	}
	rc = kcfg_manifest_convert(j, name, svc, why, sizeof(why));
	cJSON_Delete(j);
	if (rc != 0) {
		klog_err("unable to import '%s': %s", path, why);
		kcfg_service_free(svc);
	}
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
	svcs = calloc((size_t)n + 1, sizeof(*svcs));
	for (int i = 0; svcs != NULL && i < n; i++)
		if (load_one(dir, names[i], &svcs[good]) == 0)
			good++;
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
