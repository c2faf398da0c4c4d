/*
 * mqtt_clientcert.c - the client certificate the service offers to the
 * broker (BrokerClientCertificate, docs/FLEET.md): found by its SHA-1
 * thumbprint in the LocalMachine\My store, and checked for a private key
 * this process can open before Schannel is given it, so a missing
 * certificate or an unreadable key is reported as such rather than as
 * Schannel's "unknown credentials".
 */
#include "mqtt_trust_internal.h"

#include <stdio.h>
#include <wincrypt.h>

void mqtt_client_cert_hex(const uint8_t sha1[20], char out[41])
{
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = digits[sha1[i] >> 4];
        out[2 * i + 1] = digits[sha1[i] & 15];
    }
    out[40] = '\0';
}

mqtt_status mqtt_client_cert_open(mqtt_conn *c, const uint8_t sha1[20], PCCERT_CONTEXT *out)
{
    char hex[41];
    mqtt_client_cert_hex(sha1, hex);
    *out = NULL;
    /* The machine's personal store, where certlm.msc and
     * Import-PfxCertificate -CertStoreLocation Cert:\LocalMachine\My put it;
     * read-only, and never created. */
    HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                     CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG |
                                         CERT_STORE_OPEN_EXISTING_FLAG,
                                     L"MY");
    if (store == NULL) {
        mqtt_conn_detail(c, "cannot open the LocalMachine\\My certificate store (error 0x%08lx)",
                         (unsigned long)GetLastError());
        return MQTT_E_TLS_CLIENT_CERT;
    }
    CRYPT_HASH_BLOB hash = {20, (BYTE *)sha1};
    PCCERT_CONTEXT cert = CertFindCertificateInStore(store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                                                     0, CERT_FIND_SHA1_HASH, &hash, NULL);
    DWORD find_error = GetLastError();
    CertCloseStore(store, 0); /* a context found stays valid until it is freed */
    if (cert == NULL) {
        mqtt_conn_detail(c, "no certificate with thumbprint %s in LocalMachine\\My (error 0x%08lx)",
                         hex, (unsigned long)find_error);
        return MQTT_E_TLS_CLIENT_CERT;
    }
    wchar_t subject[128];
    CertGetNameStringW(cert, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, NULL, subject, 128);

    /* Cached on the context (CRYPT_ACQUIRE_CACHE_FLAG): Schannel uses the
     * same key, and the handle is released with the context, not here. CNG
     * keys are allowed: Import-PfxCertificate may store the key with a CNG
     * provider. Silent: a service has no one to show a prompt to. Compared
     * with the certificate's public key, so a key record pointing at another
     * key is named here rather than by a failed handshake. */
    HCRYPTPROV_OR_NCRYPT_KEY_HANDLE key = 0;
    DWORD spec = 0;
    BOOL caller_frees = FALSE;
    if (!CryptAcquireCertificatePrivateKey(cert,
                                           CRYPT_ACQUIRE_CACHE_FLAG | CRYPT_ACQUIRE_SILENT_FLAG |
                                               CRYPT_ACQUIRE_COMPARE_KEY_FLAG |
                                               CRYPT_ACQUIRE_ALLOW_NCRYPT_KEY_FLAG,
                                           NULL, &key, &spec, &caller_frees)) {
        DWORD err = GetLastError();
        mqtt_conn_detail(c,
                         "certificate %s ('%ls') in LocalMachine\\My: its private key cannot be "
                         "opened (error 0x%08lx%s)",
                         hex, subject, (unsigned long)err,
                         err == (DWORD)CRYPT_E_NO_KEY_PROPERTY
                             ? ": the store holds no private key for it"
                             : err == (DWORD)NTE_BAD_KEYSET || err == ERROR_ACCESS_DENIED
                                   ? ": missing, or this account may not read it"
                                   : "");
        CertFreeCertificateContext(cert);
        return MQTT_E_TLS_CLIENT_CERT;
    }
    if (caller_frees && spec != CERT_NCRYPT_KEY_SPEC)
        CryptReleaseContext(key, 0); /* not expected with the cache flag; never leak it */
    *out = cert;
    return MQTT_OK;
}
