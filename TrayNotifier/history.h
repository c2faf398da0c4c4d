/*
 * history.h - the notification history: a bounded list in memory, persisted
 * as an append-only log of JSON lines with compaction.
 *
 * File: <data dir>\history.jsonl, UTF-8, one message per line exactly as the
 * protocol writer writes it (so any protocol parser reads it back), oldest
 * first:
 *   - a notification ("type" absent), always with "time" (the receive time
 *     when the sender gave none) and, from this version on, "sender" (the
 *     service's, or the direct sender's own identity: receiver.c);
 *   - after it, the answer given to it, if any: a "response" (answered in
 *     this session) or a "withdraw" (answered elsewhere, or withdrawn), or
 *     both in that order when this session's answer lost the race (the
 *     withdraw's answer is the one that counts: tray_history_answer;
 *     compaction writes only the withdraw).
 * A clear (tag + "clear":true) is stored like a notification: it is what
 * marks the tag's earlier entries cleared when the file is read back.
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

/* Where a tagged entry stands (history window "State" column). */
typedef enum tray_tag_state {
    TRAY_TAG_NONE = 0,     /* no tag */
    TRAY_TAG_CURRENT = 1,  /* the newest of its sender and tag */
    TRAY_TAG_REPLACED = 2, /* a newer one of the same sender and tag came */
    TRAY_TAG_CLEARED = 3,  /* cleared by its sender (also: the clear itself) */
    TRAY_TAG_WITHDRAWN = 4 /* withdrawn by the service (answered elsewhere) */
} tray_tag_state;

typedef struct tray_entry {
    char id[PIPES_PROTO_MAX_ID + 1];
    uint32_t id_hash;
    pipes_proto_level level;
    int64_t time_ms;   /* the notification's time, Unix ms, UTC */
    char *title;       /* UTF-8, heap ("" for a clear) */
    char *body;
    char *source;
    char *from;        /* the sender's account ("" when unknown), heap */
    char *line;        /* the stored notification line (no newline), heap */
    char *answer_line; /* the stored response / withdraw line, or NULL */
    char sid[PIPES_PROTO_MAX_SID + 1]; /* the sender's SID ("" when none): tag scope */
    char tag[PIPES_PROTO_MAX_TAG + 1];
    int is_clear;
    int has_actions;
    tray_tag_state tag_state;
    pipes_proto_answer answer; /* type RESPONSE or WITHDRAW when answered, else 0 */
    char answer_label[PIPES_PROTO_MAX_LABEL + 1]; /* the chosen action's label, or "" */
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

/* Nonzero when an entry with this id from this sender SID ("" = none) is in
 * the history: ids are per sender (two senders may use the same id). An
 * entry without a SID (stored by an older version) matches every sender. */
int tray_history_contains(const tray_history *h, const char *sid, const char *id);

/* The newest entry with this id (any sender) that has actions, or NULL:
 * where a response or withdraw belongs. */
const tray_entry *tray_history_find_question(const tray_history *h, const char *id);

/* The newest entry with this id from this sender, or NULL. */
const tray_entry *tray_history_find(const tray_history *h, const char *sid, const char *id);

/* Stores the answer given to the newest entry with a->id that has actions
 * (a RESPONSE from this session, or a WITHDRAW from the service) as a line
 * after it; label is the chosen action's label ("" if none). A WITHDRAW
 * replaces this session's RESPONSE (it raced the answer the service took
 * first, and lost); otherwise an entry keeps its first answer. Flushed at
 * once, together with what the current batch appended before it (known gap:
 * if committing that batch then fails, its lines stay in the file while
 * memory drops them). Returns the entry, or NULL (no such entry: nothing
 * stored; already answered: kept as it was; or the write failed). */
const tray_entry *tray_history_answer(tray_history *h, const pipes_proto_answer *a);

/* Appends a valid notification (has_time set) to memory and the file,
 * evicting the oldest entry when full. A tagged one marks the older entries
 * of its sender SID and tag replaced (or cleared, for a clear). Not durable until commit. Returns
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
