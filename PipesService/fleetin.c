/*
 * fleetin.c - one PUBLISH from the broker into the spool, and the status
 * topic's events.
 *
 * A payload is a protocol v1 notification, parsed by the same strict parser
 * and rules as a local submission (a payload may not carry "sender"). The
 * topic targets it: <prefix>/all and <prefix>/host/<computer> keep the
 * payload's own target (every session when it has none), <prefix>/user/<name>
 * makes it a notification for that user (a payload targeting anyone else is
 * refused). The record's sender is kind "broker" with the service's own SID
 * (NT SERVICE\PipesService) and the broker URL and topic as its origin;
 * that SID is the namespace of its id, so a redelivery is recognised by id
 * (SPOOL_DUPLICATE) and displayed once. Only after the record is on disk is
 * the message acknowledged (MQTT_DELIVERY_STORED); a spool that cannot take
 * it leaves it with the broker (NOT_YET), a payload that can never be stored
 * is acknowledged and reported (REJECTED), so it does not come back forever.
 * A QoS 0 message left so never comes back (the session counts it lost):
 * not_now reports it as rejected, queue_full.
 */
#include "fleetint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FULL_LOG_MS 60000 /* at most one line a minute of each kind: spool full, QoS 0 lost */
#define FLEET_EVENT_MAX 2048

/* Appends s as a JSON string (quoted, escaped) at out + *n (cap bytes). */
static void json_string(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (*n + 2 >= cap)
        return;
    out[(*n)++] = '"';
    for (; *s && *n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + *n, "\\u00", 4);
            out[*n + 4] = hex[c >> 4];
            out[*n + 5] = hex[c & 15];
            *n += 6;
        } else {
            out[(*n)++] = (char)c;
        }
    }
    out[(*n)++] = '"';
    out[*n] = '\0';
}

static void json_raw(char *out, size_t cap, size_t *n, const char *s)
{
    size_t len = strlen(s);
    if (*n + len < cap) {
        memcpy(out + *n, s, len + 1);
        *n += len;
    }
}

/* {"event":EVENT,"host":...,"id":ID then the caller's members, closed by publish_event. */
static size_t event_start(const fleet *f, char *out, size_t cap, const char *event, const char *id)
{
    size_t n = 0;
    json_raw(out, cap, &n, "{\"event\":");
    json_string(out, cap, &n, event);
    json_raw(out, cap, &n, ",\"host\":");
    json_string(out, cap, &n, f->cfg->fleet.computer);
    json_raw(out, cap, &n, ",\"id\":");
    if (id && id[0])
        json_string(out, cap, &n, id);
    else
        json_raw(out, cap, &n, "null");
    return n;
}

static void publish_event(fleet *f, char *out, size_t cap, size_t n)
{
    json_raw(out, cap, &n, "}");
    if (mqtt_session_publish(f->mqtt, f->status_topic, out, n, 0, NULL) != MQTT_OK)
        InterlockedIncrement64(&f->status_dropped); /* queue full: the broker is away long */
}

void fleet_status_rejected(fleet *f, const char *topic, const char *id, const char *reason,
                           const char *detail)
{
    char ev[FLEET_EVENT_MAX];
    size_t n = event_start(f, ev, sizeof ev, "rejected", id);
    json_raw(ev, sizeof ev, &n, ",\"topic\":");
    json_string(ev, sizeof ev, &n, topic);
    json_raw(ev, sizeof ev, &n, ",\"reason\":");
    json_string(ev, sizeof ev, &n, reason);
    json_raw(ev, sizeof ev, &n, ",\"detail\":");
    json_string(ev, sizeof ev, &n, detail);
    publish_event(f, ev, sizeof ev, n);
}

static void status_accepted(fleet *f, const char *topic, const char *id, int again)
{
    char ev[FLEET_EVENT_MAX];
    size_t n = event_start(f, ev, sizeof ev, "accepted", id);
    json_raw(ev, sizeof ev, &n, ",\"topic\":");
    json_string(ev, sizeof ev, &n, topic);
    if (again)
        json_raw(ev, sizeof ev, &n, ",\"again\":true");
    publish_event(f, ev, sizeof ev, n);
}

/* The session's user, for displayed and response events. */
static void add_session(char *ev, size_t cap, size_t *n, uint32_t session)
{
    char num[16], user[520];
    snprintf(num, sizeof num, "%lu", (unsigned long)session);
    json_raw(ev, cap, n, ",\"session\":");
    json_raw(ev, cap, n, num);
    svc_session_user(session, user, sizeof user);
    json_raw(ev, cap, n, ",\"user\":");
    json_string(ev, cap, n, user);
}

void fleet_displayed(fleet *f, const char *sid, const char *id, uint32_t session)
{
    char ev[FLEET_EVENT_MAX];
    size_t n;
    if (!f || strcmp(sid, f->sid) != 0)
        return; /* not a broker record */
    n = event_start(f, ev, sizeof ev, "displayed", id);
    add_session(ev, sizeof ev, &n, session);
    publish_event(f, ev, sizeof ev, n);
}

void fleet_response(fleet *f, const char *sid, const char *id, uint32_t session,
                    const char *action)
{
    char ev[FLEET_EVENT_MAX];
    size_t n;
    if (!f || strcmp(sid, f->sid) != 0)
        return;
    n = event_start(f, ev, sizeof ev, "response", id);
    add_session(ev, sizeof ev, &n, session);
    json_raw(ev, sizeof ev, &n, ",\"action\":");
    json_string(ev, sizeof ev, &n, action);
    publish_event(f, ev, sizeof ev, n);
}

static mqtt_delivery reject(fleet *f, const char *topic, const char *id, const char *reason,
                            const char *detail)
{
    char text[1024];
    snprintf(text, sizeof text, "message %s on %s rejected (%s): %s", id && id[0] ? id : "(no id)",
             topic, reason, detail);
    fleet_log(f, EVENTLOG_WARNING_TYPE, text);
    fleet_status_rejected(f, topic, id, reason, detail);
    return MQTT_DELIVERY_REJECTED;
}

/* The target the topic gives n; 0 and *why when it cannot be one of ours. */
static int apply_topic(const fleet *f, const char *topic, pipes_proto_notification *n,
                       const char **why)
{
    size_t plen = strlen(f->user_prefix);
    const char *user;
    if (strcmp(topic, f->topic_all) == 0 || strcmp(topic, f->topic_host) == 0)
        return 1;
    if (strncmp(topic, f->user_prefix, plen) != 0 || !topic[plen] || strchr(topic + plen, '/')) {
        *why = "not a topic this service subscribes to";
        return 0;
    }
    user = topic + plen;
    if (n->target == PIPES_PROTO_TARGET_SESSION ||
        (n->target == PIPES_PROTO_TARGET_USER && _stricmp(n->target_user, user) != 0)) {
        *why = "a message on a user topic may target only that user";
        return 0;
    }
    return pipes_proto_notification_set(n, "user", user, strlen(user)) == PIPES_PROTO_OK ||
           ((*why = "the user name of the topic is not a valid target"), 0);
}

/* A QoS 0 message m that fleet_on_publish could not take: the broker never
 * redelivers it, so it is lost. Logged at most once a minute, and reported on
 * the status topic as rejected, queue_full, with its id ("" when the payload
 * was not read) and why, unless the status events are at their high-water
 * mark: that room is for the events of the messages already taken
 * (fleet_on_publish); `status` still counts it (the session's `lost`). */
static void report_lost(fleet *f, const mqtt_message *m, const char *id, const char *why)
{
    char detail[384];
    mqtt_session_stats st;
    int64_t now = svc_now_ms();
    snprintf(detail, sizeof detail,
             "%s, and it was published with QoS 0, which the broker does not redeliver: it is "
             "lost (publish with QoS 1)",
             why);
    if (now - f->last_lost_log_ms >= FULL_LOG_MS) {
        char text[FLEET_TOPIC_MAX + 512];
        f->last_lost_log_ms = now;
        snprintf(text, sizeof text, "message %s on %s not stored: %s", id[0] ? id : "(not read)",
                 m->topic, detail);
        fleet_log(f, EVENTLOG_WARNING_TYPE, text);
    }
    mqtt_session_get_stats(f->mqtt, &st);
    if (st.queued < FLEET_STATUS_HIGH_WATER)
        fleet_status_rejected(f, m->topic, id, "queue_full", detail);
}

/* fleet_on_publish cannot take m now (why): NOT_YET, which leaves a QoS 1
 * message with the broker for redelivery and loses a QoS 0 one. */
static mqtt_delivery not_now(fleet *f, const mqtt_message *m, const char *id, const char *why)
{
    if (m->qos == 0)
        report_lost(f, m, id, why);
    return MQTT_DELIVERY_NOT_YET;
}

/* Stores n, which came as m; the delivery outcome. */
static mqtt_delivery store(fleet *f, const mqtt_message *m, pipes_proto_notification *n)
{
    const char *topic = m->topic;
    const char *why;
    spool_quota quota;
    spool_added added;
    spool_result res;
    int64_t now = svc_now_ms();

    quota.max_pending = f->cfg->user_spool_count;
    quota.max_pending_bytes = (uint64_t)f->cfg->user_spool_mb << 20;
    res = spool_add(f->spool, n, &quota, now, &added);
    if (res == SPOOL_OK || res == SPOOL_DUPLICATE) {
        if (res == SPOOL_OK) {
            uint64_t stored = (uint64_t)InterlockedIncrement64(&f->accepted);
            if (f->exit_after_spool && stored >= f->exit_after_spool)
                TerminateProcess(GetCurrentProcess(), 99); /* test hook: before the PUBACK */
            delivery_kick(f->delivery);
        } else {
            InterlockedIncrement64(&f->duplicates);
        }
        status_accepted(f, topic, n->id, res == SPOOL_DUPLICATE);
        return MQTT_DELIVERY_STORED;
    }
    why = res == SPOOL_FULL    ? "the spool is at its bound (MaxSpoolCount, MaxSpoolMB)"
          : res == SPOOL_QUOTA ? "the broker's share of the spool is full "
                                 "(MaxSpoolCountPerUser, MaxSpoolMBPerUser)"
                               : "the spool could not be written";
    /* A QoS 0 message does not come back: not_now says so instead. */
    if (m->qos != 0 && now - f->last_full_log_ms >= FULL_LOG_MS) {
        char text[256];
        f->last_full_log_ms = now;
        snprintf(text, sizeof text,
                 "message %s left with the broker for now: %s; it is redelivered later", n->id,
                 why);
        fleet_log(f, EVENTLOG_WARNING_TYPE, text);
    }
    return not_now(f, m, n->id, why);
}

mqtt_delivery fleet_on_publish(void *ctx, const mqtt_message *m)
{
    fleet *f = (fleet *)ctx;
    pipes_proto_notification *n;
    pipes_proto_error err;
    svc_identity broker;
    char detail[PIPES_PROTO_MAX_DETAIL], origin[PIPES_PROTO_MAX_ORIGIN + 1];
    const char *why = NULL;
    pipes_proto_reason reason;
    mqtt_delivery out;
    mqtt_session_stats st;

    /* Backpressure: the events of the messages already taken must go out first, or the
     * queue would overflow and drop them; this one comes back after the reconnect. */
    mqtt_session_get_stats(f->mqtt, &st);
    if (st.queued >= FLEET_STATUS_HIGH_WATER)
        return not_now(f, m, "", "the status events are at their high-water mark");
    n = (pipes_proto_notification *)malloc(sizeof *n);
    if (!n)
        return not_now(f, m, "", "out of memory");
    memset(&err, 0, sizeof err);
    if (pipes_proto_parse_notification(m->payload, m->payload_len, n, &err) != PIPES_PROTO_OK ||
        pipes_proto_check_submission(n, &err) != PIPES_PROTO_OK) {
        pipes_proto_error_text(&err, detail, sizeof detail);
        out = reject(f, m->topic, n->id,
                     pipes_proto_reason_name(pipes_proto_reason_for_status(err.status)), detail);
    } else if (!apply_topic(f, m->topic, n, &why)) {
        out = reject(f, m->topic, n->id, "not_allowed", why);
    } else {
        /* Who relays it: the service itself, from this broker and topic
         * (only the broker URL when both do not fit). */
        memset(&broker, 0, sizeof broker);
        broker.privileged = 1;
        if ((size_t)snprintf(origin, sizeof origin, "%s %s", f->origin, m->topic) >= sizeof origin)
            snprintf(origin, sizeof origin, "%s", f->origin);
        pipes_proto_sender_set(&broker.sender, PIPES_PROTO_SENDER_BROKER,
                               "NT SERVICE\\PipesService", f->sid, origin);
        n->wait = 0; /* nobody waits on a pipe: the status topic reports instead */
        reason = svc_policy_apply(f->cfg, &broker, n, detail, sizeof detail);
        if (reason != PIPES_PROTO_REASON_NONE) {
            out = reject(f, m->topic, n->id, pipes_proto_reason_name(reason), detail);
        } else {
            n->sender = broker.sender;
            out = store(f, m, n);
        }
    }
    free(n);
    return out;
}
