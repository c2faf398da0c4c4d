/*
 * mqtt_session_internal.h - the session's state, shared by its files:
 *   mqtt_session.c   the API: create, start, stop, subscribe, publish, stats
 *   mqtt_work.c      what to send next: (un)subscriptions and the publish queue
 *   mqtt_run.c       the session thread: connect, receive, keep-alive, backoff
 */
#ifndef PIPES_MQTT_SESSION_INTERNAL_H
#define PIPES_MQTT_SESSION_INTERNAL_H

#include "mqtt_codec.h"
#include "mqtt_net.h"
#include "mqtt_session.h"
#include "mqtt_tls.h"

#define MQTT_MAX_SUBSCRIPTIONS 256u

/* A queued publish: one allocation holding the struct, the topic and the payload. */
typedef struct out_msg {
    struct out_msg *next;
    uint64_t token;
    uint16_t packet_id; /* 0 until first sent; then kept across reconnects */
    uint32_t sent_gen;  /* connection generation it was last sent on */
    uint8_t retain;
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
} out_msg;

enum sub_state {
    SUB_IDLE,    /* the broker must still be told what want says */
    SUB_PENDING, /* (UN)SUBSCRIBE sent, ack awaited */
    SUB_DONE,    /* the broker has it as want says */
    SUB_REFUSED  /* SUBACK 0x80; retried on the next connection */
};

typedef struct sub_entry {
    char *filter; /* owned; freed only by the session thread (or destroy) */
    size_t len;
    uint8_t want;       /* 1: subscribed, 0: to be unsubscribed, then dropped */
    uint8_t state;      /* enum sub_state */
    uint8_t pending_op; /* MQTT_SUBSCRIBE or MQTT_UNSUBSCRIBE while SUB_PENDING */
    uint16_t packet_id;
} sub_entry;

struct mqtt_session {
    /* Set by create, read-only afterwards. */
    mqtt_session_config cfg; /* strings point at the copies below */
    mqtt_endpoint ep;
    mqtt_trust *trust;       /* NULL: the machine's roots */
    uint8_t client_cert[20]; /* cfg.client_cert_sha1 points here when one is configured */
    char *client_id, *user_name;
    uint8_t *password;
    HANDLE stop_ev; /* manual reset: set by stop, interrupts every wait */
    HANDLE wake_ev; /* auto reset: new work from an API call */
    int wsa_started; /* WSAStartup succeeded: destroy calls WSACleanup */

    SRWLOCK lock; /* guards everything down to the session-thread-only block */
    HANDLE thread;
    DWORD thread_id;
    sub_entry *subs;
    size_t nsubs, subs_cap;
    out_msg *out_head, *out_tail;
    uint64_t next_token;
    mqtt_session_stats stats;

    /* The session thread's own. */
    mqtt_conn conn;
    uint32_t gen; /* connection generation, counts CONNACKs */
    uint8_t *rx;  /* received bytes not yet consumed: rx[0..rx_len); rx_cap = max_packet */
    size_t rx_len;
    uint64_t skip_left; /* bytes of a too-large PUBLISH still to discard */
    uint8_t *tx;
    size_t tx_cap;
    uint16_t next_pid;
    ULONGLONG last_send, ping_sent, redeliver_at; /* 0: none */
    uint64_t rng;
    char topic_buf[MQTT_TOPIC_MAX + 1];
};

/* ---- mqtt_work.c (lock held by the caller unless said otherwise) ---- */

/* A packet id in use by no queued publish and no pending (un)subscription. */
uint16_t mqtt_work_packet_id(mqtt_session *s);
/* After a CONNACK: what the broker must be told again. */
void mqtt_work_reset(mqtt_session *s, int session_present);
/* Fills p with the next (UN)SUBSCRIBE to send and marks its entries pending;
 * 0 when there is none. The filter views stay valid until the ack is handled. */
int mqtt_work_next_subscription(mqtt_session *s, mqtt_packet *p);
/* Fills p with the next PUBLISH to send (a resend with DUP first, then a new
 * one while fewer than max_inflight are in flight); 0 when there is none. */
int mqtt_work_next_publish(mqtt_session *s, mqtt_packet *p);
/* Session thread, lock NOT held: applies a SUBACK / UNSUBACK / PUBACK and
 * raises the events. MQTT_E_PROTOCOL for a SUBACK that does not fit its SUBSCRIBE. */
mqtt_status mqtt_work_ack(mqtt_session *s, const mqtt_packet *ack);
/* Frees the queue and the subscription set (destroy). */
void mqtt_work_free(mqtt_session *s);

/* ---- mqtt_run.c ---- */

DWORD WINAPI mqtt_run_thread(void *arg);
/* Raises an event on the session thread (lock not held); NULL detail or
 * filter become "". */
void mqtt_emit(mqtt_session *s, mqtt_event ev);

#endif /* PIPES_MQTT_SESSION_INTERNAL_H */
