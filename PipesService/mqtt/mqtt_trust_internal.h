/*
 * mqtt_trust_internal.h - the certificate work mqtt_tls.c calls on: the
 * server certificate check after the handshake (mqtt_trust.c), and the
 * client certificate offered in it (mqtt_clientcert.c).
 */
#ifndef PIPES_MQTT_TRUST_INTERNAL_H
#define PIPES_MQTT_TRUST_INTERNAL_H

#include "mqtt_tls.h"

#define SECURITY_WIN32
#include <security.h>
#include <schannel.h>

mqtt_status mqtt_trust_verify(mqtt_conn *c, CtxtHandle *ctx, const wchar_t *host,
                              const mqtt_trust *trust);

/* The certificate of LocalMachine\My with this SHA-1 thumbprint, once its
 * private key opened (cached on the context, for Schannel). On failure
 * MQTT_E_TLS_CLIENT_CERT, and c->detail names the thumbprint and the cause
 * (not in the store, no private key, key not readable). Free *out with
 * CertFreeCertificateContext. */
mqtt_status mqtt_client_cert_open(mqtt_conn *c, const uint8_t sha1[20], PCCERT_CONTEXT *out);
/* The thumbprint as 40 upper-case hex digits, as certlm.msc shows it. */
void mqtt_client_cert_hex(const uint8_t sha1[20], char out[41]);

#endif /* PIPES_MQTT_TRUST_INTERNAL_H */
