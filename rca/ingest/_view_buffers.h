/* Arrow string views in C, as the compiled kernels read and write them: shared by
 * _line_bounds.c, _derive_kernels.c, formats/_clf_scan.c and formats/_registry_scan.c.
 *
 * A view is 16 bytes: u32 length, then the bytes inline when at most 12, else a 4-byte
 * prefix, u32 data-buffer index and u32 offset. Every index and every (offset, length) read
 * is checked against the buffers acquired; a view outside them reads as NULL.
 *
 * Also the byte searches and the hash the kernels share, eight bytes at a time (load8,
 * has_byte, ascii_bytes, seeded_hash): byte loops over paths and agents were
 * their hottest lines.
 */
#ifndef RCA_VIEW_BUFFERS_H
#define RCA_VIEW_BUFFERS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    Py_ssize_t count;
    Py_buffer *held;
} ViewBuffers;

static inline void view_buffers_release(ViewBuffers *b)
{
    for (Py_ssize_t i = 0; i < b->count; i++)
        PyBuffer_Release(&b->held[i]);
    PyMem_Free(b->held);
    b->held = NULL;
    b->count = 0;
}

/* Holds every buffer of the sequence list (kept alive and readable while the GIL is
 * released); 0 with a Python error set when list is not a sequence of buffers. */
static inline int view_buffers_acquire(PyObject *list, ViewBuffers *b)
{
    b->count = 0;
    b->held = NULL;
    PyObject *seq = PySequence_Fast(list, "data buffers must be a sequence");
    if (!seq)
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    b->held = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_buffer));
    if (!b->held) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, i), &b->held[i], PyBUF_SIMPLE) < 0) {
            view_buffers_release(b);
            Py_DECREF(seq);
            return 0;
        }
        b->count = i + 1;
    }
    Py_DECREF(seq);
    return 1;
}

/* The bytes of view v (their length in *length; where they lie in *index and *offset,
 * both 0 for an inline view), or NULL when the view points outside the buffers. */
static inline const uint8_t *view_text(const uint8_t *v, const ViewBuffers *b, uint32_t *length,
                                       uint32_t *index, uint32_t *offset)
{
    memcpy(length, v, 4);
    *index = *offset = 0;
    if (*length <= 12)
        return v + 4;
    memcpy(index, v + 8, 4);
    memcpy(offset, v + 12, 4);
    if ((Py_ssize_t)*index >= b->count || (int64_t)*offset + *length > (int64_t)b->held[*index].len)
        return NULL;
    return (const uint8_t *)b->held[*index].buf + *offset;
}

/* Eight bytes at a time (SWAR): ONES * c has byte c in every lane; HIGHS is bit 7 of each. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load8(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* Whether some byte of x equals c (exact for "some"; which one is for the caller to read:
 * the borrow may also flag a byte above the first match). */
static inline int has_byte(uint64_t x, uint8_t c)
{
    uint64_t y = x ^ (ONES * c);
    return ((y - ONES) & ~y & HIGHS) != 0;
}

/* Whether the n bytes at s are all ASCII, reading 8 at a time: a byte loop was a third of
 * the routes kernel's time on registry paths. */
static inline int ascii_bytes(const uint8_t *s, uint32_t n)
{
    uint64_t any = 0;
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        any |= load8(s + i);
    for (; i < n; i++)
        any |= s[i];
    return (any & HIGHS) == 0;
}

/* A seeded hash of the n bytes at p, eight at a time. intern's seed is drawn per process
 * (_derive._SEED), so log lines cannot be crafted to collide; intern also gives up on a
 * long probe whatever the cause. */
static inline uint64_t seeded_hash(const uint8_t *p, uint32_t n, uint64_t seed)
{
    /* Four independent lanes of 8 bytes: one lane's multiply chain made the hash of a
     * 100-byte agent cost more than the rest of the kernel. */
    const uint64_t m = 0xFF51AFD7ED558CCDULL;
    uint64_t a = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL), b = a ^ 0x5851F42D4C957F2DULL;
    uint64_t c = a ^ 0x14057B7EF767814FULL, d = a ^ 0xD6E8FEB86659FD93ULL;
    uint32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = (a ^ load8(p + i)) * m;
        b = (b ^ load8(p + i + 8)) * m;
        c = (c ^ load8(p + i + 16)) * m;
        d = (d ^ load8(p + i + 24)) * m;
        a ^= a >> 29;
        b ^= b >> 31;
        c ^= c >> 27;
        d ^= d >> 33;
    }
    for (; i + 8 <= n; i += 8) {
        a = (a ^ load8(p + i)) * m;
        a ^= a >> 29;
    }
    uint64_t tail = 0;
    memcpy(&tail, p + i, n - i);
    uint64_t h = (a ^ tail) * m;
    h ^= (b * 0xC4CEB9FE1A85EC53ULL) ^ ((c * m) >> 17) ^ ((d * 0xC4CEB9FE1A85EC53ULL) >> 11);
    h = (h ^ (h >> 32)) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

/* Copies n <= 16 bytes with fixed-size moves the compiler inlines, never reading outside
 * [src, src + n): a memcpy of variable length is a libc call, and the view writers make
 * one per row and column (5% of nginx ingest CPU went to those calls). */
static inline void copy_small(uint8_t *dst, const uint8_t *src, uint32_t n)
{
    if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else if (n) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/* Writes the view of the length bytes at bytes, which lie at offset in data buffer index:
 * inline when at most 12 bytes, else their 4-byte prefix, the index and the offset. */
static inline void view_write(uint8_t *view, const uint8_t *bytes, uint32_t length,
                              uint32_t index, uint32_t offset)
{
    memset(view, 0, 16);
    memcpy(view, &length, 4);
    if (length <= 12) {
        copy_small(view + 4, bytes, length);
    } else {
        memcpy(view + 4, bytes, 4);
        memcpy(view + 8, &index, 4);
        memcpy(view + 12, &offset, 4);
    }
}

#endif
