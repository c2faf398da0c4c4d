/*
 * mqtt_work.c - what the session thread sends next and what an ack settles:
 * the subscription set and the QoS 1 publish queue.
 *
 * Other threads add to both under the session lock; only the session thread
 * removes from them, so the filter strings and queued messages it is
 * encoding or reporting stay valid after it drops the lock.
 *
 * The queue is in publish order and packet ids are handed out in that order,
 * so the messages in flight are always a prefix of it: the walk for the next
 * one to send stops at the first message without an id.
 */
#include "mqtt_session_internal.h"

#include <stdlib.h>

#include "pipes_chaos.h"

static int pid_in_use(const mqtt_session *s, uint16_t id)
{
    for (const out_msg *m = s->out_head; m != NULL && m->packet_id != 0; m = m->next) {
        if (m->packet_id == id)
            return 1;
    }
    for (size_t i = 0; i < s->nsubs; i++) {
        if (s->subs[i].state == SUB_PENDING && s->subs[i].packet_id == id)
            return 1;
    }
    return 0;
}

uint16_t mqtt_work_packet_id(mqtt_session *s)
{
    /* Ends: at most max_queue + MQTT_MAX_SUBSCRIPTIONS of the 65535 ids are in use. */
    for (;;) {
        if (++s->next_pid == 0)
            s->next_pid = 1;
        if (!pid_in_use(s, s->next_pid))
            return s->next_pid;
    }
}

void mqtt_work_reset(mqtt_session *s, int session_present)
{
    for (size_t i = 0; i < s->nsubs; i++) {
        sub_entry *e = &s->subs[i];
        if (e->state != SUB_DONE || !session_present)
            e->state = SUB_IDLE;
    }
}

int mqtt_work_next_subscription(mqtt_session *s, mqtt_packet *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < s->nsubs; i++) {
        sub_entry *e = &s->subs[i];
        if (e->state != SUB_IDLE)
            continue;
        if (p->count == 0) {
            p->type = e->want ? MQTT_SUBSCRIBE : MQTT_UNSUBSCRIBE;
            p->packet_id = mqtt_work_packet_id(s);
        } else if ((p->type == MQTT_SUBSCRIBE) != (e->want == 1)) {
            continue;
        }
        e->state = SUB_PENDING;
        e->pending_op = p->type;
        e->packet_id = p->packet_id;
        p->filters[p->count].data = (const uint8_t *)e->filter;
        p->filters[p->count].len = e->len;
        p->codes[p->count] = 1; /* QoS 1 */
        if (++p->count == MQTT_MAX_FILTERS)
            break;
    }
    return p->count != 0;
}

int mqtt_work_next_publish(mqtt_session *s, mqtt_packet *p)
{
    memset(p, 0, sizeof *p);
    out_msg *m = s->out_head;
    while (m != NULL && m->packet_id != 0 && m->sent_gen == s->gen)
        m = m->next;
    if (m == NULL)
        return 0;
    if (m->packet_id != 0) {
        p->dup = 1; /* sent on an earlier connection, not acknowledged */
    } else {
        if (s->stats.inflight >= s->cfg.max_inflight)
            return 0;
        m->packet_id = mqtt_work_packet_id(s);
        s->stats.inflight++;
    }
    m->sent_gen = s->gen;
    p->type = MQTT_PUBLISH;
    p->qos = 1;
    p->retain = m->retain;
    p->packet_id = m->packet_id;
    p->topic.data = (const uint8_t *)m->topic;
    p->topic.len = m->topic_len;
    p->payload.data = m->payload;
    p->payload.len = m->payload_len;
    return 1;
}

static void puback(mqtt_session *s, uint16_t id)
{
    AcquireSRWLockExclusive(&s->lock);
    out_msg *prev = NULL, *m = s->out_head;
    while (m != NULL && m->packet_id != 0 && m->packet_id != id) {
        prev = m;
        m = m->next;
    }
    if (m != NULL && m->packet_id == id) {
        if (prev != NULL)
            prev->next = m->next;
        else
            s->out_head = m->next;
        if (s->out_tail == m)
            s->out_tail = prev;
        s->stats.queued--;
        s->stats.inflight--;
        s->stats.published++;
    } else {
        m = NULL; /* an ack for nothing in flight: a broker's repeat, harmless */
    }
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("mqtt.puback");
    if (m != NULL) {
        mqtt_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = MQTT_EV_PUBLISHED;
        ev.filter = m->topic;
        ev.token = m->token;
        mqtt_emit(s, ev);
        free(m);
    }
}

/* SUBACK or UNSUBACK: settles the entries that went out with its packet id. */
static mqtt_status list_ack(mqtt_session *s, const mqtt_packet *ack)
{
    uint8_t op = ack->type == MQTT_SUBACK ? MQTT_SUBSCRIBE : MQTT_UNSUBSCRIBE;
    struct {
        const char *filter;
        char *drop; /* removed entry's string, freed after its event */
        uint8_t code;
    } done[MQTT_MAX_FILTERS];
    unsigned n = 0;
    int mismatch = 0;

    AcquireSRWLockExclusive(&s->lock);
    size_t keep = 0;
    for (size_t i = 0; i < s->nsubs; i++) {
        sub_entry *e = &s->subs[i];
        if (e->state == SUB_PENDING && e->packet_id == ack->packet_id && e->pending_op == op) {
            if (n == MQTT_MAX_FILTERS || (op == MQTT_SUBSCRIBE && n >= ack->count)) {
                mismatch = 1;
            } else {
                uint8_t code = op == MQTT_SUBSCRIBE ? ack->codes[n] : 0;
                done[n].filter = e->filter;
                done[n].drop = NULL;
                done[n].code = code;
                n++;
                int as_wanted = e->want == (op == MQTT_SUBSCRIBE);
                if (!as_wanted)
                    e->state = SUB_IDLE;
                else if (op == MQTT_UNSUBSCRIBE) {
                    done[n - 1].drop = e->filter;
                    continue; /* dropped from the set */
                } else
                    e->state = code == MQTT_SUBACK_FAILURE ? SUB_REFUSED : SUB_DONE;
            }
        }
        s->subs[keep++] = *e;
    }
    s->nsubs = keep;
    if (op == MQTT_SUBSCRIBE && n != ack->count)
        mismatch = 1;
    ReleaseSRWLockExclusive(&s->lock);
    PIPES_CHAOS_POINT("mqtt.suback");

    for (unsigned i = 0; i < n; i++) {
        mqtt_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = op == MQTT_SUBSCRIBE ? MQTT_EV_SUBSCRIBED : MQTT_EV_UNSUBSCRIBED;
        ev.filter = done[i].filter;
        if (op == MQTT_SUBSCRIBE && done[i].code == MQTT_SUBACK_FAILURE)
            ev.status = MQTT_E_SUBSCRIBE_REFUSED;
        else
            ev.granted_qos = done[i].code;
        mqtt_emit(s, ev);
        free(done[i].drop);
    }
    return mismatch ? MQTT_E_PROTOCOL : MQTT_OK;
}

mqtt_status mqtt_work_ack(mqtt_session *s, const mqtt_packet *ack)
{
    if (ack->type == MQTT_PUBACK) {
        puback(s, ack->packet_id);
        return MQTT_OK;
    }
    return list_ack(s, ack);
}

void mqtt_work_free(mqtt_session *s)
{
    while (s->out_head != NULL) {
        out_msg *m = s->out_head;
        s->out_head = m->next;
        free(m);
    }
    s->out_tail = NULL;
    for (size_t i = 0; i < s->nsubs; i++)
        free(s->subs[i].filter);
    free(s->subs);
    s->subs = NULL;
    s->nsubs = s->subs_cap = 0;
}
