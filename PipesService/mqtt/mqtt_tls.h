/*
 * mqtt_tls.h - TLS for the broker connection through Schannel (SSPI), and
 * the trust a server certificate is checked against: the Windows store, or
 * a pinned CA file. Used by mqtt_net.c and mqtt_session.c only.
 */
#ifndef PIPES_MQTT_TLS_H
#define PIPES_MQTT_TLS_H

#include "mqtt_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the certificates of a PEM (one or more BEGIN CERTIFICATE blocks) or
 * DER file as the only CAs a server chain may end at. MQTT_E_CA_FILE with
 * detail (cap bytes) saying why when the file cannot be read or holds no
 * certificate. */
mqtt_status mqtt_trust_load(const wchar_t *ca_file, mqtt_trust **out, char *detail, size_t cap);
void mqtt_trust_free(mqtt_trust *trust);

/* On a connected c: the TLS 1.2 handshake, offering the certificate of the
 * LocalMachine\My store whose SHA-1 thumbprint is client_cert (NULL: none;
 * never a default one), then the server certificate check: its chain must
 * end at a CA of trust (NULL: a root the machine trusts, HCCE_LOCAL_MACHINE),
 * be valid now, be for server authentication, and name host. Sets c->tls on
 * success. */
mqtt_status mqtt_tls_handshake(mqtt_conn *c, const wchar_t *host, const mqtt_trust *trust,
                               const uint8_t *client_cert, ULONGLONG deadline);
mqtt_status mqtt_tls_send(mqtt_conn *c, const uint8_t *data, size_t len, ULONGLONG deadline);
mqtt_status mqtt_tls_recv(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got);
int mqtt_tls_pending(const mqtt_tls *t);
void mqtt_tls_free(mqtt_tls *t);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_MQTT_TLS_H */
