/*
 * mqtt_topic.c - the string rules of MQTT 3.1.1 that topics and filters
 * follow (sections 1.5.3, 4.7): UTF-8 without U+0000, wildcards only in
 * filters and only as whole levels, and this client's length limit.
 */
#include "mqtt_codec_internal.h"

#include "pipes_protocol.h" /* pipes_proto_utf8_valid: the one UTF-8 check of the product */

mqtt_status mqtt_text_check(const void *s, size_t len)
{
    if (len == 0)
        return MQTT_OK;
    if (!pipes_proto_utf8_valid(s, len, NULL) || memchr(s, 0, len) != NULL)
        return MQTT_E_UTF8;
    return MQTT_OK;
}

static mqtt_status name_check(const uint8_t *s, size_t len)
{
    if (s == NULL && len != 0)
        return MQTT_E_ARG;
    if (len == 0)
        return MQTT_E_TOPIC_EMPTY;
    if (len > MQTT_TOPIC_MAX)
        return MQTT_E_TOPIC_TOO_LONG;
    return mqtt_text_check(s, len);
}

mqtt_status mqtt_topic_check(const void *topic, size_t len)
{
    const uint8_t *s = (const uint8_t *)topic;
    mqtt_status st = name_check(s, len);
    if (st != MQTT_OK)
        return st;
    if (memchr(s, '+', len) != NULL || memchr(s, '#', len) != NULL)
        return MQTT_E_TOPIC_WILDCARD;
    return MQTT_OK;
}

mqtt_status mqtt_filter_check(const void *filter, size_t len)
{
    const uint8_t *s = (const uint8_t *)filter;
    mqtt_status st = name_check(s, len);
    if (st != MQTT_OK)
        return st;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '+' && s[i] != '#')
            continue;
        int level_start = i == 0 || s[i - 1] == '/';
        int level_end = i + 1 == len || s[i + 1] == '/';
        if (!level_start || !level_end || (s[i] == '#' && i + 1 != len))
            return MQTT_E_FILTER;
    }
    return MQTT_OK;
}
