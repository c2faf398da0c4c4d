/*
 * mqtt_url.c - the broker URL of the configuration: mqtts://host[:port], or
 * mqtt://host[:port] only when plain text is explicitly allowed.
 */
#include "mqtt_net.h"

#include <wchar.h>

static int prefix(const wchar_t *s, const wchar_t *p)
{
    return _wcsnicmp(s, p, wcslen(p)) == 0;
}

mqtt_status mqtt_url_parse(const wchar_t *url, int allow_plain, mqtt_endpoint *ep)
{
    if (url == NULL || ep == NULL)
        return MQTT_E_ARG;
    ZeroMemory(ep, sizeof *ep);
    const wchar_t *p;
    if (prefix(url, L"mqtts://")) {
        ep->tls = 1;
        ep->port = 8883;
        p = url + 8;
    } else if (prefix(url, L"mqtt://")) {
        ep->port = 1883;
        p = url + 7;
    } else {
        return MQTT_E_URL;
    }

    const wchar_t *host = p, *host_end;
    if (*p == L'[') { /* IPv6 literal */
        host = ++p;
        while (*p && *p != L']')
            p++;
        if (*p != L']')
            return MQTT_E_URL;
        host_end = p++;
    } else {
        while (*p && *p != L':' && *p != L'/')
            p++;
        host_end = p;
    }
    size_t n = (size_t)(host_end - host);
    if (n == 0 || n >= MQTT_HOST_MAX)
        return MQTT_E_URL;
    for (const wchar_t *h = host; h < host_end; h++) {
        if (*h <= L' ' || *h == L'@' || *h == L'/' || *h == L'?' || *h == L'#' || *h == L'\\')
            return MQTT_E_URL;
    }
    wmemcpy(ep->host, host, n);
    ep->host[n] = L'\0';

    if (*p == L':') {
        unsigned long port = 0;
        int digits = 0;
        for (p++; *p >= L'0' && *p <= L'9' && digits < 6; p++, digits++)
            port = port * 10 + (unsigned long)(*p - L'0');
        if (digits == 0 || port == 0 || port > 65535)
            return MQTT_E_URL;
        ep->port = (uint16_t)port;
    }
    if (*p == L'/')
        p++; /* a bare trailing slash is harmless */
    if (*p != L'\0')
        return MQTT_E_URL;
    if (!ep->tls && !allow_plain)
        return MQTT_E_PLAIN_NOT_ALLOWED;
    return MQTT_OK;
}
