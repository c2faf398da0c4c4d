/*
 * mqtt_trust_internal.h - the server certificate check, called by
 * mqtt_tls.c after the handshake (implemented in mqtt_trust.c).
 */
#ifndef PIPES_MQTT_TRUST_INTERNAL_H
#define PIPES_MQTT_TRUST_INTERNAL_H

#include "mqtt_tls.h"

#define SECURITY_WIN32
#include <security.h>
#include <schannel.h>

mqtt_status mqtt_trust_verify(mqtt_conn *c, CtxtHandle *ctx, const wchar_t *host,
                              const mqtt_trust *trust);

#endif /* PIPES_MQTT_TRUST_INTERNAL_H */
