/*
 * cmd_plot.c -- `kctl plot`: the boot as an SVG timeline, one bar per
 * instance with its wait, start and online segments (systemd-analyze plot,
 * for SystemK).  The times are kstartd's (svc.timeline, proto.h): wait is
 * when the instance was first offline and enabled (waiting for its
 * dependencies), start when its start method was spawned, online when it
 * first came online.  --json prints them raw.
 *
 * The SVG is built by kctl_plot_svg(), a pure function of the svc.timeline
 * result, so unit tests check it without a daemon.  Every bar is a
 * <g class="svc" data-fmri="..."> holding <rect class="wait|start|online">
 * segments, so that scripts (and tests) can read the picture back.
 */
#include "kctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_ROW_H   22   /* px per instance */
#define PLOT_BAR_H   14
#define PLOT_CHART_W 900  /* px of the time axis */
#define PLOT_TOP     64   /* title and legend */

/* One instance's times, ms since the epoch; -1 when null. */
typedef struct plot_row {
	const char *fmri;
	const char *state;
	int64_t     wait, start, online;
} plot_row;

/*
 * RFC 3339 with an optional fraction to ms since the epoch; -1 when s is
 * not a time (null included).
 */
static int64_t
time_ms(const cJSON *v)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
	const char *dot;
	time_t      t;
	int64_t     ms = 0, scale = 100;

	if (s == NULL || kctl_time_parse(s, &t) != 0)
		return -1;
	if (strlen(s) > 19 && (dot = strchr(s + 19, '.')) != NULL)
		for (dot++; *dot >= '0' && *dot <= '9' && scale > 0; dot++) {
			ms += (*dot - '0') * scale;
			scale /= 10;
		}
	return (int64_t)t * 1000 + ms;
}

/* The earliest time of a row, or INT64_MAX when it has none. */
static int64_t
row_first(const plot_row *r)
{
	int64_t m = INT64_MAX;

	if (r->wait >= 0 && r->wait < m)
		m = r->wait;
	if (r->start >= 0 && r->start < m)
		m = r->start;
	if (r->online >= 0 && r->online < m)
		m = r->online;
	return m;
}

/* In the order things happened; instances without times last, by fmri. */
static int
by_first(const void *a, const void *b)
{
	const plot_row *x = a, *y = b;
	int64_t         fx = row_first(x), fy = row_first(y);

	if (fx != fy)
		return fx < fy ? -1 : 1;
	return strcmp(x->fmri, y->fmri);
}

/* Text for XML: the five special characters escaped, controls dropped. */
static void
xml_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s >= ' ')
				fputc(*s, f);
		}
	}
}

/* "850 ms", "1.5 s", "2 min" for a duration or an axis label. */
static void
duration(char *buf, size_t len, int64_t ms)
{
	if (ms < 1000)
		snprintf(buf, len, "%lld ms", (long long)ms);
	else if (ms < 120000)
		snprintf(buf, len, "%.3g s", ms / 1000.0);
	else
		snprintf(buf, len, "%.3g min", ms / 60000.0);
}

/* An axis step of 1, 2 or 5 times a power of ten: about 10 ticks. */
static int64_t
tick_step(int64_t span)
{
	int64_t step = 1;

	for (;;) {
		if (span / step <= 10)
			return step;
		if (span / (step * 2) <= 10)
			return step * 2;
		if (span / (step * 5) <= 10)
			return step * 5;
		step *= 10;
	}
}

static void
segment(FILE *f, const char *cls, const char *fill, double x0, double x1,
    int y, int h, const char *what, int64_t ms)
{
	char d[32];

	if (x1 - x0 < 1)
		x1 = x0 + 1; /* an instant is still visible */
	duration(d, sizeof(d), ms);
	fprintf(f, "    <rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
	    "height=\"%d\" fill=\"%s\"><title>%s%s</title></rect>\n", cls, x0,
	    y, x1 - x0, h, fill, what, d);
}

/* The bar of one instance: its segments, its name, its durations. */
static void
plot_bar(FILE *f, const plot_row *r, int y, int label_w, int64_t t0,
    int64_t tend, double px)
{
	int64_t end_wait = r->start >= 0 ? r->start : r->online >= 0 ?
	    r->online : r->wait;
	int64_t end_start = r->online >= 0 ? r->online : tend;
	double  x = label_w;
	char    d1[32], d2[32];

	fprintf(f, "  <g class=\"svc\" data-fmri=\"");
	xml_text(f, r->fmri);
	fprintf(f, "\" data-state=\"");
	xml_text(f, r->state);
	fprintf(f, "\">\n    <text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
	    label_w - 8, y + PLOT_BAR_H - 3);
	xml_text(f, r->fmri);
	fprintf(f, "</text>\n");
	if (r->wait >= 0)
		segment(f, "wait", "#c8c8c8", x + (r->wait - t0) * px,
		    x + (end_wait - t0) * px, y, PLOT_BAR_H, "waited ",
		    end_wait - r->wait);
	if (r->start >= 0)
		segment(f, "start", "#f0a030", x + (r->start - t0) * px,
		    x + (end_start - t0) * px, y, PLOT_BAR_H, "starting ",
		    end_start - r->start);
	if (r->online >= 0)
		segment(f, "online", "#4caf50", x + (r->online - t0) * px,
		    x + (tend - t0) * px, y + 3, PLOT_BAR_H - 6, "online at +",
		    r->online - t0);
	/* The numbers, right of the chart. */
	fprintf(f, "    <text class=\"times\" x=\"%d\" y=\"%d\">",
	    label_w + PLOT_CHART_W + 10, y + PLOT_BAR_H - 3);
	if (r->online >= 0) {
		duration(d1, sizeof(d1), r->online - t0);
		duration(d2, sizeof(d2), r->online - (r->wait >= 0 ? r->wait :
		    r->online));
		fprintf(f, "online at +%s (%s after wait)", d1, d2);
	} else {
		fprintf(f, "not online: ");
		xml_text(f, r->state);
	}
	fprintf(f, "</text>\n  </g>\n");
}

/* The axis: a line per tick, labelled with the time since the origin. */
static void
plot_axis(FILE *f, int label_w, int rows_h, int64_t t0, int64_t tend,
    double px)
{
	int64_t step = tick_step(tend - t0);

	fprintf(f, "  <g class=\"axis\">\n");
	for (int64_t t = 0; t <= tend - t0; t += step) {
		char   d[32];
		double x = label_w + t * px;

		duration(d, sizeof(d), t);
		fprintf(f, "    <line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#e0e0e0\"/>\n", x, PLOT_TOP - 8, x,
		    PLOT_TOP + rows_h);
		fprintf(f, "    <text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
		    "%s</text>\n", x, PLOT_TOP - 12, d);
	}
	fprintf(f, "  </g>\n");
}

int
kctl_plot_svg(const cJSON *timeline, FILE *f)
{
	const cJSON *insts = kipc_json_arr(timeline, "instances"), *it;
	int          n = cJSON_GetArraySize(insts), i = 0, label_w = 160;
	plot_row    *rows = calloc((size_t)n + 1, sizeof(*rows));
	int64_t      t0 = INT64_MAX, tmax = INT64_MIN, tend;
	double       px;
	char         origin[48] = "-";

	if (rows == NULL)
		return -1;
	cJSON_ArrayForEach(it, insts) {
		plot_row *r = &rows[i++];
		int       w;

		r->fmri = kipc_json_str(it, "fmri");
		r->state = kipc_json_str(it, "state");
		r->fmri = r->fmri != NULL ? r->fmri : "?";
		r->state = r->state != NULL ? r->state : "?";
		r->wait = time_ms(cJSON_GetObjectItemCaseSensitive(it, "wait"));
		r->start = time_ms(cJSON_GetObjectItemCaseSensitive(it, "start"));
		r->online = time_ms(cJSON_GetObjectItemCaseSensitive(it, "online"));
		if (row_first(r) < t0) {
			t0 = row_first(r);
			snprintf(origin, sizeof(origin), "%s",
			    r->wait == t0 ? kipc_json_str(it, "wait") :
			    r->start == t0 ? kipc_json_str(it, "start") :
			    kipc_json_str(it, "online"));
		}
		for (int k = 0; k < 3; k++) {
			int64_t v = k == 0 ? r->wait : k == 1 ? r->start : r->online;

			if (v > tmax)
				tmax = v;
		}
		w = (int)strlen(r->fmri) * 7 + 16;
		if (w > label_w)
			label_w = w < 480 ? w : 480;
	}
	qsort(rows, (size_t)n, sizeof(*rows), by_first);
	if (t0 == INT64_MAX)
		t0 = tmax = 0;
	/* Room after the last event, so that an online segment shows. */
	tend = tmax + (tmax - t0) / 10 + 1;
	px = (double)PLOT_CHART_W / (double)(tend - t0);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n",
	    label_w + PLOT_CHART_W + 260, PLOT_TOP + n * PLOT_ROW_H + 20);
	fprintf(f, "  <title>SystemK boot timeline</title>\n"
	    "  <rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	    "  <text x=\"8\" y=\"18\" font-size=\"14\">SystemK boot timeline "
	    "from ");
	xml_text(f, origin);
	fprintf(f, " (%d instance%s)</text>\n", n, n == 1 ? "" : "s");
	fprintf(f, "  <g class=\"legend\">\n"
	    "    <rect x=\"8\" y=\"26\" width=\"12\" height=\"10\" "
	    "fill=\"#c8c8c8\"/><text x=\"24\" y=\"35\">waiting for "
	    "dependencies</text>\n"
	    "    <rect x=\"200\" y=\"26\" width=\"12\" height=\"10\" "
	    "fill=\"#f0a030\"/><text x=\"216\" y=\"35\">start method running"
	    "</text>\n"
	    "    <rect x=\"380\" y=\"26\" width=\"12\" height=\"10\" "
	    "fill=\"#4caf50\"/><text x=\"396\" y=\"35\">online</text>\n"
	    "  </g>\n");
	plot_axis(f, label_w, n * PLOT_ROW_H, t0, tend, px);
	for (i = 0; i < n; i++)
		plot_bar(f, &rows[i], PLOT_TOP + i * PLOT_ROW_H, label_w, t0, tend,
		    px);
	fprintf(f, "</svg>\n");
	free(rows);
	return 0;
}

int
kctl_cmd_plot(kctl_ctx *ctx)
{
	const char *path = kctl_flag(ctx, "-o");
	cJSON      *res = NULL;
	FILE       *f = ctx->out;
	int         rv;

	ctx->action = "plot";
	if (path != NULL && *path == '\0')
		return kctl_usage_error(ctx, "-o: expected a file name");
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_TIMELINE, NULL, "boot timeline",
	         &res)) != KCTL_EXIT_OK)
		return rv;
	if (kipc_json_arr(res, "instances") == NULL) {
		cJSON_Delete(res);
		return kctl_fail(ctx, KE_INTERNAL, "boot timeline",
		    "kstartd's reply has no \"instances\" array");
	}
	if (ctx->opts.json && path == NULL) {
		kctl_print_json(ctx, res);
		cJSON_Delete(res);
		return KCTL_EXIT_OK;
	}
	if (path != NULL && (f = fopen(path, "w")) == NULL) {
		cJSON_Delete(res);
		return kctl_fail(ctx, errno == EACCES ? KE_DENIED : errno == ENOENT ?
		    KE_NOT_FOUND : KE_INTERNAL, path, "%s", strerror(errno));
	}
	rv = kctl_plot_svg(res, f) == 0 ? KCTL_EXIT_OK : KCTL_EXIT_FAILURE;
	if (path != NULL) {
		if (fclose(f) != 0 && rv == KCTL_EXIT_OK)
			rv = kctl_fail(ctx, KE_INTERNAL, path, "%s", strerror(errno));
		else if (ctx->opts.json)
			kctl_print_json(ctx, res);
		else
			fprintf(ctx->out, "wrote %s: %d instances\n", path,
			    cJSON_GetArraySize(kipc_json_arr(res, "instances")));
	}
	cJSON_Delete(res);
	return rv;
}
