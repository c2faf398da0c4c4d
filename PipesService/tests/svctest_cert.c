/*
 * svctest_cert.c - pipes-svctest's import-pfx and import-cert verbs (test code only; the
 * service never imports certificates): puts the certificates of a PFX file,
 * with their private keys, into the LocalMachine\My store of the Wine
 * prefix, as `Import-PfxCertificate -CertStoreLocation Cert:\LocalMachine\My`
 * would on Windows, for the client-certificate checks of the fleet suite
 * (fleet_cert_checks.sh).
 *
 *   import-pfx FILE PASSWORD --key-set user|machine
 *       prints "imported <THUMBPRINT> key" (or "no-key") per certificate.
 *   import-cert FILE
 *       a DER certificate alone (no private key), as certlm.msc imports a .cer;
 *       prints "imported <THUMBPRINT> no-key". (Wine 8's PFXImportCertStore
 *       refuses a PFX without a key: "GnuTLS error: The requested data were
 *       not available".)
 *
 * --key-set: where PFXImportCertStore keeps the private key. Windows wants
 * "machine" for a service (docs/FLEET.md). Wine 8 cannot use a machine key
 * for a client certificate (measured: docs/SECURITY.md), so the suite says
 * "user" (the prefix has one user, who also runs the service there).
 */
#include <windows.h>
#include <wincrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int svctest_import_pfx(int argc, wchar_t **argv);
int svctest_import_cert(const wchar_t *path);

static BYTE *read_file(const wchar_t *path, DWORD *len)
{
    HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    BYTE *data = NULL;
    LARGE_INTEGER size;
    if (f == INVALID_HANDLE_VALUE)
        return NULL;
    if (GetFileSizeEx(f, &size) && size.QuadPart > 0 && size.QuadPart < 1024 * 1024 &&
        (data = (BYTE *)malloc((size_t)size.QuadPart)) != NULL &&
        (!ReadFile(f, data, (DWORD)size.QuadPart, len, NULL) || *len != size.QuadPart)) {
        free(data);
        data = NULL;
    }
    CloseHandle(f);
    return data;
}

/* Wine 8's PFX import records the key's container with dwKeySpec 3 and,
 * for a machine key, without CRYPT_MACHINE_KEYSET, so the certificate's
 * private key would not be found again. Corrects the record to what the
 * import did (Windows records it right; then this changes nothing). */
static void fix_key_record(PCCERT_CONTEXT cert, DWORD key_set_flag)
{
    DWORD size = 0;
    CRYPT_KEY_PROV_INFO *info;
    if (!CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, NULL, &size) ||
        (info = (CRYPT_KEY_PROV_INFO *)malloc(size)) == NULL)
        return;
    if (CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, info, &size) &&
        info->dwProvType != 0 /* 0: a CNG key, recorded right */) {
        info->dwFlags |= key_set_flag;
        if (info->dwKeySpec != AT_SIGNATURE)
            info->dwKeySpec = AT_KEYEXCHANGE;
        CertSetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, 0, info);
    }
    free(info);
}

static HCERTSTORE open_machine_my(void)
{
    HCERTSTORE my = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_LOCAL_MACHINE,
                                  L"MY");
    if (my == NULL)
        fwprintf(stderr, L"cannot open LocalMachine\\My (error 0x%08lx)\n", GetLastError());
    return my;
}

/* Adds cert to store and prints its thumbprint; 0 on success. */
static int add_and_print(HCERTSTORE store, PCCERT_CONTEXT cert, int has_key)
{
    BYTE hash[20];
    DWORD hash_len = sizeof hash;
    if (!CertGetCertificateContextProperty(cert, CERT_HASH_PROP_ID, hash, &hash_len) ||
        !CertAddCertificateContextToStore(store, cert, CERT_STORE_ADD_REPLACE_EXISTING, NULL)) {
        fwprintf(stderr, L"adding a certificate failed (error 0x%08lx)\n", GetLastError());
        return 1;
    }
    printf("imported ");
    for (DWORD i = 0; i < hash_len; i++)
        printf("%02X", hash[i]);
    printf(" %s\n", has_key ? "key" : "no-key");
    return 0;
}

int svctest_import_cert(const wchar_t *path)
{
    DWORD len = 0;
    BYTE *der = read_file(path, &len);
    if (der == NULL) {
        fwprintf(stderr, L"cannot read %ls (error %lu)\n", path, GetLastError());
        return 1;
    }
    PCCERT_CONTEXT cert = CertCreateCertificateContext(X509_ASN_ENCODING, der, len);
    free(der);
    if (cert == NULL) {
        fwprintf(stderr, L"not a DER certificate (error 0x%08lx)\n", GetLastError());
        return 1;
    }
    HCERTSTORE my = open_machine_my();
    int rc = my == NULL || add_and_print(my, cert, 0);
    /* The registry-backed store is written when it is closed. */
    if (my != NULL && !CertCloseStore(my, 0))
        rc = 1;
    CertFreeCertificateContext(cert);
    return rc;
}

int svctest_import_pfx(int argc, wchar_t **argv)
{
    const wchar_t *key_set = argc > 5 && !wcscmp(argv[4], L"--key-set") ? argv[5] : L"";
    DWORD key_set_flag;
    if (!wcscmp(key_set, L"user")) {
        key_set_flag = 0;
    } else if (!wcscmp(key_set, L"machine")) {
        key_set_flag = CRYPT_MACHINE_KEYSET;
    } else {
        fwprintf(stderr, L"usage: import-pfx FILE PASSWORD --key-set user|machine\n");
        return 2;
    }
    CRYPT_DATA_BLOB pfx = {0, NULL};
    pfx.pbData = read_file(argv[2], &pfx.cbData);
    if (pfx.pbData == NULL) {
        fwprintf(stderr, L"cannot read %ls (error %lu)\n", argv[2], GetLastError());
        return 1;
    }
    HCERTSTORE imported = PFXImportCertStore(&pfx, argv[3], key_set_flag);
    free(pfx.pbData);
    if (imported == NULL) {
        fwprintf(stderr, L"PFXImportCertStore failed (error 0x%08lx)\n", GetLastError());
        return 1;
    }
    HCERTSTORE my = open_machine_my();
    if (my == NULL) {
        CertCloseStore(imported, 0);
        return 1;
    }
    int rc = 0, count = 0;
    PCCERT_CONTEXT cert = NULL;
    while ((cert = CertEnumCertificatesInStore(imported, cert)) != NULL) {
        DWORD size = 0;
        int has_key = CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, NULL,
                                                        &size);
        if (has_key)
            fix_key_record(cert, key_set_flag);
        if (add_and_print(my, cert, has_key) != 0)
            rc = 1;
        else
            count++;
    }
    /* The registry-backed store is written when it is closed. */
    if (!CertCloseStore(my, 0))
        rc = 1;
    CertCloseStore(imported, 0);
    return count > 0 ? rc : 1;
}
