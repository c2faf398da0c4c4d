# mqtt_broker.sh - the test broker of the MQTT suites (run_mqtt_tests.sh, and the service's
# broker suite PipesService/tests/run_fleet_tests.sh): free ports, a wait helper, a CA and server
# certificates made with openssl, a password file, a mosquitto configuration and its start.
# Source it after setting WORK (an empty folder of the caller's); it defines functions only.
#   mqtt_broker_setup: certificates and password file in $WORK (user "pipes", password "s3cret!"),
#       PLAIN, TLS and EXPIRED free ports, $WORK/mosquitto.conf (persistence in $WORK/db); 1 on failure
#   broker_start: starts mosquitto (log $WORK/mosquitto.log), BROKER_PID; waits for its ports
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s
    local end=$(($(date +%s) + $1)); shift
    until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done
}
port_open() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; }

mqtt_broker_setup() {
    mkdir -p "$WORK/db"
    (
        cd "$WORK" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Pipes Test CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout ca.key -out ca.pem
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Some Other CA" \
            -addext "basicConstraints=critical,CA:TRUE" -keyout other.key -out other.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
        printf '%s\n' "subjectAltName=DNS:localhost" "extendedKeyUsage=serverAuth" \
            "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.pem
        # The same key and name, valid until yesterday.
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 \
            -extfile server.ext -out expired.pem
        mosquitto_passwd -b -c passwd pipes 's3cret!'
    ) >"$WORK/setup.log" 2>&1 || return 1
    PLAIN=$(free_port)
    TLS=$(free_port)
    EXPIRED=$(free_port)
    # max_queued_messages 0: no limit (the bench queues more than the default 1000).
    broker_conf "$WORK/mosquitto.conf" "persistence true" "persistence_location $WORK/db/" \
        "autosave_interval 1" "autosave_on_changes true" "max_queued_messages 0" \
        "allow_anonymous false" "password_file $WORK/passwd" \
        "listener $PLAIN 127.0.0.1" \
        "listener $TLS 127.0.0.1" "cafile $WORK/ca.pem" "certfile $WORK/server.pem" \
        "keyfile $WORK/server.key" \
        "listener $EXPIRED 127.0.0.1" "cafile $WORK/ca.pem" "certfile $WORK/expired.pem" \
        "keyfile $WORK/server.key"
}
# broker_conf FILE LINE...: a mosquitto configuration of these lines. As root mosquitto would
# switch to the "mosquitto" user, which cannot read the test's folders: it stays root.
broker_conf() {
    local file=$1
    shift
    { [ "$(id -u)" -eq 0 ] && echo "user root"; printf '%s\n' "$@"; } >"$file"
}
broker_start() {
    mosquitto -c "$WORK/mosquitto.conf" -v >>"$WORK/mosquitto.log" 2>&1 &
    BROKER_PID=$!
    wait_for 10 port_open "$PLAIN" && wait_for 10 port_open "$TLS" && wait_for 10 port_open "$EXPIRED"
}
