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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "kipc.h"

#define KEY_MAX     512                /* LMDB's limit is 511 bytes */
#define MAP_INITIAL ((size_t)16 << 20) /* grows by doubling */
#define MAP_LIMIT   ((size_t)1 << 36)
#define GROW_TRIES  12
/*
 * A transaction that wrote this much leaves its pages to krepo_release.
 * LMDB keeps the dirty page buffers of its biggest transaction for good.
 * kstartd's boot writes (1000 states and start snapshots) arrive in
 * batches of a few hundred KiB, as timing splits them: at 512 KiB they
 * left kconfigd 1 MiB bigger in some boots (PSS 2.6 instead of 1.5 MiB).
 */
#define RELEASE_BYTES ((size_t)64 << 10)

/*
 * The writer's parsed values.  Inside a group commit, requests run in the
 * batch's own transaction on one thread, and most of a commit's CPU went
 * to parsing the same few records (the service's generation, the level's
 * generations, the groups it edits) that the request before it had just
 * printed.  The cache keeps them parsed: a value read in the batch's
 * transaction (kv_peek) or written by it with its parsed form at hand
 * (kv_put_owned), or the knowledge that the key is absent.
 *
 * It stays exact because kconfigd is the only writer and every write of a
 * direct batch goes through it (kv_put_text and kv_del_prefix forget what
 * they overwrite; layer_put_some keeps what it wrote).  Whatever else may
 * change data drops it all: a write outside a direct batch (run_write), a
 * batch that is aborted or fails to commit.  It is dropped at idle too
 * (krepo_release).  Only the loop's writes use it; readers on nng's
 * threads never see it.  A value replaced or dropped while a request runs
 * goes to that request's grave (tx), so what kv_peek lent stays valid
 * until the request ends.
 *
 * Dirty groups.  Writers that set one property each, all in the same
 * group, had each request print the whole group (a third of the loop's
 * CPU with 34 properties) for the next one to replace at once.  A commit
 * of a single set that surely changes its group (the property's text
 * differs, or it is new) keeps the group in the cache as "dirty" instead:
 * LMDB still holds an older value, and the cache is the truth.  Dirty
 * groups are printed and put once, when the batch ends (krepo_batch_flush)
 * or before anything reads LMDB past the cache: a point read of the key
 * (dirty_put_key) or any cursor (dirty_put_all).  The next request that
 * takes a dirty group (kv_take) becomes its owner: if it may defer too
 * (t->defer) it is marked as having written, so that a failure poisons the
 * batch (the group would be lost with it); otherwise the group is put
 * first.  An aborted batch drops dirty groups with everything else.
 */
#define KCACHE_BUCKETS 256
#define KCACHE_MAX     4096 /* entries; more, and it starts over */
#define KDIRTY_MAX     16   /* dirty groups; more are put at once */

typedef struct kcent {
	struct kcent *next;
	cJSON        *val;   /* NULL: the key is absent */
	bool          dirty; /* newer than LMDB's value (see kcache) */
	char          key[];
} kcent;

typedef struct kcache {
	kcent   *b[KCACHE_BUCKETS];
	size_t   n;
	unsigned ndirty;                    /* keys in dirty[] */
	char     dirty[KDIRTY_MAX][KEY_MAX]; /* maybe dirty: look each up */
} kcache;

typedef struct kvenv {
	MDB_env    *env;
	kcache     *cache;  /* the writer's, or NULL (see kcache) */
	MDB_dbi     dbi;
	size_t      mapsize;
	const char *name;   /* for messages */
	MDB_txn    *batch;  /* the open group commit, or NULL */
	char        dir[512];   /* as opened, for krepo_release */
	unsigned    flags;
	size_t      txn_bytes;  /* written by the open top-level transaction */
	size_t      peak_bytes; /* the most one wrote since the env opened */
	bool        full;   /* the last write of the batch met MDB_MAP_FULL */
	bool        grow;   /* grow the map before the next batch */
	bool        nested; /* the batch runs each write in a nested txn */
	bool        poisoned; /* a write failed halfway in the batch's txn */
	cJSON      *events; /* committed (to the batch) and not yet taken */
	/* Read transactions may run on other threads (repo.h: readers);
	 * they hold this shared, map growth holds it exclusively, as LMDB
	 * wants no transaction open while the map is resized. */
	pthread_rwlock_t maplock;
} kvenv;

/*
 * Composed views, as repo.get answered them, by the LMDB transaction id
 * they were read at: a read transaction with the same id sees exactly the
 * same data, so a hit is exact, and any commit makes every entry stale.
 * Composition parses and merges four layers; a hit costs two copies.
 */
#define VIEW_CACHE 64

typedef struct vcache {
	char      key[KEY_MAX]; /* "SVC/INST/SNAP" */
	size_t    txnid;        /* 0: empty */
	long long gen;
	cJSON    *gens, *pgs;
} vcache;

typedef struct memo {
	char              *key, *text;
	unsigned long long txnid;
} memo;

struct krepo {
	kvenv           p; /* persistent */
	kvenv           v; /* volatile */
	char            state_dir[256];
	pthread_mutex_t vmu; /* vc, memo: readers run on several threads */
	vcache          vc[VIEW_CACHE];
	memo            memo[VIEW_CACHE];
};

/* ---- the key/value layer ------------------------------------------------------ */

/* An open transaction and its first LMDB failure. */
typedef struct tx {
	MDB_txn *txn;
	MDB_dbi  dbi;
	int      mrc;
	char    *why;
	size_t   whylen;
	cJSON   *events; /* published only if the transaction commits */
	cJSON  **evix;   /* events by (event, fmri): open addressing */
	size_t   evcap, evn;
	/* import_snaps: the text snap_put printed last, and of which groups
	 * (one view is stored as several snapshots); off when memo is. */
	bool         memo;
	const cJSON *memo_pgs;
	char        *memo_text;
	size_t  *bytes;  /* the env's txn_bytes */
	bool     wrote;  /* a put or delete was made */
	kvenv   *ce;     /* the env whose cache this transaction keeps, or NULL */
	cJSON   *grave;  /* values lent by kv_peek, freed when fn returns */
	/* Dirty groups (kcache): this request may leave its group dirty; the
	 * group its set surely changed; the dirty groups it took over. */
	bool        defer;
	bool        edited; /* an op has begun to edit the admin layer */
	const char *changed_pg;
	unsigned    ntaken;
	char        taken[2][KEY_MAX];
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

/* ---- the writer's cache (kcache) ---------------------------------------------- */

#define FNV_BASIS 14695981039346656037u

/* FNV-1a of s, going on from h (FNV_BASIS to start). */
static size_t
fnv(size_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static size_t
key_hash(const char *key)
{
	return fnv(FNV_BASIS, key);
}

/* The link to key's entry, or the empty link at its bucket's end. */
static kcent **
cache_link(kcache *c, const char *key)
{
	kcent **l = &c->b[key_hash(key) & (KCACHE_BUCKETS - 1)];

	while (*l != NULL && strcmp((*l)->key, key) != 0)
		l = &(*l)->next;
	return l;
}

/* Frees val, or (t given) hands it to the running request's grave, made
 * with its transaction: it may be lent out. */
static void
bury(tx *t, cJSON *val)
{
	if (val == NULL)
		return;
	if (t != NULL)
		cJSON_AddItemToArray(t->grave, val);
	else
		cJSON_Delete(val);
}

/* Drops every entry (their values through t's grave when t is given). */
static void
cache_clear(kvenv *e, tx *t)
{
	kcache *c = e->cache;

	if (c == NULL)
		return;
	for (size_t i = 0; i < KCACHE_BUCKETS; i++)
		for (kcent *n = c->b[i], *next; n != NULL; n = next) {
			next = n->next;
			bury(t, n->val);
			free(n);
		}
	free(c);
	e->cache = NULL;
}

/* The cached value of key: true with *val (NULL: absent) on a hit. */
static bool
cache_find(tx *t, const char *key, cJSON **val)
{
	kcent *n;

	if (t->ce == NULL || t->ce->cache == NULL ||
	    (n = *cache_link(t->ce->cache, key)) == NULL)
		return false;
	*val = n->val;
	return true;
}

/* key := val (taken; NULL: absent) in t's cache, clean: its entry, or
 * NULL with val still the caller's when there is no cache or no memory. */
static kcent *
cache_keep(tx *t, const char *key, cJSON *val)
{
	kcache *c;
	kcent **l, *n;

	if (t->ce == NULL)
		return NULL;
	/* Starting over would drop dirty groups: not before they are put. */
	if (t->ce->cache != NULL && t->ce->cache->n >= KCACHE_MAX &&
	    t->ce->cache->ndirty == 0)
		cache_clear(t->ce, t);
	if ((c = t->ce->cache) == NULL &&
	    (c = t->ce->cache = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((n = *(l = cache_link(c, key))) != NULL) {
		bury(t, n->val);
		n->val = val;
		n->dirty = false;
		return n;
	}
	if ((n = malloc(sizeof(*n) + strlen(key) + 1)) == NULL)
		return NULL;
	n->next = NULL;
	n->val = val;
	n->dirty = false;
	strcpy(n->key, key);
	*l = n;
	c->n++;
	return n;
}

/* key := val (taken; NULL: absent) in the cache, when t keeps one. */
static void
cache_set(tx *t, const char *key, cJSON *val)
{
	if (cache_keep(t, key, val) == NULL)
		bury(t, val);
}

/* Takes key's entry out of t's cache: true with its value (NULL: the key
 * is absent) when there was one; *dirty (when given) says whether LMDB's
 * value is older. */
static bool
cache_unlink_dirty(tx *t, const char *key, cJSON **val, bool *dirty)
{
	kcent **l, *n;

	if (t->ce == NULL || t->ce->cache == NULL ||
	    (n = *(l = cache_link(t->ce->cache, key))) == NULL)
		return false;
	*l = n->next;
	*val = n->val;
	if (dirty != NULL)
		*dirty = n->dirty;
	free(n);
	t->ce->cache->n--;
	return true;
}

static bool
cache_unlink(tx *t, const char *key, cJSON **val)
{
	return cache_unlink_dirty(t, key, val, NULL);
}

/* Forgets key (written without its parsed form). */
static void
cache_forget(tx *t, const char *key)
{
	cJSON *val;

	if (cache_unlink(t, key, &val))
		bury(t, val);
}

static int
kv_put_text(tx *t, const char *key, const char *text)
{
	MDB_val k = mval(key), v = mval(text);
	int     rc;

	if (t->bytes != NULL)
		*t->bytes += k.mv_size + v.mv_size;
	t->wrote = true;
	cache_forget(t, key);
	rc = mdb_put(t->txn, t->dbi, &k, &v, 0);
	return rc != 0 ? mfail(t, rc, "write", key) : KE_OK;
}

/* ---- dirty groups (kcache) ---- */

/*
 * The writer's print buffer, kept from one put to the next: printing a
 * group into a fresh one grew it by realloc to 1, 2, 4 KiB, and each
 * request of 1 KiB or more first merged all the thread's fastbins
 * (malloc_consolidate: 6% of the loop).  Freed when idle (krepo_release).
 */
static __thread char  *pbuf;
static __thread size_t pcap;

static void
pbuf_free(void)
{
	free(pbuf);
	pbuf = NULL;
	pcap = 0;
}

/* Prints val (a group) and puts it under key, the cache left as it is.
 * Not counted in t->bytes, as layer_put_some never counted groups. */
static int
put_printed(tx *t, const char *key, const cJSON *val)
{
	const char *text;
	MDB_val     k = mval(key), v;
	int         rc;

	/* Written before printing: a failure then poisons the batch, which
	 * the caller's value may have been the only copy of (kv_take). */
	t->wrote = true;
	if ((text = kipc_json_print_reuse(val, &pbuf, &pcap, NULL)) == NULL)
		return oom(t);
	v = mval(text);
	rc = mdb_put(t->txn, t->dbi, &k, &v, 0);
	return rc != 0 ? mfail(t, rc, "write", key) : KE_OK;
}

/* Puts key's value when it is dirty: LMDB is about to be read for it. */
static int
dirty_put_key(tx *t, const char *key)
{
	kcent *n;
	int    ke;

	if (t->ce == NULL || t->ce->cache == NULL || t->ce->cache->ndirty == 0 ||
	    (n = *cache_link(t->ce->cache, key)) == NULL || !n->dirty)
		return KE_OK;
	if ((ke = put_printed(t, n->key, n->val)) == KE_OK)
		n->dirty = false;
	return ke;
}

/* Puts every dirty value: a cursor is about to read LMDB, or the batch
 * is about to commit. */
static int
dirty_put_all(tx *t)
{
	kcache *c = t->ce != NULL ? t->ce->cache : NULL;
	int     ke = KE_OK;

	while (c != NULL && ke == KE_OK && c->ndirty > 0) {
		if ((ke = dirty_put_key(t, c->dirty[c->ndirty - 1])) == KE_OK)
			c->ndirty--;
	}
	return ke;
}

/*
 * key := val (taken, a group that surely is what the key holds now) in
 * the cache, dirty: printed and put later (kcache).  Put at once when the
 * cache cannot keep it or has KDIRTY_MAX dirty groups already.
 */
static int
cache_set_dirty(tx *t, const char *key, cJSON *val)
{
	kcache  *c = t->ce != NULL ? t->ce->cache : NULL;
	kcent   *n;
	unsigned i = 0;
	int      ke;

	while (c != NULL && i < c->ndirty && strcmp(c->dirty[i], key) != 0)
		i++;
	if (t->ce != NULL && i < KDIRTY_MAX &&
	    (n = cache_keep(t, key, val)) != NULL) {
		c = t->ce->cache;
		if (i == c->ndirty)
			strcpy(c->dirty[c->ndirty++], key);
		n->dirty = true;
		t->wrote = true;
		return KE_OK;
	}
	if ((ke = put_printed(t, key, val)) == KE_OK)
		cache_set(t, key, val);
	else { /* neither in LMDB nor the cache: the batch is poisoned */
		cache_forget(t, key);
		bury(t, val);
	}
	return ke;
}

/* Was key's dirty group taken over by this request (kv_take)? */
static bool
taken_dirty(const tx *t, const char *key)
{
	for (unsigned i = 0; i < t->ntaken; i++)
		if (strcmp(t->taken[i], key) == 0)
			return true;
	return false;
}

static int
kv_put(tx *t, const char *key, const cJSON *val)
{
	const char *s = kipc_json_print_reuse(val, &pbuf, &pcap, NULL);

	return s != NULL ? kv_put_text(t, key, s) : oom(t);
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
	kipc_json_exact_ints(*out);
	return KE_OK;
}

/* kv_put of a value then kept parsed (val is taken, freed or cached). */
static int
kv_put_owned(tx *t, const char *key, cJSON *val)
{
	int ke = kv_put(t, key, val);

	if (ke == KE_OK)
		cache_set(t, key, val);
	else
		cJSON_Delete(val);
	return ke;
}

/*
 * kv_get of a value lent, not given: *out (read only) stays valid until
 * the transaction's fn returns.  Served from the writer's cache when the
 * transaction keeps one.
 */
static int
kv_peek(tx *t, const char *key, const cJSON **out)
{
	MDB_val k = mval(key), v;
	cJSON  *val;
	int     rc, ke;

	*out = NULL;
	if (cache_find(t, key, &val)) {
		*out = val;
		return val != NULL ? KE_OK : KE_NOT_FOUND;
	}
	if ((rc = mdb_get(t->txn, t->dbi, &k, &v)) == MDB_NOTFOUND) {
		cache_set(t, key, NULL);
		return KE_NOT_FOUND;
	}
	if (rc != 0)
		return mfail(t, rc, "read", key);
	if ((ke = parse_val(t, &v, key, &val)) != KE_OK)
		return ke;
	cache_set(t, key, val);
	*out = val;
	return KE_OK;
}

/* key's stored bytes in *v (a dirty value put first): KE_OK, or
 * KE_NOT_FOUND, or KE_INTERNAL. */
static int
kv_raw(tx *t, const char *key, MDB_val *v)
{
	MDB_val k = mval(key);
	int     rc, ke;

	if ((ke = dirty_put_key(t, key)) != KE_OK)
		return ke;
	if ((rc = mdb_get(t->txn, t->dbi, &k, v)) == MDB_NOTFOUND)
		return KE_NOT_FOUND;
	return rc != 0 ? mfail(t, rc, "read", key) : KE_OK;
}

/* KE_OK with *out, or KE_NOT_FOUND, or KE_INTERNAL. */
static int
kv_get(tx *t, const char *key, cJSON **out)
{
	MDB_val v;
	int     ke = kv_raw(t, key, &v);

	*out = NULL;
	return ke == KE_OK ? parse_val(t, &v, key, out) : ke;
}

/*
 * kv_get of a value to edit: taken out of the writer's cache when it is
 * there, without a copy.  The caller writes it back (kv_put_owned,
 * layer_put_some) or drops it; either way the cache stays exact, as an
 * absent entry is read again from the transaction.  Nothing of key may be
 * lent in the same request.
 */
static int
kv_take(tx *t, const char *key, cJSON **out)
{
	bool dirty = false;
	int  ke;

	if (!cache_unlink_dirty(t, key, out, &dirty))
		return kv_get(t, key, out);
	if (dirty && t->defer && t->ntaken < sizeof(t->taken) / sizeof(t->taken[0])) {
		/* This request holds the only copy now: if it fails, the
		 * batch must go round again (run_write: wrote). */
		strcpy(t->taken[t->ntaken++], key);
		t->wrote = true;
	} else if (dirty && (ke = put_printed(t, key, *out)) != KE_OK) {
		cJSON_Delete(*out);
		*out = NULL;
		return ke;
	}
	return *out != NULL ? KE_OK : KE_NOT_FOUND;
}

static int
kv_exists(tx *t, const char *key)
{
	MDB_val v;

	return kv_raw(t, key, &v);
}

typedef int (*kv_fn)(tx *t, const char *rest, const MDB_val *v, void *arg);

/* Calls fn for every key under prefix, with the rest of the key after it. */
static int
kv_scan(tx *t, const char *prefix, kv_fn fn, void *arg)
{
	size_t      plen = strlen(prefix);
	MDB_cursor *cur;
	MDB_val     k = mval(prefix), v;
	int         rc, ke;

	if ((ke = dirty_put_all(t)) != KE_OK)
		return ke;
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

	if ((rc = dirty_put_all(t)) != KE_OK)
		return rc;
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
		t->wrote = true;
		if (t->ce != NULL && k.mv_size < KEY_MAX) {
			char key[KEY_MAX];

			memcpy(key, k.mv_data, k.mv_size);
			key[k.mv_size] = '\0';
			cache_forget(t, key);
		} else if (t->ce != NULL)
			cache_clear(t->ce, t);
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc != 0 && rc != MDB_NOTFOUND ? mfail(t, rc, "delete", prefix)
	                                     : KE_OK;
}

/* ---- records: services, instances, layers, snapshots ----------------------------- */

/* The strings up to a NULL, one after another, in k (cut at KEY_MAX - 1
 * as snprintf would; names are far shorter).  Keys are built per request,
 * and snprintf was most of it. */
static void
key_cat(char *k, ...)
{
	va_list     ap;
	size_t      n = 0;
	const char *s;

	va_start(ap, k);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t l = strlen(s);

		if (l > KEY_MAX - 1 - n)
			l = KEY_MAX - 1 - n;
		memcpy(k + n, s, l);
		n += l;
	}
	va_end(ap);
	k[n] = '\0';
}

static void
key_svc(char *k, const char *svc)
{
	key_cat(k, "svc/", svc, "/", NULL);
}

static void
key_inst(char *k, const char *svc, const char *inst)
{
	key_cat(k, "svc/", svc, "/i/", inst, "/", NULL);
}

/* "svc/NAME/pg/LAYER/" or "svc/NAME/i/INST/pg/LAYER/" (inst ""). */
static void
key_layer(char *k, const char *svc, const char *inst, const char *layer)
{
	if (inst[0] == '\0')
		key_cat(k, "svc/", svc, "/pg/", layer, "/", NULL);
	else
		key_cat(k, "svc/", svc, "/i/", inst, "/pg/", layer, "/", NULL);
}

static void
key_snap(char *k, const char *svc, const char *inst, const char *snap)
{
	key_cat(k, "svc/", svc, "/i/", inst, "/snap/", snap, NULL);
}

static size_t
event_hash(const char *name, const char *fmri)
{
	return fnv(fnv(FNV_BASIS, name) ^ 0xff, fmri); /* 0xff: no name byte */
}

/* The slot of (name, fmri) in t->evix: its event or the empty slot. */
static cJSON **
event_slot(cJSON **ix, size_t cap, const char *name, const char *fmri)
{
	size_t i = event_hash(name, fmri) & (cap - 1);

	while (ix[i] != NULL && (strcmp(kipc_json_str(ix[i], "fmri"), fmri) != 0 ||
	                            strcmp(kipc_json_str(ix[i], "event"), name) != 0))
		i = (i + 1) & (cap - 1);
	return &ix[i];
}

/* Room for one more event in the index (load at most one half). */
static int
event_room(tx *t)
{
	size_t  cap = t->evcap != 0 ? t->evcap * 2 : 64;
	cJSON **ix;

	if ((t->evn + 1) * 2 <= t->evcap)
		return KE_OK;
	if ((ix = calloc(cap, sizeof(*ix))) == NULL)
		return oom(t);
	for (size_t i = 0; i < t->evcap; i++)
		if (t->evix[i] != NULL)
			*event_slot(ix, cap, kipc_json_str(t->evix[i], "event"),
			    kipc_json_str(t->evix[i], "fmri")) = t->evix[i];
	free(t->evix);
	t->evix = ix;
	t->evcap = cap;
	return KE_OK;
}

/*
 * Records an event for after the commit: {"event", "fmri", "generation"}.
 * One per (event, fmri) and transaction: a later one replaces an earlier
 * (found through t->evix: an import of N services makes about 3N events).
 * Events carry names and counters only, never a value (no secret leaks).
 */
static int
event(tx *t, const char *name, const char *svc, const char *inst,
      long long gen)
{
	char    f[KCFG_FMRI_MAX];
	cJSON  *e, **slot;

	if (t->events == NULL && (t->events = cJSON_CreateArray()) == NULL)
		return oom(t);
	if (event_room(t) != KE_OK)
		return KE_INTERNAL;
	kcfg_fmri_format(f, sizeof(f), svc, inst);
	if (*(slot = event_slot(t->evix, t->evcap, name, f)) != NULL) {
		cJSON_SetNumberHelper(cJSON_GetObjectItemCaseSensitive(*slot,
		    "generation"), (double)gen);
		return KE_OK;
	}
	if ((e = cJSON_CreateObject()) == NULL)
		return oom(t);
	cJSON_AddStringToObject(e, "event", name);
	cJSON_AddStringToObject(e, "fmri", f);
	cJSON_AddNumberToObject(e, "generation", (double)gen);
	cJSON_AddItemToArray(t->events, e);
	*slot = e;
	t->evn++;
	return KE_OK;
}

/* Hands a committed transaction's events to the environment's list. */
static void
events_keep(kvenv *e, tx *t)
{
	cJSON *o;

	if (t->events == NULL)
		return;
	if (e->events == NULL) {
		e->events = t->events;
		t->events = NULL;
		return;
	}
	while ((o = t->events->child) != NULL)
		cJSON_AddItemToArray(e->events,
		    cJSON_DetachItemViaPointer(t->events, o));
	cJSON_Delete(t->events);
	t->events = NULL;
}

static int
gen_get(tx *t, const char *svc, long long *gen)
{
	char         k[KEY_MAX];
	const cJSON *meta;
	int          ke;

	key_svc(k, svc);
	if ((ke = kv_peek(t, k, &meta)) != KE_OK) {
		if (ke == KE_NOT_FOUND)
			snprintf(t->why, t->whylen, "no such service '%s'", svc);
		return ke;
	}
	*gen = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(meta, "generation"));
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
	if ((ke = kv_put_owned(t, k, meta)) == KE_OK)
		ke = event(t, "repo.changed", svc, "", gen + 1);
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

/* "svc/NAME/gens" or "svc/NAME/i/INST/gens": {PG: G} of one level. */
static void
key_gens(char *k, const char *svc, const char *inst)
{
	if (inst[0] == '\0')
		key_cat(k, "svc/", svc, "/gens", NULL);
	else
		key_cat(k, "svc/", svc, "/i/", inst, "/gens", NULL);
}

/* The group generations of one level ({} when none moved yet). */
static int
gens_get(tx *t, const char *svc, const char *inst, cJSON **gens)
{
	char         k[KEY_MAX];
	const cJSON *g;
	int          ke;

	key_gens(k, svc, inst);
	*gens = NULL;
	if ((ke = kv_peek(t, k, &g)) == KE_NOT_FOUND)
		*gens = cJSON_CreateObject();
	else if (ke == KE_OK)
		*gens = cJSON_Duplicate(g, 1);
	else
		return ke;
	return *gens != NULL ? KE_OK : oom(t);
}

static long long
gen_of(const cJSON *gens, const char *pg)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(gens, pg);

	return cJSON_IsNumber(g) ? (long long)g->valuedouble : 0;
}

/*
 * The generations a reader of a level sees: for an instance, each group's
 * instance-level and service-level counts summed, so that a change at
 * either level (both reach the instance's view) moves it.
 */
static int
gens_view(tx *t, const char *svc, const char *inst, cJSON **gens)
{
	char         k[KEY_MAX];
	const cJSON *sg = NULL;
	int          ke = gens_get(t, svc, inst, gens);

	if (ke != KE_OK || inst[0] == '\0')
		return ke;
	key_gens(k, svc, "");
	if ((ke = kv_peek(t, k, &sg)) != KE_OK && ke != KE_NOT_FOUND) {
		cJSON_Delete(*gens);
		*gens = NULL;
		return ke;
	}
	for (const cJSON *g = sg != NULL ? sg->child : NULL; g != NULL;
	     g = g->next) {
		long long sum = gen_of(*gens, g->string) + gen_of(sg, g->string);

		cJSON_DeleteItemFromObjectCaseSensitive(*gens, g->string);
		cJSON_AddNumberToObject(*gens, g->string, (double)sum);
	}
	kcfg_json_sort(*gens);
	return KE_OK;
}

/* Counts one change of group pg in gens (not stored). */
static void
gen_count(cJSON *gens, const char *pg)
{
	long long g = gen_of(gens, pg);

	cJSON_DeleteItemFromObjectCaseSensitive(gens, pg);
	cJSON_AddNumberToObject(gens, pg, (double)(g + 1));
}

/*
 * Replaces a whole layer at one level with pgs, and counts a change in the
 * generation of every group whose layer content moved.
 */
static int
layer_put(tx *t, const char *svc, const char *inst, const char *layer,
          const cJSON *pgs)
{
	char   prefix[KEY_MAX], k[KEY_MAX];
	cJSON *old = NULL, *gens = NULL;
	bool   moved = false;
	int    ke = layer_get(t, svc, inst, layer, &old);

	if (ke == KE_OK)
		ke = gens_get(t, svc, inst, &gens);
	for (const cJSON *g = pgs->child; ke == KE_OK && g != NULL; g = g->next)
		if (!cJSON_Compare(g, cJSON_GetObjectItemCaseSensitive(old,
		        g->string), true)) {
			gen_count(gens, g->string);
			moved = true;
		}
	for (const cJSON *g = old != NULL ? old->child : NULL;
	     ke == KE_OK && g != NULL; g = g->next)
		if (cJSON_GetObjectItemCaseSensitive(pgs, g->string) == NULL) {
			gen_count(gens, g->string);
			moved = true;
		}
	key_layer(prefix, svc, inst, layer);
	if (ke == KE_OK && moved) {
		key_gens(k, svc, inst);
		ke = kv_put(t, k, gens);
	}
	if (ke == KE_OK)
		ke = kv_del_prefix(t, prefix);
	for (const cJSON *g = pgs->child; g != NULL && ke == KE_OK; g = g->next) {
		snprintf(k, sizeof(k), "%s%s", prefix, g->string);
		ke = kv_put(t, k, g);
	}
	cJSON_Delete(old);
	cJSON_Delete(gens);
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

/*
 * Both views of an instance from one read of its four layers: the
 * manifest's (*mview) and the editing view (*view).  svc_m and inst_m, when
 * given, are the manifest layers as this transaction just wrote them
 * (layer_put stores each group's printed text, which parses back to the
 * same): an import composes from them instead of reading them back.
 */
static int
views_get(tx *t, const char *svc, const char *inst, const cJSON *svc_m,
          const cJSON *inst_m, cJSON **mview, cJSON **view)
{
	cJSON *l[4] = { NULL, NULL, NULL, NULL };
	int    ke = svc_m != NULL ? KE_OK
	                          : layer_get(t, svc, "", "manifest", &l[0]);

	*mview = *view = NULL;
	if (ke == KE_OK)
		ke = layer_get(t, svc, "", "admin", &l[1]);
	if (ke == KE_OK && inst_m == NULL)
		ke = layer_get(t, svc, inst, "manifest", &l[2]);
	if (ke == KE_OK)
		ke = layer_get(t, svc, inst, "admin", &l[3]);
	if (svc_m == NULL)
		svc_m = l[0];
	if (inst_m == NULL)
		inst_m = l[2];
	if (ke == KE_OK && (*mview = kcfg_view(svc_m, NULL, inst_m, NULL)) == NULL)
		ke = oom(t);
	/* No admin layer (every fresh import): the two are one, *view ==
	 * *mview (the caller frees it once). */
	if (ke == KE_OK && (*view = l[1]->child == NULL && l[3]->child == NULL
	                            ? *mview
	                            : kcfg_view(svc_m, l[1], inst_m, l[3])) == NULL)
		ke = oom(t);
	for (int i = 0; i < 4; i++)
		cJSON_Delete(l[i]);
	return ke;
}

/* The editing view of an instance; with manifest_only, the manifest layer. */
static int
view_get(tx *t, const char *svc, const char *inst, bool manifest_only,
         cJSON **view)
{
	cJSON *m = NULL, *v = NULL;
	int    ke = views_get(t, svc, inst, NULL, NULL, &m, &v);

	*view = NULL;
	if (ke == KE_OK) {
		*view = manifest_only ? m : v;
		if (m != v) /* the other one */
			cJSON_Delete(manifest_only ? v : m);
	} else {
		if (m != v)
			cJSON_Delete(v);
		cJSON_Delete(m);
	}
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

static void
snap_memo(tx *t, bool on)
{
	free(t->memo_text);
	t->memo_text = NULL;
	t->memo_pgs = NULL;
	t->memo = on;
}

static int
snap_put(tx *t, const char *svc, const char *inst, const char *snap,
         const cJSON *pgs)
{
	char   k[KEY_MAX], *text;
	cJSON *s;
	int    ke;

	key_snap(k, svc, inst, snap);
	if (t->memo && pgs == t->memo_pgs)
		return kv_put_text(t, k, t->memo_text);
	if ((s = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemReferenceToObject(s, "property_groups", (cJSON *)pgs)) {
		cJSON_Delete(s);
		return oom(t);
	}
	text = kipc_json_print(s, NULL);
	cJSON_Delete(s); /* a reference: pgs stays the caller's */
	if (text == NULL)
		return oom(t);
	ke = kv_put_text(t, k, text);
	if (t->memo) {
		free(t->memo_text);
		t->memo_text = text;
		t->memo_pgs = pgs;
	} else
		free(text);
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
	if ((rc = dirty_put_all(t)) != KE_OK)
		return rc;
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
 * previous := running, running := editing view (given, or read when
 * NULL).  With only_changed, an instance whose running snapshot already
 * equals its view is left alone (re-importing an unchanged manifest keeps
 * previous).  *did says whether it refreshed.
 */
static int
refresh_one(tx *t, const char *svc, const char *inst, const cJSON *given,
            bool only_changed, bool *did)
{
	cJSON *view = NULL, *running = NULL;
	int    ke = given != NULL ? KE_OK
	                          : view_get(t, svc, inst, false, &view);
	const cJSON *v = given != NULL ? given : view;

	*did = false;
	if (ke == KE_OK) {
		ke = snap_get(t, svc, inst, "running", &running);
		if (ke == KE_NOT_FOUND)
			ke = KE_OK;
	}
	/* A partly set dependency group never reaches running. */
	if (ke == KE_OK) {
		char f[KCFG_FMRI_MAX];

		kcfg_fmri_format(f, sizeof(f), svc, inst);
		if (kcfg_deps_check(v, f, t->why, t->whylen) != 0)
			ke = KE_INVALID;
	}
	if (ke == KE_OK && !(only_changed && running != NULL &&
	                       cJSON_Compare(v, running, true))) {
		if (running != NULL)
			ke = snap_put(t, svc, inst, "previous", running);
		if (ke == KE_OK)
			ke = snap_put(t, svc, inst, "running", v);
		if (ke == KE_OK) {
			long long gen = 0;

			if ((ke = gen_get(t, svc, &gen)) == KE_OK)
				ke = event(t, "repo.refreshed", svc, inst, gen);
		}
		*did = ke == KE_OK;
	}
	cJSON_Delete(view);
	cJSON_Delete(running);
	return ke;
}

static int
cmp_item_name(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/*
 * {FMRI: editing view} of every instance, for the cycle check, in key
 * order.  The views in have (by FMRI: those this transaction just
 * composed) are moved over instead of being composed again.
 */
static int
all_views(tx *t, cJSON *have, cJSON **views)
{
	cJSON  *svcs = NULL, *insts = NULL, *s, *i, **sorted = NULL;
	size_t  nhave = 0;
	int     ke = svcs_get(t, &svcs);

	for (cJSON *h = have != NULL ? have->child : NULL; h != NULL; h = h->next)
		nhave++;
	if (ke == KE_OK && nhave > 0 &&
	    (sorted = calloc(nhave, sizeof(*sorted))) == NULL)
		ke = oom(t);
	nhave = 0;
	for (cJSON *h = sorted != NULL ? have->child : NULL; h != NULL; h = h->next)
		sorted[nhave++] = h;
	if (sorted != NULL)
		qsort(sorted, nhave, sizeof(*sorted), cmp_item_name);
	if (ke == KE_OK && (*views = cJSON_CreateObject()) == NULL)
		ke = oom(t);
	for (s = svcs != NULL ? svcs->child : NULL; ke == KE_OK && s != NULL;
	     s = s->next) {
		ke = insts_get(t, s->valuestring, &insts);
		for (i = insts != NULL ? insts->child : NULL;
		     ke == KE_OK && i != NULL; i = i->next) {
			char    f[KCFG_FMRI_MAX];
			cJSON   key = { .string = f }, *kp = &key, *v = NULL;
			cJSON **hit;

			kcfg_fmri_format(f, sizeof(f), s->valuestring, i->valuestring);
			hit = nhave > 0 ? bsearch(&kp, sorted, nhave,
			                      sizeof(*sorted), cmp_item_name)
			                : NULL;
			if (hit != NULL)
				v = cJSON_DetachItemViaPointer(have, *hit);
			else
				ke = view_get(t, s->valuestring, i->valuestring,
				    false, &v);
			if (ke == KE_OK)
				cJSON_AddItemToObject(*views, f, v);
		}
		cJSON_Delete(insts);
		insts = NULL;
	}
	free(sorted);
	cJSON_Delete(svcs);
	return ke;
}

/* ---- transactions ------------------------------------------------------------------ */

typedef int (*txn_fn)(tx *t, void *arg);

static int
grow(kvenv *e)
{
	int rc;

	if (e->mapsize >= MAP_LIMIT)
		return -1;
	pthread_rwlock_wrlock(&e->maplock);
	rc = mdb_env_set_mapsize(e->env, e->mapsize * 2);
	pthread_rwlock_unlock(&e->maplock);
	if (rc != 0)
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
 *
 * Inside a group commit fn runs in the batch's own transaction: a nested
 * transaction costs LMDB two big arrays (3 MiB, an mmap and a munmap with
 * its TLB shootdown on every core) and was a third of a commit's CPU.
 * Requests check before they write, so one that fails has mostly written
 * nothing and left the batch as it was.  One that fails after a write (a
 * cycle found at the end, a full map, out of memory) poisons the batch:
 * the caller aborts it and runs the same requests again, each in a nested
 * transaction (krepo_batch_begin with nested), where a failure undoes only
 * itself.  A dry run is always nested, as it ends in an abort.
 */
/* Puts the batch's dirty groups (kcache); a failure poisons it. */
static int
batch_put_dirty(kvenv *e, char *why, size_t whylen)
{
	tx  t = { .txn = e->batch, .dbi = e->dbi, .why = why, .whylen = whylen,
		.bytes = &e->txn_bytes, .ce = e };
	int ke;

	if (e->batch == NULL || e->nested)
		return KE_OK;
	if ((ke = dirty_put_all(&t)) != KE_OK) {
		e->poisoned = true;
		e->grow = e->grow || t.mrc == MDB_MAP_FULL;
	}
	return ke;
}

static int
run_write(kvenv *e, txn_fn fn, void *arg, bool commit, char *why,
          size_t whylen)
{
	for (int tries = 0;; tries++) {
		tx   t = { .dbi = e->dbi, .why = why, .whylen = whylen,
			.bytes = &e->txn_bytes };
		bool direct = e->batch != NULL && !e->nested && commit;
		int  rc = 0, ke;

		if (direct) {
			t.txn = e->batch;
			t.ce = e;
		} else {
			/* Nothing may change data the cache does not see:
			 * dirty groups are put in the batch before it goes. */
			if (e->batch != NULL && e->cache != NULL &&
			    e->cache->ndirty > 0 && (ke = batch_put_dirty(e, why,
			                                 whylen)) != KE_OK)
				return ke;
			cache_clear(e, NULL);
			rc = mdb_txn_begin(e->env, e->batch, 0, &t.txn);
		}
		if (e->batch == NULL)
			e->txn_bytes = 0;

		e->full = false;
		if (rc != 0)
			return mfail(&t, rc, "begin a transaction on", e->name);
		/* Made first, so that lending (kv_peek) cannot fail later. */
		if ((t.grave = cJSON_CreateArray()) == NULL) {
			if (!direct)
				mdb_txn_abort(t.txn);
			return oom(&t);
		}
		ke = fn(&t, arg);
		cJSON_Delete(t.grave);
		if (direct) {
			/* Any LMDB failure leaves the transaction unusable. */
			if (t.mrc != 0 || (ke != KE_OK && t.wrote)) {
				e->poisoned = true;
				e->grow = e->grow || t.mrc == MDB_MAP_FULL;
			} else if (ke == KE_OK)
				events_keep(e, &t);
		} else if (ke == KE_OK && commit) {
			if ((rc = mdb_txn_commit(t.txn)) != 0)
				ke = mfail(&t, rc, "commit", e->name);
			if (ke == KE_OK)
				events_keep(e, &t);
		} else
			mdb_txn_abort(t.txn);
		cJSON_Delete(t.events);
		free(t.evix);
		if (e->batch == NULL && e->txn_bytes > e->peak_bytes)
			e->peak_bytes = e->txn_bytes;
		if (direct)
			return ke;
		if (t.mrc == MDB_MAP_FULL && e->batch != NULL) {
			/* Inside a group commit the map cannot grow: the
			 * caller commits what it has, grows, runs this again. */
			e->full = e->grow = true;
			snprintf(why, whylen, "the repository's map is full");
			return KE_BUSY;
		}
		if (t.mrc == MDB_MAP_FULL && tries < GROW_TRIES && grow(e) == 0)
			continue;
		return ke;
	}
}

static int
run_read(kvenv *e, txn_fn fn, void *arg, char *why, size_t whylen)
{
	tx  t = { .dbi = e->dbi, .why = why, .whylen = whylen };
	int rc, ke;

	pthread_rwlock_rdlock(&e->maplock);
	if (e->env == NULL) { /* krepo_release failed: kconfigd is exiting */
		pthread_rwlock_unlock(&e->maplock);
		snprintf(why, whylen, "the %s is closed", e->name);
		return KE_UNAVAILABLE;
	}
	if ((rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &t.txn)) != 0) {
		pthread_rwlock_unlock(&e->maplock);
		return mfail(&t, rc, "begin a transaction on", e->name);
	}
	if ((t.grave = cJSON_CreateArray()) == NULL) {
		mdb_txn_abort(t.txn);
		pthread_rwlock_unlock(&e->maplock);
		return oom(&t);
	}
	ke = fn(&t, arg);
	cJSON_Delete(t.grave);
	mdb_txn_abort(t.txn);
	pthread_rwlock_unlock(&e->maplock);
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
	const cJSON        *in2;
	cJSON              *out;
	cJSON              *gens;
	long long           gen;
	krepo              *repo; /* do_get: the view cache */
} req;

/* Restarts a request's output, for a run after MDB_MAP_FULL. */
static void
req_reset(req *q)
{
	cJSON_Delete(q->out);
	q->out = NULL;
	cJSON_Delete(q->gens);
	q->gens = NULL;
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

/*
 * Snapshots and refresh for one instance after an import.  An instance
 * whose manifest view did not change (the same manifest imported again, as
 * at every boot) is not refreshed when it already has a running snapshot:
 * an admin edit not yet refreshed must stay invisible to kstartd until
 * `kctl refresh`, reboot or not.
 */
static int
import_snaps(tx *t, const kcfg_service *s, const char *inst, cJSON *refreshed,
             cJSON *views)
{
	const char *svc = s->name;
	cJSON      *mview = NULL, *view = NULL, *initial = NULL, *last = NULL,
	           *running = NULL;
	bool        did = false, same = false;
	/* An instance the manifest names has the layer import_layers wrote;
	 * one it does not keeps what it had (read back). */
	int ke = views_get(t, svc, inst, s->pgs,
	    cJSON_GetObjectItemCaseSensitive(s->instances, inst), &mview, &view);

	snap_memo(t, true); /* mview (and view) stored as up to 3 snapshots */

	if (ke == KE_OK && (ke = snap_get(t, svc, inst, "last-import",
	                        &last)) == KE_NOT_FOUND)
		ke = KE_OK;
	if (ke == KE_OK && last != NULL && cJSON_Compare(last, mview, true)) {
		if ((ke = snap_get(t, svc, inst, "running", &running)) ==
		    KE_NOT_FOUND)
			ke = KE_OK;
		same = running != NULL;
	}
	if (ke == KE_OK)
		ke = snap_put(t, svc, inst, "last-import", mview);
	if (ke == KE_OK && (ke = snap_get(t, svc, inst, "initial", &initial)) ==
	                       KE_NOT_FOUND)
		ke = snap_put(t, svc, inst, "initial", mview);
	if (ke == KE_OK && !same)
		ke = refresh_one(t, svc, inst, view, true, &did);
	if (ke == KE_OK && did)
		add_fmri(refreshed, svc, inst);
	if (ke == KE_OK) { /* kept for the cycle check */
		char f[KCFG_FMRI_MAX];

		kcfg_fmri_format(f, sizeof(f), svc, inst);
		if (!cJSON_AddItemToObject(views, f, view)) {
			ke = oom(t);
		} else {
			if (view == mview)
				mview = NULL;
			view = NULL;
		}
	}
	snap_memo(t, false);
	if (view != mview)
		cJSON_Delete(view);
	cJSON_Delete(mview);
	cJSON_Delete(initial);
	cJSON_Delete(last);
	cJSON_Delete(running);
	return ke;
}

static int
import_service(tx *t, const kcfg_service *s, cJSON *insts_out,
               cJSON *refreshed, cJSON *views)
{
	cJSON *insts = NULL;
	int    ke = import_layers(t, s);

	if (ke == KE_OK)
		ke = insts_get(t, s->name, &insts);
	for (cJSON *i = insts != NULL ? insts->child : NULL;
	     ke == KE_OK && i != NULL; i = i->next) {
		ke = import_snaps(t, s, i->valuestring, refreshed, views);
		add_fmri(insts_out, s->name, i->valuestring);
	}
	cJSON_Delete(insts);
	return ke;
}

static int
do_import(tx *t, void *arg)
{
	req   *q = arg;
	cJSON *names, *insts, *refreshed, *mine, *views = NULL;
	int    ke = KE_OK;

	req_reset(q);
	if ((q->out = cJSON_CreateObject()) == NULL ||
	    (mine = cJSON_CreateObject()) == NULL)
		return oom(t);
	names = cJSON_AddArrayToObject(q->out, "services");
	insts = cJSON_AddArrayToObject(q->out, "instances");
	refreshed = cJSON_AddArrayToObject(q->out, "refreshed");
	for (int i = 0; ke == KE_OK && i < q->n; i++) {
		ke = import_service(t, &q->svcs[i], insts, refreshed, mine);
		cJSON_AddItemToArray(names, cJSON_CreateString(q->svcs[i].name));
	}
	/* The repository as it would be after this import must be acyclic. */
	if (ke == KE_OK && (ke = all_views(t, mine, &views)) == KE_OK &&
	    kcfg_check_cycles(views, t->why, t->whylen) != 0)
		ke = KE_INVALID;
	cJSON_Delete(views);
	cJSON_Delete(mine);
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
	if (q->inst[0] != '\0' && (ke = inst_check(t, q->svc, q->inst)) != KE_OK)
		return ke;
	if ((ke = gens_view(t, q->svc, q->inst, &q->gens)) != KE_OK)
		return ke;
	if (q->inst[0] == '\0')
		return level_get(t, q->svc, "", &q->out);
	if (q->snap == NULL)
		return view_get(t, q->svc, q->inst, false, &q->out);
	if ((ke = snap_get(t, q->svc, q->inst, q->snap, &q->out)) ==
	    KE_NOT_FOUND)
		snprintf(t->why, t->whylen, "no snapshot '%s' of 'svc:/%s:%s'",
		    q->snap, q->svc, q->inst);
	return ke;
}

static unsigned
vcache_slot(const char *key)
{
	return (unsigned)(key_hash(key) % VIEW_CACHE);
}

/* do_get through the view cache (copies in and out, under vmu). */
static int
do_get_cached(tx *t, void *arg)
{
	req    *q = arg;
	vcache *c;
	char    key[KEY_MAX];
	size_t  id = mdb_txn_id(t->txn);
	int     ke;

	if (snprintf(key, sizeof(key), "%s/%s/%s", q->svc, q->inst,
	        q->snap != NULL ? q->snap : "") >= (int)sizeof(key))
		return do_get(t, arg);
	c = &q->repo->vc[vcache_slot(key)];
	pthread_mutex_lock(&q->repo->vmu);
	if (c->txnid == id && strcmp(c->key, key) == 0) {
		req_reset(q);
		q->gen = c->gen;
		q->gens = cJSON_Duplicate(c->gens, true);
		q->out = cJSON_Duplicate(c->pgs, true);
		pthread_mutex_unlock(&q->repo->vmu);
		return q->gens != NULL && q->out != NULL ? KE_OK : oom(t);
	}
	pthread_mutex_unlock(&q->repo->vmu);
	if ((ke = do_get(t, arg)) != KE_OK)
		return ke;
	cJSON *gens = cJSON_Duplicate(q->gens, true);
	cJSON *pgs = cJSON_Duplicate(q->out, true);

	pthread_mutex_lock(&q->repo->vmu);
	/* Keep the newest: an older reader must not evict a newer view. */
	if (gens != NULL && pgs != NULL && id >= c->txnid) {
		cJSON_Delete(c->gens);
		cJSON_Delete(c->pgs);
		*c = (vcache) { .txnid = id, .gen = q->gen, .gens = gens,
			.pgs = pgs };
		snprintf(c->key, sizeof(c->key), "%s", key);
		gens = pgs = NULL;
	}
	pthread_mutex_unlock(&q->repo->vmu);
	cJSON_Delete(gens);
	cJSON_Delete(pgs);
	return KE_OK;
}

unsigned long long
krepo_txnid(krepo *r)
{
	MDB_envinfo        info;
	unsigned long long id = 0;

	pthread_rwlock_rdlock(&r->p.maplock); /* krepo_release may reopen */
	if (r->p.env != NULL && mdb_env_info(r->p.env, &info) == 0)
		id = (unsigned long long)info.me_last_txnid;
	pthread_rwlock_unlock(&r->p.maplock);
	return id;
}

char *
krepo_memo_get(krepo *r, const char *key)
{
	memo              *m = &r->memo[vcache_slot(key)];
	unsigned long long now = krepo_txnid(r);
	char              *text = NULL;

	pthread_mutex_lock(&r->vmu);
	if (now != 0 && m->txnid == now && m->key != NULL &&
	    strcmp(m->key, key) == 0)
		text = strdup(m->text);
	pthread_mutex_unlock(&r->vmu);
	return text;
}

void
krepo_memo_put(krepo *r, const char *key, unsigned long long txnid,
               const char *text)
{
	memo *m = &r->memo[vcache_slot(key)];
	char *k, *t;

	if (txnid == 0 || strlen(text) > KREPO_MEMO_MAX)
		return;
	k = strdup(key);
	t = strdup(text);
	pthread_mutex_lock(&r->vmu);
	if (k != NULL && t != NULL && txnid >= m->txnid) {
		free(m->key);
		free(m->text);
		*m = (memo) { .key = k, .text = t, .txnid = txnid };
		k = t = NULL;
	}
	pthread_mutex_unlock(&r->vmu);
	free(k);
	free(t);
}

int
krepo_get(krepo *r, const char *svc, const char *inst, bool running,
          cJSON **pgs, long long *generation, char *why, size_t whylen)
{
	return krepo_get_gens(r, svc, inst, running ? "running" : NULL, pgs,
	    generation, NULL, why, whylen);
}

int
krepo_get_gens(krepo *r, const char *svc, const char *inst, const char *snap,
               cJSON **pgs, long long *generation, cJSON **gens, char *why,
               size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .snap = snap, .repo = r };
	int ke;

	if (snap != NULL && inst[0] == '\0') {
		snprintf(why, whylen, "snapshots belong to instances");
		*pgs = NULL;
		return KE_INVALID;
	}
	ke = run_read(&r->p, do_get_cached, &q, why, whylen);
	if (ke != KE_OK)
		req_reset(&q);
	*pgs = q.out;
	*generation = q.gen;
	if (gens != NULL)
		*gens = q.gens;
	else
		cJSON_Delete(q.gens);
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
	cJSON_Delete(q.gens);
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

/*
 * A running snapshot as stored, for a reply that will not change it: the
 * stored text is `{"property_groups":{...}}` as snap_put printed it, so
 * it goes out as it is (a raw item) instead of being parsed and printed
 * again (at 1000 instances, 16 of the 21 ms repo.running took).  Text of
 * any other shape takes the parsing path, which reports it.
 */
static int
running_raw(tx *t, const char *svc, const char *inst, req *q, bool *done)
{
	static const char head[] = "{\"property_groups\":{";
	char    k[KEY_MAX], f[KCFG_FMRI_MAX], *text;
	MDB_val v;
	cJSON  *raw;
	int     ke;

	*done = false;
	key_snap(k, svc, inst, "running");
	if ((ke = kv_raw(t, k, &v)) != KE_OK) {
		*done = ke == KE_NOT_FOUND;
		return ke == KE_NOT_FOUND ? KE_OK : ke;
	}
	if (v.mv_size < sizeof(head) + 1 ||
	    memcmp(v.mv_data, head, sizeof(head) - 1) != 0 ||
	    memcmp((char *)v.mv_data + v.mv_size - 2, "}}", 2) != 0 ||
	    memchr(v.mv_data, '\0', v.mv_size) != NULL)
		return KE_OK;
	if ((text = malloc(v.mv_size + 1)) == NULL)
		return oom(t);
	memcpy(text, v.mv_data, v.mv_size);
	text[v.mv_size] = '\0';
	kcfg_fmri_format(f, sizeof(f), svc, inst);
	raw = cJSON_CreateRaw(text);
	free(text);
	if (raw == NULL)
		return oom(t);
	cJSON_AddItemToObject(q->out, f, raw);
	*done = true;
	return KE_OK;
}

static int
running_one(tx *t, const char *svc, const char *inst, req *q)
{
	char   f[KCFG_FMRI_MAX];
	cJSON *pgs, *o;
	bool   done = false;
	int    ke = q->flag ? running_raw(t, svc, inst, q, &done) : KE_OK;

	if (ke != KE_OK || done)
		return ke;
	ke = snap_get(t, svc, inst, "running", &pgs);

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
krepo_running(krepo *r, bool raw, cJSON **instances, char *why,
              size_t whylen)
{
	req q = { .flag = raw };

	return run_out(r, do_running, &q, instances, why, whylen);
}

/* Export: the layered groups of each level, service by service. */
/* Drops tombstones (and groups left with nothing but them). */
static void
strip_tombstones(cJSON *pgs)
{
	cJSON *g = pgs->child, *gnext, *p, *pnext;

	for (; g != NULL; g = gnext) {
		gnext = g->next;
		for (p = g->child; p != NULL; p = pnext) {
			pnext = p->next;
			if (kcfg_tombstone(p))
				cJSON_Delete(cJSON_DetachItemViaPointer(g, p));
		}
		if (g->child == NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(pgs, g));
	}
}

/*
 * An instance's level for export: its own groups (admin over manifest,
 * tombstones resolved) plus a null for every group or property it hides of
 * what the service level gives it (systemk-manifest(5)), so that importing
 * the export hides them again.  svc_pgs is the service level.
 */
static int
export_instance(tx *t, const char *svc, const char *inst,
                const cJSON *svc_pgs, cJSON **pgs)
{
	cJSON *view = NULL;
	int    ke = level_get(t, svc, inst, pgs);

	if (ke == KE_OK)
		ke = view_get(t, svc, inst, false, &view);
	if (ke != KE_OK) {
		cJSON_Delete(*pgs);
		*pgs = NULL;
		return ke;
	}
	strip_tombstones(*pgs);
	for (const cJSON *g = svc_pgs->child; g != NULL; g = g->next) {
		const cJSON *vg = cJSON_GetObjectItemCaseSensitive(view, g->string);
		cJSON       *og = cJSON_GetObjectItemCaseSensitive(*pgs, g->string);

		if (vg == NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(*pgs, g->string);
			cJSON_AddNullToObject(*pgs, g->string);
			continue;
		}
		for (const cJSON *p = g->child; p != NULL; p = p->next) {
			if (cJSON_GetObjectItemCaseSensitive(vg, p->string) != NULL)
				continue;
			if (og == NULL)
				og = cJSON_AddObjectToObject(*pgs, g->string);
			cJSON_AddNullToObject(og, p->string);
		}
		if (og != NULL)
			kcfg_json_sort(og);
	}
	kcfg_json_sort(*pgs);
	cJSON_Delete(view);
	return KE_OK;
}

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

		if ((ke = export_instance(t, svc, i->valuestring, spgs, &p)) ==
		    KE_OK)
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
	int  ke = refresh_one(t, svc, inst, NULL, false, &did);

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

/* ---- transactions of admin edits: repo.commit ----------------------------------------- */

/* The layers below the admin layer of a level, composed (for revert). */
static int
lower_get(tx *t, const char *svc, const char *inst, cJSON **lower)
{
	cJSON *sm = NULL, *sa = NULL, *im = NULL;
	int    ke = layer_get(t, svc, "", "manifest", &sm);

	if (ke == KE_OK && inst[0] != '\0') {
		ke = layer_get(t, svc, "", "admin", &sa);
		if (ke == KE_OK)
			ke = layer_get(t, svc, inst, "manifest", &im);
	}
	if (ke == KE_OK && (*lower = kcfg_view(sm, sa, im, NULL)) == NULL)
		ke = oom(t);
	cJSON_Delete(sm);
	cJSON_Delete(sa);
	cJSON_Delete(im);
	return ke;
}

static cJSON *
tombstone(void)
{
	cJSON *p = cJSON_CreateObject();

	if (p != NULL)
		cJSON_AddTrueToObject(p, "deleted");
	return p;
}

/*
 * obj[name] := item (taken), leaving obj sorted (kcfg_json_sort): in its
 * place when obj was sorted, as stored groups are, without a sort.  Linked
 * by hand: Debian 12's cJSON (1.7.15-1+deb12u4) refuses
 * cJSON_InsertItemInArray at any place but the first and the end.
 */
static bool
json_put_sorted(cJSON *obj, const char *name, cJSON *item)
{
	cJSON *after = NULL; /* the first member after name */
	bool   sorted = true, have = false;

	for (cJSON *c = obj->child; c != NULL; c = c->next) {
		int cmp = strcmp(c->string, name);

		if (cmp > 0 && after == NULL)
			after = c;
		have = have || cmp == 0;
		if (c->next != NULL && strcmp(c->string, c->next->string) > 0)
			sorted = false;
	}
	if (have && !cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)) {
		cJSON_Delete(item); /* not linked */
		return false;
	}
	if (have) {
		if (!sorted)
			kcfg_json_sort(obj);
		return true;
	}
	if (!cJSON_AddItemToObject(obj, name, item)) { /* at the end */
		cJSON_Delete(item);
		return false;
	}
	if (!sorted)
		kcfg_json_sort(obj);
	else if (after != NULL) {
		cJSON_DetachItemViaPointer(obj, item);
		item->next = after;
		item->prev = after->prev; /* the head's prev is the tail */
		if (after == obj->child)
			obj->child = item;
		else
			after->prev->next = item;
		after->prev = item;
	}
	return true;
}

/* admin[pg][prop] := p (taken), creating the group. */
static int
admin_put(tx *t, cJSON *admin, const char *pg, const char *prop, cJSON *p)
{
	cJSON *g = cJSON_GetObjectItemCaseSensitive(admin, pg);

	if (p == NULL || (g == NULL &&
	                     (g = cJSON_AddObjectToObject(admin, pg)) == NULL)) {
		cJSON_Delete(p);
		return oom(t);
	}
	return json_put_sorted(g, prop, p) ? KE_OK : oom(t);
}

/*
 * A set op as a canonical property: the type given or the existing one's,
 * booleans also as "true"/"false", checked like an import of it (framework
 * properties strictly).  Messages name the property, never a value.
 */
static int
op_set_prop(tx *t, const char *fmri, const cJSON *op, const cJSON *cur,
            cJSON **out)
{
	const char  *pg = kipc_json_str(op, "pg"), *prop = kipc_json_str(op, "prop");
	const char  *type = kipc_json_str(op, "type");
	int          secret = kipc_json_bool(op, "secret");
	cJSON       *wrap, *p, *vals;

	*out = NULL;
	if (type == NULL && (type = kipc_json_str(cur, "type")) == NULL) {
		snprintf(t->why, t->whylen, "'%s/%s' does not exist in '%s': give "
		    "its type", pg, prop, fmri);
		return KE_INVALID;
	}
	if (secret < 0)
		secret = kipc_json_bool(cur, "secret") == 1;
	if ((wrap = cJSON_CreateObject()) == NULL)
		return oom(t);
	p = cJSON_AddObjectToObject(cJSON_AddObjectToObject(wrap, pg), prop);
	vals = cJSON_Duplicate(kipc_json_arr(op, "values"), 1);
	if (p == NULL || vals == NULL) {
		cJSON_Delete(wrap);
		cJSON_Delete(vals);
		return oom(t);
	}
	if (strcmp(type, "boolean") == 0)
		for (cJSON *v = vals->child, *next; v != NULL; v = next) {
			next = v->next; /* v is freed when replaced */
			if (cJSON_IsString(v) && (strcmp(v->valuestring, "true") == 0 ||
			                             strcmp(v->valuestring, "false") == 0))
				cJSON_ReplaceItemViaPointer(vals, v,
				    cJSON_CreateBool(v->valuestring[0] == 't'));
		}
	cJSON_AddStringToObject(p, "type", type);
	cJSON_AddItemToObject(p, "values", vals);
	if (secret)
		cJSON_AddTrueToObject(p, "secret");
	if (kcfg_pgs_check(wrap, fmri, "", t->why, t->whylen) != 0) {
		cJSON_Delete(wrap);
		return KE_INVALID;
	}
	*out = cJSON_DetachItemFromObjectCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(wrap, pg), prop);
	cJSON_Delete(wrap);
	return *out != NULL ? KE_OK : oom(t);
}

/*
 * A commit's level as layers, bottom up: the service's manifest, the
 * service's admin and the instance's manifest layers (NULL at a service
 * level), then the level's admin layer, which the ops edit.  The lower
 * three are read only (lent from the writer's cache when the commit names
 * its groups); the admin layer is the commit's own copy.
 */
#define LAYERS 4
#define ADMIN  3

static void
layers_free(cJSON **lay)
{
	for (int i = 0; i < LAYERS; i++) {
		cJSON_Delete(lay[i]);
		lay[i] = NULL;
	}
}

/* The level's view with the admin layer as it is now. */
static cJSON *
layers_view(cJSON *const *lay)
{
	return kcfg_view(lay[0], lay[1], lay[2], lay[ADMIN]);
}

/*
 * Does admin[pg][prop] := p change the group's stored text?  1 when the
 * group or the property is new, or the property prints otherwise (stored
 * groups are the printer's text of sorted groups, and a set keeps them
 * sorted); 0 when it prints the same; -1 without memory to tell.
 */
static int
prop_changes(const cJSON *admin, const char *pg, const char *prop,
             const cJSON *p)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(admin, pg);
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(g, prop);
	char        *a, *b;
	int          changed;

	if (g == NULL || old == NULL)
		return 1;
	a = kipc_json_print(old, NULL);
	b = kipc_json_print(p, NULL);
	changed = a == NULL || b == NULL ? -1 : strcmp(a, b) != 0;
	free(a);
	free(b);
	return changed;
}

/*
 * Applies one op to the admin layer.  A set needs only the property it
 * replaces, found through the layers (kcfg_view_prop); the others look at
 * the composed view.
 */
static int
op_apply(tx *t, const char *fmri, const cJSON *op, cJSON **lay)
{
	const char  *kind = kipc_json_str(op, "op");
	const char  *pg = kipc_json_str(op, "pg"), *prop = kipc_json_str(op, "prop");
	cJSON       *admin = lay[ADMIN], *g, *p, *view;
	const cJSON *vg;
	int          ke;

	if (strcmp(kind, "set") == 0) {
		ke = op_set_prop(t, fmri, op, kcfg_view_prop(
		    (const cJSON *const *)lay, LAYERS, pg, prop), &p);
		if (ke != KE_OK)
			return ke;
		if (t->defer) {
			int changes = prop_changes(admin, pg, prop, p);

			if (changes < 0) {
				cJSON_Delete(p);
				return oom(t);
			}
			t->changed_pg = changes ? pg : NULL;
		}
		t->edited = true;
		return admin_put(t, admin, pg, prop, p);
	}
	t->edited = true;
	if (strcmp(kind, "delprop") == 0) {
		if ((view = layers_view(lay)) == NULL)
			return oom(t);
		vg = cJSON_GetObjectItemCaseSensitive(view, pg);
		if (vg == NULL || (prop != NULL &&
		                      cJSON_GetObjectItemCaseSensitive(vg, prop) ==
		                          NULL)) {
			snprintf(t->why, t->whylen, "no property%s '%s%s%s' in '%s'",
			    prop != NULL ? "" : " group", pg, prop != NULL ? "/" : "",
			    prop != NULL ? prop : "", fmri);
			cJSON_Delete(view);
			return KE_NOT_FOUND;
		}
		cJSON_Delete(view);
		if (prop != NULL)
			return admin_put(t, admin, pg, prop, tombstone());
		cJSON_DeleteItemFromObjectCaseSensitive(admin, pg);
		return admin_put(t, admin, pg, KCFG_PG_MASK, tombstone());
	}
	/* delcust: drop admin entries; nothing to drop is no error. */
	g = cJSON_GetObjectItemCaseSensitive(admin, pg);
	if (pg == NULL) {
		cJSON_Delete(admin->child);
		admin->child = NULL;
	} else if (prop == NULL || g == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(admin, pg);
	else {
		cJSON_DeleteItemFromObjectCaseSensitive(g, prop);
		if (g->child == NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(admin, pg);
	}
	return KE_OK;
}

/*
 * A commit that took dirty groups over (kv_take) and failed before any op
 * edited them hands them back to the cache, still dirty: its failure then
 * leaves the batch as it was, like any failure before a write.
 */
static void
untake(tx *t, const char *svc, const char *inst, cJSON *admin)
{
	char   prefix[KEY_MAX];
	size_t plen;
	bool   all = true;

	key_layer(prefix, svc, inst, "admin");
	plen = strlen(prefix);
	for (unsigned i = 0; i < t->ntaken; i++) {
		cJSON *g = strncmp(t->taken[i], prefix, plen) == 0 ?
		    cJSON_GetObjectItemCaseSensitive(admin, t->taken[i] + plen) :
		    NULL;

		if (g == NULL || cache_set_dirty(t, t->taken[i],
		                     cJSON_DetachItemViaPointer(admin, g)) != KE_OK)
			all = false;
	}
	t->ntaken = 0;
	if (all && t->mrc == 0)
		t->wrote = false;
}

/* Refuses the commit if any generation the writer read has moved. */
static int
gens_match(tx *t, const char *fmri, const cJSON *want, const cJSON *have)
{
	for (const cJSON *w = want != NULL ? want->child : NULL; w != NULL;
	     w = w->next) {
		int64_t   g;
		long long h = gen_of(have, w->string);

		if (kipc_json_int64(w, &g) != 0) {
			snprintf(t->why, t->whylen, "generations/%s: expected an "
			    "integer", w->string);
			return KE_INVALID;
		}
		if ((long long)g != h) {
			snprintf(t->why, t->whylen, "property group '%s' of '%s' "
			    "moved from generation %lld to %lld", w->string, fmri,
			    (long long)g, h);
			return KE_CONFLICT;
		}
	}
	return KE_OK;
}

/*
 * The distinct groups ops name, or NULL when one names none (delcust of a
 * whole level) or on failure: then the commit works on whole layers.
 * Composition and the ops work group by group, so a commit that reads and
 * writes only the groups it names does exactly what one over whole layers
 * does, at a cost that does not grow with the service.
 */
static cJSON *
ops_groups(const cJSON *ops)
{
	cJSON *names = cJSON_CreateObject();

	for (const cJSON *op = ops->child; names != NULL && op != NULL;
	     op = op->next) {
		const char *pg = kipc_json_str(op, "pg");

		if (pg == NULL) {
			cJSON_Delete(names);
			return NULL;
		}
		if (cJSON_GetObjectItemCaseSensitive(names, pg) == NULL &&
		    !cJSON_AddItemToObject(names, pg, cJSON_CreateTrue())) {
			cJSON_Delete(names);
			return NULL;
		}
	}
	return names;
}

/*
 * Like layer_get, only the groups named in names (an object).  With lend,
 * the groups are references to values lent by kv_peek (read only, valid
 * while the transaction's fn runs); without, the caller's own (kv_take).
 */
static int
layer_get_some(tx *t, const char *svc, const char *inst, const char *layer,
               const cJSON *names, bool lend, cJSON **pgs)
{
	char prefix[KEY_MAX], k[KEY_MAX];
	int  ke = KE_OK;

	key_layer(prefix, svc, inst, layer);
	if ((*pgs = cJSON_CreateObject()) == NULL)
		return oom(t);
	for (const cJSON *n = names->child; ke == KE_OK && n != NULL;
	     n = n->next) {
		const cJSON *pg;
		cJSON       *own = NULL;

		if (snprintf(k, sizeof(k), "%s%s", prefix, n->string) >=
		    (int)sizeof(k))
			continue; /* cannot exist: stored keys are shorter */
		ke = lend ? kv_peek(t, k, &pg) : kv_take(t, k, &own);
		if (ke == KE_NOT_FOUND) {
			ke = KE_OK;
			continue;
		}
		if (ke != KE_OK)
			break;
		if (lend) {
			if (!cJSON_AddItemReferenceToObject(*pgs, n->string,
			        (cJSON *)pg))
				ke = oom(t);
		} else if (!cJSON_AddItemToObject(*pgs, n->string, own)) {
			cJSON_Delete(own);
			ke = oom(t);
		}
	}
	if (ke != KE_OK) {
		cJSON_Delete(*pgs);
		*pgs = NULL;
	}
	return ke;
}

/*
 * layer_put of the groups in names only: each is written as pgs has it,
 * or deleted when pgs lacks it; the others stay as they are.  Counts a
 * change in the generation of every group whose content moved.  The
 * groups written move from pgs to the writer's cache.
 */
static int
layer_put_some(tx *t, const char *svc, const char *inst, const char *layer,
               const cJSON *names, cJSON *pgs)
{
	char   prefix[KEY_MAX], k[KEY_MAX];
	cJSON *gens = NULL;
	bool   moved = false;
	int    ke = gens_get(t, svc, inst, &gens);

	key_layer(prefix, svc, inst, layer);
	for (const cJSON *n = names->child; ke == KE_OK && n != NULL;
	     n = n->next) {
		cJSON       *g = cJSON_GetObjectItemCaseSensitive(pgs, n->string);
		char        *text = NULL;
		MDB_val      kv, old, nv;
		int          rc;
		bool         sure, was_dirty;

		if (snprintf(k, sizeof(k), "%s%s", prefix, n->string) >=
		    (int)sizeof(k)) {
			snprintf(t->why, t->whylen, "group name '%s' too long",
			    n->string);
			ke = KE_INVALID;
			break;
		}
		/* Dirty groups (kcache): a group this request's set surely
		 * changed, or one it took over dirty, stays in the cache.
		 * LMDB's value cannot tell whether the latter changed: the
		 * set alone can (t->changed_pg). */
		sure = g != NULL && t->changed_pg != NULL &&
		    strcmp(t->changed_pg, n->string) == 0;
		was_dirty = taken_dirty(t, k);
		if (sure || was_dirty) {
			kv = mval(k);
			if (g != NULL)
				ke = cache_set_dirty(t, k,
				    cJSON_DetachItemViaPointer(pgs, g));
			else if ((rc = mdb_del(t->txn, t->dbi, &kv, NULL)) != 0 &&
			    rc != MDB_NOTFOUND)
				ke = mfail(t, rc, "write", k);
			else
				cache_set(t, k, NULL);
			if (ke != KE_OK)
				break;
			if (sure || g == NULL) {
				gen_count(gens, n->string);
				moved = true;
			}
			t->wrote = true;
			continue;
		}
		if ((ke = dirty_put_key(t, k)) != KE_OK)
			break;
		if (g != NULL && (text = kipc_json_print(g, NULL)) == NULL) {
			ke = oom(t);
			break;
		}
		/* Stored groups are this printer's canonical text: equal
		 * bytes, no change. */
		kv = mval(k);
		if ((rc = mdb_get(t->txn, t->dbi, &kv, &old)) != 0 &&
		    rc != MDB_NOTFOUND) {
			free(text);
			ke = mfail(t, rc, "read", k);
			break;
		}
		if ((rc == MDB_NOTFOUND && text == NULL) ||
		    (rc == 0 && text != NULL && old.mv_size == strlen(text) &&
		        memcmp(old.mv_data, text, old.mv_size) == 0)) {
			free(text);
			continue;
		}
		gen_count(gens, n->string);
		moved = true;
		t->wrote = true;
		if (text != NULL) {
			nv = mval(text);
			rc = mdb_put(t->txn, t->dbi, &kv, &nv, 0);
		} else
			rc = mdb_del(t->txn, t->dbi, &kv, NULL);
		free(text);
		if (rc != 0)
			ke = mfail(t, rc, "write", k);
		else
			cache_set(t, k, g != NULL ? cJSON_DetachItemViaPointer(pgs,
			                                g) : NULL);
	}
	if (ke == KE_OK && moved) {
		key_gens(k, svc, inst);
		ke = kv_put_owned(t, k, gens);
		gens = NULL;
	}
	cJSON_Delete(gens);
	return ke;
}

static bool
touches_deps(const cJSON *ops)
{
	for (const cJSON *op = ops->child; op != NULL; op = op->next) {
		const char *pg = kipc_json_str(op, "pg");

		if (pg == NULL || strncmp(pg, "dep_", 4) == 0)
			return true;
	}
	return false;
}

/*
 * A commit's reads: the service and instance exist, the generations the
 * writer read still hold, then the level's layers (LAYERS) -- of the
 * groups in names, or whole when names is NULL.
 */
static int
commit_read(tx *t, req *q, const char *fmri, const cJSON *names, cJSON **lay)
{
	const char *svc = q->svc, *inst = q->inst;
	long long   gen;
	cJSON      *gens = NULL;
	int         ke;

	if ((ke = gen_get(t, svc, &gen)) != KE_OK)
		return ke;
	if (inst[0] != '\0' && (ke = inst_check(t, svc, inst)) != KE_OK)
		return ke;
	if (q->in2 != NULL && q->in2->child != NULL) {
		if ((ke = gens_view(t, svc, inst, &gens)) == KE_OK)
			ke = gens_match(t, fmri, q->in2, gens);
		cJSON_Delete(gens);
		if (ke != KE_OK)
			return ke;
	}
	if (names == NULL) {
		ke = layer_get(t, svc, "", "manifest", &lay[0]);
		if (ke == KE_OK && inst[0] != '\0' &&
		    (ke = layer_get(t, svc, "", "admin", &lay[1])) == KE_OK)
			ke = layer_get(t, svc, inst, "manifest", &lay[2]);
		return ke == KE_OK ? layer_get(t, svc, inst, "admin", &lay[ADMIN])
		                   : ke;
	}
	ke = layer_get_some(t, svc, "", "manifest", names, true, &lay[0]);
	if (ke == KE_OK && inst[0] != '\0' &&
	    (ke = layer_get_some(t, svc, "", "admin", names, true, &lay[1])) ==
	        KE_OK)
		ke = layer_get_some(t, svc, inst, "manifest", names, true, &lay[2]);
	return ke == KE_OK ? layer_get_some(t, svc, inst, "admin", names, false,
	                         &lay[ADMIN])
	                   : ke;
}

static int
do_commit(tx *t, void *arg)
{
	req   *q = arg;
	char   fmri[KCFG_FMRI_MAX];
	cJSON *lay[LAYERS] = { NULL }, *view = NULL, *views = NULL;
	cJSON *names = ops_groups(q->in);
	bool   deps = touches_deps(q->in);
	int    ke;

	req_reset(q);
	kcfg_fmri_format(fmri, sizeof(fmri), q->svc, q->inst);
	/* One set in a direct batch may leave its group dirty (kcache). */
	t->defer = t->ce != NULL && names != NULL && !deps &&
	    q->in->child != NULL && q->in->child->next == NULL &&
	    strcmp(kipc_json_str(q->in->child, "op"), "set") == 0;
	ke = commit_read(t, q, fmri, names, lay);
	for (const cJSON *op = q->in->child; ke == KE_OK && op != NULL;
	     op = op->next)
		ke = op_apply(t, fmri, op, lay);
	/* The level's dependency groups stay whole (those the ops touch,
	 * when they name groups; the layers then hold only those). */
	if (ke == KE_OK && deps) {
		if ((view = layers_view(lay)) == NULL)
			ke = oom(t);
		else if (kcfg_deps_check(view, fmri, t->why, t->whylen) != 0)
			ke = KE_INVALID;
	}
	if (ke == KE_OK)
		ke = names != NULL ? layer_put_some(t, q->svc, q->inst, "admin",
		                         names, lay[ADMIN])
		                   : layer_put(t, q->svc, q->inst, "admin",
		                         lay[ADMIN]);
	if (ke == KE_OK)
		ke = gen_bump(t, q->svc);
	if (ke == KE_OK && deps && (ke = all_views(t, NULL, &views)) == KE_OK &&
	    kcfg_check_cycles(views, t->why, t->whylen) != 0)
		ke = KE_INVALID;
	if (ke == KE_OK && (ke = gens_view(t, q->svc, q->inst, &q->gens)) ==
	                       KE_OK)
		ke = gen_get(t, q->svc, &q->gen);
	if (ke != KE_OK && t->ntaken > 0 && !t->edited && lay[ADMIN] != NULL)
		untake(t, q->svc, q->inst, lay[ADMIN]);
	layers_free(lay);
	cJSON_Delete(view);
	cJSON_Delete(views);
	cJSON_Delete(names);
	return ke;
}

int
krepo_commit(krepo *r, const char *svc, const char *inst, const cJSON *ops,
             const cJSON *gens, long long *generation, cJSON **new_gens,
             char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .in = ops, .in2 = gens };
	int ke = run_write(&r->p, do_commit, &q, true, why, whylen);

	if (ke != KE_OK)
		req_reset(&q);
	*generation = q.gen;
	*new_gens = q.gens;
	q.gens = NULL;
	return ke;
}

/* ---- snapshots and revert --------------------------------------------------------------- */

bool
krepo_snap_reserved(const char *name)
{
	static const char *const fixed[] = { "initial", "last-import", "running",
		"previous", NULL };

	for (int i = 0; fixed[i] != NULL; i++)
		if (strcmp(name, fixed[i]) == 0)
			return true;
	return false;
}

static int
do_snapshot_take(tx *t, void *arg)
{
	req   *q = arg;
	cJSON *pgs = NULL;
	int    ke = inst_check(t, q->svc, q->inst);

	/* "start" records what kstartd started: the running snapshot. */
	if (ke == KE_OK && strcmp(q->snap, "start") == 0) {
		if ((ke = snap_get(t, q->svc, q->inst, "running", &pgs)) ==
		    KE_NOT_FOUND)
			snprintf(t->why, t->whylen, "'svc:/%s:%s' has no running "
			    "snapshot yet", q->svc, q->inst);
	} else if (ke == KE_OK)
		ke = view_get(t, q->svc, q->inst, false, &pgs);
	if (ke == KE_OK)
		ke = snap_put(t, q->svc, q->inst, q->snap, pgs);
	cJSON_Delete(pgs);
	return ke;
}

int
krepo_snapshot_take(krepo *r, const char *svc, const char *inst,
                    const char *name, char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .snap = name };

	return run_write(&r->p, do_snapshot_take, &q, true, why, whylen);
}

static int
collect_name(tx *t, const char *rest, const MDB_val *v, void *arg)
{
	cJSON *n = cJSON_CreateString(rest);

	if (n == NULL)
		return oom(t);
	cJSON_AddItemToArray(arg, n);
	return KE_OK;
}

static int
do_snapshot_list(tx *t, void *arg)
{
	req *q = arg;
	char k[KEY_MAX];
	int  ke = inst_check(t, q->svc, q->inst);

	req_reset(q);
	if (ke != KE_OK)
		return ke;
	if ((q->out = cJSON_CreateArray()) == NULL)
		return oom(t);
	key_snap(k, q->svc, q->inst, "");
	return kv_scan(t, k, collect_name, q->out);
}

int
krepo_snapshot_list(krepo *r, const char *svc, const char *inst,
                    cJSON **names, char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst };

	return run_out(r, do_snapshot_list, &q, names, why, whylen);
}

/*
 * editing := SNAP: the instance's admin layer holds the snapshot's
 * properties and a tombstone for every property below that the snapshot
 * lacks, so that the view equals the snapshot exactly.  Tombstones per
 * property rather than a mask per group, so that `delcust PG/PROP` brings
 * back that one property from below; a whole `delcust` undoes it all.
 */
static int
do_revert(tx *t, void *arg)
{
	req   *q = arg;
	cJSON *snap = NULL, *lower = NULL, *admin = NULL;
	int    ke = inst_check(t, q->svc, q->inst);

	if (ke == KE_OK &&
	    (ke = snap_get(t, q->svc, q->inst, q->snap, &snap)) == KE_NOT_FOUND)
		snprintf(t->why, t->whylen, "no snapshot '%s' of 'svc:/%s:%s'",
		    q->snap, q->svc, q->inst);
	if (ke == KE_OK)
		ke = lower_get(t, q->svc, q->inst, &lower);
	if (ke == KE_OK && (admin = cJSON_Duplicate(snap, 1)) == NULL)
		ke = oom(t);
	for (cJSON *g = lower != NULL ? lower->child : NULL;
	     ke == KE_OK && g != NULL; g = g->next) {
		const cJSON *sg = cJSON_GetObjectItemCaseSensitive(snap, g->string);

		for (cJSON *p = g->child; ke == KE_OK && p != NULL; p = p->next)
			if (cJSON_GetObjectItemCaseSensitive(sg, p->string) == NULL)
				ke = admin_put(t, admin, g->string, p->string,
				    tombstone());
	}
	if (ke == KE_OK)
		ke = layer_put(t, q->svc, q->inst, "admin", admin);
	if (ke == KE_OK)
		ke = gen_bump(t, q->svc);
	if (ke == KE_OK)
		ke = gen_get(t, q->svc, &q->gen);
	cJSON_Delete(snap);
	cJSON_Delete(lower);
	cJSON_Delete(admin);
	return ke;
}

int
krepo_revert(krepo *r, const char *svc, const char *inst, const char *snap,
             long long *generation, char *why, size_t whylen)
{
	req q = { .svc = svc, .inst = inst, .snap = snap };
	int ke = run_write(&r->p, do_revert, &q, true, why, whylen);

	*generation = q.gen;
	return ke;
}

/* ---- group commit ------------------------------------------------------------------------ */

/*
 * Grows the map ahead when more than half of it is in use, so that a batch
 * rarely meets MDB_MAP_FULL (only possible with no transaction open).
 */
static void
grow_ahead(kvenv *e)
{
	MDB_envinfo info;
	MDB_stat    st;

	if (mdb_env_info(e->env, &info) != 0 || mdb_env_stat(e->env, &st) != 0)
		return;
	if ((size_t)(info.me_last_pgno + 1) * st.ms_psize > e->mapsize / 2 ||
	    e->grow)
		grow(e);
	e->full = e->grow = false;
}

/*
 * LMDB reports a short page write as EIO (mdb_page_flush), which is what a
 * full filesystem produces: name that cause when the repository's
 * filesystem has less than 1 MiB left, so the operator knows what to free.
 */
static const char *
commit_cause(kvenv *e, int rc)
{
	struct statvfs   sv;
	mdb_filehandle_t fd;

	if ((rc == EIO || rc == ENOSPC) && mdb_env_get_fd(e->env, &fd) == 0 &&
	    fstatvfs(fd, &sv) == 0 &&
	    (unsigned long long)sv.f_bavail * sv.f_frsize < (1ull << 20))
		return strerror(ENOSPC);
	return mdb_strerror(rc);
}

int
krepo_batch_begin(krepo *r, bool nested, char *why, size_t whylen)
{
	int rc;

	grow_ahead(&r->p);
	r->p.txn_bytes = 0;
	r->p.nested = nested;
	r->p.poisoned = false;
	if ((rc = mdb_txn_begin(r->p.env, NULL, 0, &r->p.batch)) != 0) {
		r->p.batch = NULL;
		snprintf(why, whylen, "unable to begin a transaction on '%s': %s",
		    r->p.name, mdb_strerror(rc));
		return KE_INTERNAL;
	}
	return KE_OK;
}

bool
krepo_batch_full(krepo *r)
{
	return r->p.full;
}

bool
krepo_batch_poisoned(krepo *r)
{
	return r->p.poisoned;
}

void
krepo_batch_abort(krepo *r)
{
	if (r->p.batch != NULL)
		mdb_txn_abort(r->p.batch);
	r->p.batch = NULL;
	r->p.poisoned = r->p.nested = false;
	cache_clear(&r->p, NULL);
	cJSON_Delete(r->p.events);
	r->p.events = NULL;
}

int
krepo_batch_flush(krepo *r, char *why, size_t whylen)
{
	return batch_put_dirty(&r->p, why, whylen);
}

int
krepo_batch_end(krepo *r, char *why, size_t whylen)
{
	int rc;

	if (r->p.batch == NULL)
		return KE_OK;
	/* Normally done by krepo_batch_flush, which can still go round. */
	if (batch_put_dirty(&r->p, why, whylen) != KE_OK) {
		krepo_batch_abort(r);
		return KE_INTERNAL;
	}
	rc = mdb_txn_commit(r->p.batch);
	r->p.batch = NULL;
	r->p.nested = false;
	if (r->p.txn_bytes > r->p.peak_bytes)
		r->p.peak_bytes = r->p.txn_bytes;
	if (rc != 0) {
		cache_clear(&r->p, NULL);
		snprintf(why, whylen, "unable to commit '%s': %s", r->p.name,
		    commit_cause(&r->p, rc));
		cJSON_Delete(r->p.events);
		r->p.events = NULL;
		if (rc == MDB_MAP_FULL)
			r->p.grow = true;
		return KE_INTERNAL;
	}
	return KE_OK;
}

cJSON *
krepo_take_events(krepo *r)
{
	cJSON *e = r->p.events;

	r->p.events = NULL;
	return e;
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

/* q->in: an object FMRI (canonical) -> state; one transaction for all. */
static int
do_state_put_many(tx *t, void *arg)
{
	req         *q = arg;
	const cJSON *it;
	int          ke = KE_OK;

	cJSON_ArrayForEach(it, q->in) {
		char k[KEY_MAX];

		snprintf(k, sizeof(k), "state/%s", it->string);
		if ((ke = kv_put(t, k, it)) != KE_OK)
			break;
	}
	return ke;
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
krepo_state_put_many(krepo *r, const cJSON *states, char *why, size_t whylen)
{
	req q = { .in = states };

	return run_write(&r->v, do_state_put_many, &q, true, why, whylen);
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

/* ---- known-good copies: backup, check, restore ---------------------------------------------- */

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The backup file names in dir, sorted oldest first; *n of them. */
static char **
backups_list(const char *dir, int *n)
{
	DIR           *d = opendir(dir);
	struct dirent *e;
	char         **names = NULL, **grown;
	int            cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (strncmp(e->d_name, "repo-", 5) != 0 || len < 9 ||
		    strcmp(e->d_name + len - 4, ".mdb") != 0)
			continue;
		if (*n == cap) {
			cap = cap != 0 ? cap * 2 : 16;
			if ((grown = realloc(names, (size_t)cap * sizeof(*names))) ==
			    NULL)
				break;
			names = grown;
		}
		if ((names[*n] = strdup(e->d_name)) != NULL)
			(*n)++;
	}
	closedir(d);
	if (names != NULL)
		qsort(names, (size_t)*n, sizeof(*names), cmp_name);
	return names;
}

static void
names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
krepo_backup(krepo *r, char *path, size_t pathlen, long long *bytes,
             char *why, size_t whylen)
{
	char           dir[512], tmp[600], name[64], stamp[32];
	struct timeval tv;
	struct tm      tm;
	struct stat    st;
	char         **names;
	int            fd, rc, n;

	snprintf(dir, sizeof(dir), "%s/backups", r->state_dir);
	if (kipc_mkdirs(dir, 0700) != 0) {
		snprintf(why, whylen, "unable to create '%s': %s", dir,
		    strerror(errno));
		return KE_INTERNAL;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(name, sizeof(name), "repo-%s.%06ldZ.mdb", stamp,
	    (long)tv.tv_usec);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
	snprintf(path, pathlen, "%s/%s", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, whylen, "unable to create '%s': %s", tmp,
		    strerror(errno));
		return KE_INTERNAL;
	}
	rc = mdb_env_copyfd2(r->p.env, fd, MDB_CP_COMPACT);
	if (rc == 0 && fsync(fd) != 0)
		rc = errno;
	if (rc == 0 && fstat(fd, &st) == 0)
		*bytes = (long long)st.st_size;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = errno;
	if (rc != 0) {
		snprintf(why, whylen, "unable to write '%s': %s", path,
		    mdb_strerror(rc));
		unlink(tmp);
		return KE_INTERNAL;
	}
	fsync_dir(dir);
	/* Keep the newest KREPO_BACKUPS_KEEP. */
	if ((names = backups_list(dir, &n)) != NULL) {
		for (int i = 0; i < n - KREPO_BACKUPS_KEEP; i++) {
			snprintf(tmp, sizeof(tmp), "%s/%s", dir, names[i]);
			unlink(tmp);
		}
		names_free(names, n);
	}
	return KE_OK;
}

typedef struct check_ctx {
	cJSON *problems;
	long   keys;
	bool   version;
} check_ctx;

static void
problem(check_ctx *c, const char *key, size_t klen, const char *what)
{
	cJSON *p;

	if (cJSON_GetArraySize(c->problems) >= 100)
		return;
	if ((p = cJSON_CreateObject()) == NULL)
		return;
	/* Keys hold names only; a value (maybe secret) is never quoted. */
	{
		char k[KEY_MAX];

		snprintf(k, sizeof(k), "%.*s", (int)(klen < KEY_MAX - 1 ? klen
		                                                       : KEY_MAX - 1),
		    key);
		for (char *s = k; *s != '\0'; s++)
			if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
				*s = '?';
		cJSON_AddStringToObject(p, "key", k);
	}
	cJSON_AddStringToObject(p, "problem", what);
	cJSON_AddItemToArray(c->problems, p);
}

/* One key: a known shape, a JSON object value. */
static void
check_one(check_ctx *c, const MDB_val *k, const MDB_val *v)
{
	const char *key = k->mv_data;
	cJSON      *j;

	c->keys++;
	if (k->mv_size >= 7 && memcmp(key, "meta/", 5) == 0) {
		if (k->mv_size == 12 && memcmp(key, "meta/version", 12) == 0)
			c->version = true;
	} else if (k->mv_size < 5 || (memcmp(key, "svc/", 4) != 0 &&
	                                 memcmp(key, "state", 5) != 0)) {
		problem(c, key, k->mv_size, "unknown key");
		return;
	}
	j = cJSON_ParseWithLength(v->mv_data, v->mv_size);
	if (j == NULL || !cJSON_IsObject(j))
		problem(c, key, k->mv_size, "value is not a JSON object");
	cJSON_Delete(j);
}

static int
do_check(tx *t, void *arg)
{
	check_ctx  *c = arg;
	MDB_cursor *cur;
	MDB_val     k, v;
	int         rc;

	if ((rc = dirty_put_all(t)) != KE_OK)
		return rc;
	if ((rc = mdb_cursor_open(t->txn, t->dbi, &cur)) != 0)
		return mfail(t, rc, "scan", "repository");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		check_one(c, &k, &v);
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return mfail(t, rc, "scan", "repository");
	if (!c->version)
		problem(c, "meta/version", 12, "missing");
	return KE_OK;
}

/* Walks every key of the persistent store; *problems is [] when clean. */
static int
check_env(kvenv *e, cJSON **problems, long *keys, char *why, size_t whylen)
{
	check_ctx c = { .problems = cJSON_CreateArray() };
	int       ke;

	if (c.problems == NULL) {
		snprintf(why, whylen, "out of memory");
		return KE_INTERNAL;
	}
	ke = run_read(e, do_check, &c, why, whylen);
	if (ke != KE_OK) {
		cJSON_Delete(c.problems);
		return ke;
	}
	*problems = c.problems;
	*keys = c.keys;
	return KE_OK;
}

int
krepo_check(krepo *r, cJSON **problems, long *keys, char *why, size_t whylen)
{
	return check_env(&r->p, problems, keys, why, whylen);
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
	if (dir != e->dir)
		snprintf(e->dir, sizeof(e->dir), "%s", dir);
	e->flags = flags;
	e->peak_bytes = 0;
	if ((rc = mdb_env_create(&e->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env,
	         e->mapsize > MAP_INITIAL ? e->mapsize : MAP_INITIAL)) != 0)
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

/*
 * Opens, stamps and checks the persistent store in pdir.  0, or -1 with
 * *dexit and why (the environment closed again).
 */
static void env_drop_map_pages(kvenv *e);

static int
open_persistent(krepo *r, const char *pdir, bool check, int *dexit, char *why,
                size_t whylen)
{
	cJSON *problems = NULL;
	long   keys = 0;
	int    rc;

	if ((rc = env_open(&r->p, pdir, 0, why, whylen)) != 0) {
		*dexit = open_exit(rc, KEXIT_STATEDIR);
		return -1;
	}
	*dexit = KEXIT_REPO;
	if (run_write(&r->p, do_format, NULL, true, why, whylen) != KE_OK ||
	    (check && check_env(&r->p, &problems, &keys, why, whylen) != KE_OK))
		goto fail;
	/* The check read every page through the map: those pages would stay
	 * in this process's share of memory (at 1000 services, 7 MiB) until
	 * the next reopen.  Drop them from the map (not from the cache). */
	if (check)
		env_drop_map_pages(&r->p);
	if (cJSON_GetArraySize(problems) > 0) {
		snprintf(why, whylen, "%d problem(s) in '%s', the first '%s': %s",
		    cJSON_GetArraySize(problems), pdir,
		    kipc_json_str(problems->child, "key"),
		    kipc_json_str(problems->child, "problem"));
		goto fail;
	}
	cJSON_Delete(problems);
	cJSON_Delete(r->p.events); /* the format stamp's, if any */
	r->p.events = NULL;
	return 0;
fail:
	cJSON_Delete(problems);
	mdb_env_close(r->p.env);
	r->p.env = NULL;
	return -1;
}

/* Copies file src to dst (created 0600) and syncs it. */
static int
copy_file(const char *src, const char *dst)
{
	char    buf[65536];
	ssize_t n = 0;
	int     in = open(src, O_RDONLY | O_CLOEXEC), out, rc = 0;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while (rc == 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			rc = -1;
	if (n < 0 || fsync(out) != 0)
		rc = -1;
	close(in);
	close(out);
	return rc;
}

/*
 * The repository in pdir is unusable (broken says why): moves it aside to
 * pdir.broken-TIME and opens the newest backup that opens and checks
 * clean, loudly.  If none does, the broken one is put back and -1 returned.
 */
static int
restore_backup(krepo *r, const char *pdir, const char *broken)
{
	char   dir[512], aside[600], src[1024], dst[600], why[KCFG_ERR_MAX];
	char **names;
	int    n, dexit, done = -1;

	snprintf(dir, sizeof(dir), "%s/backups", r->state_dir);
	if ((names = backups_list(dir, &n)) == NULL || n == 0) {
		names_free(names, n);
		return -1;
	}
	snprintf(aside, sizeof(aside), "%s.broken-%ld", pdir, (long)time(NULL));
	if (rename(pdir, aside) != 0) {
		klog_err("unable to move '%s' aside: %s", pdir, strerror(errno));
		names_free(names, n);
		return -1;
	}
	for (int i = n - 1; i >= 0 && done != 0; i--) {
		snprintf(src, sizeof(src), "%s/%s", dir, names[i]);
		snprintf(dst, sizeof(dst), "%s/data.mdb", pdir);
		if (kipc_mkdirs(pdir, 0700) != 0 || copy_file(src, dst) != 0) {
			klog_err("unable to copy backup '%s': %s", src,
			    strerror(errno));
			continue;
		}
		if ((done = open_persistent(r, pdir, true, &dexit, why, sizeof(why))) ==
		    0) {
			klog_err("repository unusable (%s); restored backup '%s'; the "
			         "unusable one is kept in '%s'", broken, src, aside);
			break;
		}
		klog_err("unable to use backup '%s': %s", src, why);
		unlink(dst);
		snprintf(dst, sizeof(dst), "%s/lock.mdb", pdir);
		unlink(dst);
	}
	if (done != 0) {
		snprintf(dst, sizeof(dst), "%s/lock.mdb", pdir);
		unlink(dst);
		rmdir(pdir);
		if (rename(aside, pdir) != 0)
			klog_err("unable to move '%s' back: %s", aside,
			    strerror(errno));
	}
	fsync_dir(r->state_dir);
	names_free(names, n);
	return done;
}

/* Growth must not starve behind a steady stream of readers. */
static void
maplock_init(kvenv *e)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&e->maplock, &a);
	pthread_rwlockattr_destroy(&a);
}

static int
repo_open(krepo **rp, const char *state_dir, const char *run_dir, bool check,
          int *dexit, char *why, size_t whylen);

int
krepo_open(krepo **rp, const char *state_dir, const char *run_dir,
           int *dexit, char *why, size_t whylen)
{
	return repo_open(rp, state_dir, run_dir, true, dexit, why, whylen);
}

int
krepo_open_checked(krepo **rp, const char *state_dir, const char *run_dir,
                   int *dexit, char *why, size_t whylen)
{
	return repo_open(rp, state_dir, run_dir, false, dexit, why, whylen);
}

static int
repo_open(krepo **rp, const char *state_dir, const char *run_dir, bool check,
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
	maplock_init(&r->p);
	maplock_init(&r->v);
	pthread_mutex_init(&r->vmu, NULL);
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", state_dir);
	if (kipc_path_join(pdir, sizeof(pdir), state_dir, "repo") != 0 ||
	    kipc_path_join(vdir, sizeof(vdir), run_dir, "volatile") != 0) {
		snprintf(why, whylen, "unable to open the repository: path too "
		                      "long");
		*dexit = KEXIT_STATEDIR;
		goto fail;
	}
	if (open_persistent(r, pdir, check, dexit, why, whylen) != 0 &&
	    (*dexit != KEXIT_REPO || restore_backup(r, pdir, why) != 0))
		goto fail;
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

/*
 * LMDB keeps every page a write transaction dirtied on a free list of its
 * own for the next one, and only mdb_env_close gives them back: after the
 * boot import of 1000 services that is about 6 MiB of heap held for good
 * (heaptrack: mdb_page_malloc).  Closing and opening the environment again
 * once idle returns them.  Nothing is lost by it: every write was
 * committed, no transaction is open (maplock held exclusively), and the map
 * keeps its grown size.
 */
typedef struct reopen {
	kvenv *e;
	char  *why;
	size_t whylen;
	int    rc;
} reopen;

static void *
reopen_run(void *arg)
{
	reopen *o = arg;

	o->rc = env_open(o->e, o->e->dir, o->e->flags, o->why, o->whylen);
	return NULL;
}

/*
 * The environment is opened again on a thread of its own: mdb_env_open
 * callocs 2 MiB and mallocs 1 MiB, which on this thread would be cut from
 * the freed space the big write left in the heap and zeroed there, every
 * page of it resident.  A new thread's arena has no such space, so glibc
 * maps them afresh and only the pages LMDB uses become resident.
 */
/*
 * Can the process open what opening an environment takes (its data file,
 * its lock file, the data file again for synchronous meta writes)?  At
 * the descriptor limit a release would close the environment for good,
 * and kconfigd would have to exit; it keeps the environment instead.
 */
static bool
fds_to_reopen(void)
{
	int  fd[3], n = 0;
	bool ok = true;

	while (ok && n < 3)
		ok = (fd[n++] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
	while (n > 0)
		if (fd[--n] >= 0)
			close(fd[n]);
	return ok;
}

static int
env_release(kvenv *e, char *why, size_t whylen)
{
	reopen    o = { .e = e, .why = why, .whylen = whylen, .rc = -1 };
	pthread_t th;

	if (e->env == NULL || e->batch != NULL ||
	    e->peak_bytes < RELEASE_BYTES || !fds_to_reopen())
		return KE_OK;
	pthread_rwlock_wrlock(&e->maplock);
	mdb_env_close(e->env);
	e->env = NULL;
	if (pthread_create(&th, NULL, reopen_run, &o) == 0)
		pthread_join(th, NULL);
	else
		reopen_run(&o);
	pthread_rwlock_unlock(&e->maplock);
	return o.rc == 0 ? KE_OK : KE_INTERNAL;
}

/* Empties the view cache and the memo (they fill again on demand). */
static void
caches_drop(krepo *r)
{
	pthread_mutex_lock(&r->vmu);
	for (int i = 0; i < VIEW_CACHE; i++) {
		cJSON_Delete(r->vc[i].gens);
		cJSON_Delete(r->vc[i].pgs);
		r->vc[i] = (vcache) { .txnid = 0 };
		free(r->memo[i].key);
		free(r->memo[i].text);
		r->memo[i] = (memo) { .key = NULL };
	}
	pthread_mutex_unlock(&r->vmu);
}

/*
 * Drops the pages reads have touched from the environment's map (not from
 * the page cache: the next read faults them in again).  A map is shared
 * and read-only, so this is safe beside readers on other threads; the
 * lock only keeps a growth's remap away.  Pages in the map count in the
 * process's memory: one state.list of 1000 states is 400 KiB of them.
 */
static void
env_drop_map_pages(kvenv *e)
{
	char  real[PATH_MAX], path[PATH_MAX + 16], line[PATH_MAX + 128];
	FILE *f;

	/* LMDB tells a map's address only for MDB_FIXEDMAP: find it by file
	 * (as the kernel names it: resolved) in our own mappings. */
	if (realpath(e->dir, real) == NULL ||
	    snprintf(path, sizeof(path), "%s/data.mdb", real) >=
	        (int)sizeof(path) ||
	    (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	pthread_rwlock_rdlock(&e->maplock);
	while (e->env != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char         *name = strchr(line, '/');
		size_t        n = name != NULL ? strcspn(name, "\n") : 0;

		if (name == NULL || n != strlen(path) ||
		    strncmp(name, path, n) != 0 ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
	}
	pthread_rwlock_unlock(&e->maplock);
	fclose(f);
}

int
krepo_release(krepo *r, char *why, size_t whylen)
{
	bool big = r->p.peak_bytes >= RELEASE_BYTES ||
	           r->v.peak_bytes >= RELEASE_BYTES;
	int  ke;

	cache_clear(&r->p, NULL); /* idle: the next burst fills it again */
	pbuf_free();
	ke = env_release(&r->p, why, whylen);

	if (ke == KE_OK)
		ke = env_release(&r->v, why, whylen);
	env_drop_map_pages(&r->p);
	env_drop_map_pages(&r->v);
	/* Their small entries, made amid a big write's garbage, would pin
	 * its heap pages: malloc_trim can give back only whole free pages. */
	if (big)
		caches_drop(r);
	return ke;
}

void
krepo_close(krepo *r)
{
	if (r == NULL)
		return;
	if (r->p.batch != NULL)
		mdb_txn_abort(r->p.batch);
	cache_clear(&r->p, NULL);
	pbuf_free();
	cJSON_Delete(r->p.events);
	cJSON_Delete(r->v.events);
	if (r->p.env != NULL)
		mdb_env_close(r->p.env);
	if (r->v.env != NULL)
		mdb_env_close(r->v.env);
	pthread_rwlock_destroy(&r->p.maplock);
	pthread_rwlock_destroy(&r->v.maplock);
	for (int i = 0; i < VIEW_CACHE; i++) {
		cJSON_Delete(r->vc[i].gens);
		cJSON_Delete(r->vc[i].pgs);
		free(r->memo[i].key);
		free(r->memo[i].text);
	}
	pthread_mutex_destroy(&r->vmu);
	free(r);
}
