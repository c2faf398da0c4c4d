/*
 * svc.h - PipesService internals shared between its modules.
 *
 * Modules (one concern each):
 *   svcmain.c  entry point, verb dispatch, SCM glue (ServiceMain, handler)
 *   verbs.c    install / uninstall / configure / start / stop / status
 *   core.c     the engine shared by the service and `run`: start, main loop, stop
 *   config.c   HKLM\SOFTWARE\Pipes\Service
 *   eventlog.c Event Log source + bounded text log file
 *   spool.c    durable notification store (%ProgramData%\Pipes\spool);
 *              spoolfile.c its files, spoolindex.c its memory (spoolint.h)
 *   submit.c   the submit pipe \\.\pipe\Pipes.Service
 *   identity.c who a submitter is (from the pipe's token)
 *   policy.c   who may notify whom, ttl caps
 *   conns.c    the submit pipe's connections: caps per process, session
 *              and submitter, idle timeouts
 *   ratelimit.c per-submitter token buckets
 *   delivery.c per-session tray clients, ack tracking
 *   sessions.c WTS session discovery
 *   control.c  the admin status pipe \\.\pipe\Pipes.Service.Control
 *   fleetconfig.c the broker settings (Broker* values), the DPAPI password
 *   fleet.c    the MQTT broker bridge (docs/FLEET.md)
 *   util.c     UTF-8/UTF-16, time, Win32 error text
 *   safedir.c  trusted data folders and checked file handles (safedir.h)
 */
#ifndef PIPES_SVC_H
#define PIPES_SVC_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "pipes.h"
#include "pipes_protocol.h"
#include "safedir.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SVC_NAME L"PipesService"
#define SVC_DISPLAY_NAME L"Pipes Notification Service"
#define SVC_DESCRIPTION                                                                          \
    L"Relays notifications submitted by local programs, scheduled tasks and services to the "   \
    L"desktop of every logged-on user (TrayNotifier), durably."
#define SVC_CONTROL_PIPE L"\\\\.\\pipe\\Pipes.Service.Control"
#define SVC_CONFIG_KEY L"SOFTWARE\\Pipes\\Service"
#define SVC_EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\PipesService"

/* Exit codes of PipesService.exe verbs (docs/SERVICE.md). */
enum {
    SVC_EXIT_OK = 0,
    SVC_EXIT_FAILED = 1,
    SVC_EXIT_USAGE = 2,
    SVC_EXIT_ACCESS_DENIED = 3,
    SVC_EXIT_NOT_INSTALLED = 4,
    SVC_EXIT_ALREADY_INSTALLED = 5,
    SVC_EXIT_NOT_RUNNING = 6,
    SVC_EXIT_TIMEOUT = 7,
    /* 8 is not used any more: a submit pipe name held by another process is
     * waited out (core.c), not an exit. */
    SVC_EXIT_DATA_DIR_UNSAFE = 9 /* a data folder failed its checks (safedir.h); nothing touched */
};

/* ---- util.c ------------------------------------------------------------- */

int64_t svc_now_ms(void); /* Unix epoch milliseconds (UTC) */
/* UTF-16 -> UTF-8 into out (cap bytes, NUL-terminated); returns bytes or -1. */
int svc_to_utf8(const wchar_t *in, char *out, size_t cap);
/* UTF-8 (len bytes) -> UTF-16 into out (cap chars, NUL-terminated); returns chars or -1. */
int svc_to_wide(const char *in, size_t len, wchar_t *out, size_t cap);
/* The data folders' DACL, inherited by their files: SYSTEM, Administrators
 * and the service's SID. The service creates folders with it (owner: its
 * own account); the verbs create or lock them with owner Administrators
 * (SVC_DATA_DIR_LOCK_SDDL). */
#define SVC_DATA_DIR_SDDL                                                                        \
    L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" PIPES_PROTO_SERVICE_SID_W L")"
#define SVC_DATA_DIR_LOCK_SDDL L"O:BA" SVC_DATA_DIR_SDDL
/* Text of a Win32 error, without the trailing newline. */
void svc_win32_text(DWORD error, wchar_t *out, size_t cap);

/* ---- config.c ----------------------------------------------------------- */

#define SVC_MAX_SDDL 1024
#define SVC_MAX_RATE_OVERRIDES 64

/* One value of the RateLimits subkey: the limits of one account. */
typedef struct svc_rate_override {
    char sid[PIPES_PROTO_MAX_SID + 1];
    uint32_t per_minute, burst;
} svc_rate_override;

/* The broker settings (Broker* values of the same key, fleetconfig.c,
 * docs/FLEET.md). Off while BrokerUrl is absent. */
typedef struct svc_fleet_config {
    int enabled;                  /* BrokerUrl is set */
    wchar_t url[512];             /* BrokerUrl: mqtts://host[:port] (mqtt:// needs allow_plain) */
    uint32_t allow_plain;         /* BrokerAllowPlainText */
    char client_id[128];          /* BrokerClientId (UTF-8), default pipes-<computer> */
    char user_name[256];          /* BrokerUserName (UTF-8), "" = none */
    uint8_t password_blob[1024];  /* BrokerPassword: DPAPI machine-scope blob, as stored */
    uint32_t password_blob_len;   /* 0 = no password */
    wchar_t ca_file[MAX_PATH];    /* BrokerCaFile; "" = the machine's trusted roots */
    uint8_t client_cert[20];      /* BrokerClientCertificate: SHA-1 thumbprint of a certificate
                                     of LocalMachine\My offered to the broker */
    int has_client_cert;          /* 0 = no client certificate */
    char prefix[128];             /* BrokerTopicPrefix (UTF-8), default pipes/v1 */
    uint32_t keep_alive;          /* BrokerKeepAliveSeconds */
    char computer[64];            /* the computer name in lower case, as in topics */
} svc_fleet_config;

typedef struct svc_config {
    uint32_t max_spool_count;    /* MaxSpoolCount */
    uint32_t max_spool_mb;       /* MaxSpoolMB */
    uint32_t default_ttl;        /* DefaultTtlSeconds */
    uint32_t rate_per_minute;    /* RateLimitPerMinute (0 = no limit) */
    uint32_t rate_burst;         /* RateLimitBurst */
    uint32_t log_max_kb;         /* LogMaxKB */
    uint32_t standard_user_reach;   /* StandardUserReach: 0 own sessions, 1 anyone */
    uint32_t user_spool_count;      /* MaxSpoolCountPerUser */
    uint32_t user_spool_mb;         /* MaxSpoolMBPerUser */
    uint32_t user_max_ttl;          /* MaxUserTtlSeconds */
    uint32_t absent_session_ttl;    /* AbsentSessionTtlSeconds */
    uint32_t max_connections;       /* MaxConnections */
    uint32_t conns_per_process;     /* MaxConnectionsPerProcess */
    uint32_t conns_per_session;     /* MaxConnectionsPerSession */
    uint32_t conns_per_user;        /* MaxConnectionsPerUser */
    uint32_t first_message_timeout; /* FirstMessageTimeoutSeconds */
    uint32_t idle_timeout;          /* IdleTimeoutSeconds */
    size_t rate_override_n;         /* RateLimits subkey */
    svc_rate_override rate_overrides[SVC_MAX_RATE_OVERRIDES];
    wchar_t submit_sddl[SVC_MAX_SDDL]; /* SubmitSddl */
    wchar_t data_dir[MAX_PATH];  /* DataDirectory, default %ProgramData%\Pipes */
    wchar_t spool_dir[MAX_PATH]; /* <data_dir>\spool */
    wchar_t log_dir[MAX_PATH];   /* <data_dir>\logs */
    wchar_t submit_pipe[PIPES_MAX_PIPE_NAME]; /* SubmitPipe, default \\.\pipe\Pipes.Service */
    int has_session_override;    /* RequiredServerSessionOverride present (test hook) */
    uint32_t session_override;
    /* Tests only, never read from the registry: when not "", every tray
     * must run as this SID instead of its session's user (a squatter). */
    char tray_user_override[PIPES_PROTO_MAX_SID + 1];
    svc_fleet_config fleet;      /* Broker* values (fleetconfig.c) */
} svc_config;

/* Default SDDL of the submit pipe: the service's SID (it creates every
 * instance) and Administrators (`PipesService run`) full control;
 * Authenticated Users (LocalSystem and services included) read/write data
 * and attributes, but not FILE_CREATE_PIPE_INSTANCE (0x4), so no user can
 * add a server instance. */
#define SVC_DEFAULT_SUBMIT_SDDL                                                                  \
    L"D:P(A;;FA;;;" PIPES_PROTO_SERVICE_SID_W L")(A;;FA;;;BA)(A;;0x0012019b;;;AU)"

/* Fills *cfg with defaults, then reads the registry. Invalid values are
 * replaced by their default and remembered for svc_config_report. */
void svc_config_load(svc_config *cfg);
/* Logs (svc_event) the invalid values the last load found. */
void svc_config_report(void);
void svc_config_defaults(svc_config *cfg);
/* The rate limits of an account: its RateLimits value, else the defaults. */
void svc_config_rate(const svc_config *cfg, const char *sid, uint32_t *per_minute,
                     uint32_t *burst);
/* For fleetconfig.c: remembers an invalid value for svc_config_report, and
 * reads a REG_SZ / REG_EXPAND_SZ (1 present, 0 absent, -1 unusable). */
void svc_config_invalid(const wchar_t *name, const wchar_t *why, const wchar_t *def);
int svc_config_read_string(HKEY key, const wchar_t *name, wchar_t *out, size_t cap);

/* ---- fleetconfig.c -------------------------------------------------------- */

void svc_fleet_defaults(svc_fleet_config *f);
/* Reads the Broker* values of the open configuration key into f (after
 * svc_fleet_defaults); invalid ones are reported and left at their default,
 * and an invalid BrokerUrl leaves the bridge off. */
void svc_fleet_load(HKEY key, svc_fleet_config *f);
/* A SHA-1 thumbprint as certlm.msc shows it: 40 hex digits, either case,
 * spaces anywhere ("a1 b2 ..." or "A1B2..."). 1 and sha1 filled, or 0. */
int svc_fleet_parse_thumbprint(const wchar_t *text, uint8_t sha1[20]);
/* DPAPI with machine scope (CRYPTPROTECT_LOCAL_MACHINE) and the service's
 * own entropy: any process of this machine can decrypt it, nothing outside
 * this machine can. protect: *blob is LocalAlloc'd (LocalFree it).
 * unprotect: the clear bytes into out (cap), *len their count. Both return
 * a Win32 error. */
DWORD svc_fleet_protect(const void *clear, size_t len, BYTE **blob, DWORD *blob_len);
DWORD svc_fleet_unprotect(const BYTE *blob, DWORD blob_len, char *out, size_t cap, size_t *len);
/* `PipesService fleet-password`: reads one line from standard input and
 * stores it protected as BrokerPassword (an empty line removes it). */
int verb_fleet_password(void);

/* ---- eventlog.c --------------------------------------------------------- */

/* Opens the Event Log source and, when log_dir is not NULL, the text log
 * <log_dir>\PipesService.log (rotated to .1 above max_bytes). log_dir is
 * the caller's, open until svc_log_close. echo: also print to stderr.
 * Before init, events go to stderr only. */
void svc_log_init(const safedir *log_dir, uint32_t max_bytes, int echo);
void svc_log_close(void);
/* One event: type is EVENTLOG_{INFORMATION,WARNING,ERROR}_TYPE, id a message
 * of messages.mc, a1..a3 its inserts (NULL when unused). */
void svc_event(WORD type, DWORD id, const wchar_t *a1, const wchar_t *a2, const wchar_t *a3);
/* Registers / removes the Event Log source (HKLM). Returns a Win32 error. */
DWORD svc_eventlog_register(const wchar_t *exe_path);
DWORD svc_eventlog_unregister(void);

/* ---- spool.c (spoolfile.c, spoolindex.c; spoolint.h) ---------------------- */

typedef struct spool spool;

/* Bounds (docs/SERVICE.md "Spool bounds"): the records held, and their
 * tray-message bytes, stay within max_count and max_bytes. Only records no
 * tray has taken yet (pending) can make spool_add answer SPOOL_FULL;
 * delivered ones are evicted, the earliest delivered first, to make room. */
typedef struct spool_limits {
    uint32_t max_count;
    uint64_t max_bytes;
    uint32_t default_ttl;
} spool_limits;

typedef enum spool_result {
    SPOOL_OK = 0,
    SPOOL_DUPLICATE = 1, /* this submitter's id is already held: nothing written, accept again */
    SPOOL_FULL = 2,      /* the pending records alone reach a bound */
    SPOOL_IO_ERROR = 3,
    SPOOL_NOT_FOUND = 4,
    SPOOL_NO_MEMORY = 5,
    SPOOL_QUOTA = 6      /* the submitter's own pending records reach its quota */
} spool_result;

/* A submitter's share of the spool: its pending records and their bytes
 * may not exceed these (docs/SERVICE.md "Per-user limits"). */
typedef struct spool_quota {
    uint32_t max_pending;
    uint64_t max_pending_bytes;
} spool_quota;

/* What spool_open found. */
typedef struct spool_open_info {
    uint32_t loaded;
    uint32_t damaged;       /* set aside into <dir>\damaged */
    uint32_t expired;       /* removed at load */
    uint32_t temp_promoted; /* flushed <seq>.tmp whose rename was lost: made .ntf */
    uint32_t temp_removed;  /* .tmp cut short (never accepted) or left beside its .ntf */
} spool_open_info;

/* What spool_add did. */
typedef struct spool_added {
    uint64_t seq;  /* the record's sequence number (the held one for SPOOL_DUPLICATE) */
    int displayed; /* SPOOL_DUPLICATE: a tray has acknowledged the held record ... */
    uint32_t displayed_session; /* ... first this session's */
    int answered;  /* SPOOL_DUPLICATE: the held record was answered ... */
    pipes_proto_answer answer; /* ... this way (type RESPONSE) */
} spool_added;

/* One item handed to delivery: a copy. */
typedef struct spool_item {
    uint64_t seq;
    char id[PIPES_PROTO_MAX_ID + 1];
    char sid[PIPES_PROTO_MAX_SID + 1]; /* its submitter's SID ("" for none) */
    char *msg; /* malloc'd tray message; free with free() */
    size_t msg_len;
} spool_item;

/* A session asking for its next record: its id, and its user as
 * "DOMAIN\user" and as a SID (UTF-8; "" when nobody or unknown). */
typedef struct spool_viewer {
    uint32_t session;
    const char *user;
    const char *user_sid;
} spool_viewer;

typedef struct spool_stats {
    uint64_t count, bytes;       /* records held, their tray-message bytes */
    uint64_t pending_deliveries; /* records no tray has taken or refused yet */
    uint64_t evicted;            /* delivered records evicted for room since open */
    uint64_t record_memory;      /* heap bytes the records hold (structs and texts) */
    uint64_t id_compares;        /* stored ids compared while looking ids up, since open */
    uint64_t submitters;         /* SIDs that have records */
    uint64_t quota_refusals;     /* submissions refused by a submitter's quota, since open */
    uint64_t answers;            /* first answers stored, since open */
    uint64_t answers_late;       /* answers that came after the first, since open */
} spool_stats;

/* Opens dir as a trusted folder (safedir_open: created if missing, with
 * dir_sddl if not NULL; a link or an untrusted folder is SPOOL_IO_ERROR
 * with ERROR_ACCESS_DENIED), recovers .tmp files, loads every record, sets
 * damaged ones aside (logged) and drops expired ones. */
spool_result spool_open(const wchar_t *dir, const wchar_t *dir_sddl, const spool_limits *limits,
                        int64_t now_ms, spool **out, spool_open_info *info);
void spool_close(spool *s);
/* Durably adds n (written, FlushFileBuffers, renamed into place) before
 * returning SPOOL_OK, evicting delivered records if the bounds need it.
 * n->sender is its submitter as the service authenticated it: written into
 * the tray message, and its SID ("" when kind is NONE) is the namespace of
 * n->id (one copy per SID and id). quota (NULL = none) bounds that SID's
 * pending records: SPOOL_QUOTA. A target user that is a SID string
 * ("S-1-...") matches the sessions of that user (spool_next). */
spool_result spool_add(spool *s, const pipes_proto_notification *n, const spool_quota *quota,
                       int64_t now_ms, spool_added *out);
/* The oldest record after seq `after` that the viewer's session should get
 * and has not acknowledged. */
int spool_next(spool *s, uint64_t after, const spool_viewer *v, spool_item *out);
/* The tray of session took seq (displayed nonzero: an `ack`) or refused it
 * for good (a permanent `rejected`). Either way the record is delivered
 * (evictable) and session does not get it again; a record targeted at that
 * session is removed, others wait for later sessions until their ttl.
 * Returns SPOOL_NOT_FOUND if seq is gone. */
spool_result spool_ack(spool *s, uint64_t seq, uint32_t session, int displayed);
/* Forgets which records session acknowledged (the session logged off; a
 * later logon with the same id is a new desktop). */
void spool_session_reset(spool *s, uint32_t session);
/* Removes expired records; returns how many were removed, and how many of
 * those no tray had taken (*undelivered). *next_ms gets a time before
 * which nothing expires, or INT64_MAX. */
uint32_t spool_expire(spool *s, int64_t now_ms, uint32_t *undelivered, int64_t *next_ms);
void spool_get_stats(spool *s, spool_stats *out);

/* Answers (spoolanswer.c; PROTOCOL.md 5a). */
typedef enum spool_answer_outcome {
    SPOOL_ANSWER_WON = 1,    /* the first answer: stored durably, withdraws now owed */
    SPOOL_ANSWER_REPEAT = 2, /* the winning session's answer again (a tray's resend) */
    SPOOL_ANSWER_LATE = 3    /* another session answered first: recorded, nothing changes */
} spool_answer_outcome;

typedef struct spool_answered {
    spool_answer_outcome outcome;
    uint64_t seq;
    char sid[PIPES_PROTO_MAX_SID + 1]; /* the question's submitter ... */
    char id[PIPES_PROTO_MAX_ID + 1];   /* ... and id */
    pipes_proto_answer winner;         /* type RESPONSE: the answer that counts */
} spool_answered;

/* A tray's response a (parsed; its session is ignored) on the connection
 * to v's session: the question it answers is the record with a's id that
 * has actions and reaches v's session - of several (two submitters' ids),
 * the oldest this session acknowledged and nobody else answered. The
 * first answer is written durably (<seq>.ans) before SPOOL_OK returns, with
 * v->session as its session and the time of now_ms when a gives none.
 * SPOOL_NOT_FOUND and *why when no such question reached the session or
 * the action is not one of its actions; SPOOL_IO_ERROR, SPOOL_NO_MEMORY. */
spool_result spool_answer(spool *s, const spool_viewer *v, const pipes_proto_answer *a,
                          int64_t now_ms, spool_answered *out, const char **why);

/* A withdraw owed to a session: the question's seq and the message. */
typedef struct spool_withdraw {
    uint64_t seq;
    pipes_proto_answer msg; /* type WITHDRAW with the winning answer */
} spool_withdraw;

/* The next answered question that session acknowledged, did not answer
 * itself and has not acknowledged a withdraw of; seqs in skip (n_skip)
 * are left out (in flight). 0 when none. */
int spool_next_withdraw(spool *s, uint32_t session, const uint64_t *skip, size_t n_skip,
                        spool_withdraw *out);
/* session's tray acknowledged (or for good refused) the withdraw of seq. */
void spool_withdrawn(spool *s, uint64_t seq, uint32_t session);
/* The `state` answering a query of submitter sid for id (PROTOCOL.md 5a):
 * unknown, pending, displayed or answered. */
void spool_state(spool *s, const char *sid, const char *id, pipes_proto_answer *out);

/* ---- answers.c ---------------------------------------------------------- */

/* A tray's message data (size bytes) that is not a reply, on the delivery
 * connection of v's session: a `response` is stored (spool_answer); the
 * `ack` or `rejected` to send back goes to reply (cap bytes, *reply_len; 0
 * when none could be written). Returns nonzero when it is the question's
 * first answer (*out): the submitter's waiters and withdraws follow. */
int answers_from_tray(spool *s, const spool_viewer *v, const void *data, size_t size,
                      char *reply, size_t cap, size_t *reply_len, spool_answered *out);

/* ---- ratelimit.c -------------------------------------------------------- */

typedef struct ratelimit ratelimit;
ratelimit *ratelimit_create(void);
void ratelimit_destroy(ratelimit *r);
/* Takes one token for key (a svc_identity key, UTF-8) from a bucket of
 * `burst` that refills at per_minute; returns nonzero when allowed.
 * per_minute 0 = no limit. */
int ratelimit_take(ratelimit *r, const char *key, uint32_t per_minute, uint32_t burst,
                   uint64_t now_ms);

/* ---- identity.c ----------------------------------------------------------- */

#define SVC_KEY_MAX 1024

/* A submitter as the service authenticated it. */
typedef struct svc_identity {
    pipes_proto_sender sender; /* kind, "DOMAIN\name" ("" if it does not resolve),
                                  SID: what the tray message carries */
    int privileged;            /* an Administrators member (enabled), a system account or
                                  a service: reaches anyone, no quota, no ttl cap */
    char key[SVC_KEY_MAX];     /* what rate limits and connection caps count by: the SID;
                                  for LocalSystem, LocalService and NetworkService
                                  "SID|program" (identity.c) */
} svc_identity;

/* Who token (a client's, from the pipe) is; pid is the client's process id
 * as the pipe recorded it. Returns 0 and *why when it names no one the
 * service can hold to account (anonymous, no user). */
int svc_identity_from_token(HANDLE token, uint32_t pid, svc_identity *out, const char **why);
/* Sets id->key from its sender: the SID; for kind SYSTEM "SID|" and the
 * program of pid (its executable's path; else the service SID token
 * carries; else "pid N"). svc_identity_from_token calls it. */
void svc_identity_set_key(svc_identity *id, HANDLE token, uint32_t pid);
/* Nonzero when token (an impersonation token, identification level or
 * above) is LocalSystem's, a service's (S-1-5-80-...) or an enabled
 * Administrators member's. */
int svc_token_is_privileged(HANDLE token);
/* The SID string of an account name ("DOMAIN\user" or "user", UTF-8) into
 * out; a Win32 error, ERROR_NONE_MAPPED when there is no such account. */
DWORD svc_account_sid(const char *name, char *out, size_t cap);

/* ---- policy.c ------------------------------------------------------------- */

/* Applies who may reach whom and the ttl caps to n (docs/SERVICE.md "Who
 * may notify whom"), rewriting its target or ttl where the rules say so.
 * Returns PIPES_PROTO_REASON_NONE to go on, else the reason to reject it
 * with and the text in detail (cap bytes). */
pipes_proto_reason svc_policy_apply(const svc_config *cfg, const svc_identity *who,
                                    pipes_proto_notification *n, char *detail, size_t cap);

/* ---- conns.c -------------------------------------------------------------- */

typedef struct svc_conns svc_conns;

typedef enum conn_verdict { /* the three caps in this order (submitconn.c) */
    CONN_OK = 0,
    CONN_PROCESS_FULL, /* the process holds MaxConnectionsPerProcess */
    CONN_SESSION_FULL, /* the session holds MaxConnectionsPerSession */
    CONN_USER_FULL,    /* the submitter holds MaxConnectionsPerUser */
    CONN_TABLE_FULL    /* twice MaxConnections known (closing ones linger), or no memory */
} conn_verdict;

typedef struct conn_limits {
    uint32_t capacity; /* MaxConnections */
    uint32_t per_process, per_session, per_user;
    int64_t first_message_ms; /* a connection that sent nothing for this long is due */
    int64_t idle_ms;          /* one with no message and no wait for this long is due */
} conn_limits;

svc_conns *conns_create(const conn_limits *lim);
void conns_destroy(svc_conns *c);
/* A new connection: counted unless its process or session is at its cap. */
conn_verdict conns_add(svc_conns *c, uint64_t id, uint32_t pid, uint32_t session, int64_t now_ms);
/* A message on id: 1 and *who when the connection is identified, 0 when
 * this is its first message (call conns_identify), -1 when it is not
 * counted (refused, or closing): ignore the message. */
int conns_message(svc_conns *c, uint64_t id, int64_t now_ms, svc_identity *who);
/* The identity of id's first message: CONN_USER_FULL when its key holds
 * per_user identified connections already (the connection is then closing). */
conn_verdict conns_identify(svc_conns *c, uint64_t id, const svc_identity *who);
/* id will be closed: its messages are ignored from now on. */
void conns_closing(svc_conns *c, uint64_t id);
/* id waits for `displayed` (delta +1) or no longer (-1): not idle meanwhile. */
void conns_wait(svc_conns *c, uint64_t id, int delta);
void conns_remove(svc_conns *c, uint64_t id);
/* The connections due to close for idleness at now: up to cap ids into
 * out, each marked closing (reported once). */
size_t conns_due(svc_conns *c, int64_t now_ms, uint64_t *out, size_t cap);
size_t conns_count(svc_conns *c);

/* ---- sessions.c --------------------------------------------------------- */

#define SVC_MAX_SESSIONS 64
/* Interactive sessions now (WTSEnumerateSessionsW plus the console session,
 * never session 0). Returns the count. */
size_t svc_sessions_enumerate(uint32_t *out, size_t cap);
/* "DOMAIN\user" of a session in UTF-8, "" if nobody or unknown. */
void svc_session_user(uint32_t session, char *out, size_t cap);
/* The SID of a session's user (svc_account_sid of its "DOMAIN\user"), ""
 * if nobody or unknown. */
void svc_session_user_sid(uint32_t session, char *out, size_t cap);
/* Nonzero when session is among svc_sessions_enumerate's now. */
int svc_session_exists(uint32_t session);

/* ---- sessionhost.c (a link seam; the test program PipesService-twosession
 * links tests/standin_session.c instead) ---------------------------------- */

/* The session whose processes serve session's tray and whose user is
 * session's user: session itself (the test program: a stand-in's host). */
uint32_t svc_session_host(uint32_t session);
/* A session played by host's processes, enumerated with host; 0 = none
 * (always, in PipesService.exe). */
uint32_t svc_session_stand_in(uint32_t host);

/* ---- delivery.c --------------------------------------------------------- */

typedef struct delivery delivery;
/* A tray acknowledged submitter sid's record id (sid "" for none). */
typedef void (*delivery_displayed_fn)(void *ctx, const char *sid, const char *id,
                                      uint32_t session);

typedef struct delivery_session_info {
    uint32_t session;
    int connected;
    int squatted;      /* the pipe's server is not the session's user: nothing sent */
    uint64_t delivered;
    uint64_t identity_mismatches;
    uint64_t squats;   /* connections refused as squatted */
    uint64_t unverified; /* connections whose pipe owner or session user could not be read: nothing sent */
} delivery_session_info;

typedef struct delivery_stats {
    uint64_t delivered, tray_rejected, identity_mismatches, squats, unverified;
    size_t session_count;
    delivery_session_info sessions[SVC_MAX_SESSIONS];
} delivery_stats;

/* The first answer to submitter sid's question id (winner: type RESPONSE). */
typedef void (*delivery_answered_fn)(void *ctx, const char *sid, const char *id,
                                     const pipes_proto_answer *winner);
/* on_displayed(ctx, ...) runs on an engine worker when a tray acknowledges a
 * record, from the first session added on: ctx must be ready before that. */
delivery *delivery_create(spool *s, const svc_config *cfg, delivery_displayed_fn on_displayed,
                          void *ctx);
/* Tests only: fn(ctx, where) runs at each named point of delivery.c (the
 * names its PIPES_CHAOS_POINTs use: "delivery.retry", "delivery.client_closed"
 * ...), on the thread that reaches it, so a test can hold one thread there
 * and force an interleaving. Set it before adding a session. */
typedef void (*delivery_hook_fn)(void *ctx, const char *where);
void delivery_set_test_hook(delivery *d, delivery_hook_fn fn, void *ctx);
/* on_answered(ctx of delivery_create, ...) runs on an engine worker when a
 * tray's response is a question's first answer. Set before adding a session. */
void delivery_set_answered(delivery *d, delivery_answered_fn on_answered);
/* Tracks session (idempotent); returns nonzero if it was new. */
int delivery_session_add(delivery *d, uint32_t session);
void delivery_session_remove(delivery *d, uint32_t session);
/* A SERVICE_CONTROL_SESSIONCHANGE event: logon, unlock, console or remote
 * connect track the session (never session 0); logoff stops tracking it and
 * forgets its acknowledgements in the spool (a later desktop with that id
 * gets the broadcasts still within their ttl). Returns what changed, for the
 * log, or NULL when nothing did. */
const wchar_t *delivery_session_event(delivery *d, DWORD event_type, uint32_t session);
/* Sets the sessions to exactly this list. */
void delivery_sessions_sync(delivery *d, const uint32_t *ids, size_t n);
/* New records are in the spool: send them where a tray is connected. */
void delivery_kick(delivery *d);
/* Periodic check from the main loop: logs new identity mismatches and
 * squatted tray pipes. */
void delivery_poll(delivery *d);
void delivery_get_stats(delivery *d, delivery_stats *out);
void delivery_destroy(delivery *d);

/* ---- submit.c ----------------------------------------------------------- */

typedef struct submit submit;
typedef struct submit_stats {
    uint64_t accepted, duplicates, rejected;
    uint64_t rejected_by_reason[10]; /* indexed by pipes_proto_reason */
    uint64_t connections;            /* connected since start */
    uint64_t open;                   /* counted now (conns) */
    uint64_t refused_process, refused_session, refused_user; /* connection caps */
    uint64_t unidentified;           /* refused: no identity could be read */
    uint64_t not_allowed_by_policy;  /* rejected by svc_policy_apply */
    uint64_t idle_closed;            /* closed by the idle timeouts */
    uint64_t not_reading;            /* closed: their reply queue was full */
    uint64_t reply_bytes_queued;     /* now, in the library's write queues */
} submit_stats;

/* The submit object without its pipe: submit_displayed works from now on,
 * so delivery can be created with it. NULL when out of memory. */
submit *submit_create(const svc_config *cfg, spool *s);
/* Starts the submit pipe; accepted records are handed to d. Returns a
 * pipes_status; after a failure it may be called again (core.c retries a
 * name in use), and submit_stop/submit_free are safe. */
pipes_status submit_start(submit *sb, const svc_config *cfg, delivery *d);
/* From now on submissions get "shutting_down". */
void submit_set_stopping(submit *sb);
void submit_displayed(void *ctx, const char *sid, const char *id,
                      uint32_t session); /* ctx = submit* */
/* The first answer to submitter sid's id: a `response` to each connection
 * that waits for one (submitanswer.c). ctx = submit*. */
void submit_answered(void *ctx, const char *sid, const char *id, const pipes_proto_answer *winner);
void submit_get_stats(submit *sb, submit_stats *out);
/* From the main loop: closes the connections idle too long (conns_due). */
void submit_poll(submit *sb, int64_t now_ms);
/* Tests only, before submit_start: fn(ctx, id) sees each identity read
 * from a connection's token and may change it (another user, another
 * kind) or return 0 to treat the token as unreadable. */
typedef int (*submit_identity_hook)(void *ctx, svc_identity *id);
void submit_set_identity_hook(submit *sb, submit_identity_hook fn, void *ctx);
/* Stops the pipe server (if it started): no callback of it runs afterwards,
 * and no `displayed` is sent any more. submit_displayed stays safe to call. */
void submit_stop(submit *sb);
/* Frees it; after delivery_destroy (which may still call submit_displayed). */
void submit_free(submit *sb);

/* ---- fleet.c (fleetin.c; fleetint.h) ---------------------------------------- */

typedef struct fleet fleet;

/* The broker bridge (docs/FLEET.md), or NULL when cfg->fleet is off or it
 * cannot be set up (logged). Nothing connects before fleet_start. */
fleet *fleet_create(const svc_config *cfg, spool *s, delivery *d);
void fleet_start(fleet *f);
/* The interactive sessions now (main loop): subscribes <prefix>/user/<name>
 * for each of their users, unsubscribes the users gone. */
void fleet_sessions(fleet *f, const uint32_t *ids, size_t n);
/* A tray displayed record (sid, id) in session (delivery's callback, any
 * thread): a broker record's `displayed` goes to the status topic. */
void fleet_displayed(fleet *f, const char *sid, const char *id, uint32_t session);
/* A user answered record id (its sender SID sid) in session with action
 * (an action's id, or "dismissed"/"timeout"); for a broker record, publishes
 * a `response` event on the status topic (core.c, on_answered). */
void fleet_response(fleet *f, const char *sid, const char *id, uint32_t session,
                    const char *action);
/* `status` lines of the bridge into buf; returns the bytes written. */
size_t fleet_status(fleet *f, char *buf, size_t cap);
/* No delivery callback runs after it returns; f stays usable (displayed
 * events are then queued, never sent). */
void fleet_stop(fleet *f);
void fleet_free(fleet *f);

/* ---- control.c ---------------------------------------------------------- */

typedef struct control control;
typedef size_t (*control_status_fn)(char *buf, size_t cap, void *ctx);
pipes_status control_start(control_status_fn fn, void *ctx, control **out);
void control_stop(control *c);
/* Client side (the status verb): asks the running engine for its report.
 * The pipe's server must be the process the SCM runs as PipesService, or
 * this executable run by an administrator (`run`); any other is refused
 * (PIPES_ERR_SERVER_IDENTITY_MISMATCH, said on stderr) before anything is
 * sent. Returns a pipes_status; text in out. */
pipes_status control_query(char *out, size_t cap, uint32_t timeout_ms);

/* ---- core.c ------------------------------------------------------------- */

/* Reports progress to the SCM (or nothing in console mode). */
typedef void (*core_report_fn)(DWORD state, DWORD wait_hint_ms);

/* Runs the engine until stop_event is set. Returns an SVC_EXIT_* code. */
int core_run(HANDLE stop_event, core_report_fn report, int console);
/* SERVICE_CONTROL_SESSIONCHANGE (from the handler thread). */
void core_session_change(DWORD event_type, DWORD session);

/* ---- verbs.c ------------------------------------------------------------ */

int verb_install(void);
int verb_configure(void);
int verb_uninstall(void);
int verb_start(void);
int verb_stop(void);
int verb_status(void);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_SVC_H */
