/*
 * mqtt_probe.c - a small MQTT client program built on the session module
 * (PipesService/mqtt), for the broker suite run_mqtt_tests.sh, which runs it
 * under Wine against a real mosquitto and checks it with mosquitto_pub and
 * mosquitto_sub.
 *
 *   mqtt-probe connect --url U [options]          first attempt's outcome; exit 0 connected, 3 not
 *   mqtt-probe listen  --url U --topic F... [--expect N] [--not-yet K] [--out FILE] [options]
 *       subscribe, record each delivery in FILE ("topic<TAB>dup<TAB>payload"), acknowledge it
 *       (after "storing" it: the line is flushed first), and count payloads seen before as
 *       duplicates (the service dedupes by notification id the same way). The first K deliveries
 *       answer "not yet". Ends when N distinct payloads arrived (N = 0: when every filter is
 *       subscribed); exit 0, or 1 at the timeout.
 *   mqtt-probe publish --url U --topic T --count N [options]   N QoS 1 publishes "msg-<i>"; waits
 *       for every PUBACK; exit 0, or 1 at the timeout.
 *   mqtt-probe trust CAFILE    adds the certificate to the machine's Root store (the Wine prefix's
 *       HKLM), for the "Windows store" TLS check.
 * options: --client-id ID --user U --pass P --ca FILE --allow-plain --keep-alive S
 *          --max-packet N --backoff-max MS --timeout S (default 30)
 *          --delay-ms MS (listen: time each "store" takes, like a spool write)
 *          --stop-after-disconnects N (listen: the Nth lost connection or failed attempt ends the run)
 *          --max-inflight N (publish window)
 *          --threads T (publish: T threads publish the COUNT messages while the session runs,
 *              each also subscribing and unsubscribing a filter of its own around every publish)
 *          --add-topic F (listen: subscribed from the main thread once the first filters are)
 *          --remove-topic-after N (listen: the delivery callback unsubscribes the --add-topic
 *              filter when N distinct messages have arrived)
 * Every event is printed as one "event ..." line; "stats ..." and "figures ..." lines end the run
 * (figures: first to last new delivery in ms, peak commit of the process in KiB).
 */
#include <windows.h>
#include <psapi.h>
#include <wincrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "mqtt_session.h"

#define MAX_TOPICS 8
#define MAX_SEEN 65536

typedef struct probe {
    SRWLOCK lock;
    HANDLE done;      /* set when the verb's goal is reached */
    int verb_connect; /* connect: the first CONNECTED or DISCONNECTED ends the run */
    mqtt_status first_status;
    int first_seen;
    unsigned expect, not_yet_left, topics, subscribed;
    unsigned published, publish_goal;
    FILE *out;
    char *seen[MAX_SEEN];
    unsigned nseen, dups;
    ULONGLONG first_ms, last_ms; /* first delivery, last new payload (GetTickCount64) */
    unsigned delay_ms;
    unsigned stop_after, disconnects;
    HANDLE initial_subscribed;   /* set when the --topic filters are subscribed */
    mqtt_session *session;       /* for the callback's unsubscribe */
    const char *add_topic;
    unsigned remove_after;
} probe;

static char *utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    char *s = (char *)malloc(n > 0 ? (size_t)n : 1);
    if (s != NULL)
        WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n > 0 ? n : 1, NULL, NULL);
    return s;
}

static const char *event_name(mqtt_event_kind k)
{
    static const char *names[] = {"connected", "disconnected", "subscribed",
                                  "unsubscribed", "published", "rejected", "lost"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void on_event(void *ctx, const mqtt_event *ev)
{
    probe *p = (probe *)ctx;
    if (ev->kind != MQTT_EV_PUBLISHED) {
        printf("event %s status=%s filter=%s sp=%u qos=%u detail=%s\n", event_name(ev->kind),
               mqtt_status_name(ev->status), ev->filter, ev->session_present, ev->granted_qos,
               ev->detail);
        fflush(stdout);
    }
    AcquireSRWLockExclusive(&p->lock);
    if (p->verb_connect && !p->first_seen &&
        (ev->kind == MQTT_EV_CONNECTED || ev->kind == MQTT_EV_DISCONNECTED)) {
        p->first_seen = 1;
        p->first_status = ev->kind == MQTT_EV_CONNECTED ? MQTT_OK : ev->status;
        SetEvent(p->done);
    }
    if (ev->kind == MQTT_EV_DISCONNECTED && p->stop_after != 0 && ++p->disconnects >= p->stop_after)
        SetEvent(p->done);
    if (ev->kind == MQTT_EV_SUBSCRIBED && ev->status == MQTT_OK && ++p->subscribed >= p->topics) {
        SetEvent(p->initial_subscribed);
        if (p->expect == 0 && p->publish_goal == 0)
            SetEvent(p->done);
    }
    if (ev->kind == MQTT_EV_PUBLISHED && ++p->published >= p->publish_goal)
        SetEvent(p->done);
    ReleaseSRWLockExclusive(&p->lock);
}

static mqtt_delivery deliver(void *ctx, const mqtt_message *m)
{
    probe *p = (probe *)ctx;
    mqtt_delivery d = MQTT_DELIVERY_STORED;
    if (p->delay_ms != 0)
        Sleep(p->delay_ms); /* simulated work of a durable store, not synchronisation */
    AcquireSRWLockExclusive(&p->lock);
    if (p->not_yet_left > 0) {
        p->not_yet_left--;
        d = MQTT_DELIVERY_NOT_YET;
    }
    char *text = (char *)malloc(m->payload_len + 1);
    if (text != NULL) {
        memcpy(text, m->payload, m->payload_len);
        text[m->payload_len] = '\0';
        for (size_t i = 0; i < m->payload_len; i++) {
            if (text[i] == '\n' || text[i] == '\t' || text[i] == '\0')
                text[i] = ' ';
        }
    }
    if (p->out != NULL && text != NULL) {
        fprintf(p->out, "%s\t%u\t%s\t%s\n", m->topic, m->dup, text,
                d == MQTT_DELIVERY_NOT_YET ? "not-yet" : "stored");
        fflush(p->out);
    }
    if (d == MQTT_DELIVERY_STORED && text != NULL) {
        int known = 0;
        for (unsigned i = 0; i < p->nseen && !known; i++)
            known = strcmp(p->seen[i], text) == 0;
        if (p->first_ms == 0)
            p->first_ms = GetTickCount64();
        if (known) {
            p->dups++;
        } else if (p->nseen < MAX_SEEN) {
            p->seen[p->nseen++] = text;
            text = NULL;
            p->last_ms = GetTickCount64();
        }
        if (p->add_topic != NULL && p->remove_after != 0 && p->nseen == p->remove_after)
            mqtt_session_unsubscribe(p->session, p->add_topic); /* from a callback: allowed */
        if (p->expect != 0 && p->nseen >= p->expect)
            SetEvent(p->done);
    }
    ReleaseSRWLockExclusive(&p->lock);
    free(text);
    return d;
}

/* Adds the certificate(s) of a PEM/DER file to HKLM Root, as an administrator would with
 * certlm.msc or certutil -addstore Root. */
static int trust(const wchar_t *path)
{
    HCERTSTORE root = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                    CERT_SYSTEM_STORE_LOCAL_MACHINE, L"Root");
    HANDLE f = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    static char pem[65536];
    DWORD got = 0;
    int ok = root != NULL && f != INVALID_HANDLE_VALUE && ReadFile(f, pem, sizeof pem - 1, &got, NULL);
    if (f != INVALID_HANDLE_VALUE)
        CloseHandle(f);
    BYTE der[16384];
    DWORD der_len = sizeof der;
    ok = ok && CryptStringToBinaryA(pem, got, CRYPT_STRING_BASE64HEADER, der, &der_len, NULL, NULL);
    ok = ok && CertAddEncodedCertificateToStore(root, X509_ASN_ENCODING, der, der_len,
                                                CERT_STORE_ADD_REPLACE_EXISTING, NULL);
    printf("trust: %s (error %lu)\n", ok ? "added to LocalMachine Root" : "FAILED", GetLastError());
    if (root != NULL)
        CertCloseStore(root, 0);
    return ok ? 0 : 3;
}

typedef struct worker {
    probe *p;
    const char *topic;
    unsigned first, count; /* publishes msg-<first> .. msg-<first+count-1> */
    int failed;
} worker;

/* Publishes its share while the session runs, and subscribes and unsubscribes a filter of its
 * own around each publish: API calls from several threads at once, against the session thread. */
static DWORD WINAPI worker_main(void *arg)
{
    worker *w = (worker *)arg;
    char filter[64], msg[64];
    snprintf(filter, sizeof filter, "pipes/v1/probe/worker-%u", w->first);
    for (unsigned i = 0; i < w->count && !w->failed; i++) {
        snprintf(msg, sizeof msg, "msg-%u", w->first + i);
        w->failed = mqtt_session_subscribe(w->p->session, filter) != MQTT_OK ||
                    mqtt_session_publish(w->p->session, w->topic, msg, strlen(msg), 0, NULL) != MQTT_OK ||
                    mqtt_session_unsubscribe(w->p->session, filter) != MQTT_OK;
        mqtt_session_stats st;
        mqtt_session_get_stats(w->p->session, &st);
    }
    return 0;
}

static int publish_from_threads(probe *p, const char *topic, unsigned count, unsigned threads)
{
    enum { MAX_THREADS = 16 };
    worker w[MAX_THREADS];
    HANDLE h[MAX_THREADS];
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    p->publish_goal = count;
    unsigned next = 1, n = 0;
    for (unsigned i = 0; i < threads; i++) {
        w[i].p = p;
        w[i].topic = topic;
        w[i].first = next;
        w[i].count = count / threads + (i < count % threads ? 1 : 0);
        w[i].failed = 0;
        next += w[i].count;
        h[i] = CreateThread(NULL, 0, worker_main, &w[i], 0, NULL);
        if (h[i] != NULL)
            n++;
    }
    WaitForMultipleObjects(n, h, TRUE, INFINITE);
    int ok = n == threads;
    for (unsigned i = 0; i < n; i++) {
        CloseHandle(h[i]);
        ok = ok && !w[i].failed;
    }
    if (!ok)
        printf("result: publishing from %u threads failed\n", threads);
    return ok;
}

static int usage(void)
{
    fprintf(stderr, "usage: mqtt-probe connect|listen|publish --url URL [options] (see mqtt_probe.c)\n");
    return 2;
}

int wmain(int argc, wchar_t **argv)
{
    if (argc < 2)
        return usage();
    const wchar_t *verb = argv[1];
    if (wcscmp(verb, L"trust") == 0)
        return argc == 3 ? trust(argv[2]) : usage();
    probe p;
    memset(&p, 0, sizeof p);
    InitializeSRWLock(&p.lock);
    p.done = CreateEventW(NULL, TRUE, FALSE, NULL);
    p.initial_subscribed = CreateEventW(NULL, TRUE, FALSE, NULL);
    mqtt_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.client_id = "pipes-probe";
    cfg.deliver = deliver;
    cfg.on_event = on_event;
    cfg.ctx = &p;
    cfg.connect_timeout_ms = 5000;
    cfg.backoff_min_ms = 200;
    cfg.backoff_max_ms = 2000;
    cfg.not_yet_retry_ms = 1000;
    char *topics[MAX_TOPICS];
    unsigned timeout_s = 30, count = 0, threads = 0;
    const wchar_t *out_path = NULL;

    for (int i = 2; i < argc; i++) {
        const wchar_t *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (wcscmp(a, L"--allow-plain") == 0) {
            cfg.allow_plain = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        if (wcscmp(a, L"--url") == 0)
            cfg.url = v;
        else if (wcscmp(a, L"--client-id") == 0)
            cfg.client_id = utf8(v);
        else if (wcscmp(a, L"--user") == 0)
            cfg.user_name = utf8(v);
        else if (wcscmp(a, L"--pass") == 0) {
            cfg.password = utf8(v);
            cfg.password_len = strlen((const char *)cfg.password);
        } else if (wcscmp(a, L"--ca") == 0)
            cfg.ca_file = v;
        else if (wcscmp(a, L"--keep-alive") == 0)
            cfg.keep_alive_s = (uint16_t)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--max-packet") == 0)
            cfg.max_packet = (uint32_t)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--backoff-max") == 0)
            cfg.backoff_max_ms = (uint32_t)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--timeout") == 0)
            timeout_s = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--topic") == 0 && p.topics < MAX_TOPICS)
            topics[p.topics++] = utf8(v);
        else if (wcscmp(a, L"--expect") == 0)
            p.expect = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--not-yet") == 0)
            p.not_yet_left = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--count") == 0)
            count = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--stop-after-disconnects") == 0)
            p.stop_after = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--threads") == 0)
            threads = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--max-inflight") == 0)
            cfg.max_inflight = (uint32_t)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--add-topic") == 0)
            p.add_topic = utf8(v);
        else if (wcscmp(a, L"--remove-topic-after") == 0)
            p.remove_after = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--delay-ms") == 0)
            p.delay_ms = (unsigned)wcstoul(v, NULL, 10);
        else if (wcscmp(a, L"--out") == 0)
            out_path = v;
        else
            return usage();
    }
    int is_connect = wcscmp(verb, L"connect") == 0, is_listen = wcscmp(verb, L"listen") == 0,
        is_publish = wcscmp(verb, L"publish") == 0;
    if (!is_connect && !is_listen && !is_publish)
        return usage();
    p.verb_connect = is_connect;
    if (out_path != NULL && (p.out = _wfopen(out_path, L"ab")) == NULL) {
        fprintf(stderr, "mqtt-probe: cannot open %ls\n", out_path);
        return 2;
    }

    mqtt_session *s = NULL;
    mqtt_status st = mqtt_session_create(&cfg, &s);
    if (st != MQTT_OK) {
        printf("result: %s: %s\n", mqtt_status_name(st), mqtt_status_text(st));
        return 3;
    }
    if (is_listen) {
        for (unsigned i = 0; i < p.topics; i++) {
            st = mqtt_session_subscribe(s, topics[i]);
            if (st != MQTT_OK) {
                printf("result: subscribe %s: %s\n", topics[i], mqtt_status_name(st));
                return 3;
            }
        }
    }
    p.session = s;
    const char *pub_topic = p.topics ? topics[0] : "pipes/v1/status/probe";
    if (is_publish && threads == 0) {
        p.publish_goal = count;
        for (unsigned i = 0; i < count; i++) {
            char msg[64];
            snprintf(msg, sizeof msg, "msg-%u", i + 1);
            st = mqtt_session_publish(s, pub_topic, msg, strlen(msg), 0, NULL);
            if (st != MQTT_OK) {
                printf("result: publish: %s\n", mqtt_status_name(st));
                return 3;
            }
        }
    }
    mqtt_session_start(s);
    if (is_publish && threads != 0 && !publish_from_threads(&p, pub_topic, count, threads))
        return 3;
    DWORD limit = GetTickCount() + timeout_s * 1000u;
    if (is_listen && p.add_topic != NULL) {
        /* Subscribing from another thread while connected, as logons will. */
        HANDLE first[2] = {p.initial_subscribed, p.done};
        if (WaitForMultipleObjects(2, first, FALSE, timeout_s * 1000u) == WAIT_OBJECT_0) {
            st = mqtt_session_subscribe(s, p.add_topic);
            printf("add-topic %s: %s\n", p.add_topic, mqtt_status_name(st));
            fflush(stdout);
        }
    }
    DWORD left = (LONG)(limit - GetTickCount()) > 0 ? limit - GetTickCount() : 0;
    int reached = WaitForSingleObject(p.done, left) == WAIT_OBJECT_0;
    mqtt_session_stop(s);

    mqtt_session_stats stats;
    mqtt_session_get_stats(s, &stats);
    printf("stats state=%s connects=%llu failures=%llu received=%llu acknowledged=%llu "
           "rejected=%llu not_yet=%llu lost=%llu published=%llu inflight=%u queued=%u unique=%u "
           "dups=%u\n",
           mqtt_state_name(stats.state), (unsigned long long)stats.connects,
           (unsigned long long)stats.connection_failures, (unsigned long long)stats.received,
           (unsigned long long)stats.acknowledged, (unsigned long long)stats.rejected,
           (unsigned long long)stats.not_yet, (unsigned long long)stats.lost,
           (unsigned long long)stats.published, stats.inflight,
           stats.queued, p.nseen, p.dups);
    printf("last_error %s: %s\n", mqtt_status_name(stats.last_error), stats.last_error_text);
    PROCESS_MEMORY_COUNTERS pmc;
    memset(&pmc, 0, sizeof pmc);
    GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc);
    printf("figures first_to_last_ms=%llu peak_commit_kb=%llu\n",
           (unsigned long long)(p.last_ms - p.first_ms),
           (unsigned long long)(pmc.PeakPagefileUsage / 1024));
    mqtt_session_destroy(s);
    if (p.out != NULL)
        fclose(p.out);
    if (is_connect) {
        if (!p.first_seen)
            printf("result: no outcome within %u s\n", timeout_s);
        else
            printf("result: %s\n", mqtt_status_name(p.first_status));
        return p.first_seen && p.first_status == MQTT_OK ? 0 : 3;
    }
    printf("result: %s\n", reached ? "done" : "timeout");
    fflush(stdout);
    return reached ? 0 : 1;
}
