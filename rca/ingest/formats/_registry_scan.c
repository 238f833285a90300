/* A compiled scanner for the common lines of registry JSON logs (logrus JSON lines).
 *
 * Ingest stage, format layer, the hot path of registry_json. It reads the lines a Polars
 * String column holds (Arrow string views and their data buffers) and, for each line that
 * has the common shape, gives the fields the Polars path (_registry._json_rows, the
 * reference and the fallback) gives for it; every other line is left to that path. The
 * tests compare both on simulated, hand-made and Hypothesis-mutated lines.
 *
 * The common shape: one flat JSON object (spaces allowed between tokens and around it) whose
 * keys have no escapes and whose values are strings, numbers, true, false or null (objects
 * and arrays only under keys the parser does not read), strings holding valid UTF-8 and no
 * escapes but \" \\ \/ and \u00XX of printable ASCII; a logrus entry (level and msg or
 * message present) with the canonical spellings of what it reads: an RFC 3339 time
 * ("2021-03-15T16:00:00.367183737Z", "+02:00"), a Go duration as Go writes it ("4.016532ms",
 * "941.5µs", "0", "1m0.5s", "1h2m3s"), an integer status in 0..32767 and written size. Duplicate
 * keys, other escapes, control characters and every other shape go to the reference.
 *
 * One pass per line (strings are skipped eight bytes at a time) instead of Polars' JSON
 * reader and a dozen whole-column expressions; the GIL is released while scanning, so the
 * chunks of a file scan in parallel. The text of the string fields is copied into one
 * compact buffer (aux; the user agent and the error once per distinct raw value), so the
 * result does not keep the chunk's bytes alive.
 *
 * Log lines are attacker-controlled. Every view is checked against its data buffer before a
 * byte of it is read, every read of a line is below its end, every write to aux is checked
 * against aux's size (a row that would not fit is left to the reference), and the output
 * arrays are checked against the line count before the scan starts.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Kinds as numbered in rca.ingest.formats._base, plus the lines left to the reference. */
enum { REQUEST = 0, OTHER = 2, REST = 3 };
/* String outputs, then the validity bitmaps of the numbers. */
enum { S_CLIENT, S_METHOD, S_PATH, S_UA, S_ERROR, S_ID, N_STRINGS };
enum { V_TS = N_STRINGS, V_DURATION, V_STATUS, V_WRITTEN, N_VALID };
/* The keys the reference reads (_registry._KEYS and _LOGSTASH). */
enum {
    K_TIME, K_TIMESTAMP, K_LEVEL, K_MSG, K_MESSAGE, K_METHOD, K_REMOTEADDR, K_URI, K_USERAGENT,
    K_ID, K_STATUS, K_WRITTEN, K_DURATION, K_ERR_CODE, K_ERR_MESSAGE, N_KEYS
};
static const char *KEY_NAMES[N_KEYS] = {
    "time", "@timestamp", "level", "msg", "message", "http.request.method",
    "http.request.remoteaddr", "http.request.uri", "http.request.useragent", "http.request.id",
    "http.response.status", "http.response.written", "http.response.duration", "err.code",
    "err.message",
};
/* Value types. */
enum { T_ABSENT = 0, T_NULL, T_STRING, T_NUMBER, T_BOOL };

#define MAX_DEPTH 16
#define MAX_DIGITS 18
#define MAX_FLOAT_DIGITS 15
#define FIRST_YEAR 1971 /* every accepted time lies after the epoch, whatever its offset */
#define LAST_YEAR 2200
#define MAX_DURATION_S 86400.0 /* rca.ingest.formats._common.MAX_DURATION_S */
#define MAX_BUFFERS 65536

static const double POW10[MAX_FLOAT_DIGITS + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
};

typedef struct {
    int type;
    int64_t lo, hi; /* a string's bytes between the quotes, a number's text */
    int escaped;    /* a string holding backslash escapes */
    int ascii;      /* a string of ASCII bytes only */
    int plain_int;  /* a number of digits only (no sign, fraction or exponent) */
} Value;

/* ------------------------------------------------------------------ JSON syntax */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when a byte of v is below n (n <= 128), equal to c, or above 127. */
static inline uint64_t below(uint64_t v, uint64_t n) { return (v - ONES * n) & ~v & HIGHS; }
static inline uint64_t equal(uint64_t v, uint64_t c) { return below(v ^ (ONES * c), 1); }

/* Length of the valid UTF-8 sequence (2 to 4 bytes) at p, or 0. */
static int utf8_length(const uint8_t *s, int64_t p, int64_t e)
{
    uint8_t c = s[p];
    int n;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (e - p < n)
        return 0;
    if (s[p + 1] < lo || s[p + 1] > hi)
        return 0;
    for (int k = 2; k < n; k++)
        if (s[p + k] < 0x80 || s[p + k] > 0xBF)
            return 0;
    return n;
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

/* The code of \uXXXX whose hex digits start at p (p + 4 <= e), or -1. */
static int hex4(const uint8_t *s, int64_t p)
{
    int code = 0;
    for (int k = 0; k < 4; k++) {
        int h = hex_value(s[p + k]);
        if (h < 0)
            return -1;
        code = code * 16 + h;
    }
    return code;
}

/* A string whose opening quote is at p - 1: its closing quote's position, or -1 when the
 * string is not of the accepted kind. */
static int64_t scan_string(const uint8_t *s, int64_t p, int64_t e, Value *v)
{
    v->escaped = 0;
    v->ascii = 1;
    while (p < e) {
        if (e - p >= 8) {
            /* Eight bytes at a time to the next one that needs a look: the lowest flagged
             * byte is exact (a borrow only runs upwards from it). */
            uint64_t w;
            memcpy(&w, s + p, 8);
            uint64_t m = equal(w, '"') | equal(w, '\\') | below(w, 0x20) | equal(w, 0x7F) | (w & HIGHS);
            if (!m) {
                p += 8;
                continue;
            }
            p += __builtin_ctzll(m) >> 3;
        }
        uint8_t c = s[p];
        if (c == '"')
            return p;
        if (c == '\\') {
            if (e - p < 2)
                return -1;
            uint8_t next = s[p + 1];
            if (next == '"' || next == '\\' || next == '/') {
                v->escaped = 1;
                p += 2;
                continue;
            }
            if (next == 'u' && e - p >= 6) {
                int code = hex4(s, p + 2);
                if (code >= 0x20 && code <= 0x7E) {
                    v->escaped = 1;
                    p += 6;
                    continue;
                }
            }
            return -1; /* \b \f \n \r \t, control characters, text outside ASCII */
        }
        if (c < 0x20 || c == 0x7F)
            return -1;
        if (c >= 0x80) {
            int n = utf8_length(s, p, e);
            if (!n)
                return -1;
            v->ascii = 0;
            p += n;
            continue;
        }
        p++;
    }
    return -1;
}

/* A JSON number starting at p: the position after it, or -1. */
static int64_t scan_number(const uint8_t *s, int64_t p, int64_t e, Value *v)
{
    int64_t start = p;
    int plain = 1;
    if (p < e && s[p] == '-') {
        plain = 0;
        p++;
    }
    if (p >= e)
        return -1;
    if (s[p] == '0') {
        p++;
    } else if (s[p] >= '1' && s[p] <= '9') {
        while (p < e && s[p] >= '0' && s[p] <= '9')
            p++;
    } else {
        return -1;
    }
    if (p < e && s[p] == '.') {
        plain = 0;
        p++;
        if (p >= e || s[p] < '0' || s[p] > '9')
            return -1;
        while (p < e && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    if (p < e && (s[p] == 'e' || s[p] == 'E')) {
        plain = 0;
        p++;
        if (p < e && (s[p] == '+' || s[p] == '-'))
            p++;
        if (p >= e || s[p] < '0' || s[p] > '9')
            return -1;
        while (p < e && s[p] >= '0' && s[p] <= '9')
            p++;
    }
    v->lo = start;
    v->hi = p;
    v->plain_int = plain;
    return p;
}

static int64_t skip_spaces(const uint8_t *s, int64_t p, int64_t e)
{
    while (p < e && s[p] == ' ')
        p++;
    return p;
}

static int literal(const uint8_t *s, int64_t p, int64_t e, const char *word)
{
    size_t n = strlen(word);
    return e - p >= (int64_t)n && memcmp(s + p, word, n) == 0;
}

/* Any value at p (nested only up to MAX_DEPTH): the position after it, or -1. The scalar's
 * type and bounds are left in v. */
static int64_t scan_value(const uint8_t *s, int64_t p, int64_t e, int depth, Value *v)
{
    if (p >= e)
        return -1;
    uint8_t c = s[p];
    if (c == '"') {
        int64_t q = scan_string(s, p + 1, e, v);
        if (q < 0)
            return -1;
        v->type = T_STRING;
        v->lo = p + 1;
        v->hi = q;
        return q + 1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        v->type = T_NUMBER;
        return scan_number(s, p, e, v);
    }
    if (literal(s, p, e, "null")) {
        v->type = T_NULL;
        return p + 4;
    }
    if (literal(s, p, e, "true")) {
        v->type = T_BOOL;
        return p + 4;
    }
    if (literal(s, p, e, "false")) {
        v->type = T_BOOL;
        return p + 5;
    }
    if ((c != '{' && c != '[') || depth >= MAX_DEPTH)
        return -1;
    /* An object or array, read only to find its end. */
    uint8_t close = c == '{' ? '}' : ']';
    Value inner;
    p = skip_spaces(s, p + 1, e);
    if (p < e && s[p] == close)
        return p + 1;
    for (;;) {
        if (close == '}') {
            if (p >= e || s[p] != '"')
                return -1;
            int64_t q = scan_string(s, p + 1, e, &inner);
            if (q < 0)
                return -1;
            p = skip_spaces(s, q + 1, e);
            if (p >= e || s[p] != ':')
                return -1;
            p = skip_spaces(s, p + 1, e);
        }
        p = scan_value(s, p, e, depth + 1, &inner);
        if (p < 0)
            return -1;
        p = skip_spaces(s, p, e);
        if (p >= e)
            return -1;
        if (s[p] == close)
            return p + 1;
        if (s[p] != ',')
            return -1;
        p = skip_spaces(s, p + 1, e);
    }
}

/* The keys read, by length (at most two share one). */
#define MAX_KEY 23
static int8_t by_length[MAX_KEY + 1][2];

static int key_of(const uint8_t *k, int64_t n)
{
    if (n < 1 || n > MAX_KEY)
        return -1;
    for (int j = 0; j < 2; j++) {
        int i = by_length[n][j];
        if (i >= 0 && memcmp(k, KEY_NAMES[i], (size_t)n) == 0)
            return i;
    }
    return -1;
}

/* The line [p, e) as a flat object: the values of the keys read, or 0 when it is not of the
 * accepted shape (the reference then decides). */
static int scan_object(const uint8_t *s, int64_t p, int64_t e, Value *vals)
{
    for (int k = 0; k < N_KEYS; k++)
        vals[k].type = T_ABSENT;
    p = skip_spaces(s, p, e);
    if (p >= e || s[p] != '{')
        return 0;
    p = skip_spaces(s, p + 1, e);
    for (;;) {
        Value key, scratch;
        if (p >= e || s[p] != '"')
            return 0;
        int64_t q = scan_string(s, p + 1, e, &key);
        if (q < 0 || key.escaped)
            return 0;
        int k = key_of(s + p + 1, q - (p + 1));
        p = skip_spaces(s, q + 1, e);
        if (p >= e || s[p] != ':')
            return 0;
        p = skip_spaces(s, p + 1, e);
        Value *v = &scratch;
        if (k >= 0) {
            if (vals[k].type != T_ABSENT)
                return 0; /* a duplicate key: Polars keeps the first, Python the last */
            v = &vals[k];
            if (p < e && (s[p] == '{' || s[p] == '['))
                return 0;
        }
        p = scan_value(s, p, e, 0, v);
        if (p < 0)
            return 0;
        p = skip_spaces(s, p, e);
        if (p >= e)
            return 0;
        if (s[p] == '}')
            break;
        if (s[p] != ',')
            return 0;
        p = skip_spaces(s, p + 1, e);
    }
    return skip_spaces(s, p + 1, e) == e;
}

/* ------------------------------------------------------------------ field values */

static int digits(const uint8_t *s, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_epoch(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Microseconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.f]Z|+HH:MM" (1 to 9 fraction
 * digits, truncated to microseconds as Polars' %.f does), or 0 for any other text. */
static int rfc3339(const uint8_t *t, int64_t n, int64_t *us)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t year, month, day, hour, minute, second;
    if (n < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
        return 0;
    if (!digits(t, 4, &year) || !digits(t + 5, 2, &month) || !digits(t + 8, 2, &day) ||
        !digits(t + 11, 2, &hour) || !digits(t + 14, 2, &minute) || !digits(t + 17, 2, &second))
        return 0;
    if (year < FIRST_YEAR || year > LAST_YEAR || month < 1 || month > 12 || day < 1)
        return 0;
    if (day > month_days[month - 1] + (month == 2 && is_leap(year)))
        return 0;
    if (hour > 23 || minute > 59 || second > 59) /* Polars rolls a leap second over */
        return 0;
    int64_t p = 19, micros = 0;
    if (t[p] == '.') {
        int64_t q = ++p;
        while (p < n && t[p] >= '0' && t[p] <= '9')
            p++;
        if (p == q || p - q > 9)
            return 0;
        for (int64_t k = 0; k < 6; k++)
            micros = micros * 10 + (q + k < p ? t[q + k] - '0' : 0);
    }
    int64_t offset = 0;
    if (p + 1 == n && t[p] == 'Z') {
        offset = 0;
    } else if (p + 6 == n && (t[p] == '+' || t[p] == '-') && t[p + 3] == ':') {
        int64_t oh, om;
        if (!digits(t + p + 1, 2, &oh) || !digits(t + p + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset = (t[p] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
        return 0;
    }
    int64_t seconds =
        days_from_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    *us = seconds * 1000000 + micros;
    return 1;
}

/* Seconds of a Go duration written as one number and one unit ("4.016532ms", "941.5µs",
 * "2s", "1h") or "0", computed as _godur.go_duration_seconds' fast path does: the number
 * (at most 15 digits, so digits / 10^k is the correctly rounded value Polars' cast gives),
 * then scaled by the unit's size. Polars divides a column by a number as a multiplication
 * by its reciprocal (x / 1e3 is x * (1 / 1e3), which can differ in the last bit), so that
 * is what happens here too. 0 for any other text. */
static int hours_minutes_seconds(const uint8_t *t, int64_t n, double *seconds);

static int go_duration(const uint8_t *t, int64_t n, double *seconds)
{
    if (n == 1 && t[0] == '0') {
        *seconds = 0.0;
        return 1;
    }
    int64_t p = 0, mantissa = 0, count = 0, fraction = 0;
    while (p < n && t[p] >= '0' && t[p] <= '9') {
        if (++count > MAX_FLOAT_DIGITS)
            return 0;
        mantissa = mantissa * 10 + (t[p++] - '0');
    }
    if (!count)
        return 0;
    if (p < n && t[p] == '.') {
        int64_t q = ++p;
        while (p < n && t[p] >= '0' && t[p] <= '9') {
            if (++count > MAX_FLOAT_DIGITS)
                return 0;
            mantissa = mantissa * 10 + (t[p++] - '0');
        }
        fraction = p - q;
        if (!fraction)
            return 0;
    }
    double number = (double)mantissa / POW10[fraction];
    const uint8_t *u = t + p;
    int64_t rest = n - p;
    if (rest == 2 && u[0] == 'm' && u[1] == 's')
        *seconds = number * (1.0 / 1e3);
    else if (rest == 2 && u[0] == 'n' && u[1] == 's')
        *seconds = number * (1.0 / 1e9);
    else if ((rest == 2 && u[0] == 'u' && u[1] == 's') ||
             (rest == 3 && u[0] == 0xC2 && u[1] == 0xB5 && u[2] == 's') || /* U+00B5 */
             (rest == 3 && u[0] == 0xCE && u[1] == 0xBC && u[2] == 's'))   /* U+03BC */
        *seconds = number * (1.0 / 1e6);
    else if (rest == 1 && u[0] == 's')
        *seconds = number;
    else if (rest == 1 && u[0] == 'm')
        *seconds = number * 60.0;
    else if (rest == 1 && u[0] == 'h')
        *seconds = number * 3600.0;
    else
        return hours_minutes_seconds(t, n, seconds);
    return 1;
}

/* Digits at *p (at most max of them, at least one). */
static int whole(const uint8_t *t, int64_t n, int64_t *p, int max, int64_t *out)
{
    int64_t q = *p, v = 0;
    while (*p < n && t[*p] >= '0' && t[*p] <= '9' && *p - q < max)
        v = v * 10 + (t[(*p)++] - '0');
    *out = v;
    return *p > q;
}

/* What Go writes from a minute on: "[Hh]Mm S[.F]s" ("1m0.488373653s", "1h2m3s"), whole
 * hours and minutes. The reference reads it with its general pattern, scaling each part
 * and summing them as Polars' sum_horizontal does: h + (m + s). */
static int hours_minutes_seconds(const uint8_t *t, int64_t n, double *seconds)
{
    int64_t p = 0, hours = -1, minutes, mantissa = 0, count = 0, fraction = 0;
    if (!whole(t, n, &p, 9, &minutes))
        return 0;
    if (p < n && t[p] == 'h') {
        hours = minutes;
        p++;
        if (!whole(t, n, &p, 9, &minutes))
            return 0;
    }
    if (p >= n || t[p] != 'm')
        return 0;
    p++;
    while (p < n && t[p] >= '0' && t[p] <= '9') {
        if (++count > MAX_FLOAT_DIGITS)
            return 0;
        mantissa = mantissa * 10 + (t[p++] - '0');
    }
    if (!count)
        return 0;
    if (p < n && t[p] == '.') {
        int64_t q = ++p;
        while (p < n && t[p] >= '0' && t[p] <= '9') {
            if (++count > MAX_FLOAT_DIGITS)
                return 0;
            mantissa = mantissa * 10 + (t[p++] - '0');
        }
        fraction = p - q;
        if (!fraction)
            return 0;
    }
    if (p + 1 != n || t[p] != 's')
        return 0;
    double total = (double)minutes * 60.0 + (double)mantissa / POW10[fraction];
    *seconds = hours >= 0 ? (double)hours * 3600.0 + total : total;
    return 1;
}

/* A plain integer number of at most max_digits digits. */
static int integer(const uint8_t *s, const Value *v, int max_digits, int64_t *out)
{
    int64_t n = v->hi - v->lo;
    return v->plain_int && n >= 1 && n <= max_digits && digits(s + v->lo, (int)n, out);
}

/* ------------------------------------------------------------------ output */

static void set_bit(uint8_t *bits, Py_ssize_t i) { bits[i >> 3] |= (uint8_t)(1u << (i & 7)); }

/* Undo the escapes of the string [lo, hi) (\" \\ \/ and \u00XX of printable ASCII, as
 * scan_string accepted them) into out; returns the length written (at most hi - lo). */
static int64_t unescape(const uint8_t *s, int64_t lo, int64_t hi, uint8_t *out)
{
    int64_t w = 0;
    for (int64_t p = lo; p < hi;) {
        if (s[p] == '\\' && hi - p >= 2) {
            if (s[p + 1] == 'u' && hi - p >= 6) {
                int code = hex4(s, p + 2);
                if (code >= 0) {
                    out[w++] = (uint8_t)code; /* scan_string accepted 0x20..0x7E only */
                    p += 6;
                    continue;
                }
            }
            out[w++] = s[p + 1];
            p += 2;
            continue;
        }
        out[w++] = s[p++];
    }
    return w;
}

typedef struct {
    uint8_t *aux;
    int64_t used, size;
} Aux;

/* An Arrow string view of text (inline when at most 12 bytes, else copied to aux, which the
 * caller made room for, and pointing at data buffer 0). */
static void write_view(uint8_t *view, const uint8_t *text, int64_t n, Aux *a)
{
    uint32_t length = (uint32_t)n;
    memset(view, 0, 16);
    memcpy(view, &length, 4);
    if (n <= 12) {
        memcpy(view + 4, text, (size_t)n);
        return;
    }
    uint32_t index = 0, offset = (uint32_t)a->used;
    if (text != a->aux + a->used)
        memmove(a->aux + a->used, text, (size_t)n); /* text may lie in aux, past its end */
    a->used += n;
    memcpy(view + 4, a->aux + offset, 4);
    memcpy(view + 8, &index, 4);
    memcpy(view + 12, &offset, 4);
}

/* A string value's text: in the line, or unescaped into aux at its end (not yet kept). */
typedef struct {
    const uint8_t *bytes;
    int64_t n;
} Text;

static Text text_of(const uint8_t *s, const Value *v, Aux *a)
{
    Text t;
    if (v->escaped) {
        t.bytes = a->aux + a->used;
        t.n = unescape(s, v->lo, v->hi, a->aux + a->used);
    } else {
        t.bytes = s + v->lo;
        t.n = v->hi - v->lo;
    }
    return t;
}

static int dash_or_empty(Text t) { return t.n == 0 || (t.n == 1 && t.bytes[0] == '-'); }

/* Texts of the user agent and the error, by their raw text: a log repeats a few thousand
 * agents, so each is copied to aux once. */
#define SEEN_SLOTS 4096
typedef struct {
    const uint8_t *raw; /* the raw text in its line; NULL: an empty slot */
    int64_t raw_n;
    uint8_t view[16]; /* the view written for it; valid: not null */
    int valid;
} Seen;

static uint64_t hash_of(const uint8_t *p, int64_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    int64_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ULL;
    return h ^ (h >> 32);
}

/* A dash_null string field: null for "-" and "". */
static void put_plain(const uint8_t *s, const Value *v, uint8_t *view, uint8_t *valid,
                      Py_ssize_t i, Aux *a)
{
    if (v->type != T_STRING)
        return;
    Text t = text_of(s, v, a);
    if (dash_or_empty(t))
        return;
    write_view(view, t.bytes, t.n, a);
    set_bit(valid, i);
}

/* put_plain, with each distinct raw text copied once. */
static void put_shared(const uint8_t *s, const Value *v, uint8_t *view, uint8_t *valid,
                       Py_ssize_t i, Aux *a, Seen *seen)
{
    if (v->type != T_STRING)
        return;
    const uint8_t *raw = s + v->lo;
    int64_t raw_n = v->hi - v->lo;
    Seen *slot = &seen[hash_of(raw, raw_n) % SEEN_SLOTS];
    if (!slot->raw || slot->raw_n != raw_n || memcmp(slot->raw, raw, (size_t)raw_n) != 0) {
        Text t = text_of(s, v, a);
        slot->raw = raw;
        slot->raw_n = raw_n;
        slot->valid = !dash_or_empty(t);
        if (slot->valid)
            write_view(slot->view, t.bytes, t.n, a);
    }
    if (slot->valid) {
        memcpy(view, slot->view, 16);
        set_bit(valid, i);
    }
}

/* The first X-Forwarded-For hop of http.request.remoteaddr without its port, as
 * _registry._strip_port(first_hop(...)) gives it (ASCII text only). */
static void put_client(const uint8_t *s, const Value *v, uint8_t *view, uint8_t *valid,
                       Py_ssize_t i, Aux *a)
{
    if (v->type != T_STRING)
        return;
    Text t = text_of(s, v, a);
    const uint8_t *b = t.bytes;
    int64_t lo = 0, hi = t.n;
    const uint8_t *comma = memchr(b, ',', (size_t)t.n);
    if (comma)
        hi = comma - b;
    while (lo < hi && b[lo] == ' ')
        lo++;
    while (hi > lo && b[hi - 1] == ' ')
        hi--;
    if (hi == lo || (hi == lo + 1 && b[lo] == '-'))
        return;
    /* host:port, the host without ":" or "[": the host. */
    int64_t colon = -1;
    for (int64_t p = lo; p < hi; p++)
        if (b[p] == ':' || b[p] == '[') {
            colon = b[p] == ':' ? p : -1;
            break;
        }
    int simple = colon > lo && colon + 1 < hi;
    for (int64_t p = colon + 1; simple && p < hi; p++)
        simple = b[p] >= '0' && b[p] <= '9';
    if (simple) {
        hi = colon;
    } else if (b[lo] == '[') {
        /* [v6]...: what lies inside the first brackets, when anything does. */
        const uint8_t *close = memchr(b + lo + 1, ']', (size_t)(hi - lo - 1));
        if (close && close > b + lo + 1) {
            hi = close - b;
            lo = lo + 1;
        }
    }
    write_view(view, b + lo, hi - lo, a);
    set_bit(valid, i);
}

/* _common.path_only of http.request.uri: without query and fragment, and without
 * "scheme://host" when absolute. */
static void put_path(const uint8_t *s, const Value *v, uint8_t *view, uint8_t *valid,
                     Py_ssize_t i, Aux *a)
{
    if (v->type != T_STRING)
        return;
    Text t = text_of(s, v, a);
    const uint8_t *b = t.bytes;
    int64_t lo = 0, hi = t.n;
    for (int64_t p = 0; p < hi; p++)
        if (b[p] == '?' || b[p] == '#') {
            hi = p;
            break;
        }
    if (hi > 0 && ((b[0] | 0x20) >= 'a' && (b[0] | 0x20) <= 'z')) {
        int64_t p = 1;
        while (p < hi && (((b[p] | 0x20) >= 'a' && (b[p] | 0x20) <= 'z') ||
                          (b[p] >= '0' && b[p] <= '9') || b[p] == '+' || b[p] == '.' || b[p] == '-'))
            p++;
        if (hi - p >= 3 && b[p] == ':' && b[p + 1] == '/' && b[p + 2] == '/') {
            p += 3;
            while (p < hi && b[p] != '/')
                p++;
            lo = p;
        }
    }
    write_view(view, b + lo, hi - lo, a);
    set_bit(valid, i);
}

typedef struct {
    int kind;
    int64_t ts; /* the logged time, us */
    int has_ts, has_duration, has_status, has_written;
    double duration;
    int64_t status, written;
} Numbers;

/* The checks that decide whether a scanned line is the reference's to read, and its
 * numbers. 0: left to the reference. */
static int numbers(const uint8_t *s, const Value *vals, Numbers *out)
{
    memset(out, 0, sizeof *out);
    /* Strings or null wherever read, except the two numbers. */
    for (int k = 0; k < N_KEYS; k++) {
        int type = vals[k].type;
        int number = k == K_STATUS || k == K_WRITTEN;
        if (type == T_BOOL || (type == T_NUMBER && !number) || (type == T_STRING && number))
            return 0;
        if (type == T_STRING && k == K_REMOTEADDR && !vals[k].ascii)
            return 0; /* the reference strips Unicode whitespace, matches Unicode digits */
    }
    /* A logrus entry: level, and msg or else message. */
    const Value *msg = vals[K_MSG].type == T_STRING ? &vals[K_MSG] : &vals[K_MESSAGE];
    if (vals[K_LEVEL].type != T_STRING || msg->type != T_STRING)
        return 0;
    const Value *time = vals[K_TIME].type == T_STRING ? &vals[K_TIME] : &vals[K_TIMESTAMP];
    if (time->type == T_STRING) {
        if (time->escaped || !rfc3339(s + time->lo, time->hi - time->lo, &out->ts))
            return 0;
        out->has_ts = 1;
    }
    const Value *d = &vals[K_DURATION];
    if (d->type == T_STRING) {
        if (d->escaped || !go_duration(s + d->lo, d->hi - d->lo, &out->duration))
            return 0;
        out->has_duration = 1;
    }
    out->kind = OTHER;
    if (vals[K_STATUS].type == T_NUMBER) {
        if (!integer(s, &vals[K_STATUS], 5, &out->status) || out->status > 32767)
            return 0;
        out->has_status = 1;
        out->kind = REQUEST;
    }
    if (vals[K_WRITTEN].type == T_NUMBER) {
        if (!integer(s, &vals[K_WRITTEN], MAX_DIGITS, &out->written))
            return 0;
        out->has_written = 1;
    }
    return 1;
}

/* Bytes of aux a line's strings may need: the raw text of each (unescaping shortens). */
static int64_t room_needed(const Value *vals)
{
    static const int read[] = {K_REMOTEADDR, K_METHOD, K_URI, K_USERAGENT, K_ERR_MESSAGE,
                               K_ERR_CODE, K_ID};
    int64_t n = 0;
    for (size_t k = 0; k < sizeof read / sizeof read[0]; k++)
        if (vals[read[k]].type == T_STRING)
            n += vals[read[k]].hi - vals[read[k]].lo;
    return n;
}

/* ------------------------------------------------------------------ the module */

typedef struct {
    Py_buffer *held;
    const uint8_t **data;
    Py_ssize_t *size;
    Py_ssize_t count;
} Buffers;

static void release(Buffers *b)
{
    for (Py_ssize_t i = 0; i < b->count; i++)
        PyBuffer_Release(&b->held[i]);
    PyMem_Free(b->held);
    PyMem_Free(b->data);
    PyMem_Free(b->size);
    b->held = NULL;
    b->data = NULL;
    b->size = NULL;
    b->count = 0;
}

static int acquire(PyObject *list, Buffers *b)
{
    b->count = 0;
    b->held = NULL;
    b->data = NULL;
    b->size = NULL;
    PyObject *seq = PySequence_Fast(list, "_registry_scan: data buffers must be a sequence");
    if (!seq)
        return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > MAX_BUFFERS) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan: too many data buffers");
        Py_DECREF(seq);
        return 0;
    }
    b->held = PyMem_Calloc((size_t)n + 1, sizeof(Py_buffer));
    b->data = PyMem_Calloc((size_t)n + 1, sizeof(uint8_t *));
    b->size = PyMem_Calloc((size_t)n + 1, sizeof(Py_ssize_t));
    if (!b->held || !b->data || !b->size) {
        PyErr_NoMemory();
        release(b);
        Py_DECREF(seq);
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, i), &b->held[i], PyBUF_SIMPLE) < 0) {
            release(b);
            Py_DECREF(seq);
            return 0;
        }
        b->count = i + 1;
        b->data[i] = b->held[i].buf;
        b->size[i] = b->held[i].len;
    }
    Py_DECREF(seq);
    return 1;
}

static int too_small(Py_buffer *b, Py_ssize_t need, const char *name)
{
    if (b->len < need) {
        PyErr_Format(PyExc_ValueError, "_registry_scan.scan: %s holds %zd bytes, needs %zd",
                     name, b->len, need);
        return 1;
    }
    return 0;
}

PyDoc_STRVAR(scan_doc,
"scan(lines, buffers, kind, ts, duration, status, written, strings, valid, aux) -> (int, int)\n"
"\n"
"Scan n lines given as Arrow string views (lines: n * 16 bytes) into their data buffers\n"
"(a sequence of buffers). kind[i] (uint8) is 0 (REQUEST) or 2 (OTHER) for a line read here,\n"
"3 for a line left to the reference. Read lines fill ts (int64, the logged time in us),\n"
"duration (float64, seconds), status (int16), written (int64), strings (6 columns of n\n"
"16-byte string views: client, method, path, user agent, error, request id, pointing into\n"
"aux) and valid (10 bitmaps of (n + 7) // 8 bytes: the 6 strings, ts, duration, status,\n"
"written; zeroed here). Returns (bytes of aux used, lines left to the reference).");

static PyObject *scan(PyObject *self, PyObject *args)
{
    Py_buffer b_lines, b_kind, b_ts, b_dur, b_status, b_written, b_strings, b_valid, b_aux;
    PyObject *buffer_list;
    if (!PyArg_ParseTuple(args, "y*Ow*w*w*w*w*w*w*w*", &b_lines, &buffer_list, &b_kind, &b_ts,
                          &b_dur, &b_status, &b_written, &b_strings, &b_valid, &b_aux))
        return NULL;
    PyObject *result = NULL;
    Seen *seen = NULL;
    Buffers bufs = {NULL, NULL, NULL, 0};
    Py_ssize_t n = b_lines.len / 16;
    Py_ssize_t bitmap = (n + 7) / 8;
    if (b_lines.len % 16) {
        PyErr_SetString(PyExc_ValueError, "_registry_scan.scan: lines must be 16-byte views");
        goto done;
    }
    if (too_small(&b_kind, n, "kind") || too_small(&b_ts, 8 * n, "ts") ||
        too_small(&b_dur, 8 * n, "duration") || too_small(&b_status, 2 * n, "status") ||
        too_small(&b_written, 8 * n, "written") ||
        too_small(&b_strings, (Py_ssize_t)N_STRINGS * 16 * n, "strings") ||
        too_small(&b_valid, (Py_ssize_t)N_VALID * bitmap, "valid"))
        goto done;
    if (!acquire(buffer_list, &bufs))
        goto done;
    seen = PyMem_RawCalloc(SEEN_SLOTS, sizeof(Seen));
    if (!seen) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *lines = b_lines.buf;
    uint8_t *kind = b_kind.buf, *strings = b_strings.buf, *valid = b_valid.buf;
    int64_t *ts = b_ts.buf, *written = b_written.buf;
    int16_t *status = b_status.buf;
    double *duration = b_dur.buf;
    /* String views hold u32 offsets: aux beyond 4 GiB is never used. */
    Aux a = {b_aux.buf, 0, b_aux.len < (Py_ssize_t)UINT32_MAX ? b_aux.len : (Py_ssize_t)UINT32_MAX};
    Py_ssize_t rest = 0;

    Py_BEGIN_ALLOW_THREADS
    memset(strings, 0, (size_t)N_STRINGS * 16 * (size_t)n);
    memset(valid, 0, (size_t)N_VALID * (size_t)bitmap);
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *view = lines + 16 * i;
        uint32_t length, index, offset;
        memcpy(&length, view, 4);
        memcpy(&index, view + 8, 4);
        memcpy(&offset, view + 12, 4);
        ts[i] = written[i] = 0;
        status[i] = 0;
        duration[i] = 0.0;
        kind[i] = REST;
        /* A line of 12 bytes or less (an inline view) is never a logrus entry; a view
         * outside its buffers is not read. */
        if (length <= 12 || index >= bufs.count || (Py_ssize_t)offset + length > bufs.size[index]) {
            rest++;
            continue;
        }
        const uint8_t *s = bufs.data[index] + offset;
        Value vals[N_KEYS];
        Numbers num;
        if (!scan_object(s, 0, length, vals) || !numbers(s, vals, &num) ||
            room_needed(vals) > a.size - a.used) {
            rest++;
            continue;
        }
        kind[i] = (uint8_t)num.kind;
        if (num.has_ts) {
            int64_t start = num.ts;
            if (num.has_duration && num.duration > 0 && num.duration <= MAX_DURATION_S)
                start -= (int64_t)nearbyint(num.duration * 1e6); /* _common.started */
            ts[i] = start;
            set_bit(valid + V_TS * bitmap, i);
        }
        if (num.has_duration) {
            duration[i] = num.duration;
            set_bit(valid + V_DURATION * bitmap, i);
        }
        if (num.has_status) {
            status[i] = (int16_t)num.status;
            set_bit(valid + V_STATUS * bitmap, i);
        }
        if (num.has_written) {
            written[i] = num.written;
            set_bit(valid + V_WRITTEN * bitmap, i);
        }
#define OUT(k) (strings + ((Py_ssize_t)(k) * n + i) * 16), (valid + (k) * bitmap)
        put_client(s, &vals[K_REMOTEADDR], OUT(S_CLIENT), i, &a);
        put_plain(s, &vals[K_METHOD], OUT(S_METHOD), i, &a);
        put_path(s, &vals[K_URI], OUT(S_PATH), i, &a);
        put_shared(s, &vals[K_USERAGENT], OUT(S_UA), i, &a, seen);
        /* err.message, else err.code (coalesce of the two, each "-" or "" as null) */
        const Value *err = &vals[K_ERR_MESSAGE];
        if (err->type == T_STRING) {
            Text t = text_of(s, err, &a);
            if (dash_or_empty(t))
                err = &vals[K_ERR_CODE];
        } else {
            err = &vals[K_ERR_CODE];
        }
        put_shared(s, err, OUT(S_ERROR), i, &a, seen);
        /* The request id as logged ("" and "-" included). */
        if (vals[K_ID].type == T_STRING) {
            Text t = text_of(s, &vals[K_ID], &a);
            write_view(strings + ((Py_ssize_t)S_ID * n + i) * 16, t.bytes, t.n, &a);
            set_bit(valid + S_ID * bitmap, i);
        }
#undef OUT
    }
    Py_END_ALLOW_THREADS

    result = Py_BuildValue("Ln", (long long)a.used, rest);
done:
    PyMem_RawFree(seen);
    release(&bufs);
    PyBuffer_Release(&b_lines);
    PyBuffer_Release(&b_kind);
    PyBuffer_Release(&b_ts);
    PyBuffer_Release(&b_dur);
    PyBuffer_Release(&b_status);
    PyBuffer_Release(&b_written);
    PyBuffer_Release(&b_strings);
    PyBuffer_Release(&b_valid);
    PyBuffer_Release(&b_aux);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_registry_scan",
    .m_doc = "Compiled scanner for common registry JSON lines (see _registry_scan.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__registry_scan(void)
{
    memset(by_length, -1, sizeof by_length);
    for (int i = 0; i < N_KEYS; i++) {
        size_t n = strlen(KEY_NAMES[i]);
        int j = by_length[n][0] < 0 ? 0 : 1;
        if (n > MAX_KEY || by_length[n][j] >= 0) {
            PyErr_SetString(PyExc_SystemError, "_registry_scan: key table");
            return NULL;
        }
        by_length[n][j] = (int8_t)i;
    }
    return PyModule_Create(&module);
}
