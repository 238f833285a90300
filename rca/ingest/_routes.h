/* The registry route of a request: its endpoint kind, repository and namespace, from an
 * ASCII path and method. Shared by _derive_kernels.c (routes, over String columns) and
 * formats/_clf_scan.c (which works it out while the line is in cache: a second pass over
 * the paths of a 32 MB chunk missed the caches, half of the routes kernel's time).
 *
 * The reference is _derive._routes (Polars expressions); the tests compare both kernels
 * with it.
 */
#ifndef RCA_ROUTES_H
#define RCA_ROUTES_H

#include "_view_buffers.h"

/* Endpoint names, all short enough to be inline views. */
static const char *const ENDPOINTS[] = {"ping", "other", "manifest", "tags", "upload", "blob"};
enum { PING, OTHER, MANIFEST, TAGS, UPLOAD, BLOB };

/* Whether the n bytes at s start with the string literal lit: a compile-time length, so
 * the compare is inlined (a function taking the prefix called libc's memcmp every time). */
#define STARTS(s, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((s), (lit), sizeof(lit) - 1) == 0)

/* Does _derive._V2_ROUTE, "/(?:manifests/[^/]+|blobs/uploads(?:/[^/]*)?|blobs/[^/]+|tags/list)$",
 * match at the slash at j? last is the path's last slash, so "no slash from x on" is
 * last < x, without a search. */
static int route_at(const uint8_t *p, uint32_t n, uint32_t j, int64_t last)
{
    const uint8_t *r = p + j + 1;
    uint32_t k = n - j - 1;
    int64_t at = (int64_t)j + 1; /* r's offset in p */
    if (STARTS(r, k, "manifests/"))
        return k > 10 && last < at + 10;
    if (STARTS(r, k, "blobs/uploads") && (k == 13 || (r[13] == '/' && last < at + 14)))
        return 1;
    if (STARTS(r, k, "blobs/"))
        return k > 6 && last < at + 6;
    return k == 9 && memcmp(r, "tags/list", 9) == 0;
}

/* The offset of the slash before the route (the leftmost match, as str.find gives it), or
 * -1. A route holds at most two slashes, so only the last three can start one. Found from
 * the end eight bytes at a time: a digest's 71 bytes are the last segment of most paths. */
static int64_t route_start(const uint8_t *p, uint32_t n)
{
    int64_t slashes[3];
    int found = 0;
    int64_t i = n;
    for (; i >= 8 && found < 3; i -= 8)
        if (has_byte(load8(p + i - 8), '/'))
            for (int64_t j = i - 1; j >= i - 8 && found < 3; j--)
                if (p[j] == '/')
                    slashes[found++] = j;
    for (int64_t j = i - 1; j >= 0 && found < 3; j--)
        if (p[j] == '/')
            slashes[found++] = j;
    for (int k = found - 1; k >= 0; k--)
        if (route_at(p, n, (uint32_t)slashes[k], slashes[0]))
            return slashes[k];
    return -1;
}

static int write_method(const uint8_t *m, uint32_t n)
{
    /* method.str.to_uppercase().is_in(["POST", "PATCH", "PUT"]) for ASCII methods. */
    static const char *methods[] = {"POST", "PATCH", "PUT"};
    for (int k = 0; k < 3; k++) {
        size_t len = strlen(methods[k]);
        if (n != len)
            continue;
        size_t i = 0;
        while (i < len && (m[i] & ~0x20) == (uint8_t)methods[k][i])
            i++;
        if (i == len)
            return 1;
    }
    return 0;
}

typedef struct {
    int kind;          /* PING .. BLOB */
    int routed;        /* /v2/<name>/<route>: the name is the repository */
    uint32_t repo_len; /* bytes of the repository, from byte 4 of the path */
    uint32_t ns_len;   /* bytes of the namespace (the repository up to its first slash) */
} Route;

/* The route of path p (n bytes) requested with method m (mn bytes), both ASCII. */
static inline Route route_of(const uint8_t *p, uint32_t n, const uint8_t *m, uint32_t mn)
{
    Route r = {OTHER, 0, 0, 0};
    int64_t before = route_start(p, n);
    r.routed = n >= 4 && memcmp(p, "/v2/", 4) == 0 && before - 4 > 0;
    if (n == 4 && memcmp(p, "/v2/", 4) == 0) {
        r.kind = PING;
    } else if (r.routed) {
        const uint8_t *head = p + before + 1;
        uint32_t k = n - (uint32_t)before - 1;
        if (k > 13)
            k = 13; /* path.str.slice(before + 1, 13) */
        if (STARTS(head, k, "manifests/"))
            r.kind = MANIFEST;
        else if (STARTS(head, k, "tags/"))
            r.kind = TAGS;
        else if (STARTS(head, k, "blobs/uploads"))
            r.kind = UPLOAD;
        else if (write_method(m, mn))
            r.kind = UPLOAD;
        else
            r.kind = BLOB;
        r.repo_len = (uint32_t)before - 4;
        const void *slash = memchr(p + 4, '/', r.repo_len);
        r.ns_len = slash ? (uint32_t)((const uint8_t *)slash - (p + 4)) : r.repo_len;
    }
    return r;
}

/* The inline view of each endpoint name, made once per call instead of once per row. */
static inline void name_views(uint8_t views[][16])
{
    for (int k = PING; k <= BLOB; k++)
        view_write(views[k], (const uint8_t *)ENDPOINTS[k], (uint32_t)strlen(ENDPOINTS[k]), 0, 0);
}

#endif
