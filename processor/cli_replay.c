/* cli_replay: reprocess what a stage already saw.
 *
 *   siemproc replay offsets --group G --topics T (--to-earliest | --to-latest |
 *       --to-time TIME | --to-offset N | --offsets TOPIC:PART=OFF,...) [--execute]
 *     moves a stopped group's committed offsets; prints the plan, applies it
 *     only with --execute, and refuses while the group has members.
 *   siemproc replay copy --from TOPIC (--to TOPIC | --to-origin) [--error-type A,B]
 *       [--log-type A,B] [--since TIME] [--max-messages N] [--max-seconds S] [--execute]
 *     copies messages of the retry or dead-letter topic (from their start, or
 *     --since) up to the end offsets seen at start, back to the topic in their
 *     origin.topic header or to --to; key, value and headers are kept (plus
 *     replay.source = topic/partition/offset), so document ids stay the same
 *     and a replay never duplicates documents. Idempotent producer.
 *
 * Exit codes: 0 done (or planned), 1 cluster error or undelivered copies,
 * 2 usage, 4 the group has active members (offsets --execute).
 * Must never: change offsets or produce without --execute, commit offsets of
 * the topic it copies from, or change the key or value of a copied message. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cli.h"
#include "cli_ops.h"
#include "kadmin.h"
#include "producer.h"
#include "retry_route.h"
#include "timeparse.h"

#define EXIT_GROUP_ACTIVE 4

struct replay_args {
    int execute, earliest, latest, to_origin, help;
    long to_offset, max_messages, max_seconds, timeout_ms;
    const char *to_time, *offsets, *from, *to, *error_types, *log_types, *since;
};

static void usage(void)
{
    fputs("usage: siemproc replay offsets --brokers B --group G --topics T\n"
          "           (--to-earliest | --to-latest | --to-time TIME | --to-offset N | --offsets T:P=O,...) [--execute]\n"
          "       siemproc replay copy --brokers B --from TOPIC (--to TOPIC | --to-origin)\n"
          "           [--error-type A,B] [--log-type A,B] [--since TIME] [--max-messages N] [--max-seconds S] [--execute]\n"
          "TIME: ISO 8601 (2026-01-02T03:04:05Z) or epoch milliseconds. Without --execute nothing changes:\n"
          "the plan is printed. offsets refuses a group with active members (exit 4).\n",
          stderr);
}

/* ---- offsets ---- */

/* Set every offset to n, within [start, end] of its partition. */
static int clamp_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int timeout_ms, char *err, size_t n)
{
    rd_kafka_topic_partition_list_t *start = rd_kafka_topic_partition_list_copy(l),
                                    *end = rd_kafka_topic_partition_list_copy(l);
    int rc = kadmin_offsets_at(rk, start, KADMIN_EARLIEST, timeout_ms, err, n);
    if (rc == 0) rc = kadmin_offsets_at(rk, end, KADMIN_LATEST, timeout_ms, err, n);
    for (int i = 0; rc == 0 && i < l->cnt; i++) {
        int64_t *o = &l->elems[i].offset;
        if (*o < start->elems[i].offset || *o > end->elems[i].offset) {
            int64_t to = *o < start->elems[i].offset ? start->elems[i].offset : end->elems[i].offset;
            fprintf(stderr, "siemproc replay: %s [%d]: offset %lld is outside [%lld, %lld], using %lld\n",
                    l->elems[i].topic, (int)l->elems[i].partition, (long long)*o,
                    (long long)start->elems[i].offset, (long long)end->elems[i].offset, (long long)to);
            *o = to;
        }
    }
    rd_kafka_topic_partition_list_destroy(start);
    rd_kafka_topic_partition_list_destroy(end);
    return rc;
}

/* "topic:partition=offset,..." into the list (topic names may hold ':'; the last one splits). */
static int parse_offsets(const char *spec, rd_kafka_topic_partition_list_t *l, char *err, size_t n)
{
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *e = strtok_r(copy, ",", &save); e && rc == 0; e = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(e, ':'), *eq = colon ? strchr(colon, '=') : NULL, *end1, *end2;
        long part = eq ? strtol(colon + 1, &end1, 10) : -1;
        long long off = eq ? strtoll(eq + 1, &end2, 10) : -1;
        if (!eq || end1 != eq || *end2 || part < 0 || off < 0 || colon == e) {
            snprintf(err, n, "--offsets: \"%s\" is not TOPIC:PARTITION=OFFSET", e);
            rc = -1;
            break;
        }
        *colon = '\0';
        rd_kafka_topic_partition_list_add(l, e, (int32_t)part)->offset = off;
    }
    free(copy);
    return rc;
}

/* Every partition of l exists. */
static int check_exist(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int timeout_ms, char *err, size_t n)
{
    rd_kafka_topic_partition_list_sort(l, NULL, NULL);
    char *topics = kadmin_topics_of(l);
    rd_kafka_topic_partition_list_t *known = kadmin_partitions(rk, topics, 0, timeout_ms, err, n);
    free(topics);
    int rc = known ? 0 : -1;
    for (int i = 0; rc == 0 && i < l->cnt; i++)
        if (!rd_kafka_topic_partition_list_find(known, l->elems[i].topic, l->elems[i].partition)) {
            snprintf(err, n, "%s [%d]: no such partition", l->elems[i].topic, (int)l->elems[i].partition);
            rc = -1;
        }
    if (known) rd_kafka_topic_partition_list_destroy(known);
    return rc;
}

static int count_modes(const struct replay_args *a)
{
    return a->earliest + a->latest + !!a->to_time + (a->to_offset >= 0) + !!a->offsets;
}

/* The partitions to reset with their target offsets. NULL with err. */
static rd_kafka_topic_partition_list_t *reset_targets(rd_kafka_t *rk, const struct config *cfg,
                                                      const struct replay_args *a, char *err, size_t n)
{
    int t = (int)a->timeout_ms;
    rd_kafka_topic_partition_list_t *l;
    if (a->offsets) {
        l = rd_kafka_topic_partition_list_new(8);
        int rc = parse_offsets(a->offsets, l, err, n);
        if (rc == 0) rc = check_exist(rk, l, t, err, n);
        if (rc == 0) rc = clamp_offsets(rk, l, t, err, n);
        if (rc < 0) rd_kafka_topic_partition_list_destroy(l);
        return rc < 0 ? NULL : l;
    }
    if (!cfg->topics || !*cfg->topics) {
        snprintf(err, n, "topics: missing (--topics T1,T2)");
        return NULL;
    }
    if (!(l = kadmin_partitions(rk, cfg->topics, 0, t, err, n))) return NULL;
    int rc;
    long long when = a->earliest ? KADMIN_EARLIEST
                   : a->latest   ? KADMIN_LATEST
                   : a->to_time  ? cli_ops_time(a->to_time)
                                 : 0;
    if (a->to_offset >= 0) {
        for (int i = 0; i < l->cnt; i++) l->elems[i].offset = a->to_offset;
        rc = clamp_offsets(rk, l, t, err, n);
    } else if (a->to_time && when < 0) {
        snprintf(err, n, "--to-time: \"%s\" is not a time", a->to_time);
        rc = -1;
    } else {
        rc = kadmin_offsets_at(rk, l, when, t, err, n);
    }
    if (rc < 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return NULL;
    }
    return l;
}

static void print_plan(const char *group, const rd_kafka_topic_partition_list_t *targets,
                       const rd_kafka_topic_partition_list_t *committed)
{
    printf("%-40s %9s %14s %14s\n", "TOPIC", "PARTITION", "COMMITTED", "NEW OFFSET");
    for (int i = 0; i < targets->cnt; i++) {
        const rd_kafka_topic_partition_t *c =
            rd_kafka_topic_partition_list_find(committed, targets->elems[i].topic, targets->elems[i].partition);
        char cur[24];
        snprintf(cur, sizeof cur, c ? "%lld" : "-", c ? (long long)c->offset : 0LL);
        printf("%-40s %9d %14s %14lld\n", targets->elems[i].topic, (int)targets->elems[i].partition, cur,
               (long long)targets->elems[i].offset);
    }
    printf("group %s: %d partition(s)\n", group, targets->cnt);
}

static int replay_offsets(rd_kafka_t *rk, const struct config *cfg, const struct replay_args *a)
{
    char gbuf[256], err[512];
    const char *group = cli_ops_group(cfg, gbuf, sizeof gbuf);
    if (!group || count_modes(a) != 1) {
        fprintf(stderr, "siemproc replay offsets: %s\n",
                !group ? "group: missing (--group G)"
                       : "give exactly one of --to-earliest, --to-latest, --to-time, --to-offset, --offsets");
        return 2;
    }
    struct kadmin_group g;
    rd_kafka_topic_partition_list_t *targets = NULL, *committed = NULL;
    int rc = 1;
    if (kadmin_describe_group(rk, group, (int)a->timeout_ms, &g, err, sizeof err) < 0 ||
        !(targets = reset_targets(rk, cfg, a, err, sizeof err)) ||
        !(committed = kadmin_committed(rk, group, (int)a->timeout_ms, err, sizeof err))) {
        fprintf(stderr, "siemproc replay offsets: %s\n", err);
        goto done;
    }
    print_plan(group, targets, committed);
    if (g.members > 0) {
        fprintf(stderr, "siemproc replay offsets: group %s has %d active member(s) (state %s): stop its consumers first\n",
                group, g.members, g.state);
        rc = a->execute ? EXIT_GROUP_ACTIVE : 0;
    } else if (!a->execute) {
        printf("dry run: nothing changed (add --execute to apply)\n");
        rc = 0;
    } else if (kadmin_alter_offsets(rk, group, targets, (int)a->timeout_ms, err, sizeof err) < 0) {
        fprintf(stderr, "siemproc replay offsets: %s\n", err);
    } else {
        printf("offsets of group %s reset on %d partition(s)\n", group, targets->cnt);
        rc = 0;
    }
done:
    if (targets) rd_kafka_topic_partition_list_destroy(targets);
    if (committed) rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}

/* ---- copy ---- */

struct dest_count {
    char *topic;
    long n;          /* messages copied (or to copy) there */
    long missing;    /* messages left because the topic does not exist */
    int exists;
};

struct copy_stats {
    long read, copied, filtered, no_origin, no_topic, refused;
    atomic_long delivered, failed;
    int ndest;
    struct dest_count *dest;
    rd_kafka_t *admin;   /* to check that destinations exist */
    int timeout_ms;
};

struct copy_item {
    struct producer_done done;   /* first: the completion points at the item */
    struct copy_stats *st;
};

static void copy_delivered(struct producer_done *d, const rd_kafka_message_t *rkm)
{
    struct copy_item *it = (struct copy_item *)d;
    if (rkm->err) {
        if (atomic_fetch_add(&it->st->failed, 1) < 5)
            fprintf(stderr, "siemproc replay copy: delivery to %s failed: %s\n", rd_kafka_topic_name(rkm->rkt),
                    rd_kafka_err2str(rkm->err));
    } else {
        atomic_fetch_add(&it->st->delivered, 1);
    }
    free(it);
}

/* Whether a comma-separated list holds value. An empty list matches all. */
static int in_list(const char *list, const char *value)
{
    if (!list || !*list) return 1;
    if (!value) return 0;
    size_t n = strlen(value);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !memcmp(p, value, n)) return 1;
        p = e ? e + 1 : p + len;
    }
    return 0;
}

/* The destination's entry, made (and its existence checked) on first sight. */
static struct dest_count *find_dest(struct copy_stats *st, const char *topic)
{
    for (int i = 0; i < st->ndest; i++)
        if (!strcmp(st->dest[i].topic, topic)) return &st->dest[i];
    char err[512];
    rd_kafka_topic_partition_list_t *l = kadmin_partitions(st->admin, topic, 0, st->timeout_ms, err, sizeof err);
    if (!l) fprintf(stderr, "siemproc replay copy: destination %s: %s: its messages are left\n", topic, err);
    else rd_kafka_topic_partition_list_destroy(l);
    st->dest = xrealloc(st->dest, (size_t)(st->ndest + 1) * sizeof *st->dest);
    st->dest[st->ndest] = (struct dest_count){ xstrdup(topic), 0, 0, l != NULL };
    return &st->dest[st->ndest++];
}

/* The message's headers plus replay.source, for producer_send. */
static int copy_headers(const rd_kafka_message_t *m, struct producer_header **out, char *source, size_t srclen)
{
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    size_t cnt = h ? rd_kafka_header_cnt(h) : 0;
    struct producer_header *v = xcalloc(cnt + 1, sizeof *v);
    int n = 0;
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; h && rd_kafka_header_get_all(h, i, &name, &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
        if (strcmp(name, "replay.source")) v[n++] = (struct producer_header){ name, val ? val : "", val ? len : 0 };
    snprintf(source, srclen, "%s/%d/%lld", rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
    v[n++] = (struct producer_header){ "replay.source", source, strlen(source) };
    *out = v;
    return n;
}

static void copy_one(struct producer *p, const rd_kafka_message_t *m, const char *dest, struct copy_stats *st)
{
    struct producer_header *h;
    char source[512];
    int nh = copy_headers(m, &h, source, sizeof source);
    struct copy_item *it = xcalloc(1, sizeof *it);
    it->done.fn = copy_delivered;
    it->st = st;
    int e = producer_send(p, producer_topic(p, dest), m->key, m->key_len, m->payload, m->len, h, nh, &it->done);
    free(h);
    if (e) {
        free(it);
        if (st->refused++ < 5) fprintf(stderr, "siemproc replay copy: %s refused: %s\n", dest, rd_kafka_err2str(e));
        return;
    }
    st->copied++;
}

/* Filter, pick the destination, copy (or count for the dry run). */
static void handle(struct producer *p, const struct replay_args *a, const rd_kafka_message_t *m, struct copy_stats *st)
{
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    char etype[128], ltype[128], origin[256];
    st->read++;
    if (!in_list(a->error_types, retry_header(h, "error.type", etype, sizeof etype)) ||
        !in_list(a->log_types, retry_header(h, "log_type", ltype, sizeof ltype))) {
        st->filtered++;
        return;
    }
    const char *dest = a->to_origin ? retry_header(h, "origin.topic", origin, sizeof origin) : a->to;
    if (!dest || !*dest) {
        st->no_origin++;
        return;
    }
    struct dest_count *d = find_dest(st, dest);
    if (!d->exists) {
        d->missing++;
        st->no_topic++;
        return;
    }
    d->n++;
    if (p) copy_one(p, m, dest, st);
}

struct copy_source {
    rd_kafka_t *consumer;
    rd_kafka_topic_partition_list_t *end;   /* end offsets at start; done partitions removed */
};

static int partition_done(struct copy_source *src, const char *topic, int32_t part, int64_t next)
{
    rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(src->end, topic, part);
    if (e && next >= e->offset) rd_kafka_topic_partition_list_del(src->end, topic, part);
    return src->end->cnt == 0;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

/* Read until every partition reached its end offset, or a bound. */
static int copy_loop(struct copy_source *src, struct producer *p, const struct replay_args *a, struct copy_stats *st)
{
    int64_t started = ts_now_ms(), last_msg = started;
    while (src->end->cnt && !interrupted) {
        if ((a->max_messages > 0 && st->read >= a->max_messages) ||
            (a->max_seconds > 0 && ts_now_ms() - started >= a->max_seconds * 1000)) {
            fprintf(stderr, "siemproc replay copy: stopped at the --max-%s bound\n",
                    a->max_messages > 0 && st->read >= a->max_messages ? "messages" : "seconds");
            return 0;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(src->consumer, 200);
        if (!m) {
            if (ts_now_ms() - last_msg > a->timeout_ms) {
                fprintf(stderr, "siemproc replay copy: no message for %ld ms before the end offsets\n", a->timeout_ms);
                return -1;
            }
            continue;
        }
        const char *topic = rd_kafka_topic_name(m->rkt);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) partition_done(src, topic, m->partition, m->offset);
        else if (m->err) fprintf(stderr, "siemproc replay copy: %s\n", rd_kafka_message_errstr(m));
        else {
            last_msg = ts_now_ms();
            handle(p, a, m, st);
            partition_done(src, topic, m->partition, m->offset + 1);
        }
        rd_kafka_message_destroy(m);
    }
    return interrupted ? -1 : 0;
}

static rd_kafka_t *copy_consumer(const struct config *cfg, char *err, size_t n)
{
    static const char *const defaults[] = { "group.id", "siemproc-replay", "enable.auto.commit", "false",
                                            "enable.auto.offset.store", "false", "enable.partition.eof", "true",
                                            NULL };
    rd_kafka_conf_t *conf = config_kafka_conf(cfg, CFG_ROLE_CONSUMER, defaults, err, n);
    if (!conf) return NULL;
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, n);
    if (!c) rd_kafka_conf_destroy(conf);
    else rd_kafka_poll_set_consumer(c);
    return c;
}

/* Partitions with messages between the start (--since or earliest) and the end, assigned. */
static int open_source(rd_kafka_t *rk, const struct config *cfg, const struct replay_args *a, struct copy_source *src,
                       char *err, size_t n)
{
    int t = (int)a->timeout_ms;
    long long since = a->since ? cli_ops_time(a->since) : KADMIN_EARLIEST;
    if (since == -1) {
        snprintf(err, n, "--since: \"%s\" is not a time", a->since);
        return -1;
    }
    rd_kafka_topic_partition_list_t *start = kadmin_partitions(rk, a->from, 0, t, err, n);
    if (!start) return -1;
    src->end = rd_kafka_topic_partition_list_copy(start);
    int rc = kadmin_offsets_at(rk, start, since, t, err, n);
    if (rc == 0) rc = kadmin_offsets_at(rk, src->end, KADMIN_LATEST, t, err, n);
    for (int i = src->end->cnt - 1; rc == 0 && i >= 0; i--)
        if (start->elems[i].offset >= src->end->elems[i].offset) {
            rd_kafka_topic_partition_list_del_by_idx(src->end, i);
            rd_kafka_topic_partition_list_del_by_idx(start, i);
        }
    if (rc == 0 && start->cnt && !(src->consumer = copy_consumer(cfg, err, n))) rc = -1;
    rd_kafka_resp_err_t e = rc == 0 && start->cnt ? rd_kafka_assign(src->consumer, start) : 0;
    if (e) {
        snprintf(err, n, "assign %s: %s", a->from, rd_kafka_err2str(e));
        rc = -1;
    }
    rd_kafka_topic_partition_list_destroy(start);
    return rc;
}

static void print_copy_summary(const struct replay_args *a, struct copy_stats *st)
{
    printf("read %ld message(s) from %s: %ld filtered out, %ld without an origin.topic header\n", st->read, a->from,
           st->filtered, st->no_origin);
    for (int i = 0; i < st->ndest; i++) {
        if (st->dest[i].exists)
            printf("  %s %ld to %s\n", a->execute ? "copied" : "would copy", st->dest[i].n, st->dest[i].topic);
        else
            printf("  left %ld for %s: no such topic\n", st->dest[i].missing, st->dest[i].topic);
        free(st->dest[i].topic);
    }
    free(st->dest);
    if (a->execute)
        printf("delivered %ld, failed %ld, refused %ld\n", atomic_load(&st->delivered), atomic_load(&st->failed),
               st->refused);
    else
        printf("dry run: nothing produced (add --execute to copy)\n");
}

static struct producer *copy_producer(const struct config *cfg, char *err, size_t n)
{
    const char *const defaults[] = { "enable.idempotence", "true", "compression.type", cfg->compression, NULL };
    rd_kafka_conf_t *conf = config_kafka_conf(cfg, CFG_ROLE_PRODUCER, defaults, err, n);
    return conf ? producer_new(conf, err, n) : NULL;
}

static int replay_copy(rd_kafka_t *rk, const struct config *cfg, const struct replay_args *a)
{
    if (!a->from || !*a->from || !a->to_origin == !(a->to && *a->to)) {
        fprintf(stderr, "siemproc replay copy: give --from TOPIC and one of --to TOPIC or --to-origin\n");
        return 2;
    }
    char err[512];
    struct copy_source src = { 0 };
    struct copy_stats st = { .admin = rk, .timeout_ms = (int)a->timeout_ms };
    struct producer *p = NULL;
    int rc = open_source(rk, cfg, a, &src, err, sizeof err);
    if (rc == 0 && a->execute && !(p = copy_producer(cfg, err, sizeof err))) rc = -1;
    if (rc < 0) fprintf(stderr, "siemproc replay copy: %s\n", err);
    else {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = src.consumer ? copy_loop(&src, p, a, &st) : 0;
    }
    if (p) {
        long left = producer_flush(p, 60000);
        if (left) fprintf(stderr, "siemproc replay copy: %ld message(s) not acknowledged after 60 s\n", left);
        producer_free(p);
    }
    if (src.consumer) {
        rd_kafka_consumer_close(src.consumer);
        rd_kafka_destroy(src.consumer);
    }
    if (src.end) rd_kafka_topic_partition_list_destroy(src.end);
    if (rc == 0 || st.read) print_copy_summary(a, &st);
    int lost = a->execute && (st.refused || st.no_topic || atomic_load(&st.failed) ||
                              atomic_load(&st.delivered) != st.copied);
    return rc < 0 || lost ? 1 : 0;
}

int cmd_replay(int argc, char **argv)
{
    struct replay_args a = { .to_offset = -1, .timeout_ms = 10000 };
    const struct cli_opt opts[] = {
        { "execute", OPT_FLAG, &a.execute }, { "to-earliest", OPT_FLAG, &a.earliest },
        { "to-latest", OPT_FLAG, &a.latest }, { "to-time", OPT_STR, &a.to_time },
        { "to-offset", OPT_LONG, &a.to_offset }, { "offsets", OPT_STR, &a.offsets },
        { "from", OPT_STR, &a.from }, { "to", OPT_STR, &a.to }, { "to-origin", OPT_FLAG, &a.to_origin },
        { "error-type", OPT_STR, &a.error_types }, { "log-type", OPT_STR, &a.log_types },
        { "since", OPT_STR, &a.since }, { "max-messages", OPT_LONG, &a.max_messages },
        { "max-seconds", OPT_LONG, &a.max_seconds }, { "timeout-ms", OPT_LONG, &a.timeout_ms },
        { NULL, OPT_FLAG, NULL },
    };
    int offsets = argc > 1 && !strcmp(argv[1], "offsets"), copy = argc > 1 && !strcmp(argv[1], "copy");
    if (!offsets && !copy) {
        usage();
        return argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
    }
    struct config cfg;
    rd_kafka_t *rk;
    if (cli_ops_load("replay", argc - 1, argv + 1, opts, &cfg, &rk) < 0) return 2;
    if (a.timeout_ms <= 0) a.timeout_ms = 10000;
    int rc = offsets ? replay_offsets(rk, &cfg, &a) : replay_copy(rk, &cfg, &a);
    rd_kafka_destroy(rk);
    config_free(&cfg);
    return rc;
}
