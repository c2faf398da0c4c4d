/*
 * spoolint.h - the parts of the spool, shared by its three files (and its
 * unit tests; the rest of the service uses only the spool_* API of svc.h):
 *   spool.c       the API: acceptance, bounds and eviction, delivery state, expiry
 *   spoolfile.c   the on-disk record format (one file per record) and recovery at open
 *   spoolindex.c  the records in memory: by sequence number, by id, delivered ones in order
 */
#ifndef PIPES_SPOOLINT_H
#define PIPES_SPOOLINT_H

#include "svc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-submitter counters of the index: one per SID that has records (the
 * SID of the record's `sender`; "" for records accepted before senders were
 * recorded). Owned by the index; a record points to its owner from
 * spool_index_append on, and the owner goes with its last record. */
typedef struct spool_owner {
    struct spool_owner *next; /* index: next in its hash chain */
    size_t count;             /* records of this SID */
    size_t pending;           /* of which not delivered */
    uint64_t pending_bytes;   /* their tray-message bytes */
    char sid[PIPES_PROTO_MAX_SID + 1];
} spool_owner;

/* One record in memory: one allocation holding this struct, then its id,
 * target user, tray message, submitter SID and tag, each NUL-terminated
 * (SPOOL_REC_ID/USER/MSG/SID/TAG), so a record costs its text plus about a
 * hundred bytes. (SID, id) is its key: each submitter has its own ids.
 * acked is a second allocation (NULL until a session acknowledges it).
 * Owned by whoever holds it: the loader or spool_add until
 * spool_index_append, then the index until spool_index_remove frees it. */
typedef struct spool_rec {
    uint64_t seq;
    int64_t accept_ms, expire_ms;
    struct spool_rec *id_next;       /* index: next in its (SID, id) hash chain */
    struct spool_rec *older, *newer; /* index: neighbours in the delivered list */
    spool_owner *owner;              /* index: the counters of its SID */
    struct spool_rec *tag_next;      /* index: next in its (SID, tag) hash chain */
    uint32_t *acked;                 /* sessions that have it now (ACK1/REJ1 minus RST1) */
    uint32_t msg_len;
    uint32_t kind;                   /* pipes_proto_target_kind */
    uint32_t session;                /* the target session when kind is SESSION */
    uint32_t displayed_session;      /* the first session whose tray acknowledged it */
    uint16_t user_len;
    uint8_t id_len, sid_len, tag_len;
    uint8_t acked_n, acked_cap;
    uint8_t delivered; /* a tray took it (ACK1) or refused it for good (REJ1); never reset */
    uint8_t displayed; /* a tray took it (ACK1); displayed_session says which first */
    uint8_t question;  /* it has actions: a tray may answer it (spoolanswer.c) */
    uint8_t replaced;  /* a newer record of its submitter, tag and target came: sent to no
                        * session more, and delivered (evictable); its file says so (RPL1) */
    struct spool_answer *answer; /* its first answer (spoolanswer.c), or NULL */
} spool_rec;

#define SPOOL_REC_ID(r) ((char *)((r) + 1))
#define SPOOL_REC_USER(r) (SPOOL_REC_ID(r) + (r)->id_len + 1)
#define SPOOL_REC_MSG(r) (SPOOL_REC_USER(r) + (r)->user_len + 1)
#define SPOOL_REC_SID(r) (SPOOL_REC_MSG(r) + (r)->msg_len + 1)
#define SPOOL_REC_TAG(r) (SPOOL_REC_SID(r) + (r)->sid_len + 1)

/* A record's texts: its key (submitter SID, "" for none, and id), target
 * user ("" unless the target is a user), tray message and tag ("" for none). */
typedef struct spool_rec_texts {
    const char *id, *sid, *user, *msg, *tag;
    size_t id_len, sid_len, user_len, msg_len, tag_len;
} spool_rec_texts;

/* A record with these texts (copied; lengths within the protocol limits),
 * all other fields zero. NULL when out of memory or a length is over its
 * limit. */
spool_rec *spool_rec_new(const spool_rec_texts *t);
void spool_rec_free(spool_rec *r);
/* Heap bytes r holds: what spool_stats.record_memory sums. */
size_t spool_rec_memory(const spool_rec *r);
int spool_rec_has_ack(const spool_rec *r, uint32_t session);
/* Adds session to r's acknowledgements; 0 when out of memory or full
 * (SVC_MAX_SESSIONS). Records still outside an index only. */
int spool_rec_add_ack(spool_rec *r, uint32_t session);
/* Removes session from r's acknowledgements; nonzero if it was there. */
int spool_rec_drop_ack(spool_rec *r, uint32_t session);

/* ---- spoolfile.c ---------------------------------------------------------- */

#define SPOOL_HDR_SIZE 56u
/* The largest file a record can be: header, user, message and 4096 trailers. */
#define SPOOL_MAX_FILE                                                                           \
    (SPOOL_HDR_SIZE + PIPES_PROTO_MAX_USER + PIPES_PROTO_MAX_MESSAGE + 8u * 4096u)

/* A record's file name, "<seq as 16 hex digits>.<ext>" and its NUL. */
#define SPOOL_NAME_SIZE 24
/* <dir>\<seq as 16 hex digits>.<ext> into out (MAX_PATH). */
void spoolfile_path(const wchar_t *dir, uint64_t seq, const wchar_t *ext, wchar_t *out);
/* Encodes r (header, user, message; no trailers) into out; returns the
 * size, or 0 when cap is too small. */
size_t spoolfile_encode(const spool_rec *r, uint8_t *out, size_t cap);
/* Writes r to <seq>.tmp, flushes it and renames it to <seq>.ntf. Returns
 * nonzero when done; else GetLastError says why and no file is left. */
int spoolfile_write(const safedir *dir, const spool_rec *r);
/* Writes data to a new <seq>.<tmp_ext> (never an existing file truncated),
 * flushes it and renames it to <seq>.<ext> through the checked handle.
 * Returns nonzero when done; else GetLastError says why and no file is left. */
int spoolfile_put(const safedir *dir, uint64_t seq, const wchar_t *tmp_ext,
                  const wchar_t *ext, const void *data, size_t size);
/* The sequence number a name "<16 hex digits>.<ext>" gives, or 0. */
uint64_t spoolfile_name_seq(const wchar_t *name, const wchar_t *ext);
/* "<seq as 16 hex digits>.<ext>" into out (SPOOL_NAME_SIZE). */
void spoolfile_name(uint64_t seq, const wchar_t *ext, wchar_t *out);
/* spoolfile_append_trailer to <seq>.<ext> (the answer files, spoolanswer.c). */
void spoolfile_append_trailer_to(const safedir *dir, uint64_t seq, const wchar_t *ext,
                                 const char tag[4], uint32_t session);
/* Appends an 8-byte trailer (tag "ACK1", "REJ1", "RST1" or "RPL1") to <seq>.ntf,
 * unflushed: losing it repeats a delivery at worst. */
void spoolfile_append_trailer(const safedir *dir, uint64_t seq, const char tag[4],
                              uint32_t session);
void spoolfile_delete(const safedir *dir, uint64_t seq);
/* Reads and checks one <seq>.ntf found in dir (trailers applied); *seq_out
 * gets the sequence number of its name (0 if the name is not one). NULL and
 * *why when the file fails a check: the caller sets it aside. */
spool_rec *spoolfile_load(const safedir *dir, const WIN32_FIND_DATAW *fd, uint64_t *seq_out,
                          const char **why);
/* Moves a file of dir that failed a check to <dir>\damaged and logs it. */
void spoolfile_set_aside(const safedir *dir, const wchar_t *name, const char *why);
/* Opens the file name of dir for reading through a checked handle (safedir.h);
 * INVALID_HANDLE_VALUE and *why ("unreadable", or not a plain file: a link)
 * when it cannot. */
HANDLE spoolfile_open_read(const safedir *dir, const wchar_t *name, const char **why);
/* Deals with every <seq>.tmp of dir before the records load: a write that
 * was flushed but whose rename to .ntf never reached the disk (a power
 * loss) is renamed now; one that fails its checks, or whose .ntf exists,
 * is deleted. Counts in info->temp_promoted / temp_removed. */
void spoolfile_recover_temps(const safedir *dir, spool_open_info *info);

/* ---- spoolindex.c --------------------------------------------------------- */

typedef struct spool_slot {
    uint64_t seq;
    spool_rec *rec; /* NULL once removed, until the next compaction */
} spool_slot;

/* Every record held, three ways: slots in sequence order (binary search by
 * seq; a removal leaves a hole that a compaction closes once holes
 * outnumber records, so both are amortized O(1)); a (SID, id) hash table
 * (chained through id_next, grown to keep chains short); and the delivered
 * records in the order they became delivered (the eviction order). The
 * counters, in all and per SID (owners, a second hash table), are kept as
 * records come, go and change state. Not locked: the spool's lock covers
 * it. */
typedef struct spool_index {
    spool_slot *slots;
    size_t len, cap; /* slots in use (records and holes), allocated */
    spool_rec **buckets;
    size_t bucket_n; /* a power of two, or 0 */
    spool_rec *oldest_delivered, *newest_delivered;
    size_t count;           /* records held */
    uint64_t bytes;         /* their tray-message bytes */
    size_t pending;         /* records not delivered */
    uint64_t pending_bytes; /* their tray-message bytes */
    uint64_t memory;        /* spool_rec_memory of every record, and the owners */
    uint64_t id_compares;   /* stored ids compared by spool_index_find_id */
    spool_owner **owners;
    size_t owner_bucket_n;  /* a power of two, or 0 */
    size_t owner_n;         /* SIDs with records */
    spool_rec **tag_buckets; /* the latest record of each (SID, tag, target), by (SID, tag) */
    size_t tag_bucket_n;     /* a power of two, or 0 */
    size_t tag_n;            /* records in it */
} spool_index;

void spool_index_init(spool_index *x);
/* Frees every record and the index's arrays. */
void spool_index_free(spool_index *x);
/* Takes r (its seq above every record's ever appended); 0 when out of
 * memory, r still the caller's. */
int spool_index_append(spool_index *x, spool_rec *r);
/* r (appended, tagged, not replaced) becomes the latest state of its
 * submitter's tag for its target: the record that was (same SID, tag and
 * target: kind, session, user), if any, is marked replaced, made delivered
 * and returned, so the caller records it in its file (RPL1); else NULL.
 * The spool keeps only the latest state of a tag for sessions that have
 * not had it yet (PROTOCOL.md 2.1). 0-cost when r has no tag. */
spool_rec *spool_index_take_tag(spool_index *x, spool_rec *r);
/* Unlinks r and frees it. */
void spool_index_remove(spool_index *x, spool_rec *r);
/* The record of this submitter SID ("" for none) with this id, or NULL. */
spool_rec *spool_index_find_id(spool_index *x, const char *sid, const char *id);
/* The counters of a SID, or NULL when it has no record. */
const spool_owner *spool_index_owner(const spool_index *x, const char *sid);
spool_rec *spool_index_find_seq(const spool_index *x, uint64_t seq);
/* Position in slots of the first record after seq (may be a hole; <= len). */
size_t spool_index_pos_after(const spool_index *x, uint64_t seq);
/* r becomes delivered: no longer pending, newest in the eviction order. */
void spool_index_set_delivered(spool_index *x, spool_rec *r);
/* spool_rec_add_ack for a record of the index (keeps memory counted). */
int spool_index_add_ack(spool_index *x, spool_rec *r, uint32_t session);
/* Closes the holes once they outnumber the records. Only between scans:
 * positions change. */
void spool_index_compact(spool_index *x);

/* The spool object (svc.h); its files share it. */
struct spool {
    SRWLOCK lock; /* everything below */
    safedir dir;  /* the spool folder, open (checked) until spool_close */
    spool_limits lim;
    spool_index idx;
    uint64_t next_seq;
    int64_t next_expiry; /* nothing expires before this (a lower bound) */
    uint64_t evicted;
    uint64_t quota_refusals;
    struct spool_answer *owing; /* answered records some session still owes a withdraw */
    uint64_t answers, answers_late; /* first answers stored, late ones recorded, since open */
};

/* Nonzero when r's target includes the viewer's session (ignoring what
 * that session acknowledged). spool.c. */
int spool_rec_reaches(const spool_rec *r, const spool_viewer *v);

/* ---- spoolanswer.c -------------------------------------------------------- */

/* At open, once every record is indexed: attaches each <seq>.ans to its
 * record, deletes the ones whose record is gone and unfinished temps. */
void spool_answers_load(spool *s);
/* r (answered or not) leaves the spool: its answer file goes too. With the lock held. */
void spool_answer_forget_locked(spool *s, spool_rec *r);
/* r's acknowledgements changed: recomputes whether it owes a withdraw. With the lock held. */
void spool_answer_acks_changed_locked(spool *s, spool_rec *r);
/* r's answer into *out (type RESPONSE); 0 when it has none. With the lock held. */
int spool_answer_get_locked(const spool_rec *r, pipes_proto_answer *out);

#ifdef __cplusplus
}
#endif

#endif /* PIPES_SPOOLINT_H */
