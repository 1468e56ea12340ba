/*
 * readprop.c -- read one property from kconfigd with libkipc: a complete
 * client of SystemK's protocol in one page.
 *
 *   readprop SVC PG PROP          e.g.  readprop web start exec
 *
 * prints the property's values, one a line, and exits 0; or a message on
 * stderr and the kctl exit code of the protocol error (3 not found, 5 kconfigd
 * unreachable, ...).  The socket is SYSTEMK_RUN_DIR/configd.sock.
 *
 * Build against an installed libkipc:
 *   cc -o readprop readprop.c $(pkg-config --cflags --libs systemk-kipc)
 *
 * The steps every client takes: find the socket (kipc_paths_from_env),
 * dial it (kipc_client_open), say hello and check the daemon's level,
 * then call methods by their name in proto.h's table, never a string of
 * one's own.  A reply's result belongs to the caller.
 */
#include <stdio.h>
#include <stdlib.h>

#include <kipc.h>

/* Prints a failed call's error and returns its kctl exit code. */
static int
report(int rc, const char *what, char *msg)
{
	fprintf(stderr, "readprop: error: unable to %s: %s: %s\n", what,
	    kproto_err_name((kproto_err)rc), msg != NULL ? msg : "no message");
	free(msg);
	return kproto_err_exit((kproto_err)rc);
}

/* sys.hello: is this kconfigd, and does it speak our level? */
static int
hello(kipc_client *c)
{
	cJSON       *res = NULL;
	char        *msg = NULL;
	const cJSON *lvl;
	const char  *name;
	int          rc;

	rc = kipc_call(c, kproto_method_by_id(KM_SYS_HELLO)->name,
	    cJSON_CreateObject(), &res, &msg);
	if (rc != KE_OK)
		return report(rc, "say hello to kconfigd", msg);
	name = kipc_json_str(res, "name");
	lvl = cJSON_GetObjectItemCaseSensitive(res, "level");
	if (name == NULL || !cJSON_IsNumber(lvl) ||
	    lvl->valuedouble < kproto_method_by_id(KM_REPO_GET)->level) {
		fprintf(stderr, "readprop: error: unable to use '%s': it does not "
		    "serve repo.get at level %d\n", name != NULL ? name : "?",
		    kproto_method_by_id(KM_REPO_GET)->level);
		cJSON_Delete(res);
		return KCTL_EXIT_FAILURE;
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* Prints each value of {"type": T, "values": [...]} on its own line. */
static void
print_values(const cJSON *prop)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, kipc_json_arr(prop, "values")) {
		if (cJSON_IsString(v)) {
			puts(v->valuestring);
		} else {
			char *s = cJSON_PrintUnformatted(v);

			puts(s != NULL ? s : "?");
			free(s);
		}
	}
}

int
main(int argc, char **argv)
{
	kipc_paths   paths;
	kipc_client *c = NULL;
	cJSON       *params, *res = NULL;
	const cJSON *prop;
	char         sock[512], *msg = NULL;
	int          rc;

	if (argc != 4) {
		fprintf(stderr, "usage: readprop SVC PG PROP\n");
		return KCTL_EXIT_USAGE;
	}
	kipc_paths_from_env(&paths);
	if (kipc_path_join(sock, sizeof(sock), paths.run_dir,
	        KPROTO_SOCK_CONFIGD) != 0) {
		fprintf(stderr, "readprop: error: run dir too long\n");
		return KCTL_EXIT_USAGE;
	}
	if ((rc = kipc_client_open(&c, sock, 5000)) != KE_OK)
		return report(rc, "reach kconfigd", NULL);
	if ((rc = hello(c)) != KCTL_EXIT_OK) {
		kipc_client_close(c);
		return rc;
	}
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", argv[1]);
	cJSON_AddStringToObject(params, "pg", argv[2]);
	cJSON_AddStringToObject(params, "prop", argv[3]);
	rc = kipc_call(c, kproto_method_by_id(KM_REPO_GET)->name, params, &res,
	    &msg);
	kipc_client_close(c);
	if (rc != KE_OK)
		return report(rc, "read the property", msg);
	prop = kipc_json_obj(kipc_json_obj(kipc_json_obj(res, "property_groups"),
	    argv[2]), argv[3]);
	if (prop == NULL) {
		fprintf(stderr, "readprop: error: unable to read '%s/%s/%s': "
		    "not in the reply\n", argv[1], argv[2], argv[3]);
		cJSON_Delete(res);
		return KCTL_EXIT_NOT_FOUND;
	}
	print_values(prop);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}
