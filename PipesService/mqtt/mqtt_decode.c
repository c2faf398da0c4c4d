/*
 * mqtt_decode.c - bytes -> mqtt_packet (MQTT 3.1.1 section 3), strictly:
 * anything the encoder would not write is refused, with the rule it breaks.
 */
#include "mqtt_codec_internal.h"

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
} rd;

static int get8(rd *r, uint8_t *v)
{
    if (r->pos >= r->len)
        return 0;
    *v = r->p[r->pos++];
    return 1;
}

static int get16(rd *r, uint16_t *v)
{
    if (r->len - r->pos < 2)
        return 0;
    *v = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return 1;
}

/* A length-prefixed field; the view points into the input. */
static int get_field(rd *r, mqtt_view *v)
{
    uint16_t n;
    if (!get16(r, &n) || r->len - r->pos < n)
        return 0;
    v->data = r->p + r->pos;
    v->len = n;
    r->pos += n;
    return 1;
}

static mqtt_status get_text(rd *r, mqtt_view *v)
{
    return get_field(r, v) ? mqtt_text_check(v->data, v->len) : MQTT_E_MALFORMED;
}

/* The flags of the fixed header, checked for every type (PUBLISH: its own rules). */
static mqtt_status check_first(uint8_t first)
{
    uint8_t type = (uint8_t)(first >> 4), flags = (uint8_t)(first & 0x0F);
    if (type < MQTT_CONNECT || type > MQTT_DISCONNECT)
        return MQTT_E_BAD_TYPE;
    if (type == MQTT_PUBLISH) {
        uint8_t qos = (uint8_t)((flags >> 1) & 3);
        if (qos == 3 || (qos == 0 && (flags & 0x08)))
            return MQTT_E_BAD_FLAGS;
        return MQTT_OK;
    }
    return flags == mqtt_fixed_flags(type) ? MQTT_OK : MQTT_E_BAD_FLAGS;
}

mqtt_status mqtt_decode_header(const uint8_t *buf, size_t len, uint32_t max_packet, mqtt_header *h)
{
    if (buf == NULL || h == NULL)
        return len == 0 && h != NULL ? MQTT_NEED_MORE : MQTT_E_ARG;
    memset(h, 0, sizeof *h);
    if (len == 0)
        return MQTT_NEED_MORE;
    /* The first byte alone can show that this is no MQTT packet: say so before waiting for more. */
    mqtt_status st = check_first(buf[0]);
    if (st != MQTT_OK)
        return st;
    uint32_t value = 0;
    for (size_t i = 1; i <= 4; i++) {
        if (i >= len)
            return MQTT_NEED_MORE;
        uint8_t b = buf[i];
        value |= (uint32_t)(b & 0x7F) << (7 * (i - 1));
        if (b & 0x80) {
            if (i == 4)
                return MQTT_E_BAD_LENGTH; /* a fifth length byte would follow */
            continue;
        }
        if (b == 0 && i > 1)
            return MQTT_E_BAD_LENGTH; /* a zero last byte: a shorter form exists */
        h->first = buf[0];
        h->remaining = value;
        h->header_len = (uint32_t)(i + 1);
        if ((uint64_t)h->header_len + value > max_packet)
            return MQTT_E_TOO_LARGE;
        return MQTT_OK;
    }
    return MQTT_E_BAD_LENGTH; /* not reached */
}

static mqtt_status publish_head(const mqtt_header *h, rd *r, mqtt_packet *p)
{
    p->dup = (uint8_t)((h->first >> 3) & 1);
    p->qos = (uint8_t)((h->first >> 1) & 3);
    p->retain = (uint8_t)(h->first & 1);
    uint16_t tl;
    if (!get16(r, &tl))
        return h->remaining < 2 ? MQTT_E_MALFORMED : MQTT_NEED_MORE;
    if (tl > MQTT_TOPIC_MAX)
        return MQTT_E_TOPIC_TOO_LONG;
    size_t need = 2u + tl + (p->qos != 0 ? 2u : 0u);
    if (need > h->remaining)
        return MQTT_E_MALFORMED;
    if (r->len < need)
        return MQTT_NEED_MORE;
    p->topic.data = r->p + r->pos;
    p->topic.len = tl;
    r->pos += tl;
    mqtt_status st = mqtt_topic_check(p->topic.data, p->topic.len);
    if (st != MQTT_OK)
        return st;
    if (p->qos != 0 && (!get16(r, &p->packet_id) || p->packet_id == 0))
        return MQTT_E_MALFORMED;
    return MQTT_OK;
}

static mqtt_status connect_body(rd *r, mqtt_packet *p)
{
    uint8_t level, flags;
    if (r->len < MQTT_PROTOCOL_NAME_LEN + 4)
        return MQTT_E_MALFORMED;
    if (memcmp(r->p, MQTT_PROTOCOL_NAME, MQTT_PROTOCOL_NAME_LEN) != 0)
        return MQTT_E_UNSUPPORTED;
    r->pos = MQTT_PROTOCOL_NAME_LEN;
    get8(r, &level);
    get8(r, &flags);
    get16(r, &p->keep_alive);
    if (level != MQTT_PROTOCOL_LEVEL || (flags & MQTT_CF_WILL))
        return MQTT_E_UNSUPPORTED;
    if ((flags & (MQTT_CF_RESERVED | MQTT_CF_WILL_QOS | MQTT_CF_WILL_RETAIN)) ||
        ((flags & MQTT_CF_PASSWORD) && !(flags & MQTT_CF_USER)))
        return MQTT_E_MALFORMED;
    p->clean_session = (flags & MQTT_CF_CLEAN) != 0;
    p->has_user = (flags & MQTT_CF_USER) != 0;
    p->has_password = (flags & MQTT_CF_PASSWORD) != 0;
    mqtt_status st = get_text(r, &p->client_id);
    if (st == MQTT_OK && p->has_user)
        st = get_text(r, &p->user);
    if (st == MQTT_OK && p->has_password && !get_field(r, &p->password))
        st = MQTT_E_MALFORMED;
    return st;
}

static mqtt_status list_body(rd *r, mqtt_packet *p)
{
    if (!get16(r, &p->packet_id) || p->packet_id == 0 || r->pos == r->len)
        return MQTT_E_MALFORMED;
    while (r->pos < r->len) {
        if (p->count == MQTT_MAX_FILTERS)
            return MQTT_E_TOO_MANY;
        uint8_t *code = &p->codes[p->count];
        if (p->type == MQTT_SUBACK) {
            get8(r, code);
            if (*code > 2 && *code != MQTT_SUBACK_FAILURE)
                return MQTT_E_MALFORMED;
        } else {
            mqtt_view *f = &p->filters[p->count];
            if (!get_field(r, f))
                return MQTT_E_MALFORMED;
            mqtt_status st = mqtt_filter_check(f->data, f->len);
            if (st != MQTT_OK)
                return st;
            if (p->type == MQTT_SUBSCRIBE && (!get8(r, code) || *code > 2))
                return MQTT_E_MALFORMED;
        }
        p->count++;
    }
    return MQTT_OK;
}

static mqtt_status body(const mqtt_header *h, rd *r, mqtt_packet *p)
{
    switch (p->type) {
    case MQTT_CONNECT:
        return connect_body(r, p);
    case MQTT_CONNACK:
        if (r->len != 2)
            return MQTT_E_MALFORMED;
        get8(r, &p->session_present);
        get8(r, &p->return_code);
        if (p->session_present > 1 || (p->session_present && p->return_code != 0))
            return MQTT_E_MALFORMED;
        return MQTT_OK;
    case MQTT_PUBLISH: {
        mqtt_status st = publish_head(h, r, p);
        if (st != MQTT_OK)
            return st == MQTT_NEED_MORE ? MQTT_E_MALFORMED : st;
        p->payload.data = r->p + r->pos;
        p->payload.len = r->len - r->pos;
        r->pos = r->len;
        return MQTT_OK;
    }
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
    case MQTT_UNSUBACK:
        if (r->len != 2 || !get16(r, &p->packet_id) || p->packet_id == 0)
            return MQTT_E_MALFORMED;
        return MQTT_OK;
    case MQTT_SUBSCRIBE:
    case MQTT_SUBACK:
    case MQTT_UNSUBSCRIBE:
        return list_body(r, p);
    default: /* PINGREQ, PINGRESP, DISCONNECT: no body */
        return MQTT_OK;
    }
}

mqtt_status mqtt_decode_body(const mqtt_header *h, const uint8_t *body_bytes, mqtt_packet *p)
{
    if (h == NULL || p == NULL || (body_bytes == NULL && h->remaining != 0))
        return MQTT_E_ARG;
    memset(p, 0, sizeof *p);
    mqtt_status st = check_first(h->first);
    if (st != MQTT_OK)
        return st;
    p->type = (uint8_t)(h->first >> 4);
    rd r = {body_bytes, h->remaining, 0};
    st = body(h, &r, p);
    if (st == MQTT_OK && r.pos != r.len)
        st = MQTT_E_MALFORMED; /* bytes left over, or a body where none belongs */
    return st;
}

mqtt_status mqtt_decode_publish_head(const mqtt_header *h, const uint8_t *body_bytes, size_t avail,
                                     mqtt_packet *p, size_t *head_len)
{
    if (h == NULL || p == NULL || head_len == NULL || (body_bytes == NULL && avail != 0))
        return MQTT_E_ARG;
    memset(p, 0, sizeof *p);
    *head_len = 0;
    if ((h->first >> 4) != MQTT_PUBLISH)
        return MQTT_E_ARG;
    mqtt_status st = check_first(h->first);
    if (st != MQTT_OK)
        return st;
    p->type = MQTT_PUBLISH;
    rd r = {body_bytes, avail < h->remaining ? avail : h->remaining, 0};
    st = publish_head(h, &r, p);
    if (st == MQTT_OK)
        *head_len = r.pos;
    return st;
}

mqtt_status mqtt_decode(const uint8_t *buf, size_t len, uint32_t max_packet, mqtt_packet *p,
                        size_t *used)
{
    if (p == NULL || used == NULL)
        return MQTT_E_ARG;
    *used = 0;
    mqtt_header h;
    mqtt_status st = mqtt_decode_header(buf, len, max_packet, &h);
    if (st != MQTT_OK)
        return st;
    if (len - h.header_len < h.remaining)
        return MQTT_NEED_MORE;
    st = mqtt_decode_body(&h, buf + h.header_len, p);
    if (st == MQTT_OK)
        *used = h.header_len + h.remaining;
    return st;
}
