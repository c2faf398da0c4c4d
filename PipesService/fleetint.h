/*
 * fleetint.h - the broker bridge's parts, shared by its two files (the rest
 * of the service uses only the fleet_* API of svc.h):
 *   fleet.c    the bridge's life, its MQTT session, subscriptions that follow
 *              logons, the connection's events, `status` lines
 *   fleetin.c  one PUBLISH into the spool (then PUBACK), and the status
 *              topic's events
 */
#ifndef PIPES_FLEETINT_H
#define PIPES_FLEETINT_H

#include "svc.h"

#include "mqtt_session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLEET_TOPIC_MAX 512
#define FLEET_NAME_MAX 128 /* a user name as it appears in a topic */
/* The client's window and queue for the status events (docs/FLEET.md "Floods"). Each message
 * makes two events (accepted, displayed) and a read from the broker may hold hundreds of
 * messages, so the window is wider than the client's default 16 and the queue longer than its
 * default 1000 (a usual event takes about 300 bytes, 3 MB for 10,000; a `rejected` event
 * carries the publisher's topic and detail, up to about 2.5 KB: 25 MB at most). Past the high-water mark a
 * message is left with the broker (no PUBACK, redelivered after the reconnect) until the events
 * drained, so a flood never makes the queue drop events; the margin leaves room for the
 * displayed events of the messages already taken (at most MaxSpoolCountPerUser, 1000 by
 * default, wait for a tray). */
#define FLEET_STATUS_INFLIGHT 64
#define FLEET_STATUS_QUEUE 10000
#define FLEET_STATUS_HIGH_WATER 8000

struct fleet {
    const svc_config *cfg; /* the engine's; outlives the bridge */
    spool *spool;
    delivery *delivery;
    mqtt_session *mqtt; /* owned; created by fleet_create, destroyed by fleet_free */
    char sid[PIPES_PROTO_MAX_SID + 1]; /* NT SERVICE\PipesService: the id namespace of
                                          broker records, and their sender's SID */
    char origin[PIPES_PROTO_MAX_ORIGIN + 1]; /* the broker URL (UTF-8) */
    char topic_all[FLEET_TOPIC_MAX], topic_host[FLEET_TOPIC_MAX];
    char user_prefix[FLEET_TOPIC_MAX]; /* "<prefix>/user/" */
    char status_topic[FLEET_TOPIC_MAX];
    uint32_t exit_after_spool; /* test hook (fleetin.c); 0 = off */
    SRWLOCK lock;              /* users, user_n, last_logged below */
    char users[SVC_MAX_SESSIONS][FLEET_NAME_MAX]; /* subscribed user topics' names */
    size_t user_n;
    mqtt_status last_logged; /* the last connection outcome written to the log */
    int64_t last_full_log_ms; /* fleetin.c, session thread only */
    int64_t last_lost_log_ms; /* fleetin.c, session thread only */
    volatile LONG64 accepted, duplicates; /* new records, redeliveries of held ones */
    volatile LONG64 status_dropped;       /* status events the session's queue refused */
};

/* The log (event 1040, "Broker <url>: <text>"); text in UTF-8. */
void fleet_log(struct fleet *f, WORD type, const char *text);

/* ---- fleetin.c ------------------------------------------------------------ */

/* The session's delivery callback (session thread): MQTT_DELIVERY_STORED
 * only once the record is on disk (or was already), REJECTED for a payload
 * that can never be stored, NOT_YET when the spool cannot take it now (a
 * QoS 0 message, which NOT_YET loses, is then logged and reported on the
 * status topic as rejected, queue_full: fleetin.c, not_now). */
mqtt_delivery fleet_on_publish(void *ctx, const mqtt_message *m);
/* A rejection on the status topic: id may be "" (unknown), reason a wire
 * reason name, detail free text. */
void fleet_status_rejected(struct fleet *f, const char *topic, const char *id,
                           const char *reason, const char *detail);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_FLEETINT_H */
