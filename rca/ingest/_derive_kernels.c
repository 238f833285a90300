/* Compiled kernels of rca.ingest._derive: the registry routes of request paths (endpoint,
 * repository, namespace) and the /24 prefixes of IPv4 clients, for String columns of ASCII
 * text; and intern, which numbers the distinct values of any String column (the user
 * agents, whose attributes are computed once per distinct agent).
 *
 * Ingest stage, derive step. The Polars expressions in _derive.py are the reference (the
 * tests compare both on every shape they know and on Hypothesis' values); they cost about
 * 0.4 us a request in regex search, substrings, comparisons and joins, these about 0.05.
 *
 * Input and output columns are Arrow string views: 16 bytes, u32 length, then the bytes
 * inline when at most 12, else a 4-byte prefix, u32 data-buffer index and u32 offset. The
 * repository and namespace are substrings of the path, so their views point into the
 * path's own data buffers (no text is copied). Every data buffer index and every (offset,
 * length) read is checked against the buffers given; a view outside them is an error.
 */
#include "_routes.h" /* the route logic, shared with the nginx scanner */

typedef struct {
    const uint8_t *bytes; /* the text */
    uint32_t length;
    uint32_t index, offset; /* where it lies, when not inline */
    int inline_;
} Text;

/* The text of a view, or 0 when the view points outside the buffers. */
static int text_of(const uint8_t *view, const ViewBuffers *b, Text *t)
{
    t->bytes = view_text(view, b, &t->length, &t->index, &t->offset);
    t->inline_ = t->length <= 12;
    return t->bytes != NULL;
}

/* A view of bytes [lo, lo + length) of t (length > 12 means t is not inline). */
static void sub_view(uint8_t *view, const Text *t, uint32_t lo, uint32_t length)
{
    view_write(view, t->bytes + lo, length, t->index, t->offset + lo);
}

/* Whether t is ASCII. Checked here rather than by Polars (len_bytes against len_chars
 * cost 4% of nginx ingest): the kernel reads these bytes anyway. */
static int ascii(const Text *t) { return ascii_bytes(t->bytes, t->length); }

static void set_bit(uint8_t *bits, Py_ssize_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

PyDoc_STRVAR(routes_doc,
"routes(paths, path_buffers, methods, method_buffers, endpoint, repository, namespace, valid)\n"
"\n"
"paths and methods: n string views each (16 bytes a row, no nulls) with their\n"
"data buffers (sequences of buffers). Fills endpoint, repository and namespace (n views\n"
"each; the last two point into the path buffers) and valid (2 zeroed bitmaps of\n"
"(n + 7) // 8 bytes: repository, namespace). Returns the number of routed rows, or -1\n"
"(outputs unfinished) if some path or method is not ASCII.");

static PyObject *routes(PyObject *self, PyObject *args)
{
    Py_buffer paths, methods, endpoint, repository, namespace_, valid;
    PyObject *path_list, *method_list;
    if (!PyArg_ParseTuple(args, "y*Oy*Ow*w*w*w*", &paths, &path_list, &methods, &method_list,
                          &endpoint, &repository, &namespace_, &valid))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers pb = {0, NULL}, mb = {0, NULL};
    Py_ssize_t n = paths.len / 16, bitmap = (n + 7) / 8, routed = 0, bad = 0, wide = 0;
    if (paths.len % 16 || methods.len != paths.len || endpoint.len < paths.len ||
        repository.len < paths.len || namespace_.len < paths.len || valid.len < 2 * bitmap) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.routes: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(path_list, &pb) || !view_buffers_acquire(method_list, &mb))
        goto done;
    const uint8_t *pv = paths.buf, *mv = methods.buf;
    uint8_t *ev = endpoint.buf, *rv = repository.buf, *nv = namespace_.buf, *bits = valid.buf;
    uint8_t names[BLOB + 1][16];
    name_views(names);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        Text p, m;
        if (!text_of(pv + 16 * i, &pb, &p) || !text_of(mv + 16 * i, &mb, &m)) {
            bad++;
            break;
        }
        if (!ascii(&p) || !ascii(&m)) {
            wide++;
            break;
        }
        Route r = route_of(p.bytes, p.length, m.bytes, m.length);
        memset(rv + 16 * i, 0, 16);
        memset(nv + 16 * i, 0, 16);
        if (r.routed) {
            sub_view(rv + 16 * i, &p, 4, r.repo_len);
            sub_view(nv + 16 * i, &p, 4, r.ns_len);
            set_bit(bits, i);
            set_bit(bits + bitmap, i);
            routed++;
        }
        memcpy(ev + 16 * i, names[r.kind], 16);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.routes: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(wide ? -1 : routed);
done:
    view_buffers_release(&pb);
    view_buffers_release(&mb);
    PyBuffer_Release(&paths);
    PyBuffer_Release(&methods);
    PyBuffer_Release(&endpoint);
    PyBuffer_Release(&repository);
    PyBuffer_Release(&namespace_);
    PyBuffer_Release(&valid);
    return result;
}

/* Digits [lo, hi) of an address part: 1 to 3 ASCII digits. */
static int octet(const uint8_t *s, uint32_t lo, uint32_t hi)
{
    if (hi <= lo || hi - lo > 3)
        return 0;
    for (uint32_t i = lo; i < hi; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Where "$1.$2.$3" ends if the address matches _derive._V4,
 * "^(?:::[fF]{4}:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$", with the start of $1
 * in *start; else 0. */
static uint32_t ipv4_head(const uint8_t *s, uint32_t n, uint32_t *start)
{
    uint32_t lo = 0;
    if (n >= 7 && s[0] == ':' && s[1] == ':' && (s[2] | 0x20) == 'f' && (s[3] | 0x20) == 'f' &&
        (s[4] | 0x20) == 'f' && (s[5] | 0x20) == 'f' && s[6] == ':')
        lo = 7;
    uint32_t dots[3], found = 0;
    for (uint32_t i = lo; i < n; i++)
        if (s[i] == '.') {
            if (found == 3)
                return 0;
            dots[found++] = i;
        }
    if (found != 3 || !octet(s, lo, dots[0]) || !octet(s, dots[0] + 1, dots[1]) ||
        !octet(s, dots[1] + 1, dots[2]) || !octet(s, dots[2] + 1, n))
        return 0;
    *start = lo;
    return dots[2];
}

PyDoc_STRVAR(prefixes_doc,
"ipv4_prefixes(addresses, buffers, present, prefixes, text, valid, other) -> int\n"
"\n"
"addresses: n string views with their data buffers; present: n uint8, 0 for\n"
"a null address. Fills prefixes (n views into text, 16 bytes a row) and valid (a zeroed\n"
"bitmap of (n + 7) // 8 bytes) with \"a.b.c.0/24\" for IPv4 addresses (and ::ffff:\n"
"mapped ones), null for the rest, and sets other[i] (uint8) to 1 for addresses with a\n"
"colon that are not IPv4, left to the IPv6 expressions. Returns how many those are, or -1\n"
"(outputs unfinished) if some address is not ASCII.");

static PyObject *ipv4_prefixes(PyObject *self, PyObject *args)
{
    Py_buffer addresses, present, prefixes, text, valid, other;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y*Oy*w*w*w*w*", &addresses, &list, &present, &prefixes, &text,
                          &valid, &other))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers b = {0, NULL};
    Py_ssize_t n = addresses.len / 16, others = 0, bad = 0, wide = 0;
    if (addresses.len % 16 || present.len < n || prefixes.len < 16 * n || text.len < 16 * n ||
        valid.len < (n + 7) / 8 || other.len < n) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.ipv4_prefixes: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(list, &b))
        goto done;
    const uint8_t *av = addresses.buf, *is = present.buf;
    uint8_t *pv = prefixes.buf, *out = text.buf, *bits = valid.buf, *flag = other.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        Text a;
        memset(pv + 16 * i, 0, 16);
        flag[i] = 0;
        if (!is[i])
            continue;
        if (!text_of(av + 16 * i, &b, &a)) {
            bad++;
            break;
        }
        if (!ascii(&a)) {
            wide++;
            break;
        }
        uint32_t start = 0, end = ipv4_head(a.bytes, a.length, &start);
        if (!end) {
            if (a.length && memchr(a.bytes, ':', a.length)) {
                flag[i] = 1;
                others++;
            }
            continue;
        }
        /* "$1.$2.$3" + ".0/24": at most 11 + 5 bytes, written at row i's 16 bytes of text. */
        uint8_t *dst = out + 16 * i;
        uint32_t length = end - start;
        copy_small(dst, a.bytes + start, length);
        memcpy(dst + length, ".0/24", 5);
        length += 5;
        Text t = {dst, length, 0, (uint32_t)(16 * i), 0};
        sub_view(pv + 16 * i, &t, 0, length);
        set_bit(bits, i);
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.ipv4_prefixes: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(wide ? -1 : others);
done:
    view_buffers_release(&b);
    PyBuffer_Release(&addresses);
    PyBuffer_Release(&present);
    PyBuffer_Release(&prefixes);
    PyBuffer_Release(&text);
    PyBuffer_Release(&valid);
    PyBuffer_Release(&other);
    return result;
}

#define MAX_PROBE 64

PyDoc_STRVAR(intern_doc,
"intern(texts, buffers, present, seed, codes, firsts)\n"
"\n"
"texts: n string views with their data buffers; present: n uint8, 0 for a null row (all\n"
"nulls are one value). Numbers the distinct values in order of first appearance: fills\n"
"codes (n int32, each row's number) and firsts (n int32, the first row of each number).\n"
"Returns how many distinct values there are, or -1 (outputs unfinished) when a hash probe\n"
"runs longer than 64 slots, which the caller answers by another way.");

static PyObject *intern(PyObject *self, PyObject *args)
{
    Py_buffer texts, present, codes, firsts;
    PyObject *list;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "y*Oy*Kw*w*", &texts, &list, &present, &seed, &codes, &firsts))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers b = {0, NULL};
    int32_t *slots = NULL;
    Py_ssize_t n = texts.len / 16, distinct = 0, bad = 0, crowded = 0;
    if (texts.len % 16 || present.len != n || codes.len < 4 * n || firsts.len < 4 * n ||
        n >= ((Py_ssize_t)1 << 30)) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.intern: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(list, &b))
        goto done;
    /* Open addressing at most half full: a power of two of at least 2n slots. */
    size_t cap = 64;
    while (cap < 2 * (size_t)n)
        cap <<= 1;
    slots = PyMem_RawMalloc(cap * sizeof(int32_t));
    if (!slots) {
        PyErr_NoMemory();
        goto done;
    }
    memset(slots, 0xff, cap * sizeof(int32_t)); /* -1: empty */
    const uint8_t *tv = texts.buf, *is = present.buf;
    int32_t *code = codes.buf, *first = firsts.buf;
    int32_t null_code = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is[i]) {
            if (null_code < 0) {
                null_code = (int32_t)distinct;
                first[distinct++] = (int32_t)i;
            }
            code[i] = null_code;
            continue;
        }
        Text a;
        if (!text_of(tv + 16 * i, &b, &a)) {
            bad++;
            break;
        }
        uint64_t h = seeded_hash(a.bytes, a.length, seed);
        size_t at = (size_t)h & (cap - 1);
        int probes = 0;
        for (;;) {
            int32_t s = slots[at];
            if (s < 0) {
                slots[at] = (int32_t)distinct;
                first[distinct] = (int32_t)i;
                code[i] = (int32_t)distinct++;
                break;
            }
            Text o;
            text_of(tv + 16 * (Py_ssize_t)first[s], &b, &o); /* read once already */
            if (o.length == a.length && memcmp(o.bytes, a.bytes, a.length) == 0) {
                code[i] = s;
                break;
            }
            if (++probes > MAX_PROBE) {
                crowded++;
                break;
            }
            at = (at + 1) & (cap - 1);
        }
        if (crowded)
            break;
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "_derive_kernels.intern: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(crowded ? -1 : distinct);
done:
    PyMem_RawFree(slots);
    view_buffers_release(&b);
    PyBuffer_Release(&texts);
    PyBuffer_Release(&present);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&firsts);
    return result;
}

static PyMethodDef module_methods[] = {
    {"routes", routes, METH_VARARGS, routes_doc},
    {"ipv4_prefixes", ipv4_prefixes, METH_VARARGS, prefixes_doc},
    {"intern", intern, METH_VARARGS, intern_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_derive_kernels",
    .m_doc = "Compiled kernels of rca.ingest._derive (see _derive_kernels.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__derive_kernels(void) { return PyModule_Create(&module); }
