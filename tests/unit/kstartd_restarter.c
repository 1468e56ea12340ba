/*
 * kstartd_restarter.c -- the restarter core, every phase x event pair, then
 * the restart policy as event sequences.  No process is forked: pids are
 * made up and exits are events.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "config.h"
#include "restarter.h"

#define PID 100

static svc_config *
mkcfg(const char *json)
{
	cJSON      *pgs = cJSON_Parse(json);
	svc_config *cfg;

	ck_assert_ptr_nonnull(pgs);
	cfg = svc_config_new("svc:/t:default", pgs);
	cJSON_Delete(pgs);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

#define CHILD     "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"/bin/x\"]}}}"
#define NOTIFY                                                                 \
	"{\"general\": {\"model\": {\"type\": \"string\", \"values\": "          \
	"[\"notify\"]}}, \"start\": {\"exec\": {\"type\": \"string\", "         \
	"\"values\": [\"/bin/x\"]}}}"

/* Time moves by 1 ms per event unless a test sets it. */
static int64_t now = 1000;

static svc_action acts[SVC_MAX_ACTIONS];
static size_t     nacts;

static void
feed_ev(const svc_config *cfg, svc_state *st, svc_event ev)
{
	if (!ev.now_ms)
		ev.now_ms = ++now;
	ev.wall_ms = 1700000000000LL + ev.now_ms;
	svc_step(cfg, st, &ev, acts, &nacts);
}

static void
feed(const svc_config *cfg, svc_state *st, enum svc_ev_type t)
{
	feed_ev(cfg, st, (svc_event){.type = t});
}

static void
feed_exit(const svc_config *cfg, svc_state *st, pid_t pid, int code,
          int status)
{
	feed_ev(cfg, st, (svc_event){.type = SVC_EV_EXIT, .pid = pid,
	    .code = code, .status = status});
}

static void
feed_spawned(const svc_config *cfg, svc_state *st, pid_t pid)
{
	feed_ev(cfg, st, (svc_event){.type = SVC_EV_SPAWNED, .pid = pid});
}

/* The actions of the last step as "spawn notify persist". */
static const char *
acts_str(void)
{
	static char buf[256];

	buf[0] = '\0';
	for (size_t i = 0; i < nacts; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, svc_act_name(acts[i].type));
	}
	return buf;
}

static const svc_action *
find_act(enum svc_act_type t)
{
	for (size_t i = 0; i < nacts; i++)
		if (acts[i].type == t)
			return &acts[i];
	return NULL;
}

/* ---- reaching each phase -------------------------------------------------- */

static void
reach_phase(const svc_config *cfg, svc_state *st, enum svc_phase ph)
{
	svc_state_init(st, 0);
	switch (ph) {
	case SVC_PH_UNINIT:
		break;
	case SVC_PH_DISABLED:
		feed(cfg, st, SVC_EV_DISABLE);
		break;
	case SVC_PH_OFFLINE:
		feed(cfg, st, SVC_EV_ENABLE);
		break;
	case SVC_PH_MAINTENANCE:
	case SVC_PH_STARTING:
	case SVC_PH_ONLINE:
	case SVC_PH_DEGRADED:
	case SVC_PH_STOPPING:
		feed(cfg, st, SVC_EV_ENABLE);
		feed(cfg, st, SVC_EV_DEPS_SATISFIED);
		feed_spawned(cfg, st, PID);
		if (ph == SVC_PH_MAINTENANCE)
			feed_exit(cfg, st, PID, CLD_EXITED, 95);
		if (ph == SVC_PH_STARTING || ph == SVC_PH_MAINTENANCE)
			break;
		feed(cfg, st, SVC_EV_READY);
		if (ph == SVC_PH_DEGRADED)
			feed(cfg, st, SVC_EV_MARK_DEGRADED);
		if (ph == SVC_PH_STOPPING)
			feed(cfg, st, SVC_EV_DISABLE);
		break;
	default:
		ck_abort();
	}
	ck_assert_str_eq(svc_phase_name(svc_phase_of(st)), svc_phase_name(ph));
}

/* ---- the table walk ------------------------------------------------------- */

typedef struct cell {
	enum svc_phase   ph;
	enum svc_ev_type ev;
	enum svc_phase   to;
	const char      *acts;
} cell;

#define P(x) SVC_PH_##x
#define E(x) SVC_EV_##x
#define STOP_ACTS "signal_group signal_group arm_timer notify persist"

/* Every pair, with the notify model so that STARTING waits for READY. */
static const cell cells[] = {
    {P(UNINIT), E(ENABLE), P(OFFLINE), "notify persist"},
    {P(UNINIT), E(DISABLE), P(DISABLED), "notify persist"},
    {P(UNINIT), E(DEPS_SATISFIED), P(UNINIT), ""},
    {P(UNINIT), E(DEPS_LOST), P(UNINIT), ""},
    {P(UNINIT), E(SPAWNED), P(UNINIT), ""},
    {P(UNINIT), E(READY), P(UNINIT), ""},
    {P(UNINIT), E(EXIT), P(UNINIT), ""},
    {P(UNINIT), E(RESTART_TIMER), P(UNINIT), ""},
    {P(UNINIT), E(START_TIMEOUT), P(UNINIT), ""},
    {P(UNINIT), E(STOP), P(UNINIT), ""},
    {P(UNINIT), E(STOP_TIMEOUT), P(UNINIT), ""},
    {P(UNINIT), E(CLEAR), P(UNINIT), ""},
    {P(UNINIT), E(RESTART), P(UNINIT), ""},
    {P(UNINIT), E(MARK_DEGRADED), P(UNINIT), ""},
    {P(UNINIT), E(MARK_MAINT), P(UNINIT), ""},
    {P(UNINIT), E(STOPPING), P(UNINIT), ""},
    {P(UNINIT), E(MAINPID), P(UNINIT), ""},

    {P(DISABLED), E(ENABLE), P(OFFLINE), "notify persist"},
    {P(DISABLED), E(DISABLE), P(DISABLED), ""},
    {P(DISABLED), E(DEPS_SATISFIED), P(DISABLED), ""},
    {P(DISABLED), E(DEPS_LOST), P(DISABLED), ""},
    {P(DISABLED), E(SPAWNED), P(DISABLED), ""},
    {P(DISABLED), E(READY), P(DISABLED), ""},
    {P(DISABLED), E(EXIT), P(DISABLED), ""},
    {P(DISABLED), E(RESTART_TIMER), P(DISABLED), ""},
    {P(DISABLED), E(START_TIMEOUT), P(DISABLED), ""},
    {P(DISABLED), E(STOP), P(DISABLED), ""},
    {P(DISABLED), E(STOP_TIMEOUT), P(DISABLED), ""},
    {P(DISABLED), E(CLEAR), P(DISABLED), ""},
    {P(DISABLED), E(RESTART), P(DISABLED), ""},
    {P(DISABLED), E(MARK_DEGRADED), P(DISABLED), ""},
    {P(DISABLED), E(MARK_MAINT), P(DISABLED), ""},
    {P(DISABLED), E(STOPPING), P(DISABLED), ""},
    {P(DISABLED), E(MAINPID), P(DISABLED), ""},

    {P(OFFLINE), E(ENABLE), P(OFFLINE), ""},
    {P(OFFLINE), E(DISABLE), P(DISABLED), "notify persist"},
    {P(OFFLINE), E(DEPS_SATISFIED), P(STARTING), "spawn notify persist"},
    {P(OFFLINE), E(DEPS_LOST), P(OFFLINE), ""},
    {P(OFFLINE), E(SPAWNED), P(OFFLINE), ""},
    {P(OFFLINE), E(READY), P(OFFLINE), ""},
    {P(OFFLINE), E(EXIT), P(OFFLINE), ""},
    {P(OFFLINE), E(RESTART_TIMER), P(OFFLINE), ""},
    {P(OFFLINE), E(START_TIMEOUT), P(OFFLINE), ""},
    {P(OFFLINE), E(STOP), P(OFFLINE), ""},
    {P(OFFLINE), E(STOP_TIMEOUT), P(OFFLINE), ""},
    {P(OFFLINE), E(CLEAR), P(OFFLINE), ""},
    {P(OFFLINE), E(RESTART), P(OFFLINE), ""},
    {P(OFFLINE), E(MARK_DEGRADED), P(OFFLINE), ""},
    {P(OFFLINE), E(MARK_MAINT), P(MAINTENANCE), "notify persist"},
    {P(OFFLINE), E(STOPPING), P(OFFLINE), ""},
    {P(OFFLINE), E(MAINPID), P(OFFLINE), ""},

    {P(STARTING), E(ENABLE), P(STARTING), ""},
    {P(STARTING), E(DISABLE), P(STOPPING), STOP_ACTS},
    {P(STARTING), E(DEPS_SATISFIED), P(STARTING), ""},
    {P(STARTING), E(DEPS_LOST), P(STOPPING), STOP_ACTS},
    {P(STARTING), E(SPAWNED), P(STARTING), ""},
    {P(STARTING), E(READY), P(ONLINE), "cancel_timer notify persist"},
    {P(STARTING), E(EXIT), P(OFFLINE),
     "kill_group persist cancel_timer notify arm_timer"},
    {P(STARTING), E(RESTART_TIMER), P(STARTING), ""},
    {P(STARTING), E(START_TIMEOUT), P(STOPPING), "kill_group notify persist"},
    {P(STARTING), E(STOP), P(STOPPING), STOP_ACTS},
    {P(STARTING), E(STOP_TIMEOUT), P(STARTING), ""},
    {P(STARTING), E(CLEAR), P(STARTING), ""},
    {P(STARTING), E(RESTART), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(STARTING), E(MARK_DEGRADED), P(STARTING), ""},
    {P(STARTING), E(MARK_MAINT), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(STARTING), E(STOPPING), P(STARTING), ""},
    {P(STARTING), E(MAINPID), P(STARTING), ""},

    {P(ONLINE), E(ENABLE), P(ONLINE), ""},
    {P(ONLINE), E(DISABLE), P(STOPPING), STOP_ACTS},
    {P(ONLINE), E(DEPS_SATISFIED), P(ONLINE), ""},
    {P(ONLINE), E(DEPS_LOST), P(STOPPING), STOP_ACTS},
    {P(ONLINE), E(SPAWNED), P(ONLINE), ""},
    {P(ONLINE), E(READY), P(ONLINE), ""},
    {P(ONLINE), E(EXIT), P(OFFLINE), "kill_group persist notify arm_timer"},
    {P(ONLINE), E(RESTART_TIMER), P(ONLINE), ""},
    {P(ONLINE), E(START_TIMEOUT), P(ONLINE), ""},
    {P(ONLINE), E(STOP), P(STOPPING), STOP_ACTS},
    {P(ONLINE), E(STOP_TIMEOUT), P(ONLINE), ""},
    {P(ONLINE), E(CLEAR), P(ONLINE), ""},
    {P(ONLINE), E(RESTART), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(ONLINE), E(MARK_DEGRADED), P(DEGRADED), "notify persist"},
    {P(ONLINE), E(MARK_MAINT), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(ONLINE), E(STOPPING), P(ONLINE), ""},
    {P(ONLINE), E(MAINPID), P(ONLINE), "persist"},

    {P(DEGRADED), E(ENABLE), P(DEGRADED), ""},
    {P(DEGRADED), E(DISABLE), P(STOPPING), STOP_ACTS},
    {P(DEGRADED), E(DEPS_SATISFIED), P(DEGRADED), ""},
    {P(DEGRADED), E(DEPS_LOST), P(STOPPING), STOP_ACTS},
    {P(DEGRADED), E(SPAWNED), P(DEGRADED), ""},
    {P(DEGRADED), E(READY), P(DEGRADED), ""},
    {P(DEGRADED), E(EXIT), P(OFFLINE), "kill_group persist notify arm_timer"},
    {P(DEGRADED), E(RESTART_TIMER), P(DEGRADED), ""},
    {P(DEGRADED), E(START_TIMEOUT), P(DEGRADED), ""},
    {P(DEGRADED), E(STOP), P(STOPPING), STOP_ACTS},
    {P(DEGRADED), E(STOP_TIMEOUT), P(DEGRADED), ""},
    {P(DEGRADED), E(CLEAR), P(ONLINE), "notify persist"},
    {P(DEGRADED), E(RESTART), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(DEGRADED), E(MARK_DEGRADED), P(DEGRADED), ""},
    {P(DEGRADED), E(MARK_MAINT), P(STOPPING), "signal_group signal_group arm_timer notify persist"},
    {P(DEGRADED), E(STOPPING), P(DEGRADED), ""},
    {P(DEGRADED), E(MAINPID), P(DEGRADED), "persist"},

    {P(STOPPING), E(ENABLE), P(STOPPING), "notify persist"},
    {P(STOPPING), E(DISABLE), P(STOPPING), ""},
    {P(STOPPING), E(DEPS_SATISFIED), P(STOPPING), ""},
    {P(STOPPING), E(DEPS_LOST), P(STOPPING), ""},
    {P(STOPPING), E(SPAWNED), P(STOPPING), ""},
    {P(STOPPING), E(READY), P(STOPPING), ""},
    {P(STOPPING), E(EXIT), P(DISABLED), "kill_group persist cancel_timer notify"},
    {P(STOPPING), E(RESTART_TIMER), P(STOPPING), ""},
    {P(STOPPING), E(START_TIMEOUT), P(STOPPING), ""},
    {P(STOPPING), E(STOP), P(STOPPING), ""},
    {P(STOPPING), E(STOP_TIMEOUT), P(STOPPING), "kill_group"},
    {P(STOPPING), E(CLEAR), P(STOPPING), ""},
    {P(STOPPING), E(RESTART), P(STOPPING), ""},
    {P(STOPPING), E(MARK_DEGRADED), P(STOPPING), ""},
    {P(STOPPING), E(MARK_MAINT), P(STOPPING), "notify persist"},
    {P(STOPPING), E(STOPPING), P(STOPPING), ""},
    {P(STOPPING), E(MAINPID), P(STOPPING), ""},

    {P(MAINTENANCE), E(ENABLE), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(DISABLE), P(DISABLED), "notify persist"},
    {P(MAINTENANCE), E(DEPS_SATISFIED), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(DEPS_LOST), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(SPAWNED), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(READY), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(EXIT), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(RESTART_TIMER), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(START_TIMEOUT), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(STOP), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(STOP_TIMEOUT), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(CLEAR), P(OFFLINE), "notify persist"},
    {P(MAINTENANCE), E(RESTART), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(MARK_DEGRADED), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(MARK_MAINT), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(STOPPING), P(MAINTENANCE), ""},
    {P(MAINTENANCE), E(MAINPID), P(MAINTENANCE), ""},

    /* The stop method's end matters only while stopping with one
     * (test_stop_method_*); a refresh overrun kills the method anywhere
     * and sends an online instance to maintenance. */
    {P(UNINIT), E(METHOD_DONE), P(UNINIT), ""},
    {P(DISABLED), E(METHOD_DONE), P(DISABLED), ""},
    {P(OFFLINE), E(METHOD_DONE), P(OFFLINE), ""},
    {P(STARTING), E(METHOD_DONE), P(STARTING), ""},
    {P(ONLINE), E(METHOD_DONE), P(ONLINE), ""},
    {P(DEGRADED), E(METHOD_DONE), P(DEGRADED), ""},
    {P(STOPPING), E(METHOD_DONE), P(STOPPING), ""},
    {P(MAINTENANCE), E(METHOD_DONE), P(MAINTENANCE), ""},
    {P(UNINIT), E(REFRESH_TIMEOUT), P(UNINIT), "kill_method"},
    {P(DISABLED), E(REFRESH_TIMEOUT), P(DISABLED), "kill_method"},
    {P(OFFLINE), E(REFRESH_TIMEOUT), P(OFFLINE), "kill_method"},
    {P(STARTING), E(REFRESH_TIMEOUT), P(STARTING), "kill_method"},
    {P(ONLINE), E(REFRESH_TIMEOUT), P(STOPPING), "kill_method " STOP_ACTS},
    {P(DEGRADED), E(REFRESH_TIMEOUT), P(STOPPING), "kill_method " STOP_ACTS},
    {P(STOPPING), E(REFRESH_TIMEOUT), P(STOPPING), "kill_method"},
    {P(MAINTENANCE), E(REFRESH_TIMEOUT), P(MAINTENANCE), "kill_method"},
};

#define NCELLS ((int)(sizeof cells / sizeof cells[0]))

/* Every pair of the table appears exactly once above. */
START_TEST(test_table_complete)
{
	int seen[SVC_PH__COUNT][SVC_EV__COUNT] = {{0}};

	ck_assert_int_eq(NCELLS, SVC_PH__COUNT * SVC_EV__COUNT);
	for (int i = 0; i < NCELLS; i++)
		seen[cells[i].ph][cells[i].ev]++;
	for (int p = 0; p < SVC_PH__COUNT; p++)
		for (int e = 0; e < SVC_EV__COUNT; e++)
			ck_assert_msg(seen[p][e] == 1, "%s x %s seen %d times",
			    svc_phase_name(p), svc_ev_name(e), seen[p][e]);
}
END_TEST

START_TEST(test_cell)
{
	const cell *c = &cells[_i];
	svc_config *cfg = mkcfg(NOTIFY);
	svc_state   st;
	svc_event   ev = {.type = c->ev, .pid = PID, .code = CLD_EXITED,
	                  .status = 1};

	reach_phase(cfg, &st, c->ph);
	if (c->ev == SVC_EV_SPAWNED)
		ev.pid = PID + 1;
	feed_ev(cfg, &st, ev);
	ck_assert_msg(svc_phase_of(&st) == c->to, "%s x %s: phase %s, want %s",
	    svc_phase_name(c->ph), svc_ev_name(c->ev),
	    svc_phase_name(svc_phase_of(&st)), svc_phase_name(c->to));
	ck_assert_msg(strcmp(acts_str(), c->acts) == 0,
	    "%s x %s: actions '%s', want '%s'", svc_phase_name(c->ph),
	    svc_ev_name(c->ev), acts_str(), c->acts);
	svc_config_free(cfg);
}
END_TEST

/* ---- sequences ------------------------------------------------------------ */

/* Enable, start, spawned: a child-model instance online with pid. */
static void
child_online(const svc_config *cfg, svc_state *st, pid_t pid)
{
	svc_state_init(st, 0);
	feed(cfg, st, SVC_EV_ENABLE);
	feed(cfg, st, SVC_EV_DEPS_SATISFIED);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_SPAWN));
	feed_spawned(cfg, st, pid);
	ck_assert_int_eq(st->state, SVC_ST_ONLINE);
	ck_assert_int_eq(st->pid, pid);
}

/* kill -9 of an online service: restarted after delay_ms with a new pid. */
START_TEST(test_kill9_restarts)
{
	svc_config       *cfg = mkcfg(CHILD);
	svc_state         st;
	const svc_action *a;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGKILL);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert_int_eq(st.pid, 0);
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_ARM_TIMER));
	ck_assert_int_eq(a->timer, SVC_TIMER_RESTART);
	ck_assert_uint_eq(a->ms, 100);
	/* The graph keeps saying "go" while the timer runs: no early start. */
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_uint_eq(nacts, 0);
	feed(cfg, &st, SVC_EV_RESTART_TIMER);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_SPAWN));
	feed_spawned(cfg, &st, PID + 1);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	ck_assert_int_eq(st.pid, PID + 1);
	ck_assert_uint_eq(st.restarts, 1);
	ck_assert_int_eq(st.last_exit_code, CLD_KILLED);
	ck_assert_int_eq(st.last_exit_status, SIGKILL);
	svc_config_free(cfg);
}
END_TEST

/* Delays double from 100 ms; the sixth failure in 10 s is maintenance. */
START_TEST(test_backoff_and_burst)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;
	uint64_t    want[] = {100, 200, 400, 800, 1600};

	child_online(cfg, &st, PID);
	for (int i = 0; i < 5; i++) {
		feed_exit(cfg, &st, PID + i, CLD_EXITED, 1);
		ck_assert_ptr_nonnull(find_act(SVC_ACT_ARM_TIMER));
		ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, want[i]);
		feed(cfg, &st, SVC_EV_RESTART_TIMER);
		feed_spawned(cfg, &st, PID + i + 1);
	}
	feed_exit(cfg, &st, PID + 5, CLD_EXITED, 1);
	ck_assert_int_eq(st.state, SVC_ST_MAINTENANCE);
	ck_assert_str_eq(st.reason, "restarting too quickly");
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	/* clear: offline, then the graph starts it with fresh accounting. */
	feed(cfg, &st, SVC_EV_CLEAR);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert_uint_eq(st.restarts, 0);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_SPAWN));
	svc_config_free(cfg);
}
END_TEST

/* Failures further apart than the window never add up. */
START_TEST(test_window_passes)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	for (int i = 0; i < 20; i++) {
		now += 10001;
		feed_exit(cfg, &st, PID + i, CLD_EXITED, 1);
		ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
		feed(cfg, &st, SVC_EV_RESTART_TIMER);
		feed_spawned(cfg, &st, PID + i + 1);
	}
	ck_assert_uint_eq(st.restarts, 20);
	svc_config_free(cfg);
}
END_TEST

/* burst 0 never gives up; the delay stops at max_delay_ms. */
START_TEST(test_burst_zero_and_cap)
{
	svc_config *cfg = mkcfg(
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"x\"]}},"
	    " \"restart\": {\"burst\": {\"type\": \"count\", \"values\": [0]},"
	    " \"max_delay_ms\": {\"type\": \"count\", \"values\": [\"1000\"]}}}");
	svc_state st;

	child_online(cfg, &st, PID);
	for (int i = 0; i < 50; i++) {
		feed_exit(cfg, &st, PID + i, CLD_DUMPED, SIGSEGV);
		ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
		ck_assert_uint_le(find_act(SVC_ACT_ARM_TIMER)->ms, 1000);
		feed(cfg, &st, SVC_EV_RESTART_TIMER);
		feed_spawned(cfg, &st, PID + i + 1);
	}
	feed_exit(cfg, &st, PID + 50, CLD_EXITED, 1);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 1000);
	svc_config_free(cfg);
}
END_TEST

/* A run as long as the window resets the delay to delay_ms. */
START_TEST(test_long_run_resets_delay)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 1);
	feed(cfg, &st, SVC_EV_RESTART_TIMER);
	feed_spawned(cfg, &st, PID + 1);
	feed_exit(cfg, &st, PID + 1, CLD_EXITED, 1);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 200);
	feed(cfg, &st, SVC_EV_RESTART_TIMER);
	feed_spawned(cfg, &st, PID + 2);
	now += 60000;
	feed_exit(cfg, &st, PID + 2, CLD_EXITED, 1);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 100);
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_exit_95_96)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 95);
	ck_assert_int_eq(st.state, SVC_ST_MAINTENANCE);
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 96);
	ck_assert_int_eq(st.state, SVC_ST_MAINTENANCE);
	ck_assert_str_eq(st.reason, "method exited 96 (config)");
	svc_config_free(cfg);
}
END_TEST

/* Under on-failure a clean exit is final until the operator enables. */
START_TEST(test_clean_exit_holds)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 0);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert(st.hold);
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_uint_eq(nacts, 0);
	feed(cfg, &st, SVC_EV_ENABLE);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_SPAWN));
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_policy_always_and_never)
{
	svc_config *always = mkcfg(
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"x\"]}},"
	    " \"restart\": {\"policy\": {\"type\": \"string\", \"values\": [\"always\"]}}}");
	svc_config *never = mkcfg(
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"x\"]}},"
	    " \"restart\": {\"policy\": {\"type\": \"string\", \"values\": [\"never\"]}}}");
	svc_state st;

	child_online(always, &st, PID);
	feed_exit(always, &st, PID, CLD_EXITED, 0);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_ARM_TIMER));
	child_online(never, &st, PID);
	feed_exit(never, &st, PID, CLD_EXITED, 3);
	ck_assert_int_eq(st.state, SVC_ST_MAINTENANCE);
	svc_config_free(always);
	svc_config_free(never);
}
END_TEST

START_TEST(test_spawn_failure)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	svc_state_init(&st, 0);
	feed(cfg, &st, SVC_EV_ENABLE);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_SPAWNED, .err = 2});
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert_str_eq(st.reason, "start method could not be executed");
	ck_assert_ptr_nonnull(find_act(SVC_ACT_ARM_TIMER));
	svc_config_free(cfg);
}
END_TEST

/* Start timeout: SIGKILL the group, then the exit is a failure. */
START_TEST(test_start_timeout)
{
	svc_config *cfg = mkcfg(NOTIFY);
	svc_state   st;

	reach_phase(cfg, &st, SVC_PH_STARTING);
	feed(cfg, &st, SVC_EV_START_TIMEOUT);
	ck_assert_int_eq(find_act(SVC_ACT_KILL_GROUP)->pgid, PID);
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGKILL);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert_int_eq(st.next, SVC_ST_NONE);
	ck_assert_str_eq(st.reason, "start method timed out");
	ck_assert_ptr_nonnull(find_act(SVC_ACT_ARM_TIMER));
	svc_config_free(cfg);
}
END_TEST

/* Disable: TERM (+CONT) the group, SIGKILL at the stop timeout. */
START_TEST(test_stop_timeout)
{
	svc_config       *cfg = mkcfg(CHILD);
	svc_state         st;
	const svc_action *a;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_DISABLE);
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_SIGNAL_GROUP));
	ck_assert_int_eq(a->sig, SIGTERM);
	ck_assert_int_eq(a->pgid, PID);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 10000);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	ck_assert_int_eq(st.next, SVC_ST_DISABLED);
	feed(cfg, &st, SVC_EV_STOP_TIMEOUT);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_KILL_GROUP));
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGKILL);
	ck_assert_int_eq(st.state, SVC_ST_DISABLED);
	ck_assert_int_eq(st.next, SVC_ST_NONE);
	/* Enable comes back through offline. */
	feed(cfg, &st, SVC_EV_ENABLE);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	svc_config_free(cfg);
}
END_TEST

/* Stop for shutdown: offline, and no restart follows. */
START_TEST(test_stop_request)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_STOP);
	ck_assert_int_eq(st.next, SVC_ST_OFFLINE);
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGTERM);
	ck_assert_int_eq(st.state, SVC_ST_OFFLINE);
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	ck_assert(!st.deps_ok);
	svc_config_free(cfg);
}
END_TEST

/* A pending restart is called off by a stop; deps lost delays it. */
START_TEST(test_pending_restart)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 1);
	feed(cfg, &st, SVC_EV_DEPS_LOST);
	feed(cfg, &st, SVC_EV_RESTART_TIMER);
	ck_assert_ptr_null(find_act(SVC_ACT_SPAWN));
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_SPAWN));

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 1);
	feed(cfg, &st, SVC_EV_STOP);
	ck_assert_str_eq(acts_str(), "cancel_timer");
	ck_assert_int_eq(st.timer, SVC_TIMER_NONE);
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_transient_and_forking)
{
	svc_config *tr = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": [\"transient\"]}},"
	    " \"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"x\"]}}}");
	svc_config *fk = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": [\"forking\"]}},"
	    " \"start\": {\"exec\": {\"type\": \"string\", \"values\": [\"x\"]},"
	    " \"timeout_s\": {\"type\": \"count\", \"values\": [5]}}}");
	svc_state st;

	reach_phase(tr, &st, SVC_PH_STARTING);
	feed_exit(tr, &st, PID, CLD_EXITED, 0);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	ck_assert_int_eq(st.pid, 0);
	ck_assert_ptr_null(find_act(SVC_ACT_KILL_GROUP)); /* its own business */
	feed(tr, &st, SVC_EV_DISABLE);
	ck_assert_int_eq(st.state, SVC_ST_DISABLED);

	/* A transient job that fails takes the stop path: what it left in
	 * its group is killed before any retry. */
	svc_state_init(&st, 0);
	reach_phase(tr, &st, SVC_PH_STARTING);
	feed_exit(tr, &st, PID, CLD_EXITED, 1);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_KILL_GROUP));
	ck_assert_int_eq(find_act(SVC_ACT_KILL_GROUP)->pgid, PID);

	svc_state_init(&st, 0);
	feed(fk, &st, SVC_EV_ENABLE);
	feed(fk, &st, SVC_EV_DEPS_SATISFIED);
	feed_spawned(fk, &st, PID);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 5000);
	feed_exit(fk, &st, PID, CLD_EXITED, 0);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	svc_config_free(tr);
	svc_config_free(fk);
}
END_TEST

START_TEST(test_no_exec_and_bad_config)
{
	svc_config *none = mkcfg("{}");
	svc_config *bad = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": [\"bogus\"]}}}");
	svc_state st;

	svc_state_init(&st, 0);
	feed(none, &st, SVC_EV_ENABLE);
	feed(none, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	ck_assert_ptr_null(find_act(SVC_ACT_SPAWN));

	svc_state_init(&st, 0);
	feed(bad, &st, SVC_EV_ENABLE);
	feed(bad, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_int_eq(st.state, SVC_ST_MAINTENANCE);
	ck_assert_str_eq(st.reason, "invalid configuration");
	svc_config_free(none);
	svc_config_free(bad);
}
END_TEST

/* An exit of some other pid, a stale timer: nothing happens. */
START_TEST(test_stale_events)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed_exit(cfg, &st, PID + 7, CLD_EXITED, 1);
	ck_assert_uint_eq(nacts, 0);
	feed(cfg, &st, SVC_EV_STOP_TIMEOUT);
	ck_assert_uint_eq(nacts, 0);
	feed(cfg, &st, SVC_EV_RESTART_TIMER);
	ck_assert_uint_eq(nacts, 0);
	ck_assert_int_eq(st.state, SVC_ST_ONLINE);
	svc_config_free(cfg);
}
END_TEST

/* since follows the wall clock of the event that changed the state. */
START_TEST(test_since_and_notify)
{
	svc_config       *cfg = mkcfg(CHILD);
	svc_state         st;
	const svc_action *a;

	svc_state_init(&st, 5);
	ck_assert_int_eq(st.since_wall_ms, 5);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_ENABLE, .now_ms = 42});
	ck_assert_int_eq(st.since_wall_ms, 1700000000000LL + 42);
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_NOTIFY));
	ck_assert_int_eq(a->from, SVC_ST_UNINIT);
	ck_assert_int_eq(a->to, SVC_ST_OFFLINE);
	svc_config_free(cfg);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(svc_st_name(SVC_ST_MAINTENANCE), "maintenance");
	ck_assert_ptr_null(svc_st_name(SVC_ST_NONE));
	ck_assert_int_eq(svc_st_parse("online"), SVC_ST_ONLINE);
	ck_assert_int_eq(svc_st_parse("nope"), -1);
}
END_TEST

/*
 * Issue 4: a forking daemon keeps the start method's process group; the
 * shell's MAINPID names the daemon; stop signals the group; the daemon's
 * exit kills what is left of the group.
 */
START_TEST(test_forking_group)
{
	svc_config *cfg = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": "
	    "[\"forking\"]}}, \"start\": {\"exec\": {\"type\": \"string\", "
	    "\"values\": [\"/bin/x\"]}}}");
	svc_state st;
	const svc_action *a;

	svc_state_init(&st, 0);
	feed(cfg, &st, SVC_EV_ENABLE);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	feed_spawned(cfg, &st, PID);
	ck_assert_int_eq(st.pgid, PID);
	feed_exit(cfg, &st, PID, CLD_EXITED, 0);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_ONLINE);
	ck_assert_ptr_null(find_act(SVC_ACT_KILL_GROUP)); /* the daemon lives */
	ck_assert_int_eq(st.pid, 0);
	ck_assert_int_eq(st.pgid, PID);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_MAINPID, .pid = PID + 5,
	    .pgid = PID + 4});
	ck_assert_int_eq(st.pid, PID + 5);
	ck_assert_int_eq(st.pgid, PID + 4);
	ck_assert_ptr_nonnull(find_act(SVC_ACT_PERSIST));
	feed(cfg, &st, SVC_EV_DISABLE);
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_SIGNAL_GROUP));
	ck_assert_int_eq(a->pgid, PID + 4);
	feed_exit(cfg, &st, PID + 5, CLD_KILLED, SIGTERM);
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_KILL_GROUP));
	ck_assert_int_eq(a->pgid, PID + 4);
	ck_assert_int_eq(st.pgid, 0);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_DISABLED);
	svc_config_free(cfg);
}
END_TEST

/* notify: MAINPID= names the daemon; the wrapper's exit no longer counts. */
START_TEST(test_notify_mainpid)
{
	svc_config *cfg = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": "
	    "[\"notify\"]}}, \"start\": {\"exec\": {\"type\": \"string\", "
	    "\"values\": [\"/bin/x\"]}}}");
	svc_state st;

	reach_phase(cfg, &st, SVC_PH_STARTING);
	feed(cfg, &st, SVC_EV_READY);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_ONLINE);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_MAINPID, .pid = PID + 7,
	    .pgid = PID});
	ck_assert_int_eq(st.pid, PID + 7);
	feed_exit(cfg, &st, PID, CLD_EXITED, 0); /* the wrapper */
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_ONLINE);
	ck_assert_ptr_null(find_act(SVC_ACT_KILL_GROUP));
	feed_exit(cfg, &st, PID + 7, CLD_KILLED, SIGKILL); /* the daemon */
	ck_assert_int_ne(svc_phase_of(&st), SVC_PH_ONLINE);
	svc_config_free(cfg);
}
END_TEST

/* Issue 4: operator events restart, mark and stop method in sequence. */
START_TEST(test_operator_events)
{
	svc_config *cfg = mkcfg(
	    "{\"start\": {\"exec\": {\"type\": \"string\", \"values\": "
	    "[\"/bin/x\"]}}, \"stop\": {\"exec\": {\"type\": \"string\", "
	    "\"values\": [\"/bin/stop\"]}}}");
	svc_state st;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_RESTART);
	ck_assert_str_eq(acts_str(), "stop_method arm_timer notify persist");
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGTERM);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_OFFLINE);
	ck_assert(!st.hold);
	ck_assert_uint_eq(st.restarts, 0); /* an operator's restart is no failure */
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	feed_spawned(cfg, &st, PID + 1);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_ONLINE);
	feed(cfg, &st, SVC_EV_MARK_MAINT);
	feed_exit(cfg, &st, PID + 1, CLD_KILLED, SIGTERM);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_MAINTENANCE);
	ck_assert_str_eq(st.reason, "marked maintenance by an operator");
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_MAINTENANCE);
	feed(cfg, &st, SVC_EV_CLEAR);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_OFFLINE);
	svc_config_free(cfg);
}
END_TEST

/* ---- method timeouts and the shutdown budget ------------------------------ */

#define STOP_EXEC(timeout)                                                     \
	"{\"start\": {\"exec\": {\"type\": \"string\", \"values\": "           \
	"[\"/bin/x\"]}}, \"stop\": {\"exec\": {\"type\": \"string\", "          \
	"\"values\": [\"/bin/stop\"]}, \"timeout_s\": {\"type\": \"count\", "    \
	"\"values\": [" #timeout "]}}}"

/* A stop method that hangs: killed at the stop timeout, then the group gets
 * the stop signal and SIGKILL at a fresh timeout. */
START_TEST(test_stop_method_hangs)
{
	svc_config       *cfg = mkcfg(STOP_EXEC(2));
	svc_state         st;
	const svc_action *a;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_DISABLE);
	ck_assert_str_eq(acts_str(), "stop_method arm_timer notify persist");
	ck_assert(st.stop_method);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 2000);
	feed(cfg, &st, SVC_EV_STOP_TIMEOUT);
	ck_assert_str_eq(acts_str(),
	    "kill_method signal_group signal_group arm_timer");
	ck_assert_int_eq(acts[1].sig, SIGTERM);
	ck_assert_int_eq(acts[1].pgid, PID);
	ck_assert_uint_eq(acts[3].ms, 2000);
	ck_assert(!st.stop_method);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_STOPPING);
	/* Its exit, reaped later, changes nothing. */
	feed(cfg, &st, SVC_EV_METHOD_DONE);
	ck_assert_str_eq(acts_str(), "");
	/* The group ignores the signal too: SIGKILL. */
	feed(cfg, &st, SVC_EV_STOP_TIMEOUT);
	ck_assert_str_eq(acts_str(), "kill_group");
	ck_assert_ptr_nonnull(a = find_act(SVC_ACT_KILL_GROUP));
	ck_assert_int_eq(a->pgid, PID);
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGKILL);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_DISABLED);
	svc_config_free(cfg);
}
END_TEST

/* A stop method that returns: the group gets the stop signal, once. */
START_TEST(test_stop_method_done)
{
	svc_config *cfg = mkcfg(STOP_EXEC(2));
	svc_state   st;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_DISABLE);
	feed(cfg, &st, SVC_EV_METHOD_DONE);
	ck_assert_str_eq(acts_str(), "signal_group signal_group");
	ck_assert_int_eq(acts[0].sig, SIGTERM);
	ck_assert_int_eq(acts[1].sig, SIGCONT);
	feed(cfg, &st, SVC_EV_METHOD_DONE);
	ck_assert_str_eq(acts_str(), "");
	/* The timer still runs: SIGKILL, not another method kill. */
	feed(cfg, &st, SVC_EV_STOP_TIMEOUT);
	ck_assert_str_eq(acts_str(), "kill_group");
	svc_config_free(cfg);
}
END_TEST

/* A refresh method that hangs: the instance stops into maintenance. */
START_TEST(test_refresh_timeout)
{
	svc_config *cfg = mkcfg(CHILD);
	svc_state   st;

	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_REFRESH_TIMEOUT);
	ck_assert_int_eq(acts[0].type, SVC_ACT_KILL_METHOD);
	ck_assert_int_eq(st.next, SVC_ST_MAINTENANCE);
	feed_exit(cfg, &st, PID, CLD_KILLED, SIGTERM);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_MAINTENANCE);
	ck_assert_str_eq(st.reason, "refresh method timed out");
	ck_assert_uint_eq(st.restarts, 0);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_MAINTENANCE);
	feed(cfg, &st, SVC_EV_CLEAR);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_OFFLINE);
	svc_config_free(cfg);
}
END_TEST

/* Shutdown: stop timers are cut to the budget the event carries. */
START_TEST(test_shutdown_cap)
{
	svc_config *cfg = mkcfg(STOP_EXEC(30));
	svc_config *inf = mkcfg(STOP_EXEC(0));
	svc_state   st;

	/* A stop that begins in the budget. */
	child_online(cfg, &st, PID);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_STOP, .cap_ms = 700});
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 700);
	/* A wider cap never lengthens it; a narrower one cuts it again. */
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_STOP, .cap_ms = 5000});
	ck_assert_str_eq(acts_str(), "");
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_STOP, .cap_ms = 300});
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 300);
	/* The hung stop method's fresh timeout is cut too. */
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_STOP_TIMEOUT,
	    .cap_ms = 200});
	ck_assert_str_eq(acts_str(),
	    "kill_method signal_group signal_group arm_timer");
	ck_assert_uint_eq(acts[3].ms, 200);

	/* A stop already under way (30 s) when shutdown begins. */
	child_online(cfg, &st, PID);
	feed(cfg, &st, SVC_EV_DISABLE);
	ck_assert_uint_eq(find_act(SVC_ACT_ARM_TIMER)->ms, 30000);
	feed_ev(cfg, &st, (svc_event){.type = SVC_EV_STOP, .cap_ms = 900});
	ck_assert_str_eq(acts_str(), "arm_timer");
	ck_assert_uint_eq(acts[0].ms, 900);

	/* timeout_s 0: no stop timer, until the budget gives one. */
	child_online(inf, &st, PID);
	feed(inf, &st, SVC_EV_DISABLE);
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	ck_assert_int_eq(st.timer, SVC_TIMER_NONE);
	feed_ev(inf, &st, (svc_event){.type = SVC_EV_STOP, .cap_ms = 400});
	ck_assert_str_eq(acts_str(), "arm_timer");
	ck_assert_uint_eq(acts[0].ms, 400);
	/* Without a cap a stop never ends in SIGKILL by itself. */
	feed(inf, &st, SVC_EV_STOP);
	ck_assert_str_eq(acts_str(), "");
	svc_config_free(cfg);
	svc_config_free(inf);
}
END_TEST

/* timeout_s 0 on a start method: no start timer (SMF: no timeout). */
START_TEST(test_start_timeout_zero)
{
	svc_config *cfg = mkcfg(
	    "{\"general\": {\"model\": {\"type\": \"string\", \"values\": "
	    "[\"notify\"]}}, \"start\": {\"exec\": {\"type\": \"string\", "
	    "\"values\": [\"/bin/x\"]}, \"timeout_s\": {\"type\": \"count\", "
	    "\"values\": [0]}}}");
	svc_state st;

	svc_state_init(&st, 0);
	feed(cfg, &st, SVC_EV_ENABLE);
	feed(cfg, &st, SVC_EV_DEPS_SATISFIED);
	feed_spawned(cfg, &st, PID);
	ck_assert_ptr_null(find_act(SVC_ACT_ARM_TIMER));
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_STARTING);
	feed(cfg, &st, SVC_EV_READY);
	ck_assert_int_eq(svc_phase_of(&st), SVC_PH_ONLINE);
	svc_config_free(cfg);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("kstartd_restarter");
	TCase *t = tcase_create("table");

	tcase_add_test(t, test_table_complete);
	tcase_add_loop_test(t, test_cell, 0, NCELLS);
	suite_add_tcase(s, t);
	t = tcase_create("sequences");
	tcase_add_test(t, test_kill9_restarts);
	tcase_add_test(t, test_backoff_and_burst);
	tcase_add_test(t, test_window_passes);
	tcase_add_test(t, test_burst_zero_and_cap);
	tcase_add_test(t, test_long_run_resets_delay);
	tcase_add_test(t, test_exit_95_96);
	tcase_add_test(t, test_clean_exit_holds);
	tcase_add_test(t, test_policy_always_and_never);
	tcase_add_test(t, test_spawn_failure);
	tcase_add_test(t, test_start_timeout);
	tcase_add_test(t, test_stop_timeout);
	tcase_add_test(t, test_stop_request);
	tcase_add_test(t, test_pending_restart);
	tcase_add_test(t, test_transient_and_forking);
	tcase_add_test(t, test_notify_mainpid);
	tcase_add_test(t, test_no_exec_and_bad_config);
	tcase_add_test(t, test_stale_events);
	tcase_add_test(t, test_since_and_notify);
	tcase_add_test(t, test_names);
	tcase_add_test(t, test_forking_group);
	tcase_add_test(t, test_operator_events);
	tcase_add_test(t, test_stop_method_hangs);
	tcase_add_test(t, test_stop_method_done);
	tcase_add_test(t, test_refresh_timeout);
	tcase_add_test(t, test_shutdown_cap);
	tcase_add_test(t, test_start_timeout_zero);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int      failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
