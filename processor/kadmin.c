/* kadmin: synchronous, bounded Kafka admin queries. See kadmin.h. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "kadmin.h"

rd_kafka_t *kadmin_client(const struct config *cfg, char *err, size_t errlen)
{
    static const char *const defaults[] = { "client.id", "siemproc-admin", NULL };
    rd_kafka_conf_t *conf = config_kafka_conf(cfg, CFG_ROLE_CONSUMER, defaults, err, errlen);
    if (!conf) return NULL;
    char rkerr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rkerr, sizeof rkerr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka client: %s", rkerr);
    }
    return rk;
}

/* ---- one admin request: options, a private queue, the result event ---- */

struct admin_call {
    rd_kafka_AdminOptions_t *opt;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    int timeout_ms;
    char what[300];                  /* what is asked, for the error messages */
};

/* what: "<prefix><group>". */
static void admin_begin(struct admin_call *c, rd_kafka_t *rk, rd_kafka_admin_op_t op, int timeout_ms,
                        const char *prefix, const char *group)
{
    char e[256];
    c->opt = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_request_timeout(c->opt, timeout_ms, e, sizeof e);
    c->q = rd_kafka_queue_new(rk);
    c->ev = NULL;
    c->timeout_ms = timeout_ms;
    snprintf(c->what, sizeof c->what, "%s%s", prefix, group);
}

/* Wait for the result; 0, or -1 with err naming what was asked. */
static int admin_wait(struct admin_call *c, char *err, size_t errlen)
{
    c->ev = rd_kafka_queue_poll(c->q, c->timeout_ms + 2000);
    if (!c->ev) {
        snprintf(err, errlen, "%s: no answer within %d ms", c->what, c->timeout_ms);
        return -1;
    }
    if (rd_kafka_event_error(c->ev)) {
        snprintf(err, errlen, "%s: %s", c->what, rd_kafka_event_error_string(c->ev));
        return -1;
    }
    return 0;
}

static void admin_end(struct admin_call *c)
{
    if (c->ev) rd_kafka_event_destroy(c->ev);
    rd_kafka_queue_destroy(c->q);
    rd_kafka_AdminOptions_destroy(c->opt);
}

/* The group's error, else the first partition's error, as text; 0 if none. */
static int group_result_error(const rd_kafka_group_result_t *g, const char *what, char *err, size_t errlen)
{
    const rd_kafka_error_t *e = rd_kafka_group_result_error(g);
    if (e) {
        snprintf(err, errlen, "%s: %s", what, rd_kafka_error_string(e));
        return -1;
    }
    const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(g);
    for (int i = 0; l && i < l->cnt; i++)
        if (l->elems[i].err) {
            snprintf(err, errlen, "%s: %s [%d]: %s", what, l->elems[i].topic, (int)l->elems[i].partition,
                     rd_kafka_err2str(l->elems[i].err));
            return -1;
        }
    return 0;
}

/* One result for the one group asked about, without error? Else err says why. */
static int one_group_ok(const struct admin_call *c, const rd_kafka_group_result_t **g, size_t n, char *err,
                        size_t errlen)
{
    if (n != 1) {
        snprintf(err, errlen, "%s: %zu results", c->what, n);
        return 0;
    }
    return group_result_error(g[0], c->what, err, errlen) == 0;
}

/* ---- partitions of topics ---- */

static void add_topic(rd_kafka_topic_partition_list_t *out, const rd_kafka_metadata_topic_t *t)
{
    for (int p = 0; p < t->partition_cnt; p++)
        if (!rd_kafka_topic_partition_list_find(out, t->topic, t->partitions[p].id))
            rd_kafka_topic_partition_list_add(out, t->topic, t->partitions[p].id);
}

static int add_matching(rd_kafka_topic_partition_list_t *out, const struct rd_kafka_metadata *md, const char *re_src,
                        char *err, size_t errlen)
{
    regex_t re;
    if (regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB)) {
        snprintf(err, errlen, "topics: invalid regex \"%s\"", re_src);
        return -1;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (strncmp(md->topics[i].topic, "__", 2) && !regexec(&re, md->topics[i].topic, 0, NULL, 0))
            add_topic(out, &md->topics[i]);
    regfree(&re);
    return 0;
}

static int add_named(rd_kafka_topic_partition_list_t *out, const struct rd_kafka_metadata *md, const char *name,
                     int missing_ok, char *err, size_t errlen)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name) && !md->topics[i].err) {
            add_topic(out, &md->topics[i]);
            return 0;
        }
    if (missing_ok) return 0;
    snprintf(err, errlen, "topic %s: not found", name);
    return -1;
}

static int add_entries(rd_kafka_topic_partition_list_t *out, const struct rd_kafka_metadata *md, const char *topics,
                       int missing_ok, char *err, size_t errlen)
{
    char *list = xstrdup(topics), *save = NULL;
    int rc = 0;
    for (char *e = strtok_r(list, ",", &save); e && rc == 0; e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ') e++;
        if (!*e) continue;
        rc = *e == '^' ? add_matching(out, md, e, err, errlen) : add_named(out, md, e, missing_ok, err, errlen);
    }
    free(list);
    return rc;
}

rd_kafka_topic_partition_list_t *kadmin_partitions(rd_kafka_t *rk, const char *topics, int missing_ok,
                                                   int timeout_ms, char *err, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (e) {
        snprintf(err, errlen, "cluster metadata: %s", rd_kafka_err2str(e));
        return NULL;
    }
    rd_kafka_topic_partition_list_t *out = rd_kafka_topic_partition_list_new(16);
    if (add_entries(out, md, topics ? topics : "", missing_ok, err, errlen) < 0) {
        rd_kafka_topic_partition_list_destroy(out);
        out = NULL;
    } else {
        rd_kafka_topic_partition_list_sort(out, NULL, NULL);
    }
    rd_kafka_metadata_destroy(md);
    return out;
}

char *kadmin_topics_of(const rd_kafka_topic_partition_list_t *l)
{
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < l->cnt; i++)
        if (i == 0 || strcmp(l->elems[i].topic, l->elems[i - 1].topic)) {
            if (b.len) buf_putc(&b, ',');
            buf_puts(&b, l->elems[i].topic);
        }
    char *s = xstrdup(b.len ? buf_cstr(&b) : "");
    buf_free(&b);
    return s;
}

/* ---- committed offsets ---- */

rd_kafka_topic_partition_list_t *kadmin_committed(rd_kafka_t *rk, const char *group, int timeout_ms, char *err,
                                                  size_t errlen)
{
    struct admin_call c;
    admin_begin(&c, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms, "committed offsets of group ", group);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, c.opt, c.q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_topic_partition_list_t *out = NULL;
    if (admin_wait(&c, err, errlen) == 0) {
        size_t n = 0;
        const rd_kafka_group_result_t **g =
            rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(c.ev), &n);
        if (one_group_ok(&c, g, n, err, errlen)) {
            const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(g[0]);
            out = rd_kafka_topic_partition_list_new(l ? l->cnt : 0);
            for (int i = 0; l && i < l->cnt; i++)
                if (l->elems[i].offset >= 0)
                    rd_kafka_topic_partition_list_add(out, l->elems[i].topic, l->elems[i].partition)->offset =
                        l->elems[i].offset;
            rd_kafka_topic_partition_list_sort(out, NULL, NULL);
        }
    }
    admin_end(&c);
    return out;
}

/* ---- offsets by position or time ---- */

/* ListOffsets for every element (offset = timestamp, or -1/-2 for the end and
 * the start). The results replace the offsets. */
static int list_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int64_t when, int timeout_ms,
                        char *err, size_t errlen)
{
    for (int i = 0; i < l->cnt; i++) l->elems[i].offset = when;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    for (int i = 0; !e && i < l->cnt; i++)
        if (l->elems[i].err) {
            snprintf(err, errlen, "offsets of %s [%d]: %s", l->elems[i].topic, (int)l->elems[i].partition,
                     rd_kafka_err2str(l->elems[i].err));
            return -1;
        }
    if (e) {
        snprintf(err, errlen, "offsets: %s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int kadmin_offsets_at(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, int64_t when, int timeout_ms, char *err,
                      size_t errlen)
{
    if (l->cnt == 0) return 0;
    if (list_offsets(rk, l, when, timeout_ms, err, errlen) < 0) return -1;
    if (when < 0) return 0;
    /* No message at or after the time: the end offset. */
    rd_kafka_topic_partition_list_t *past = rd_kafka_topic_partition_list_new(l->cnt);
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].offset < 0) rd_kafka_topic_partition_list_add(past, l->elems[i].topic, l->elems[i].partition);
    int rc = past->cnt ? list_offsets(rk, past, KADMIN_LATEST, timeout_ms, err, errlen) : 0;
    for (int i = 0; rc == 0 && i < past->cnt; i++)
        rd_kafka_topic_partition_list_find(l, past->elems[i].topic, past->elems[i].partition)->offset =
            past->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(past);
    return rc;
}

/* ---- group state and offset reset ---- */

int kadmin_describe_group(rd_kafka_t *rk, const char *group, int timeout_ms, struct kadmin_group *g, char *err,
                          size_t errlen)
{
    struct admin_call c;
    admin_begin(&c, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout_ms, "group ", group);
    rd_kafka_DescribeConsumerGroups(rk, &group, 1, c.opt, c.q);
    int rc = admin_wait(&c, err, errlen);
    if (rc == 0) {
        size_t n = 0;
        const rd_kafka_ConsumerGroupDescription_t **d =
            rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(c.ev), &n);
        const rd_kafka_error_t *e = n == 1 ? rd_kafka_ConsumerGroupDescription_error(d[0]) : NULL;
        if (n != 1 || (e && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)) {
            snprintf(err, errlen, "%s: %s", c.what, e ? rd_kafka_error_string(e) : "no description");
            rc = -1;
        } else {
            snprintf(g->state, sizeof g->state, "%s",
                     e ? "Dead" : rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d[0])));
            g->members = e ? 0 : (int)rd_kafka_ConsumerGroupDescription_member_count(d[0]);
        }
    }
    admin_end(&c);
    return rc;
}

int kadmin_alter_offsets(rd_kafka_t *rk, const char *group, const rd_kafka_topic_partition_list_t *l,
                         int timeout_ms, char *err, size_t errlen)
{
    struct admin_call c;
    admin_begin(&c, rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout_ms, "resetting offsets of group ", group);
    rd_kafka_AlterConsumerGroupOffsets_t *req = rd_kafka_AlterConsumerGroupOffsets_new(group, l);
    rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, c.opt, c.q);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    int rc = admin_wait(&c, err, errlen);
    if (rc == 0) {
        size_t n = 0;
        const rd_kafka_group_result_t **g =
            rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(c.ev), &n);
        rc = one_group_ok(&c, g, n, err, errlen) ? 0 : -1;
    }
    admin_end(&c);
    return rc;
}
