#include "report.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT63_MAX 9223372036854775807ull
#define TWO53_INT 9007199254740992ull

typedef struct
{
    const char *lng;
    const char *shrt;
} keydef;

typedef struct
{
    arena *a;
    const validate_opts *o;
    report_result *r;
    int style; /* 0 unset, 1 long, 2 short */
} vctx;

static int vfail(vctx *v, int step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int vfail(vctx *v, int step, const char *fmt, ...)
{
    if (v->r->step == VSTEP_OK)
    {
        v->r->step = step;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->r->reason, sizeof v->r->reason, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static void vflag(vctx *v, const dnode *metric, const char *why)
{
    report_result *r = v->r;
    r->nflags++;
    size_t used = strlen(r->flags);
    size_t room = sizeof r->flags - used;
    int n = snprintf(r->flags + used, room, "%.*s:%s;",
                     (int) (metric->key_len > 64 ? 64 : metric->key_len), metric->key, why);
    if (n < 0 || (size_t) n >= room)
    {
        /* truncated: mark and stop */
        if (sizeof r->flags > 4)
            memcpy(r->flags + sizeof r->flags - 4, "...", 4);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Generic helpers
 * ------------------------------------------------------------------------------------------- */

static int key_eq(const dnode *n, const char *k)
{
    return dn_key_is(n, k);
}

static int cmp_keys(const void *a, const void *b)
{
    const dnode *x = *(const dnode *const *) a;
    const dnode *y = *(const dnode *const *) b;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return memcmp(x->key, y->key, x->key_len);
}

/* PD-6 / section 4: no map anywhere may hold the same key twice. */
static int check_exact_dups(vctx *v, const dnode *n)
{
    if (n->type == DN_MAP && n->count > 1)
    {
        if (n->count <= 16)
        {
            for (const dnode *a = n->child; a != NULL; a = a->next)
                for (const dnode *b = a->next; b != NULL; b = b->next)
                    if (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0)
                        return vfail(v, VSTEP_ROOT, "duplicate key \"%.*s\"",
                                     (int) (a->key_len > 64 ? 64 : a->key_len), a->key);
        }
        else
        {
            const dnode **arr = arena_alloc(v->a, sizeof(*arr) * n->count);
            if (arr == NULL)
                return vfail(v, VSTEP_ROOT, "out of memory");
            size_t i = 0;
            for (const dnode *a = n->child; a != NULL; a = a->next)
                arr[i++] = a;
            qsort(arr, i, sizeof *arr, cmp_keys);
            for (size_t k = 1; k < i; k++)
                if (cmp_keys(&arr[k - 1], &arr[k]) == 0)
                    return vfail(v, VSTEP_ROOT, "duplicate key \"%.*s\"",
                                 (int) (arr[k]->key_len > 64 ? 64 : arr[k]->key_len), arr[k]->key);
        }
    }
    if (n->type == DN_MAP || n->type == DN_ARRAY)
    {
        for (const dnode *c = n->child; c != NULL; c = c->next)
            if (!check_exact_dups(v, c))
                return 0;
    }
    return 1;
}

/* Binds the members of a schema map to its key table (PD-6, PD-7). */
static int bind_keys(vctx *v, int step, const dnode *map, const keydef *defs, size_t ndefs,
                     const dnode **slots, const char *where)
{
    for (size_t i = 0; i < ndefs; i++)
        slots[i] = NULL;
    for (const dnode *c = map->child; c != NULL; c = c->next)
    {
        size_t i;
        int st = 0;
        for (i = 0; i < ndefs; i++)
        {
            if (key_eq(c, defs[i].lng))
            {
                st = 1;
                break;
            }
            if (defs[i].shrt != NULL && key_eq(c, defs[i].shrt))
            {
                st = 2;
                break;
            }
        }
        if (i == ndefs)
        {
            if (v->o->strict)
                return vfail(v, step, "unknown key \"%.*s\" in %s",
                             (int) (c->key_len > 64 ? 64 : c->key_len), c->key, where);
            continue;
        }
        if (slots[i] != NULL)
            return vfail(v, step, "key %s given twice in %s", defs[i].lng, where);
        slots[i] = c;
        if (defs[i].shrt != NULL && strcmp(defs[i].lng, defs[i].shrt) != 0)
        {
            if (v->style == 0)
                v->style = st;
            else if (v->style != st && v->o->strict)
                return vfail(v, step, "mixed key styles (%s in %s)", st == 1 ? "long" : "short",
                             where);
        }
    }
    return 1;
}

/* Integer field (2.2, PD-3, PD-4). */
static int get_uint(vctx *v, int step, const dnode *n, uint64_t min, uint64_t max, const char *name,
                    uint64_t *out)
{
    uint64_t val;
    if (n->type == DN_INT)
    {
        if (n->big || (n->neg && n->mag != 0))
            return vfail(v, step, "%s out of range", name);
        val = n->mag;
    }
    else if (n->type == DN_FLOAT)
    {
        /* PD-4: the decoders tell whether the exact value is whole (for JSON text that is
         * not the same as its nearest double being whole) */
        if (v->o->strict)
            return vfail(v, step, "%s is not in integer form", name);
        if (!n->whole || n->big || n->mag > TWO53_INT)
            return vfail(v, step, "%s is not an integer", name);
        if (n->neg && n->mag != 0)
            return vfail(v, step, "%s out of range", name);
        val = n->mag;
    }
    else
    {
        return vfail(v, step, "%s is not a number", name);
    }
    if (val < min || val > max)
        return vfail(v, step, "%s out of range", name);
    *out = val;
    return 1;
}

/* Silent variant used for PD-14 report-id extraction. */
static int peek_report_id(const dnode *n, int strict, uint64_t *out)
{
    if (n->type == DN_INT)
    {
        if (n->big || n->neg || n->mag < 1 || n->mag > INT63_MAX)
            return 0;
        *out = n->mag;
        return 1;
    }
    if (n->type == DN_FLOAT && !strict)
    {
        if (!n->whole || n->big || n->neg || n->mag < 1 || n->mag > TWO53_INT)
            return 0;
        *out = n->mag;
        return 1;
    }
    return 0;
}

static int is_number(const dnode *n)
{
    return n->type == DN_INT || n->type == DN_FLOAT;
}

/* ---------------------------------------------------------------------------------------------
 * Addresses (2.3, PD-5)
 * ------------------------------------------------------------------------------------------- */

static int parse_port_digits(const char *s, size_t n, uint32_t *port)
{
    if (n < 1 || n > 5)
        return 0;
    uint32_t p = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        p = p * 10 + (uint32_t) (s[i] - '0');
    }
    if (p > 65535)
        return 0;
    *port = p;
    return 1;
}

/* Returns 1 with the normalised address text (IPv4-mapped shown as IPv4) in out. */
/* Set of strings for de-duplicating a list in linear time (a list may hold ~10,000
 * entries): open addressing over indices into the caller's array, in the arena. */
typedef struct
{
    uint32_t *slot; /* index + 1 into items; 0 = empty */
    uint32_t mask;
    const dstr *items;
} strset;

static int strset_init(strset *set, arena *a, uint32_t n, const dstr *items)
{
    uint32_t cap = 16;
    while (cap < 2u * n && cap < (1u << 30))
        cap <<= 1;
    set->slot = arena_alloc(a, sizeof(uint32_t) * cap);
    if (set->slot == NULL)
        return 0;
    memset(set->slot, 0, sizeof(uint32_t) * cap);
    set->mask = cap - 1;
    set->items = items;
    return 1;
}

/* Returns 1 when (s, n) is already in the set; else adds index `idx` (whose item is (s, n))
 * and returns 0. */
static int strset_seen_or_add(strset *set, const char *s, size_t n, uint32_t idx)
{
    for (uint32_t i = str_hash_seeded(s, n) & set->mask;; i = (i + 1) & set->mask)
    {
        uint32_t e = set->slot[i];
        if (e == 0)
        {
            set->slot[i] = idx + 1;
            return 0;
        }
        const dstr *it = &set->items[e - 1];
        if (it->len == n && memcmp(it->s, s, n) == 0)
            return 1;
    }
}

static int parse_remote_addr(const char *s, size_t n, int strict, char *out, size_t outsz)
{
    char host[64];
    size_t colon = n;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == ':')
        {
            colon = i - 1;
            break;
        }
    if (colon == n)
        return 0;
    uint32_t port;
    if (!parse_port_digits(s + colon + 1, n - colon - 1, &port))
        return 0;
    size_t hl = colon;
    const char *h = s;
    int bracket = 0;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
    {
        bracket = 1;
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host || memchr(h, '\0', hl) != NULL)
        return 0;
    memcpy(host, h, hl);
    host[hl] = '\0';
    unsigned char bin[16];
    int has_colon = memchr(host, ':', hl) != NULL;
    if (!bracket && !has_colon)
    {
        if (inet_pton(AF_INET, host, bin) != 1)
            return 0;
        return inet_ntop(AF_INET, bin, out, (socklen_t) outsz) != NULL;
    }
    if (!bracket && strict)
        return 0; /* bare IPv6 only in default mode */
    if (inet_pton(AF_INET6, host, bin) != 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(bin, mapped, 12) == 0)
        return inet_ntop(AF_INET, bin + 12, out, (socklen_t) outsz) != NULL;
    return inet_ntop(AF_INET6, bin, out, (socklen_t) outsz) != NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Datapoint collection
 * ------------------------------------------------------------------------------------------- */

typedef struct
{
    detect_datapoint *v;
    size_t n;
    size_t cap;
} dplist;

static detect_datapoint *dp_add(vctx *v, dplist *l, const char *metric, size_t mlen, dp_kind k)
{
    if (l->n == l->cap)
    {
        size_t nc = l->cap ? l->cap * 2 : 16;
        detect_datapoint *nv = arena_alloc(v->a, nc * sizeof *nv);
        if (nv == NULL)
            return NULL;
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = nc;
    }
    detect_datapoint *d = &l->v[l->n++];
    memset(d, 0, sizeof *d);
    d->metric = metric;
    d->metric_len = (uint32_t) mlen;
    d->kind = k;
    return d;
}

static int dp_count(vctx *v, dplist *l, const char *metric, uint64_t c)
{
    detect_datapoint *d = dp_add(v, l, metric, strlen(metric), DP_COUNT);
    if (d == NULL)
        return vfail(v, VSTEP_METRICS, "out of memory");
    d->count = c;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Standard metrics (step 7)
 * ------------------------------------------------------------------------------------------- */

static const keydef k_listen[] = {{"ports", "pts"}, {"total", "t"}};
static const keydef k_port[] = {{"port", "pt"}, {"interface", "if"}};
static const keydef k_ns[] = {
    {"bytes_in", "bi"}, {"bytes_out", "bo"}, {"packets_in", "pi"}, {"packets_out", "po"}};
static const keydef k_tc[] = {{"established_connections", "ec"}};
static const keydef k_ec[] = {{"connections", "cs"}, {"total", "t"}};
static const keydef k_conn[] = {
    {"remote_addr", "rad"}, {"local_port", "lp"}, {"local_interface", "li"}};
static const keydef k_metrics[] = {{"listening_tcp_ports", "tp"},
                                   {"listening_udp_ports", "up"},
                                   {"network_stats", "ns"},
                                   {"tcp_connections", "tc"}};

static int check_listen(vctx *v, const dnode *blk, const char *where, const char *count_metric,
                        const char *set_metric, dplist *dps)
{
    if (blk->type != DN_MAP)
        return vfail(v, VSTEP_METRICS, "%s is not a map", where);
    const dnode *s[2];
    if (!bind_keys(v, VSTEP_METRICS, blk, k_listen, 2, s, where))
        return 0;
    uint64_t total = 0;
    if (s[1] != NULL && !get_uint(v, VSTEP_METRICS, s[1], 0, INT63_MAX, "total", &total))
        return 0;
    uint32_t *ports = NULL;
    uint32_t np = 0;
    uint64_t listed = 0;
    if (s[0] != NULL)
    {
        const dnode *list = s[0];
        if (list->type != DN_ARRAY)
            return vfail(v, VSTEP_METRICS, "%s.ports is not an array", where);
        ports = arena_alloc(v->a, sizeof(uint32_t) * (list->count + 1));
        if (ports == NULL)
            return vfail(v, VSTEP_METRICS, "out of memory");
        /* Ports listed so far: a short list is searched, a long one (up to ~16,000 in a
         * report) marked in a bitmap of 1..65535 (clearing 8 KB per list costs more than
         * searching a few entries). */
        uint8_t seen[65536 / 8];
        int long_list = list->count > 32;
        if (long_list)
            memset(seen, 0, sizeof seen);
        uint32_t idx = 0;
        for (const dnode *e = list->child; e != NULL; e = e->next, idx++)
        {
            if (e->type != DN_MAP)
                return vfail(v, VSTEP_METRICS, "%s.ports[%u] is not a map", where, idx);
            const dnode *pe[2];
            if (!bind_keys(v, VSTEP_METRICS, e, k_port, 2, pe, where))
                return 0;
            if (pe[1] != NULL && pe[1]->type != DN_STRING)
                return vfail(v, VSTEP_METRICS, "%s.ports[%u].interface is not a string", where,
                             idx);
            if (pe[0] == NULL)
            {
                if (v->o->strict)
                    return vfail(v, VSTEP_METRICS, "%s.ports[%u] has no port", where, idx);
                continue;
            }
            uint64_t p;
            char nm[16];
            snprintf(nm, sizeof nm, "port");
            if (!get_uint(v, VSTEP_METRICS, pe[0], 1, 65535, nm, &p))
            {
                snprintf(v->r->reason, sizeof v->r->reason,
                         "port out of range or invalid in %s[%u]", where, idx);
                return 0;
            }
            int dup = 0;
            if (long_list)
            {
                dup = (seen[p >> 3] & (1u << (p & 7))) != 0;
                seen[p >> 3] |= (uint8_t) (1u << (p & 7));
            }
            else
                for (uint32_t k = 0; k < np && !dup; k++)
                    dup = ports[k] == (uint32_t) p;
            if (!dup)
                ports[np++] = (uint32_t) p;
        }
        listed = list->count;
        if (v->o->strict && s[1] != NULL && total < listed)
            return vfail(v, VSTEP_METRICS, "%s.total below the number of listed entries", where);
    }
    /* PD-20 counts: total, else list length, else 0; capping never lowers a count */
    uint64_t cnt = s[1] != NULL ? (total > listed ? total : listed) : listed;
    if (!dp_count(v, dps, count_metric, cnt))
        return 0;
    if (s[0] != NULL || (s[1] != NULL && total == 0))
    {
        detect_datapoint *d = dp_add(v, dps, set_metric, strlen(set_metric), DP_PORTS);
        if (d == NULL)
            return vfail(v, VSTEP_METRICS, "out of memory");
        d->ports = ports;
        d->n = np;
    }
    return 1;
}

static int check_conns(vctx *v, const dnode *tc, dplist *dps)
{
    if (tc->type != DN_MAP)
        return vfail(v, VSTEP_METRICS, "tcp_connections is not a map");
    const dnode *s1[1];
    if (!bind_keys(v, VSTEP_METRICS, tc, k_tc, 1, s1, "tcp_connections"))
        return 0;
    const dnode *ec = s1[0];
    if (ec == NULL)
        return 1;
    if (ec->type != DN_MAP)
        return vfail(v, VSTEP_METRICS, "established_connections is not a map");
    const dnode *s[2];
    if (!bind_keys(v, VSTEP_METRICS, ec, k_ec, 2, s, "established_connections"))
        return 0;
    uint64_t total = 0;
    if (s[1] != NULL && !get_uint(v, VSTEP_METRICS, s[1], 0, INT63_MAX, "total", &total))
        return 0;
    dstr *addrs = NULL;
    uint32_t na = 0;
    uint64_t listed = 0;
    if (s[0] != NULL)
    {
        const dnode *list = s[0];
        if (list->type != DN_ARRAY)
            return vfail(v, VSTEP_METRICS, "connections is not an array");
        addrs = arena_alloc(v->a, sizeof(dstr) * (list->count + 1));
        strset set;
        if (addrs == NULL || !strset_init(&set, v->a, list->count, addrs))
            return vfail(v, VSTEP_METRICS, "out of memory");
        uint32_t idx = 0;
        for (const dnode *e = list->child; e != NULL; e = e->next, idx++)
        {
            if (e->type != DN_MAP)
                return vfail(v, VSTEP_METRICS, "connections[%u] is not a map", idx);
            const dnode *c[3];
            if (!bind_keys(v, VSTEP_METRICS, e, k_conn, 3, c, "connection"))
                return 0;
            if (c[0] == NULL)
                return vfail(v, VSTEP_METRICS, "connections[%u] has no remote_addr", idx);
            if (c[0]->type != DN_STRING)
                return vfail(v, VSTEP_METRICS, "connections[%u].remote_addr is not a string", idx);
            char norm[64];
            if (!parse_remote_addr(c[0]->str, c[0]->len, v->o->strict, norm, sizeof norm))
                return vfail(v, VSTEP_METRICS, "connections[%u].remote_addr \"%.*s\" is invalid",
                             idx, (int) (c[0]->len > 64 ? 64 : c[0]->len), c[0]->str);
            uint64_t lp;
            if (c[1] != NULL && !get_uint(v, VSTEP_METRICS, c[1], 0, 65535, "local_port", &lp))
                return 0;
            if (c[2] != NULL && c[2]->type != DN_STRING)
                return vfail(v, VSTEP_METRICS, "connections[%u].local_interface is not a string",
                             idx);
            size_t nl = strlen(norm);
            char *cp = arena_alloc(v->a, nl + 1);
            if (cp == NULL)
                return vfail(v, VSTEP_METRICS, "out of memory");
            memcpy(cp, norm, nl + 1);
            addrs[na].s = cp;
            addrs[na].len = (uint32_t) nl;
            if (!strset_seen_or_add(&set, cp, nl, na))
                na++;
        }
        listed = list->count;
        if (v->o->strict && s[1] != NULL && total < listed)
            return vfail(v, VSTEP_METRICS, "established_connections.total below list length");
    }
    uint64_t cnt = s[1] != NULL ? (total > listed ? total : listed) : listed;
    if (!dp_count(v, dps, "aws:num-established-tcp-connections", cnt))
        return 0;
    if (s[0] != NULL || (s[1] != NULL && total == 0))
    {
        const char *m = "aws:destination-ip-addresses";
        detect_datapoint *d = dp_add(v, dps, m, strlen(m), DP_CIDRS);
        if (d == NULL)
            return vfail(v, VSTEP_METRICS, "out of memory");
        d->strings = addrs;
        d->n = na;
    }
    return 1;
}

static int check_metrics(vctx *v, const dnode *met, dplist *dps)
{
    const dnode *s[4];
    if (!bind_keys(v, VSTEP_METRICS, met, k_metrics, 4, s, "metrics"))
        return 0;
    if (s[0] != NULL && !check_listen(v, s[0], "listening_tcp_ports", "aws:num-listening-tcp-ports",
                                      "aws:listening-tcp-ports", dps))
        return 0;
    if (s[1] != NULL && !check_listen(v, s[1], "listening_udp_ports", "aws:num-listening-udp-ports",
                                      "aws:listening-udp-ports", dps))
        return 0;
    if (s[2] != NULL)
    {
        if (s[2]->type != DN_MAP)
            return vfail(v, VSTEP_METRICS, "network_stats is not a map");
        const dnode *ns[4];
        if (!bind_keys(v, VSTEP_METRICS, s[2], k_ns, 4, ns, "network_stats"))
            return 0;
        static const char *const names[4] = {"aws:all-bytes-in", "aws:all-bytes-out",
                                             "aws:all-packets-in", "aws:all-packets-out"};
        for (int i = 0; i < 4; i++)
        {
            uint64_t val;
            if (ns[i] == NULL)
                continue;
            if (!get_uint(v, VSTEP_METRICS, ns[i], 0, INT63_MAX, k_ns[i].lng, &val))
                return 0;
            if (!dp_count(v, dps, names[i], val))
                return 0;
        }
    }
    if (s[3] != NULL && !check_conns(v, s[3], dps))
        return 0;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Custom metrics (step 8, PD-11..13)
 * ------------------------------------------------------------------------------------------- */

int custom_metric_name_valid(const char *s, size_t len)
{
    if (len < 1 || len > 128)
        return 0;
    for (size_t i = 0; i < len; i++)
    {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return 0;
    }
    if (len >= 4 && memcmp(s, "aws:", 4) == 0)
        return 0;
    return 1;
}

int custom_number_conforms(double v)
{
    if (!isfinite(v))
        return 0;
    if (fabs(v) < 1e15 && floor(v) == v)
        return 1; /* whole numbers below 10^15 have at most 15 significant digits */
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", v);
    return strtod(buf, NULL) == v;
}

static int string_conforms(const dnode *s)
{
    if (s->len == 0)
        return 0;
    for (uint32_t i = 0; i < s->len; i++)
    {
        char c = s->str[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-' || c == '/' || c == '.'))
            return 0;
    }
    return 1;
}

static int ip_conforms(const dnode *s)
{
    char buf[64];
    unsigned char bin[16];
    if (s->len == 0 || s->len >= sizeof buf || memchr(s->str, '\0', s->len) != NULL)
        return 0;
    memcpy(buf, s->str, s->len);
    buf[s->len] = '\0';
    return inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
}

static const keydef k_value[] = {
    {"number", NULL}, {"number_list", NULL}, {"string_list", NULL}, {"ip_list", NULL}};

static int check_custom(vctx *v, const dnode *cm, dplist *dps)
{
    for (const dnode *m = cm->child; m != NULL; m = m->next)
    {
        int nl = (int) (m->key_len > 64 ? 64 : m->key_len);
        if (!custom_metric_name_valid(m->key, m->key_len))
            return vfail(v, VSTEP_CUSTOM, "invalid custom metric name \"%.*s\"", nl, m->key);
        if (m->type != DN_ARRAY || m->count != 1)
            return vfail(v, VSTEP_CUSTOM, "custom metric %.*s is not an array of one map", nl,
                         m->key);
        const dnode *e = m->child;
        if (e->type != DN_MAP)
            return vfail(v, VSTEP_CUSTOM, "custom metric %.*s is not an array of one map", nl,
                         m->key);
        const dnode *s[4];
        int saved_style = v->style;
        if (!bind_keys(v, VSTEP_CUSTOM, e, k_value, 4, s, "custom metric value"))
            return 0;
        v->style = saved_style;
        int which = -1;
        for (int i = 0; i < 4; i++)
        {
            if (s[i] != NULL)
            {
                if (which >= 0)
                    return vfail(v, VSTEP_CUSTOM, "custom metric %.*s has several value keys", nl,
                                 m->key);
                which = i;
            }
        }
        if (which < 0)
            return vfail(v, VSTEP_CUSTOM, "custom metric %.*s has no value key", nl, m->key);
        const dnode *val = s[which];
        cm_type sent = (cm_type) (which + 1);
        int conforming = 1;
        if (sent == CM_NUMBER)
        {
            if (!is_number(val))
                return vfail(v, VSTEP_CUSTOM, "custom metric %.*s: number is not a number", nl,
                             m->key);
            conforming = custom_number_conforms(val->d);
        }
        else
        {
            if (val->type != DN_ARRAY)
                return vfail(v, VSTEP_CUSTOM, "custom metric %.*s: value is not an array", nl,
                             m->key);
            for (const dnode *x = val->child; x != NULL; x = x->next)
            {
                if (sent == CM_NUMBER_LIST)
                {
                    if (!is_number(x))
                        return vfail(v, VSTEP_CUSTOM,
                                     "custom metric %.*s: number_list element is not a number", nl,
                                     m->key);
                    if (conforming && !custom_number_conforms(x->d))
                        conforming = 0;
                }
                else
                {
                    if (x->type != DN_STRING)
                        return vfail(v, VSTEP_CUSTOM,
                                     "custom metric %.*s: list element is not a string", nl,
                                     m->key);
                    if (conforming &&
                        !(sent == CM_STRING_LIST ? string_conforms(x) : ip_conforms(x)))
                        conforming = 0;
                }
            }
        }
        if (!conforming)
        {
            vflag(v, m, "nonconforming");
            continue;
        }
        if (v->o->custom_type != NULL)
        {
            cm_type def = v->o->custom_type(v->o->custom_ctx, m->key, m->key_len);
            if (def != CM_NONE && def != sent)
            {
                vflag(v, m, "type-mismatch");
                continue;
            }
        }
        static const dp_kind kinds[4] = {DP_NUMBER, DP_NUMBERS, DP_STRINGS, DP_CIDRS};
        detect_datapoint *d = dp_add(v, dps, m->key, m->key_len, kinds[which]);
        if (d == NULL)
            return vfail(v, VSTEP_CUSTOM, "out of memory");
        if (sent == CM_NUMBER)
        {
            d->number = val->d;
            continue;
        }
        d->n = val->count;
        if (sent == CM_NUMBER_LIST)
        {
            double *nums = arena_alloc(v->a, sizeof(double) * (val->count + 1));
            if (nums == NULL)
                return vfail(v, VSTEP_CUSTOM, "out of memory");
            uint32_t i = 0;
            for (const dnode *x = val->child; x != NULL; x = x->next)
                nums[i++] = x->d;
            d->numbers = nums;
        }
        else
        {
            dstr *strs = arena_alloc(v->a, sizeof(dstr) * (val->count + 1));
            if (strs == NULL)
                return vfail(v, VSTEP_CUSTOM, "out of memory");
            uint32_t i = 0;
            for (const dnode *x = val->child; x != NULL; x = x->next)
            {
                strs[i].s = x->str;
                strs[i].len = x->len;
                i++;
            }
            d->strings = strs;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------------------------- */

static const keydef k_root[] = {{"header", "hed"}, {"metrics", "met"}, {"custom_metrics", "cmet"}};
static const keydef k_header[] = {{"report_id", "rid"}, {"version", "v"}};

/* The schema's maps with short spellings, for step 4's document-wide checks: per key of a
 * map, the schema of its value (a map, or each map of a list), or NULL. */
typedef struct schema_map
{
    const keydef *defs;
    size_t ndefs;
    const struct schema_map *const *sub;
} schema_map;

static const schema_map s_port = {k_port, 2, (const schema_map *const[]){NULL, NULL}};
static const schema_map s_listen = {k_listen, 2, (const schema_map *const[]){&s_port, NULL}};
static const schema_map s_ns = {k_ns, 4, (const schema_map *const[]){NULL, NULL, NULL, NULL}};
static const schema_map s_conn = {k_conn, 3, (const schema_map *const[]){NULL, NULL, NULL}};
static const schema_map s_ec = {k_ec, 2, (const schema_map *const[]){&s_conn, NULL}};
static const schema_map s_tc = {k_tc, 1, (const schema_map *const[]){&s_ec}};
static const schema_map s_metrics = {
    k_metrics, 4, (const schema_map *const[]){&s_listen, &s_listen, &s_ns, &s_tc}};
static const schema_map s_header = {k_header, 2, (const schema_map *const[]){NULL, NULL}};
static const schema_map s_root = {k_root, 3,
                                  (const schema_map *const[]){&s_header, &s_metrics, NULL}};

/* Step 4 over the whole document (PD-6): no schema map holds a key in both spellings; strict
 * mode: one key style throughout. Values of the wrong type are left to the later steps. */
static int check_spellings(vctx *v, const dnode *map, const schema_map *sm, int depth)
{
    const dnode *seen[4] = {NULL, NULL, NULL, NULL};
    if (depth > DOM_MAX_DEPTH)
        return 1; /* the decoders refuse deeper documents */
    for (const dnode *c = map->child; c != NULL; c = c->next)
    {
        size_t i;
        int st = 0;
        for (i = 0; i < sm->ndefs; i++)
        {
            if (key_eq(c, sm->defs[i].lng))
                st = 1;
            else if (sm->defs[i].shrt != NULL && key_eq(c, sm->defs[i].shrt))
                st = 2;
            if (st != 0)
                break;
        }
        if (i == sm->ndefs)
            continue; /* unknown key: PD-7, decided where the map is validated */
        if (seen[i] != NULL)
            return vfail(v, VSTEP_ROOT, "key %s given in both spellings", sm->defs[i].lng);
        seen[i] = c;
        if (v->o->strict)
        {
            if (v->style == 0)
                v->style = st;
            else if (v->style != st)
                return vfail(v, VSTEP_ROOT, "mixed key styles (%s key \"%.*s\")",
                             st == 1 ? "long" : "short", (int) c->key_len, c->key);
        }
        const schema_map *sub = sm->sub[i];
        if (sub == NULL)
            continue;
        if (c->type == DN_MAP && !check_spellings(v, c, sub, depth + 1))
            return 0;
        if (c->type == DN_ARRAY)
            for (const dnode *e = c->child; e != NULL; e = e->next)
                if (e->type == DN_MAP && !check_spellings(v, e, sub, depth + 2))
                    return 0;
    }
    return 1;
}

static int version_ok(const dnode *n, int strict)
{
    if (n->type != DN_STRING)
        return 0;
    if (strict)
        return n->len == 3 && memcmp(n->str, "1.0", 3) == 0;
    uint32_t i = 0;
    uint32_t a = 0;
    while (i < n->len && n->str[i] >= '0' && n->str[i] <= '9')
    {
        i++;
        a++;
    }
    if (a == 0 || i >= n->len || n->str[i] != '.')
        return 0;
    i++;
    uint32_t b = 0;
    while (i < n->len && n->str[i] >= '0' && n->str[i] <= '9')
    {
        i++;
        b++;
    }
    return b > 0 && i == n->len;
}

/* PD-14: exactly one header/hed holding exactly one valid report_id/rid. */
static void extract_report_id(const dnode *root, int strict, report_result *r)
{
    const dnode *hdr = NULL;
    int nh = 0;
    for (const dnode *c = root->child; c != NULL; c = c->next)
        if (key_eq(c, "header") || key_eq(c, "hed"))
        {
            hdr = c;
            nh++;
        }
    if (nh != 1 || hdr->type != DN_MAP)
        return;
    const dnode *rid = NULL;
    int nr = 0;
    for (const dnode *c = hdr->child; c != NULL; c = c->next)
        if (key_eq(c, "report_id") || key_eq(c, "rid"))
        {
            rid = c;
            nr++;
        }
    if (nr != 1)
        return;
    uint64_t id;
    if (peek_report_id(rid, strict, &id))
    {
        r->has_report_id = 1;
        r->report_id = id;
    }
}

int report_validate(arena *a, const uint8_t *buf, size_t len, report_fmt fmt,
                    const validate_opts *o, report_result *r)
{
    memset(r, 0, sizeof *r);
    vctx v = {a, o, r, 0};
    dom_error err;
    /* step 3: decode */
    dnode *root = fmt == FMT_JSON ? json_decode(a, buf, len, !o->strict, &err)
                                  : cbor_decode(a, buf, len, &err);
    if (root == NULL)
    {
        vfail(&v, VSTEP_DECODE, "%s decode error at byte %zu: %s",
              fmt == FMT_JSON ? "JSON" : "CBOR", err.offset, err.msg);
        return 0;
    }
    /* step 4: root */
    if (root->type != DN_MAP)
        return vfail(&v, VSTEP_ROOT, "root is not a map");
    extract_report_id(root, o->strict, r);
    if (!check_exact_dups(&v, root))
        return 0;
    if (!check_spellings(&v, root, &s_root, 1))
        return 0;
    const dnode *s[3];
    if (!bind_keys(&v, VSTEP_ROOT, root, k_root, 3, s, "root"))
        return 0;
    /* step 5: header */
    if (s[0] == NULL)
        return vfail(&v, VSTEP_HEADER, "no header");
    if (s[0]->type != DN_MAP)
        return vfail(&v, VSTEP_HEADER, "header is not a map");
    const dnode *h[2];
    if (!bind_keys(&v, VSTEP_HEADER, s[0], k_header, 2, h, "header"))
        return 0;
    if (h[0] == NULL)
        return vfail(&v, VSTEP_HEADER, "no report_id");
    uint64_t rid;
    if (!get_uint(&v, VSTEP_HEADER, h[0], 1, INT63_MAX, "report_id", &rid))
        return 0;
    if (h[1] == NULL)
        return vfail(&v, VSTEP_HEADER, "no version");
    if (!version_ok(h[1], o->strict))
        return vfail(&v, VSTEP_HEADER, "invalid version");
    /* step 6: body */
    if (s[1] == NULL && s[2] == NULL)
        return vfail(&v, VSTEP_BODY, "neither metrics nor custom_metrics");
    if (s[1] != NULL && s[1]->type != DN_MAP)
        return vfail(&v, VSTEP_BODY, "metrics is not a map");
    if (s[2] != NULL && s[2]->type != DN_MAP)
        return vfail(&v, VSTEP_BODY, "custom_metrics is not a map");
    dplist dps = {NULL, 0, 0};
    /* step 7 */
    if (s[1] != NULL && !check_metrics(&v, s[1], &dps))
        return 0;
    /* step 8 */
    if (s[2] != NULL && !check_custom(&v, s[2], &dps))
        return 0;
    r->dps = dps.v;
    r->ndps = dps.n;
    r->ok = 1;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Topics and names
 * ------------------------------------------------------------------------------------------- */

int thing_name_valid(const char *name, size_t len, int strict)
{
    if (len < 1 || len > THING_NAME_MAX)
        return 0;
    if (!utf8_valid((const uint8_t *) name, len))
        return 0;
    for (size_t i = 0; i < len; i++)
    {
        unsigned char c = (unsigned char) name[i];
        if (c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f)
            return 0;
        if (strict && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == ':' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int parse_report_topic(const char *topic, const char **name, size_t *name_len, report_fmt *fmt)
{
    static const char pre[] = "$aws/things/";
    static const char suf[] = "/defender/metrics/";
    size_t tl = strlen(topic);
    size_t pl = sizeof pre - 1;
    size_t sl = sizeof suf - 1;
    if (tl < pl + sl + 4 || memcmp(topic, pre, pl) != 0)
        return 0;
    const char *f = topic + tl - 4;
    if (memcmp(f, "json", 4) == 0)
        *fmt = FMT_JSON;
    else if (memcmp(f, "cbor", 4) == 0)
        *fmt = FMT_CBOR;
    else
        return 0;
    if (memcmp(f - sl, suf, sl) != 0)
        return 0;
    *name = topic + pl;
    *name_len = tl - pl - sl - 4;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Datapoint serialisation
 * ------------------------------------------------------------------------------------------- */

static int put_double(strbuf *out, double d)
{
    if (!isfinite(d))
        return sb_puts(out, "null");
    if (fabs(d) < 1e15 && floor(d) == d)
        return sb_printf(out, "%lld", (long long) d);
    char buf[64];
    /* prefer the shortest form that round-trips */
    for (int prec = 15; prec <= 17; prec++)
    {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return sb_puts(out, buf);
}

int datapoints_to_json(const detect_datapoint *dps, size_t n, strbuf *out)
{
    int ok = sb_putc(out, '{');
    for (size_t i = 0; i < n && ok; i++)
    {
        const detect_datapoint *d = &dps[i];
        if (i > 0)
            ok = ok && sb_putc(out, ',');
        ok = ok && sb_json_str(out, d->metric, d->metric_len) && sb_putc(out, ':');
        switch (d->kind)
        {
            case DP_COUNT:
                ok = ok && sb_printf(out, "{\"count\":%llu}", (unsigned long long) d->count);
                break;
            case DP_NUMBER:
                ok = ok && sb_puts(out, "{\"number\":") && put_double(out, d->number) &&
                     sb_putc(out, '}');
                break;
            case DP_PORTS:
                ok = ok && sb_puts(out, "{\"ports\":[");
                for (uint32_t k = 0; k < d->n && ok; k++)
                    ok = sb_printf(out, k ? ",%u" : "%u", d->ports[k]);
                ok = ok && sb_puts(out, "]}");
                break;
            case DP_NUMBERS:
                ok = ok && sb_puts(out, "{\"numbers\":[");
                for (uint32_t k = 0; k < d->n && ok; k++)
                    ok = (k == 0 || sb_putc(out, ',')) && put_double(out, d->numbers[k]);
                ok = ok && sb_puts(out, "]}");
                break;
            case DP_CIDRS:
            case DP_STRINGS:
                ok = ok && sb_puts(out, d->kind == DP_CIDRS ? "{\"cidrs\":[" : "{\"strings\":[");
                for (uint32_t k = 0; k < d->n && ok; k++)
                    ok = (k == 0 || sb_putc(out, ',')) &&
                         sb_json_str(out, d->strings[k].s, d->strings[k].len);
                ok = ok && sb_puts(out, "]}");
                break;
        }
    }
    return ok && sb_putc(out, '}');
}
