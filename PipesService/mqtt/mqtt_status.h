/*
 * mqtt_status.h - every outcome of the MQTT client (codec, transport, session)
 * as one enum, with a stable short name (for logs, the status topic and
 * `PipesService status`) and a sentence an administrator can act on.
 *
 * Pure C, no Win32: the codec and its fuzzer use it natively too.
 */
#ifndef PIPES_MQTT_STATUS_H
#define PIPES_MQTT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mqtt_status {
    MQTT_OK = 0,
    MQTT_NEED_MORE, /* not an error: the input ends inside a packet */

    /* codec: what a packet may not contain */
    MQTT_E_ARG,
    MQTT_E_BUFFER,
    MQTT_E_BAD_LENGTH,
    MQTT_E_TOO_LARGE,
    MQTT_E_BAD_TYPE,
    MQTT_E_BAD_FLAGS,
    MQTT_E_MALFORMED,
    MQTT_E_UTF8,
    MQTT_E_TOPIC_EMPTY,
    MQTT_E_TOPIC_TOO_LONG,
    MQTT_E_TOPIC_WILDCARD,
    MQTT_E_FILTER,
    MQTT_E_TOO_MANY,
    MQTT_E_UNSUPPORTED,
    MQTT_E_PROTOCOL,

    /* CONNACK return codes 1..5 and anything else, SUBACK 0x80 */
    MQTT_E_REFUSED_VERSION,
    MQTT_E_REFUSED_IDENTIFIER,
    MQTT_E_REFUSED_UNAVAILABLE,
    MQTT_E_REFUSED_CREDENTIALS,
    MQTT_E_REFUSED_NOT_AUTHORIZED,
    MQTT_E_REFUSED_OTHER,
    MQTT_E_SUBSCRIBE_REFUSED,

    /* configuration and transport */
    MQTT_E_URL,
    MQTT_E_PLAIN_NOT_ALLOWED,
    MQTT_E_RESOLVE,
    MQTT_E_CONNECT,
    MQTT_E_CLOSED,
    MQTT_E_NET,
    MQTT_E_TIMEOUT,
    MQTT_E_DEAD_PEER,
    MQTT_E_TLS,
    MQTT_E_TLS_UNTRUSTED,
    MQTT_E_TLS_HOSTNAME,
    MQTT_E_TLS_EXPIRED,
    MQTT_E_CA_FILE,
    MQTT_E_TLS_CLIENT_CERT,
    MQTT_E_TLS_CLIENT_AUTH,

    /* session */
    MQTT_E_QUEUE_FULL,
    MQTT_E_STOPPED,
    MQTT_E_NO_MEMORY,

    MQTT_STATUS_COUNT
} mqtt_status;

/* Short stable code, e.g. "tls-untrusted"; "unknown" for a value out of range. */
const char *mqtt_status_name(mqtt_status st);
/* One sentence, e.g. "the broker refused the user name or password". */
const char *mqtt_status_text(mqtt_status st);
/* CONNACK return code -> status: 0 is MQTT_OK, 1..5 the refusals, others MQTT_E_REFUSED_OTHER. */
mqtt_status mqtt_connack_status(unsigned return_code);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_MQTT_STATUS_H */
