/*
 * fuzz_mqtt_codec.c - libFuzzer target for the MQTT packet codec
 * (PipesService/mqtt/mqtt_*.c). Built natively by run_fuzz_mqtt.sh with
 * -fsanitize=fuzzer,address,undefined.
 *
 * Properties, each an abort (reported as a crash) when broken:
 *   - the input as a stream of packets: every packet that decodes re-encodes
 *     to exactly its bytes (the decoder accepts only the canonical form),
 *     decodes again to the same fields, and every shorter prefix of it is
 *     MQTT_NEED_MORE; a refusal is a known status;
 *   - for a PUBLISH, the head decoder agrees with the full decoder;
 *   - the input as a recipe: a packet built from it either encodes, and then
 *     decode(encode(x)) == x, or is refused with a known status.
 */
#include "mqtt_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint8_t g_wire[70000];

static int same_view(mqtt_view a, mqtt_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int has_packet_id(const mqtt_packet *p)
{
    switch (p->type) {
    case MQTT_CONNECT:
    case MQTT_CONNACK:
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
    case MQTT_DISCONNECT:
        return 0;
    case MQTT_PUBLISH:
        return p->qos != 0;
    default:
        return 1;
    }
}

/* Equal in every field the packet's type carries. */
static int same_packet(const mqtt_packet *a, const mqtt_packet *b)
{
    if (a->type != b->type || (has_packet_id(a) && a->packet_id != b->packet_id))
        return 0;
    switch (a->type) {
    case MQTT_CONNECT:
        return a->clean_session == b->clean_session && a->has_user == b->has_user &&
               a->has_password == b->has_password && a->keep_alive == b->keep_alive &&
               same_view(a->client_id, b->client_id) &&
               (!a->has_user || same_view(a->user, b->user)) &&
               (!a->has_password || same_view(a->password, b->password));
    case MQTT_CONNACK:
        return a->session_present == b->session_present && a->return_code == b->return_code;
    case MQTT_PUBLISH:
        return a->dup == b->dup && a->qos == b->qos && a->retain == b->retain &&
               same_view(a->topic, b->topic) && same_view(a->payload, b->payload);
    case MQTT_SUBSCRIBE:
    case MQTT_SUBACK:
    case MQTT_UNSUBSCRIBE:
        if (a->count != b->count)
            return 0;
        for (unsigned i = 0; i < a->count; i++) {
            if (a->type != MQTT_SUBACK && !same_view(a->filters[i], b->filters[i]))
                return 0;
            if (a->type != MQTT_UNSUBSCRIBE && a->codes[i] != b->codes[i])
                return 0;
        }
        return 1;
    default:
        return 1;
    }
}

static void check_refusal(mqtt_status st)
{
    CHECK(st > MQTT_NEED_MORE && st < MQTT_STATUS_COUNT);
    CHECK(strcmp(mqtt_status_name(st), "unknown") != 0);
}

static void stream_property(const uint8_t *data, size_t size)
{
    uint32_t max_packet = size > 0 ? 16u + (uint32_t)data[0] * 256u : 64u;
    size_t pos = size > 0 ? 1 : 0;
    while (pos < size) {
        mqtt_packet p, q;
        size_t used = 0, len = 0;
        mqtt_status st = mqtt_decode(data + pos, size - pos, max_packet, &p, &used);
        if (st == MQTT_NEED_MORE)
            return;
        if (st != MQTT_OK) {
            check_refusal(st);
            return;
        }
        CHECK(used >= 2 && used <= size - pos && used <= max_packet);
        CHECK(mqtt_encode(&p, g_wire, sizeof g_wire, &len) == MQTT_OK);
        CHECK(len == used && memcmp(g_wire, data + pos, used) == 0);
        size_t used2 = 0;
        CHECK(mqtt_decode(g_wire, len, max_packet, &q, &used2) == MQTT_OK && used2 == len);
        CHECK(same_packet(&p, &q));
        for (size_t k = 0; k < used; k += 1 + used / 16)
            CHECK(mqtt_decode(data + pos, k, max_packet, &q, &used2) == MQTT_NEED_MORE);
        if (p.type == MQTT_PUBLISH) {
            mqtt_header h;
            size_t head = 0;
            CHECK(mqtt_decode_header(data + pos, used, max_packet, &h) == MQTT_OK);
            CHECK(mqtt_decode_publish_head(&h, data + pos + h.header_len, h.remaining, &q, &head) ==
                  MQTT_OK);
            CHECK(same_view(q.topic, p.topic) && q.packet_id == p.packet_id);
            CHECK(head + p.payload.len == h.remaining);
        }
        pos += used;
    }
}

/* A packet from a recipe: the bytes pick the type, flags and numbers, and
 * lend themselves as strings. */
typedef struct src {
    const uint8_t *p;
    size_t len, pos;
} src;

static uint8_t take8(src *s)
{
    return s->pos < s->len ? s->p[s->pos++] : 0;
}

static mqtt_view take_view(src *s)
{
    size_t n = take8(s) % 24u;
    if (n > s->len - s->pos)
        n = s->len - s->pos;
    mqtt_view v = {s->p + s->pos, n};
    s->pos += n;
    return v;
}

static void recipe_property(const uint8_t *data, size_t size)
{
    src s = {data, size, 0};
    mqtt_packet p, q;
    memset(&p, 0, sizeof p);
    uint8_t sel = take8(&s);
    p.type = (uint8_t)(1 + sel % 14);
    uint8_t f = take8(&s);
    p.packet_id = (uint16_t)(take8(&s) << 8 | take8(&s));
    p.keep_alive = p.packet_id;
    p.clean_session = f & 1;
    p.has_user = (f >> 1) & 1;
    p.has_password = (f >> 2) & 1;
    p.session_present = (f >> 3) & 1;
    p.return_code = (uint8_t)(take8(&s) % 7);
    p.dup = (f >> 4) & 1;
    p.qos = (uint8_t)((f >> 5) & 3);
    p.retain = (f >> 7) & 1;
    p.client_id = take_view(&s);
    p.user = take_view(&s);
    p.password = take_view(&s);
    p.topic = take_view(&s);
    p.count = (uint8_t)(take8(&s) % (MQTT_MAX_FILTERS + 2));
    for (unsigned i = 0; i < p.count && i < MQTT_MAX_FILTERS; i++) {
        p.filters[i] = take_view(&s);
        p.codes[i] = take8(&s);
        if (p.codes[i] & 0x40)
            p.codes[i] = MQTT_SUBACK_FAILURE;
        else
            p.codes[i] %= 3;
    }
    p.payload.data = s.p + s.pos;
    p.payload.len = s.len - s.pos;

    size_t len = 0, used = 0;
    mqtt_status st = mqtt_encode(&p, g_wire, sizeof g_wire, &len);
    if (st != MQTT_OK) {
        check_refusal(st);
        return;
    }
    CHECK(mqtt_decode(g_wire, len, UINT32_MAX, &q, &used) == MQTT_OK);
    CHECK(used == len);
    CHECK(same_packet(&p, &q));
    /* One byte less than the packet: refused from its header alone. */
    CHECK(mqtt_decode(g_wire, len, (uint32_t)len - 1, &q, &used) == MQTT_E_TOO_LARGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stream_property(data, size);
    recipe_property(data, size);
    return 0;
}
