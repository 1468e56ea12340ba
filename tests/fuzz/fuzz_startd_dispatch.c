/*
 * libFuzzer target: kstartd's request dispatch.  The bytes of one message
 * are validated as startd.sock's server does (kipc_req_local_new: envelope,
 * method, level, params, privilege), as an unprivileged and then as a
 * privileged peer, and a good request goes through k_handle() and then what
 * the loop does after it: k_settle() (start what may start, persist) and the
 * waiters' check.  Deferred replies (svc.wait, svc.changes) still waiting
 * are flushed as at shutdown.  The kstartd is built afresh for each input
 * from one running snapshot (SNAPSHOT below) and settled once, so that most
 * instances are online: a crash reproduces from its input alone.
 *
 * No process is forked or signalled, and kconfigd is a stand-in:
 *   - spawn_method() and spawn_method_cg() (spawn.c) are wrapped at link
 *     time (-Wl,--wrap, see kstartd.cmake): they spawn nothing and return
 *     pids above the kernel's PID_MAX_LIMIT.  kill(2) is wrapped too: to
 *     those pids and their groups (stop, restart, refresh signal, killing a
 *     method) it fails with ESRCH, to any other it aborts; clone(2), which
 *     only spawn.c calls, aborts;
 *   - no cgroup base, no notify model, no pidfile, no recovered state: the
 *     other paths to /proc, cgroups and sockets stay shut;
 *   - kconfigd is a kipc server on a thread of this process, in a temp dir:
 *     repo.running answers SNAPSHOT, the writes answer {} (repo.refresh
 *     names its instance).  When the request's id is odd it answers every
 *     call `unavailable`, so the handlers' failure paths run too.
 *   - kinit.sock does not exist: the milestone report fails `unavailable`.
 *
 * Any crash, leak or UB is a bug, and so is a request without exactly one
 * reply, or with a reply that does not decode or answers another id.
 */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kipc_local.h"
#include "kstartd.h"

/* Above the kernel's PID_MAX_LIMIT (2^22): never a real process. */
#define FUZZ_FAKE_PID ((pid_t)0x40000000)

#define PROP(t, v) "{\"type\": \"" t "\", \"values\": [" v "]}"
#define DEP(grouping, ron, svcs)                                               \
	"{\"grouping\": " PROP("string", "\"" grouping "\"") ", "              \
	"\"restart_on\": " PROP("string", "\"" ron "\"") ", "                  \
	"\"services\": " PROP("string", svcs) "}"

/*
 * A small system: a chain with every grouping, each model but notify, a
 * refresh method and a refresh signal, a stop method.  No bad config: its
 * error is logged at every load (the Check suites cover it).
 */
static const char SNAPSHOT[] = "{"
    "\"svc:/db:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "true") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/db\"") "},"
    "  \"restart\": {\"policy\": " PROP("string", "\"always\"") "}}},"
    "\"svc:/web:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "true") ","
    "    \"description\": " PROP("string", "\"front\"") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/web\", \"-p\", \"80\"") "},"
    "  \"refresh\": {\"exec\": " PROP("string", "\"/bin/kill\", \"-HUP\"") ","
    "    \"timeout_s\": " PROP("count", "5") "},"
    "  \"dep_db\": " DEP("require_all", "error", "\"db\"") "}},"
    "\"svc:/cache:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "true") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/cache\"") "},"
    "  \"refresh\": {\"signal\": " PROP("string", "\"HUP\"") "},"
    "  \"dep_web\": " DEP("optional_all", "refresh", "\"web\"") ","
    "  \"dep_any\": " DEP("require_any", "restart", "\"db\", \"svc:/gone:default\"") "}},"
    "\"svc:/legacy:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "true") ","
    "    \"model\": " PROP("string", "\"forking\"") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/legacyd\"") "},"
    "  \"stop\": {\"exec\": " PROP("string", "\"/bin/legacyd\", \"stop\"") "},"
    "  \"dep_db\": " DEP("require_all", "none", "\"db\"") "}},"
    "\"svc:/batch:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "false") ","
    "    \"model\": " PROP("string", "\"transient\"") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/batch\"") "}}},"
    "\"svc:/excl:default\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "true") "},"
    "  \"dep_no_batch\": " DEP("exclude_all", "none", "\"batch\"") "}},"
    "\"svc:/web:second\": {\"property_groups\": {"
    "  \"general\": {\"enabled\": " PROP("boolean", "false") "},"
    "  \"start\": {\"exec\": " PROP("string", "\"/bin/web\"") "},"
    "  \"dep_web\": " DEP("require_all", "restart", "\"web\"") "}}"
    "}";

static cJSON      *snapshot;
static kipc_paths  paths;
static kipc_client *configd;
static atomic_bool configd_fails;
static pid_t       next_pid;

/* ---- the seam: spawn.c forks nothing here ------------------------------------ */

pid_t __wrap_spawn_method(const kipc_paths *p, const svc_config *cfg,
    char **argv, const char *method, char **extra_env, int *err, char *why,
    size_t whylen);
pid_t __wrap_spawn_method_cg(const kipc_paths *p, const svc_config *cfg,
    char **argv, const char *method, char **extra_env, int cg_procs, int *err,
    char *why, size_t whylen);

pid_t
__wrap_spawn_method(const kipc_paths *p, const svc_config *cfg, char **argv,
    const char *method, char **extra_env, int *err, char *why, size_t whylen)
{
	return next_pid++;
}

pid_t
__wrap_spawn_method_cg(const kipc_paths *p, const svc_config *cfg,
    char **argv, const char *method, char **extra_env, int cg_procs, int *err,
    char *why, size_t whylen)
{
	return next_pid++;
}

/* The guard: a signal may go only to a pid or group spawned above. */
int __wrap_kill(pid_t pid, int sig);
int __wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);

int
__wrap_kill(pid_t pid, int sig)
{
	if (pid < FUZZ_FAKE_PID && pid > -FUZZ_FAKE_PID) {
		fprintf(stderr, "fuzz: kstartd would send signal %d to %d\n",
		    sig, (int)pid);
		abort();
	}
	errno = ESRCH;
	return -1;
}

int
__wrap_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	fprintf(stderr, "fuzz: kstartd would clone\n");
	abort();
}

/* ---- the stand-in kconfigd -------------------------------------------------- */

static void
configd_answer(kipc_req *r)
{
	const char *fmri = kipc_json_str(kipc_req_params(r), "fmri");
	cJSON      *res;

	if (atomic_load(&configd_fails)) {
		kipc_req_fail(r, KE_UNAVAILABLE, "fuzz: kconfigd is away");
		return;
	}
	switch (kipc_req_method(r)->id) {
	case KM_REPO_RUNNING:
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "instances",
		    cJSON_Duplicate(snapshot, true));
		break;
	case KM_REPO_REFRESH:
		res = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_AddArrayToObject(res, "refreshed"),
		    cJSON_CreateString(fmri != NULL ? fmri : ""));
		break;
	default:
		res = NULL;
		break;
	}
	kipc_req_reply(r, res);
}

static void *
configd_loop(void *arg)
{
	kipc_server  *s = arg;
	struct pollfd pfd = { .fd = kipc_server_fd(s), .events = POLLIN };
	kipc_req     *r;

	for (;;) {
		(void)poll(&pfd, 1, -1);
		while ((r = kipc_server_next(s)) != NULL)
			configd_answer(r);
	}
	return NULL;
}

static void
configd_start(void)
{
	kipc_server *s;
	struct group *gr = getgrgid(getgid());
	pthread_t    t;
	char         path[300];

	/* Not root: our own group is the admin group, so writes pass. */
	if (gr != NULL)
		setenv("SYSTEMK_ADMIN_GROUP", gr->gr_name, 1);
	if (kipc_path_join(path, sizeof(path), paths.run_dir,
	    KPROTO_SOCK_CONFIGD) != 0 ||
	    kipc_server_open(&s, path, "k.configd", KD_CONFIGD) != KE_OK ||
	    pthread_create(&t, NULL, configd_loop, s) != 0 ||
	    kipc_client_open(&configd, path, KSTARTD_CALL_MS) != KE_OK)
		abort();
	pthread_detach(t);
}

/* ---- the temp dir ------------------------------------------------------------ */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* The service logs rotate at 1 MiB each, but are nobody's: gone at exit. */
static void
tmp_remove(void)
{
	(void)nftw(paths.run_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- one input ------------------------------------------------------------- */

static void
startd_setup(kstartd *k)
{
	memset(k, 0, sizeof(*k));
	k->paths = paths;
	k->configd = configd;
	k->sigfd = -1;
	k->milestone = -1;
	next_pid = FUZZ_FAKE_PID;
	atomic_store(&configd_fails, false);
	if (k_load(k, snapshot) != KE_OK)
		abort();
	k_settle(k);
	/* Online for a second already: svc.wait may count them reached. */
	for (size_t i = 0; i < k->n; i++)
		k->insts[i]->st.start_mono_ms -= 1000;
}

static void
startd_teardown(kstartd *k)
{
	k_waiters_flush(k);
	k_ring_free(k);
	k_free(k);
}

/* The reply must decode as one, answering the request's id if it had one. */
static void
check_reply(const kipc_local_reply *out, const kipc_msg *req, int reqrv)
{
	kipc_msg rep;
	char     why[256];

	if (out->text == NULL || kipc_decode_reply(out->text, out->len, &rep,
	    why, sizeof(why)) != KE_OK) {
		fprintf(stderr, "fuzz: no decodable reply: %s: %.*s\n",
		    out->text != NULL ? why : "none", (int)out->len,
		    out->text != NULL ? out->text : "");
		abort();
	}
	if (reqrv == KE_OK && rep.id != req->id) {
		fprintf(stderr, "fuzz: reply id %llu to request id %llu\n",
		    (unsigned long long)rep.id, (unsigned long long)req->id);
		abort();
	}
	kipc_msg_free(&rep);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/fuzz-startd.XXXXXX";
	char why[256];

	(void)argc;
	(void)argv;
	kipc_log_init("fuzz");
	if (mkdtemp(tmpl) == NULL)
		abort();
	snprintf(paths.run_dir, sizeof(paths.run_dir), "%s", tmpl);
	snprintf(paths.state_dir, sizeof(paths.state_dir), "%s", tmpl);
	snprintf(paths.manifest_dir, sizeof(paths.manifest_dir), "%s", tmpl);
	snprintf(paths.log_dir, sizeof(paths.log_dir), "%s", tmpl);
	snapshot = kipc_json_parse(SNAPSHOT, sizeof(SNAPSHOT) - 1, why,
	    sizeof(why));
	if (snapshot == NULL) {
		fprintf(stderr, "fuzz: SNAPSHOT: %s\n", why);
		abort();
	}
	atexit(tmp_remove);
	configd_start();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kstartd k; /* large: the change ring */
	kipc_msg       req;
	char           why[256];
	int            reqrv;

	reqrv = kipc_decode_request(data, size, &req, why, sizeof(why));
	startd_setup(&k);
	atomic_store(&configd_fails, reqrv == KE_OK && (req.id & 1));
	for (int priv = 0; priv < 2; priv++) {
		kipc_local_reply out;
		kipc_req        *r = kipc_req_local_new(data, size, KD_STARTD,
		    "k.startd", priv, &out);

		if (r != NULL) {
			k_handle(&k, r);
			k_settle(&k);
			k_waiters_check(&k);
			k_waiters_flush(&k);
		}
		check_reply(&out, &req, reqrv);
		free(out.text);
	}
	kipc_msg_free(&req);
	startd_teardown(&k);
	return 0;
}
