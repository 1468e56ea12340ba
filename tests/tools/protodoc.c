/*
 * protodoc.c -- writes docs/protocol.md's generated part from proto/.
 *
 *   protodoc PROTO_H DOC_MD     prints DOC_MD with the text between the
 *                               BEGIN and END markers replaced by tables
 *                               made from KPROTO_METHODS, KPROTO_ERRORS and
 *                               KPROTO_DAEMON_EXITS (linked from kproto), and
 *                               each method's prose taken from the comment
 *                               block of PROTO_H
 *   protodoc --methods          prints every method name, one a line
 *   protodoc --errors           prints every error code, one a line
 *   protodoc --exits            prints every daemon exit code and its reason
 *
 * The hand-written prose of protocol.md lives outside the markers and passes
 * through untouched, so the test (tests/integration/docs.sh) is a plain diff
 * of the checked-in file against this program's output.  Regenerate with
 *     build/bin/protodoc proto/proto.h docs/protocol.md > x && mv x docs/protocol.md
 * or the `protocol-doc` target.
 *
 * A method's prose is the comment line of proto.h whose first word is its
 * name, plus the more deeply indented lines that follow it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define BEGIN_MARK "<!-- BEGIN GENERATED from proto/proto.h by protodoc -->"
#define END_MARK   "<!-- END GENERATED -->"
#define PROSE_MAX  4096
#define LINE_MAX_  1024

static char prose[KM__COUNT][PROSE_MAX];

static void
prose_append(char *dst, const char *text)
{
	size_t n = strlen(dst);

	snprintf(dst + n, PROSE_MAX - n, "%s\n", text);
}

/* Collects each method's prose from proto.h's comment lines. */
static int
read_prose(const char *path)
{
	FILE *f = fopen(path, "r");
	char  line[LINE_MAX_];
	int   cur = -1;

	if (f == NULL) {
		fprintf(stderr, "protodoc: error: unable to open '%s'\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char                 word[128];
		const kproto_method *m;
		char                *body;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, " *", 2) != 0 || strcmp(line, " */") == 0) {
			cur = -1;
			continue;
		}
		body = line[2] == ' ' ? line + 3 : line + 2;
		if (*body == '\0') {
			cur = -1;
			continue;
		}
		if (*body != ' ') {
			word[0] = '\0';
			sscanf(body, "%127s", word);
			m = kproto_method_by_name(word);
			cur = m != NULL ? (int)m->id : -1;
			if (cur >= 0)
				prose_append(prose[cur], body);
			continue;
		}
		if (cur >= 0)
			prose_append(prose[cur], body);
	}
	fclose(f);
	return 0;
}

static const char *
daemons_text(int mask)
{
	static char buf[64];

	buf[0] = '\0';
	if (mask == KD_ALL)
		return "all";
	if (mask & KD_CONFIGD)
		strcat(buf, "kconfigd ");
	if (mask & KD_STARTD)
		strcat(buf, "kstartd ");
	if (mask & KD_KINIT)
		strcat(buf, "kinit ");
	if (buf[0] != '\0')
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

/* "fmri:string pg:string?" as "`fmri` string, `pg` string?" */
static void
print_params(FILE *o, const char *schema)
{
	const char *p = schema;
	const char *sep = "";

	if (*p == '\0') {
		fprintf(o, "none");
		return;
	}
	while (*p != '\0') {
		size_t      n = strcspn(p, " ");
		const char *colon = memchr(p, ':', n);

		if (colon != NULL)
			fprintf(o, "%s`%.*s` %.*s", sep, (int)(colon - p), p,
			    (int)(n - (size_t)(colon - p) - 1), colon + 1);
		else
			fprintf(o, "%s`%.*s`", sep, (int)n, p);
		sep = ", ";
		p += n;
		p += strspn(p, " ");
	}
}

static void
print_generated(FILE *o)
{
	fprintf(o, "%s\n\n", BEGIN_MARK);
	fprintf(o, "Protocol level of this build: %d.  Largest message: %u bytes; "
	    "deepest JSON nesting: %d.\n\n", KPROTO_LEVEL, KPROTO_MAX_MSG,
	    KPROTO_MAX_DEPTH);
	fprintf(o, "### Methods\n\n");
	fprintf(o, "| method | level | daemon | access | params |\n");
	fprintf(o, "|---|---|---|---|---|\n");
	for (int i = 0; i < KM__COUNT; i++) {
		const kproto_method *m = kproto_method_by_id((kproto_method_id)i);

		fprintf(o, "| `%s` | %d | %s | %s | ", m->name, m->level,
		    daemons_text(m->daemons),
		    m->access == KA_WRITE ? "privileged" : "open");
		print_params(o, m->params);
		fprintf(o, " |\n");
	}
	fprintf(o, "\nA `?` marks an optional parameter.  *open*: any local "
	    "user; *privileged*: root or a member of `SYSTEMK_ADMIN_GROUP`.\n");
	for (int i = 0; i < KM__COUNT; i++) {
		const kproto_method *m = kproto_method_by_id((kproto_method_id)i);

		fprintf(o, "\n#### `%s`\n\n", m->name);
		fprintf(o, "Level %d, served by %s, %s.  Params: ", m->level,
		    daemons_text(m->daemons),
		    m->access == KA_WRITE ? "privileged" : "open to local users");
		print_params(o, m->params);
		fprintf(o, ".\n\n");
		if (prose[i][0] != '\0')
			fprintf(o, "```\n%s```\n", prose[i]);
		else
			fprintf(o, "(no prose in proto.h yet)\n");
	}
	fprintf(o, "\n### Error codes\n\n| code | kctl exit code |\n|---|---|\n");
	for (int e = 1; e < KE__COUNT; e++)
		fprintf(o, "| `%s` | %d |\n", kproto_err_name((kproto_err)e),
		    kproto_err_exit((kproto_err)e));
	fprintf(o, "\n### Daemon exit codes\n\n| code | reason | remedy |\n"
	    "|---|---|---|\n");
	for (int c = 0; c < 256; c++)
		if (kproto_exit_reason(c) != NULL)
			fprintf(o, "| %d | %s | %s |\n", c, kproto_exit_reason(c),
			    kproto_exit_remedy(c));
	fprintf(o, "\n%s\n", END_MARK);
}

/* Copies doc to stdout, replacing the generated part. */
static int
rewrite(const char *doc)
{
	FILE *f = fopen(doc, "r");
	char  line[LINE_MAX_];
	int   state = 0; /* 0 before, 1 inside, 2 after the markers */

	if (f == NULL) {
		fprintf(stderr, "protodoc: error: unable to open '%s'\n", doc);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (state == 0 && strncmp(line, BEGIN_MARK, strlen(BEGIN_MARK)) == 0) {
			print_generated(stdout);
			state = 1;
		} else if (state == 1 &&
		    strncmp(line, END_MARK, strlen(END_MARK)) == 0) {
			state = 2;
		} else if (state != 1) {
			fputs(line, stdout);
		}
	}
	fclose(f);
	if (state != 2) {
		fprintf(stderr, "protodoc: error: unable to find the markers in "
		    "'%s'\n", doc);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--methods") == 0) {
		for (int i = 0; i < KM__COUNT; i++)
			puts(kproto_method_by_id((kproto_method_id)i)->name);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--errors") == 0) {
		for (int e = 1; e < KE__COUNT; e++)
			puts(kproto_err_name((kproto_err)e));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--exits") == 0) {
		for (int c = 0; c < 256; c++)
			if (kproto_exit_reason(c) != NULL)
				printf("%d\t%s\n", c, kproto_exit_reason(c));
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: protodoc PROTO_H DOC_MD | --methods | "
		    "--errors | --exits\n");
		return 2;
	}
	if (read_prose(argv[1]) != 0 || rewrite(argv[2]) != 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
