/*
 * mqtt_status.c - names and texts of mqtt_status (see mqtt_status.h).
 */
#include "mqtt_status.h"

typedef struct status_info {
    const char *name;
    const char *text;
} status_info;

/* Indexed by mqtt_status; the static assertion below keeps the table complete. */
static const status_info g_info[] = {
    {"ok", "success"},
    {"need-more", "the input ends inside a packet"},
    {"invalid-argument", "invalid argument"},
    {"buffer-too-small", "the output buffer is too small for the packet"},
    {"bad-remaining-length",
     "malformed remaining length (more than 4 bytes, or not in its shortest form)"},
    {"packet-too-large", "the packet is larger than the configured maximum packet size"},
    {"bad-packet-type", "reserved or unknown packet type"},
    {"bad-header-flags", "reserved fixed-header flags are set"},
    {"malformed-packet", "malformed packet (its fields do not match its length or the rules)"},
    {"bad-utf8", "a string is not valid UTF-8 or contains U+0000"},
    {"topic-empty", "the topic is empty"},
    {"topic-too-long", "the topic is longer than the client's limit"},
    {"topic-wildcard", "a PUBLISH topic contains a wildcard (+ or #)"},
    {"bad-topic-filter", "invalid topic filter (+ and # must fill a whole level, # only last)"},
    {"too-many-filters", "too many topic filters in one packet"},
    {"unsupported", "a feature this client does not support (will message, QoS 2)"},
    {"protocol-violation", "the broker sent a packet the protocol does not allow here"},
    {"refused-version", "the broker refused the connection: unacceptable protocol version"},
    {"refused-identifier", "the broker refused the client identifier"},
    {"refused-unavailable", "the broker refused the connection: server unavailable"},
    {"refused-credentials", "the broker refused the user name or password"},
    {"refused-not-authorized", "the broker refused the connection: not authorised"},
    {"refused-other", "the broker refused the connection with an unknown return code"},
    {"subscribe-refused", "the broker refused a subscription (SUBACK failure 0x80)"},
    {"bad-url", "invalid broker URL (expected mqtts://host[:port] or mqtt://host[:port])"},
    {"plain-not-allowed",
     "plain-text mqtt:// refused: use mqtts://, or allow plain text explicitly"},
    {"resolve-failed", "cannot resolve the broker host name"},
    {"connect-failed", "cannot open a TCP connection to the broker"},
    {"connection-closed", "the broker closed the connection"},
    {"network-error", "network error on the broker connection"},
    {"timeout", "the broker did not answer in time"},
    {"dead-peer", "no answer to PINGREQ within the keep-alive timeout (dead peer)"},
    {"tls-failed", "the TLS handshake with the broker failed"},
    {"tls-untrusted", "the broker's certificate is not trusted (unknown or wrong CA)"},
    {"tls-hostname", "the broker's certificate does not match the host name"},
    {"tls-expired", "the broker's certificate has expired or is not yet valid"},
    {"ca-file", "cannot read the pinned CA file (PEM or DER certificate expected)"},
    {"tls-client-cert",
     "the configured client certificate cannot be used (not in the LocalMachine\\My store, "
     "or its private key cannot be opened)"},
    {"tls-client-auth-failed",
     "the broker ended the TLS handshake after the client's certificate message: it refused "
     "the client certificate, or requires one and none is configured"},
    {"queue-full", "the publish queue is full"},
    {"stopped", "the client is stopped"},
    {"no-memory", "out of memory"},
};

typedef char g_info_complete[(sizeof g_info / sizeof g_info[0]) == MQTT_STATUS_COUNT ? 1 : -1];

const char *mqtt_status_name(mqtt_status st)
{
    return (unsigned)st < MQTT_STATUS_COUNT ? g_info[st].name : "unknown";
}

const char *mqtt_status_text(mqtt_status st)
{
    return (unsigned)st < MQTT_STATUS_COUNT ? g_info[st].text : "unknown status";
}

mqtt_status mqtt_connack_status(unsigned return_code)
{
    switch (return_code) {
    case 0: return MQTT_OK;
    case 1: return MQTT_E_REFUSED_VERSION;
    case 2: return MQTT_E_REFUSED_IDENTIFIER;
    case 3: return MQTT_E_REFUSED_UNAVAILABLE;
    case 4: return MQTT_E_REFUSED_CREDENTIALS;
    case 5: return MQTT_E_REFUSED_NOT_AUTHORIZED;
    default: return MQTT_E_REFUSED_OTHER;
    }
}
