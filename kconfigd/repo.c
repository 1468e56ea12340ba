/*
 * repo.c -- the repository on LMDB (layout and rules in repo.h).
 *
 * Layers: a small key/value layer (kv_*) over one open transaction that
 * remembers the first LMDB failure; the repository's records (layers,
 * instances, snapshots, generations) on top of it; one function per
 * request, run inside exactly one transaction by run_write()/run_read().
 * Everything read is parsed (copied) into cJSON before the transaction
 * ends, so no LMDB pointer escapes.
 */
#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "kipc.h"

#define KEY_MAX     512                /* LMDB's limit is 511 bytes */
#define MAP_INITIAL ((size_t)16 << 20) /* grows by doubling */
#define MAP_LIMIT   ((size_t)1 << 36)
#define GROW_TRIES  12

typedef struct kvenv {
	MDB_env    *env;
	MDB_dbi     dbi;
	size_t      mapsize;
	const char *name; /* for messages */
} kvenv;

struct krepo {
	kvenv p; /* persistent */
	kvenv v; /* volatile */
};

/* ---- the key/value layer ------------------------------------------------------ */

/* An open transaction and its first LMDB failure. */
typedef struct tx {
	MDB_txn *txn;
	MDB_dbi  dbi;
	int      mrc;
	char    *why;
	size_t   whylen;
} tx;

static int
mfail(tx *t, int rc, const char *verb, const char *obj)
{
	if (t->mrc == 0) {
		t->mrc = rc;
		snprintf(t->why, t->whylen, "unable to %s '%s': %s", verb, obj,
		    mdb_strerror(rc));
	}
	return KE_INTERNAL;
}

static int
oom(tx *t)
{
	snprintf(t->why, t->whylen, "out of memory");
	return KE_INTERNAL;
}

static MDB_val
mval(const char *s)
{
	MDB_val v = { strlen(s), (void *)s };

	return v;
}

static int
kv_put(tx *t, const char *key, const cJSON *val)
{
	char   *s = cJSON_PrintUnformatted(val);
	MDB_val k = mval(key), v;
	int     rc;

	if (s == NULL)
		return oom(t);
	v = mval(s);
	rc = mdb_put(t->txn, t->dbi, &k, &v, 0);
	free(s);
	return rc != 0 ? mfail(t, rc, "write", key) : KE_OK;
}

static int
parse_val(tx *t, const MDB_val *v, const char *key, cJSON **out)
{
	*out = cJSON_ParseWithLength(v->mv_data, v->mv_size);
	if (*out == NULL) {
		snprintf(t->why, t->whylen,
		    "unable to read '%s': stored value is not JSON", key);
		return KE_INTERNAL;
	}
	return KE_OK;
}

/* KE_OK with *out, or KE_NOT_FOUND, or KE_INTERNAL. */
static int
kv_get(tx *t, const char *key, cJSON **out)
{
	MDB_val k = mval(key), v;
	int     rc = mdb_get(t->txn, t->dbi, &k, &v);

	*out = NULL;
	if (rc == MDB_NOTFOUND)
		return KE_NOT_FOUND;
	if (rc != 0)
		return mfail(t, rc, "read", key);
	return parse_val(t, &v, key, out);
}

static int
kv_exists(tx *t, const char *key)
{
	MDB_val k = mval(key), v;
	int     rc = mdb_get(t->txn, t->dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return KE_NOT_FOUND;
	return rc != 0 ? mfail(t, rc, "read", key) : KE_OK;
}

typedef int (*kv_fn)(tx *t, const char *rest, const MDB_val *v, void *arg);

/* Calls fn for every key under prefix, with the rest of the key after it. */
static int
kv_scan(tx *t, const char *prefix, kv_fn fn, void *arg)
{
	size_t      plen = strlen(prefix);
	MDB_cursor *cur;
	MDB_val     k = mval(prefix), v;
	int         rc, ke = KE_OK;

	if ((rc = mdb_cursor_open(t->txn, t->dbi, &cur)) != 0)
		return mfail(t, rc, "scan", prefix);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen && k.mv_size < KEY_MAX &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		char rest[KEY_MAX];

		memcpy(rest, (char *)k.mv_data + plen, k.mv_size - plen);
		rest[k.mv_size - plen] = '\0';
		if ((ke = fn(t, rest, &v, arg)) != KE_OK)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (ke == KE_OK && rc != 0 && rc != MDB_NOTFOUND)
		ke = mfail(t, rc, "scan", prefix);
	mdb_cursor_close(cur);
	return ke;
}

/* Deletes every key under prefix. */
static int
kv_del_prefix(tx *t, const char *prefix)
{
	size_t      plen = strlen(prefix);
	MDB_cursor *cur;
	MDB_val     k, v;
	int         rc;

	if ((rc = mdb_cursor_open(t->txn, t->dbi, &cur)) != 0)
		return mfail(t, rc, "delete", prefix);
	/* Re-seek after each delete rather than trusting the cursor's
	 * position across mdb_cursor_del. */
	for (;;) {
		k = mval(prefix);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc != 0 || k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc != 0 && rc != MDB_NOTFOUND ? mfail(t, rc, "delete", prefix)
	                                     : KE_OK;
}

/* ---- records: services, instances, layers, snapshots ----------------------------- */

static void
key_svc(char *k, const char *svc)
{
	snprintf(k, KEY_MAX, "svc/%s/", svc);
}

static void
key_inst(char *k, const char *svc, const char *inst)
{
	snprintf(k, KEY_MAX, "svc/%s/i/%s/", svc, inst);
}

/* "svc/NAME/pg/LAYER/" or "svc/NAME/i/INST/pg/LAYER/" (inst ""). */
static void
key_layer(char *k, const char *svc, const char *inst, const char *layer)
{
	if (inst[0] == '\0')
		snprintf(k, KEY_MAX, "svc/%s/pg/%s/", svc, layer);
	else
		snprintf(k, KEY_MAX, "svc/%s/i/%s/pg/%s/", svc, inst, layer);
}

static void
key_snap(char *k, const char *svc, const char *inst, const char *snap)
{
	snprintf(k, KEY_MAX, "svc/%s/i/%s/snap/%s", svc, inst, snap);
}

static int
gen_get(tx *t, const char *svc, long long *gen)
{
	char   k[KEY_MAX];
	cJSON *meta;
	int    ke;

	key_svc(k, svc);
	if ((ke = kv_get(t, k, &meta)) != KE_OK) {
		if (ke == KE_NOT_FOUND)
			snprintf(t->why, t->whylen, "no such service '%s'", svc);
		return ke;
	}
	*gen = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(meta, "generation"));
	cJSON_Delete(meta);
	return KE_OK;
}

/* Counts one committed change of svc (creating the service record). */
static int
gen_bump(tx *t, const char *svc)
{
	char      k[KEY_MAX];
	long long gen = 0;
	cJSON    *meta;
	int       ke = gen_get(t, svc, &gen);

	if (ke != KE_OK && ke != KE_NOT_FOUND)
		return ke;
	if ((meta = cJSON_CreateObject()) == NULL)
		return oom(t);
	cJSON_AddNumberToObject(meta, "generation", (double)(gen + 1));
	key_svc(k, svc);
	ke = kv_put(t, k, meta);
	cJSON_Delete(meta);
	return ke;
}

static int
inst_check(tx *t, const char *svc, const char *inst)
{
	char k[KEY_MAX];
	int  ke;

	key_inst(k, svc, inst);
	if ((ke = kv_exists(t, k)) == KE_NOT_FOUND)
		snprintf(t->why, t->whylen, "no such instance 'svc:/%s:%s'", svc,
		    inst);
	return ke;
}

static int
collect_pg(tx *t, const char *rest, const MDB_val *v, void *arg)
{
	cJSON *pg;
	int    ke = parse_val(t, v, rest, &pg);

	if (ke == KE_OK && !cJSON_AddItemToObject(arg, rest, pg)) {
		cJSON_Delete(pg);
		return oom(t);
	}
	return ke;
}

static int
layer_get(tx *t, const char *svc, const char *inst, const char *layer,
          cJSON **pgs)
{
	char k[KEY_MAX];
	int  ke;

	key_layer(k, svc, inst, layer);
	if ((*pgs = cJSON_CreateObject()) == NULL)
		return oom(t);
	if ((ke = kv_scan(t, k, collect_pg, *pgs)) != KE_OK) {
		cJSON_Delete(*pgs);
		*pgs = NULL;
	}
	return ke;
}

/* Replaces a whole layer at one level with pgs. */
static int
layer_put(tx *t, const char *svc, const char *inst, const char *layer,
          const cJSON *pgs)
{
	char   prefix[KEY_MAX], k[KEY_MAX];
	int    ke;

	key_layer(prefix, svc, inst, layer);
	if ((ke = kv_del_prefix(t, prefix)) != KE_OK)
		return ke;
	for (const cJSON *g = pgs->child; g != NULL && ke == KE_OK; g = g->next) {
		snprintf(k, sizeof(k), "%s%s", prefix, g->string);
		ke = kv_put(t, k, g);
	}
	return ke;
}

/* The layered groups (admin over manifest) at one level. */
static int
level_get(tx *t, const char *svc, const char *inst, cJSON **pgs)
{
	cJSON *m = NULL, *a = NULL;
	int    ke = layer_get(t, svc, inst, "manifest", &m);

	if (ke == KE_OK)
		ke = layer_get(t, svc, inst, "admin", &a);
	if (ke == KE_OK && (*pgs = kcfg_compose(m, a)) == NULL)
		ke = oom(t);
	cJSON_Delete(m);
	cJSON_Delete(a);
	return ke;
}

/* The editing view of an instance; with manifest_only, the manifest layer. */
static int
view_get(tx *t, const char *svc, const char *inst, bool manifest_only,
         cJSON **view)
{
	cJSON *l[4] = { NULL, NULL, NULL, NULL };
	int    ke = layer_get(t, svc, "", "manifest", &l[0]);

	if (ke == KE_OK && !manifest_only)
		ke = layer_get(t, svc, "", "admin", &l[1]);
	if (ke == KE_OK)
		ke = layer_get(t, svc, inst, "manifest", &l[2]);
	if (ke == KE_OK && !manifest_only)
		ke = layer_get(t, svc, inst, "admin", &l[3]);
	if (ke == KE_OK && (*view = kcfg_view(l[0], l[1], l[2], l[3])) == NULL)
		ke = oom(t);
	for (int i = 0; i < 4; i++)
		cJSON_Delete(l[i]);
	return ke;
}

/* KE_OK with the snapshot's groups, or KE_NOT_FOUND. */
static int
snap_get(tx *t, const char *svc, const char *inst, const char *snap,
         cJSON **pgs)
{
	char   k[KEY_MAX];
	cJSON *s;
	int    ke;

	key_snap(k, svc, inst, snap);
	*pgs = NULL;
	if ((ke = kv_get(t, k, &s)) != KE_OK)
		return ke;
	*pgs = cJSON_DetachItemFromObjectCaseSensitive(s, "property_groups");
	cJSON_Delete(s);
	if (*pgs == NULL)
		*pgs = cJSON_CreateObject();
	return *pgs != NULL ? KE_OK : oom(t);
}

static int
snap_put(tx *t, const char *svc, const char *inst, const char *snap,
         const cJSON *pgs)
{
	char   k[KEY_MAX];
	cJSON *s = cJSON_CreateObject();
	int    ke;

	if (s == NULL || !cJSON_AddItemReferenceToObject(s, "property_groups",
	                     (cJSON *)pgs)) {
		cJSON_Delete(s);
		return oom(t);
	}
	key_snap(k, svc, inst, snap);
	ke = kv_put(t, k, s);
	cJSON_Delete(s); /* a reference: pgs stays the caller's */
	return ke;
}

static int
collect_inst(tx *t, const char *rest, const MDB_val *v, void *arg)
{
	const char *slash = strchr(rest, '/');

	/* "INST/" is the instance record; deeper keys are its contents. */
	if (slash != NULL && slash[1] == '\0') {
		cJSON *name = cJSON_CreateString(rest);

		if (name == NULL)
			return oom(t);
		name->valuestring[slash - rest] = '\0';
		cJSON_AddItemToArray(arg, name);
	}
	return KE_OK;
}

/* The names of svc's instances, in key order. */
static int
insts_get(tx *t, const char *svc, cJSON **names)
{
	char k[KEY_MAX];
	int  ke;

	snprintf(k, sizeof(k), "svc/%s/i/", svc);
	if ((*names = cJSON_CreateArray()) == NULL)
		return oom(t);
	if ((ke = kv_scan(t, k, collect_inst, *names)) != KE_OK) {
		cJSON_Delete(*names);
		*names = NULL;
	}
	return ke;
}

/*
 * The names of all services, in key order.  Seeks past each service's keys
 * ("svc/NAME0" follows every "svc/NAME/..." since '0' is '/' + 1) instead
 * of walking them.
 */
static int
svcs_get(tx *t, cJSON **names)
{
	MDB_cursor *cur;
	MDB_val     k = mval("svc/"), v;
	char        seek[KEY_MAX];
	int         rc;

	if ((*names = cJSON_CreateArray()) == NULL)
		return oom(t);
	if ((rc = mdb_cursor_open(t->txn, t->dbi, &cur)) != 0)
		return mfail(t, rc, "scan", "svc/");
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > 4 && k.mv_size < KEY_MAX &&
	    memcmp(k.mv_data, "svc/", 4) == 0) {
		const char *name = (const char *)k.mv_data + 4;
		const char *slash = memchr(name, '/', k.mv_size - 4);
		int         n = slash != NULL ? (int)(slash - name) : 0;

		if (n == 0 || n > KCFG_NAME_MAX) { /* not ours: step over it */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		snprintf(seek, sizeof(seek), "%.*s", n, name);
		cJSON_AddItemToArray(*names, cJSON_CreateString(seek));
		snprintf(seek, sizeof(seek), "svc/%.*s0", n, name);
		k = mval(seek);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	return rc != 0 && rc != MDB_NOTFOUND ? mfail(t, rc, "scan", "svc/")
	                                     : KE_OK;
}

static void
add_fmri(cJSON *arr, const char *svc, const char *inst)
{
	char f[KCFG_FMRI_MAX];

	kcfg_fmri_format(f, sizeof(f), svc, inst);
	cJSON_AddItemToArray(arr, cJSON_CreateString(f));
}

/*
 * previous := running, running := editing view.  With only_changed, an
 * instance whose running snapshot already equals its view is left alone
 * (re-importing an unchanged manifest keeps previous).  *did says whether
 * it refreshed.
 */
static int
refresh_one(tx *t, const char *svc, const char *inst, bool only_changed,
            bool *did)
{
	cJSON *view = NULL, *running = NULL;
	int    ke = view_get(t, svc, inst, false, &view);

	*did = false;
	if (ke == KE_OK) {
		ke = snap_get(t, svc, inst, "running", &running);
		if (ke == KE_NOT_FOUND)
			ke = KE_OK;
	}
	if (ke == KE_OK && !(only_changed && running != NULL &&
	                       cJSON_Compare(view, running, true))) {
		if (running != NULL)
			ke = snap_put(t, svc, inst, "previous", running);
		if (ke == KE_OK)
			ke = snap_put(t, svc, inst, "running", view);
		*did = ke == KE_OK;
	}
	cJSON_Delete(view);
	cJSON_Delete(running);
	return ke;
}

/* {FMRI: editing view} of every instance, for the cycle check. */
static int
all_views(tx *t, cJSON **views)
{
	cJSON *svcs = NULL, *insts = NULL, *s, *i;
	int    ke = svcs_get(t, &svcs);

	if (ke == KE_OK && (*views = cJSON_CreateObject()) == NULL)
		ke = oom(t);
	for (s = svcs != NULL ? svcs->child : NULL; ke == KE_OK && s != NULL;
	     s = s->next) {
		ke = insts_get(t, s->valuestring, &insts);
		for (i = insts != NULL ? insts->child : NULL;
		     ke == KE_OK && i != NULL; i = i->next) {
			char   f[KCFG_FMRI_MAX];
			cJSON *v = NULL;

			ke = view_get(t, s->valuestring, i->valuestring, false, &v);
			kcfg_fmri_format(f, sizeof(f), s->valuestring, i->valuestring);
			if (ke == KE_OK)
				cJSON_AddItemToObject(*views, f, v);
		}
		cJSON_Delete(insts);
		insts = NULL;
	}
	cJSON_Delete(svcs);
	return ke;
}

/* ---- transactions ------------------------------------------------------------------ */

typedef int (*txn_fn)(tx *t, void *arg);

static int
grow(kvenv *e)
{
	if (e->mapsize >= MAP_LIMIT)
		return -1;
	if (mdb_env_set_mapsize(e->env, e->mapsize * 2) != 0)
		return -1;
	e->mapsize *= 2;
	klog_info("grew the %s map to %zu MiB", e->name, e->mapsize >> 20);
	return 0;
}

/*
 * Runs fn in one write transaction and commits it (or, without commit,
 * aborts it: a dry run).  On MDB_MAP_FULL, from a write or from the commit,
 * aborts, doubles the map (no transaction is open then, as LMDB requires)
 * and runs fn again from the start.
 */
static int
run_write(kvenv *e, txn_fn fn, void *arg, bool commit, char *why,
          size_t whylen)
{
	for (int tries = 0;; tries++) {
		tx  t = { .dbi = e->dbi, .why = why, .whylen = whylen };
		int rc = mdb_txn_begin(e->env, NULL, 0, &t.txn), ke;

		if (rc != 0)
			return mfail(&t, rc, "begin a transaction on", e->name);
		ke = fn(&t, arg);
		if (ke == KE_OK && commit) {
			if ((rc = mdb_txn_commit(t.txn)) != 0)
				ke = mfail(&t, rc, "commit", e->name);
		} else
			mdb_txn_abort(t.txn);
		if (t.mrc == MDB_MAP_FULL && tries < GROW_TRIES && grow(e) == 0)
			continue;
		return ke;
	}
}

static int
run_read(kvenv *e, txn_fn fn, void *arg, char *why, size_t whylen)
{
	tx  t = { .dbi = e->dbi, .why = why, .whylen = whylen };
	int rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t.txn), ke;

	if (rc != 0)
		return mfail(&t, rc, "begin a transaction on", e->name);
	ke = fn(&t, arg);
	mdb_txn_abort(t.txn);
	return ke;
}

/* ---- requests ------------------------------------------------------------------------ */

typedef struct req {
	const kcfg_service *svcs;
	int                 n;
	const char         *svc;
	const char         *inst;
	bool                flag; /* running / enabled */
	const char         *snap; /* do_get: a snapshot's name, or NULL */
	const cJSON        *in;
	cJSON              *out;
	long long           gen;
} req;

/* Restarts a request's output, for a run after MDB_MAP_FULL. */
static void
req_reset(req *q)
{
	cJSON_Delete(q->out);
	q->out = NULL;
}

/* Writes one service's manifest layer and creates its new instances. */
static int
import_layers(tx *t, const kcfg_service *s)
{
	char k[KEY_MAX];
	int  ke = layer_put(t, s->name, "", "manifest", s->pgs);

	for (const cJSON *i = s->instances->child; ke == KE_OK && i != NULL;
	     i = i->next) {
		key_inst(k, s->name, i->string);
		if ((ke = kv_exists(t, k)) == KE_NOT_FOUND) {
			cJSON *rec = cJSON_CreateObject();

			ke = rec != NULL ? kv_put(t, k, rec) : oom(t);
			cJSON_Delete(rec);
		}
		if (ke == KE_OK)
			ke = layer_put(t, s->name, i->string, "manifest", i);
	}
	return ke == KE_OK ? gen_bump(t, s->name) : ke;
}

/* Snapshots and refresh for one instance after an import. */
static int
import_snaps(tx *t, const char *svc, const char *inst, cJSON *refreshed)
{
	cJSON *mview = NULL, *initial = NULL;
	bool   did = false;
	int    ke = view_get(t, svc, inst, true, &mview);

	if (ke == KE_OK)
		ke = snap_put(t, svc, inst, "last-import", mview);
	if (ke == KE_OK && (ke = snap_get(t, svc, inst, "initial", &initial)) ==
	                       KE_NOT_FOUND)
		ke = snap_put(t, svc, inst, "initial", mview);
	if (ke == KE_OK)
		ke = refresh_one(t, svc, inst, true, &did);
	if (ke == KE_OK && did)
		add_fmri(refreshed, svc, inst);
	cJSON_Delete(mview);
	cJSON_Delete(initial);
	return ke;
}

static int
import_service(tx *t, const kcfg_service *s, cJSON *insts_out,
               cJSON *refreshed)
{
	cJSON *insts = NULL;
	int    ke = import_layers(t, s);

	if (ke == KE_OK)
		ke = insts_get(t, s->name, &insts);
	for (cJSON *i = insts != NULL ? insts->child : NULL;
	     ke == KE_OK && i != NULL; i = i->next) {
		ke = import_snaps(t, s->name, i->valuestring, refreshed);
		add_fmri(insts_out, s->name, i->valuestring);
	}
	cJSON_Delete(insts);
	return ke;
}

static int
do_import(tx *t, void *arg)
{
	req   *q = arg;
	cJSON *names, *insts, *refreshed, *views = NULL;
	int    ke = KE_OK;

	req_reset(q);
	if ((q->out = cJSON_CreateObject()) == NULL)
		return oom(t);
	names = cJSON_AddArrayToObject(q->out, "services");
	insts = cJSON_AddArrayToObject(q->out, "instances");
	refreshed = cJSON_AddArrayToObject(q->out, "refreshed");
	for (int i = 0; ke == KE_OK && i < q->n; i++) {
		ke = import_service(t, &q->svcs[i], insts, refreshed);
		cJSON_AddItemToArray(names, cJSON_CreateString(q->svcs[i].name));
	}
	/* The repository as it would be after this import must be acyclic. */
	if (ke == KE_OK && (ke = all_views(t, &views)) == KE_OK &&
	    kcfg_check_cycles(views, t->why, t->whylen) != 0)
		ke = KE_INVALID;
	cJSON_Delete(views);
	return ke;
}

int
krepo_import(krepo *r, const kcfg_service *svcs, int n, bool dry_run,
             cJSON **result, char *why, size_t whylen)
{
	req q = { .svcs = svcs, .n = n };
	int ke;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(svcs[i].name, svcs[j].name) == 0) {
				snprintf(why, whylen, "service '%s' given twice",
				    svcs[i].name);
				return KE_INVALID;
			}
	ke = run_write(&r->p, do_import, &q, !dry_run, why, whylen);
	if (ke != KE_OK)
		req_reset(&q);
	*result = q.out;
	return ke;
}

static int
do_get(tx *t, void *arg)
{
	req *q = arg;
	int  ke;

	req_reset(q);
	if ((ke = gen_get(t, q->svc, &q->gen)) != KE_OK)
		return ke;
	if (q->inst[0] == '\0')
		return level_get(t, q->svc, "", &q->out);
	if ((ke = inst_check(t, q->svc, q->inst)) != KE_OK)
		return ke;
	if (q->snap == NULL)
		return view_get(t, q->svc, q->inst, false, &q->out);
	if ((ke = snap_get(t, q->svc, q->inst, q->snap, &q->out)) ==
	    KE_NOT_FOUND)
		snprintf(t->why, t->whylen, "no snapshot '%s' of 'svc:/%s:%s'",
		    q->snap, q->svc, q->inst);
	return ke;
}

int
krepo_get(krepo *r, const char *svc, const char *inst, bool running,
          cJSON **pgs, long long *generation, char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .snap = running ? "running" : NULL };
	int ke = run_read(&r->p, do_get, &q, why, whylen);

	if (ke != KE_OK)
		req_reset(&q);
	*pgs = q.out;
	*generation = q.gen;
	return ke;
}

int
krepo_snapshot(krepo *r, const char *svc, const char *inst, const char *snap,
               cJSON **pgs, char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .snap = snap };
	int ke;

	if (inst[0] == '\0') {
		snprintf(why, whylen, "snapshots belong to instances");
		*pgs = NULL;
		return KE_INVALID;
	}
	ke = run_read(&r->p, do_get, &q, why, whylen);
	if (ke != KE_OK)
		req_reset(&q);
	*pgs = q.out;
	return ke;
}

/*
 * Calls fn(t, svc, inst, q) for every instance (of q->svc if set, which
 * must then exist).
 */
typedef int (*inst_fn)(tx *t, const char *svc, const char *inst, req *q);

static int
each_instance(tx *t, req *q, inst_fn fn)
{
	cJSON    *svcs = NULL, *insts = NULL;
	long long gen;
	int       ke = KE_OK;

	if (q->svc != NULL) {
		if ((ke = gen_get(t, q->svc, &gen)) != KE_OK)
			return ke;
		svcs = cJSON_CreateStringArray(&q->svc, 1);
	} else
		ke = svcs_get(t, &svcs);
	for (cJSON *s = svcs != NULL ? svcs->child : NULL;
	     ke == KE_OK && s != NULL; s = s->next) {
		ke = insts_get(t, s->valuestring, &insts);
		for (cJSON *i = insts != NULL ? insts->child : NULL;
		     ke == KE_OK && i != NULL; i = i->next)
			ke = fn(t, s->valuestring, i->valuestring, q);
		cJSON_Delete(insts);
		insts = NULL;
	}
	cJSON_Delete(svcs);
	return ke;
}

static int
list_one(tx *t, const char *svc, const char *inst, req *q)
{
	char   f[KCFG_FMRI_MAX];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return oom(t);
	kcfg_fmri_format(f, sizeof(f), svc, inst);
	cJSON_AddStringToObject(o, "fmri", f);
	cJSON_AddStringToObject(o, "service", svc);
	cJSON_AddStringToObject(o, "instance", inst);
	cJSON_AddItemToArray(q->out, o);
	return KE_OK;
}

static int
do_list(tx *t, void *arg)
{
	req *q = arg;

	req_reset(q);
	if ((q->out = cJSON_CreateArray()) == NULL)
		return oom(t);
	return each_instance(t, q, list_one);
}

static int
running_one(tx *t, const char *svc, const char *inst, req *q)
{
	char   f[KCFG_FMRI_MAX];
	cJSON *pgs, *o;
	int    ke = snap_get(t, svc, inst, "running", &pgs);

	if (ke == KE_NOT_FOUND) /* never refreshed: kstartd has nothing to run */
		return KE_OK;
	if (ke != KE_OK)
		return ke;
	kcfg_fmri_format(f, sizeof(f), svc, inst);
	if ((o = cJSON_AddObjectToObject(q->out, f)) == NULL) {
		cJSON_Delete(pgs);
		return oom(t);
	}
	cJSON_AddItemToObject(o, "property_groups", pgs);
	return KE_OK;
}

static int
do_running(tx *t, void *arg)
{
	req *q = arg;

	req_reset(q);
	if ((q->out = cJSON_CreateObject()) == NULL)
		return oom(t);
	return each_instance(t, q, running_one);
}

static int
run_out(krepo *r, txn_fn fn, req *q, cJSON **out, char *why, size_t whylen)
{
	int ke = run_read(&r->p, fn, q, why, whylen);

	if (ke != KE_OK)
		req_reset(q);
	*out = q->out;
	return ke;
}

int
krepo_list(krepo *r, cJSON **instances, char *why, size_t whylen)
{
	req q = { 0 };

	return run_out(r, do_list, &q, instances, why, whylen);
}

int
krepo_running(krepo *r, cJSON **instances, char *why, size_t whylen)
{
	req q = { 0 };

	return run_out(r, do_running, &q, instances, why, whylen);
}

/* Export: the layered groups of each level, service by service. */
static int
export_service(tx *t, const char *svc, cJSON *out)
{
	cJSON *spgs = NULL, *insts = NULL, *ipgs = NULL, *m;
	int    ke = level_get(t, svc, "", &spgs);

	if (ke == KE_OK)
		ke = insts_get(t, svc, &insts);
	if (ke == KE_OK && (ipgs = cJSON_CreateObject()) == NULL)
		ke = oom(t);
	for (cJSON *i = insts != NULL ? insts->child : NULL;
	     ke == KE_OK && i != NULL; i = i->next) {
		cJSON *p = NULL;

		if ((ke = level_get(t, svc, i->valuestring, &p)) == KE_OK)
			cJSON_AddItemToObject(ipgs, i->valuestring, p);
	}
	if (ke == KE_OK) {
		if ((m = kcfg_manifest_export(svc, spgs, ipgs)) == NULL)
			ke = oom(t);
		else
			cJSON_AddItemToArray(out, m);
	}
	cJSON_Delete(spgs);
	cJSON_Delete(insts);
	cJSON_Delete(ipgs);
	return ke;
}

static int
do_export(tx *t, void *arg)
{
	req      *q = arg;
	cJSON    *svcs = NULL;
	long long gen;
	int       ke;

	req_reset(q);
	if ((q->out = cJSON_CreateArray()) == NULL)
		return oom(t);
	if (q->svc != NULL) {
		if ((ke = gen_get(t, q->svc, &gen)) != KE_OK)
			return ke;
		return export_service(t, q->svc, q->out);
	}
	ke = svcs_get(t, &svcs);
	for (cJSON *s = svcs != NULL ? svcs->child : NULL;
	     ke == KE_OK && s != NULL; s = s->next)
		ke = export_service(t, s->valuestring, q->out);
	cJSON_Delete(svcs);
	return ke;
}

int
krepo_export(krepo *r, const char *svc, cJSON **services, char *why,
             size_t whylen)
{
	req q = { .svc = svc };

	return run_out(r, do_export, &q, services, why, whylen);
}

/* Sets general/enabled in a set of groups. */
static int
set_enabled_in(cJSON *pgs, bool enabled)
{
	cJSON *g = cJSON_GetObjectItemCaseSensitive(pgs, "general");
	cJSON *p = cJSON_CreateObject();
	cJSON *vals = cJSON_CreateArray();

	if (g == NULL)
		g = cJSON_AddObjectToObject(pgs, "general");
	if (g == NULL || p == NULL || vals == NULL) {
		cJSON_Delete(p);
		cJSON_Delete(vals);
		return -1;
	}
	cJSON_AddStringToObject(p, "type", "boolean");
	cJSON_AddItemToArray(vals, cJSON_CreateBool(enabled));
	cJSON_AddItemToObject(p, "values", vals);
	cJSON_DeleteItemFromObjectCaseSensitive(g, "enabled");
	cJSON_AddItemToObject(g, "enabled", p);
	kcfg_json_sort(g);
	return 0;
}

static int
do_set_enabled(tx *t, void *arg)
{
	req   *q = arg;
	cJSON *admin = NULL, *running = NULL;
	int    ke = inst_check(t, q->svc, q->inst), rk;

	if (ke == KE_OK)
		ke = layer_get(t, q->svc, q->inst, "admin", &admin);
	if (ke == KE_OK)
		ke = set_enabled_in(admin, q->flag) == 0
		         ? layer_put(t, q->svc, q->inst, "admin", admin)
		         : oom(t);
	/* Like svcadm enable: effective at once, without a refresh.  An
	 * instance never refreshed has no running snapshot to change. */
	if (ke == KE_OK) {
		rk = snap_get(t, q->svc, q->inst, "running", &running);
		if (rk == KE_OK)
			ke = set_enabled_in(running, q->flag) == 0
			         ? snap_put(t, q->svc, q->inst, "running", running)
			         : oom(t);
		else if (rk != KE_NOT_FOUND)
			ke = rk;
	}
	if (ke == KE_OK)
		ke = gen_bump(t, q->svc);
	cJSON_Delete(admin);
	cJSON_Delete(running);
	return ke;
}

int
krepo_set_enabled(krepo *r, const char *svc, const char *inst, bool enabled,
                  char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .flag = enabled };

	return run_write(&r->p, do_set_enabled, &q, true, why, whylen);
}

static int
refresh_inst(tx *t, const char *svc, const char *inst, req *q)
{
	bool did;
	int  ke = refresh_one(t, svc, inst, false, &did);

	if (ke == KE_OK)
		add_fmri(q->out, svc, inst);
	return ke;
}

static int
do_refresh(tx *t, void *arg)
{
	req *q = arg;
	int  ke;

	req_reset(q);
	if ((q->out = cJSON_CreateArray()) == NULL)
		return oom(t);
	if (q->inst[0] == '\0')
		ke = each_instance(t, q, refresh_inst);
	else if ((ke = inst_check(t, q->svc, q->inst)) == KE_OK)
		ke = refresh_inst(t, q->svc, q->inst, q);
	return ke == KE_OK ? gen_bump(t, q->svc) : ke;
}

int
krepo_refresh(krepo *r, const char *svc, const char *inst, cJSON **refreshed,
              char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst };
	int ke = run_write(&r->p, do_refresh, &q, true, why, whylen);

	if (ke != KE_OK)
		req_reset(&q);
	*refreshed = q.out;
	return ke;
}

/* ---- the volatile namespace ----------------------------------------------------------- */

static int
do_state_put(tx *t, void *arg)
{
	req *q = arg;
	char k[KEY_MAX];

	snprintf(k, sizeof(k), "state/%s", q->svc);
	return kv_put(t, k, q->in);
}

static int
do_state_get(tx *t, void *arg)
{
	req *q = arg;
	char k[KEY_MAX];
	int  ke;

	req_reset(q);
	snprintf(k, sizeof(k), "state/%s", q->svc);
	if ((ke = kv_get(t, k, &q->out)) == KE_NOT_FOUND)
		snprintf(t->why, t->whylen, "no state for '%s'", q->svc);
	return ke;
}

static int
collect_state(tx *t, const char *rest, const MDB_val *v, void *arg)
{
	cJSON *s;
	int    ke = parse_val(t, v, rest, &s);

	if (ke == KE_OK)
		cJSON_AddItemToObject(arg, rest, s);
	return ke;
}

static int
do_state_list(tx *t, void *arg)
{
	req *q = arg;

	req_reset(q);
	if ((q->out = cJSON_CreateObject()) == NULL)
		return oom(t);
	return kv_scan(t, "state/", collect_state, q->out);
}

int
krepo_state_put(krepo *r, const char *fmri, const cJSON *state, char *why,
                size_t whylen)
{
	req q = { .svc = fmri, .in = state };

	return run_write(&r->v, do_state_put, &q, true, why, whylen);
}

int
krepo_state_get(krepo *r, const char *fmri, cJSON **state, char *why,
                size_t whylen)
{
	req q = { .svc = fmri };
	int ke = run_read(&r->v, do_state_get, &q, why, whylen);

	if (ke != KE_OK)
		req_reset(&q);
	*state = q.out;
	return ke;
}

int
krepo_state_list(krepo *r, cJSON **states, char *why, size_t whylen)
{
	req q = { 0 };
	int ke = run_read(&r->v, do_state_list, &q, why, whylen);

	if (ke != KE_OK)
		req_reset(&q);
	*states = q.out;
	return ke;
}

/* ---- opening and closing ------------------------------------------------------------ */

/* Which exit code an LMDB failure at open deserves. */
static int
open_exit(int rc, int dir_exit)
{
	switch (rc) {
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_CORRUPTED:
	case MDB_PANIC:
	case MDB_PAGE_NOTFOUND:
		return KEXIT_REPO;
	default:
		return dir_exit;
	}
}

static int
env_fail(kvenv *e, const char *dir, const char *verb, int rc, char *why,
         size_t whylen)
{
	snprintf(why, whylen, "unable to %s '%s': %s", verb, dir,
	    mdb_strerror(rc));
	if (e->env != NULL)
		mdb_env_close(e->env);
	e->env = NULL;
	return rc;
}

/*
 * Opens the environment in dir (created mode 0700: only kconfigd reads it),
 * marks its fd close-on-exec, clears stale reader slots and opens the
 * unnamed database.  Returns 0 or the LMDB/errno failure.
 */
static int
env_open(kvenv *e, const char *dir, unsigned flags, char *why, size_t whylen)
{
	MDB_envinfo info;
	MDB_txn    *txn;
	int         rc, fd, dead = 0;

	if (kipc_mkdirs(dir, 0700) != 0)
		return env_fail(e, dir, "create", errno, why, whylen);
	if ((rc = mdb_env_create(&e->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, MAP_INITIAL)) != 0)
		return env_fail(e, dir, "create", rc, why, whylen);
	if ((rc = mdb_env_open(e->env, dir, flags | MDB_NOTLS, 0600)) != 0)
		return env_fail(e, dir, "open", rc, why, whylen);
	if (mdb_env_get_fd(e->env, &fd) == 0)
		fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	mdb_env_info(e->env, &info);
	e->mapsize = info.me_mapsize;
	if (mdb_reader_check(e->env, &dead) == 0 && dead > 0)
		klog_warn("cleared %d stale reader slot(s) in '%s'", dead, dir);
	if ((rc = mdb_txn_begin(e->env, NULL, 0, &txn)) != 0)
		return env_fail(e, dir, "open", rc, why, whylen);
	if ((rc = mdb_dbi_open(txn, NULL, 0, &e->dbi)) != 0) {
		mdb_txn_abort(txn);
		return env_fail(e, dir, "open", rc, why, whylen);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return env_fail(e, dir, "open", rc, why, whylen);
	return 0;
}

/* Stamps a new repository with its format; refuses one of another. */
static int
do_format(tx *t, void *arg)
{
	cJSON *v;
	int    ke = kv_get(t, "meta/version", &v), fmt;

	if (ke == KE_NOT_FOUND) {
		if ((v = cJSON_CreateObject()) == NULL)
			return oom(t);
		cJSON_AddNumberToObject(v, "version", KREPO_FORMAT);
		ke = kv_put(t, "meta/version", v);
	} else if (ke == KE_OK) {
		fmt = (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(v, "version"));
		if (fmt != KREPO_FORMAT) {
			snprintf(t->why, t->whylen, "unable to read the "
			    "repository: format %d, this kconfigd reads %d", fmt,
			    KREPO_FORMAT);
			ke = KE_INVALID;
		}
	}
	cJSON_Delete(v);
	return ke;
}

int
krepo_open(krepo **rp, const char *state_dir, const char *run_dir,
           int *dexit, char *why, size_t whylen)
{
	char    pdir[512], vdir[512];
	krepo  *r;
	int     rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		*dexit = KEXIT_NOMEM;
		snprintf(why, whylen, "out of memory");
		return KE_INTERNAL;
	}
	r->p.name = "repository";
	r->v.name = "volatile store";
	if (kipc_path_join(pdir, sizeof(pdir), state_dir, "repo") != 0 ||
	    kipc_path_join(vdir, sizeof(vdir), run_dir, "volatile") != 0) {
		snprintf(why, whylen, "unable to open the repository: path too "
		                      "long");
		*dexit = KEXIT_STATEDIR;
		goto fail;
	}
	if ((rc = env_open(&r->p, pdir, 0, why, whylen)) != 0) {
		*dexit = open_exit(rc, KEXIT_STATEDIR);
		goto fail;
	}
	if (run_write(&r->p, do_format, NULL, true, why, whylen) != KE_OK) {
		*dexit = KEXIT_REPO;
		goto fail;
	}
	if ((rc = env_open(&r->v, vdir, MDB_NOSYNC, why, whylen)) != 0) {
		*dexit = KEXIT_RUNDIR;
		goto fail;
	}
	*rp = r;
	return KE_OK;
fail:
	krepo_close(r);
	return KE_UNAVAILABLE;
}

void
krepo_close(krepo *r)
{
	if (r == NULL)
		return;
	if (r->p.env != NULL)
		mdb_env_close(r->p.env);
	if (r->v.env != NULL)
		mdb_env_close(r->v.env);
	free(r);
}
