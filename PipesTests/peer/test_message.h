/*
 * test_message.h - the self-checking message format the PipesLib tests and
 * pipes_test_peer.exe exchange (C and C++, header only).
 *
 * A test message is a 16-byte header followed by `body_len` bytes:
 *   offset 0  uint32 tag       who sent it (a client index, a process tag...)
 *   offset 4  uint32 seq       0, 1, 2 ... per sender, to check order
 *   offset 8  uint32 body_len  bytes after the header
 *   offset 12 uint32 checksum  FNV-1a 32 of the body
 * all little-endian. The body is a pseudo-random stream seeded by (tag, seq),
 * so a receiver can check both the checksum and the exact content, and a
 * message delivered to the wrong connection or out of order is detected.
 */
#ifndef PIPES_TEST_MESSAGE_H
#define PIPES_TEST_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PT_MSG_HEADER_SIZE 16u

static inline uint32_t pt_fnv1a(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < size; i++) {
        h ^= data[i];
        h *= 16777619u;
    }
    return h;
}

static inline void pt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t pt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Fills body[0..len) with the stream for (tag, seq). */
static inline void pt_body_fill(uint8_t *body, size_t len, uint32_t tag, uint32_t seq)
{
    uint32_t x = (tag * 0x9E3779B9u) ^ (seq * 0x85EBCA6Bu) ^ 0x2545F491u;
    size_t i;
    if (x == 0)
        x = 1;
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        body[i] = (uint8_t)(x >> 11);
    }
}

/* Writes a whole message of total_size bytes (at least PT_MSG_HEADER_SIZE)
 * into buf. */
static inline void pt_msg_fill(uint8_t *buf, size_t total_size, uint32_t tag, uint32_t seq)
{
    size_t body_len = total_size - PT_MSG_HEADER_SIZE;
    pt_body_fill(buf + PT_MSG_HEADER_SIZE, body_len, tag, seq);
    pt_put32(buf, tag);
    pt_put32(buf + 4, seq);
    pt_put32(buf + 8, (uint32_t)body_len);
    pt_put32(buf + 12, pt_fnv1a(buf + PT_MSG_HEADER_SIZE, body_len));
}

/* Checks a received message: length, checksum, and (when full_check) that
 * the body is exactly the stream for its (tag, seq). Returns 1 when valid
 * and stores tag and seq. */
static inline int pt_msg_check(const uint8_t *buf, size_t size, int full_check, uint32_t *tag,
                               uint32_t *seq)
{
    uint32_t body_len;
    const uint8_t *body;
    if (!buf || size < PT_MSG_HEADER_SIZE)
        return 0;
    body_len = pt_get32(buf + 8);
    if ((size_t)body_len != size - PT_MSG_HEADER_SIZE)
        return 0;
    body = buf + PT_MSG_HEADER_SIZE;
    if (pt_fnv1a(body, body_len) != pt_get32(buf + 12))
        return 0;
    if (full_check) {
        uint32_t x = (pt_get32(buf) * 0x9E3779B9u) ^ (pt_get32(buf + 4) * 0x85EBCA6Bu) ^
                     0x2545F491u;
        size_t i;
        if (x == 0)
            x = 1;
        for (i = 0; i < body_len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if (body[i] != (uint8_t)(x >> 11))
                return 0;
        }
    }
    if (tag)
        *tag = pt_get32(buf);
    if (seq)
        *seq = pt_get32(buf + 4);
    return 1;
}

#endif /* PIPES_TEST_MESSAGE_H */
