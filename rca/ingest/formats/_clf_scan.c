/* A compiled scanner for the plain-shaped lines of the combined / nginx_timing formats.
 *
 * Ingest stage, format layer, the hot path. It takes exactly the lines that the numpy fast
 * path in _clf_fast.py takes, and gives exactly its fields (tests/ingest/formats checks
 * both against the regex parser and against each other); the numpy path stays as the
 * reference and as the fallback when this module was not built.
 *
 * When asked, it also works out each taken line's registry route (../_routes.h) while the
 * line is in cache, which derive would otherwise find in a second pass over the paths.
 *
 * One pass per line instead of numpy's dozens of whole-chunk passes: about 0.1 us a line
 * where numpy needs about 1.5. The GIL is released while scanning, so the chunks of a file
 * scan in parallel.
 *
 * Log lines are attacker-controlled. Every read is at a position inside the line or at most
 * 16 bytes past its end, and the caller's buffer has at least 16 bytes after the last line
 * (checked here, not trusted); every write is at a row index below the line count, checked
 * against every output buffer's size before the scan starts.
 */
#include "../_routes.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { TAKEN = 0, TO_REGEX = 1, UNMATCHED = 2, BLANK = 3 };
enum { F_CLIENT, F_METHOD, F_PATH, F_UA, F_UPSTREAM, N_STRINGS };

#define PAD 16
#define MAX_DIGITS 18
#define MAX_FLOAT_DIGITS 15
#define MAX_TAIL_SPACES 9
#define FIRST_YEAR 1970
#define LAST_YEAR 2200

static const double POW10[MAX_DIGITS + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

typedef struct {
    int ok;
    int dash;
    int64_t value;
    int fraction; /* digits after the dot */
} Number;

/* Bytes [lo, hi) as "-", or [0-9]+ (decimal: [0-9]+(\.[0-9]+)? with at most 15 digits),
 * at most 18 characters: the rules of _clf_fast._number. */
static Number number(const uint8_t *buf, int64_t lo, int64_t hi, int decimal)
{
    Number n = {0, 0, 0, 0};
    int64_t length = hi - lo;
    if (length < 1 || length > MAX_DIGITS)
        return n;
    if (length == 1 && buf[lo] == '-') {
        n.ok = n.dash = 1;
        return n;
    }
    int64_t dots = 0, last_dot = -1, value = 0;
    for (int64_t j = 0; j < length; j++) {
        uint8_t c = buf[lo + j];
        if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
        } else if (decimal && c == '.') {
            dots++;
            last_dot = j;
        } else {
            return n;
        }
    }
    if (decimal) {
        if (dots > 1 || (dots == 1 && (last_dot == 0 || last_dot == length - 1)))
            return n;
        if (length - dots > MAX_FLOAT_DIGITS)
            return n;
    }
    n.ok = 1;
    n.value = value;
    n.fraction = dots == 1 ? (int)(length - 1 - last_dot) : 0;
    return n;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; y >= 1970). */
static int64_t days_from_epoch(int64_t y, int64_t m, int64_t d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

#define MONTH(a, b, c) ((uint32_t)(uint8_t)(a) << 16 | (uint32_t)(uint8_t)(b) << 8 | (uint8_t)(c))

static int to_digit(uint8_t c, int64_t *out)
{
    if (c < '0' || c > '9')
        return 0;
    *out = c - '0';
    return 1;
}

/* Microseconds since the epoch of "dd/Mon/yyyy:HH:MM:SS +zzzz" at t, under the rules of
 * _clf_fast._clf_time (unusual values are left to the regex parser). */
static int clf_time(const uint8_t *t, int64_t *us)
{
    static const int positions[16] = {0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19, 22, 23, 24, 25};
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t d[16];
    unsigned bad = 0; /* one test for the sixteen digits, not a branch each */
    for (int i = 0; i < 16; i++) {
        unsigned digit = (unsigned)t[positions[i]] - '0';
        bad |= digit > 9;
        d[i] = digit;
    }
    if (bad)
        return 0;
    if (t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' || t[17] != ':' || t[20] != ' ')
        return 0;
    if (t[21] != '+' && t[21] != '-')
        return 0;
    int month;
    /* A switch on the three letters: a memcmp per month was 5% of the scan. */
    switch (MONTH(t[3], t[4], t[5])) {
    case MONTH('J', 'a', 'n'): month = 1; break;
    case MONTH('F', 'e', 'b'): month = 2; break;
    case MONTH('M', 'a', 'r'): month = 3; break;
    case MONTH('A', 'p', 'r'): month = 4; break;
    case MONTH('M', 'a', 'y'): month = 5; break;
    case MONTH('J', 'u', 'n'): month = 6; break;
    case MONTH('J', 'u', 'l'): month = 7; break;
    case MONTH('A', 'u', 'g'): month = 8; break;
    case MONTH('S', 'e', 'p'): month = 9; break;
    case MONTH('O', 'c', 't'): month = 10; break;
    case MONTH('N', 'o', 'v'): month = 11; break;
    case MONTH('D', 'e', 'c'): month = 12; break;
    default: month = 0;
    }
    if (!month)
        return 0;
    int64_t day = d[0] * 10 + d[1];
    int64_t year = d[2] * 1000 + d[3] * 100 + d[4] * 10 + d[5];
    int64_t hour = d[6] * 10 + d[7], minute = d[8] * 10 + d[9], second = d[10] * 10 + d[11];
    int64_t off_h = d[12] * 10 + d[13], off_m = d[14] * 10 + d[15];
    if (year < FIRST_YEAR || year > LAST_YEAR)
        return 0;
    int64_t length = month_days[month - 1] + (month == 2 && is_leap(year));
    if (day < 1 || day > length || hour > 23 || minute > 59 || second > 59 || off_h > 23 ||
        off_m > 59)
        return 0;
    int64_t offset = (t[21] == '-' ? -1 : 1) * (off_h * 3600 + off_m * 60);
    int64_t seconds = days_from_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                      second - offset;
    *us = seconds * 1000000;
    return 1;
}

static int64_t find(const uint8_t *buf, int64_t from, int64_t to, uint8_t c)
{
    const void *at = from < to ? memchr(buf + from, c, (size_t)(to - from)) : NULL;
    return at ? (const uint8_t *)at - buf : -1;
}

static int has(const uint8_t *buf, int64_t from, int64_t to, uint8_t c)
{
    return find(buf, from, to, c) >= 0;
}

/* The first c in [from, to), or -1, by a plain loop: for the short fields at the start of a
 * line (address, ident, user, method), where memchr's call costs more than the search. */
static int64_t find_near(const uint8_t *buf, int64_t from, int64_t to, uint8_t c)
{
    for (int64_t p = from; p < to; p++)
        if (buf[p] == c)
            return p;
    return -1;
}

/* Bit i set when buf[p + i] == c, for the bytes of [p, e) among the sixteen from p (p < e).
 * Reads sixteen bytes from p: up to 15 past e, so callers pass lines of a buffer with PAD
 * bytes after its last line. */
static inline unsigned byte_mask(const uint8_t *buf, int64_t p, int64_t e, uint8_t c)
{
    unsigned inside = e - p >= 16 ? 0xFFFFu : (1u << (e - p)) - 1;
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(buf + p));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c))) & inside;
#else
    unsigned m = 0;
    for (int i = 0; i < 16; i++)
        m |= (unsigned)(buf[p + i] == c) << i;
    return m & inside;
#endif
}

/* The first position in [lo, hi) holding byte a, b, c or d, or hi. Reads sixteen bytes at a
 * time, up to 15 past hi (within the line, or the buffer's padding). */
static inline int64_t find_any(const uint8_t *buf, int64_t lo, int64_t hi, uint8_t a, uint8_t b,
                               uint8_t c, uint8_t d)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    const __m128i vc = _mm_set1_epi8((char)c), vd = _mm_set1_epi8((char)d);
    for (int64_t p = lo; p < hi; p += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(buf + p));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, vc), _mm_cmpeq_epi8(v, vd)));
        unsigned inside = hi - p >= 16 ? 0xFFFFu : (1u << (hi - p)) - 1;
        unsigned bits = (unsigned)_mm_movemask_epi8(m) & inside;
        if (bits)
            return p + __builtin_ctz(bits);
    }
    return hi;
#else
    for (int64_t p = lo; p < hi; p++)
        if (buf[p] == a || buf[p] == b || buf[p] == c || buf[p] == d)
            return p;
    return hi;
#endif
}

/* The quotes of line [s, e): the first nine positions into q and their count (nine means
 * "too many" to the caller, which takes six or eight), and whether the line holds a
 * backslash. One pass instead of a memchr per quote and one per backslash check (a third
 * of the scan): 64 bytes at a time, then the rest 16 at a time (reads stay within 15
 * bytes past the line). */
static int line_quotes(const uint8_t *buf, int64_t s, int64_t e, int64_t q[9], int *backslash)
{
    int nq = 0;
    unsigned any = 0;
    int64_t p = s;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    for (; p + 64 <= e; p += 64) {
        __m128i v0 = _mm_loadu_si128((const __m128i *)(buf + p));
        __m128i v1 = _mm_loadu_si128((const __m128i *)(buf + p + 16));
        __m128i v2 = _mm_loadu_si128((const __m128i *)(buf + p + 32));
        __m128i v3 = _mm_loadu_si128((const __m128i *)(buf + p + 48));
        __m128i b = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v0, slash), _mm_cmpeq_epi8(v1, slash)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v2, slash), _mm_cmpeq_epi8(v3, slash)));
        any |= (unsigned)_mm_movemask_epi8(b);
        uint64_t quotes = (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, quote)) |
                          (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, quote)) << 16 |
                          (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, quote)) << 32 |
                          (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, quote)) << 48;
        for (; quotes; quotes &= quotes - 1) {
            if (nq == 9)
                goto done;
            q[nq++] = p + __builtin_ctzll(quotes);
        }
    }
#endif
    for (; p < e && nq < 9; p += 16) {
        any |= byte_mask(buf, p, e, '\\');
        for (unsigned quotes = byte_mask(buf, p, e, '"'); quotes && nq < 9; quotes &= quotes - 1)
            q[nq++] = p + __builtin_ctz(quotes);
    }
#if defined(__SSE2__)
done:
#endif
    *backslash = any != 0;
    return nq;
}

typedef struct {
    int64_t lo[N_STRINGS], hi[N_STRINGS];
    int64_t ts, bytes;
    int status;
    Number rt;
} Fields;

/* The tail after the user agent of an nginx_timing line: " RT ADDR URT", or after retries
 * " RT A1, ..., Ak N1, ..., Nm" (see _clf_fast._upstream_lists). */
static int timing_tail(const uint8_t *buf, int64_t tail, int64_t e, Fields *f)
{
    int64_t sp[MAX_TAIL_SPACES + 1];
    int count = 0;
    if (tail >= e || buf[tail] != ' ')
        return 0;
    for (int64_t p = tail; p < e; p += 16)
        for (unsigned spaces = byte_mask(buf, p, e, ' '); spaces; spaces &= spaces - 1) {
            if (count == MAX_TAIL_SPACES)
                return 0;
            sp[count++] = p + __builtin_ctz(spaces);
        }
    if (count < 3 || sp[1] <= tail + 1)
        return 0;
    f->rt = number(buf, tail + 1, sp[1], 1);
    if (!f->rt.ok)
        return 0;
    if (count == 3) {
        int64_t t1 = sp[1], t2 = sp[2];
        if (t2 <= t1 + 1 || e <= t2 + 1 || !number(buf, t2 + 1, e, 1).ok || has(buf, t1 + 1, t2, ','))
            return 0;
        f->lo[F_UPSTREAM] = t1 + 1;
        f->hi[F_UPSTREAM] = t2;
        return 1;
    }
    int tokens = count - 1;
    int64_t lo[MAX_TAIL_SPACES], hi[MAX_TAIL_SPACES];
    int last_address = -1;
    for (int j = 0; j < tokens; j++) {
        lo[j] = sp[j + 1] + 1;
        hi[j] = j + 2 < count ? sp[j + 2] : e;
        if (last_address < 0 && hi[j] > lo[j] && buf[hi[j] - 1] != ',')
            last_address = j;
    }
    if (last_address < 0 || last_address >= tokens - 1)
        return 0;
    for (int j = 0; j < tokens; j++) {
        int listed = j < tokens - 1 && j != last_address; /* followed by ", " */
        int64_t core_hi = hi[j] - listed;
        if (listed && buf[hi[j] - 1] != ',')
            return 0;
        if (j <= last_address) {
            if (core_hi <= lo[j] || has(buf, lo[j], core_hi, ','))
                return 0;
        } else if (!number(buf, lo[j], core_hi, 1).ok) {
            return 0;
        }
    }
    f->lo[F_UPSTREAM] = lo[last_address];
    f->hi[F_UPSTREAM] = hi[last_address];
    return 1;
}

/* Whether p starts with "HTTP/" (byte compares: libc's memcmp was a call per line). */
static int is_http(const uint8_t *p)
{
    return p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/';
}

/* One line [s, e) whose quotes q[0..nq) are known (nq is 6 or 8): is it plain, and its
 * fields (the checks of _clf_fast.parse_fast, in the same order). */
static int plain_line(const uint8_t *buf, int64_t s, int64_t e, const int64_t *q, int nq,
                      int timing, Fields *f)
{
    /* ADDR IDENT USER [time] ": the time is 28 bytes, so the third space is 30 before the
     * first quote, and the first two lie before it (one mask when within 32 bytes). */
    int64_t s3 = q[0] - 30, s1, s2;
    if (s3 < s + 5 || buf[s3] != ' ')
        return 0;
    if (s3 - s <= 32) {
        unsigned spaces = byte_mask(buf, s, s3, ' ');
        if (s3 - s > 16)
            spaces |= byte_mask(buf, s + 16, s3, ' ') << 16;
        unsigned rest = spaces & (spaces - 1); /* all but the first */
        if (!spaces || !rest || (rest & (rest - 1))) /* exactly two (popcount is a call) */
            return 0;
        s1 = s + __builtin_ctz(spaces);
        s2 = s + __builtin_ctz(rest);
    } else {
        s1 = find_near(buf, s, s3, ' ');
        s2 = s1 < 0 ? -1 : find_near(buf, s1 + 1, s3, ' ');
        if (s2 < 0 || find_near(buf, s2 + 1, s3, ' ') >= 0)
            return 0;
    }
    if (s1 <= s || s2 <= s1 + 1 || s3 <= s2 + 1)
        return 0;
    if (buf[s3 + 1] != '[' || buf[q[0] - 2] != ']' || buf[q[0] - 1] != ' ')
        return 0;
    if (!clf_time(buf + s3 + 2, &f->ts))
        return 0;
    /* "METHOD /uri HTTP/x.y": exactly two spaces, no backslash. The protocol is 6 to 8
     * bytes, so the second space is one of the three before it: the URI is searched once,
     * for its end ("?" or "#") and for a space or backslash that refuse the line. */
    int64_t req_lo = q[0] + 1, req_hi = q[1];
    unsigned first = byte_mask(buf, req_lo, req_hi, ' ');
    int64_t a1 = first ? req_lo + __builtin_ctz(first) : find_near(buf, req_lo + 16, req_hi, ' ');
    if (a1 < 0)
        return 0;
    int64_t a2 = -1;
    for (int64_t p = req_hi - 7; p >= req_hi - 9 && p > a1; p--)
        if (buf[p] == ' ') {
            a2 = p;
            break;
        }
    if (a2 <= a1 + 1)
        return 0;
    int64_t path_hi = find_any(buf, a1 + 1, a2, '?', '#', ' ', '\\');
    if (path_hi < a2 && (buf[path_hi] == ' ' || buf[path_hi] == '\\'))
        return 0;
    if (path_hi < a2 && find_any(buf, path_hi + 1, a2, ' ', '\\', ' ', '\\') < a2)
        return 0; /* a space or backslash in the query or fragment */
    int64_t method_len = a1 - req_lo;
    if (method_len < 1 || method_len > 20 || buf[a1 + 1] != '/')
        return 0;
    for (int64_t p = req_lo; p < a1; p++)
        if (buf[p] < 'A' || buf[p] > 'Z')
            return 0;
    int64_t proto_len = req_hi - (a2 + 1);
    if (proto_len < 6 || proto_len > 8 || !is_http(buf + a2 + 1))
        return 0;
    for (int64_t p = a2 + 6; p < req_hi; p++)
        if ((buf[p] < '0' || buf[p] > '9') && buf[p] != '.')
            return 0;
    /* " SSS BYTES " */
    int64_t st = q[1] + 1;
    if (q[2] - 1 - (st + 5) < 1) /* room for status and bytes (else _number refuses) */
        return 0;
    if (buf[st] != ' ' || buf[st + 4] != ' ' || buf[q[2] - 1] != ' ')
        return 0;
    int64_t d0, d1, d2;
    if (!to_digit(buf[st + 1], &d0) || !to_digit(buf[st + 2], &d1) || !to_digit(buf[st + 3], &d2))
        return 0;
    f->status = (int)(d0 * 100 + d1 * 10 + d2);
    Number bytes = number(buf, st + 5, q[2] - 1, 0);
    if (!bytes.ok)
        return 0;
    f->bytes = bytes.dash ? 0 : bytes.value; /* Apache's "-" for an empty body is 0 */
    /* "referer" "ua", then an optional "-" for X-Forwarded-For. */
    if (q[4] != q[3] + 2 || buf[q[3] + 1] != ' ')
        return 0;
    if (nq == 8 && (q[6] != q[5] + 2 || buf[q[5] + 1] != ' ' || q[7] != q[6] + 2 || buf[q[6] + 1] != '-'))
        return 0;
    int64_t tail = nq == 8 ? q[7] + 1 : q[5] + 1;
    if (timing) {
        if (!timing_tail(buf, tail, e, f))
            return 0;
    } else if (tail != e) {
        return 0;
    }
    f->lo[F_CLIENT] = s;
    f->hi[F_CLIENT] = s1;
    f->lo[F_METHOD] = req_lo;
    f->hi[F_METHOD] = a1;
    f->lo[F_PATH] = a1 + 1;
    f->hi[F_PATH] = path_hi;
    f->lo[F_UA] = q[4] + 1;
    f->hi[F_UA] = q[5];
    return 1;
}

/* An Arrow string view of bytes [lo, hi) of data buffer `index` (the chunk is 0). */
static void write_view(uint8_t *view, const uint8_t *data, int64_t lo, int64_t hi, uint32_t index)
{
    view_write(view, data + lo, (uint32_t)(hi - lo), index, (uint32_t)lo);
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Undo the escapes of a quoted field [lo, hi) into out, as _log_format._unescape_text does:
 * \" and \\ give the character, \xHH the byte, any other backslash stays. Returns the
 * length written, or -1 when a byte outside ASCII came out (its UTF-8 decoding, with
 * replacement characters, is left to Python). out has room for hi - lo bytes. */
static int64_t unescape(const uint8_t *buf, int64_t lo, int64_t hi, uint8_t *out)
{
    int64_t w = 0;
    for (int64_t p = lo; p < hi;) {
        uint8_t c = buf[p];
        if (c == '\\' && p + 1 < hi) {
            uint8_t next = buf[p + 1];
            if (next == '"' || next == '\\') {
                out[w++] = next;
                p += 2;
                continue;
            }
            if (next == 'x' && p + 3 < hi) {
                int high = hex_value(buf[p + 2]), low = hex_value(buf[p + 3]);
                if (high >= 0 && low >= 0) {
                    int byte = high * 16 + low;
                    if (byte > 127)
                        return -1;
                    out[w++] = (uint8_t)byte;
                    p += 4;
                    continue;
                }
            }
        }
        out[w++] = c;
        p++;
    }
    return w;
}

/* Unescaped user agents of this scan, by their raw text: a log repeats a few thousand agents,
 * so each is written to aux once (the regex path shares them through its per-value table). */
#define SEEN_SLOTS 4096
typedef struct {
    int64_t raw_lo, raw_len; /* the escaped text in buf; raw_len -1: empty slot */
    int64_t lo, len;         /* its unescaped text in aux; len -1: decoded outside ASCII */
} Seen;

static int dash_or_empty(const uint8_t *buf, int64_t lo, int64_t hi)
{
    return hi == lo || (hi == lo + 1 && buf[lo] == '-');
}

static void set_bit(uint8_t *bits, Py_ssize_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static int too_small(Py_buffer *b, Py_ssize_t need, const char *name)
{
    if (b->len < need) {
        PyErr_Format(PyExc_ValueError, "_clf_scan.scan: %s holds %zd bytes, needs %zd", name,
                     b->len, need);
        return 1;
    }
    return 0;
}

/* The registry route of a taken line, into row r of the route outputs. Not inlined: inside
 * the scan loop it changed the register allocation of everything else (3% of the scan). */
static __attribute__((noinline)) void write_route(const uint8_t *buf, const Fields *f,
                                                  uint8_t names[][16], uint8_t *endpoints,
                                                  uint8_t *route_views, uint8_t *route_valid,
                                                  Py_ssize_t n, Py_ssize_t r, Py_ssize_t bitmap)
{
    /* The line is printable ASCII (odd lines went to the regexes), as route_of needs;
     * its path is still in cache. */
    int64_t path = f->lo[F_PATH], method = f->lo[F_METHOD];
    Route route = route_of(buf + path, (uint32_t)(f->hi[F_PATH] - path), buf + method,
                           (uint32_t)(f->hi[F_METHOD] - method));
    memcpy(endpoints + 16 * r, names[route.kind], 16);
    uint8_t *repository = route_views + 16 * r, *namespace_ = route_views + 16 * (n + r);
    if (route.routed) {
        write_view(repository, buf, path + 4, path + 4 + route.repo_len, 0);
        write_view(namespace_, buf, path + 4, path + 4 + route.ns_len, 0);
        set_bit(route_valid, r);
        set_bit(route_valid + bitmap, r);
    } else {
        memset(repository, 0, 16);
        memset(namespace_, 0, 16);
    }
}

PyDoc_STRVAR(scan_doc,
"scan(buf, starts, ends, odd, timing, kind, rows, ts, status, bytes_sent, duration, views, valid,\n"
"     aux, redo, endpoint=None, routes=None, route_valid=None)\n"
"\n"
"Scan the lines [starts[i], ends[i]) of buf (int64 offsets; buf holds 16 bytes after the\n"
"last line; odd[i], uint8, says the line holds a byte outside printable ASCII) and return\n"
"(taken, redone). kind[i] (uint8) is 0 when the line was\n"
"taken, 1 when it is left to the regex parser, 2 for a line no regex matches, 3 for a blank\n"
"one. Taken lines fill, in order, rows (int64 line index), ts (int64 us), status (int16),\n"
"bytes_sent (int64), duration (float64), views (5 columns of n 16-byte Arrow string views:\n"
"client, method, path, user agent, upstream) and valid (6 zeroed bitmaps of (n + 7) // 8\n"
"bytes: client, method, path, user agent, upstream, duration). A user agent with escapes is\n"
"unescaped into aux (as many bytes as buf; its views point at data buffer 1); one whose\n"
"escapes give bytes outside ASCII keeps its raw text, and its row is listed in redo (int64,\n"
"n) for Python to decode; redone counts them.\n"
"\n"
"With endpoint (n 16-byte views), routes (2 columns of n views: repository, namespace)\n"
"and route_valid (2 zeroed bitmaps: repository, namespace), the registry route of each taken\n"
"line's path is worked out too, as _derive_kernels.routes gives it; repository and\n"
"namespace point into buf (data buffer 0), endpoint names are inline.\n"
"\n"
"skip (keyword, a bitmask of the 5 string columns) names columns the caller will not read:\n"
"they get no views and no valid bits, and a skipped user agent is not unescaped.");

static PyObject *scan(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"buf", "starts", "ends", "odd", "timing", "kind", "rows", "ts",
                               "status", "bytes_sent", "duration", "views", "valid", "aux",
                               "redo", "endpoint", "routes", "route_valid", "skip", NULL};
    Py_buffer b_buf, b_starts, b_ends, b_odd, b_kind, b_rows, b_ts, b_status, b_bytes, b_dur, b_views,
        b_valid, b_aux, b_redo;
    Py_buffer b_endpoint = {0}, b_routes = {0}, b_route_valid = {0};
    int timing;
    unsigned skip = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*y*y*pw*w*w*w*w*w*w*w*w*w*|w*w*w*$I", keywords,
                                     &b_buf, &b_starts, &b_ends, &b_odd, &timing, &b_kind, &b_rows,
                                     &b_ts, &b_status, &b_bytes, &b_dur, &b_views, &b_valid, &b_aux,
                                     &b_redo, &b_endpoint, &b_routes, &b_route_valid, &skip))
        return NULL;
    PyObject *result = NULL;
    Seen *seen = NULL;
    Py_ssize_t n = b_starts.len / 8;
    Py_ssize_t bitmap = (n + 7) / 8;
    if (b_ends.len != b_starts.len) {
        PyErr_SetString(PyExc_ValueError, "_clf_scan.scan: starts and ends differ in length");
        goto done;
    }
    if (too_small(&b_odd, n, "odd") || too_small(&b_kind, n, "kind") || too_small(&b_rows, 8 * n, "rows") ||
        too_small(&b_ts, 8 * n, "ts") || too_small(&b_status, 2 * n, "status") ||
        too_small(&b_bytes, 8 * n, "bytes_sent") || too_small(&b_dur, 8 * n, "duration") ||
        too_small(&b_views, (Py_ssize_t)N_STRINGS * 16 * n, "views") ||
        too_small(&b_valid, (Py_ssize_t)(N_STRINGS + 1) * bitmap, "valid") ||
        too_small(&b_aux, b_buf.len, "aux") || too_small(&b_redo, 8 * n, "redo"))
        goto done;
    int with_routes = b_endpoint.buf != NULL;
    if (with_routes && (b_routes.buf == NULL || b_route_valid.buf == NULL ||
                        too_small(&b_endpoint, 16 * n, "endpoint") ||
                        too_small(&b_routes, 2 * 16 * n, "routes") ||
                        too_small(&b_route_valid, 2 * bitmap, "route_valid"))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "_clf_scan.scan: endpoint, routes and route_valid go together");
        goto done;
    }
    if (b_buf.len >= ((Py_ssize_t)1 << 32) - PAD) {
        PyErr_SetString(PyExc_ValueError, "_clf_scan.scan: a buffer over 4 GiB");
        goto done;
    }
    const uint8_t *buf = b_buf.buf;
    const int64_t *starts = b_starts.buf, *ends = b_ends.buf;
    const uint8_t *odd = b_odd.buf;
    uint8_t *kind = b_kind.buf, *views = b_views.buf, *valid = b_valid.buf, *aux = b_aux.buf;
    int64_t *rows = b_rows.buf, *ts = b_ts.buf, *bytes_sent = b_bytes.buf, *redo = b_redo.buf;
    int16_t *status = b_status.buf;
    double *duration = b_dur.buf;
    Py_ssize_t taken = 0, redone = 0, bad_bounds = 0, limit = b_buf.len - PAD;
    int64_t aux_used = 0; /* unescaped text is never longer than its field: aux cannot overflow */
    uint8_t *endpoints = b_endpoint.buf, *route_views = b_routes.buf, *route_valid = b_route_valid.buf;
    uint8_t names[BLOB + 1][16];
    name_views(names);
    seen = PyMem_RawMalloc(sizeof(Seen) * SEEN_SLOTS);
    if (!seen) {
        PyErr_NoMemory();
        goto done;
    }
    for (int k = 0; k < SEEN_SLOTS; k++)
        seen[k].raw_len = -1;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t s = starts[i], e = ends[i];
        if (s < 0 || e < s || e > limit) {
            kind[i] = TO_REGEX;
            bad_bounds++;
            continue;
        }
        if (odd[i]) { /* a byte outside printable ASCII: the regexes decide */
            kind[i] = TO_REGEX;
            continue;
        }
        int64_t q[9];
        int backslash, escaped = 0;
        int nq = line_quotes(buf, s, e, q, &backslash);
        /* An escaped quote: one after a backslash (the line's first byte follows the byte
         * before the line, which the backslash flag does not cover). */
        if (backslash || (nq && q[0] == s))
            for (int k = 0; k < nq; k++)
                if (q[k] > 0 && buf[q[k] - 1] == '\\')
                    escaped = 1;
        if (nq < 6) { /* both regexes need six quotes; blank lines are empty or spaces */
            int64_t p = s;
            while (p < e && buf[p] == ' ')
                p++;
            kind[i] = p == e ? BLANK : UNMATCHED;
            continue;
        }
        Fields f;
        if ((nq != 6 && nq != 8) || escaped || !plain_line(buf, s, e, q, nq, timing, &f)) {
            kind[i] = TO_REGEX;
            continue;
        }
        kind[i] = TAKEN;
        Py_ssize_t r = taken++;
        rows[r] = i;
        ts[r] = f.ts;
        status[r] = (int16_t)f.status;
        bytes_sent[r] = f.bytes;
        for (int k = 0; k < N_STRINGS; k++) {
            /* A column the caller drops: no view, no unescape (a fifth of the scan). */
            if (skip >> k & 1)
                continue;
            if (k == F_UPSTREAM && !timing) {
                f.lo[k] = f.hi[k] = 0;
            }
            const uint8_t *data = buf;
            int64_t lo = f.lo[k], hi = f.hi[k];
            uint32_t index = 0;
            if (k == F_UA && backslash && has(buf, lo, hi, '\\')) {
                /* Only a cache slot: a collision costs one more unescape, never a wrong
                 * agent (the slot's raw text is compared), so no seed is needed. */
                Seen *slot = &seen[seeded_hash(buf + lo, (uint32_t)(hi - lo), 0) % SEEN_SLOTS];
                if (slot->raw_len != hi - lo || memcmp(buf + slot->raw_lo, buf + lo, (size_t)(hi - lo))) {
                    int64_t length = unescape(buf, lo, hi, aux + aux_used);
                    slot->raw_lo = lo;
                    slot->raw_len = hi - lo;
                    slot->lo = aux_used;
                    slot->len = length;
                    if (length >= 0)
                        aux_used += length;
                }
                if (slot->len < 0) {
                    redo[redone++] = r;
                } else {
                    data = aux;
                    lo = slot->lo;
                    hi = slot->lo + slot->len;
                    index = 1;
                }
            }
            write_view(views + ((Py_ssize_t)k * n + r) * 16, data, lo, hi, index);
            int nullable = k == F_CLIENT || k == F_UA || k == F_UPSTREAM;
            if (!(nullable && dash_or_empty(data, lo, hi)))
                set_bit(valid + k * bitmap, r);
        }
        if (with_routes)
            write_route(buf, &f, names, endpoints, route_views, route_valid, n, r, bitmap);
        if (timing && !f.rt.dash) {
            duration[r] = (double)f.rt.value / POW10[f.rt.fraction];
            set_bit(valid + N_STRINGS * bitmap, r);
        } else {
            duration[r] = 0.0;
        }
    }
    Py_END_ALLOW_THREADS

    if (bad_bounds) {
        PyErr_Format(PyExc_ValueError, "_clf_scan.scan: %zd lines lie outside the buffer",
                     bad_bounds);
        goto done;
    }
    result = Py_BuildValue("nn", taken, redone);
done:
    PyMem_RawFree(seen);
    PyBuffer_Release(&b_buf);
    PyBuffer_Release(&b_starts);
    PyBuffer_Release(&b_ends);
    PyBuffer_Release(&b_odd);
    PyBuffer_Release(&b_kind);
    PyBuffer_Release(&b_rows);
    PyBuffer_Release(&b_ts);
    PyBuffer_Release(&b_status);
    PyBuffer_Release(&b_bytes);
    PyBuffer_Release(&b_dur);
    PyBuffer_Release(&b_views);
    PyBuffer_Release(&b_valid);
    PyBuffer_Release(&b_aux);
    PyBuffer_Release(&b_redo);
    if (b_endpoint.buf)
        PyBuffer_Release(&b_endpoint);
    if (b_routes.buf)
        PyBuffer_Release(&b_routes);
    if (b_route_valid.buf)
        PyBuffer_Release(&b_route_valid);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_VARARGS | METH_KEYWORDS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_clf_scan",
    .m_doc = "Compiled scanner for plain combined / nginx_timing lines (see _clf_scan.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__clf_scan(void) { return PyModule_Create(&module); }
