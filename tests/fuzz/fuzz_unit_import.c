/*
 * libFuzzer target: systemd unit import -- untrusted unit text through
 * kctl_unit_translate (kctl import-unit), with a fake EnvironmentFile=
 * reader.  The first byte picks the unit's file name (plain, template,
 * instance, not a service); the rest is the unit.  Whatever it returns must
 * be coherent: a manifest object naming its service and an array of notes
 * on success, a reason and nothing else on refusal.  ASan and UBSan catch
 * the rest (the unit parser's quoting, continuation lines, %-specifiers and
 * variable expansion are where the bytes are).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"
#include "unit.h"

static char *
reader(const char *path, void *arg)
{
	(void)arg;
	if (strcmp(path, "/etc/default/x") == 0)
		return strdup("# comment\nOPTS=\"-a -b\"\nQ='one word'\nPORT=80\n");
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "web.service", "getty@.service",
		                       "getty@tty1.service", "web.socket" };
	char   why[512];
	char  *text;
	cJSON *out = NULL, *notes;
	int    rv;

	if (size < 1)
		return 0;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	notes = cJSON_CreateArray();
	why[0] = '\0';
	rv = kctl_unit_translate(text, names[data[0] % 4], reader, NULL, &out,
	    notes, why, sizeof(why));
	if (rv == 0) {
		if (!cJSON_IsObject(out) || !cJSON_IsArray(notes) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(out,
		    "service")))
			abort();
	} else if (rv != -1 || why[0] == '\0' || out != NULL) {
		abort(); /* a refusal says why and returns nothing */
	}
	cJSON_Delete(out);
	cJSON_Delete(notes);
	free(text);
	return 0;
}
