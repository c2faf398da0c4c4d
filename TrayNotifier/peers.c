/*
 * peers.c - who is at the other end of each connection to the tray's pipe.
 *
 * The pipe tells the process id and the user SID of a client (PipesLib reads
 * them when the client connects). A connection is the service's when its
 * process is the one the Service Control Manager runs as PipesService (the
 * rule pipes-notify applies to the submit pipe, docs/SECURITY.md): only then
 * is the "sender" in its notifications trusted. Any other connection is a
 * local program talking to the tray directly, and its notifications are
 * shown with that program's own identity, whatever they claim
 * (docs/PROTOCOL.md section 2, "sender").
 *
 * GUI thread only (events arrive through PostMessageW).
 */
#include "app.h"

#include <sddl.h>
#include <winsvc.h>

#include <stdlib.h>
#include <string.h>

#define SERVICE_NAME L"PipesService"

/* The process id of PipesService's process, or 0 when it has none: in
 * any state but STOPPED, not only RUNNING. A service of an earlier version
 * connected to the trays while it still reported START_PENDING (this one
 * reports RUNNING first), and a tray judges a connection once, when it
 * comes; the SCM names the process from the moment it starts it and holds
 * a handle to it, so its id is not reused while it is reported. */
static DWORD service_pid(void)
{
    SERVICE_STATUS_PROCESS ssp;
    DWORD need = 0, pid = 0;
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc = scm ? OpenServiceW(scm, SERVICE_NAME, SERVICE_QUERY_STATUS) : NULL;
    if (svc && QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (BYTE *)&ssp, sizeof(ssp), &need) &&
        ssp.dwCurrentState != SERVICE_STOPPED) {
        pid = ssp.dwProcessId;
    }
    if (svc) {
        CloseServiceHandle(svc);
    }
    if (scm) {
        CloseServiceHandle(scm);
    }
    return pid;
}

int peers_account_of_sid(const wchar_t *sid, char *out, size_t cap)
{
    PSID psid = NULL;
    wchar_t name[128], domain[128], both[260];
    DWORD nlen = ARRAYSIZE(name), dlen = ARRAYSIZE(domain);
    SID_NAME_USE use;
    int ok = 0;
    if (cap > 0) {
        out[0] = '\0';
    }
    if (!sid || !sid[0] || !ConvertStringSidToSidW(sid, &psid)) {
        return 0;
    }
    if (LookupAccountSidW(NULL, psid, name, &nlen, domain, &dlen, &use)) {
        swprintf(both, ARRAYSIZE(both), domain[0] ? L"%ls\\%ls" : L"%ls%ls", domain, name);
        ok = WideCharToMultiByte(CP_UTF8, 0, both, -1, out, (int)cap, NULL, NULL) > 0;
        if (!ok && cap > 0) {
            out[0] = '\0';
        }
    }
    LocalFree(psid);
    return ok;
}

void peers_sender_of_sid(const wchar_t *sid, pipes_proto_sender *out)
{
    char account[PIPES_PROTO_MAX_ACCOUNT + 1], narrow[PIPES_PROTO_MAX_SID + 1];
    pipes_proto_sender_kind kind = PIPES_PROTO_SENDER_USER;
    memset(out, 0, sizeof(*out));
    if (!sid || !sid[0] || WideCharToMultiByte(CP_UTF8, 0, sid, -1, narrow, (int)sizeof(narrow), NULL, NULL) <= 0) {
        return;
    }
    /* LocalSystem, LocalService, NetworkService; NT SERVICE\<name>. */
    if (!strcmp(narrow, "S-1-5-18") || !strcmp(narrow, "S-1-5-19") || !strcmp(narrow, "S-1-5-20")) {
        kind = PIPES_PROTO_SENDER_SYSTEM;
    } else if (!strncmp(narrow, "S-1-5-80-", 9)) {
        kind = PIPES_PROTO_SENDER_SERVICE;
    }
    peers_account_of_sid(sid, account, sizeof(account));
    if (pipes_proto_sender_set(out, kind, account, narrow, NULL) != PIPES_PROTO_OK) {
        memset(out, 0, sizeof(*out)); /* not a SID we can name: no sender */
    }
}

static tray_peer *find_peer(const tray_app *app, uint64_t connection)
{
    size_t i;
    for (i = 0; i < app->peer_count; ++i) {
        if (app->peers[i].connection == connection) {
            return &app->peers[i];
        }
    }
    return NULL;
}

void peers_on_connected(tray_app *app, const pipes_event *ev)
{
    tray_peer *p;
    DWORD pid = ev->peer ? ev->peer->process_id : 0;
    DWORD svc;
    if (app->peer_count == app->peer_cap) {
        size_t cap = app->peer_cap ? 2 * app->peer_cap : 8;
        tray_peer *bigger = (tray_peer *)realloc(app->peers, cap * sizeof(*bigger));
        if (!bigger) {
            app_log(app, "peer table full: connection %llu treated as unknown",
                    (unsigned long long)ev->connection_id);
            return;
        }
        app->peers = bigger;
        app->peer_cap = cap;
    }
    p = &app->peers[app->peer_count++];
    memset(p, 0, sizeof(*p));
    p->connection = ev->connection_id;
    p->process_id = pid;
    svc = service_pid();
    p->is_service = pid != 0 && (pid == svc || pid == app->test_service_pid);
    app_log(app, "peer %llu pid=%u %s", (unsigned long long)p->connection, (unsigned)pid,
            p->is_service ? "service" : "direct");
}

const tray_peer *peers_identify(tray_app *app, const pipes_event *ev)
{
    pipes_peer_identity who;
    tray_peer *p = find_peer(app, ev->connection_id);
    if (!p || p->identified) {
        return p;
    }
    p->identified = 1;
    memset(&who, 0, sizeof(who));
    if (pipes_server_get_peer(ev->server, ev->connection_id, &who) != PIPES_OK) {
        who.user_sid[0] = L'\0'; /* gone, or unreadable: no sender */
    }
    peers_sender_of_sid(who.user_sid, &p->sender);
    app_log(app, "peer %llu account=%s sid=%s", (unsigned long long)p->connection,
            p->sender.account[0] ? p->sender.account : "?", p->sender.sid[0] ? p->sender.sid : "?");
    return p;
}

void peers_on_disconnected(tray_app *app, uint64_t connection)
{
    size_t i;
    for (i = 0; i < app->peer_count; ++i) {
        if (app->peers[i].connection == connection) {
            app->peers[i] = app->peers[--app->peer_count];
            return;
        }
    }
}

const tray_peer *peers_find(const tray_app *app, uint64_t connection)
{
    return find_peer(app, connection);
}

uint64_t peers_service_connection(const tray_app *app)
{
    uint64_t newest = 0;
    size_t i;
    for (i = 0; i < app->peer_count; ++i) {
        if (app->peers[i].is_service && app->peers[i].connection > newest) {
            newest = app->peers[i].connection;
        }
    }
    return newest;
}

void peers_clear(tray_app *app)
{
    free(app->peers);
    app->peers = NULL;
    app->peer_count = app->peer_cap = 0;
}

void peers_identify_self(tray_app *app)
{
    HANDLE token = NULL;
    BYTE buf[256];
    DWORD len = 0;
    wchar_t *sid = NULL;
    DWORD session = 0;
    ProcessIdToSessionId(GetCurrentProcessId(), &session);
    app->session_id = session;
    app->user_account[0] = '\0';
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
        if (GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len) &&
            ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &sid)) {
            peers_account_of_sid(sid, app->user_account, sizeof(app->user_account));
            LocalFree(sid);
        }
        CloseHandle(token);
    }
}
