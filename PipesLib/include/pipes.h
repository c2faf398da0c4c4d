/*
 * pipes.h - PipesLib: message-oriented named pipes for Windows over an
 * I/O completion port and a pool of worker threads.
 *
 * OVERVIEW
 *   An *engine* owns one I/O completion port and its worker threads. Servers
 *   and clients attach to an engine (or, when their config names none, to a
 *   process-wide default engine created on first use). Every pipe handle is
 *   overlapped and bound to the engine's port; no thread is ever dedicated to
 *   one connection.
 *
 *   Pipes are message-mode: one send is one received message, byte for byte,
 *   from 0 bytes up to a configurable maximum.
 *
 *   Events (connected, message, disconnected, send complete, state change)
 *   are delivered one of two ways, chosen per server or client:
 *     - a callback, invoked on an engine worker thread;
 *     - PostMessageW to a window: the event is a heap object in LPARAM that
 *       the window procedure must release with pipes_event_free().
 *
 * CONVENTIONS
 *   - Every function returns a pipes_status (or documents otherwise) and
 *     validates its arguments: NULL where a pointer is required, a config
 *     whose struct_size is not one this library knows, malformed pipe names,
 *     and out-of-range numbers all give PIPES_ERR_INVALID_ARGUMENT. A
 *     payload pointer may be NULL only when its size is 0 (an empty
 *     message).
 *   - Strings at the API are UTF-16 (wchar_t); payloads are bytes.
 *   - Config structs start with struct_size: set it to sizeof the struct you
 *     compiled against. Zero-initialise the rest; zero selects the default.
 *   - Handles are opaque. A handle passed to a function after it was released
 *     (pipes_server_stop, pipes_client_close, pipes_engine_destroy) is a
 *     use-after-free in the caller, as with any C library. So is a call
 *     that starts while another thread is releasing the same handle; a
 *     pipes_client_send_wait already waiting when pipes_client_close starts
 *     is the one exception (close wakes it and waits for it).
 *   - "Written" means handed to the pipe, not read by the peer. End-to-end
 *     delivery needs an application-level acknowledgement (the Pipes
 *     notification protocol has one, see docs/PROTOCOL.md).
 *
 * Thread-safety and ownership are stated above each function.
 */
#ifndef PIPES_H
#define PIPES_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "pipes_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PIPES_STATIC)
#define PIPES_API
#elif defined(PIPES_BUILDING_DLL)
#define PIPES_API __declspec(dllexport)
#else
#define PIPES_API __declspec(dllimport)
#endif

/* Calling convention of the API and of callbacks: the platform default
 * (__cdecl on x64 and ARM64, the only targets). */
#define PIPES_CALL __cdecl

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

typedef enum pipes_status {
    PIPES_OK = 0,
    PIPES_ERR_INVALID_ARGUMENT = 1,   /* NULL, bad struct_size, bad name, out of range */
    PIPES_ERR_OUT_OF_MEMORY = 2,
    PIPES_ERR_SYSTEM = 3,             /* a Win32 call failed; see pipes_last_system_error */
    PIPES_ERR_NAME_IN_USE = 4,        /* another process already serves this pipe name */
    PIPES_ERR_NOT_FOUND = 5,          /* no server listens on this name */
    PIPES_ERR_TIMEOUT = 6,
    PIPES_ERR_MESSAGE_TOO_LARGE = 7,  /* a message exceeded max_message_size */
    PIPES_ERR_NOT_CONNECTED = 8,      /* no such connection, or it has closed */
    PIPES_ERR_QUEUE_FULL = 9,         /* the bounded write queue is full */
    PIPES_ERR_SERVER_IDENTITY_MISMATCH = 10, /* the server is not who the client requires */
    PIPES_ERR_ACCESS_DENIED = 11,     /* the pipe's DACL refused us */
    PIPES_ERR_TOO_MANY_CONNECTIONS = 12, /* max_connections reached */
    PIPES_ERR_REFUSED = 13,           /* the authorize callback refused the client */
    PIPES_ERR_STOPPING = 14,          /* the server or client is being stopped/closed */
    PIPES_ERR_PEER_CLOSED = 15,       /* the other end closed the pipe (normal end) */
    PIPES_ERR_LOCAL_CLOSED = 16,      /* closed by this side: disconnect, stop or close */
    PIPES_ERR_POST_FAILED = 17,       /* PostMessageW failed; the event was dropped and counted */
    PIPES_ERR_BUSY = 18,              /* the engine still has servers or clients attached */
    PIPES_ERR_WRONG_THREAD = 19       /* not allowed from an engine worker thread */
} pipes_status;

/* Returns a static, English, never-NULL description of a status, such as
 * "message too large". Unknown values give "unknown status".
 * Thread-safe; the string lives for the life of the process. */
PIPES_API const char *PIPES_CALL pipes_status_string(pipes_status status);

/* The Win32 error code (GetLastError) behind the most recent PIPES_ERR_SYSTEM,
 * PIPES_ERR_ACCESS_DENIED or PIPES_ERR_NOT_FOUND returned to this thread, or
 * 0. Thread-safe: the value is per thread. */
PIPES_API unsigned long PIPES_CALL pipes_last_system_error(void);

/* The library's version as 0x00MMmmpp (see pipes_version.h); *text (if not
 * NULL) receives a static string such as "1.0.0". Thread-safe. */
PIPES_API uint32_t PIPES_CALL pipes_version(const char **text);

/* ------------------------------------------------------------------------ */
/* Limits and defaults                                                      */
/* ------------------------------------------------------------------------ */

#define PIPES_DEFAULT_MAX_MESSAGE_SIZE (1u << 20)        /* 1 MiB */
#define PIPES_MAX_MESSAGE_SIZE_LIMIT (256u << 20)        /* 256 MiB */
#define PIPES_DEFAULT_LISTEN_INSTANCES 4u
#define PIPES_DEFAULT_MAX_CONNECTIONS 1024u
#define PIPES_DEFAULT_MAX_QUEUED_BYTES (8u << 20)        /* per connection */
#define PIPES_DEFAULT_MAX_QUEUED_MESSAGES 4096u          /* per connection */
#define PIPES_DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define PIPES_INFINITE 0xFFFFFFFFu
/* A pipe name is \\.\pipe\<name>; Windows limits the whole to 256 chars. */
#define PIPES_MAX_PIPE_NAME 256u
#define PIPES_MAX_SID_STRING 192u

/* ------------------------------------------------------------------------ */
/* Engine: one completion port and its worker threads                       */
/* ------------------------------------------------------------------------ */

typedef struct pipes_engine pipes_engine;

typedef struct pipes_engine_config {
    size_t struct_size;      /* sizeof(pipes_engine_config) */
    unsigned worker_threads; /* 0 = number of processors, at least 2, at most 64 */
} pipes_engine_config;

/* Creates an engine: one I/O completion port and worker_threads threads
 * dequeuing from it with GetQueuedCompletionStatusEx. One of them waits on
 * the port; the others stand by, start when packets queue up or when a
 * worker has been on one completion for a few milliseconds (see
 * pipes_event_fn), and stand by again when they find the port empty.
 * The process-wide default engine (used when a config names no engine) is
 * created by the first server or client that needs it and lives until the
 * process exits: it counts in pipes_global_stats.live_engines from then on,
 * and pipes_engine_destroy refuses it (PIPES_ERR_INVALID_ARGUMENT).
 * Ownership: *out belongs to the caller until pipes_engine_destroy.
 * Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_engine_create(const pipes_engine_config *config,
                                                      pipes_engine **out);

/* Stops the worker threads and frees the engine. Every server and client on
 * it must have been stopped/closed first, else PIPES_ERR_BUSY and nothing
 * changes. Waits for teardowns that stop/close left running in the
 * background (those called from callbacks). Must not be called from one of
 * the engine's own worker threads (PIPES_ERR_WRONG_THREAD).
 * Thread-safety: call once, from one thread. */
PIPES_API pipes_status PIPES_CALL pipes_engine_destroy(pipes_engine *engine);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct pipes_server pipes_server;
typedef struct pipes_client pipes_client;

typedef enum pipes_event_type {
    PIPES_EVENT_CONNECTED = 1,     /* server: a client connected; client: (re)connected */
    PIPES_EVENT_MESSAGE = 2,       /* a whole message arrived: data, size */
    PIPES_EVENT_DISCONNECTED = 3,  /* the connection ended; status is the reason */
    PIPES_EVENT_SEND_COMPLETE = 4, /* an async send finished: status, send_context */
    PIPES_EVENT_LIMIT = 5          /* a limit was hit that no return value reports:
                                      status says which (see below) */
} pipes_event_type;

/* PIPES_EVENT_LIMIT, by status:
 *   PIPES_ERR_TOO_MANY_CONNECTIONS  server: a client was refused because
 *                                   max_connections were connected
 *                                   (connection_id 0)
 *   PIPES_ERR_QUEUE_FULL            server: pipes_server_broadcast skipped a
 *                                   connection whose queue was full; once
 *                                   until that queue drained to half
 *   PIPES_ERR_MESSAGE_TOO_LARGE     server with PIPES_SERVER_DISCARD_OVERSIZED:
 *                                   a message over max_message_size was
 *                                   read and thrown away; size = its length.
 *                                   Delivered in the connection's message
 *                                   order, where its MESSAGE would have been.
 * A send that returns PIPES_ERR_QUEUE_FULL to its caller raises no event. */

/* Who is at the other end of a server connection.
 * At CONNECTED and in the authorize callback: the process id and session id
 * the pipe recorded when the client opened it; user_sid is "" there.
 * Windows identifies a pipe client's user only after a message was read
 * from it (impersonation): from the connection's first MESSAGE event on,
 * pipes_server_get_peer fills user_sid from the client's token and
 * pipes_server_get_peer_token gives the token itself (read on the first
 * such request, then kept). The user is never taken from the process with
 * that id: a client that exited at once may have had its id reused, and a
 * less privileged server cannot read other users' processes.
 * A client's view of its server (pipes_client_get_server) does read the
 * server process's token, when it may (see there). */
typedef struct pipes_peer_identity {
    uint32_t process_id;                     /* GetNamedPipeClientProcessId */
    uint32_t session_id;                     /* GetNamedPipeClientSessionId: the session
                                                the pipe recorded at open */
    wchar_t user_sid[PIPES_MAX_SID_STRING];  /* "S-1-5-21-...", or "" if unknown */
} pipes_peer_identity;

typedef struct pipes_event {
    pipes_event_type type;
    pipes_server *server;     /* the server this event is about, or NULL */
    pipes_client *client;     /* the client this event is about, or NULL */
    uint64_t connection_id;   /* server: the connection (never 0); client: the
                                 connection generation, 1 for the first */
    pipes_status status;      /* DISCONNECTED: reason; SEND_COMPLETE: result;
                                 LIMIT: which limit; else PIPES_OK */
    const uint8_t *data;      /* MESSAGE: the bytes (NULL when size is 0) */
    size_t size;              /* MESSAGE: byte count */
    void *send_context;       /* SEND_COMPLETE: the pointer given to the send */
    const pipes_peer_identity *peer; /* server CONNECTED: the client's identity */
    void *user_data;          /* the config's user_data */
} pipes_event;

/* Event callback. Runs on an engine worker thread.
 * Ownership: *event and its data are valid only during the call; copy what
 * you keep. Ordering: for one connection, CONNECTED comes first, then its
 * MESSAGE events in arrival order, one at a time, then DISCONNECTED last;
 * SEND_COMPLETE and LIMIT events may run concurrently with those on another
 * worker thread. Events of different connections run in parallel. A callback
 * that blocks ties up its worker thread only: once that worker has been on
 * one completion (its callbacks included) for one to two ticks of 5 ms,
 * rarely three, a standby worker takes over the completions waiting in the
 * port and those the blocked worker had already dequeued; until then they
 * wait. A tick lasts as long as the system timer makes it: up to 15.6 ms
 * on Windows by default, so there 16 to 32 ms, rarely more. With one
 * worker thread, or every worker stuck, everything waits. The same holds
 * for a connection whose messages keep its worker busy (many short
 * callbacks in a row). One exception, for speed: a callback's
 * calls on its own server or client that finish writing (or fail) messages
 * within the call owe SEND_COMPLETE events (and LIMIT events) that come
 * after that callback has returned, usually on the same thread at once
 * (they skip the completion port); this includes messages other threads
 * had queued that such a call writes. So a callback must not wait, itself
 * or through another thread, for those events: it would wait for ever, for
 * the reason pipes_client_send_wait refuses to run on a worker. A send
 * whose write pends completes like any I/O, on any worker. SEND_COMPLETE
 * events come in no particular order among themselves.
 * The callback may call any function of this library, including
 * pipes_server_stop / pipes_client_close on its own object or another one
 * (see there), except pipes_client_send_wait and pipes_engine_destroy
 * (PIPES_ERR_WRONG_THREAD).
 * The event's server / client pointer is the object's handle, valid during
 * the call; the handle the creating call stores (*out of
 * pipes_server_start / pipes_client_connect) is written before the first
 * event of the object can run, so either may be used. */
typedef void(PIPES_CALL *pipes_event_fn)(const pipes_event *event, void *user_data);

/* Authorize callback (server): sees the identity of a newly connected client
 * before any CONNECTED event and returns nonzero to accept it, zero to refuse
 * it (the pipe is disconnected, the refusal counted, no event delivered).
 * Runs on a worker thread; must not block for long. */
typedef int(PIPES_CALL *pipes_authorize_fn)(const pipes_peer_identity *peer, void *user_data);

/* Releases an event that was posted to a window (GUI delivery). Call exactly
 * once for each posted event, on any thread. NULL is ignored. Events passed
 * to callbacks are not yours to free.
 *
 * GUI DELIVERY (notify_window): each event is a heap block posted with
 * PostMessageW(notify_window, notify_message, 0, (LPARAM)event). If posting
 * fails (the window is gone, or its queue is full), the event is dropped
 * and counted in pipes_stats.events_post_failed and
 * errors_by_status[PIPES_ERR_POST_FAILED]; for a CONNECTED or MESSAGE event
 * the connection is also closed (its DISCONNECTED reason is
 * PIPES_ERR_POST_FAILED), because its peer would otherwise wait for an
 * answer to something the window never saw.
 * Posted messages still in the window's queue when the window is destroyed
 * are discarded by Windows, and their events leak. Shut down in this order:
 *   1. pipes_server_stop / pipes_client_close (nothing is posted afterwards);
 *   2. remove what is still queued:
 *        while (PeekMessageW(&msg, hwnd, notify_message, notify_message, PM_REMOVE))
 *            pipes_event_free((pipes_event *)msg.lParam);
 *   3. DestroyWindow(hwnd). */
PIPES_API void PIPES_CALL pipes_event_free(pipes_event *event);

/* ------------------------------------------------------------------------ */
/* Statistics                                                               */
/* ------------------------------------------------------------------------ */

#define PIPES_STATUS_COUNT 20 /* one past the largest pipes_status value */

typedef struct pipes_stats {
    size_t struct_size;            /* set by the caller: sizeof(pipes_stats) */
    uint64_t messages_in, bytes_in;
    uint64_t messages_out, bytes_out;
    uint64_t connects;             /* server: accepted clients; client: connections made */
    uint64_t refused;              /* server: refused by authorize or max_connections */
    uint64_t disconnects_by_reason[PIPES_STATUS_COUNT]; /* indexed by pipes_status */
    uint64_t errors_by_status[PIPES_STATUS_COUNT];      /* failed sends and other errors */
    uint64_t events_post_failed;   /* GUI delivery: PostMessageW failed, event dropped */
    uint64_t current_connections;
    uint64_t queued_messages;      /* currently waiting in write queues */
    uint64_t queued_bytes;
} pipes_stats;

/* Process-wide live objects and Win32 call counts, for leak checks and
 * benchmarks. Live counts return to their earlier values once every object
 * created since has been released. */
typedef struct pipes_global_stats {
    size_t struct_size;            /* set by the caller: sizeof(pipes_global_stats) */
    int64_t live_engines, live_servers, live_clients, live_connections;
    int64_t live_instances;        /* pipe handles the library holds open */
    int64_t pending_operations;    /* OVERLAPPED operations not yet dequeued */
    int64_t live_events;           /* posted events not yet freed */
    int64_t bytes_allocated;       /* heap bytes the library holds */
    uint64_t calls_read_file, calls_write_file, calls_connect_named_pipe;
    uint64_t calls_peek_named_pipe; /* sizing messages larger than the read buffer */
    uint64_t calls_dequeue;        /* GetQueuedCompletionStatusEx calls */
    uint64_t completions_dequeued; /* completion packets dequeued */
} pipes_global_stats;

/* Fills *out. Thread-safe; each field is read atomically, the set is not a
 * snapshot. */
PIPES_API pipes_status PIPES_CALL pipes_get_global_stats(pipes_global_stats *out);

/* ------------------------------------------------------------------------ */
/* Server                                                                   */
/* ------------------------------------------------------------------------ */

/* Server flags. */
#define PIPES_SERVER_ALLOW_REMOTE 0x1u /* DANGEROUS: accept clients from other
                                          machines (no PIPE_REJECT_REMOTE_CLIENTS) */
#define PIPES_SERVER_DISCARD_OVERSIZED 0x2u /* a message over max_message_size is
                                          read and thrown away, and reported as a
                                          LIMIT event (PIPES_ERR_MESSAGE_TOO_LARGE,
                                          size = its length) in message order; the
                                          connection stays open. Without it such a
                                          message closes the connection
                                          (DISCONNECTED, PIPES_ERR_MESSAGE_TOO_LARGE). */

typedef struct pipes_server_config {
    size_t struct_size;           /* sizeof(pipes_server_config) */
    const wchar_t *pipe_name;     /* \\.\pipe\<name>; copied */
    pipes_engine *engine;         /* NULL = the process-wide default engine */
    unsigned listen_instances;    /* instances waiting in ConnectNamedPipe at once:
                                     at least this many while the server runs, up
                                     to twice as many when instances whose
                                     client closed go back to waiting (reused,
                                     not closed); 0 = PIPES_DEFAULT_LISTEN_INSTANCES,
                                     max 64 */
    unsigned max_connections;     /* 0 = PIPES_DEFAULT_MAX_CONNECTIONS; more are
                                     refused (PIPES_EVENT_LIMIT). A client being
                                     authorized counts already; an ended one no
                                     longer counts once its DISCONNECTED is
                                     delivered (its callback may run). */
    size_t max_message_size;      /* 0 = 1 MiB; at most PIPES_MAX_MESSAGE_SIZE_LIMIT */
    size_t max_queued_bytes;      /* per connection write queue; 0 = default */
    unsigned max_queued_messages; /* per connection write queue; 0 = default */
    unsigned buffer_size;         /* pipe buffer size hint; 0 = 64 KiB */
    const wchar_t *sddl;          /* security descriptor for every instance; NULL =
                                     LocalSystem, Administrators and the creating
                                     user, full access; nobody else */
    uint32_t flags;               /* PIPES_SERVER_* */
    pipes_authorize_fn authorize; /* optional */
    /* Delivery: exactly one of on_event or notify_window. */
    pipes_event_fn on_event;
    void *notify_window;          /* HWND receiving PostMessageW(hwnd, notify_message,
                                     0, (LPARAM)pipes_event*) */
    unsigned notify_message;      /* e.g. WM_APP + n */
    void *user_data;              /* passed back in every event */
} pipes_server_config;

/* Starts a server: creates the first instance (FILE_FLAG_FIRST_PIPE_INSTANCE,
 * after checking that no other server owns the name), then the rest of the
 * listening instances, each with ConnectNamedPipe outstanding. As a client
 * connects, a replacement instance is created before anything else, so the
 * name is never left unowned while the server runs. When a client closes
 * its end, its instance is disconnected (DisconnectNamedPipe) and waits for
 * the next client, unless twice listen_instances are waiting already;
 * nothing of the old connection carries over. An instance the server ended
 * (pipes_server_disconnect, a refusal, a limit) is closed instead, so the
 * client can still read what was written to it before.
 * Returns PIPES_ERR_NAME_IN_USE if another server already has the name,
 * PIPES_ERR_INVALID_ARGUMENT for a bad config or an invalid SDDL string.
 * *out is written before the first instance can take a client (so a
 * callback may read it); on failure it is restored to its old value.
 * Ownership: *out is the caller's until pipes_server_stop. Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_server_start(const pipes_server_config *config,
                                                     pipes_server **out);

/* Queues a copy of data for one connection. Returns at once; the message is
 * written in order after earlier sends to that connection. send_context, if
 * not NULL, is returned in a PIPES_EVENT_SEND_COMPLETE event telling the
 * result; with NULL no event is delivered. data may be NULL when size is 0.
 * Errors returned here (no event follows): PIPES_ERR_NOT_CONNECTED,
 * PIPES_ERR_QUEUE_FULL, PIPES_ERR_MESSAGE_TOO_LARGE, PIPES_ERR_STOPPING.
 * Thread-safe, also from callbacks. */
PIPES_API pipes_status PIPES_CALL pipes_server_send(pipes_server *server, uint64_t connection_id,
                                                    const void *data, size_t size,
                                                    void *send_context);

/* Queues a copy of data for every connected client (one shared buffer).
 * *delivered_to (optional) receives how many connections accepted it into
 * their queue; a connection whose queue is full is skipped and counted as
 * QUEUE_FULL in the stats. Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_server_broadcast(pipes_server *server, const void *data,
                                                         size_t size, unsigned *delivered_to);

/* Closes one connection. Its DISCONNECTED event (reason
 * PIPES_ERR_LOCAL_CLOSED) follows asynchronously; queued sends fail.
 * Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_server_disconnect(pipes_server *server,
                                                          uint64_t connection_id);

/* Copies the identity of a connected client (pipes_peer_identity: user_sid
 * is known once a message was read from the connection). Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_server_get_peer(pipes_server *server,
                                                        uint64_t connection_id,
                                                        pipes_peer_identity *out);

/* The access token of a connected client as the pipe knows it: read by
 * identification-level impersonation (reverted at once) on the first
 * request after the connection's first message was read, so it is
 * available from its first MESSAGE event on.
 * Identification level is enough to query the token's user, groups and
 * session (GetTokenInformation, CheckTokenMembership, AccessCheck) and
 * never lets anyone act as the client. *token (a HANDLE) is a duplicate the
 * caller owns and closes with CloseHandle.
 * Errors (*token NULL): PIPES_ERR_NOT_CONNECTED (no such live connection),
 * PIPES_ERR_NOT_FOUND (no message read from it yet), PIPES_ERR_ACCESS_DENIED
 * (the client's token could not be had, e.g. an anonymous client;
 * pipes_last_system_error says why). Thread-safe, also from callbacks. */
PIPES_API pipes_status PIPES_CALL pipes_server_get_peer_token(pipes_server *server,
                                                              uint64_t connection_id,
                                                              void **token);

/* Fills *out (out->struct_size set by the caller). Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_server_get_stats(pipes_server *server, pipes_stats *out);

/* Stops the server: no new connections, CancelIoEx on every instance, then
 * waits until every outstanding completion has been dequeued, frees
 * everything and returns. No callback of this server runs after it returns
 * and no posted event for it is sent afterwards (events already posted stay
 * valid until pipes_event_free). Connections open at that moment get no
 * DISCONNECTED event: the return of stop is their end. Queued sends are
 * dropped; those with a send_context are not reported.
 * From inside a callback (one of this server's own, or another object's on
 * any engine): returns once no other callback of this server is
 * running, and none will start; the calling callback may finish, and the
 * memory is released in the background once the cancelled I/O has drained
 * (the engine waits for that in destroy), because a worker thread waiting for
 * the workers could wait for ever. The handle is invalid after either.
 * A callback that is itself waiting inside pipes_server_stop or
 * pipes_client_close does not count as running: so two callbacks that stop
 * each other's objects both return (each object's callback then finishes
 * after the other's stop returned).
 * Thread-safe; calling it twice for the same server is a use-after-free. */
PIPES_API pipes_status PIPES_CALL pipes_server_stop(pipes_server *server);

/* ------------------------------------------------------------------------ */
/* Client                                                                   */
/* ------------------------------------------------------------------------ */

/* Client flags. */
#define PIPES_CLIENT_RECONNECT 0x1u       /* reconnect with backoff when the pipe breaks */
#define PIPES_CLIENT_REQUIRE_SESSION 0x2u /* the server must run in required_server_session */

typedef struct pipes_client_config {
    size_t struct_size;           /* sizeof(pipes_client_config) */
    const wchar_t *pipe_name;     /* \\.\pipe\<name>; copied */
    pipes_engine *engine;         /* NULL = the process-wide default engine */
    uint32_t connect_timeout_ms;  /* 0 = 5000; PIPES_INFINITE waits forever */
    size_t max_message_size;      /* 0 = 1 MiB; at most PIPES_MAX_MESSAGE_SIZE_LIMIT */
    size_t max_queued_bytes;      /* write queue bound; 0 = default */
    unsigned max_queued_messages; /* write queue bound; 0 = default */
    uint32_t flags;               /* PIPES_CLIENT_* */
    uint32_t required_server_session;   /* with PIPES_CLIENT_REQUIRE_SESSION */
    const wchar_t *required_server_sid; /* if not NULL, the server process must run
                                           as this SID ("S-1-5-18" = LocalSystem) */
    uint32_t reconnect_min_ms;    /* first backoff; 0 = 100 */
    uint32_t reconnect_max_ms;    /* backoff cap; 0 = 10000 */
    /* Delivery: exactly one of on_event or notify_window. */
    pipes_event_fn on_event;
    void *notify_window;
    unsigned notify_message;
    void *user_data;
} pipes_client_config;

/* Connects to a server, waiting up to connect_timeout_ms for it to exist and
 * for a free instance (ERROR_PIPE_BUSY is retried with WaitNamedPipeW). The
 * client opens the pipe with SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
 * so the server can identify but not impersonate it, then checks the
 * server's identity if the config requires one
 * (PIPES_ERR_SERVER_IDENTITY_MISMATCH; the handle is closed).
 * Without PIPES_CLIENT_RECONNECT a failure to connect is returned
 * (PIPES_ERR_NOT_FOUND at once when no server has the name; PIPES_ERR_TIMEOUT
 * when every instance stayed busy; PIPES_ERR_PEER_CLOSED when the server
 * dropped the client at once, e.g. its authorize callback refused it or
 * max_connections was reached) and *out is untouched. A server that drops
 * the client a moment later shows as a DISCONNECTED event instead.
 * With PIPES_CLIENT_RECONNECT the first attempt is made the same way, but a
 * failure (no server yet, busy, identity mismatch) is not returned: the
 * client is created and keeps trying in the background with exponential
 * backoff (reconnect_min_ms doubling up to reconnect_max_ms, each delay
 * jittered between half and all of it); failed attempts are counted in
 * errors_by_status. Whenever the pipe breaks it reconnects the same way.
 * Each break is a DISCONNECTED event and each connection a CONNECTED event
 * with the next connection_id (1, 2, ...). Sends queue while disconnected.
 * The CONNECTED event of the first connection is delivered too.
 * *out is written before the first event can run (so a callback may read
 * it); on failure it is restored to its old value.
 * Ownership: *out is the caller's until pipes_client_close. Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_client_connect(const pipes_client_config *config,
                                                       pipes_client **out);

/* Queues a copy of data and returns at once; messages are written in the
 * order sent; data may be NULL when size is 0. send_context, if not NULL,
 * comes back in exactly one
 * PIPES_EVENT_SEND_COMPLETE event: PIPES_OK once written to the pipe, or the
 * failure (PIPES_ERR_PEER_CLOSED, PIPES_ERR_LOCAL_CLOSED ...). Errors
 * returned here mean nothing was queued and no event follows:
 * PIPES_ERR_QUEUE_FULL, PIPES_ERR_MESSAGE_TOO_LARGE, PIPES_ERR_NOT_CONNECTED
 * (the pipe broke and the client does not reconnect), PIPES_ERR_STOPPING.
 * In reconnect mode, sends queued while disconnected wait for the next
 * connection; a message whose write was cut by a break is reported failed,
 * never silently resent. Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_client_send(pipes_client *client, const void *data,
                                                    size_t size, void *send_context);

/* Sends and waits: waits for room in the queue, then until the message is
 * written, up to timeout_ms in all (PIPES_INFINITE allowed). Returns PIPES_OK
 * once written, PIPES_ERR_TIMEOUT if it could not be written in time (it is
 * then withdrawn and never written later), or the failure. A
 * pipes_client_close from another thread meanwhile makes it return
 * PIPES_ERR_STOPPING, and close returns only after it did. Must not be
 * called from an engine worker thread (PIPES_ERR_WRONG_THREAD).
 * Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_client_send_wait(pipes_client *client, const void *data,
                                                         size_t size, uint32_t timeout_ms);

/* Copies the identity of the process serving the current connection, read
 * when it was opened: process id, session id, and the user SID when that
 * process's token could be read (a LocalSystem server seen from a user
 * process usually cannot be read: ""). Lets a caller hold the server to a
 * rule of its own, e.g. "the process the service manager started".
 * PIPES_ERR_NOT_CONNECTED when there is no usable connection. Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_client_get_server(pipes_client *client,
                                                          pipes_peer_identity *out);

/* The owner SID ("S-1-...", into sid of cap characters) of the pipe
 * instance the client is connected to, read from the pipe itself
 * (GetSecurityInfo): the kernel records it when the server creates the
 * instance, from the creator's token or the owner its security descriptor
 * names, and a standard user cannot name another user. Unlike the server
 * process's user it needs no access to that process and no process id
 * that could be reused. PIPES_ERR_NOT_CONNECTED, PIPES_ERR_INVALID_ARGUMENT
 * (also when cap is too small),
 * PIPES_ERR_SYSTEM when it cannot be read. Thread-safe, also from
 * callbacks. */
PIPES_API pipes_status PIPES_CALL pipes_client_get_server_owner(pipes_client *client,
                                                                wchar_t *sid, size_t cap);

/* Fills *out (out->struct_size set by the caller). Thread-safe. */
PIPES_API pipes_status PIPES_CALL pipes_client_get_stats(pipes_client *client, pipes_stats *out);

/* Closes the client: cancels its I/O and reconnect timer, waits until every
 * completion has been dequeued, frees it. No callback of this client runs
 * after it returns, and its connection gets no DISCONNECTED event; queued
 * sends with a send_context are not reported.
 * From inside a callback (its own, or another object's on any engine) it
 * behaves as pipes_server_stop does there. Thread-safe; calling
 * it twice is a use-after-free. */
PIPES_API pipes_status PIPES_CALL pipes_client_close(pipes_client *client);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_H */
