/*
 * history.h - the notification history: a bounded list in memory, persisted
 * as an append-only log of JSON lines with compaction.
 *
 * File: <data dir>\history.jsonl, UTF-8, one notification per line exactly as
 * pipes_proto_write_notification writes it (so any protocol parser reads it
 * back), always with "time" (the receive time when the sender gave none).
 * Oldest first.
 *
 * Durability: entries are appended with WriteFile and made durable together
 * by tray_history_commit (FlushFileBuffers); the tray acknowledges only
 * after the commit. When the file holds more than twice the limit, commit
 * rewrites it with the entries in memory: temp file, FlushFileBuffers,
 * MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH), so a crash leaves the old
 * or the new file, never a mix.
 *
 * Recovery on open: a last line without its newline (a write cut by a crash;
 * never acknowledged) is cut off. Any other line that is not a valid
 * notification makes the file corrupt: it is renamed to
 * history.corrupt-<UTC time>.jsonl and a fresh history starts.
 */
#ifndef TRAY_HISTORY_H
#define TRAY_HISTORY_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "pipes_protocol.h"

typedef struct tray_entry {
    char id[PIPES_PROTO_MAX_ID + 1];
    uint32_t id_hash;
    pipes_proto_level level;
    int64_t time_ms;   /* the notification's time, Unix ms, UTC */
    char *title;       /* UTF-8, heap */
    char *body;
    char *source;
} tray_entry;

typedef enum tray_history_open_result {
    TRAY_HISTORY_OPENED = 0,      /* loaded (possibly empty or new) */
    TRAY_HISTORY_TAIL_CUT = 1,    /* loaded; a torn last line was removed */
    TRAY_HISTORY_SET_ASIDE = 2,   /* the file was corrupt: renamed, started fresh */
    TRAY_HISTORY_FAILED = 3       /* cannot use the folder: runs in memory only */
} tray_history_open_result;

typedef struct tray_history {
    tray_entry *ring;     /* ring_size entries: capacity plus room for one
                             uncommitted batch, so a failed commit can be
                             undone without losing older entries */
    size_t ring_size;
    size_t capacity;
    size_t count;
    size_t head;          /* index of the oldest entry */
    wchar_t dir[MAX_PATH];
    wchar_t path[MAX_PATH];
    HANDLE file;          /* open for appending, or INVALID_HANDLE_VALUE */
    size_t file_lines;    /* lines in the file, for compaction */
    size_t uncommitted;   /* appended since the last commit */
    wchar_t aside[MAX_PATH]; /* where a corrupt file went (SET_ASIDE) */
    LARGE_INTEGER committed_end; /* file size after the last commit */
    char *line;           /* writer buffer, PIPES_PROTO_MAX_MESSAGE + 2 */
    pipes_proto_notification *scratch; /* for parsing on load and compaction */
} tray_history;

/* Creates dir if needed and loads dir\history.jsonl. capacity >= 1. */
tray_history_open_result tray_history_open(tray_history *h, const wchar_t *dir, size_t capacity);

/* Nonzero when an entry with this id is in the history. */
int tray_history_contains(const tray_history *h, const char *id);

/* Appends a valid notification (has_time set) to memory and the file,
 * evicting the oldest entry when full. Not durable until commit. Returns
 * the new entry, or NULL on failure (out of memory, write failed; nothing
 * added). The entry stays the history's: the pointer is valid only until
 * the next tray_history_commit, which evicts down to the capacity and so
 * frees entries of the batch itself when more were appended than the
 * history holds. Copy what is needed beyond that. */
const tray_entry *tray_history_append(tray_history *h, const pipes_proto_notification *n);

/* Makes every append since the last commit durable; compacts when due.
 * On failure the uncommitted entries are removed from memory again and
 * FALSE is returned. */
BOOL tray_history_commit(tray_history *h);

/* Number of entries, and entry i counted from the newest (0) back. */
size_t tray_history_count(const tray_history *h);
const tray_entry *tray_history_newest(const tray_history *h, size_t i);

void tray_history_close(tray_history *h);

#endif /* TRAY_HISTORY_H */
