/*
 * mqtt_session.h - the MQTT client of PipesService (docs/FLEET.md): one
 * persistent session with one broker.
 *
 * It connects with clean session off (so the broker queues QoS 1 messages
 * while the machine is away), subscribes to a set of topic filters that may
 * change at any time, hands each PUBLISH to a callback and acknowledges it
 * (PUBACK) only when the callback says it is stored; it publishes QoS 1 with
 * a bounded in-flight window and resends what was not acknowledged after a
 * reconnect (with DUP); it pings (keep-alive), notices a dead peer, and
 * reconnects with exponential backoff and jitter.
 *
 * Threading: the session owns one thread, created by mqtt_session_start.
 * All network I/O and all callbacks happen on it, one at a time, with no lock
 * held; the other functions may be called from any thread and never wait for
 * the network (they queue work and wake the session thread). A callback may
 * call subscribe, unsubscribe, publish and get_stats, but not stop or destroy.
 * After mqtt_session_stop returns no callback runs any more.
 */
#ifndef PIPES_MQTT_SESSION_H
#define PIPES_MQTT_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "mqtt_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqtt_session mqtt_session;

/* What the delivery callback did with a message. */
typedef enum mqtt_delivery {
    MQTT_DELIVERY_STORED = 0, /* kept durably: PUBACK it */
    MQTT_DELIVERY_NOT_YET,    /* could not keep it now: no PUBACK, the broker redelivers it after
                                 the session reconnects (not_yet_retry_ms later); a QoS 0
                                 message (published with QoS 0) is not redelivered: it is
                                 lost, counted as lost and reported as MQTT_EV_LOST */
    MQTT_DELIVERY_REJECTED    /* refused for good (e.g. does not parse): PUBACK it, so it is not
                                 redelivered forever, and count it as rejected */
} mqtt_delivery;

typedef struct mqtt_message {
    const char *topic; /* UTF-8, NUL-terminated */
    const uint8_t *payload;
    size_t payload_len;
    uint8_t qos, dup, retain;
    uint16_t packet_id;
} mqtt_message;

typedef enum mqtt_event_kind {
    MQTT_EV_CONNECTED,    /* CONNACK accepted; session_present says the broker kept our session */
    MQTT_EV_DISCONNECTED, /* a connection ended or an attempt failed: status, detail say why */
    MQTT_EV_SUBSCRIBED,   /* filter: status OK (granted_qos) or MQTT_E_SUBSCRIBE_REFUSED */
    MQTT_EV_UNSUBSCRIBED, /* filter */
    MQTT_EV_PUBLISHED,    /* token: the broker acknowledged that publish */
    MQTT_EV_REJECTED,     /* an incoming PUBLISH this client refused and acknowledged:
                             status (MQTT_E_TOO_LARGE), topic, detail */
    MQTT_EV_LOST          /* an incoming QoS 0 PUBLISH the callback answered NOT_YET: the
                             broker never redelivers QoS 0, so it is gone (MQTT 3.1.1 4.3.1):
                             status MQTT_OK, topic, detail */
} mqtt_event_kind;

typedef struct mqtt_event {
    mqtt_event_kind kind;
    mqtt_status status;
    const char *detail; /* never NULL; "" when there is nothing to add */
    const char *filter; /* SUBSCRIBED, UNSUBSCRIBED: the filter; REJECTED: the topic; else "" */
    uint64_t token;     /* PUBLISHED */
    uint8_t session_present, granted_qos;
} mqtt_event;

typedef mqtt_delivery (*mqtt_deliver_fn)(void *ctx, const mqtt_message *msg);
typedef void (*mqtt_event_fn)(void *ctx, const mqtt_event *ev);

typedef struct mqtt_session_config {
    const wchar_t *url;         /* mqtts://host[:port] or, with allow_plain, mqtt://host[:port] */
    int allow_plain;
    const wchar_t *ca_file;     /* PEM or DER CA(s) to pin; NULL: the machine's trusted roots */
    const uint8_t *client_cert_sha1; /* 20 bytes: SHA-1 thumbprint of a certificate of the
                                   LocalMachine\My store offered to the broker (mqtts:// only);
                                   NULL: none (never a default one) */
    const char *client_id;      /* UTF-8, required (a persistent session is keyed by it) */
    const char *user_name;      /* UTF-8 or NULL */
    const void *password;       /* NULL: none; needs user_name */
    size_t password_len;
    uint16_t keep_alive_s;      /* 0: 60 */
    uint32_t max_packet;        /* largest packet taken or sent; 0: 256 KiB; 4096..268435455 */
    uint32_t max_inflight;      /* QoS 1 publishes awaiting PUBACK; 0: 16 */
    uint32_t max_queue;         /* publishes queued, in flight included; 0: 1000; at most 60000 */
    uint32_t connect_timeout_ms;/* TCP + TLS + CONNACK; 0: 30 s */
    uint32_t backoff_min_ms;    /* first reconnect delay; 0: 1 s */
    uint32_t backoff_max_ms;    /* cap of the doubling; 0: 60 s */
    uint32_t not_yet_retry_ms;  /* reconnect this long after a NOT_YET; 0: 5 s */
    mqtt_deliver_fn deliver;    /* required */
    mqtt_event_fn on_event;     /* optional */
    void *ctx;
} mqtt_session_config;

typedef enum mqtt_state {
    MQTT_STATE_STOPPED,
    MQTT_STATE_CONNECTING,
    MQTT_STATE_CONNECTED,
    MQTT_STATE_WAITING /* backoff before the next attempt */
} mqtt_state;

const char *mqtt_state_name(mqtt_state st);

/* Counters for `PipesService status`. */
typedef struct mqtt_session_stats {
    mqtt_state state;
    mqtt_status last_error;      /* MQTT_OK until something failed */
    char last_error_text[320];   /* text of last_error and its detail */
    uint64_t connects;           /* CONNACKs accepted */
    uint64_t connection_failures;/* attempts that failed and connections that ended */
    uint64_t received;           /* PUBLISH packets taken in (redeliveries included) */
    uint64_t acknowledged;       /* PUBACKs sent */
    uint64_t rejected;           /* acknowledged but refused (callback, or too large) */
    uint64_t not_yet;            /* QoS 1, left unacknowledged for redelivery */
    uint64_t lost;               /* QoS 0 answered NOT_YET: never redelivered (MQTT_EV_LOST) */
    uint64_t published;          /* publishes the broker acknowledged */
    uint32_t inflight;           /* publishes sent, awaiting PUBACK */
    uint32_t queued;             /* publishes not yet acknowledged (in flight included) */
    uint32_t subscriptions;      /* filters wanted */
} mqtt_session_stats;

/* Checks cfg (URL, plain-text rule, CA file, client id, credentials) and
 * copies it. Nothing connects before mqtt_session_start. */
mqtt_status mqtt_session_create(const mqtt_session_config *cfg, mqtt_session **out);
mqtt_status mqtt_session_start(mqtt_session *s);

/* Adds / removes a topic filter; takes effect at once when connected, else
 * at the next connection. MQTT_E_TOO_MANY above 256 filters. */
mqtt_status mqtt_session_subscribe(mqtt_session *s, const char *filter);
mqtt_status mqtt_session_unsubscribe(mqtt_session *s, const char *filter);

/* Queues a QoS 1 publish; *token (optional) identifies its MQTT_EV_PUBLISHED.
 * MQTT_E_QUEUE_FULL at max_queue, MQTT_E_TOO_LARGE above max_packet. */
mqtt_status mqtt_session_publish(mqtt_session *s, const char *topic, const void *payload,
                                 size_t len, int retain, uint64_t *token);

void mqtt_session_get_stats(mqtt_session *s, mqtt_session_stats *out);

/* Disconnects (DISCONNECT when connected) and ends the thread. Idempotent.
 * Waits for a callback that is running and for a name resolution in
 * progress (GetAddrInfoW cannot be interrupted); every other wait of the
 * session thread ends at once. Queued publishes and subscriptions stay, for
 * a later start. */
void mqtt_session_stop(mqtt_session *s);
/* Stops, then frees everything. */
void mqtt_session_destroy(mqtt_session *s);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_MQTT_SESSION_H */
