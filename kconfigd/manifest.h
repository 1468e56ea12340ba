/*
 * manifest.h -- kconfigd's pure core: manifests, property groups, FMRIs,
 * composition, layering and the dependency-cycle check.  No LMDB, no IO:
 * everything here works on decoded cJSON values and is unit-tested alone.
 *
 * Property groups (DESIGN sections 3 and 7).  A set of property groups is a
 * JSON object {PG: {PROP: PROPERTY}}, a property in canonical form
 *
 *     {"type": T, "values": [V...]}            optionally  "secret": true
 *
 * with T one of boolean, integer (int64), count (uint64), string, fmri.
 * Canonical values: booleans as JSON true/false; integers and counts as JSON
 * numbers while |v| <= 2^53 and as decimal strings beyond (exact, never
 * through a double); strings as valid UTF-8; FMRIs as "svc:/NAME:INSTANCE".
 * Import also accepts "value": V for a single value.  Names of services,
 * instances, groups and properties are [A-Za-z0-9_.-]{1,64}.
 *
 * Manifest -> property groups.  A manifest (DESIGN section 5) becomes:
 *   general    description, model, log, pidfile          (service level)
 *              enabled                                    (instance level)
 *   start      exec, timeout_s
 *   stop       exec, timeout_s, signal
 *   refresh    exec, timeout_s, signal
 *   restart    policy, delay_ms, max_delay_ms, burst, window_s
 *   context    user, group, working_directory, umask,
 *              environment ("K=V" strings), limit_NAME (count)
 *   dep_NAME   grouping, restart_on, services (fmri values)
 *   PG         every group of "properties" by its own name
 * The defaults of DESIGN section 7 are written out (model child, log file,
 * restart on-failure 100 ms .. 30 s, burst 5 in 10 s, start timeout 60 s,
 * stop timeout 10 s, PATH in the environment of a service with a start
 * method when the manifest sets no PATH), so that the running snapshot is
 * complete and kstartd needs no defaults of its own.  A signal is stored by
 * its bare upper-case name ("TERM").  Limits take a count or "infinity".
 *
 * Instances.  "instances": {"NAME": {"enabled": B, "properties": {...},
 * "property_groups": {...}}} gives each instance its own groups; "enabled"
 * defaults to true.  When "instances" is absent the manifest gets one
 * instance, "default", enabled: a manifest dropped into a container's
 * manifest directory is meant to run.  (SMF defaults to disabled; SystemK
 * serves containers first, where an inert manifest is a surprise.)
 *
 * Raw groups.  "property_groups": {PG: {PROP: PROPERTY}} at service and
 * instance level is applied last, property by property, over what the
 * friendly keys produced.  It is the form repo.export emits, so that
 * export -> import reproduces the repository exactly.  The known framework
 * properties (general/model, dep_NAME/grouping, ...) are checked in raw form
 * as strictly as in friendly form.
 *
 * Composition and layering.  Both are the same merge, property by property:
 * a later set replaces whole properties of an earlier one.  The editing view
 * of an instance is
 *     (service manifest  <  service admin)  <  (instance manifest  <  instance admin)
 * so any instance-level property beats any service-level one (SMF
 * composition), and within a level the admin layer beats the manifest.
 *
 * Errors name the file and the JSON pointer of the fault:
 *     web.json: /restart/burst: expected a non-negative integer
 */
#ifndef SYSTEMK_KCONFIGD_MANIFEST_H
#define SYSTEMK_KCONFIGD_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#define KCFG_NAME_MAX      64    /* service, instance, group, property names */
#define KCFG_VALUE_MAX     4096  /* bytes in one string value */
#define KCFG_VALUES_MAX    1024  /* values in one property */
#define KCFG_PROPS_MAX     1024  /* properties in one group */
#define KCFG_PGS_MAX       256   /* groups at one level */
#define KCFG_INSTANCES_MAX 256   /* instances of one service */
#define KCFG_FMRI_MAX      (5 + KCFG_NAME_MAX + 1 + KCFG_NAME_MAX + 1)
#define KCFG_ERR_MAX       512   /* a good size for error buffers */

typedef enum kcfg_type {
	KT_BOOLEAN,
	KT_INTEGER,
	KT_COUNT,
	KT_STRING,
	KT_FMRI,
	KT__COUNT
} kcfg_type;

/* "boolean" ... "fmri"; -1 for an unknown name. */
int         kcfg_type_by_name(const char *name);
const char *kcfg_type_name(kcfg_type t);

/* Is s a valid name ([A-Za-z0-9_.-]{1,64}, not "." or "..")? */
bool kcfg_name_ok(const char *s);

/*
 * The manifest layer of one service, as converted from one manifest.
 * Owns pgs and instances.
 */
typedef struct kcfg_service {
	char   name[KCFG_NAME_MAX + 1];
	cJSON *pgs;       /* service-level {PG: {PROP: ...}} */
	cJSON *instances; /* {INSTANCE: {PG: {PROP: ...}}} */
} kcfg_service;

/*
 * Validates manifest and converts it into out (caller frees with
 * kcfg_service_free, also after a failure).  file names the source in error
 * messages.  Returns 0, or -1 with "FILE: POINTER: reason" in err.
 */
int  kcfg_manifest_convert(const cJSON *manifest, const char *file,
                           kcfg_service *out, char *err, size_t errlen);
void kcfg_service_free(kcfg_service *s);

/*
 * Checks a canonical set of property groups (as stored, or as an admin
 * write would bring it) and canonicalises it in place.  where prefixes the
 * pointers in messages ("" or "/instances/x/property_groups").  0 or -1.
 */
int kcfg_pgs_check(cJSON *pgs, const char *file, const char *where, char *err,
                   size_t errlen);

/*
 * Builds the manifest object repo.export emits for one service:
 * {"service": NAME, "property_groups": {...},
 *  "instances": {INST: {"property_groups": {...}}}}.  Copies its inputs.
 * instances maps instance name to its groups.  NULL on allocation failure.
 */
cJSON *kcfg_manifest_export(const char *name, const cJSON *svc_pgs,
                            const cJSON *instances);

/* ---- FMRIs ---------------------------------------------------------------- */

/*
 * Parses "web", "web:inst", "svc:/web", "svc:/web:inst" into svc and inst
 * (each KCFG_NAME_MAX + 1 bytes).  "web" means svc:/web:default; "svc:/web"
 * names the service itself and leaves inst empty.  0, or -1 if malformed.
 */
int kcfg_fmri_parse(const char *s, char *svc, char *inst);
/* Writes "svc:/SVC:INST" (or "svc:/SVC" when inst is empty) into buf. */
void kcfg_fmri_format(char *buf, size_t len, const char *svc,
                      const char *inst);

/* ---- composition, layering, cycles ----------------------------------------- */

/*
 * A new set of groups: base with every property of over (either may be
 * NULL) replacing base's property of the same group and name.
 */
cJSON *kcfg_compose(const cJSON *base, const cJSON *over);
/* The editing view of an instance (see above); any argument may be NULL. */
cJSON *kcfg_view(const cJSON *svc_manifest, const cJSON *svc_admin,
                 const cJSON *inst_manifest, const cJSON *inst_admin);
/*
 * The property view[pg][prop] that kcfg_view would compose from layers[0]
 * (the bottom) to layers[n - 1], without composing: the topmost layer
 * whose group names the property decides (a tombstone: none), and one
 * whose group is masked hides the layers below.  Lent from its layer.
 * Like kcfg_view, it takes the bottom layer (a manifest) as it is: one
 * holds no tombstones.
 */
const cJSON *kcfg_view_prop(const cJSON *const *layers, int n,
                            const char *pg, const char *prop);
/*
 * Tombstones, in admin layers only: a property {"deleted": true} removes
 * the property of its name from the layers below; a property named
 * KCFG_PG_MASK (never a valid name) that is a tombstone removes the whole
 * group below, before the group's other admin properties apply.  Views,
 * snapshots and exports never hold tombstones: composition resolves them.
 */
#define KCFG_PG_MASK "*"
bool kcfg_tombstone(const cJSON *prop);
/* Sorts an object's members by key, so that every output is stable. */
void kcfg_json_sort(cJSON *obj);
/* Removes every property marked secret (and groups left empty by it). */
void kcfg_strip_secrets(cJSON *pgs);

/*
 * Checks the instances views {FMRI: {PG: ...}} for a dependency cycle over
 * require_all, require_any and optional_all edges (exclude_all orders
 * nothing).  Dependencies on instances outside views are ignored.  Returns
 * 0, or -1 with "dependency cycle: a -> b -> a" in err (names shortened to
 * NAME for :default instances).
 */
int kcfg_check_cycles(const cJSON *views, char *err, size_t errlen);

/*
 * Checks that every dependency group (dep_NAME) of a view {PG: ...} is
 * whole: grouping and restart_on with one value each, services with at
 * least one, so that a partly set or partly deleted group never reaches a
 * running snapshot.  Returns 0, or -1 with "dependency group 'dep_NAME' of
 * 'FMRI' has no 'services'" (or "more than one 'grouping'") in err.
 */
int kcfg_deps_check(const cJSON *pgs, const char *fmri, char *err,
                    size_t errlen);

#endif /* SYSTEMK_KCONFIGD_MANIFEST_H */
