/*
 * mqtt_codec.h - MQTT 3.1.1 packets to and from bytes.
 *
 * Pure C: no Win32, no I/O, no heap. Decoded strings and payloads are views
 * into the caller's buffer (valid while that buffer is). Decoding is strict:
 * every reserved bit, length and string rule of MQTT 3.1.1 is checked and a
 * packet that breaks one gets a distinct status, so a decoded packet
 * re-encodes to exactly the bytes it came from. The remaining length must be
 * in its shortest form (at most 4 bytes); a packet longer than the caller's
 * maximum is refused from its fixed header alone, before its body is read.
 *
 * What this client needs and nothing more: no will message (refused with
 * MQTT_E_UNSUPPORTED), at most MQTT_MAX_FILTERS filters per (UN)SUBSCRIBE or
 * SUBACK, topics at most MQTT_TOPIC_MAX bytes. QoS 2 packets (PUBREC, PUBREL,
 * PUBCOMP, PUBLISH with QoS 2) decode, so the session can name the violation:
 * it never asks for QoS 2.
 */
#ifndef PIPES_MQTT_CODEC_H
#define PIPES_MQTT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mqtt_status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum mqtt_packet_type {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_PUBACK = 4,
    MQTT_PUBREC = 5,
    MQTT_PUBREL = 6,
    MQTT_PUBCOMP = 7,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_UNSUBSCRIBE = 10,
    MQTT_UNSUBACK = 11,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14
};

#define MQTT_MAX_REMAINING 268435455u /* 4-byte varint limit of MQTT 3.1.1 */
#define MQTT_MAX_HEADER 5u            /* fixed header: type byte + up to 4 length bytes */
#define MQTT_TOPIC_MAX 1024u          /* our limit on topics and filters (spec: 65535) */
#define MQTT_MAX_FILTERS 8u           /* per SUBSCRIBE / UNSUBSCRIBE / SUBACK */
#define MQTT_SUBACK_FAILURE 0x80u

typedef struct mqtt_view {
    const uint8_t *data; /* NULL only when len is 0 */
    size_t len;
} mqtt_view;

/* One packet. Only the fields of its type are meaningful; encoders read only
 * those, decoders set those and zero the rest. */
typedef struct mqtt_packet {
    uint8_t type;       /* enum mqtt_packet_type */
    uint16_t packet_id; /* PUBLISH with QoS > 0, PUB*, (UN)SUBSCRIBE, (UN)SUBACK; never 0 */

    /* CONNECT */
    uint8_t clean_session;
    uint8_t has_user, has_password; /* a password needs a user name (3.1.1 rule) */
    uint16_t keep_alive;            /* seconds, 0 = off */
    mqtt_view client_id, user, password;

    /* CONNACK */
    uint8_t session_present;
    uint8_t return_code; /* mqtt_connack_status() maps it */

    /* PUBLISH */
    uint8_t dup, qos, retain;
    mqtt_view topic, payload;

    /* SUBSCRIBE / UNSUBSCRIBE: filters[0..count); SUBSCRIBE: codes = requested
     * QoS per filter; SUBACK: codes = granted QoS or MQTT_SUBACK_FAILURE */
    uint8_t count;
    mqtt_view filters[MQTT_MAX_FILTERS];
    uint8_t codes[MQTT_MAX_FILTERS];
} mqtt_packet;

/* The fixed header of a packet. */
typedef struct mqtt_header {
    uint8_t first;        /* type << 4 | flags */
    uint32_t remaining;   /* body length */
    uint32_t header_len;  /* 2..5 */
} mqtt_header;

/* The string rule of MQTT (1.5.3) for client ids, user names, topics:
 * well-formed UTF-8 without U+0000. Empty is fine. MQTT_OK or MQTT_E_UTF8. */
mqtt_status mqtt_text_check(const void *s, size_t len);

/* Checks a PUBLISH topic name: 1..MQTT_TOPIC_MAX bytes of UTF-8 without
 * U+0000, + or #. Returns MQTT_OK or the rule it breaks. */
mqtt_status mqtt_topic_check(const void *topic, size_t len);
/* Checks a topic filter: as a topic, but + may fill a whole level and # the
 * whole last level. */
mqtt_status mqtt_filter_check(const void *filter, size_t len);

/* Encodes p into out (cap bytes). *len gets the packet's size, also when
 * the result is MQTT_E_BUFFER (cap too small; nothing useful written). Every
 * field is validated as the decoder would. */
mqtt_status mqtt_encode(const mqtt_packet *p, uint8_t *out, size_t cap, size_t *len);

/* Reads the fixed header at buf (len bytes available). MQTT_NEED_MORE until
 * the whole length field is there; MQTT_E_BAD_LENGTH for more than 4 length
 * bytes or a non-shortest form; MQTT_E_TOO_LARGE when header_len + remaining
 * exceeds max_packet (*h is still filled, so the caller may skip the body).
 * The type and its fixed-header flags are checked first (MQTT_E_BAD_TYPE,
 * MQTT_E_BAD_FLAGS), so bytes that are no MQTT at all fail at once. */
mqtt_status mqtt_decode_header(const uint8_t *buf, size_t len, uint32_t max_packet, mqtt_header *h);

/* Decodes the body (h->remaining bytes at body) of the packet h describes. */
mqtt_status mqtt_decode_body(const mqtt_header *h, const uint8_t *body, mqtt_packet *p);

/* Decodes the start of a PUBLISH body from the first avail bytes of it:
 * flags, topic and packet id (everything but the payload). MQTT_NEED_MORE
 * if avail is too short; *head_len gets the bytes those fields span. For a
 * PUBLISH too large to buffer: the session reads this much, acknowledges and
 * skips the rest. p->payload is left empty. */
mqtt_status mqtt_decode_publish_head(const mqtt_header *h, const uint8_t *body, size_t avail,
                                     mqtt_packet *p, size_t *head_len);

/* Header and body in one: one whole packet at buf. *used gets its size. */
mqtt_status mqtt_decode(const uint8_t *buf, size_t len, uint32_t max_packet, mqtt_packet *p,
                        size_t *used);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_MQTT_CODEC_H */
