/*
 * mqtt_net.h - the byte stream to the broker: TCP through Winsock, TLS
 * through Schannel (mqtt_tls.c) when the URL says mqtts://.
 *
 * Threading: a connection belongs to one thread, the session's own
 * (mqtt_session.c), which is the only one that may block on it. The socket is
 * non-blocking and every wait is on its WSAEVENT together with the caller's
 * stop event, so stopping interrupts connect, handshake and send alike. Name
 * resolution (GetAddrInfoW) is the one call that cannot be interrupted.
 */
#ifndef PIPES_MQTT_NET_H
#define PIPES_MQTT_NET_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "mqtt_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQTT_HOST_MAX 256
#define MQTT_DETAIL_MAX 200

/* Where the broker is: from mqtt_url_parse. */
typedef struct mqtt_endpoint {
    wchar_t host[MQTT_HOST_MAX]; /* name or address literal, without [] */
    uint16_t port;
    int tls; /* mqtts:// */
} mqtt_endpoint;

/* Parses mqtts://host[:port] (default 8883) or mqtt://host[:port] (1883);
 * an IPv6 literal goes in brackets. No user info, path or query. mqtt:// is
 * MQTT_E_PLAIN_NOT_ALLOWED unless allow_plain. */
mqtt_status mqtt_url_parse(const wchar_t *url, int allow_plain, mqtt_endpoint *ep);

typedef struct mqtt_tls mqtt_tls;           /* mqtt_tls.c */
typedef struct mqtt_trust mqtt_trust;       /* mqtt_tls.c: what a server certificate must chain to */

typedef struct mqtt_conn {
    SOCKET sock;     /* INVALID_SOCKET when closed */
    WSAEVENT ev;     /* FD_CONNECT|FD_READ|FD_WRITE|FD_CLOSE of sock; owned, closed with it */
    HANDLE stop;     /* not owned: the session's stop event; any wait returns when it is set */
    mqtt_tls *tls;   /* NULL for plain TCP; owned */
    char detail[MQTT_DETAIL_MAX]; /* the cause of the last failure, for the session's last error */
} mqtt_conn;

/* Opens the connection: resolves, connects (each address in turn), and for
 * TLS does the handshake, offering client_cert (a SHA-1 thumbprint in the
 * LocalMachine\My store; NULL: no certificate), and checks the server
 * certificate against trust (NULL: the Windows store) and ep->host.
 * Everything within timeout_ms. On failure c is closed and c->detail says
 * why. */
mqtt_status mqtt_conn_open(mqtt_conn *c, const mqtt_endpoint *ep, const mqtt_trust *trust,
                           const uint8_t *client_cert, HANDLE stop, DWORD timeout_ms);

/* Sends all len bytes, waiting for buffer space at most timeout_ms. */
mqtt_status mqtt_conn_send(mqtt_conn *c, const uint8_t *data, size_t len, DWORD timeout_ms);

/* Reads what is there without waiting: *got = 0 with MQTT_OK means nothing
 * yet. MQTT_E_CLOSED when the broker closed (TLS: close_notify). */
mqtt_status mqtt_conn_recv(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got);

/* Nonzero when mqtt_conn_recv has bytes without reading the socket (TLS
 * records already decrypted): do not wait on the socket event then. */
int mqtt_conn_pending(const mqtt_conn *c);

/* Closes socket and event, frees TLS state; safe on a closed connection. */
void mqtt_conn_close(mqtt_conn *c);

/* ---- shared with mqtt_tls.c ---- */

/* Raw socket I/O for the TLS layer, with the waits described above. */
mqtt_status mqtt_sock_send_all(mqtt_conn *c, const uint8_t *data, size_t len, ULONGLONG deadline);
/* Reads at least one byte, waiting until deadline (GetTickCount64). */
mqtt_status mqtt_sock_recv_wait(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got,
                                ULONGLONG deadline);
/* Reads without waiting; *got = 0: nothing yet. */
mqtt_status mqtt_sock_recv_now(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got);
/* snprintf into c->detail. */
void mqtt_conn_detail(mqtt_conn *c, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_MQTT_NET_H */
