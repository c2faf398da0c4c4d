/*
 * mqtt_codec_internal.h - shared by the codec's own files (mqtt_topic.c,
 * mqtt_encode.c, mqtt_decode.c); not part of its interface.
 */
#ifndef PIPES_MQTT_CODEC_INTERNAL_H
#define PIPES_MQTT_CODEC_INTERNAL_H

#include <string.h>

#include "mqtt_codec.h"

/* The flags a packet type must carry in its fixed header (PUBLISH: any, checked apart). */
static inline uint8_t mqtt_fixed_flags(uint8_t type)
{
    return (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE) ? 2u : 0u;
}

/* Protocol name and level of 3.1.1 as they appear in CONNECT. */
#define MQTT_PROTOCOL_NAME "\0\4MQTT" /* 6 bytes: length-prefixed "MQTT" */
#define MQTT_PROTOCOL_NAME_LEN 6u
#define MQTT_PROTOCOL_LEVEL 4u

/* CONNECT flag bits */
#define MQTT_CF_USER 0x80u
#define MQTT_CF_PASSWORD 0x40u
#define MQTT_CF_WILL_RETAIN 0x20u
#define MQTT_CF_WILL_QOS 0x18u
#define MQTT_CF_WILL 0x04u
#define MQTT_CF_CLEAN 0x02u
#define MQTT_CF_RESERVED 0x01u

#endif /* PIPES_MQTT_CODEC_INTERNAL_H */
