/*
 * proto.c -- lookups over the tables declared in proto.h.
 */
#include "proto.h"

#include <string.h>

static const kproto_method methods[] = {
#define KPROTO_ROW(e, name, lvl, d, a, p) { KM_##e, name, lvl, d, a, p },
	KPROTO_METHODS(KPROTO_ROW)
#undef KPROTO_ROW
};

static const struct {
	const char *name;
	int         exit;
} errors[] = {
#define KPROTO_ERR_ROW(e, name, x) { name, x },
	KPROTO_ERRORS(KPROTO_ERR_ROW)
#undef KPROTO_ERR_ROW
};

static const struct {
	int         code;
	const char *reason;
	const char *remedy;
} dexits[] = {
#define KPROTO_DEXIT_ROW(e, code, reason, remedy) { code, reason, remedy },
	KPROTO_DAEMON_EXITS(KPROTO_DEXIT_ROW)
#undef KPROTO_DEXIT_ROW
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const kproto_method *
kproto_method_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NELEM(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

const kproto_method *
kproto_method_by_id(kproto_method_id id)
{
	if ((int)id < 0 || (size_t)id >= NELEM(methods))
		return NULL;
	return &methods[id];
}

const char *
kproto_err_name(kproto_err e)
{
	if ((int)e < 0 || (size_t)e >= NELEM(errors))
		return "internal";
	return errors[e].name;
}

int
kproto_err_by_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < NELEM(errors); i++)
		if (strcmp(errors[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
kproto_err_exit(kproto_err e)
{
	if ((int)e < 0 || (size_t)e >= NELEM(errors))
		return KCTL_EXIT_FAILURE;
	return errors[e].exit;
}

const char *
kproto_exit_reason(int code)
{
	for (size_t i = 0; i < NELEM(dexits); i++)
		if (dexits[i].code == code)
			return dexits[i].reason;
	return NULL;
}

const char *
kproto_exit_remedy(int code)
{
	for (size_t i = 0; i < NELEM(dexits); i++)
		if (dexits[i].code == code)
			return dexits[i].remedy;
	return NULL;
}
