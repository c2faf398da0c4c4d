/*
 * fleet.c - the broker bridge (docs/FLEET.md): one persistent MQTT session
 * (PipesService/mqtt) subscribed with QoS 1 to <prefix>/all,
 * <prefix>/host/<computer> and <prefix>/user/<name> for each user with an
 * interactive session (following logons through fleet_sessions). What
 * arrives goes into the spool before it is acknowledged (fleetin.c); what
 * happens to it is reported on <prefix>/status/<computer>.
 *
 * Threads: the session's thread runs the delivery and event callbacks; the
 * main loop calls fleet_sessions; delivery's workers call fleet_displayed;
 * the status pipe calls fleet_status. The session's own API is safe from
 * any thread; the bridge's lock covers only the user list and what was last
 * logged.
 */
#include "fleetint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "messages.h"

void fleet_log(fleet *f, WORD type, const char *text)
{
    wchar_t url[512], wt[1024];
    if (svc_to_wide(f->origin, strlen(f->origin), url, 512) < 0)
        wcscpy(url, L"?");
    if (svc_to_wide(text, strlen(text), wt, 1024) < 0)
        wcscpy(wt, L"?");
    svc_event(type, MSG_BROKER, url, wt, NULL);
}

/* Session thread. A connection that keeps failing the same way is logged
 * once, not at every backoff. */
static void on_event(void *ctx, const mqtt_event *ev)
{
    fleet *f = (fleet *)ctx;
    char text[600];
    int log_it = 0;
    switch (ev->kind) {
    case MQTT_EV_CONNECTED:
        AcquireSRWLockExclusive(&f->lock);
        log_it = f->last_logged != MQTT_OK;
        f->last_logged = MQTT_OK;
        ReleaseSRWLockExclusive(&f->lock);
        if (log_it)
            fleet_log(f, EVENTLOG_INFORMATION_TYPE,
                       ev->session_present ? "connected (the broker kept the session)"
                                           : "connected (new session)");
        break;
    case MQTT_EV_DISCONNECTED:
        AcquireSRWLockExclusive(&f->lock);
        log_it = f->last_logged != ev->status;
        f->last_logged = ev->status;
        ReleaseSRWLockExclusive(&f->lock);
        if (log_it) {
            snprintf(text, sizeof text, "not connected: %s: %s%s%s", mqtt_status_name(ev->status),
                     mqtt_status_text(ev->status), ev->detail[0] ? ": " : "", ev->detail);
            fleet_log(f, EVENTLOG_WARNING_TYPE, text);
        }
        break;
    case MQTT_EV_SUBSCRIBED:
        if (ev->status != MQTT_OK) {
            snprintf(text, sizeof text, "subscription to %s refused (%s): check the broker's ACL",
                     ev->filter, mqtt_status_name(ev->status));
            fleet_log(f, EVENTLOG_WARNING_TYPE, text);
        }
        break;
    case MQTT_EV_REJECTED:
        snprintf(text, sizeof text, "a message on %s was refused: %s %s", ev->filter,
                 mqtt_status_name(ev->status), ev->detail);
        fleet_log(f, EVENTLOG_WARNING_TYPE, text);
        fleet_status_rejected(f, ev->filter, "", "too_large", mqtt_status_text(ev->status));
        break;
    case MQTT_EV_LOST: /* fleet_on_publish reported it (fleetin.c, not_now) */
        break;
    default: break;
    }
}

fleet *fleet_create(const svc_config *cfg, spool *s, delivery *d)
{
    const svc_fleet_config *fc = &cfg->fleet;
    mqtt_session_config mc;
    fleet *f;
    char password[512];
    size_t password_len = 0;
    mqtt_status st;
    wchar_t env[16];

    if (!fc->enabled)
        return NULL;
    f = (fleet *)calloc(1, sizeof *f);
    if (!f)
        return NULL;
    InitializeSRWLock(&f->lock);
    f->cfg = cfg;
    f->spool = s;
    f->delivery = d;
    f->last_logged = MQTT_OK;
    f->last_full_log_ms = INT64_MIN / 2;
    f->last_lost_log_ms = INT64_MIN / 2;
    if (svc_to_utf8(fc->url, f->origin, sizeof f->origin) < 0)
        strcpy(f->origin, "(broker)");
    snprintf(f->topic_all, FLEET_TOPIC_MAX, "%s/all", fc->prefix);
    snprintf(f->topic_host, FLEET_TOPIC_MAX, "%s/host/%s", fc->prefix, fc->computer);
    snprintf(f->user_prefix, FLEET_TOPIC_MAX, "%s/user/", fc->prefix);
    snprintf(f->status_topic, FLEET_TOPIC_MAX, "%s/status/%s", fc->prefix, fc->computer);
    /* Test hook (docs/FLEET.md "Tests"): end the process right after the
     * Nth record is on disk, before its PUBACK. */
    if (GetEnvironmentVariableW(L"PIPES_FLEET_TEST_EXIT_AFTER_SPOOL", env, 16) - 1u < 15u)
        f->exit_after_spool = (uint32_t)wcstoul(env, NULL, 10);
    /* NT SERVICE\PipesService's SID: no other submitter has it, so broker
     * ids are a namespace of their own. */
    snprintf(f->sid, sizeof f->sid, "%s", PIPES_PROTO_SERVICE_SID_A);
    if (fc->password_blob_len) {
        DWORD rc = svc_fleet_unprotect(fc->password_blob, fc->password_blob_len, password,
                                       sizeof password, &password_len);
        if (rc != ERROR_SUCCESS) {
            char text[128];
            snprintf(text, sizeof text,
                     "bridge off: BrokerPassword does not decrypt on this machine (error %lu); "
                     "set it again with PipesService fleet-password",
                     (unsigned long)rc);
            fleet_log(f, EVENTLOG_ERROR_TYPE, text);
            free(f);
            return NULL;
        }
    }
    memset(&mc, 0, sizeof mc);
    mc.url = fc->url;
    mc.allow_plain = (int)fc->allow_plain;
    mc.ca_file = fc->ca_file[0] ? fc->ca_file : NULL;
    mc.client_cert_sha1 = fc->has_client_cert ? fc->client_cert : NULL;
    mc.client_id = fc->client_id;
    mc.user_name = fc->user_name[0] ? fc->user_name : NULL;
    mc.password = password_len ? password : NULL;
    mc.password_len = password_len;
    mc.keep_alive_s = (uint16_t)fc->keep_alive;
    mc.deliver = fleet_on_publish;
    mc.on_event = on_event;
    mc.max_inflight = FLEET_STATUS_INFLIGHT;
    mc.max_queue = FLEET_STATUS_QUEUE;
    mc.ctx = f;
    st = mqtt_session_create(&mc, &f->mqtt); /* copies the password */
    SecureZeroMemory(password, sizeof password);
    if (st != MQTT_OK) {
        char text[256];
        snprintf(text, sizeof text, "bridge off: %s: %s", mqtt_status_name(st),
                 mqtt_status_text(st));
        fleet_log(f, EVENTLOG_ERROR_TYPE, text);
        free(f);
        return NULL;
    }
    if (mqtt_session_subscribe(f->mqtt, f->topic_all) != MQTT_OK ||
        mqtt_session_subscribe(f->mqtt, f->topic_host) != MQTT_OK)
        fleet_log(f, EVENTLOG_ERROR_TYPE, "the all and host topics could not be subscribed");
    return f;
}

void fleet_start(fleet *f)
{
    mqtt_status st;
    if (!f)
        return;
    st = mqtt_session_start(f->mqtt);
    if (st != MQTT_OK) {
        char text[256];
        snprintf(text, sizeof text, "not started: %s", mqtt_status_name(st));
        fleet_log(f, EVENTLOG_ERROR_TYPE, text);
    }
}

/* The topic name of a session's user: the part after the domain, in lower
 * case; 0 when nobody is logged on or the name cannot be a topic level. */
static int topic_user(uint32_t session, char *out, size_t cap)
{
    char who[520];
    const char *name;
    wchar_t w[FLEET_NAME_MAX];
    int i, n;
    svc_session_user(session, who, sizeof who);
    name = strrchr(who, '\\');
    name = name ? name + 1 : who;
    n = svc_to_wide(name, strlen(name), w, FLEET_NAME_MAX);
    if (n <= 0)
        return 0;
    for (i = 0; i < n; i++)
        w[i] = (wchar_t)towlower(w[i]);
    return svc_to_utf8(w, out, cap) > 0 && !strpbrk(out, "/+#");
}

static int has_name(char (*list)[FLEET_NAME_MAX], size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static void set_user(fleet *f, const char *name, int subscribe)
{
    char topic[FLEET_TOPIC_MAX + FLEET_NAME_MAX];
    mqtt_status st;
    snprintf(topic, sizeof topic, "%s%s", f->user_prefix, name);
    st = subscribe ? mqtt_session_subscribe(f->mqtt, topic) : mqtt_session_unsubscribe(f->mqtt, topic);
    if (st != MQTT_OK) {
        char text[FLEET_TOPIC_MAX + 128];
        snprintf(text, sizeof text, "%s %s failed: %s", subscribe ? "subscribing" : "unsubscribing",
                 topic, mqtt_status_name(st));
        fleet_log(f, EVENTLOG_WARNING_TYPE, text);
    }
}

void fleet_sessions(fleet *f, const uint32_t *ids, size_t n)
{
    char (*now)[FLEET_NAME_MAX];
    size_t now_n = 0, i;
    if (!f)
        return;
    now = (char (*)[FLEET_NAME_MAX])malloc(sizeof f->users);
    if (!now)
        return;
    for (i = 0; i < n && now_n < SVC_MAX_SESSIONS; i++)
        if (topic_user(ids[i], now[now_n], FLEET_NAME_MAX) && !has_name(now, now_n, now[now_n]))
            now_n++;
    /* Only the main loop changes the list; the lock is for fleet_status. */
    for (i = 0; i < f->user_n; i++)
        if (!has_name(now, now_n, f->users[i]))
            set_user(f, f->users[i], 0);
    for (i = 0; i < now_n; i++)
        if (!has_name(f->users, f->user_n, now[i]))
            set_user(f, now[i], 1);
    AcquireSRWLockExclusive(&f->lock);
    memcpy(f->users, now, now_n * sizeof now[0]);
    f->user_n = now_n;
    ReleaseSRWLockExclusive(&f->lock);
    free(now);
}

#define ADD(...)                                                                                 \
    do {                                                                                         \
        int w_ = snprintf(buf + n, cap - n, __VA_ARGS__);                                        \
        if (w_ > 0)                                                                              \
            n += (size_t)w_ < cap - n ? (size_t)w_ : cap - n - 1;                                \
    } while (0)

static uint64_t read64(volatile LONG64 *v)
{
    return (uint64_t)InterlockedCompareExchange64(v, 0, 0);
}

size_t fleet_status(fleet *f, char *buf, size_t cap)
{
    mqtt_session_stats st;
    size_t n = 0, i;
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (!f) {
        ADD("broker: off\n");
        return n;
    }
    mqtt_session_get_stats(f->mqtt, &st);
    ADD("broker: %s\n", f->origin);
    ADD("broker state: %s\n", mqtt_state_name(st.state));
    if (st.last_error == MQTT_OK)
        ADD("broker last error: none\n");
    else
        ADD("broker last error: %s: %s\n", mqtt_status_name(st.last_error), st.last_error_text);
    ADD("broker client id: %s\n", f->cfg->fleet.client_id);
    ADD("broker subscription: %s\n", f->topic_all);
    ADD("broker subscription: %s\n", f->topic_host);
    AcquireSRWLockShared(&f->lock);
    for (i = 0; i < f->user_n; i++)
        ADD("broker subscription: %s%s\n", f->user_prefix, f->users[i]);
    ReleaseSRWLockShared(&f->lock);
    ADD("broker status topic: %s\n", f->status_topic);
    ADD("broker connects: %llu\n", (unsigned long long)st.connects);
    ADD("broker connection failures: %llu\n", (unsigned long long)st.connection_failures);
    ADD("broker received: %llu\n", (unsigned long long)st.received);
    ADD("broker acknowledged: %llu\n", (unsigned long long)st.acknowledged);
    ADD("broker accepted: %llu\n", (unsigned long long)read64(&f->accepted));
    ADD("broker accepted again (redelivered): %llu\n", (unsigned long long)read64(&f->duplicates));
    ADD("broker rejected: %llu\n", (unsigned long long)st.rejected);
    ADD("broker not stored yet (left for redelivery): %llu\n", (unsigned long long)st.not_yet);
    ADD("broker lost (QoS 0, not stored then, never redelivered): %llu\n",
        (unsigned long long)st.lost);
    ADD("broker in flight: %lu\n", (unsigned long)st.inflight);
    ADD("broker status events queued: %lu\n", (unsigned long)st.queued);
    ADD("broker status events published: %llu\n", (unsigned long long)st.published);
    ADD("broker status events dropped: %llu\n", (unsigned long long)read64(&f->status_dropped));
    return n;
}

#undef ADD

void fleet_stop(fleet *f)
{
    if (f)
        mqtt_session_stop(f->mqtt);
}

void fleet_free(fleet *f)
{
    if (!f)
        return;
    mqtt_session_destroy(f->mqtt);
    free(f);
}
