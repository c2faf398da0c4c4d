/*
 * connmap.h - connection id -> connection, for a server's sends and
 * disconnects. Open addressing with linear probing; not thread-safe (the
 * server lock protects it).
 */
#ifndef PIPES_CONNMAP_H
#define PIPES_CONNMAP_H

#include <stdint.h>

#include "conn.h"

typedef struct pipes_connmap {
    pipes_conn **slots; /* NULL = empty; TOMBSTONE = deleted */
    size_t capacity;    /* a power of two */
    size_t used;        /* live + tombstones */
    size_t live;
} pipes_connmap;

int pipes_connmap_insert(pipes_connmap *m, pipes_conn *c); /* 0 when out of memory */
pipes_conn *pipes_connmap_find(const pipes_connmap *m, uint64_t id);
void pipes_connmap_remove(pipes_connmap *m, uint64_t id);
void pipes_connmap_free(pipes_connmap *m);

#endif /* PIPES_CONNMAP_H */
