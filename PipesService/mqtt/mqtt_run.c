/*
 * mqtt_run.c - the session thread: connect, CONNACK, then one loop that
 * reads and handles packets, sends what mqtt_work.c says is due, pings, and
 * waits on {socket, wake, stop} until the next timer; on any failure it
 * closes, waits a backoff with jitter and starts again.
 *
 * Acknowledgement rule: a PUBLISH is PUBACKed only after the delivery
 * callback returned STORED or REJECTED; NOT_YET leaves it unacknowledged and
 * schedules a reconnect not_yet_retry_ms later, because an MQTT 3.1.1 broker
 * resends unacknowledged messages only when the session reconnects.
 *
 * A PUBLISH larger than max_packet is refused from its fixed header: the
 * head (topic, packet id) is read from the receive buffer, the message is
 * acknowledged (so it does not come back for ever), reported as
 * MQTT_EV_REJECTED, and the rest of its bytes are discarded as they arrive,
 * never buffered. Every other malformed or unexpected packet closes the
 * connection with its status (MQTT 3.1.1 4.8), and the backoff applies.
 */
#include "mqtt_session_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "pipes_chaos.h"

/* A connection that lasted this long resets the backoff to its minimum. */
#define STABLE_MS 10000u
/* How long a DISCONNECT may take when stopping. */
#define BYE_MS 1000u

void mqtt_emit(mqtt_session *s, mqtt_event ev)
{
    if (ev.detail == NULL)
        ev.detail = "";
    if (ev.filter == NULL)
        ev.filter = "";
    if (s->cfg.on_event != NULL)
        s->cfg.on_event(s->cfg.ctx, &ev);
}

static void emit_status(mqtt_session *s, mqtt_event_kind kind, mqtt_status st, const char *detail)
{
    mqtt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.status = st;
    ev.detail = detail;
    mqtt_emit(s, ev);
}

static void set_state(mqtt_session *s, mqtt_state state)
{
    AcquireSRWLockExclusive(&s->lock);
    s->stats.state = state;
    ReleaseSRWLockExclusive(&s->lock);
}

/* Counts one more in a stats field (under the lock: get_stats reads them all at once). */
static void bump(mqtt_session *s, uint64_t *field)
{
    AcquireSRWLockExclusive(&s->lock);
    (*field)++;
    ReleaseSRWLockExclusive(&s->lock);
}

#define fail(s, st, ...) (mqtt_conn_detail(&(s)->conn, __VA_ARGS__), (st))

static mqtt_status send_packet(mqtt_session *s, const mqtt_packet *p, DWORD timeout_ms)
{
    size_t len = 0;
    mqtt_status st = mqtt_encode(p, s->tx, s->tx_cap, &len);
    if (st != MQTT_OK)
        return fail(s, st, "cannot encode a packet of type %u", (unsigned)p->type);
    st = mqtt_conn_send(&s->conn, s->tx, len, timeout_ms);
    if (st == MQTT_OK)
        s->last_send = GetTickCount64();
    return st;
}

static mqtt_status send_simple(mqtt_session *s, uint8_t type, uint16_t packet_id, DWORD timeout_ms)
{
    mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = type;
    p.packet_id = packet_id;
    return send_packet(s, &p, timeout_ms);
}

/* Waits for input (and, with_wake, new work) or the stop event, until deadline.
 * MQTT_E_STOPPED when stopping, else MQTT_OK (input, work or time). */
static mqtt_status wait_input(mqtt_session *s, ULONGLONG deadline, int with_wake)
{
    ULONGLONG now = GetTickCount64();
    DWORD ms = deadline > now ? (DWORD)(deadline - now) : 0;
    HANDLE h[3] = {s->stop_ev, s->conn.ev, s->wake_ev};
    DWORD r = WaitForMultipleObjects(with_wake ? 3 : 2, h, FALSE, ms);
    return r == WAIT_OBJECT_0 ? MQTT_E_STOPPED : MQTT_OK;
}

/* Reads what the connection has now into rx; *got: bytes read. */
static mqtt_status fill(mqtt_session *s, size_t *got)
{
    *got = 0;
    if (s->rx_len == s->cfg.max_packet)
        return MQTT_OK;
    mqtt_status st = mqtt_conn_recv(&s->conn, s->rx + s->rx_len, s->cfg.max_packet - s->rx_len, got);
    s->rx_len += *got;
    return st;
}

static mqtt_status handle_publish(mqtt_session *s, const mqtt_packet *p)
{
    if (p->qos == 2)
        return fail(s, MQTT_E_PROTOCOL, "QoS 2 PUBLISH, though the client subscribed with QoS 1");
    memcpy(s->topic_buf, p->topic.data, p->topic.len);
    s->topic_buf[p->topic.len] = '\0';
    mqtt_message msg;
    msg.topic = s->topic_buf;
    msg.payload = p->payload.data;
    msg.payload_len = p->payload.len;
    msg.qos = p->qos;
    msg.dup = p->dup;
    msg.retain = p->retain;
    msg.packet_id = p->packet_id;
    bump(s, &s->stats.received);
    mqtt_delivery d = s->cfg.deliver(s->cfg.ctx, &msg);
    if (d == MQTT_DELIVERY_NOT_YET && p->qos == 0) {
        /* QoS 0 is never redelivered: reconnecting would not bring it back,
         * so it is lost, and said to be (never a silent drop). */
        mqtt_event ev;
        bump(s, &s->stats.lost);
        memset(&ev, 0, sizeof ev);
        ev.kind = MQTT_EV_LOST;
        ev.status = MQTT_OK; /* nothing failed here: the callback could not take it now */
        ev.detail = "published with QoS 0, which the broker does not redeliver";
        ev.filter = s->topic_buf;
        mqtt_emit(s, ev);
        return MQTT_OK;
    }
    if (d == MQTT_DELIVERY_NOT_YET) {
        bump(s, &s->stats.not_yet);
        if (s->redeliver_at == 0)
            s->redeliver_at = GetTickCount64() + s->cfg.not_yet_retry_ms;
        return MQTT_OK;
    }
    if (d == MQTT_DELIVERY_REJECTED)
        bump(s, &s->stats.rejected);
    if (p->qos == 0)
        return MQTT_OK;
    mqtt_status st = send_simple(s, MQTT_PUBACK, p->packet_id, s->cfg.connect_timeout_ms);
    if (st == MQTT_OK)
        bump(s, &s->stats.acknowledged);
    return st;
}

static mqtt_status handle_packet(mqtt_session *s, const mqtt_packet *p)
{
    s->ping_sent = 0; /* anything from the broker shows it is alive */
    switch (p->type) {
    case MQTT_PUBLISH:
        return handle_publish(s, p);
    case MQTT_PUBACK:
    case MQTT_SUBACK:
    case MQTT_UNSUBACK: {
        mqtt_status st = mqtt_work_ack(s, p);
        return st == MQTT_OK ? st
                             : fail(s, st, "SUBACK with %u codes for packet id %u does not match "
                                           "its SUBSCRIBE", (unsigned)p->count,
                                    (unsigned)p->packet_id);
    }
    case MQTT_PINGRESP:
        return MQTT_OK;
    default:
        return fail(s, MQTT_E_PROTOCOL, "unexpected packet of type %u from the broker",
                    (unsigned)p->type);
    }
}

/* The head of a PUBLISH above max_packet is in rx at pos: acknowledge it,
 * report it, and discard the rest of it as it arrives. */
static mqtt_status refuse_oversized(mqtt_session *s, const mqtt_header *h, size_t *pos)
{
    mqtt_packet p;
    size_t head = 0;
    mqtt_status st = mqtt_decode_publish_head(h, s->rx + *pos + h->header_len,
                                              s->rx_len - *pos - h->header_len, &p, &head);
    if (st == MQTT_NEED_MORE)
        return st;
    if (st != MQTT_OK)
        return fail(s, st, "malformed head of a %lu-byte PUBLISH", (unsigned long)h->remaining);
    if (p.qos == 2)
        return fail(s, MQTT_E_PROTOCOL, "QoS 2 PUBLISH, though the client subscribed with QoS 1");
    char detail[MQTT_DETAIL_MAX];
    snprintf(detail, sizeof detail, "PUBLISH of %lu bytes on '%.*s' refused (limit %lu bytes)",
             (unsigned long)(h->header_len + h->remaining), (int)(p.topic.len > 80 ? 80 : p.topic.len),
             (const char *)p.topic.data, (unsigned long)s->cfg.max_packet);
    memcpy(s->topic_buf, p.topic.data, p.topic.len);
    s->topic_buf[p.topic.len] = '\0';
    s->skip_left = (uint64_t)h->header_len + h->remaining - (s->rx_len - *pos);
    *pos = s->rx_len;
    bump(s, &s->stats.received);
    bump(s, &s->stats.rejected);
    if (p.qos == 1) {
        st = send_simple(s, MQTT_PUBACK, p.packet_id, s->cfg.connect_timeout_ms);
        if (st != MQTT_OK)
            return st;
        bump(s, &s->stats.acknowledged);
    }
    mqtt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MQTT_EV_REJECTED;
    ev.status = MQTT_E_TOO_LARGE;
    ev.detail = detail;
    ev.filter = s->topic_buf;
    mqtt_emit(s, ev);
    return MQTT_OK;
}

/* Handles every whole packet in rx. With want_connack, the first must be a CONNACK,
 * and handling stops after it (*connack gets it). */
static mqtt_status process(mqtt_session *s, mqtt_packet *connack)
{
    size_t pos = 0;
    mqtt_status st = MQTT_OK;
    while (pos < s->rx_len) {
        if (s->skip_left > 0) {
            size_t d = s->rx_len - pos < s->skip_left ? s->rx_len - pos : (size_t)s->skip_left;
            pos += d;
            s->skip_left -= d;
            continue;
        }
        mqtt_header h;
        st = mqtt_decode_header(s->rx + pos, s->rx_len - pos, s->cfg.max_packet, &h);
        if (st == MQTT_E_TOO_LARGE && connack == NULL && (h.first >> 4) == MQTT_PUBLISH) {
            st = refuse_oversized(s, &h, &pos);
        } else if (st == MQTT_OK && connack != NULL && (h.first >> 4) != MQTT_CONNACK) {
            st = fail(s, MQTT_E_PROTOCOL, "the broker sent packet type %u before CONNACK",
                      (unsigned)(h.first >> 4));
        } else if (st == MQTT_OK && s->rx_len - pos - h.header_len >= h.remaining) {
            mqtt_packet p;
            st = mqtt_decode_body(&h, s->rx + pos + h.header_len, &p);
            if (st != MQTT_OK) {
                st = fail(s, st, "malformed packet of type %u (%lu bytes) from the broker",
                          (unsigned)(h.first >> 4), (unsigned long)h.remaining);
            } else if (connack != NULL) {
                *connack = p;
                pos += h.header_len + h.remaining;
                break;
            } else {
                st = handle_packet(s, &p);
            }
            pos += h.header_len + h.remaining;
        } else if (st == MQTT_OK) {
            st = MQTT_NEED_MORE; /* the rest of this packet is still on its way */
        } else if (st == MQTT_E_TOO_LARGE) {
            st = fail(s, st, "a packet of type %u and %lu bytes from the broker (limit %lu)",
                      (unsigned)(h.first >> 4), (unsigned long)(h.header_len + h.remaining),
                      (unsigned long)s->cfg.max_packet);
        } else if (st != MQTT_NEED_MORE) {
            st = fail(s, st, "bad fixed header (first byte 0x%02x) from the broker", s->rx[pos]);
        }
        if (st != MQTT_OK)
            break;
    }
    memmove(s->rx, s->rx + pos, s->rx_len - pos);
    s->rx_len -= pos;
    return st == MQTT_NEED_MORE ? MQTT_OK : st;
}

static mqtt_status connect_once(mqtt_session *s, int *session_present)
{
    s->rx_len = 0;
    s->skip_left = 0;
    s->ping_sent = 0;
    s->redeliver_at = 0;
    set_state(s, MQTT_STATE_CONNECTING);
    ULONGLONG deadline = GetTickCount64() + s->cfg.connect_timeout_ms;
    mqtt_status st = mqtt_conn_open(&s->conn, &s->ep, s->trust, s->cfg.client_cert_sha1,
                                    s->stop_ev, s->cfg.connect_timeout_ms);
    if (st != MQTT_OK)
        return st;

    mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNECT;
    p.keep_alive = s->cfg.keep_alive_s;
    p.client_id.data = (const uint8_t *)s->client_id;
    p.client_id.len = strlen(s->client_id);
    if (s->user_name != NULL) {
        p.has_user = 1;
        p.user.data = (const uint8_t *)s->user_name;
        p.user.len = strlen(s->user_name);
    }
    if (s->cfg.password != NULL) {
        p.has_password = 1;
        p.password.data = s->password;
        p.password.len = s->cfg.password_len;
    }
    st = send_packet(s, &p, s->cfg.connect_timeout_ms);
    SecureZeroMemory(s->tx, s->tx_cap); /* the password was in it */
    if (st != MQTT_OK)
        return st;

    mqtt_packet ack;
    memset(&ack, 0, sizeof ack);
    while (ack.type == 0) {
        size_t got = 0;
        st = fill(s, &got);
        if (st == MQTT_OK)
            st = process(s, &ack);
        if (st != MQTT_OK)
            return st;
        if (ack.type != 0 || got > 0)
            continue;
        if (GetTickCount64() >= deadline)
            return fail(s, MQTT_E_TIMEOUT, "no CONNACK within %lu ms",
                        (unsigned long)s->cfg.connect_timeout_ms);
        if (wait_input(s, deadline, 0) == MQTT_E_STOPPED)
            return MQTT_E_STOPPED;
    }
    st = mqtt_connack_status(ack.return_code);
    if (st != MQTT_OK)
        return fail(s, st, "CONNACK return code %u", (unsigned)ack.return_code);
    *session_present = ack.session_present;
    return MQTT_OK;
}

/* Sends what is due: (un)subscriptions first, then publishes within the window. */
static mqtt_status pump(mqtt_session *s)
{
    for (;;) {
        mqtt_packet p;
        AcquireSRWLockExclusive(&s->lock);
        int any = mqtt_work_next_subscription(s, &p) || mqtt_work_next_publish(s, &p);
        ReleaseSRWLockExclusive(&s->lock);
        PIPES_CHAOS_POINT("mqtt.pump");
        if (!any)
            return MQTT_OK;
        mqtt_status st = send_packet(s, &p, s->cfg.connect_timeout_ms);
        if (st != MQTT_OK)
            return st;
    }
}

/* Connected: until the connection fails (its status), stop (MQTT_E_STOPPED)
 * or a planned reconnect for redelivery (MQTT_OK). */
static mqtt_status run_connected(mqtt_session *s)
{
    const ULONGLONG keep_ms = (ULONGLONG)s->cfg.keep_alive_s * 1000u;
    const ULONGLONG ping_timeout = keep_ms / 2 > 1000 ? keep_ms / 2 : 1000;
    for (;;) {
        size_t got;
        mqtt_status st;
        /* Sends between reads too, not only once the input ran dry: while the
         * broker floods us, publishes queued meanwhile (the service's status
         * events) would otherwise wait until the flood ended and overflow
         * max_queue. */
        do {
            st = fill(s, &got);
            if (st == MQTT_OK)
                st = process(s, NULL);
            if (st == MQTT_OK)
                st = pump(s);
        } while (st == MQTT_OK && got > 0);
        if (st != MQTT_OK)
            return st;

        ULONGLONG now = GetTickCount64();
        if (s->ping_sent != 0 && now - s->ping_sent >= ping_timeout)
            return fail(s, MQTT_E_DEAD_PEER, "no PINGRESP within %lu ms", (unsigned long)ping_timeout);
        if (s->ping_sent == 0 && now - s->last_send >= keep_ms) {
            st = send_simple(s, MQTT_PINGREQ, 0, s->cfg.connect_timeout_ms);
            if (st != MQTT_OK)
                return st;
            s->ping_sent = now;
        }
        if (s->redeliver_at != 0 && now >= s->redeliver_at) {
            send_simple(s, MQTT_DISCONNECT, 0, BYE_MS);
            return MQTT_OK;
        }
        ULONGLONG deadline = s->ping_sent != 0 ? s->ping_sent + ping_timeout : s->last_send + keep_ms;
        if (s->redeliver_at != 0 && s->redeliver_at < deadline)
            deadline = s->redeliver_at;
        if (mqtt_conn_pending(&s->conn))
            continue;
        if (wait_input(s, deadline, 1) == MQTT_E_STOPPED) {
            send_simple(s, MQTT_DISCONNECT, 0, BYE_MS);
            return MQTT_E_STOPPED;
        }
    }
}

static uint32_t backoff_ms(mqtt_session *s, unsigned attempt)
{
    uint64_t base = s->cfg.backoff_min_ms;
    for (unsigned i = 0; i < attempt && base < s->cfg.backoff_max_ms; i++)
        base *= 2;
    if (base > s->cfg.backoff_max_ms)
        base = s->cfg.backoff_max_ms;
    /* xorshift64: jitter only, no secrecy needed. Half fixed, half random, so a fleet
     * that lost its broker at once does not come back at once. */
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(base / 2 + s->rng % (base / 2 + 1));
}

static void record_failure(mqtt_session *s, mqtt_status st)
{
    const char *detail = s->conn.detail;
    AcquireSRWLockExclusive(&s->lock);
    s->stats.last_error = st;
    snprintf(s->stats.last_error_text, sizeof s->stats.last_error_text, "%s%s%s",
             mqtt_status_text(st), detail[0] ? ": " : "", detail);
    s->stats.connection_failures++;
    ReleaseSRWLockExclusive(&s->lock);
    emit_status(s, MQTT_EV_DISCONNECTED, st, detail);
}

DWORD WINAPI mqtt_run_thread(void *arg)
{
    mqtt_session *s = (mqtt_session *)arg;
    unsigned attempt = 0;
    while (WaitForSingleObject(s->stop_ev, 0) != WAIT_OBJECT_0) {
        int session_present = 0;
        ULONGLONG up = 0;
        mqtt_status st = connect_once(s, &session_present);
        if (st == MQTT_OK) {
            up = GetTickCount64();
            AcquireSRWLockExclusive(&s->lock);
            s->gen++;
            mqtt_work_reset(s, session_present);
            s->stats.connects++;
            s->stats.state = MQTT_STATE_CONNECTED;
            ReleaseSRWLockExclusive(&s->lock);
            mqtt_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = MQTT_EV_CONNECTED;
            ev.session_present = (uint8_t)session_present;
            mqtt_emit(s, ev);
            st = run_connected(s);
        }
        mqtt_conn_close(&s->conn);
        if (st == MQTT_E_STOPPED)
            break;
        if (up != 0 && GetTickCount64() - up >= STABLE_MS)
            attempt = 0;
        if (st == MQTT_OK) {
            emit_status(s, MQTT_EV_DISCONNECTED, MQTT_OK,
                        "reconnecting so that the broker redelivers what was not stored yet");
            continue;
        }
        record_failure(s, st);
        uint32_t delay = backoff_ms(s, attempt++);
        set_state(s, MQTT_STATE_WAITING);
        if (WaitForSingleObject(s->stop_ev, delay) == WAIT_OBJECT_0)
            break;
    }
    mqtt_conn_close(&s->conn);
    set_state(s, MQTT_STATE_STOPPED);
    return 0;
}
