/*
 * mqtt_trust.c - whether the broker's certificate is to be trusted.
 *
 * One check for both sources of trust (Schannel runs with manual
 * validation): CertGetCertificateChain builds the chain from the server's
 * certificates, the machine's stores and, with a pinned CA file, those CAs;
 * then
 *   - pinned: the chain must end at one of the file's certificates (a root
 *     the machine also trusts is not enough), and "untrusted root" is
 *     forgiven for it;
 *   - Windows store: the chain must end at a root the machine trusts
 *     (HCCE_LOCAL_MACHINE: what the service, running as SYSTEM, trusts);
 * the chain must have no other error (time, signature, usage), and
 * CertVerifyCertificateChainPolicy(SSL) must accept it for the host name.
 * Revocation is not checked (no CRL or OCSP fetch): see docs/FLEET.md.
 */
#include "mqtt_trust_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wincrypt.h>

/* The SSL policy's "ignore unknown CA" check flag (wininet.h, which we do not otherwise need). */
#ifndef SECURITY_FLAG_IGNORE_UNKNOWN_CA
#define SECURITY_FLAG_IGNORE_UNKNOWN_CA 0x00000100
#endif

struct mqtt_trust {
    HCERTSTORE store; /* the pinned CAs; owned */
};

#define CA_FILE_MAX (1024u * 1024u)

static void say(char *detail, size_t cap, const char *text, const wchar_t *path, DWORD err)
{
    snprintf(detail, cap, "%s: %ls (error %lu)", text, path, (unsigned long)err);
}

/* Adds each PEM certificate block of text (NUL-terminated) to store; returns how many. */
static int add_pem(HCERTSTORE store, const char *text)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    int added = 0;
    for (const char *p = strstr(text, begin); p != NULL; p = strstr(p, begin)) {
        const char *e = strstr(p, end);
        if (e == NULL)
            break;
        e += sizeof end - 1;
        DWORD der_len = 0;
        if (CryptStringToBinaryA(p, (DWORD)(e - p), CRYPT_STRING_BASE64HEADER, NULL, &der_len, NULL,
                                 NULL) &&
            der_len > 0) {
            BYTE *der = (BYTE *)malloc(der_len);
            if (der != NULL &&
                CryptStringToBinaryA(p, (DWORD)(e - p), CRYPT_STRING_BASE64HEADER, der, &der_len,
                                     NULL, NULL) &&
                CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, der_len,
                                                 CERT_STORE_ADD_REPLACE_EXISTING, NULL))
                added++;
            free(der);
        }
        p = e;
    }
    return added;
}

mqtt_status mqtt_trust_load(const wchar_t *ca_file, mqtt_trust **out, char *detail, size_t cap)
{
    *out = NULL;
    HANDLE f = CreateFileW(ca_file, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (f == INVALID_HANDLE_VALUE) {
        say(detail, cap, "cannot open the CA file", ca_file, GetLastError());
        return MQTT_E_CA_FILE;
    }
    LARGE_INTEGER size;
    char *text = NULL;
    DWORD got = 0;
    mqtt_status st = MQTT_OK;
    if (!GetFileSizeEx(f, &size) || size.QuadPart <= 0 || size.QuadPart > CA_FILE_MAX) {
        say(detail, cap, "the CA file is empty or larger than 1 MiB", ca_file, GetLastError());
        st = MQTT_E_CA_FILE;
    } else if ((text = (char *)malloc((size_t)size.QuadPart + 1)) == NULL) {
        st = MQTT_E_NO_MEMORY;
    } else if (!ReadFile(f, text, (DWORD)size.QuadPart, &got, NULL) || got != size.QuadPart) {
        say(detail, cap, "cannot read the CA file", ca_file, GetLastError());
        st = MQTT_E_CA_FILE;
    }
    CloseHandle(f);

    mqtt_trust *t = NULL;
    if (st == MQTT_OK) {
        text[got] = '\0';
        t = (mqtt_trust *)calloc(1, sizeof *t);
        if (t == NULL || (t->store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, 0, NULL)) == NULL)
            st = MQTT_E_NO_MEMORY;
    }
    if (st == MQTT_OK) {
        int n = strstr(text, "-----BEGIN") != NULL
                    ? add_pem(t->store, text)
                    : CertAddEncodedCertificateToStore(t->store, X509_ASN_ENCODING, (BYTE *)text,
                                                       got, CERT_STORE_ADD_REPLACE_EXISTING, NULL);
        if (n <= 0) {
            say(detail, cap, "no certificate (PEM or DER) in the CA file", ca_file, GetLastError());
            st = MQTT_E_CA_FILE;
        }
    }
    free(text);
    if (st != MQTT_OK) {
        mqtt_trust_free(t);
        return st;
    }
    *out = t;
    return MQTT_OK;
}

void mqtt_trust_free(mqtt_trust *trust)
{
    if (trust == NULL)
        return;
    if (trust->store != NULL)
        CertCloseStore(trust->store, 0);
    free(trust);
}

static mqtt_status chain_status(mqtt_conn *c, const CERT_CHAIN_CONTEXT *chain,
                                const mqtt_trust *trust)
{
    DWORD err = chain->TrustStatus.dwErrorStatus;
    const CERT_SIMPLE_CHAIN *simple = chain->rgpChain[chain->cChain - 1];
    PCCERT_CONTEXT root = simple->rgpElement[simple->cElement - 1]->pCertContext;
    wchar_t root_name[128];
    CertGetNameStringW(root, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, NULL, root_name, 128);
    if (trust != NULL) {
        PCCERT_CONTEXT pinned = CertFindCertificateInStore(
            trust->store, X509_ASN_ENCODING, 0, CERT_FIND_EXISTING, root, NULL);
        if (pinned == NULL) {
            mqtt_conn_detail(c, "the certificate chain ends at '%ls', which is not a CA of the "
                                "pinned CA file", root_name);
            return MQTT_E_TLS_UNTRUSTED;
        }
        CertFreeCertificateContext(pinned);
        err &= ~(DWORD)CERT_TRUST_IS_UNTRUSTED_ROOT;
    }
    if (err & (CERT_TRUST_IS_NOT_TIME_VALID | CERT_TRUST_CTL_IS_NOT_TIME_VALID)) {
        mqtt_conn_detail(c, "a certificate of the chain has expired or is not yet valid");
        return MQTT_E_TLS_EXPIRED;
    }
    if (err & (CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_PARTIAL_CHAIN)) {
        mqtt_conn_detail(c, "the certificate chain ends at '%ls', which this machine does not "
                            "trust (chain status 0x%lx)", root_name, (unsigned long)err);
        return MQTT_E_TLS_UNTRUSTED;
    }
    if (err != 0) {
        mqtt_conn_detail(c, "the certificate chain is not valid (chain status 0x%lx)",
                         (unsigned long)err);
        return MQTT_E_TLS_UNTRUSTED;
    }
    return MQTT_OK;
}

static mqtt_status policy_status(mqtt_conn *c, const CERT_CHAIN_CONTEXT *chain,
                                 const wchar_t *host, int pinned)
{
    SSL_EXTRA_CERT_CHAIN_POLICY_PARA ssl;
    ZeroMemory(&ssl, sizeof ssl);
    ssl.cbSize = sizeof ssl;
    ssl.dwAuthType = AUTHTYPE_SERVER;
    ssl.fdwChecks = pinned ? SECURITY_FLAG_IGNORE_UNKNOWN_CA : 0;
    ssl.pwszServerName = (wchar_t *)host;
    CERT_CHAIN_POLICY_PARA para;
    ZeroMemory(&para, sizeof para);
    para.cbSize = sizeof para;
    para.pvExtraPolicyPara = &ssl;
    CERT_CHAIN_POLICY_STATUS ps;
    ZeroMemory(&ps, sizeof ps);
    ps.cbSize = sizeof ps;
    if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &para, &ps)) {
        mqtt_conn_detail(c, "CertVerifyCertificateChainPolicy failed (error %lu)", GetLastError());
        return MQTT_E_TLS;
    }
    switch ((HRESULT)ps.dwError) {
    case 0:
        return MQTT_OK;
    case CERT_E_CN_NO_MATCH:
        mqtt_conn_detail(c, "the certificate is not for host '%ls' (CERT_E_CN_NO_MATCH)", host);
        return MQTT_E_TLS_HOSTNAME;
    case CERT_E_EXPIRED:
        mqtt_conn_detail(c, "the certificate has expired (CERT_E_EXPIRED)");
        return MQTT_E_TLS_EXPIRED;
    case CERT_E_UNTRUSTEDROOT:
    case CERT_E_CHAINING:
        mqtt_conn_detail(c, "the certificate chain is not trusted (policy error 0x%08lx)",
                         (unsigned long)ps.dwError);
        return MQTT_E_TLS_UNTRUSTED;
    default:
        mqtt_conn_detail(c, "the SSL policy refused the certificate (error 0x%08lx)",
                         (unsigned long)ps.dwError);
        return MQTT_E_TLS;
    }
}

mqtt_status mqtt_trust_verify(mqtt_conn *c, CtxtHandle *ctx, const wchar_t *host,
                              const mqtt_trust *trust)
{
    PCCERT_CONTEXT cert = NULL;
    SECURITY_STATUS ss = QueryContextAttributesW(ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &cert);
    if (ss != SEC_E_OK || cert == NULL) {
        mqtt_conn_detail(c, "the broker sent no certificate (SSPI status 0x%08lx)",
                         (unsigned long)ss);
        return MQTT_E_TLS_UNTRUSTED;
    }
    /* The server's own intermediates come with cert->hCertStore; the pinned CAs join them. */
    HCERTSTORE extra = cert->hCertStore, both = NULL;
    if (trust != NULL) {
        both = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0, NULL);
        if (both != NULL) {
            CertAddStoreToCollection(both, cert->hCertStore, 0, 0);
            CertAddStoreToCollection(both, trust->store, 0, 0);
            extra = both;
        }
    }
    LPSTR usage[] = {(LPSTR)szOID_PKIX_KP_SERVER_AUTH};
    CERT_CHAIN_PARA para;
    ZeroMemory(&para, sizeof para);
    para.cbSize = sizeof para;
    para.RequestedUsage.dwType = USAGE_MATCH_TYPE_OR;
    para.RequestedUsage.Usage.cUsageIdentifier = 1;
    para.RequestedUsage.Usage.rgpszUsageIdentifier = usage;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    mqtt_status st;
    if (!CertGetCertificateChain(HCCE_LOCAL_MACHINE, cert, NULL, extra, &para, 0, NULL, &chain)) {
        mqtt_conn_detail(c, "CertGetCertificateChain failed (error %lu)", GetLastError());
        st = MQTT_E_TLS;
    } else {
        st = chain_status(c, chain, trust);
        if (st == MQTT_OK)
            st = policy_status(c, chain, host, trust != NULL);
        CertFreeCertificateChain(chain);
    }
    if (both != NULL)
        CertCloseStore(both, 0);
    CertFreeCertificateContext(cert);
    return st;
}
