#!/usr/bin/env python3
"""fake_broker.py - a deliberately broken MQTT broker for run_mqtt_tests.sh.

    fake_broker.py PORTFILE LOG MODE[,MODE...]

Listens on 127.0.0.1 on a free port (written to PORTFILE) and serves one connection per MODE, in
order (the client reconnects after each failure): answers the client's CONNECT and SUBSCRIBE as
the MODE says, and logs what the client sends to LOG. It stops by itself after the last MODE or
90 s, so it never outlives a test.
"""
import socket
import sys
import time

PORTFILE, LOG, MODES = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
MODE = ""


def length(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + length(len(body)) + body


def field(s):
    return len(s).to_bytes(2, "big") + s


CONNACK = packet(0x20, b"\x00\x00")

# What to send after the CONNACK and SUBACK, per mode (None: the usual SUBACK is replaced, see below).
AFTER = {
    "len5": b"\x30\xff\xff\xff\xff\x01",                  # remaining length with a fifth byte
    "overlong": b"\xd0\x80\x00",                           # PINGRESP, length 0 in two bytes
    "badflags": b"\x42\x02\x00\x01",                       # PUBACK with reserved flags
    "reserved": b"\xf0\x00",                               # packet type 15
    "wildcard": packet(0x32, field(b"pipes/v1/#") + b"\x00\x05" + b"x"),
    "badutf8": packet(0x32, field(b"pipes/\xc0\x80") + b"\x00\x05" + b"x"),
    "qos2": packet(0x34, field(b"pipes/v1/all") + b"\x00\x05" + b"x"),
    "truncated": packet(0x32, field(b"pipes/v1/all") + b"\x00\x05" + b"y" * 100)[:40],  # then close
    "connect": packet(0x10, field(b"MQTT") + b"\x04\x02\x00\x3c" + field(b"x")),
    "deadpeer": b"",                                       # then ignore PINGREQ
    "pidzero": packet(0x32, field(b"pipes/v1/all") + b"\x00\x00" + b"x"),
}


def log(msg):
    with open(LOG, "a") as f:
        f.write(msg + "\n")


def read_packet(conn):
    """One packet from the client, or None when it closed."""
    head = conn.recv(1)
    if not head:
        return None
    n, mult = 0, 1
    while True:
        b = conn.recv(1)
        if not b:
            return None
        n += (b[0] & 0x7F) * mult
        mult *= 128
        if not b[0] & 0x80:
            break
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head[0], body


def serve(conn):
    conn.settimeout(10)
    p = read_packet(conn)
    if p is None or p[0] >> 4 != 1:
        log("no CONNECT")
        return
    log("CONNECT")
    published = 0
    if MODE == "silent":
        while read_packet(conn) is not None:  # never answers
            pass
        return
    if MODE == "garbage":
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    elif MODE == "badconnack":
        conn.sendall(b"\x20\x03\x00\x00\x00")
    elif MODE == "earlypublish":
        conn.sendall(packet(0x30, field(b"pipes/v1/all") + b"x"))
    else:
        conn.sendall(CONNACK)
    while True:
        p = read_packet(conn)
        if p is None:
            log("closed by client")
            return
        kind = p[0] >> 4
        if kind == 8:  # SUBSCRIBE
            pid = p[1][:2]
            log("SUBSCRIBE")
            if MODE == "subackmismatch":
                conn.sendall(packet(0x90, pid + b"\x01\x01"))
            elif MODE == "suback80":
                conn.sendall(packet(0x90, pid + b"\x80"))
            else:
                conn.sendall(packet(0x90, pid + b"\x01"))
                conn.sendall(AFTER.get(MODE, b""))
                if MODE == "truncated":
                    log("closing mid-packet")
                    return
        elif kind == 12:  # PINGREQ
            log("PINGREQ")
            if MODE != "deadpeer":
                conn.sendall(b"\xd0\x00")
        elif kind == 4:
            log("PUBACK %d" % int.from_bytes(p[1], "big"))
        elif kind == 3:  # the client publishes: "ack" acknowledges, "noack3" closes after 3
            tl = int.from_bytes(p[1][:2], "big")
            pid = int.from_bytes(p[1][2 + tl:4 + tl], "big")
            log("PUBLISH dup=%d pid=%d %s" % ((p[0] >> 3) & 1, pid, p[1][4 + tl:].decode()))
            published += 1
            if MODE == "ack":
                conn.sendall(packet(0x40, pid.to_bytes(2, "big")))
            elif MODE == "noack3" and published == 3:
                log("closing without acknowledging")
                return
        elif kind == 14:
            log("DISCONNECT")
        else:
            log("packet type %d" % kind)


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(1)
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.replace(PORTFILE + ".tmp", PORTFILE)
    global MODE
    end = time.time() + 90
    served = 0
    while time.time() < end and served < len(MODES):
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        MODE = MODES[served]
        served += 1
        log("connection %d: %s" % (served, MODE))
        try:
            serve(conn)
        except (OSError, socket.timeout) as e:
            log("connection error: %s" % e)
        finally:
            conn.close()


main()
