/*
 * mqtt_session.c - the session's API (mqtt_session.h): configuration,
 * start and stop of its thread, and the calls other threads make, which only
 * change state under the lock and wake the session thread.
 *
 * Lifetime: create allocates everything the thread needs (receive and send
 * buffers of max_packet bytes, the trust store), so a running session
 * allocates only per queued publish and per subscription. stop sets stop_ev
 * and joins the thread; the thread handle is closed there, once.
 */
#include "mqtt_session_internal.h"

#include <stdlib.h>
#include <string.h>

#include "pipes_chaos.h"

const char *mqtt_state_name(mqtt_state st)
{
    switch (st) {
    case MQTT_STATE_STOPPED: return "stopped";
    case MQTT_STATE_CONNECTING: return "connecting";
    case MQTT_STATE_CONNECTED: return "connected";
    case MQTT_STATE_WAITING: return "waiting";
    default: return "unknown";
    }
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v != 0 ? v : def;
}

static mqtt_status check_config(const mqtt_session_config *cfg)
{
    if (cfg->deliver == NULL || cfg->client_id == NULL)
        return MQTT_E_ARG;
    /* A persistent session needs an identifier: an empty one is refused by brokers (3.1.1 3.1.3). */
    size_t n = strlen(cfg->client_id);
    if (n == 0 || n > 0xFFFF || mqtt_text_check(cfg->client_id, n) != MQTT_OK)
        return MQTT_E_REFUSED_IDENTIFIER;
    if (cfg->password != NULL && (cfg->user_name == NULL || cfg->password_len > 0xFFFF))
        return MQTT_E_ARG;
    if (cfg->user_name != NULL && strlen(cfg->user_name) > 0xFFFF)
        return MQTT_E_ARG;
    if (cfg->max_packet != 0 && (cfg->max_packet < 4096 || cfg->max_packet > MQTT_MAX_REMAINING))
        return MQTT_E_ARG;
    /* Packet ids: queued publishes and pending (un)subscriptions must leave some of 65535 free. */
    if (cfg->max_queue > 60000)
        return MQTT_E_ARG;
    return MQTT_OK;
}

mqtt_status mqtt_session_create(const mqtt_session_config *cfg, mqtt_session **out)
{
    if (cfg == NULL || out == NULL)
        return MQTT_E_ARG;
    *out = NULL;
    mqtt_status st = check_config(cfg);
    if (st != MQTT_OK)
        return st;
    mqtt_session *s = (mqtt_session *)calloc(1, sizeof *s);
    if (s == NULL)
        return MQTT_E_NO_MEMORY;
    /* Winsock is reference-counted per process: one startup per session, one cleanup in destroy.
     * (Wine lets sockets work without it; Windows fails them with WSANOTINITIALISED.) */
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        free(s);
        return MQTT_E_NET;
    }
    s->wsa_started = 1;
    InitializeSRWLock(&s->lock);
    s->conn.sock = INVALID_SOCKET;
    s->stats.last_error = MQTT_OK;
    s->cfg = *cfg;
    s->cfg.url = NULL;     /* parsed into ep */
    s->cfg.ca_file = NULL; /* loaded into trust */
    if (cfg->client_cert_sha1 != NULL) {
        memcpy(s->client_cert, cfg->client_cert_sha1, sizeof s->client_cert);
        s->cfg.client_cert_sha1 = s->client_cert;
    }
    s->cfg.keep_alive_s = (uint16_t)or_default(cfg->keep_alive_s, 60);
    s->cfg.max_packet = or_default(cfg->max_packet, 256u * 1024u);
    s->cfg.max_inflight = or_default(cfg->max_inflight, 16);
    s->cfg.max_queue = or_default(cfg->max_queue, 1000);
    s->cfg.connect_timeout_ms = or_default(cfg->connect_timeout_ms, 30000);
    s->cfg.backoff_min_ms = or_default(cfg->backoff_min_ms, 1000);
    s->cfg.backoff_max_ms = or_default(cfg->backoff_max_ms, 60000);
    if (s->cfg.backoff_max_ms < s->cfg.backoff_min_ms)
        s->cfg.backoff_max_ms = s->cfg.backoff_min_ms;
    s->cfg.not_yet_retry_ms = or_default(cfg->not_yet_retry_ms, 5000);

    st = mqtt_url_parse(cfg->url, cfg->allow_plain, &s->ep);
    if (st == MQTT_OK && s->ep.tls && cfg->ca_file != NULL)
        st = mqtt_trust_load(cfg->ca_file, &s->trust, s->stats.last_error_text,
                             sizeof s->stats.last_error_text);
    if (st == MQTT_OK) {
        s->client_id = dup_text(cfg->client_id);
        s->user_name = cfg->user_name != NULL ? dup_text(cfg->user_name) : NULL;
        s->password = (uint8_t *)malloc(cfg->password_len + 1);
        s->rx = (uint8_t *)malloc(s->cfg.max_packet);
        /* A SUBSCRIBE of MQTT_MAX_FILTERS long filters may exceed a small max_packet. */
        s->tx_cap = s->cfg.max_packet > 16384 ? s->cfg.max_packet : 16384;
        s->tx = (uint8_t *)malloc(s->tx_cap);
        s->stop_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
        s->wake_ev = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (s->client_id == NULL || (cfg->user_name != NULL && s->user_name == NULL) ||
            s->password == NULL || s->rx == NULL || s->tx == NULL || s->stop_ev == NULL ||
            s->wake_ev == NULL)
            st = MQTT_E_NO_MEMORY;
    }
    if (st != MQTT_OK) {
        mqtt_session_destroy(s);
        return st;
    }
    if (cfg->password != NULL)
        memcpy(s->password, cfg->password, cfg->password_len);
    s->cfg.client_id = s->client_id;
    s->cfg.user_name = s->user_name;
    s->cfg.password = cfg->password != NULL ? s->password : NULL;
    LARGE_INTEGER qpc;
    QueryPerformanceCounter(&qpc);
    s->rng = (uint64_t)qpc.QuadPart ^ ((uint64_t)GetCurrentProcessId() << 32) ^ (uintptr_t)s;
    s->rng |= 1;
    *out = s;
    return MQTT_OK;
}

mqtt_status mqtt_session_start(mqtt_session *s)
{
    if (s == NULL)
        return MQTT_E_ARG;
    AcquireSRWLockExclusive(&s->lock);
    mqtt_status st = MQTT_OK;
    if (s->thread == NULL) {
        ResetEvent(s->stop_ev);
        s->stats.state = MQTT_STATE_CONNECTING;
        s->thread = CreateThread(NULL, 0, mqtt_run_thread, s, 0, &s->thread_id);
        if (s->thread == NULL) {
            s->stats.state = MQTT_STATE_STOPPED;
            st = MQTT_E_NO_MEMORY;
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    return st;
}

void mqtt_session_stop(mqtt_session *s)
{
    if (s == NULL)
        return;
    AcquireSRWLockExclusive(&s->lock);
    HANDLE thread = s->thread;
    int own = thread != NULL && GetCurrentThreadId() == s->thread_id;
    if (!own)
        s->thread = NULL;
    ReleaseSRWLockExclusive(&s->lock);
    SetEvent(s->stop_ev);
    PIPES_CHAOS_POINT("mqtt.stop");
    if (thread == NULL || own)
        return; /* from a callback: the thread ends by itself; only a later stop joins it */
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
}

void mqtt_session_destroy(mqtt_session *s)
{
    if (s == NULL)
        return;
    mqtt_session_stop(s);
    mqtt_work_free(s);
    mqtt_trust_free(s->trust);
    if (s->stop_ev != NULL)
        CloseHandle(s->stop_ev);
    if (s->wake_ev != NULL)
        CloseHandle(s->wake_ev);
    if (s->password != NULL) {
        SecureZeroMemory(s->password, s->cfg.password_len);
        free(s->password);
    }
    free(s->client_id);
    free(s->user_name);
    free(s->rx);
    free(s->tx);
    if (s->wsa_started)
        WSACleanup();
    free(s);
}

static sub_entry *find_sub(mqtt_session *s, const char *filter, size_t len)
{
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i].len == len && memcmp(s->subs[i].filter, filter, len) == 0)
            return &s->subs[i];
    }
    return NULL;
}

static void wake(mqtt_session *s)
{
    PIPES_CHAOS_POINT("mqtt.wake");
    SetEvent(s->wake_ev);
}

static void want(sub_entry *e, uint8_t w)
{
    if (e->want == w)
        return;
    e->want = w;
    if (e->state != SUB_PENDING)
        e->state = SUB_IDLE; /* a pending one is redone when its ack shows the mismatch */
}

mqtt_status mqtt_session_subscribe(mqtt_session *s, const char *filter)
{
    if (s == NULL || filter == NULL)
        return MQTT_E_ARG;
    size_t len = strlen(filter);
    mqtt_status st = mqtt_filter_check(filter, len);
    if (st != MQTT_OK)
        return st;
    AcquireSRWLockExclusive(&s->lock);
    sub_entry *e = find_sub(s, filter, len);
    if (e != NULL) {
        want(e, 1);
    } else if (s->nsubs >= MQTT_MAX_SUBSCRIPTIONS) {
        st = MQTT_E_TOO_MANY;
    } else {
        if (s->nsubs == s->subs_cap) {
            size_t cap = s->subs_cap ? s->subs_cap * 2 : 8;
            sub_entry *grown = (sub_entry *)realloc(s->subs, cap * sizeof *grown);
            if (grown != NULL) {
                s->subs = grown;
                s->subs_cap = cap;
            }
        }
        char *copy = s->nsubs < s->subs_cap ? dup_text(filter) : NULL;
        if (copy == NULL) {
            st = MQTT_E_NO_MEMORY;
        } else {
            sub_entry *n = &s->subs[s->nsubs++];
            memset(n, 0, sizeof *n);
            n->filter = copy;
            n->len = len;
            n->want = 1;
            n->state = SUB_IDLE;
        }
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (st == MQTT_OK)
        wake(s);
    return st;
}

mqtt_status mqtt_session_unsubscribe(mqtt_session *s, const char *filter)
{
    if (s == NULL || filter == NULL)
        return MQTT_E_ARG;
    AcquireSRWLockExclusive(&s->lock);
    sub_entry *e = find_sub(s, filter, strlen(filter));
    if (e != NULL)
        want(e, 0);
    ReleaseSRWLockExclusive(&s->lock);
    if (e != NULL)
        wake(s);
    return MQTT_OK;
}

mqtt_status mqtt_session_publish(mqtt_session *s, const char *topic, const void *payload,
                                 size_t len, int retain, uint64_t *token)
{
    if (s == NULL || topic == NULL || (payload == NULL && len != 0))
        return MQTT_E_ARG;
    size_t tl = strlen(topic);
    mqtt_status st = mqtt_topic_check(topic, tl);
    if (st != MQTT_OK)
        return st;
    if (len > s->cfg.max_packet || MQTT_MAX_HEADER + 2 + tl + 2 + len > s->cfg.max_packet)
        return MQTT_E_TOO_LARGE;
    out_msg *m = (out_msg *)malloc(sizeof *m + tl + 1 + len);
    if (m == NULL)
        return MQTT_E_NO_MEMORY;
    memset(m, 0, sizeof *m);
    char *t = (char *)(m + 1);
    memcpy(t, topic, tl + 1);
    if (len != 0)
        memcpy(t + tl + 1, payload, len);
    m->topic = t;
    m->topic_len = tl;
    m->payload = (const uint8_t *)(t + tl + 1);
    m->payload_len = len;
    m->retain = retain ? 1 : 0;

    AcquireSRWLockExclusive(&s->lock);
    if (s->stats.queued >= s->cfg.max_queue) {
        st = MQTT_E_QUEUE_FULL;
    } else {
        m->token = ++s->next_token;
        if (s->out_tail != NULL)
            s->out_tail->next = m;
        else
            s->out_head = m;
        s->out_tail = m;
        s->stats.queued++;
        if (token != NULL)
            *token = m->token;
    }
    ReleaseSRWLockExclusive(&s->lock);
    if (st != MQTT_OK) {
        free(m);
        return st;
    }
    wake(s);
    return MQTT_OK;
}

void mqtt_session_get_stats(mqtt_session *s, mqtt_session_stats *out)
{
    AcquireSRWLockShared(&s->lock);
    *out = s->stats;
    out->subscriptions = 0;
    for (size_t i = 0; i < s->nsubs; i++)
        out->subscriptions += s->subs[i].want;
    ReleaseSRWLockShared(&s->lock);
}
