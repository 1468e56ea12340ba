/*
 * handlers.h -- kconfigd's dispatch table: one handler per method of
 * proto/ served by KD_CONFIGD, indexed by kproto_method_id.
 *
 * Handlers receive params already checked against the method's schema by
 * libkipc (types, required and unknown names); they check meanings (FMRIs,
 * manifests), call the repository once, and shape the reply.  No nng here:
 * tests call kcfgd_dispatch() directly.
 */
#ifndef SYSTEMK_KCONFIGD_HANDLERS_H
#define SYSTEMK_KCONFIGD_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "proto.h"
#include "repo.h"

/*
 * Checks the table against proto/: every method whose daemons include
 * KD_CONFIGD has a handler and no other method has one.  0, or -1 with the
 * first mismatch named in why; kconfigd refuses to start then.
 */
int kcfgd_check_table(char *why, size_t whylen);

/*
 * Runs method id on repo.  privileged: the peer may see secrets.  Returns
 * KE_OK with *result (caller frees), or an error code with why.
 */
int kcfgd_dispatch(krepo *repo, kproto_method_id id, const cJSON *params,
                   bool privileged, cJSON **result, char *why, size_t whylen);

/*
 * repo.get with its result as JSON text (*text, caller frees), through the
 * repository's memo of printed replies (repo.h): the same request by a peer
 * of the same privilege, with nothing committed since, costs a copy.
 * Otherwise as kcfgd_dispatch.  Thread-safe.
 */
/*
 * A request of a group commit run a second time (kconfigd/main.c,
 * run_batch: a batch dropped after a write failed halfway runs again),
 * whose first run ended with first.  The volatile namespace commits each
 * write at once, not with the batch: states written once stand and are not
 * written again (a reader would see one go back and forth).  So for
 * state.put and state.put_many this keeps the first outcome (returns true:
 * do not dispatch) and only takes put_many's `start` snapshots again, which
 * were dropped with the batch.  Returns false for every other method: run
 * it again with kcfgd_dispatch.
 */
bool kcfgd_rerun_kept(krepo *repo, kproto_method_id id, const cJSON *params,
                      int first);

int kcfgd_get_text(krepo *repo, const cJSON *params, bool privileged,
                   char **text, char *why, size_t whylen);

/*
 * Imports every *.json in dir (sorted by name) as at boot: bad files are
 * logged and skipped, the good ones imported in one transaction (or, if
 * that fails, one by one).  Returns the number of files imported.
 */
int kcfgd_boot_import(krepo *repo, const char *dir);

#endif /* SYSTEMK_KCONFIGD_HANDLERS_H */
