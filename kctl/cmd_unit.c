/*
 * cmd_unit.c -- `kctl import-unit FILE.service`: a systemd unit translated
 * (unit.c) into a manifest on stdout; every directive not translated named
 * on stderr.  Talks to no daemon: check the result with `kctl validate`.
 * With --json: {"manifest": {...}, "notes": [{"line", "directive", "cause",
 * "translated"}...]}.
 */
#include "kctl.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_FILE_MAX (1024 * 1024)

/* The whole of a regular file, NUL-terminated; NULL with errno. */
static char *
slurp(const char *path, void *arg)
{
	FILE  *f = fopen(path, "r");
	char  *buf;
	size_t n;

	(void)arg;
	if (f == NULL)
		return NULL;
	if ((buf = malloc(UNIT_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, UNIT_FILE_MAX + 1, f);
	if (ferror(f) || n > UNIT_FILE_MAX) {
		free(buf);
		fclose(f);
		errno = n > UNIT_FILE_MAX ? EFBIG : EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
print_notes(kctl_ctx *ctx, const char *name, const cJSON *notes)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, notes) {
		int  line = (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(n, "line"));
		char where[300];

		if (line > 0)
			snprintf(where, sizeof(where), "%s:%d: %s", name, line,
			    kipc_json_str(n, "directive"));
		else
			snprintf(where, sizeof(where), "%s: %s", name,
			    kipc_json_str(n, "directive"));
		if (kipc_json_bool(n, "translated") == 1)
			fprintf(ctx->err, "kctl: note: '%s': %s\n", where,
			    kipc_json_str(n, "cause"));
		else
			kctl_warn(ctx, "unable to translate '%s': %s", where,
			    kipc_json_str(n, "cause"));
	}
}

int
kctl_cmd_import_unit(kctl_ctx *ctx)
{
	const char *path = ctx->args.ops[0];
	const char *name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1
	                                              : path;
	char       *text;
	char        why[512];
	cJSON      *m = NULL, *notes;
	int         rc;

	ctx->action = "translate";
	if ((text = slurp(path, NULL)) == NULL)
		return kctl_fail(ctx, errno == ENOENT ? KE_NOT_FOUND : KE_INVALID,
		    path, "%s", strerror(errno));
	notes = cJSON_CreateArray();
	rc = kctl_unit_translate(text, name, slurp, NULL, &m, notes, why,
	    sizeof(why));
	free(text);
	if (rc != 0) {
		cJSON_Delete(notes);
		return kctl_fail(ctx, KE_INVALID, path, "%s", why);
	}
	print_notes(ctx, name, notes);
	if (ctx->opts.json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "manifest", m);
		cJSON_AddItemToObject(o, "notes", notes);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
	} else {
		kctl_print_json(ctx, m);
		cJSON_Delete(m);
		cJSON_Delete(notes);
	}
	return KCTL_EXIT_OK;
}
