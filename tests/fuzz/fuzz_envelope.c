/*
 * libFuzzer target: request and reply decoding, then params validation
 * against every method of proto/; and JSON printing (kipc_json_print
 * against cJSON's printer).  Any crash, leak or UB is a bug: no byte
 * sequence on a socket may crash a daemon (DESIGN section 1).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"

/* kipc_json_print must give cJSON_PrintUnformatted's bytes, always. */
static void
same_print(const cJSON *j)
{
	char  *a = cJSON_PrintUnformatted(j), *b;
	size_t n = 0;

	b = kipc_json_print(j, &n);
	if ((a == NULL) != (b == NULL) ||
	    (a != NULL && (strcmp(a, b) != 0 || n != strlen(a))))
		abort();
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kipc_msg m;
	char     why[256];
	cJSON   *j = cJSON_ParseWithLength((const char *)data, size);

	if (j != NULL) {
		same_print(j);
		kipc_json_exact_ints(j);
		same_print(j);
		cJSON_Delete(j);
	}

	if (kipc_decode_request(data, size, &m, why, sizeof(why)) == KE_OK) {
		const kproto_method *meth = kproto_method_by_name(m.method);

		if (meth != NULL)
			(void)kipc_params_check(meth, m.params, why, sizeof(why));
		for (int i = 0; i < KM__COUNT; i++)
			(void)kipc_params_check(kproto_method_by_id(i), m.params,
			    why, sizeof(why));
		char *again = kipc_encode_request(m.v, m.id, m.method, m.params,
		    NULL);
		free(again);
	}
	kipc_msg_free(&m);
	if (kipc_decode_reply(data, size, &m, why, sizeof(why)) == KE_OK) {
		char *again = kipc_encode_ok(m.v, m.id, m.result, NULL);

		free(again);
	}
	kipc_msg_free(&m);
	return 0;
}
