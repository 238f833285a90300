/* A compiled scanner for the plain lines of the registry_json format.
 *
 * Ingest stage, format layer, the hot path. Polars' JSON decoder (``str.json_decode`` /
 * ``read_ndjson``) was most of the cost of reading a registry's JSON log. Nearly every line
 * is one flat logrus object of string and integer values, so this scanner reads such lines
 * in one pass and gives, per wanted key, the raw text of its value: exactly what the
 * decoder gives for it in a String field. It computes nothing from the values (no times,
 * no durations): the Polars expressions that follow run on its strings as on the decoder's.
 *
 * A line is taken only when the scanner is sure of it: an object ``{...}`` with nothing
 * around it, keys of printable ASCII without escapes, values that are strings of printable
 * ASCII or well-formed UTF-8 (escapes: \" \\ \/ in wanted values; also \b \f \n \r \t in
 * other values), integers (wanted values: at most 18 digits and not "-0", which the decoder
 * spells "0"; other values: any JSON number), true, false or null; every wanted key at
 * most once (the decoder keeps the first of a repeated key, Python's json the last); only
 * spaces between tokens. Any other line (nested values, \u escapes, control bytes or DEL,
 * floats in wanted values, torn text, ...) is marked redo for the Polars decoder, which
 * stays the reference. True and false are given as their text, as the decoder gives them.
 *
 * Log lines are attacker-controlled. Every line is read inside its own bytes (each view
 * checked against its data buffer first), and every write is at a row below the line
 * count (every output's size checked before the scan) or inside aux (checked per line).
 */
#include "../_view_buffers.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_KEYS 32
#define MAX_INT_DIGITS 18
#define MAX_OTHER_NUMBER 40
#define MAX_AUX (((int64_t)1 << 32) - 1) /* views hold u32 offsets */

typedef struct {
    const uint8_t *text[MAX_KEYS]; /* the raw value (inside its quotes for a string) */
    uint32_t length[MAX_KEYS];
    uint8_t state[MAX_KEYS]; /* 0 absent, 1 null, 2 value, 3 value with escapes */
} Found;

#define SHORT_KEY 64

typedef struct {
    int count;
    const uint8_t *name[MAX_KEYS];
    uint32_t length[MAX_KEYS];
    uint32_t by_length[SHORT_KEY]; /* bit k: key k has this length (longer keys: linear) */
} Keys;

enum { ABSENT, NULL_VALUE, VALUE, ESCAPED };

/* The wanted key s[0, n) is, or -1. Most keys are told apart by their length alone. */
static int which_key(const Keys *keys, const uint8_t *s, uint32_t n)
{
    uint32_t candidates = n < SHORT_KEY ? keys->by_length[n] : 0xffffffffu;
    for (int k = 0; k < keys->count && candidates >> k; k++)
        if ((candidates >> k & 1) && keys->length[k] == n && memcmp(keys->name[k], s, n) == 0)
            return k;
    return -1;
}

static uint32_t skip_spaces(const uint8_t *p, uint32_t at, uint32_t n)
{
    while (at < n && p[at] == ' ')
        at++;
    return at;
}


/* Bit 7 of each of the 8 bytes at p (read unaligned, little-endian) that may be a quote,
 * a backslash, a control byte, DEL or outside ASCII. The lowest bit set is always such a
 * byte (a subtraction only borrows upwards, from a byte that is one); bits above it may be
 * false positives, which the caller reads one by one anyway. */
static inline uint64_t specials(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t quote = x ^ (ONES * '"'), slash = x ^ (ONES * '\\'), del = x ^ (ONES * 0x7f);
    uint64_t zero = ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) | ((del - ONES) & ~del);
    return (zero | (x - ONES * 0x20) | x) & HIGHS;
}

/* The first position >= at (below n) holding a byte that may be special (see specials),
 * or n: sixteen bytes at a time with SSE2 (x86-64 always has it), then eight, then the
 * caller reads the last few one by one. */
static inline uint32_t next_special(const uint8_t *p, uint32_t at, uint32_t n)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i del = _mm_set1_epi8(0x7f), space = _mm_set1_epi8(0x20);
    while (at + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + at));
        /* As signed bytes, control bytes and bytes outside ASCII are all below 0x20. */
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, slash)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmplt_epi8(x, space)));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return at + (uint32_t)__builtin_ctz(mask);
        at += 16;
    }
#endif
    while (at + 8 <= n) {
        uint64_t found = specials(p + at);
        if (found)
            return at + (uint32_t)(__builtin_ctzll(found) >> 3);
        at += 8;
    }
    return at;
}

/* The length of the well-formed UTF-8 sequence at p[0] (a byte >= 0x80), or 0: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static uint32_t utf8_length(const uint8_t *p, uint32_t room)
{
    uint8_t c = p[0];
    uint32_t length = c >= 0xc2 && c <= 0xdf   ? 2
                      : c >= 0xe0 && c <= 0xef ? 3
                      : c >= 0xf0 && c <= 0xf4 ? 4
                                               : 0;
    if (length == 0 || length > room)
        return 0;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (uint32_t j = 2; j < length; j++)
        if (p[j] < 0x80 || p[j] > 0xbf)
            return 0;
    return length;
}

/* The end (after the closing quote) of the string whose opening quote is at p[at], or 0
 * when it is not one the scanner takes. *escaped: it holds a backslash. A wanted value may
 * only have \" \\ \/ (undone below); another one may also have \b \f \n \r \t. Text
 * outside ASCII must be well-formed UTF-8 (the decoder passes it through as it is). */
static uint32_t string_end(const uint8_t *p, uint32_t at, uint32_t n, int wanted, int *escaped)
{
    *escaped = 0;
    uint32_t j = at + 1;
    while ((j = next_special(p, j, n)) < n) {
        uint8_t c = p[j];
        if (c == '"')
            return j + 1;
        if (c >= 0x80) {
            uint32_t length = utf8_length(p + j, n - j);
            if (!length)
                return 0;
            j += length;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == '\\') {
            if (j + 1 >= n)
                return 0;
            uint8_t e = p[j + 1];
            int simple = e == '"' || e == '\\' || e == '/';
            int other = e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't';
            if (!(simple || (!wanted && other)))
                return 0;
            *escaped = 1;
            j++;
        }
        j++;
    }
    return 0;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* The end of the JSON number at p[at], or 0 when it is not one the scanner takes: for a
 * wanted value an integer of at most 18 digits other than "-0" (its text is what the
 * decoder gives), for another value any JSON number of at most 40 characters. */
static uint32_t number_end(const uint8_t *p, uint32_t at, uint32_t n, int wanted)
{
    uint32_t j = at;
    if (j < n && p[j] == '-')
        j++;
    uint32_t digits = j;
    if (j >= n || !is_digit(p[j]))
        return 0;
    if (p[j] == '0')
        j++;
    else
        while (j < n && is_digit(p[j]))
            j++;
    if (wanted) {
        if (j - digits > MAX_INT_DIGITS || (j - at == 2 && p[at] == '-' && p[digits] == '0'))
            return 0;
        if (j < n && (p[j] == '.' || p[j] == 'e' || p[j] == 'E' || is_digit(p[j])))
            return 0;
        return j;
    }
    if (j < n && p[j] == '.') {
        j++;
        if (j >= n || !is_digit(p[j]))
            return 0;
        while (j < n && is_digit(p[j]))
            j++;
    }
    if (j < n && (p[j] == 'e' || p[j] == 'E')) {
        j++;
        if (j < n && (p[j] == '+' || p[j] == '-'))
            j++;
        if (j >= n || !is_digit(p[j]))
            return 0;
        while (j < n && is_digit(p[j]))
            j++;
    }
    return j - at <= MAX_OTHER_NUMBER ? j : 0;
}

static int literal(const uint8_t *p, uint32_t at, uint32_t n, const char *word)
{
    uint32_t length = (uint32_t)strlen(word);
    return n - at >= length && memcmp(p + at, word, length) == 0;
}

/* Read one line [p, p + n) into f; 1 when it is taken, 0 when it is redone. */
static int scan_line(const uint8_t *p, uint32_t n, const Keys *keys, Found *f)
{
    memset(f->state, ABSENT, sizeof f->state);
    if (n < 2 || p[0] != '{')
        return 0; /* the closing brace is checked where the scan ends (reading the line in order) */
    uint32_t at = skip_spaces(p, 1, n);
    if (at < n && p[at] == '}')
        return at == n - 1; /* {} */
    for (;;) {
        if (at >= n || p[at] != '"')
            return 0;
        uint32_t key_lo = at + 1, key_hi = key_lo;
        while ((key_hi = next_special(p, key_hi, n)) < n && p[key_hi] != '"') {
            if (p[key_hi] < 0x20 || p[key_hi] > 0x7e || p[key_hi] == '\\')
                return 0;
            key_hi++;
        }
        if (key_hi >= n)
            return 0;
        int k = which_key(keys, p + key_lo, key_hi - key_lo);
        if (k >= 0 && f->state[k] != ABSENT)
            return 0; /* a repeated wanted key */
        at = skip_spaces(p, key_hi + 1, n);
        if (at >= n || p[at] != ':')
            return 0;
        at = skip_spaces(p, at + 1, n);
        if (at >= n)
            return 0;
        uint8_t c = p[at];
        uint32_t end, lo = at;
        int escaped = 0;
        if (c == '"') {
            end = string_end(p, at, n, k >= 0, &escaped);
            lo = at + 1;
        } else if (c == '-' || is_digit(c)) {
            end = number_end(p, at, n, k >= 0);
        } else if (literal(p, at, n, "true")) {
            end = at + 4;
        } else if (literal(p, at, n, "false")) {
            end = at + 5;
        } else if (literal(p, at, n, "null")) {
            end = at + 4;
        } else {
            return 0; /* nested values, anything else */
        }
        if (end == 0)
            return 0;
        if (k >= 0) {
            f->state[k] = c == 'n' ? NULL_VALUE : escaped ? ESCAPED : VALUE;
            f->text[k] = p + lo;
            f->length[k] = (c == '"' ? end - 1 : end) - lo;
        }
        at = skip_spaces(p, end, n);
        if (at >= n)
            return 0;
        if (p[at] == '}')
            return at == n - 1;
        if (p[at] != ',')
            return 0;
        at = skip_spaces(p, at + 1, n);
    }
}

/* Undo \" \\ \/ of s[0, n) into out (room for n bytes); the length written. The runs
 * between backslashes are copied whole. */
static uint32_t unescape(const uint8_t *s, uint32_t n, uint8_t *out)
{
    uint32_t w = 0, j = 0;
    while (j < n) {
        const uint8_t *at = memchr(s + j, '\\', n - j);
        uint32_t run = at ? (uint32_t)(at - (s + j)) : n - j;
        memcpy(out + w, s + j, run);
        w += run;
        j += run;
        if (j + 1 < n) { /* a backslash and the character it escapes */
            out[w++] = s[j + 1];
            j += 2;
        } else if (j < n) {
            out[w++] = s[j++]; /* a last lone backslash (never in a scanned string) */
        }
    }
    return w;
}

/* An Arrow string view of text [s, s + n) of data buffer 0 at offset. */
static void write_view(uint8_t *view, const uint8_t *s, uint32_t n, uint32_t offset)
{
    view_write(view, s, n, 0, offset);
}

static void set_bit(uint8_t *bits, Py_ssize_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static int too_small(Py_buffer *b, Py_ssize_t need, const char *name)
{
    if (b->len < need) {
        PyErr_Format(PyExc_ValueError, "_registry_scan.scan: %s holds %zd bytes, needs %zd", name,
                     b->len, need);
        return 1;
    }
    return 0;
}

static int read_keys(PyObject *list, Keys *keys, PyObject **held)
{
    PyObject *seq = PySequence_Fast(list, "_registry_scan: keys must be a sequence of bytes");
    if (!seq)
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > MAX_KEYS) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan: too many keys");
        Py_DECREF(seq);
        return 0;
    }
    keys->count = (int)n;
    memset(keys->by_length, 0, sizeof keys->by_length);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) > UINT32_MAX) {
            PyErr_SetString(PyExc_TypeError, "_registry_scan: keys must be bytes");
            Py_DECREF(seq);
            return 0;
        }
        keys->name[i] = (const uint8_t *)PyBytes_AS_STRING(item);
        keys->length[i] = (uint32_t)PyBytes_GET_SIZE(item);
        if (keys->length[i] < SHORT_KEY)
            keys->by_length[keys->length[i]] |= 1u << i;
    }
    *held = seq; /* keeps the bytes alive while the GIL is released */
    return 1;
}

PyDoc_STRVAR(scan_doc,
"scan(lines, buffers, keys, out, valid, redo, aux, used) -> redone\n"
"\n"
"lines: n 16-byte Arrow string views (the lines, no nulls) over the data buffers\n"
"`buffers`; keys: the wanted keys (k of them, at most 32, bytes). For each line taken, the\n"
"raw text of each wanted key's value (escapes \\\" \\\\ \\/ undone) as a string view in out\n"
"(k columns of n views) with its bit set in valid (k bitmaps of (n + 7) // 8 bytes; null:\n"
"absent or JSON null). Values over 12 bytes are written to aux (the views' data buffer 0);\n"
"used (k int64) receives how many bytes of it each key's values take (see compact).\n"
"redo[i] (uint8) is 1 for a line left to the Polars decoder (its views are null); returns\n"
"how many.");

static PyObject *scan(PyObject *self, PyObject *args)
{
    Py_buffer b_lines, b_out, b_valid, b_redo, b_aux, b_used;
    PyObject *buffer_list, *key_list, *key_seq = NULL, *result = NULL;
    ViewBuffers buffers = {0, NULL};
    Keys keys;
    if (!PyArg_ParseTuple(args, "y*OOw*w*w*w*w*", &b_lines, &buffer_list, &key_list, &b_out,
                          &b_valid, &b_redo, &b_aux, &b_used))
        return NULL;
    Py_ssize_t n = b_lines.len / 16, bitmap = (n + 7) / 8;
    if (!read_keys(key_list, &keys, &key_seq) || !view_buffers_acquire(buffer_list, &buffers))
        goto done;
    if (b_lines.len % 16) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.scan: lines are not 16-byte views");
        goto done;
    }
    if (too_small(&b_out, (Py_ssize_t)keys.count * n * 16, "out") ||
        too_small(&b_valid, (Py_ssize_t)keys.count * bitmap, "valid") ||
        too_small(&b_redo, n, "redo") || too_small(&b_used, (Py_ssize_t)keys.count * 8, "used"))
        goto done;
    const uint8_t *lines = b_lines.buf;
    uint8_t *out = b_out.buf, *valid = b_valid.buf, *redo = b_redo.buf, *aux = b_aux.buf;
    int64_t *used = b_used.buf, room = b_aux.len < MAX_AUX ? b_aux.len : MAX_AUX, filled = 0;
    Py_ssize_t redone = 0, outside = 0;
    memset(valid, 0, (size_t)(keys.count * bitmap));
    for (int k = 0; k < keys.count; k++)
        used[k] = 0;

    Py_BEGIN_ALLOW_THREADS
    Found f;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, index, offset;
        const uint8_t *p = view_text(lines + 16 * i, &buffers, &length, &index, &offset);
        for (int k = 0; k < keys.count; k++)
            memset(out + ((Py_ssize_t)k * n + i) * 16, 0, 16);
        int taken = p && scan_line(p, length, &keys, &f);
        outside += !p;
        /* Each value is first written to aux (then kept there if over 12 bytes): there
         * must be room for all of them. */
        int64_t need = 0;
        for (int k = 0; taken && k < keys.count; k++)
            if (f.state[k] >= VALUE)
                need += f.length[k];
        if (need > room - filled)
            taken = 0;
        redo[i] = !taken;
        if (!taken) {
            redone++;
            continue;
        }
        for (int k = 0; k < keys.count; k++) {
            if (f.state[k] < VALUE)
                continue;
            uint8_t *at = aux + filled;
            uint32_t size = f.length[k];
            if (f.state[k] == ESCAPED)
                size = unescape(f.text[k], f.length[k], at);
            else
                memcpy(at, f.text[k], size);
            write_view(out + ((Py_ssize_t)k * n + i) * 16, at, size, (uint32_t)filled);
            if (size > 12) {
                filled += size;
                used[k] += size;
            }
            set_bit(valid + k * bitmap, i);
        }
    }
    Py_END_ALLOW_THREADS

    if (outside) {
        PyErr_Format(PyExc_ValueError, "_registry_scan.scan: %zd lines lie outside their buffers",
                     outside);
        goto done;
    }
    result = PyLong_FromSsize_t(redone);
done:
    view_buffers_release(&buffers);
    Py_XDECREF(key_seq);
    PyBuffer_Release(&b_lines);
    PyBuffer_Release(&b_out);
    PyBuffer_Release(&b_valid);
    PyBuffer_Release(&b_redo);
    PyBuffer_Release(&b_aux);
    PyBuffer_Release(&b_used);
    return result;
}

PyDoc_STRVAR(compact_doc,
"compact(views, aux, out, text)\n"
"\n"
"One column of scan's views (n, over aux) rewritten into out (n views) over text, a buffer\n"
"of its own holding exactly the column's values over 12 bytes (scan's used for its key):\n"
"a column then keeps only its own text alive. Views outside aux, or more text than text\n"
"holds, are an error.");

static PyObject *compact(PyObject *self, PyObject *args)
{
    Py_buffer b_views, b_aux, b_out, b_text;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &b_views, &b_aux, &b_out, &b_text))
        return NULL;
    Py_ssize_t n = b_views.len / 16, bad = 0;
    if (b_views.len % 16 || too_small(&b_out, b_views.len, "out"))
        goto done;
    const uint8_t *views = b_views.buf, *aux = b_aux.buf;
    uint8_t *out = b_out.buf, *text = b_text.buf;
    int64_t written = 0, size = b_text.len < MAX_AUX ? b_text.len : MAX_AUX;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, offset;
        memcpy(&length, views + 16 * i, 4);
        memcpy(&offset, views + 16 * i + 12, 4);
        if (length <= 12) {
            memcpy(out + 16 * i, views + 16 * i, 16);
            continue;
        }
        if ((int64_t)offset + length > (int64_t)b_aux.len || written + length > size) {
            memset(out + 16 * i, 0, 16);
            bad++;
            continue;
        }
        memcpy(text + written, aux + offset, length);
        write_view(out + 16 * i, text + written, length, (uint32_t)written);
        written += length;
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_ValueError, "_registry_scan.compact: %zd views outside aux or text", bad);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&b_views);
    PyBuffer_Release(&b_aux);
    PyBuffer_Release(&b_out);
    PyBuffer_Release(&b_text);
    return result;
}

/* Digits s[0..n) as a number, or -1 when one is not a digit. */
static int digits(const uint8_t *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Microseconds since the epoch of a Go RFC3339Nano stamp, exactly
 * YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+HH:MM|-HH:MM) with years 1970..9999 and fields in
 * range; 0 for anything else (other spellings are left to the Polars reference). The
 * fraction is truncated to microseconds, as Polars does. */
static int rfc3339(const uint8_t *s, uint32_t n, int64_t *out)
{
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 59)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] + (mo == 2 && leap))
        return 0;
    uint32_t p = 19;
    int64_t micros = 0;
    if (s[p] == '.') {
        uint32_t k = 0;
        for (p++; p < n && s[p] >= '0' && s[p] <= '9'; p++, k++)
            if (k < 6)
                micros = micros * 10 + (s[p] - '0');
        if (k < 1 || k > 9)
            return 0;
        for (; k < 6; k++)
            micros *= 10;
    }
    int64_t offset = 0;
    if (p + 1 == n && s[p] == 'Z') {
        offset = 0;
    } else if (p + 6 == n && (s[p] == '+' || s[p] == '-') && s[p + 3] == ':') {
        int oh = digits(s + p + 1, 2), om = digits(s + p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
        offset = (s[p] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
    } else {
        return 0;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    *out = secs * 1000000 + micros;
    return 1;
}

PyDoc_STRVAR(times_doc,
"times(views, buffers, micros, ok) -> int\n"
"\n"
"For n string views (16 bytes a row) over their data buffers: micros[i] (int64) gets the\n"
"microseconds since the epoch of row i when it is a Go RFC3339Nano stamp (see rfc3339),\n"
"and ok[i] (uint8) 1; else ok[i] is 0. Returns how many rows parsed.");

static PyObject *times(PyObject *self, PyObject *args)
{
    Py_buffer bv, bm, bk;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y*Ow*w*", &bv, &list, &bm, &bk))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers buffers = {0, NULL};
    Py_ssize_t n = bv.len / 16, parsed = 0, outside = 0;
    if (bv.len % 16 || bm.len != 8 * n || bk.len != n) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.times: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(list, &buffers))
        goto done;
    const uint8_t *views = bv.buf;
    int64_t *micros = bm.buf;
    uint8_t *ok = bk.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, index, offset;
        const uint8_t *text = view_text(views + 16 * i, &buffers, &length, &index, &offset);
        micros[i] = 0;
        ok[i] = text != NULL && rfc3339(text, length, &micros[i]);
        parsed += ok[i];
        outside += text == NULL;
    }
    Py_END_ALLOW_THREADS
    if (outside) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.times: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(parsed);
done:
    view_buffers_release(&buffers);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bm);
    PyBuffer_Release(&bk);
    return result;
}

static int is_space(uint8_t c) { return c == ' ' || (c >= 9 && c <= 13); }

/* The client of a remote address as _common.first_hop and strip_port give it, for the
 * spelling Go writes, host:port: the text before the first ",", stripped of whitespace,
 * must be a host without ":" or "[" then ":" and digits. 1 with the host's bounds in
 * [*lo, *hi), 2 for a null ("-" or nothing), 0 to leave the row to the expressions (any
 * byte above 127, IPv6, no port, other spellings). */
static int host_of(const uint8_t *s, uint32_t n, uint32_t *lo, uint32_t *hi)
{
    uint32_t end = 0;
    while (end < n && s[end] != ',')
        end++;
    for (uint32_t i = 0; i < n; i++)
        if (s[i] > 127)
            return 0;
    uint32_t a = 0, z = end;
    while (a < z && is_space(s[a]))
        a++;
    while (z > a && is_space(s[z - 1]))
        z--;
    if (z == a || (z == a + 1 && s[a] == '-'))
        return 2;
    uint32_t colon = a;
    while (colon < z && s[colon] != ':' && s[colon] != '[')
        colon++;
    if (colon == a || colon + 1 >= z || s[colon] != ':')
        return 0;
    for (uint32_t i = colon + 1; i < z; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    *lo = a;
    *hi = colon;
    return 1;
}

PyDoc_STRVAR(hosts_doc,
"hosts(views, buffers, out, valid, refused) -> int\n"
"\n"
"For n string views over their data buffers (null rows given as empty strings): out gets\n"
"the view of each row's host (see host_of; a view into the same buffers) and valid (a\n"
"zeroed bitmap) its bit; refused[i] (uint8) is 1 for rows left to the expressions.\n"
"Returns how many those are.");

static PyObject *hosts(PyObject *self, PyObject *args)
{
    Py_buffer bv, bo, bb, br;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y*Ow*w*w*", &bv, &list, &bo, &bb, &br))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers buffers = {0, NULL};
    Py_ssize_t n = bv.len / 16, refusals = 0, outside = 0;
    if (bv.len % 16 || bo.len != bv.len || bb.len < (n + 7) / 8 || br.len != n) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.hosts: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(list, &buffers))
        goto done;
    const uint8_t *views = bv.buf;
    uint8_t *out = bo.buf, *bits = bb.buf, *refused = br.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, index, offset, lo = 0, hi = 0;
        const uint8_t *text = view_text(views + 16 * i, &buffers, &length, &index, &offset);
        memset(out + 16 * i, 0, 16);
        if (!text) {
            outside++;
            break;
        }
        int got = host_of(text, length, &lo, &hi);
        refused[i] = got == 0;
        refusals += got == 0;
        if (got == 1) {
            view_write(out + 16 * i, text + lo, hi - lo, index, offset + lo);
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
    }
    Py_END_ALLOW_THREADS
    if (outside) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.hosts: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(refusals);
done:
    view_buffers_release(&buffers);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&br);
    return result;
}

/* A Go duration of one number and one unit, as Duration.String() writes those below a
 * minute ("4.016532ms", "941.5µs", "0s"): the whole text must be digits with at most one
 * ".", at least one digit, then ns, us, µs (U+00B5), μs (U+03BC), ms, s, m or h. Returns
 * the unit's code (1 ns, 2 µs, 3 ms, 4 s, 5 m, 6 h) with the number's length in *digits,
 * or 0 to leave the row to the expressions (whitespace, signs, several units, anything
 * else). This is _godur._SINGLE, without the strip of whitespace around it. */
static int duration_unit(const uint8_t *s, uint32_t n, uint32_t *digits)
{
    uint32_t i = 0, seen = 0, dots = 0;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dots))) {
        seen += s[i] != '.';
        dots += s[i] == '.';
        i++;
    }
    if (!seen)
        return 0;
    *digits = i;
    const uint8_t *u = s + i;
    uint32_t k = n - i;
    if (k == 1)
        return u[0] == 's' ? 4 : u[0] == 'm' ? 5 : u[0] == 'h' ? 6 : 0;
    if (k == 2 && u[1] == 's')
        return u[0] == 'n' ? 1 : u[0] == 'u' ? 2 : u[0] == 'm' ? 3 : 0;
    if (k == 3 && u[2] == 's' && ((u[0] == 0xC2 && u[1] == 0xB5) || (u[0] == 0xCE && u[1] == 0xBC)))
        return 2;
    return 0;
}

PyDoc_STRVAR(durations_doc,
"durations(views, buffers, numbers, units) -> int\n"
"\n"
"For n string views over their data buffers (null rows given as empty strings): units[i]\n"
"(uint8) gets the unit code of row i when it is a one-unit Go duration (see\n"
"duration_unit), else 0, and numbers the view of its number (a view into the same\n"
"buffers; zero, an empty string, for the rows left). Returns how many rows have a unit.");

static PyObject *durations(PyObject *self, PyObject *args)
{
    Py_buffer bv, bo, bu;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "y*Ow*w*", &bv, &list, &bo, &bu))
        return NULL;
    PyObject *result = NULL;
    ViewBuffers buffers = {0, NULL};
    Py_ssize_t n = bv.len / 16, found = 0, outside = 0;
    if (bv.len % 16 || bo.len != bv.len || bu.len != n) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.durations: buffer sizes do not match");
        goto done;
    }
    if (!view_buffers_acquire(list, &buffers))
        goto done;
    const uint8_t *views = bv.buf;
    uint8_t *out = bo.buf, *units = bu.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t length, index, offset, digits = 0;
        const uint8_t *text = view_text(views + 16 * i, &buffers, &length, &index, &offset);
        memset(out + 16 * i, 0, 16);
        units[i] = 0;
        if (!text) {
            outside++;
            break;
        }
        units[i] = (uint8_t)duration_unit(text, length, &digits);
        if (units[i]) {
            view_write(out + 16 * i, text, digits, index, offset);
            found++;
        }
    }
    Py_END_ALLOW_THREADS
    if (outside) {
        PyErr_SetString(PyExc_ValueError,
                        "_registry_scan.durations: a view points outside its buffers");
        goto done;
    }
    result = PyLong_FromSsize_t(found);
done:
    view_buffers_release(&buffers);
    PyBuffer_Release(&bv);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bu);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"compact", compact, METH_VARARGS, compact_doc},
    {"times", times, METH_VARARGS, times_doc},
    {"hosts", hosts, METH_VARARGS, hosts_doc},
    {"durations", durations, METH_VARARGS, durations_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_registry_scan",
    .m_doc = "Compiled scanner for plain registry JSON lines (see _registry_scan.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__registry_scan(void) { return PyModule_Create(&module); }
