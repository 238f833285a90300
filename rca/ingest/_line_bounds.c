/* Compiled line splitting of rca.ingest._files: where each line of a chunk starts and ends,
 * and where its bytes outside printable ASCII are (LineChunk.bytes_view); and the lines as
 * Arrow string views into the chunk (string_views, for LineChunk.lines).
 *
 * Ingest stage, read step. The numpy passes in _files.py are the reference (the tests
 * compare both on every shape they know and on Hypothesis' bytes); they cost about 0.3 us
 * a line in full-buffer comparisons and nonzero scans, this about 0.03: eight bytes are
 * tested at a time, and only a word holding a byte outside 32..126 is looked at byte by
 * byte.
 *
 * One walk over the chunk fills outputs sized for lines of 128 bytes on average; only a
 * chunk of shorter lines takes a second, counting first so that Python allocates them
 * exactly. Walks run without the GIL.
 *
 * detach copies a String column's long strings out of the chunk into a buffer of their own
 * (_files.detached), so that parsed rows kept in memory do not keep every 16 MB chunk.
 */
#include "_view_buffers.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Whether some byte of x is below 32 or above 126 (exact for "some"; which byte is
 * decided byte by byte). Below 32: the classic haszero-style borrow test; above 126: adding
 * one sets the high bit of 127, and bytes from 128 have it already. */
static inline int unusual_word(uint64_t x)
{
    uint64_t below = (x - 32 * ONES) & ~x & HIGHS;
    uint64_t above = ((x + ONES) | x) & HIGHS;
    return (below | above) != 0;
}

static inline int unusual_byte(uint8_t c) { return c < 32 || c > 126; }

typedef struct {
    int64_t *starts, *ends, *unusual; /* NULL: only count */
    Py_ssize_t cap_lines, cap_others, lines, others;
    int64_t start; /* of the current line */
} Walk;

/* The byte at p, outside 32..126: a line end, the "\r" of a "\r\n" (part of the line
 * terminator), or an unusual byte. 0 when an output is full. */
static inline int flagged(Walk *w, const uint8_t *data, Py_ssize_t n, Py_ssize_t p)
{
    uint8_t c = data[p];
    if (c == '\n') {
        if (w->starts) {
            if (w->lines == w->cap_lines)
                return 0;
            int64_t end = p;
            if (end > w->start && data[end - 1] == '\r')
                end--;
            w->starts[w->lines] = w->start;
            w->ends[w->lines] = end;
        }
        w->lines++;
        w->start = p + 1;
    } else if (!(c == '\r' && p + 1 < n && data[p + 1] == '\n')) {
        if (w->starts) {
            if (w->others == w->cap_others)
                return 0;
            w->unusual[w->others] = p;
        }
        w->others++;
    }
    return 1;
}

/* One walk over data: counts the "\n" bytes (lines) and the other bytes outside 32..126
 * (others), not counting a "\r" right before a "\n"; with outputs, also fills them, never
 * past their capacity. Returns 0 if the counts exceed it. Sixteen bytes are tested at a time
 * (SSE2, x86-64's baseline), else eight; only the flagged bytes are looked at one by one. */
static int walk(const uint8_t *data, Py_ssize_t n, Walk *w)
{
    Py_ssize_t p = 0;
#ifdef __SSE2__
    /* Signed bytes: those from 128 are negative, so "below 32" flags them too. */
    const __m128i low = _mm_set1_epi8(32), del = _mm_set1_epi8(127);
    for (; p + 16 <= n; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(data + p));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmplt_epi8(v, low), _mm_cmpeq_epi8(v, del)));
        for (; mask; mask &= mask - 1)
            if (!flagged(w, data, n, p + __builtin_ctz(mask)))
                return 0;
    }
#endif
    while (p < n) {
        if (p + 8 <= n) {
            uint64_t x;
            memcpy(&x, data + p, 8);
            if (!unusual_word(x)) {
                p += 8;
                continue;
            }
        }
        Py_ssize_t stop = p + 8 <= n ? p + 8 : n;
        for (; p < stop; p++)
            if (unusual_byte(data[p]) && !flagged(w, data, n, p))
                return 0;
    }
    return 1;
}

PyDoc_STRVAR(count_doc,
"count(data) -> (lines, unusual)\n"
"\n"
"How many \"\\n\" bytes data holds, and how many other bytes outside printable ASCII\n"
"(32..126), not counting a \"\\r\" right before a \"\\n\".");

static PyObject *count(PyObject *self, PyObject *args)
{
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b))
        return NULL;
    Walk w = {NULL, NULL, NULL, 0, 0, 0, 0, 0};
    Py_BEGIN_ALLOW_THREADS
    walk(b.buf, b.len, &w);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    return Py_BuildValue("nn", w.lines, w.others);
}

PyDoc_STRVAR(fill_doc,
"fill(data, starts, ends, unusual) -> (lines, unusual) or None\n"
"\n"
"Line i of data is [starts[i], ends[i]) (int64), without its \"\\n\" and one \"\\r\" before\n"
"it; unusual (int64) gets the positions of the other bytes outside 32..126, in increasing\n"
"order. Returns how many of each it wrote, or None when the arrays are too small (count()\n"
"gives the sizes). Bytes after the last \"\\n\" belong to no line.");

static PyObject *fill(PyObject *self, PyObject *args)
{
    Py_buffer b, bs, be, bu;
    if (!PyArg_ParseTuple(args, "y*w*w*w*", &b, &bs, &be, &bu))
        return NULL;
    PyObject *result = NULL;
    Walk w = {bs.buf, be.buf, bu.buf, bs.len / 8, bu.len / 8, 0, 0, 0};
    int fits = 0;
    if (bs.len % 8 || bu.len % 8 || be.len != bs.len) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.fill: output sizes do not match");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    fits = walk(b.buf, b.len, &w);
    Py_END_ALLOW_THREADS
    if (fits) {
        result = Py_BuildValue("nn", w.lines, w.others);
    } else {
        result = Py_None;
        Py_INCREF(result);
    }
done:
    PyBuffer_Release(&b);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&be);
    PyBuffer_Release(&bu);
    return result;
}

PyDoc_STRVAR(views_doc,
"views(buf, lo, hi, out)\n"
"\n"
"Arrow string views of bytes [lo[i], hi[i]) of buf (int64 bounds) into out (16 bytes a\n"
"row): u32 length, then the bytes inline when at most 12, else their first 4 bytes, data\n"
"buffer index 0 and the u32 offset lo[i]. buf must be under 4 GiB; bounds outside it are\n"
"an error.");

static PyObject *views(PyObject *self, PyObject *args)
{
    Py_buffer b, bl, bh, bo;
    if (!PyArg_ParseTuple(args, "y*y*y*w*", &b, &bl, &bh, &bo))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = bl.len / 8, bad = 0;
    if (bl.len % 8 || bh.len != bl.len || bo.len < 16 * n) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.views: buffer sizes do not match");
        goto done;
    }
    if (b.len >= ((Py_ssize_t)1 << 32)) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.views: a buffer over 4 GiB");
        goto done;
    }
    const uint8_t *data = b.buf;
    const int64_t *lo = bl.buf, *hi = bh.buf;
    uint8_t *out = bo.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t a = lo[i], z = hi[i];
        uint8_t *view = out + 16 * i;
        memset(view, 0, 16);
        if (a < 0 || z < a || z > b.len) {
            bad++;
            continue;
        }
        view_write(view, data + a, (uint32_t)(z - a), 0, (uint32_t)a);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_ValueError, "_line_bounds.views: %zd rows lie outside the buffer", bad);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&b);
    PyBuffer_Release(&bl);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bo);
    return result;
}

PyDoc_STRVAR(detach_doc,
"detach(views, buffers, present, out, data)\n"
"\n"
"Copies n string views (16 bytes a row, over the sequence of data buffers) into out, the\n"
"bytes of those over 12 bytes packed into data in row order (buffer index 0). Rows whose\n"
"present byte (n uint8) is 0 get an empty view. data must hold exactly the long rows'\n"
"bytes; views outside their buffers are an error.");

static PyObject *detach(PyObject *self, PyObject *args)
{
    Py_buffer bv, bp, bo, bd;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y*Oy*w*w*", &bv, &list, &bp, &bo, &bd))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers buffers = {0, NULL};
    Py_ssize_t n = bv.len / 16, bad = 0;
    int64_t used = 0;
    if (bv.len % 16 || bp.len != n || bo.len < bv.len) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.detach: buffer sizes do not match");
        goto done;
    }
    if (bd.len >= ((Py_ssize_t)1 << 32)) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.detach: a buffer over 4 GiB");
        goto done;
    }
    if (!view_buffers_acquire(list, &buffers))
        goto done;
    const uint8_t *in = bv.buf, *present = bp.buf;
    uint8_t *out = bo.buf, *data = bd.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint8_t *view = out + 16 * i;
        memset(view, 0, 16);
        if (!present[i])
            continue;
        uint32_t length, index, offset;
        const uint8_t *text = view_text(in + 16 * i, &buffers, &length, &index, &offset);
        if (!text || (length > 12 && used + length > bd.len)) {
            bad++;
            break;
        }
        view_write(view, text, length, 0, (uint32_t)used);
        if (length > 12) {
            memcpy(data + used, text, length);
            used += length;
        }
    }
    Py_END_ALLOW_THREADS
    if (bad || used != bd.len) {
        PyErr_SetString(PyExc_ValueError,
                        "_line_bounds.detach: the views do not match their buffers or data's size");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    view_buffers_release(&buffers);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bd);
    return result;
}

PyDoc_STRVAR(long_bytes_doc,
"long_bytes(views, present, counts)\n"
"\n"
"Adds to counts[j] (int64, one per data buffer) the length of every view over 12 bytes\n"
"into buffer j, of the rows whose present byte (n uint8) is not 0: what\n"
"_files.detached weighs a buffer's use by. A buffer index past counts is an error.");

static PyObject *long_bytes(PyObject *self, PyObject *args)
{
    Py_buffer bv, bp, bc;
    if (!PyArg_ParseTuple(args, "y*y*w*", &bv, &bp, &bc))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = bv.len / 16, buffers = bc.len / 8, bad = 0;
    if (bv.len % 16 || bp.len != n || bc.len % 8) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.long_bytes: buffer sizes do not match");
        goto done;
    }
    const uint8_t *in = bv.buf, *present = bp.buf;
    int64_t *counts = bc.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, index;
        memcpy(&length, in + 16 * i, 4);
        if (length <= 12 || !present[i])
            continue;
        memcpy(&index, in + 16 * i + 8, 4);
        if ((Py_ssize_t)index >= buffers) {
            bad++;
            break;
        }
        counts[index] += length;
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_line_bounds.long_bytes: a view points past its buffers");
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bc);
    return result;
}

static PyMethodDef methods[] = {
    {"count", count, METH_VARARGS, count_doc},
    {"fill", fill, METH_VARARGS, fill_doc},
    {"views", views, METH_VARARGS, views_doc},
    {"detach", detach, METH_VARARGS, detach_doc},
    {"long_bytes", long_bytes, METH_VARARGS, long_bytes_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_line_bounds",
    .m_doc = "Compiled line splitting for rca.ingest._files (see _line_bounds.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__line_bounds(void) { return PyModule_Create(&module); }
