/*
 * connmap.c - the server's id -> connection table.
 */
#include "connmap.h"

#include "runtime.h"

static pipes_conn g_tombstone_storage;
#define TOMBSTONE (&g_tombstone_storage)

static size_t slot_of(uint64_t id, size_t capacity)
{
    /* ids are sequential; a multiplicative hash spreads them */
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & (capacity - 1);
}

static int grow(pipes_connmap *m)
{
    size_t cap = m->capacity ? m->capacity * 2 : 64, i;
    pipes_conn **slots;
    if (m->live * 4 < m->capacity)
        cap = m->capacity; /* mostly tombstones: rehash in place size */
    slots = (pipes_conn **)pipes_mem_alloc(cap * sizeof *slots);
    if (!slots)
        return 0;
    for (i = 0; i < m->capacity; i++) {
        pipes_conn *c = m->slots[i];
        size_t s;
        if (!c || c == TOMBSTONE)
            continue;
        for (s = slot_of(c->id, cap); slots[s]; s = (s + 1) & (cap - 1)) {
        }
        slots[s] = c;
    }
    pipes_mem_free(m->slots);
    m->slots = slots;
    m->capacity = cap;
    m->used = m->live;
    return 1;
}

int pipes_connmap_insert(pipes_connmap *m, pipes_conn *c)
{
    size_t s;
    if ((m->used + 1) * 2 > m->capacity && !grow(m))
        return 0;
    for (s = slot_of(c->id, m->capacity); m->slots[s] && m->slots[s] != TOMBSTONE;
         s = (s + 1) & (m->capacity - 1)) {
    }
    if (!m->slots[s])
        m->used++;
    m->slots[s] = c;
    m->live++;
    return 1;
}

static size_t find_slot(const pipes_connmap *m, uint64_t id)
{
    size_t s;
    if (!m->capacity)
        return (size_t)-1;
    for (s = slot_of(id, m->capacity); m->slots[s]; s = (s + 1) & (m->capacity - 1)) {
        if (m->slots[s] != TOMBSTONE && m->slots[s]->id == id)
            return s;
    }
    return (size_t)-1;
}

pipes_conn *pipes_connmap_find(const pipes_connmap *m, uint64_t id)
{
    size_t s = find_slot(m, id);
    return s == (size_t)-1 ? NULL : m->slots[s];
}

void pipes_connmap_remove(pipes_connmap *m, uint64_t id)
{
    size_t s = find_slot(m, id);
    if (s == (size_t)-1)
        return;
    m->slots[s] = TOMBSTONE;
    m->live--;
}

void pipes_connmap_free(pipes_connmap *m)
{
    pipes_mem_free(m->slots);
    m->slots = NULL;
    m->capacity = m->used = m->live = 0;
}
