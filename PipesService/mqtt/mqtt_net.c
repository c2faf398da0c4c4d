/*
 * mqtt_net.c - TCP to the broker through Winsock (see mqtt_net.h for the
 * threading model).
 *
 * Why non-blocking sockets with WSAEventSelect on the session's own thread,
 * rather than blocking calls or the service's IOCP: the service's worker
 * threads never touch this socket, so nothing the broker does (or fails to
 * do) can hold them; and one wait on {socket event, wake event, stop event}
 * with a timer as its timeout gives the session thread keep-alive, commands
 * from other threads and prompt stopping without a second thread per
 * connection or a lock around the socket.
 */
#include "mqtt_net.h"

#include <ws2tcpip.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mqtt_tls.h"

void mqtt_conn_detail(mqtt_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
}

static DWORD remaining_ms(ULONGLONG deadline)
{
    ULONGLONG now = GetTickCount64();
    return now >= deadline ? 0 : (DWORD)(deadline - now);
}

/* Waits until one of the network events in want has happened (or the
 * connection closed). MQTT_E_TIMEOUT at the deadline, MQTT_E_STOPPED when
 * the stop event is set. Reading the events resets the event object: when
 * this wait was for something else and saw FD_READ or FD_CLOSE go by, the
 * event is set again, so the session's next wait on it still wakes up. */
static mqtt_status wait_events(mqtt_conn *c, long want, ULONGLONG deadline, long *seen)
{
    for (;;) {
        WSANETWORKEVENTS ne;
        if (WSAEnumNetworkEvents(c->sock, c->ev, &ne) != 0) {
            mqtt_conn_detail(c, "WSAEnumNetworkEvents failed (WSA error %d)", WSAGetLastError());
            return MQTT_E_NET;
        }
        *seen |= ne.lNetworkEvents;
        if (ne.lNetworkEvents & FD_CONNECT) {
            int err = ne.iErrorCode[FD_CONNECT_BIT];
            if (err != 0) {
                mqtt_conn_detail(c, "connect failed (WSA error %d)", err);
                return MQTT_E_CONNECT;
            }
        }
        if (ne.lNetworkEvents & (want | FD_CLOSE))
            return MQTT_OK; /* FD_CLOSE: the next recv or send reports it */
        HANDLE h[2] = {c->ev, c->stop};
        DWORD n = c->stop != NULL ? 2 : 1;
        DWORD r = WaitForMultipleObjects(n, h, FALSE, remaining_ms(deadline));
        if (r == WAIT_OBJECT_0 + 1)
            return MQTT_E_STOPPED;
        if (r == WAIT_TIMEOUT)
            return MQTT_E_TIMEOUT;
        if (r != WAIT_OBJECT_0) {
            mqtt_conn_detail(c, "wait failed (error %lu)", GetLastError());
            return MQTT_E_NET;
        }
    }
}

static mqtt_status wait_for(mqtt_conn *c, long want, ULONGLONG deadline)
{
    long seen = 0;
    mqtt_status st = wait_events(c, want, deadline, &seen);
    if ((seen & (FD_READ | FD_CLOSE)) && !(want & FD_READ))
        WSASetEvent(c->ev);
    return st;
}

mqtt_status mqtt_sock_send_all(mqtt_conn *c, const uint8_t *data, size_t len, ULONGLONG deadline)
{
    while (len > 0) {
        int chunk = len > 0x100000 ? 0x100000 : (int)len;
        int n = send(c->sock, (const char *)data, chunk, 0);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) {
            mqtt_conn_detail(c, "send failed (WSA error %d)", err);
            return err == WSAECONNRESET || err == WSAECONNABORTED ? MQTT_E_CLOSED : MQTT_E_NET;
        }
        mqtt_status st = wait_for(c, FD_WRITE, deadline);
        if (st != MQTT_OK) {
            if (st == MQTT_E_TIMEOUT)
                mqtt_conn_detail(c, "the broker does not take data (send timed out)");
            return st;
        }
    }
    return MQTT_OK;
}

mqtt_status mqtt_sock_recv_now(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    /* Clear the event's record first: a WSAEWOULDBLOCK below re-arms FD_READ, so
     * the next wait on the event sees exactly the data that comes after. */
    WSANETWORKEVENTS ne;
    WSAEnumNetworkEvents(c->sock, c->ev, &ne);
    int n = recv(c->sock, (char *)buf, cap > 0x100000 ? 0x100000 : (int)cap, 0);
    if (n > 0) {
        *got = (size_t)n;
        return MQTT_OK;
    }
    if (n == 0) {
        mqtt_conn_detail(c, "the broker closed the TCP connection");
        return MQTT_E_CLOSED;
    }
    int err = WSAGetLastError();
    if (err == WSAEWOULDBLOCK)
        return MQTT_OK;
    mqtt_conn_detail(c, "recv failed (WSA error %d)", err);
    return err == WSAECONNRESET || err == WSAECONNABORTED ? MQTT_E_CLOSED : MQTT_E_NET;
}

mqtt_status mqtt_sock_recv_wait(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got,
                                ULONGLONG deadline)
{
    for (;;) {
        mqtt_status st = mqtt_sock_recv_now(c, buf, cap, got);
        if (st != MQTT_OK || *got > 0)
            return st;
        st = wait_for(c, FD_READ, deadline);
        if (st != MQTT_OK)
            return st;
    }
}

/* One TCP connection attempt to one address. */
static mqtt_status connect_addr(mqtt_conn *c, const ADDRINFOW *ai, ULONGLONG deadline)
{
    c->sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (c->sock == INVALID_SOCKET) {
        mqtt_conn_detail(c, "socket failed (WSA error %d)", WSAGetLastError());
        return MQTT_E_NET;
    }
    /* MQTT packets are small and latency matters more than coalescing. */
    BOOL nodelay = TRUE;
    setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay, sizeof nodelay);
    if (WSAEventSelect(c->sock, c->ev, FD_CONNECT | FD_READ | FD_WRITE | FD_CLOSE) != 0) {
        mqtt_conn_detail(c, "WSAEventSelect failed (WSA error %d)", WSAGetLastError());
        return MQTT_E_NET;
    }
    if (connect(c->sock, ai->ai_addr, (int)ai->ai_addrlen) != 0 &&
        WSAGetLastError() != WSAEWOULDBLOCK) {
        mqtt_conn_detail(c, "connect failed (WSA error %d)", WSAGetLastError());
        return MQTT_E_CONNECT;
    }
    mqtt_status st = wait_for(c, FD_CONNECT, deadline);
    if (st == MQTT_E_TIMEOUT)
        mqtt_conn_detail(c, "TCP connect timed out");
    return st;
}

static void close_socket(mqtt_conn *c)
{
    if (c->sock != INVALID_SOCKET) {
        closesocket(c->sock);
        c->sock = INVALID_SOCKET;
    }
}

mqtt_status mqtt_conn_open(mqtt_conn *c, const mqtt_endpoint *ep, const mqtt_trust *trust,
                           const uint8_t *client_cert, HANDLE stop, DWORD timeout_ms)
{
    ZeroMemory(c, sizeof *c);
    c->sock = INVALID_SOCKET;
    c->stop = stop;
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    c->ev = WSACreateEvent();
    if (c->ev == WSA_INVALID_EVENT) {
        c->ev = NULL;
        mqtt_conn_detail(c, "WSACreateEvent failed (WSA error %d)", WSAGetLastError());
        return MQTT_E_NET;
    }

    wchar_t port[8];
    swprintf(port, 8, L"%u", (unsigned)ep->port);
    ADDRINFOW hints, *list = NULL;
    ZeroMemory(&hints, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int gai = GetAddrInfoW(ep->host, port, &hints, &list);
    if (gai != 0) {
        mqtt_conn_detail(c, "cannot resolve '%ls' (error %d)", ep->host, gai);
        mqtt_conn_close(c);
        return MQTT_E_RESOLVE;
    }
    mqtt_status st = MQTT_E_CONNECT;
    for (const ADDRINFOW *ai = list; ai != NULL; ai = ai->ai_next) {
        st = connect_addr(c, ai, deadline);
        if (st == MQTT_OK || st == MQTT_E_STOPPED || st == MQTT_E_TIMEOUT)
            break;
        close_socket(c);
        WSAResetEvent(c->ev);
    }
    FreeAddrInfoW(list);
    if (st == MQTT_E_CONNECT || st == MQTT_E_NET) {
        char why[MQTT_DETAIL_MAX];
        memcpy(why, c->detail, sizeof why);
        mqtt_conn_detail(c, "%ls port %u: %s", ep->host, (unsigned)ep->port, why);
    }
    if (st == MQTT_OK && ep->tls)
        st = mqtt_tls_handshake(c, ep->host, trust, client_cert, deadline);
    if (st != MQTT_OK)
        mqtt_conn_close(c);
    return st;
}

mqtt_status mqtt_conn_send(mqtt_conn *c, const uint8_t *data, size_t len, DWORD timeout_ms)
{
    if (c->sock == INVALID_SOCKET)
        return MQTT_E_CLOSED;
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    return c->tls != NULL ? mqtt_tls_send(c, data, len, deadline)
                          : mqtt_sock_send_all(c, data, len, deadline);
}

mqtt_status mqtt_conn_recv(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (c->sock == INVALID_SOCKET)
        return MQTT_E_CLOSED;
    if (c->tls != NULL)
        return mqtt_tls_recv(c, buf, cap, got);
    return mqtt_sock_recv_now(c, buf, cap, got);
}

int mqtt_conn_pending(const mqtt_conn *c)
{
    return c->tls != NULL && mqtt_tls_pending(c->tls);
}

void mqtt_conn_close(mqtt_conn *c)
{
    if (c->tls != NULL) {
        mqtt_tls_free(c->tls);
        c->tls = NULL;
    }
    close_socket(c);
    if (c->ev != NULL) {
        WSACloseEvent(c->ev);
        c->ev = NULL;
    }
}
