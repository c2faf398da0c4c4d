/*
 * core.c - the engine behind both the service and `PipesService run`:
 * configuration, the data folders (checked before anything is written),
 * spool, delivery, submit pipe and status pipe, then a main loop that
 * sleeps on events. It wakes only for a stop request, a session change, the
 * next ttl expiry, the next try for a submit pipe name held by another
 * process, or a slow periodic session rescan (sessions Wine never
 * announces, and a console run that gets no SESSIONCHANGE).
 */
#include "svc.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <wtsapi32.h>

#include "messages.h"

#define RESCAN_MS 30000
#define POLL_MS 5000 /* identity-mismatch reports (as often as the tray reconnect timer), idle
                      * connections */
#define START_HINT_MS 15000
#define STOP_HINT_MS 15000
#define MAX_CHANGES 64
/* Submit pipe name held by someone else: tries 1 s, 2 s, 4 s ... then every
 * 60 s; the warning is repeated at most every 10 minutes. */
#define SUBMIT_RETRY_FIRST_MS 1000
#define SUBMIT_RETRY_MAX_MS 60000
#define SUBMIT_REPORT_MS 600000

static struct {
    svc_config cfg;
    /* The data folders, open from start to exit: checked once, and while
     * open nobody can rename or delete them (safedir.h). */
    safedir data_dir, log_dir, spool_dir;
    spool *spool;
    delivery *delivery;
    submit *submit;
    control *control;
    /* Submit pipe not served yet (its name is held): since when, the next
     * try, the current backoff, tries so far, the last warning. Main loop
     * and status_report (under submit_lock). */
    SRWLOCK submit_lock;
    int submit_waiting;
    int64_t submit_since_ms, submit_next_ms, submit_reported_ms;
    uint32_t submit_backoff_ms, submit_tries;
    fleet *fleet; /* NULL when no broker is configured; set before it starts */
    int console;
    int64_t started_ms;
    spool_open_info open_info;
    SRWLOCK change_lock;
    HANDLE wake;
    DWORD change_type[MAX_CHANGES];
    DWORD change_session[MAX_CHANGES];
    size_t change_n;
} g = {.change_lock = SRWLOCK_INIT, .submit_lock = SRWLOCK_INIT};

void core_session_change(DWORD event_type, DWORD session)
{
    AcquireSRWLockExclusive(&g.change_lock);
    if (g.change_n < MAX_CHANGES) {
        g.change_type[g.change_n] = event_type;
        g.change_session[g.change_n] = session;
        g.change_n++;
    }
    if (g.wake)
        SetEvent(g.wake);
    ReleaseSRWLockExclusive(&g.change_lock);
}

static void apply_session_changes(void)
{
    DWORD types[MAX_CHANGES], ids[MAX_CHANGES];
    size_t n, i;
    AcquireSRWLockExclusive(&g.change_lock);
    n = g.change_n;
    memcpy(types, g.change_type, n * sizeof types[0]);
    memcpy(ids, g.change_session, n * sizeof ids[0]);
    g.change_n = 0;
    ReleaseSRWLockExclusive(&g.change_lock);
    for (i = 0; i < n; i++) {
        wchar_t ws[16];
        const wchar_t *what = delivery_session_event(g.delivery, types[i], ids[i]);
        swprintf(ws, 16, L"%lu", (unsigned long)ids[i]);
        if (what)
            svc_event(EVENTLOG_INFORMATION_TYPE, MSG_SESSION_CHANGE, ws, what, NULL);
    }
}

static void rescan_sessions(void)
{
    uint32_t ids[SVC_MAX_SESSIONS];
    size_t n = svc_sessions_enumerate(ids, SVC_MAX_SESSIONS);
    delivery_sessions_sync(g.delivery, ids, n);
    fleet_sessions(g.fleet, ids, n);
}

/* g.fleet from threads other than the main loop's. */
static fleet *the_fleet(void)
{
    return (fleet *)InterlockedCompareExchangePointer((PVOID volatile *)&g.fleet, NULL, NULL);
}

/* delivery's callback: the local submitter waiting for it, or the broker's
 * status topic (fleet.c). */
static void on_displayed(void *ctx, const char *sid, const char *id, uint32_t session)
{
    submit_displayed(ctx, sid, id, session);
    fleet_displayed(the_fleet(), sid, id, session);
}

/* The winning answer goes to a waiting submitter and, for a broker record,
 * to the status topic (`response`: the action's id, or dismissed/timeout). */
static void on_answered(void *ctx, const char *sid, const char *id,
                        const pipes_proto_answer *winner)
{
    const char *what = winner->result == PIPES_PROTO_RESULT_ACTION
                           ? winner->action
                           : pipes_proto_result_name(winner->result);
    submit_answered(ctx, sid, id, winner);
    fleet_response(the_fleet(), sid, id, winner->session, what ? what : "");
}

static size_t status_report(char *buf, size_t cap, void *ctx)
{
    spool_stats ss;
    delivery_stats ds;
    submit_stats sb;
    FILETIME c, e, k, u;
    ULARGE_INTEGER ku, uu;
    size_t n = 0, i;
    int w;
    (void)ctx;

    spool_get_stats(g.spool, &ss);
    delivery_get_stats(g.delivery, &ds);
    submit_get_stats(g.submit, &sb);
    GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u);
    ku.LowPart = k.dwLowDateTime;
    ku.HighPart = k.dwHighDateTime;
    uu.LowPart = u.dwLowDateTime;
    uu.HighPart = u.dwHighDateTime;

#define ADD(...)                                                                                 \
    do {                                                                                         \
        w = snprintf(buf + n, cap - n, __VA_ARGS__);                                             \
        if (w > 0)                                                                               \
            n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;                                  \
    } while (0)
    ADD("mode: %s\n", g.console ? "console" : "service");
    ADD("pid: %lu\n", (unsigned long)GetCurrentProcessId());
    ADD("uptime seconds: %lld\n", (long long)((svc_now_ms() - g.started_ms) / 1000));
    ADD("cpu milliseconds: %llu\n",
        (unsigned long long)((ku.QuadPart + uu.QuadPart) / 10000));
    ADD("queue depth: %llu\n", (unsigned long long)ss.pending_deliveries);
    ADD("spool records: %llu\n", (unsigned long long)ss.count);
    ADD("spool bytes: %llu\n", (unsigned long long)ss.bytes);
    ADD("spool memory bytes: %llu\n", (unsigned long long)ss.record_memory);
    ADD("delivered records evicted for room: %llu\n", (unsigned long long)ss.evicted);
    ADD("answers stored: %llu (late: %llu)\n", (unsigned long long)ss.answers,
        (unsigned long long)ss.answers_late);
    ADD("spool submitters: %llu\n", (unsigned long long)ss.submitters);
    ADD("sessions tracked: %u\n", (unsigned)ds.session_count);
    for (i = 0; i < ds.session_count; i++) {
        const delivery_session_info *si = &ds.sessions[i];
        ADD("session %lu: %s, delivered %llu, identity mismatches %llu, squatted %llu, "
            "unverified %llu\n",
            (unsigned long)si->session,
            si->squatted ? "tray pipe not trusted (squatted or unverified; nothing sent)"
                         : si->connected ? "tray connected" : "no tray",
            (unsigned long long)si->delivered, (unsigned long long)si->identity_mismatches,
            (unsigned long long)si->squats, (unsigned long long)si->unverified);
    }
    ADD("connections open: %llu\n", (unsigned long long)sb.open);
    ADD("connections refused, per process cap: %llu\n", (unsigned long long)sb.refused_process);
    ADD("connections refused, per session cap: %llu\n", (unsigned long long)sb.refused_session);
    ADD("connections refused, per user cap: %llu\n", (unsigned long long)sb.refused_user);
    ADD("connections refused, not identified: %llu\n", (unsigned long long)sb.unidentified);
    ADD("connections closed idle: %llu\n", (unsigned long long)sb.idle_closed);
    ADD("connections closed, not reading replies: %llu\n", (unsigned long long)sb.not_reading);
    ADD("reply bytes queued: %llu\n", (unsigned long long)sb.reply_bytes_queued);
    AcquireSRWLockShared(&g.submit_lock);
    if (g.submit_waiting)
        ADD("submit pipe: waiting, the name is held by another process (%lld s, %lu tries, "
            "next in %lld s)\n",
            (long long)((svc_now_ms() - g.submit_since_ms) / 1000),
            (unsigned long)g.submit_tries,
            (long long)((g.submit_next_ms - svc_now_ms() + 999) / 1000));
    else
        ADD("submit pipe: serving\n");
    ReleaseSRWLockShared(&g.submit_lock);
    ADD("accepted: %llu\n", (unsigned long long)sb.accepted);
    ADD("accepted again (same id): %llu\n", (unsigned long long)sb.duplicates);
    ADD("rejected: %llu\n", (unsigned long long)sb.rejected);
    for (i = 1; i < 10; i++) {
        const char *name = pipes_proto_reason_name((pipes_proto_reason)i);
        if (name && sb.rejected_by_reason[i])
            ADD("rejected %s: %llu\n", name, (unsigned long long)sb.rejected_by_reason[i]);
    }
    ADD("delivered: %llu\n", (unsigned long long)ds.delivered);
    ADD("rejected by policy (not_allowed): %llu\n",
        (unsigned long long)sb.not_allowed_by_policy);
    ADD("rejected over a user's quota: %llu\n", (unsigned long long)ss.quota_refusals);
    ADD("rejected by trays: %llu\n", (unsigned long long)ds.tray_rejected);
    ADD("identity mismatches: %llu\n", (unsigned long long)ds.identity_mismatches);
    ADD("tray pipes squatted: %llu\n", (unsigned long long)ds.squats);
    ADD("tray servers unverified: %llu\n", (unsigned long long)ds.unverified);
    ADD("damaged records set aside at start: %lu\n", (unsigned long)g.open_info.damaged);
#undef ADD
    n += fleet_status(the_fleet(), buf + n, cap - n);
    return n;
}

static int fail(const wchar_t *what, DWORD code)
{
    wchar_t text[256];
    svc_win32_text(code, text, 256);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_SERVICE_ERROR, what, text, NULL);
    return SVC_EXIT_FAILED;
}

/* Opens one data folder (created if missing, locked from its creation on);
 * a folder that fails a check is reported and nothing in it is touched. */
static int open_data_dir(safedir *d, const wchar_t *path)
{
    safedir_report why;
    wchar_t text[SAFEDIR_MAX_SID + 3 * MAX_PATH];
    if (safedir_open(d, path, SVC_DATA_DIR_SDDL, 0, &why))
        return SVC_EXIT_OK;
    safedir_describe(&why, text, sizeof text / sizeof text[0]);
    svc_event(EVENTLOG_ERROR_TYPE, MSG_DATA_DIR_UNSAFE, path, text, NULL);
    return SVC_EXIT_DATA_DIR_UNSAFE;
}

/* The process serving name now, as "process N" (or "process unknown"):
 * what an administrator needs to find a squatter. */
static void pipe_holder(const wchar_t *name, wchar_t *out, size_t cap)
{
    ULONG pid = 0;
    HANDLE h = CreateFileW(name, FILE_READ_ATTRIBUTES, 0, NULL, OPEN_EXISTING,
                           SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        GetNamedPipeServerProcessId(h, &pid);
        CloseHandle(h);
    }
    if (pid)
        swprintf(out, cap, L"process %lu", (unsigned long)pid);
    else
        swprintf(out, cap, L"process unknown");
}

/* Starts the submit pipe. A name held by another process is not fatal (a
 * service that gave up would let a squatter keep it for good): the engine
 * runs on, reports it, and tries again with backoff. Returns SVC_EXIT_OK,
 * or SVC_EXIT_FAILED for any other failure at the first try. */
static int try_submit(void)
{
    pipes_status st = submit_start(g.submit, &g.cfg, g.delivery);
    int64_t now = svc_now_ms();
    wchar_t holder[64], a[32];
    int first;

    AcquireSRWLockExclusive(&g.submit_lock);
    first = !g.submit_waiting;
    if (st == PIPES_OK) {
        g.submit_waiting = 0;
    } else if (first && st != PIPES_ERR_NAME_IN_USE) {
        ReleaseSRWLockExclusive(&g.submit_lock);
        {
            wchar_t what[PIPES_MAX_PIPE_NAME + 64];
            swprintf(what, sizeof what / sizeof what[0], L"submit pipe %ls: %hs",
                     g.cfg.submit_pipe, pipes_status_string(st));
            svc_event(EVENTLOG_ERROR_TYPE, MSG_SERVICE_ERROR, what, L"not started", NULL);
        }
        return SVC_EXIT_FAILED;
    } else {
        if (first) {
            g.submit_waiting = 1;
            g.submit_since_ms = now;
            g.submit_tries = 0;
            g.submit_backoff_ms = SUBMIT_RETRY_FIRST_MS;
        } else {
            g.submit_backoff_ms = g.submit_backoff_ms >= SUBMIT_RETRY_MAX_MS / 2
                                      ? SUBMIT_RETRY_MAX_MS
                                      : 2 * g.submit_backoff_ms;
        }
        g.submit_tries++;
        g.submit_next_ms = now + g.submit_backoff_ms;
    }
    ReleaseSRWLockExclusive(&g.submit_lock);

    if (st == PIPES_OK) {
        if (!first) {
            swprintf(a, 32, L"%lld", (long long)((now - g.submit_since_ms) / 1000));
            svc_event(EVENTLOG_INFORMATION_TYPE, MSG_SUBMIT_PIPE_STARTED, g.cfg.submit_pipe, a,
                      NULL);
        }
    } else if (first || now - g.submit_reported_ms >= SUBMIT_REPORT_MS) {
        g.submit_reported_ms = now;
        if (st == PIPES_ERR_NAME_IN_USE)
            pipe_holder(g.cfg.submit_pipe, holder, 64);
        else
            swprintf(holder, 64, L"%hs", pipes_status_string(st));
        swprintf(a, 32, L"%lu", (unsigned long)(g.submit_backoff_ms / 1000));
        svc_event(EVENTLOG_WARNING_TYPE, MSG_SUBMIT_PIPE_IN_USE, g.cfg.submit_pipe, holder, a);
    }
    return SVC_EXIT_OK;
}

int core_run(HANDLE stop_event, core_report_fn report, int console)
{
    spool_limits lim;
    spool_result sr;
    pipes_status st;
    wchar_t a[32], b[32], c[32];
    int rc = SVC_EXIT_OK;
    int64_t next_expiry = INT64_MAX, last_rescan;
    spool_stats ss;

    g.console = console;
    g.started_ms = svc_now_ms();
    g.submit_waiting = 0;
    report(SERVICE_START_PENDING, START_HINT_MS);
    svc_config_load(&g.cfg);
    /* The Event Log (and the console) first: the folders may be refused.
     * They are checked data folder first, then logs (so that a refused
     * spool is in the text log too), then spool. */
    svc_log_init(NULL, g.cfg.log_max_kb * 1024u, console);
    g.data_dir.h = g.log_dir.h = g.spool_dir.h = INVALID_HANDLE_VALUE;
    rc = open_data_dir(&g.data_dir, g.cfg.data_dir);
    if (rc == SVC_EXIT_OK)
        rc = open_data_dir(&g.log_dir, g.cfg.log_dir);
    if (rc == SVC_EXIT_OK) {
        svc_log_init(&g.log_dir, g.cfg.log_max_kb * 1024u, console);
        rc = open_data_dir(&g.spool_dir, g.cfg.spool_dir);
    }
    if (rc != SVC_EXIT_OK)
        goto out_log;
    svc_config_report();
    g.wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!g.wake) {
        rc = fail(L"CreateEvent", GetLastError());
        goto out_log;
    }
    lim.max_count = g.cfg.max_spool_count;
    lim.max_bytes = (uint64_t)g.cfg.max_spool_mb << 20;
    lim.default_ttl = g.cfg.default_ttl;
    sr = spool_open(g.cfg.spool_dir, SVC_DATA_DIR_SDDL, &lim, svc_now_ms(), &g.spool,
                    &g.open_info);
    if (sr != SPOOL_OK) {
        rc = fail(g.cfg.spool_dir, GetLastError());
        goto out_wake;
    }
    report(SERVICE_START_PENDING, START_HINT_MS);
    /* Submit first, its pipe last: delivery calls submit_displayed from its
     * first session on, and submissions kick delivery. */
    g.submit = submit_create(&g.cfg, g.spool);
    g.delivery = g.submit ? delivery_create(g.spool, &g.cfg, on_displayed, g.submit) : NULL;
    if (!g.delivery) {
        rc = fail(L"delivery", ERROR_NOT_ENOUGH_MEMORY);
        goto out_delivery;
    }
    delivery_set_answered(g.delivery, on_answered);
    rc = try_submit();
    if (rc != SVC_EXIT_OK)
        goto out_delivery;
    st = control_start(status_report, NULL, &g.control);
    if (st != PIPES_OK) {
        /* Not fatal: only `status` needs it. */
        wchar_t what[128];
        swprintf(what, 128, L"status pipe: %hs", pipes_status_string(st));
        svc_event(EVENTLOG_WARNING_TYPE, MSG_SERVICE_ERROR, what, L"status unavailable", NULL);
    }
    InterlockedExchangePointer((PVOID volatile *)&g.fleet,
                               fleet_create(&g.cfg, g.spool, g.delivery));
    swprintf(a, 32, L"%lu", (unsigned long)g.open_info.loaded);
    swprintf(b, 32, L"%lu", (unsigned long)g.open_info.damaged);
    swprintf(c, 32, L"%lu", (unsigned long)g.open_info.expired);
    svc_event(EVENTLOG_INFORMATION_TYPE, MSG_SERVICE_STARTED, a, b, c);
    /* RUNNING before the first connection to a tray: a tray trusts a
     * connection as the service's only when the SCM says this process runs
     * as PipesService (TrayNotifier/peers.c), and judges it once, at connect.
     * Connected while START_PENDING, the whole connection was taken for a
     * direct sender's (sender replaced, answers not sent back). */
    report(SERVICE_RUNNING, 0);
    rescan_sessions();
    last_rescan = svc_now_ms();
    fleet_start(g.fleet);

    for (;;) {
        HANDLE hs[2];
        DWORD wait = POLL_MS, r;
        int64_t now = svc_now_ms();
        uint32_t lost = 0;
        hs[0] = stop_event;
        hs[1] = g.wake;
        if (next_expiry != INT64_MAX) {
            int64_t until = next_expiry - now;
            if (until < 0)
                until = 0;
            if (until < (int64_t)wait)
                wait = (DWORD)until + 50;
        }
        if (g.submit_waiting) {
            int64_t until = g.submit_next_ms - now;
            if (until < (int64_t)wait)
                wait = until < 0 ? 0 : (DWORD)until;
        }
        r = WaitForMultipleObjects(2, hs, FALSE, wait);
        if (r == WAIT_OBJECT_0)
            break;
        if (r == WAIT_OBJECT_0 + 1) {
            apply_session_changes();
            if (g.fleet) {
                /* The user topics follow logons and logoffs. */
                uint32_t ids[SVC_MAX_SESSIONS];
                fleet_sessions(g.fleet, ids, svc_sessions_enumerate(ids, SVC_MAX_SESSIONS));
            }
        }
        if (svc_now_ms() - last_rescan >= RESCAN_MS) {
            rescan_sessions();
            last_rescan = svc_now_ms();
        }
        if (spool_expire(g.spool, svc_now_ms(), &lost, &next_expiry) && lost) {
            swprintf(a, 32, L"%lu", (unsigned long)lost);
            svc_event(EVENTLOG_WARNING_TYPE, MSG_NOTIFICATIONS_EXPIRED, a, NULL, NULL);
        }
        delivery_poll(g.delivery);
        if (g.submit_waiting && svc_now_ms() >= g.submit_next_ms)
            try_submit();
        submit_poll(g.submit, svc_now_ms());
        if (r == WAIT_FAILED) {
            rc = fail(L"WaitForMultipleObjects", GetLastError());
            break;
        }
    }

    report(SERVICE_STOP_PENDING, STOP_HINT_MS);
    fleet_stop(g.fleet); /* no broker record is added after this */
    submit_set_stopping(g.submit);
    submit_stop(g.submit);
    control_stop(g.control);
    g.control = NULL;
    report(SERVICE_STOP_PENDING, STOP_HINT_MS);
out_delivery:
    delivery_destroy(g.delivery);
    g.delivery = NULL;
    /* After delivery: its workers may still report `displayed`. */
    fleet_free((fleet *)InterlockedExchangePointer((PVOID volatile *)&g.fleet, NULL));
    submit_free(g.submit);
    g.submit = NULL;
    spool_get_stats(g.spool, &ss);
    swprintf(a, 32, L"%llu", (unsigned long long)ss.count);
    svc_event(EVENTLOG_INFORMATION_TYPE, MSG_SERVICE_STOPPED, a, NULL, NULL);
    spool_close(g.spool);
    g.spool = NULL;
out_wake:
    AcquireSRWLockExclusive(&g.change_lock);
    CloseHandle(g.wake);
    g.wake = NULL;
    ReleaseSRWLockExclusive(&g.change_lock);
out_log:
    svc_log_close();
    safedir_close(&g.spool_dir);
    safedir_close(&g.log_dir);
    safedir_close(&g.data_dir);
    return rc;
}
