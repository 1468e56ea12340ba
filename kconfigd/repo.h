/*
 * repo.h -- the repository: the only code in SystemK that touches LMDB.
 *
 * Two LMDB environments:
 *   persistent  SYSTEMK_STATE_DIR/repo/     durable commits (fsync before a
 *               reply), the services' layers and snapshots;
 *   volatile    SYSTEMK_RUN_DIR/volatile/   MDB_NOSYNC: restarter state that
 *               survives a daemon crash (the pages are in the kernel) but
 *               not a reboot (the run dir is a tmpfs).
 *
 * Key layout (persistent; '/' never occurs in a name, so every prefix scan
 * ends with '/' and "svc/web/" cannot match "svc/web2/"):
 *
 *   meta/version                         {"version": 1}
 *   svc/NAME/                            {"generation": G}  (the service exists)
 *   svc/NAME/pg/LAYER/PG                 service-level group, LAYER manifest|admin
 *   svc/NAME/i/INST/                     {}                 (the instance exists)
 *   svc/NAME/i/INST/pg/LAYER/PG          instance-level group
 *   svc/NAME/i/INST/snap/SNAP            {"property_groups": {...}}
 *                                        SNAP initial|last-import|running|previous
 *                                        |start|NAME
 *   svc/NAME/gens, svc/NAME/i/INST/gens  {PG: G}: per-group generations of a
 *                                        level, counting changes of any layer
 *                                        (an instance reader sees the sum of
 *                                        both levels')
 *
 * Admin layers may hold tombstones (manifest.h: KCFG_PG_MASK); every view
 * resolves them.  Backups: STATE_DIR/backups/repo-TIME.mdb (compacted).
 * Volatile:
 *   state/svc:/NAME:INST                 the restarter's object for the instance
 *
 * A group is stored as its canonical JSON text {PROP: {"type", "values"...}};
 * a snapshot as one value (snapshots are read and replaced whole).  The
 * generation of a service counts its committed changes; issue 3's
 * transactions compare it.  Every request is one write transaction; on
 * MDB_MAP_FULL the transaction is aborted, the map doubled and the request
 * run again from the start, so request functions must be re-runnable.
 *
 * All functions return a kproto_err (KE_OK is 0) with a message in why on
 * failure; returned cJSON values belong to the caller.
 *
 * Threads: everything runs on the daemon's loop, except that the readers
 * krepo_get, krepo_get_gens and krepo_state_get may also run on other
 * threads at the same time (kconfigd serves repo.get and state.get on
 * nng's threads): they use their own read transaction (MDB_NOTLS), and map
 * growth waits for them.
 */
#ifndef SYSTEMK_KCONFIGD_REPO_H
#define SYSTEMK_KCONFIGD_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "manifest.h"

#define KREPO_FORMAT       1 /* meta/version this code reads and writes */
#define KREPO_BACKUPS_KEEP 5 /* newest backups kept in STATE_DIR/backups */

typedef struct krepo krepo;

/*
 * Opens (creating as needed) STATE_DIR/repo/ and RUN_DIR/volatile/, and
 * checks the repository (krepo_check).  An unusable one is moved aside and
 * the newest good backup restored, with an error line in the log.  Fails
 * with KE_UNAVAILABLE and *dexit set to KEXIT_STATEDIR, KEXIT_RUNDIR or
 * KEXIT_REPO (proto.h) for the caller to exit with.
 */
int  krepo_open(krepo **rp, const char *state_dir, const char *run_dir,
                int *dexit, char *why, size_t whylen);
/* krepo_open without the check: for a repository this process family has
 * just checked and written (kconfigd after its boot import). */
int  krepo_open_checked(krepo **rp, const char *state_dir,
                        const char *run_dir, int *dexit, char *why,
                        size_t whylen);
void krepo_close(krepo *r);

/*
 * Writes the manifest layer of the n services in one transaction (never
 * touching an admin layer), creates their new instances, records the
 * snapshots initial (first import) and last-import (the manifest layer
 * alone), and refreshes every instance of each whose editing view differs
 * from its running snapshot.  Refused with KE_INVALID, writing nothing, if
 * the repository would then hold a dependency cycle.  dry_run checks and
 * writes nothing.  *result: {"services": [NAME...], "instances": [FMRI...],
 * "refreshed": [FMRI...]}.
 */
int krepo_import(krepo *r, const kcfg_service *svcs, int n, bool dry_run,
                 cJSON **result, char *why, size_t whylen);

/*
 * The groups of svc:/svc:inst: the editing view, or with running the
 * running snapshot.  inst "" gives the service-level groups (admin over
 * manifest).  *generation is the service's.  Fails with KE_NOT_FOUND.
 */
int krepo_get(krepo *r, const char *svc, const char *inst, bool running,
              cJSON **pgs, long long *generation, char *why, size_t whylen);

/*
 * krepo_get with a snapshot by name (NULL: the editing view) and the group
 * generations of the level ({PG: G}; gens may be NULL).
 */
int krepo_get_gens(krepo *r, const char *svc, const char *inst,
                   const char *snap, cJSON **pgs, long long *generation,
                   cJSON **gens, char *why, size_t whylen);

/* The groups of snapshot snap (initial, last-import, running, previous). */
int krepo_snapshot(krepo *r, const char *svc, const char *inst,
                   const char *snap, cJSON **pgs, char *why, size_t whylen);

/*
 * A memo of printed replies, valid while the repository does not change:
 * krepo_txnid() is the id of the last committed transaction;
 * krepo_memo_put() stores text under key as read at txnid (taken with
 * krepo_txnid() before the read); krepo_memo_get() returns a copy of it
 * (caller frees) only while no transaction has committed since, else NULL.
 * Bounded (a few dozen entries, KREPO_MEMO_MAX bytes each).  Thread-safe.
 */
#define KREPO_MEMO_MAX (64 * 1024)
unsigned long long krepo_txnid(krepo *r);
char *krepo_memo_get(krepo *r, const char *key);
void  krepo_memo_put(krepo *r, const char *key, unsigned long long txnid,
                     const char *text);

/* [{"fmri", "service", "instance"}...] in key order. */
int krepo_list(krepo *r, cJSON **instances, char *why, size_t whylen);
/*
 * {FMRI: {"property_groups": {...}}} of every running snapshot.  With raw,
 * each value is a cJSON raw item holding the stored text (secrets
 * included): for a reply that is printed as it is, to a privileged peer.
 */
int krepo_running(krepo *r, bool raw, cJSON **instances, char *why,
                  size_t whylen);
/*
 * [manifest...] (kcfg_manifest_export form, admin over manifest at each
 * level, secrets included: the caller strips them) for svc or, NULL, all.
 */
int krepo_export(krepo *r, const char *svc, cJSON **services, char *why,
                 size_t whylen);

/* Admin-layer general/enabled of the instance, and the same in running. */
int krepo_set_enabled(krepo *r, const char *svc, const char *inst,
                      bool enabled, char *why, size_t whylen);
/*
 * previous := running, running := editing view, for the instance or, inst
 * "", every instance of svc.  *refreshed gets their FMRIs.
 */
int krepo_refresh(krepo *r, const char *svc, const char *inst,
                  cJSON **refreshed, char *why, size_t whylen);

/*
 * One transaction of admin-layer edits at one level (inst "" for the
 * service level), all or nothing.  ops: [{"op": "set"|"delprop"|"delcust",
 * "pg", "prop", "type", "values", "secret"}...], shapes checked by the
 * caller.  set: type omitted takes the existing property's (KE_INVALID when
 * there is none); values checked like an import's.  delprop: a tombstone
 * for the property or the whole group (KE_NOT_FOUND if the view lacks it).
 * delcust: drops admin entries of the level, a group or a property.
 * gens {PG: G} (may be NULL): KE_CONFLICT if any group's generation moved.
 * Refused with KE_INVALID if it would make a dependency cycle.
 * *generation: the service's after; *new_gens the level's {PG: G}.
 */
int krepo_commit(krepo *r, const char *svc, const char *inst, const cJSON *ops,
                 const cJSON *gens, long long *generation, cJSON **new_gens,
                 char *why, size_t whylen);

/* initial, last-import, running, previous: not takeable by name. */
bool krepo_snap_reserved(const char *name);
/*
 * Records snapshot name of an instance: the editing view, or for "start"
 * the running snapshot (what kstartd started).
 */
int krepo_snapshot_take(krepo *r, const char *svc, const char *inst,
                        const char *name, char *why, size_t whylen);
/* [NAME...] of an instance's snapshots. */
int krepo_snapshot_list(krepo *r, const char *svc, const char *inst,
                        cJSON **names, char *why, size_t whylen);
/* editing := snapshot snap, in the instance's admin layer; no refresh. */
int krepo_revert(krepo *r, const char *svc, const char *inst,
                 const char *snap, long long *generation, char *why,
                 size_t whylen);

/*
 * Group commit.  Between begin and end every write runs in one parent
 * transaction, and end commits it with one fsync.  Replies must wait for
 * end; when end fails, no write of the batch happened.
 *
 * Without nested, writes run in the parent itself.  One that fails before
 * writing leaves the batch as it was; one that fails after a write makes
 * krepo_batch_poisoned() true: krepo_batch_abort() the batch and run the
 * same requests again in one begun with nested, where each write runs in
 * a nested transaction and a failing one aborts only itself.
 *
 * A write that meets a full map in a nested batch fails with KE_BUSY and
 * krepo_batch_full() turns true: end the batch and run the rest in the
 * next (begin grows the map first).
 *
 * A direct batch may hold groups its commits changed in memory only
 * (repo.c: dirty groups); krepo_batch_flush() puts them, and when that
 * fails the batch is poisoned like a failed write: abort, run it nested.
 * end flushes too, but then can only fail the whole batch.
 */
int    krepo_batch_begin(krepo *r, bool nested, char *why, size_t whylen);
int    krepo_batch_flush(krepo *r, char *why, size_t whylen);
int    krepo_batch_end(krepo *r, char *why, size_t whylen);
bool   krepo_batch_full(krepo *r);
bool   krepo_batch_poisoned(krepo *r);
/* Drops the batch: its writes and its events. */
void   krepo_batch_abort(krepo *r);
/* The events of committed writes since the last call, [...] or NULL. */
cJSON *krepo_take_events(krepo *r);

/*
 * Gives LMDB's cached dirty pages back once a transaction wrote more than
 * RELEASE_BYTES (by closing and opening the environments again).  Only
 * between batches, on the thread that writes.  Fails only when an
 * environment cannot be opened again: then the repository is closed and
 * kconfigd must exit (its data is committed and safe).
 */
int krepo_release(krepo *r, char *why, size_t whylen);

/*
 * A compacted copy of the persistent store into STATE_DIR/backups/
 * (repo-TIME.mdb, synced, renamed into place), keeping the newest
 * KREPO_BACKUPS_KEEP.  Not inside a batch.
 */
int krepo_backup(krepo *r, char *path, size_t pathlen, long long *bytes,
                 char *why, size_t whylen);
/*
 * Walks every key: known shape, JSON object value, meta/version present.
 * *problems: [{"key", "problem"}...], empty when clean.
 */
int krepo_check(krepo *r, cJSON **problems, long *keys, char *why,
                size_t whylen);

/* The volatile namespace, by canonical instance FMRI. */
int krepo_state_put(krepo *r, const char *fmri, const cJSON *state,
                    char *why, size_t whylen);
int krepo_state_get(krepo *r, const char *fmri, cJSON **state, char *why,
                    size_t whylen);
int krepo_state_list(krepo *r, cJSON **states, char *why, size_t whylen);
/* Every member of states (canonical FMRI -> state) in one transaction. */
int krepo_state_put_many(krepo *r, const cJSON *states, char *why,
                         size_t whylen);

#endif /* SYSTEMK_KCONFIGD_REPO_H */
