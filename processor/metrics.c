/* metrics: registry, lock-free series updates, Prometheus text exposition.
 * See metrics.h for what it owns and must never do. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "metrics.h"

#define MAX_FAMILIES   128
#define MAX_COLLECTORS 16
#define HASH_BUCKETS   64
#define CACHE_LINE     64

struct slot {
    _Atomic uint64_t v;
    char pad[CACHE_LINE - sizeof(uint64_t)];
};

struct mseries {
    struct mseries *_Atomic next;    /* family's series in creation order */
    struct mseries *_Atomic hnext;   /* hash chain */
    const struct metric *fam;
    uint32_t hash;
    atomic_int hidden;
    char *values[METRICS_MAX_LABELS];
    _Atomic uint64_t bits;           /* gauge value, or histogram sum: a double's bits */
    _Atomic uint64_t *counts;        /* histogram: per bucket, +Inf last (not cumulative) */
    struct slot *slots;              /* counter: METRICS_STRIPES slots */
};

struct metric {
    char *name, *help;
    enum metric_type type;
    int nlabels, nbounds;
    char *labels[METRICS_MAX_LABELS];
    double bounds[METRICS_MAX_BUCKETS];
    pthread_mutex_t lock;            /* series creation only */
    struct mseries *_Atomic first;
    struct mseries *last;
    struct mseries *_Atomic chains[HASH_BUCKETS];
};

struct collector {
    void (*fn)(void *arg, struct metrics *r);
    void *arg;
};

struct metrics {
    pthread_mutex_t lock;            /* registration and exposition */
    struct metric *fams[MAX_FAMILIES];
    atomic_int nfams;
    struct collector collectors[MAX_COLLECTORS];
    int ncollectors;
};

static uint64_t dbits(double v) { uint64_t u; memcpy(&u, &v, sizeof u); return u; }
static double bitsd(uint64_t u) { double v; memcpy(&v, &u, sizeof v); return v; }

struct metrics *metrics_new(void)
{
    struct metrics *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void series_free(struct mseries *s)
{
    for (int i = 0; i < s->fam->nlabels; i++) free(s->values[i]);
    free((void *)s->counts);
    free(s->slots);
    free(s);
}

static void family_free(struct metric *m)
{
    struct mseries *s = atomic_load(&m->first);
    while (s) {
        struct mseries *next = atomic_load(&s->next);
        series_free(s);
        s = next;
    }
    for (int i = 0; i < m->nlabels; i++) free(m->labels[i]);
    pthread_mutex_destroy(&m->lock);
    free(m->name);
    free(m->help);
    free(m);
}

void metrics_free(struct metrics *r)
{
    if (!r) return;
    for (int i = 0; i < atomic_load(&r->nfams); i++) family_free(r->fams[i]);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names without ':'. */
static int valid_name(const char *s, size_t n, int label)
{
    if (n == 0 || isdigit((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && (label || s[i] != ':')) return 0;
    return !label || !(n >= 2 && s[0] == '_' && s[1] == '_');
}

static int split_labels(struct metric *m, const char *labels)
{
    const char *p = labels;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (m->nlabels == METRICS_MAX_LABELS || !valid_name(p, n, 1)) return -1;
        if (m->type == METRIC_HISTOGRAM && n == 2 && !memcmp(p, "le", 2)) return -1;
        m->labels[m->nlabels++] = xstrndup(p, n);
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int set_bounds(struct metric *m, const double *bounds, int nbounds)
{
    if (m->type != METRIC_HISTOGRAM) return 0;
    if (nbounds < 1 || nbounds > METRICS_MAX_BUCKETS) return -1;
    for (int i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1])) return -1;
        m->bounds[i] = bounds[i];
    }
    m->nbounds = nbounds;
    return 0;
}

static struct metric *family_new(enum metric_type t, const char *name, const char *help, const char *labels,
                                  const double *bounds, int nbounds)
{
    struct metric *m = xcalloc(1, sizeof *m);
    m->type = t;
    m->name = xstrdup(name);
    m->help = xstrdup(help ? help : "");
    pthread_mutex_init(&m->lock, NULL);
    if (!valid_name(name, strlen(name), 0) || split_labels(m, labels) < 0 || set_bounds(m, bounds, nbounds) < 0) {
        family_free(m);
        return NULL;
    }
    return m;
}

struct metric *metrics_find(struct metrics *r, const char *name)
{
    int n = atomic_load_explicit(&r->nfams, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (!strcmp(r->fams[i]->name, name)) return r->fams[i];
    return NULL;
}

struct metric *metrics_add(struct metrics *r, enum metric_type t, const char *name, const char *help,
                           const char *labels, const double *bounds, int nbounds)
{
    struct metric *m = family_new(t, name, help, labels, bounds, nbounds);
    if (!m) {
        fprintf(stderr, "metrics: %s: invalid name, labels \"%s\" or buckets\n", name, labels ? labels : "");
        return NULL;
    }
    pthread_mutex_lock(&r->lock);
    int n = atomic_load(&r->nfams);
    const char *why = n == MAX_FAMILIES ? "too many families" : metrics_find(r, name) ? "already registered" : NULL;
    if (!why) {
        r->fams[n] = m;
        atomic_store_explicit(&r->nfams, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&r->lock);
    if (why) {
        fprintf(stderr, "metrics: %s: %s\n", name, why);
        family_free(m);
        return NULL;
    }
    return m;
}

/* ---- series lookup ---- */

static const char *value_at(const char *const *values, int i)
{
    return values && values[i] ? values[i] : "";
}

static uint32_t hash_values(const struct metric *m, const char *const *values)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < m->nlabels; i++) {
        for (const char *p = value_at(values, i); *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
        h = (h ^ 0x1f) * 16777619u;
    }
    return h;
}

static int same_values(const struct mseries *s, const char *const *values)
{
    for (int i = 0; i < s->fam->nlabels; i++)
        if (strcmp(s->values[i], value_at(values, i))) return 0;
    return 1;
}

static struct mseries *find_series(struct metric *m, uint32_t h, const char *const *values)
{
    struct mseries *s = atomic_load_explicit(&m->chains[h % HASH_BUCKETS], memory_order_acquire);
    for (; s; s = atomic_load_explicit(&s->hnext, memory_order_acquire))
        if (s->hash == h && same_values(s, values)) return s;
    return NULL;
}

static struct mseries *series_new(struct metric *m, uint32_t h, const char *const *values)
{
    struct mseries *s = xcalloc(1, sizeof *s);
    s->fam = m;
    s->hash = h;
    for (int i = 0; i < m->nlabels; i++) s->values[i] = xstrdup(value_at(values, i));
    if (m->type == METRIC_COUNTER) {
        s->slots = aligned_alloc(CACHE_LINE, sizeof(struct slot) * METRICS_STRIPES);
        if (!s->slots) abort();
        memset(s->slots, 0, sizeof(struct slot) * METRICS_STRIPES);
    } else if (m->type == METRIC_HISTOGRAM) {
        s->counts = xcalloc((size_t)m->nbounds + 1, sizeof *s->counts);
    }
    return s;
}

struct mseries *metric_get(struct metric *m, const char *const *values)
{
    if (!m) return NULL;
    uint32_t h = hash_values(m, values);
    struct mseries *s = find_series(m, h, values);
    if (s) return s;
    pthread_mutex_lock(&m->lock);
    s = find_series(m, h, values);
    if (!s) {
        s = series_new(m, h, values);
        struct mseries *_Atomic *chain = &m->chains[h % HASH_BUCKETS];
        atomic_store_explicit(&s->hnext, atomic_load_explicit(chain, memory_order_relaxed), memory_order_relaxed);
        atomic_store_explicit(chain, s, memory_order_release);
        atomic_store_explicit(m->last ? &m->last->next : &m->first, s, memory_order_release);
        m->last = s;
    }
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* ---- updates ---- */

static unsigned thread_slot(void)
{
    static atomic_uint next_slot;
    static _Thread_local unsigned slot;   /* 0 = not yet assigned */
    if (!slot) slot = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed) % METRICS_STRIPES + 1;
    return slot - 1;
}

static void unhide(struct mseries *s)
{
    if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
        atomic_store_explicit(&s->hidden, 0, memory_order_relaxed);
}

void mseries_add(struct mseries *s, uint64_t n)
{
    if (!s || s->fam->type != METRIC_COUNTER) return;
    atomic_fetch_add_explicit(&s->slots[thread_slot()].v, n, memory_order_relaxed);
    unhide(s);
}

void mseries_inc(struct mseries *s) { mseries_add(s, 1); }

void mseries_set(struct mseries *s, double v)
{
    if (!s || s->fam->type == METRIC_HISTOGRAM) return;
    if (s->fam->type == METRIC_COUNTER)
        atomic_store_explicit(&s->slots[0].v, v > 0 ? (uint64_t)v : 0, memory_order_relaxed);
    else
        atomic_store_explicit(&s->bits, dbits(v), memory_order_relaxed);
    unhide(s);
}

static void add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, dbits(bitsd(old) + delta), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

void mseries_gauge_add(struct mseries *s, double delta)
{
    if (!s || s->fam->type != METRIC_GAUGE) return;
    add_double(&s->bits, delta);
    unhide(s);
}

void mseries_observe(struct mseries *s, double v)
{
    if (!s || s->fam->type != METRIC_HISTOGRAM || isnan(v)) return;
    int i = 0;
    while (i < s->fam->nbounds && v > s->fam->bounds[i]) i++;
    atomic_fetch_add_explicit(&s->counts[i], 1, memory_order_relaxed);
    add_double(&s->bits, v);
    unhide(s);
}

void mseries_hide(struct mseries *s)
{
    if (s) atomic_store_explicit(&s->hidden, 1, memory_order_relaxed);
}

static uint64_t counter_total(const struct mseries *s)
{
    uint64_t sum = 0;
    for (int i = 0; i < METRICS_STRIPES; i++) sum += atomic_load_explicit(&s->slots[i].v, memory_order_relaxed);
    return sum;
}

static uint64_t histogram_count(const struct mseries *s)
{
    uint64_t n = 0;
    for (int i = 0; i <= s->fam->nbounds; i++) n += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
    return n;
}

double metrics_clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double mseries_value(const struct mseries *s)
{
    if (!s) return 0;
    switch (s->fam->type) {
    case METRIC_COUNTER: return (double)counter_total(s);
    case METRIC_GAUGE: return bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed));
    case METRIC_HISTOGRAM: return (double)histogram_count(s);
    }
    return 0;
}

int metrics_on_collect(struct metrics *r, void (*fn)(void *arg, struct metrics *r), void *arg)
{
    pthread_mutex_lock(&r->lock);
    int ok = r->ncollectors < MAX_COLLECTORS;
    if (ok) r->collectors[r->ncollectors++] = (struct collector){ fn, arg };
    pthread_mutex_unlock(&r->lock);
    return ok ? 0 : -1;
}

void metrics_off_collect(struct metrics *r, void *arg)
{
    pthread_mutex_lock(&r->lock);
    int kept = 0;
    for (int i = 0; i < r->ncollectors; i++)
        if (r->collectors[i].arg != arg) r->collectors[kept++] = r->collectors[i];
    r->ncollectors = kept;
    pthread_mutex_unlock(&r->lock);
}

/* ---- exposition ---- */

/* Help text escapes \ and newline; label values also escape ". */
static void put_escaped(buf_t *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\') buf_puts(out, "\\\\");
        else if (*s == '\n') buf_puts(out, "\\n");
        else if (*s == '"' && quote) buf_puts(out, "\\\"");
        else buf_putc(out, *s);
    }
}

/* The shortest of %.15g and %.17g that reads back as v (0.1, not 0.10000000000000001). */
static void format_double(char *out, size_t n, double v)
{
    if (isnan(v)) snprintf(out, n, "NaN");
    else if (isinf(v)) snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) snprintf(out, n, "%.0f", v);
    else if (snprintf(out, n, "%.15g", v), strtod(out, NULL) != v) snprintf(out, n, "%.17g", v);
}

static void put_double(buf_t *out, double v)
{
    char s[40];
    format_double(s, sizeof s, v);
    buf_puts(out, s);
}

/* name{labels[,le="bound"]} */
static void put_name(buf_t *out, const struct mseries *s, const char *suffix, const char *le)
{
    const struct metric *m = s->fam;
    buf_puts(out, m->name);
    buf_puts(out, suffix);
    if (!m->nlabels && !le) return;
    buf_putc(out, '{');
    for (int i = 0; i < m->nlabels; i++) {
        buf_printf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
        put_escaped(out, s->values[i], 1);
        buf_putc(out, '"');
    }
    if (le) buf_printf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    buf_putc(out, '}');
}

static void put_histogram(buf_t *out, const struct mseries *s)
{
    const struct metric *m = s->fam;
    uint64_t cum = 0;
    char le[32];
    for (int i = 0; i <= m->nbounds; i++) {
        cum += atomic_load_explicit(&s->counts[i], memory_order_relaxed);
        if (i < m->nbounds) format_double(le, sizeof le, m->bounds[i]);
        put_name(out, s, "_bucket", i < m->nbounds ? le : "+Inf");
        buf_printf(out, " %llu\n", (unsigned long long)cum);
    }
    put_name(out, s, "_sum", NULL);
    buf_putc(out, ' ');
    put_double(out, bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed)));
    buf_putc(out, '\n');
    put_name(out, s, "_count", NULL);
    buf_printf(out, " %llu\n", (unsigned long long)cum);
}

static void put_series(buf_t *out, const struct mseries *s)
{
    if (s->fam->type == METRIC_HISTOGRAM) {
        put_histogram(out, s);
        return;
    }
    put_name(out, s, "", NULL);
    buf_putc(out, ' ');
    if (s->fam->type == METRIC_COUNTER) buf_printf(out, "%llu", (unsigned long long)counter_total(s));
    else put_double(out, bitsd(atomic_load_explicit(&s->bits, memory_order_relaxed)));
    buf_putc(out, '\n');
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

static void put_family(buf_t *out, const struct metric *m)
{
    buf_printf(out, "# HELP %s ", m->name);
    put_escaped(out, m->help, 0);
    buf_printf(out, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
    for (struct mseries *s = atomic_load_explicit(&m->first, memory_order_acquire); s;
         s = atomic_load_explicit(&s->next, memory_order_acquire))
        if (!atomic_load_explicit(&s->hidden, memory_order_relaxed)) put_series(out, s);
}

void metrics_expose(struct metrics *r, buf_t *out)
{
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->ncollectors; i++) r->collectors[i].fn(r->collectors[i].arg, r);
    int n = atomic_load(&r->nfams);
    for (int i = 0; i < n; i++) put_family(out, r->fams[i]);
    pthread_mutex_unlock(&r->lock);
}

/* ---- the siemproc series ---- */

static const double latency_bounds[] = { METRICS_LATENCY_BUCKETS };

int metrics_add_std(struct metrics *r, struct siemproc_metrics *out)
{
    int failed = 0;
#define ADD_STD(t, field, name, labels, help) \
    out->field = metrics_add(r, METRIC_##t, name, help, labels, latency_bounds, \
                             (int)(sizeof latency_bounds / sizeof latency_bounds[0])); \
    failed |= !out->field;
    SIEMPROC_METRICS(ADD_STD)
#undef ADD_STD
    return failed ? -1 : 0;
}

static struct metrics *global_registry;
static struct siemproc_metrics global_std;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    global_registry = metrics_new();
    metrics_add_std(global_registry, &global_std);
}

struct metrics *metrics_global(void)
{
    pthread_once(&global_once, global_init);
    return global_registry;
}

const struct siemproc_metrics *metrics_std(void)
{
    pthread_once(&global_once, global_init);
    return &global_std;
}

const struct siemproc_metrics *metrics_std_of(struct metrics *reg, struct siemproc_metrics *own)
{
    if (!reg || reg == metrics_global()) return metrics_std();
#define FIND_STD(t, field, name, ...) own->field = metrics_find(reg, name);
    SIEMPROC_METRICS(FIND_STD)
#undef FIND_STD
    return own;
}
