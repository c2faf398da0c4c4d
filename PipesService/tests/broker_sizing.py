#!/usr/bin/env python3
"""broker_sizing.py - what one desktop costs a mosquitto, for docs/FLEET.md "Sizing".

Starts its own mosquitto (no persistence file, anonymous, 127.0.0.1, a free port), then opens
CLIENTS connections the way PipesService does (MQTT 3.1.1, clean session off, QoS 1
subscriptions to <prefix>/all, host/<name>, user/<name>) and prints the broker's resident memory
(VmRSS) after each step: connected and idle; disconnected (persistent sessions kept); after
MESSAGES QoS 1 messages of SIZE bytes to pipes/v1/all were queued for every offline session.
A measurement, not a test.
    python3 broker_sizing.py [CLIENTS=2000] [MESSAGES=10] [SIZE=200]
"""
import os, socket, struct, subprocess, sys, tempfile, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def utf8(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b

def packet(first, body):
    n, rl = len(body), b""
    while True:
        d, n = n % 128, n // 128
        rl += bytes([d | (128 if n else 0)])
        if not n:
            return bytes([first]) + rl + body

def read_packet(s):
    first = s.recv(1)[0]
    n, mult = 0, 1
    while True:
        d = s.recv(1)[0]
        n += (d & 127) * mult
        mult *= 128
        if not d & 128:
            break
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    return first, body

def desktop(port, name):
    s = socket.create_connection(("127.0.0.1", port))
    # CONNECT: protocol MQTT 4, flags 0 (clean session off), keep-alive 600 s.
    s.sendall(packet(0x10, utf8("MQTT") + bytes([4, 0]) + struct.pack(">H", 600) + utf8("pipes-" + name)))
    assert read_packet(s)[0] == 0x20
    topics = [f"pipes/v1/all", f"pipes/v1/host/{name}", f"pipes/v1/user/{name}"]
    s.sendall(packet(0x82, struct.pack(">H", 1) + b"".join(utf8(t) + b"\x01" for t in topics)))
    assert read_packet(s)[0] == 0x90
    return s

def main():
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    work = tempfile.mkdtemp(prefix="broker-sizing-")
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
    with open(os.path.join(work, "mosquitto.conf"), "w") as f:
        if os.getuid() == 0:
            f.write("user root\n")
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n")
    broker = subprocess.Popen(["mosquitto", "-c", os.path.join(work, "mosquitto.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close(); break
            except OSError:
                time.sleep(0.1)
        base = rss_kib(broker.pid)
        print(f"mosquitto alone: {base} KiB")
        socks = [desktop(port, f"pc{i:06d}") for i in range(clients)]
        time.sleep(1)
        up = rss_kib(broker.pid)
        print(f"{clients} connected idle desktops: {up} KiB, {(up - base) * 1024 // clients} bytes each")
        for s in socks:
            s.sendall(b"\xe0\x00")  # DISCONNECT: the persistent sessions stay
            s.close()
        time.sleep(2)
        off = rss_kib(broker.pid)
        print(f"{clients} offline persistent sessions: {off} KiB, {(off - base) * 1024 // clients} bytes each")
        payload = b"x" * size
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                        "-t", "pipes/v1/all", "-l"], input=b"\n".join([payload] * messages) + b"\n", check=True)
        time.sleep(2)
        queued = rss_kib(broker.pid)
        print(f"{messages} messages of {size} bytes queued for each: {queued} KiB, "
              f"{(queued - off) * 1024 // (clients * messages)} bytes per queued message")
    finally:
        broker.terminate(); broker.wait()

main()
