/*
 * manifest.c -- reading the files `kctl import` and `kctl validate` send.
 *
 * kctl parses every file before it sends anything, so a JSON fault is
 * reported with its file, byte, line and column, and nothing is sent
 * (import is atomic: DESIGN section 3).  What the manifests mean is kconfigd's
 * to judge; kctl only checks that each is a JSON object.
 */
#include "kctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
errno_code(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return KE_NOT_FOUND;
	case EACCES:
	case EPERM:
		return KE_DENIED;
	default:
		return KE_INTERNAL;
	}
}

/* Reads the whole of a regular file into a malloc'd buffer. */
static int
read_file(const char *path, char **buf, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	size_t      got = 0;
	int         fd;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		int e = errno;

		snprintf(why, whylen, "%s", strerror(e));
		if (fd >= 0)
			close(fd);
		return errno_code(e);
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > KPROTO_MAX_MSG) {
		snprintf(why, whylen, "%s", S_ISREG(st.st_mode) ?
		    "larger than a message may be" : "not a regular file");
		close(fd);
		return S_ISREG(st.st_mode) ? KE_TOO_LARGE : KE_INVALID;
	}
	if ((*buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return KE_INTERNAL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* shrank meanwhile: parse what is there */
		got += (size_t)n;
	}
	close(fd);
	(*buf)[got] = '\0';
	*len = got;
	return KE_OK;
}

/* "malformed JSON at byte N" gains the line and column of byte N. */
static void
add_position(const char *text, size_t len, char *why, size_t whylen)
{
	const char *at = strstr(why, "at byte ");
	size_t      off, line = 1, col = 1, n = strlen(why);

	if (at == NULL || sscanf(at + 8, "%zu", &off) != 1 || off > len)
		return;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80)
			col++;
	}
	snprintf(why + n, whylen - n, " (line %zu, column %zu)", line, col);
}

static int
add_one(cJSON *manifests, cJSON *files, cJSON *m, const char *name,
    char *why, size_t whylen)
{
	const char *ptr = strrchr(name, '#');

	if (!cJSON_IsObject(m)) {
		/* The file is named by the caller; an element by its pointer. */
		snprintf(why, whylen, "%s%snot a manifest: expected a JSON object",
		    ptr != NULL ? ptr + 1 : "", ptr != NULL ? ": " : "");
		return KE_INVALID;
	}
	cJSON_AddItemToArray(manifests, cJSON_Duplicate(m, 1));
	cJSON_AddItemToArray(files, cJSON_CreateString(name));
	return KE_OK;
}

/* One file: a manifest, an array of them, or an export {"services": [...]}. */
static int
load_file(const char *path, cJSON *manifests, cJSON *files, char *why,
    size_t whylen)
{
	char        *text, inner[300], name[4200];
	size_t       len;
	cJSON       *root;
	const cJSON *list, *m;
	int          rv, i = 0;

	if ((rv = read_file(path, &text, &len, why, whylen)) != KE_OK)
		return rv;
	root = kipc_json_parse(text, len, inner, sizeof(inner));
	if (root == NULL) {
		add_position(text, len, inner, sizeof(inner));
		snprintf(why, whylen, "%s", inner);
		free(text);
		return KE_INVALID;
	}
	free(text);
	list = cJSON_IsArray(root) ? root : NULL;
	if (cJSON_IsObject(root) &&
	    cJSON_GetObjectItemCaseSensitive(root, "service") == NULL)
		list = kipc_json_arr(root, "services");
	if (list == NULL) {
		rv = add_one(manifests, files, root, path, why, whylen);
		cJSON_Delete(root);
		return rv;
	}
	cJSON_ArrayForEach(m, list) {
		snprintf(name, sizeof(name), "%s#%s/%d", path,
		    list == root ? "" : "/services", i++);
		if ((rv = add_one(manifests, files, (cJSON *)m, name, why,
		    whylen)) != KE_OK)
			break;
	}
	cJSON_Delete(root);
	return rv;
}

static int
json_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Byte order, not the locale's: the same directory imports the same way. */
static int
byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
load_dir(const char *dir, cJSON *manifests, cJSON *files, int *nfiles,
    char *bad, size_t badlen, char *why, size_t whylen)
{
	struct dirent **ents;
	char            path[4096];
	int             n, rv = KE_OK;

	if ((n = scandir(dir, &ents, json_name, byte_order)) < 0) {
		int e = errno;

		snprintf(why, whylen, "%s", strerror(e));
		snprintf(bad, badlen, "%s", dir);
		return errno_code(e);
	}
	for (int i = 0; i < n; i++) {
		const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";

		if (rv == KE_OK) {
			snprintf(path, sizeof(path), "%s%s%s", dir, sep,
			    ents[i]->d_name);
			rv = load_file(path, manifests, files, why, whylen);
			if (rv == KE_OK)
				(*nfiles)++;
			else
				snprintf(bad, badlen, "%s", path);
		}
		free(ents[i]);
	}
	free(ents);
	return rv;
}

int
kctl_manifest_load(const char *path, cJSON *manifests, cJSON *files,
    int *nfiles, char *bad, size_t badlen, char *why, size_t whylen)
{
	struct stat st;
	int         rv;

	if (stat(path, &st) != 0) {
		int e = errno;

		snprintf(why, whylen, "%s", strerror(e));
		snprintf(bad, badlen, "%s", path);
		return errno_code(e);
	}
	if (S_ISDIR(st.st_mode))
		return load_dir(path, manifests, files, nfiles, bad, badlen, why,
		    whylen);
	snprintf(bad, badlen, "%s", path);
	if ((rv = load_file(path, manifests, files, why, whylen)) == KE_OK)
		(*nfiles)++;
	return rv;
}
