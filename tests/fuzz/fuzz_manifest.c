/*
 * libFuzzer target: manifest parsing -- untrusted JSON through
 * kipc_json_parse, kcfg_manifest_convert, and the canonical-groups check of
 * what it produced (which must accept its own output).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kipc.h"
#include "manifest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char         why[KCFG_ERR_MAX];
	cJSON       *j = kipc_json_parse((const char *)data, size, why, sizeof(why));
	kcfg_service s = { 0 };

	if (j == NULL)
		return 0;
	if (kcfg_manifest_convert(j, "fuzz.json", &s, why, sizeof(why)) == 0) {
		cJSON *again = cJSON_Duplicate(s.pgs, 1);

		if (kcfg_pgs_check(again, "fuzz.json", "", why, sizeof(why)) != 0)
			abort(); /* its own canonical output must pass */
		cJSON_Delete(again);
	}
	kcfg_service_free(&s);
	cJSON_Delete(j);
	return 0;
}
