/*
 * mqtt_encode.c - mqtt_packet -> bytes (MQTT 3.1.1 section 3).
 *
 * Each body writer runs twice: once with a counting writer (no buffer) to
 * learn the remaining length, whose varint size decides where the body
 * starts, then for real. Validation happens in the same writer, so what is
 * checked and what is written cannot drift apart.
 */
#include "mqtt_codec_internal.h"

typedef struct wr {
    uint8_t *out; /* NULL: count only */
    size_t cap, pos;
} wr;

static void put8(wr *w, uint8_t b)
{
    if (w->pos < w->cap)
        w->out[w->pos] = b;
    w->pos++;
}

static void put16(wr *w, uint16_t v)
{
    put8(w, (uint8_t)(v >> 8));
    put8(w, (uint8_t)(v & 0xFF));
}

static void put_bytes(wr *w, const uint8_t *data, size_t len)
{
    if (len != 0 && w->out != NULL && w->pos <= w->cap && w->cap - w->pos >= len)
        memcpy(w->out + w->pos, data, len);
    w->pos += len;
}

/* A length-prefixed string or binary field (1.5.3): at most 65535 bytes. */
static mqtt_status put_field(wr *w, mqtt_view v)
{
    if (v.len > 0xFFFFu)
        return MQTT_E_MALFORMED;
    if (v.len != 0 && v.data == NULL)
        return MQTT_E_ARG;
    put16(w, (uint16_t)v.len);
    put_bytes(w, v.data, v.len);
    return MQTT_OK;
}

static mqtt_status put_text(wr *w, mqtt_view v)
{
    mqtt_status st = v.len != 0 && v.data == NULL ? MQTT_E_ARG : mqtt_text_check(v.data, v.len);
    return st != MQTT_OK ? st : put_field(w, v);
}

static mqtt_status connect_body(const mqtt_packet *p, wr *w)
{
    if (p->has_password && !p->has_user)
        return MQTT_E_MALFORMED;
    uint8_t flags = (uint8_t)((p->has_user ? MQTT_CF_USER : 0u) |
                              (p->has_password ? MQTT_CF_PASSWORD : 0u) |
                              (p->clean_session ? MQTT_CF_CLEAN : 0u));
    put_bytes(w, (const uint8_t *)MQTT_PROTOCOL_NAME, MQTT_PROTOCOL_NAME_LEN);
    put8(w, MQTT_PROTOCOL_LEVEL);
    put8(w, flags);
    put16(w, p->keep_alive);
    mqtt_status st = put_text(w, p->client_id);
    if (st == MQTT_OK && p->has_user)
        st = put_text(w, p->user);
    if (st == MQTT_OK && p->has_password)
        st = put_field(w, p->password);
    return st;
}

static mqtt_status publish_body(const mqtt_packet *p, wr *w, uint8_t *first)
{
    if (p->qos > 2 || (p->qos == 0 && p->dup) || p->dup > 1 || p->retain > 1)
        return MQTT_E_BAD_FLAGS;
    if (p->qos != 0 && p->packet_id == 0)
        return MQTT_E_MALFORMED;
    if (p->payload.len != 0 && p->payload.data == NULL)
        return MQTT_E_ARG;
    mqtt_status st = mqtt_topic_check(p->topic.data, p->topic.len);
    if (st != MQTT_OK)
        return st;
    *first = (uint8_t)(MQTT_PUBLISH << 4 | p->dup << 3 | p->qos << 1 | p->retain);
    put_field(w, p->topic);
    if (p->qos != 0)
        put16(w, p->packet_id);
    put_bytes(w, p->payload.data, p->payload.len);
    return MQTT_OK;
}

/* SUBSCRIBE, UNSUBSCRIBE and SUBACK: a packet id and 1..MQTT_MAX_FILTERS entries. */
static mqtt_status list_body(const mqtt_packet *p, wr *w)
{
    if (p->packet_id == 0 || p->count == 0)
        return MQTT_E_MALFORMED;
    if (p->count > MQTT_MAX_FILTERS)
        return MQTT_E_TOO_MANY;
    put16(w, p->packet_id);
    for (unsigned i = 0; i < p->count; i++) {
        uint8_t code = p->codes[i];
        if (p->type == MQTT_SUBACK) {
            if (code > 2 && code != MQTT_SUBACK_FAILURE)
                return MQTT_E_MALFORMED;
            put8(w, code);
            continue;
        }
        mqtt_status st = mqtt_filter_check(p->filters[i].data, p->filters[i].len);
        if (st != MQTT_OK)
            return st;
        put_field(w, p->filters[i]);
        if (p->type == MQTT_SUBSCRIBE) {
            if (code > 2)
                return MQTT_E_MALFORMED;
            put8(w, code);
        }
    }
    return MQTT_OK;
}

static mqtt_status body(const mqtt_packet *p, wr *w, uint8_t *first)
{
    *first = (uint8_t)(p->type << 4 | mqtt_fixed_flags(p->type));
    switch (p->type) {
    case MQTT_CONNECT:
        return connect_body(p, w);
    case MQTT_CONNACK:
        if (p->session_present > 1 || (p->session_present && p->return_code != 0))
            return MQTT_E_MALFORMED;
        put8(w, p->session_present);
        put8(w, p->return_code);
        return MQTT_OK;
    case MQTT_PUBLISH:
        return publish_body(p, w, first);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
    case MQTT_UNSUBACK:
        if (p->packet_id == 0)
            return MQTT_E_MALFORMED;
        put16(w, p->packet_id);
        return MQTT_OK;
    case MQTT_SUBSCRIBE:
    case MQTT_SUBACK:
    case MQTT_UNSUBSCRIBE:
        return list_body(p, w);
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
    case MQTT_DISCONNECT:
        return MQTT_OK;
    default:
        return MQTT_E_BAD_TYPE;
    }
}

mqtt_status mqtt_encode(const mqtt_packet *p, uint8_t *out, size_t cap, size_t *len)
{
    if (p == NULL || len == NULL || (out == NULL && cap != 0))
        return MQTT_E_ARG;
    *len = 0;
    uint8_t first = 0;
    wr count = {NULL, 0, 0};
    mqtt_status st = body(p, &count, &first);
    if (st != MQTT_OK)
        return st;
    if (count.pos > MQTT_MAX_REMAINING)
        return MQTT_E_TOO_LARGE;

    uint8_t varint[4];
    size_t nv = 0;
    size_t rem = count.pos;
    do {
        uint8_t b = (uint8_t)(rem & 0x7F);
        rem >>= 7;
        varint[nv++] = (uint8_t)(b | (rem != 0 ? 0x80u : 0u));
    } while (rem != 0);

    *len = 1 + nv + count.pos;
    if (cap < *len)
        return MQTT_E_BUFFER;
    out[0] = first;
    memcpy(out + 1, varint, nv);
    wr w = {out + 1 + nv, count.pos, 0};
    return body(p, &w, &first);
}
