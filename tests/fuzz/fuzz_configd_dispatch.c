/*
 * libFuzzer target: kconfigd's request path after the envelope -- params
 * validation (as libkipc does it) and then kcfgd_dispatch, with both the
 * privileged and the unprivileged view, against a real repository in a
 * temp dir opened once.  Writes run inside a group-commit batch that is
 * committed every 64 inputs, as the daemon's loop does.  Any crash, leak
 * or UB is a bug: no byte sequence may crash a daemon.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "kipc.h"

static krepo *repo;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char  tmpl[] = "/tmp/fuzz-configd.XXXXXX", st[300], run[300], why[512];
	char *dir = mkdtemp(tmpl);
	int   dexit;

	(void)argc;
	(void)argv;
	kipc_log_init("fuzz");
	if (dir == NULL)
		abort();
	snprintf(st, sizeof(st), "%s/state", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	if (krepo_open(&repo, st, run, &dexit, why, sizeof(why)) != KE_OK) {
		fprintf(stderr, "%s\n", why);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int n;
	kipc_msg   m;
	char       why[512];

	if (kipc_decode_request(data, size, &m, why, sizeof(why)) == KE_OK) {
		const kproto_method *meth = kproto_method_by_name(m.method);

		if (meth != NULL && (meth->daemons & KD_CONFIGD) &&
		    meth->id != KM_REPO_BACKUP &&
		    kipc_params_check(meth, m.params, why, sizeof(why)) == KE_OK) {
			/* Batches alternate between writes in the batch's
			 * own transaction and nested ones; a poisoned batch is
			 * dropped and goes on nested, as kconfigd's loop does. */
			if (n % 64 == 0)
				krepo_batch_begin(repo, (n / 64) % 2 == 1, why,
				    sizeof(why));
			for (int priv = 0; priv < 2; priv++) {
				cJSON *res = NULL;

				kcfgd_dispatch(repo, meth->id, m.params, priv, &res, why,
				    sizeof(why));
				cJSON_Delete(res);
				if (krepo_batch_poisoned(repo)) {
					krepo_batch_abort(repo);
					krepo_batch_begin(repo, true, why, sizeof(why));
				}
			}
			/* Dirty groups are put before the end; a failure
			 * there poisons the batch too. */
			if (++n % 64 == 0) {
				if (krepo_batch_flush(repo, why, sizeof(why)) !=
				    KE_OK)
					krepo_batch_abort(repo);
				krepo_batch_end(repo, why, sizeof(why));
			}
			cJSON_Delete(krepo_take_events(repo));
		}
	}
	kipc_msg_free(&m);
	return 0;
}
