/*
 * mqtt_tls.c - the TLS record layer and handshake through Schannel (SSPI).
 *
 * Schannel is asked for TLS 1.2 with manual credential validation: the
 * server certificate is checked by mqtt_trust.c after the handshake, the same
 * way for the Windows store and for a pinned CA, so both fail with the same
 * clear statuses. A client certificate is offered only when one is configured
 * (mqtt_clientcert.c finds it in LocalMachine\My); Schannel never picks one
 * itself (SCH_CRED_NO_DEFAULT_CREDS).
 */
#include "mqtt_tls.h"

#define SECURITY_WIN32
#include <schannel.h>
#include <security.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_trust_internal.h"

/* Room for one TLS record (16 KiB + overhead) several times over; the
 * handshake's certificate messages are the largest input. */
#define TLS_IN_CAP (64u * 1024u)

struct mqtt_tls {
    CredHandle cred;
    CtxtHandle ctx;
    int have_cred, have_ctx;
    SecPkgContext_StreamSizes sizes;
    uint8_t *in;      /* ciphertext received, not yet decrypted: in[0..in_len) */
    size_t in_len;
    int in_short;     /* the last DecryptMessage wanted more than in holds */
    uint8_t *plain;   /* decrypted, not yet returned: plain[plain_off..plain_off+plain_len) */
    size_t plain_off, plain_len;
    uint8_t *out;     /* EncryptMessage scratch: header + max message + trailer */
    int closed;       /* close_notify seen */
    const uint8_t *client_cert; /* the thumbprint offered, or NULL */
    PCCERT_CONTEXT cert;        /* its context, for the credential's life; owned */
    int tokens_sent;            /* handshake messages sent: 1 = ClientHello only */
    int asked_for_cert;         /* SEC_I_INCOMPLETE_CREDENTIALS was seen */
};

static mqtt_status sspi_fail(mqtt_conn *c, const char *what, SECURITY_STATUS ss)
{
    mqtt_conn_detail(c, "%s failed (SSPI status 0x%08lx)", what, (unsigned long)ss);
    switch (ss) {
    case SEC_E_UNTRUSTED_ROOT:
        return MQTT_E_TLS_UNTRUSTED;
    case SEC_E_WRONG_PRINCIPAL:
        return MQTT_E_TLS_HOSTNAME;
    case SEC_E_CERT_EXPIRED:
        return MQTT_E_TLS_EXPIRED;
    default:
        return MQTT_E_TLS;
    }
}

/* The handshake failed after our second flight (Certificate,
 * ClientKeyExchange, Finished): in TLS 1.2 that is where the broker answers
 * a client certificate it refuses, or the empty certificate message sent
 * when none is configured. The server certificate cannot be the cause: it is
 * checked after the handshake (manual validation). */
static mqtt_status client_auth_failed(mqtt_conn *c, const mqtt_tls *t, const char *how)
{
    if (t->client_cert != NULL) {
        char hex[41];
        mqtt_client_cert_hex(t->client_cert, hex);
        mqtt_conn_detail(c, "client certificate %s was offered (%s): is it issued by a CA the "
                            "broker trusts, valid now, and for client authentication?", hex, how);
    } else {
        mqtt_conn_detail(c, "%s%s; no client certificate is configured (BrokerClientCertificate)",
                         how, t->asked_for_cert ? "; the broker asked for one" : "");
    }
    return MQTT_E_TLS_CLIENT_AUTH;
}

static mqtt_status handshake_fail(mqtt_conn *c, const mqtt_tls *t, SECURITY_STATUS ss)
{
    if (t->tokens_sent >= 2) {
        char how[40];
        snprintf(how, sizeof how, "SSPI status 0x%08lx", (unsigned long)ss);
        return client_auth_failed(c, t, how);
    }
    return sspi_fail(c, "TLS handshake", ss);
}

static mqtt_status read_more(mqtt_conn *c, mqtt_tls *t, ULONGLONG deadline)
{
    if (t->in_len == TLS_IN_CAP) {
        mqtt_conn_detail(c, "TLS handshake message larger than %u bytes", TLS_IN_CAP);
        return MQTT_E_TLS;
    }
    size_t got = 0;
    mqtt_status st = mqtt_sock_recv_wait(c, t->in + t->in_len, TLS_IN_CAP - t->in_len, &got, deadline);
    if (st == MQTT_E_TIMEOUT)
        mqtt_conn_detail(c, "TLS handshake timed out");
    else if (st == MQTT_E_CLOSED && t->tokens_sent >= 2)
        return client_auth_failed(c, t, "connection closed");
    else if (st == MQTT_E_CLOSED)
        mqtt_conn_detail(c, "the broker closed the connection during the TLS handshake "
                            "(is it a TLS port?)");
    t->in_len += got;
    return st;
}

/* Keeps the bytes Schannel did not consume (a SECBUFFER_EXTRA at the end of in). */
static void keep_extra(mqtt_tls *t, const SecBuffer *b)
{
    if (b->BufferType == SECBUFFER_EXTRA && b->cbBuffer > 0 && b->cbBuffer <= t->in_len) {
        memmove(t->in, t->in + (t->in_len - b->cbBuffer), b->cbBuffer);
        t->in_len = b->cbBuffer;
    } else {
        t->in_len = 0;
    }
}

static mqtt_status handshake(mqtt_conn *c, mqtt_tls *t, const wchar_t *host, ULONGLONG deadline)
{
    const DWORD want = ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY |
                       ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM | ISC_REQ_EXTENDED_ERROR |
                       ISC_REQ_MANUAL_CRED_VALIDATION;
    for (;;) {
        SecBuffer inb[2] = {{(unsigned long)t->in_len, SECBUFFER_TOKEN, t->in},
                            {0, SECBUFFER_EMPTY, NULL}};
        SecBuffer outb[1] = {{0, SECBUFFER_TOKEN, NULL}};
        SecBufferDesc ind = {SECBUFFER_VERSION, 2, inb}, outd = {SECBUFFER_VERSION, 1, outb};
        ULONG attrs = 0;
        SECURITY_STATUS ss = InitializeSecurityContextW(
            &t->cred, t->have_ctx ? &t->ctx : NULL, (SEC_WCHAR *)host, want, 0, 0,
            t->have_ctx ? &ind : NULL, 0, t->have_ctx ? NULL : &t->ctx, &outd, &attrs, NULL);
        if (!t->have_ctx && (ss == SEC_I_CONTINUE_NEEDED || ss == SEC_E_OK))
            t->have_ctx = 1;
        if (outb[0].pvBuffer != NULL) {
            /* Sent also with an error: with ISC_REQ_EXTENDED_ERROR it is the alert. */
            mqtt_status st = mqtt_sock_send_all(c, outb[0].pvBuffer, outb[0].cbBuffer, deadline);
            FreeContextBuffer(outb[0].pvBuffer);
            if (st != MQTT_OK && ss != SEC_E_OK && ss != SEC_I_CONTINUE_NEEDED)
                return handshake_fail(c, t, ss);
            if (st != MQTT_OK)
                return st;
            if ((ss == SEC_E_OK || ss == SEC_I_CONTINUE_NEEDED) && outb[0].cbBuffer > 0)
                t->tokens_sent++;
        }
        if (ss == SEC_E_INCOMPLETE_MESSAGE) {
            mqtt_status st = read_more(c, t, deadline);
            if (st != MQTT_OK)
                return st;
            continue;
        }
        if (ss == SEC_I_INCOMPLETE_CREDENTIALS) {
            /* A client certificate was asked for and none is configured (or
             * Schannel found the one given unsuitable): go on without one;
             * the broker decides whether that is enough. */
            t->asked_for_cert = 1;
            continue;
        }
        if (ss != SEC_E_OK && ss != SEC_I_CONTINUE_NEEDED)
            return handshake_fail(c, t, ss);
        if (t->have_ctx && inb[0].pvBuffer != NULL)
            keep_extra(t, &inb[1]);
        if (ss == SEC_E_OK)
            return MQTT_OK; /* what is left in in is the first application data */
        if (t->in_len == 0) {
            mqtt_status st = read_more(c, t, deadline);
            if (st != MQTT_OK)
                return st;
        }
    }
}

void mqtt_tls_free(mqtt_tls *t)
{
    if (t == NULL)
        return;
    if (t->have_ctx)
        DeleteSecurityContext(&t->ctx);
    if (t->have_cred)
        FreeCredentialsHandle(&t->cred);
    if (t->cert != NULL)
        CertFreeCertificateContext(t->cert);
    free(t->in);
    free(t->plain);
    free(t->out);
    free(t);
}

mqtt_status mqtt_tls_handshake(mqtt_conn *c, const wchar_t *host, const mqtt_trust *trust,
                               const uint8_t *client_cert, ULONGLONG deadline)
{
    mqtt_tls *t = (mqtt_tls *)calloc(1, sizeof *t);
    if (t == NULL || (t->in = (uint8_t *)malloc(TLS_IN_CAP)) == NULL) {
        mqtt_tls_free(t);
        return MQTT_E_NO_MEMORY;
    }
    SCHANNEL_CRED sc;
    ZeroMemory(&sc, sizeof sc);
    sc.dwVersion = SCHANNEL_CRED_VERSION;
    sc.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
    sc.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    t->client_cert = client_cert;
    if (client_cert != NULL) {
        mqtt_status st = mqtt_client_cert_open(c, client_cert, &t->cert);
        if (st != MQTT_OK) {
            mqtt_tls_free(t);
            return st;
        }
        sc.cCreds = 1;
        sc.paCred = &t->cert;
    }
    SECURITY_STATUS ss = AcquireCredentialsHandleW(NULL, (SEC_WCHAR *)UNISP_NAME_W,
                                                   SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL,
                                                   &t->cred, NULL);
    if (ss != SEC_E_OK) {
        mqtt_status st = sspi_fail(c, "AcquireCredentialsHandle (Schannel)", ss);
        if (client_cert != NULL) {
            /* Schannel refused the certificate or its key (SEC_E_UNKNOWN_CREDENTIALS...). */
            char hex[41];
            mqtt_client_cert_hex(client_cert, hex);
            mqtt_conn_detail(c, "Schannel refused client certificate %s or its private key "
                                "(AcquireCredentialsHandle status 0x%08lx)", hex, (unsigned long)ss);
            st = MQTT_E_TLS_CLIENT_CERT;
        }
        mqtt_tls_free(t);
        return st;
    }
    t->have_cred = 1;

    mqtt_status st = handshake(c, t, host, deadline);
    if (st == MQTT_OK) {
        ss = QueryContextAttributesW(&t->ctx, SECPKG_ATTR_STREAM_SIZES, &t->sizes);
        if (ss != SEC_E_OK)
            st = sspi_fail(c, "QueryContextAttributes(STREAM_SIZES)", ss);
    }
    if (st == MQTT_OK)
        st = mqtt_trust_verify(c, &t->ctx, host, trust);
    if (st == MQTT_OK) {
        size_t out_cap = (size_t)t->sizes.cbHeader + t->sizes.cbMaximumMessage + t->sizes.cbTrailer;
        t->out = (uint8_t *)malloc(out_cap);
        t->plain = (uint8_t *)malloc(TLS_IN_CAP);
        if (t->out == NULL || t->plain == NULL)
            st = MQTT_E_NO_MEMORY;
    }
    if (st != MQTT_OK) {
        mqtt_tls_free(t);
        return st;
    }
    c->tls = t;
    return MQTT_OK;
}

mqtt_status mqtt_tls_send(mqtt_conn *c, const uint8_t *data, size_t len, ULONGLONG deadline)
{
    mqtt_tls *t = c->tls;
    while (len > 0) {
        size_t n = len < t->sizes.cbMaximumMessage ? len : t->sizes.cbMaximumMessage;
        uint8_t *hdr = t->out, *body = hdr + t->sizes.cbHeader, *trl = body + n;
        memcpy(body, data, n);
        SecBuffer b[4] = {{t->sizes.cbHeader, SECBUFFER_STREAM_HEADER, hdr},
                          {(unsigned long)n, SECBUFFER_DATA, body},
                          {t->sizes.cbTrailer, SECBUFFER_STREAM_TRAILER, trl},
                          {0, SECBUFFER_EMPTY, NULL}};
        SecBufferDesc d = {SECBUFFER_VERSION, 4, b};
        SECURITY_STATUS ss = EncryptMessage(&t->ctx, 0, &d, 0);
        if (ss != SEC_E_OK)
            return sspi_fail(c, "EncryptMessage", ss);
        /* The header, data and trailer buffers are contiguous in out. */
        mqtt_status st = mqtt_sock_send_all(c, t->out, b[0].cbBuffer + b[1].cbBuffer + b[2].cbBuffer,
                                            deadline);
        if (st != MQTT_OK)
            return st;
        data += n;
        len -= n;
    }
    return MQTT_OK;
}

/* Decrypts the first record in in, if it is whole. *progress: a record was consumed. */
static mqtt_status decrypt_one(mqtt_conn *c, mqtt_tls *t, int *progress)
{
    *progress = 0;
    SecBuffer b[4] = {{(unsigned long)t->in_len, SECBUFFER_DATA, t->in},
                      {0, SECBUFFER_EMPTY, NULL},
                      {0, SECBUFFER_EMPTY, NULL},
                      {0, SECBUFFER_EMPTY, NULL}};
    SecBufferDesc d = {SECBUFFER_VERSION, 4, b};
    SECURITY_STATUS ss = DecryptMessage(&t->ctx, &d, 0, NULL);
    if (ss == SEC_E_INCOMPLETE_MESSAGE) {
        t->in_short = 1;
        return MQTT_OK;
    }
    if (ss == SEC_I_CONTEXT_EXPIRED) {
        t->closed = 1;
        mqtt_conn_detail(c, "the broker ended the TLS session (close_notify)");
        return MQTT_E_CLOSED;
    }
    if (ss == SEC_I_RENEGOTIATE) {
        mqtt_conn_detail(c, "the broker asked for TLS renegotiation, which this client refuses");
        return MQTT_E_TLS;
    }
    if (ss != SEC_E_OK)
        return sspi_fail(c, "DecryptMessage", ss);
    const SecBuffer *extra = NULL;
    for (int i = 0; i < 4; i++) {
        if (b[i].BufferType == SECBUFFER_DATA && b[i].cbBuffer > 0) {
            memcpy(t->plain, b[i].pvBuffer, b[i].cbBuffer);
            t->plain_off = 0;
            t->plain_len = b[i].cbBuffer;
        } else if (b[i].BufferType == SECBUFFER_EXTRA) {
            extra = &b[i];
        }
    }
    SecBuffer none = {0, SECBUFFER_EMPTY, NULL};
    keep_extra(t, extra != NULL ? extra : &none);
    *progress = 1;
    return MQTT_OK;
}

mqtt_status mqtt_tls_recv(mqtt_conn *c, uint8_t *buf, size_t cap, size_t *got)
{
    mqtt_tls *t = c->tls;
    *got = 0;
    for (;;) {
        if (t->plain_len > 0) {
            size_t n = t->plain_len < cap ? t->plain_len : cap;
            memcpy(buf, t->plain + t->plain_off, n);
            t->plain_off += n;
            t->plain_len -= n;
            *got = n;
            return MQTT_OK;
        }
        if (t->closed)
            return MQTT_E_CLOSED;
        if (t->in_len > 0 && !t->in_short) {
            int progress = 0;
            mqtt_status st = decrypt_one(c, t, &progress);
            if (st != MQTT_OK)
                return st;
            if (progress)
                continue;
        }
        if (t->in_len == TLS_IN_CAP) {
            mqtt_conn_detail(c, "TLS record larger than %u bytes", TLS_IN_CAP);
            return MQTT_E_TLS;
        }
        size_t n = 0;
        mqtt_status st = mqtt_sock_recv_now(c, t->in + t->in_len, TLS_IN_CAP - t->in_len, &n);
        if (st != MQTT_OK || n == 0)
            return st;
        t->in_len += n;
        t->in_short = 0;
    }
}

int mqtt_tls_pending(const mqtt_tls *t)
{
    return t->plain_len > 0 || (t->in_len > 0 && !t->in_short);
}
