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
 */
#ifndef SYSTEMK_KCONFIGD_REPO_H
#define SYSTEMK_KCONFIGD_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "manifest.h"

#define KREPO_FORMAT 1 /* meta/version this code reads and writes */

typedef struct krepo krepo;

/*
 * Opens (creating as needed) STATE_DIR/repo/ and RUN_DIR/volatile/.  Fails
 * with KE_UNAVAILABLE and *dexit set to KEXIT_STATEDIR, KEXIT_RUNDIR or
 * KEXIT_REPO (proto.h) for the caller to exit with.
 */
int  krepo_open(krepo **rp, const char *state_dir, const char *run_dir,
                int *dexit, char *why, size_t whylen);
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

/* The groups of snapshot snap (initial, last-import, running, previous). */
int krepo_snapshot(krepo *r, const char *svc, const char *inst,
                   const char *snap, cJSON **pgs, char *why, size_t whylen);

/* [{"fmri", "service", "instance"}...] in key order. */
int krepo_list(krepo *r, cJSON **instances, char *why, size_t whylen);
/* {FMRI: {"property_groups": {...}}} of every running snapshot. */
int krepo_running(krepo *r, cJSON **instances, char *why, size_t whylen);
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

/* The volatile namespace, by canonical instance FMRI. */
int krepo_state_put(krepo *r, const char *fmri, const cJSON *state,
                    char *why, size_t whylen);
int krepo_state_get(krepo *r, const char *fmri, cJSON **state, char *why,
                    size_t whylen);
int krepo_state_list(krepo *r, cJSON **states, char *why, size_t whylen);

#endif /* SYSTEMK_KCONFIGD_REPO_H */
