/* cli_setup: `siemproc setup` -- prepares a cluster for the sink: the
 * component and index templates with ECS mappings for every log type
 * (index_templates.c builds them from the schemas), the lifecycle policy
 * (ISM on OpenSearch, ILM on Elasticsearch), write aliases for indices that
 * roll over, mapping additions on indices that already exist, and, with
 * --dashboards-url, the OpenSearch Dashboards saved objects.
 *
 * Owns: the order of the steps and what counts as success for each.
 * Must never: delete or overwrite data (only templates, policies and
 * mappings are PUT; every PUT is idempotent, so re-running upgrades), or
 * stop at the first failed step (each is reported, the exit code says if
 * any failed). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "aws_credentials.h"
#include "cli.h"
#include "config.h"
#include "index_templates.h"
#include "jscan.h"
#include "sink.h"

struct setup {
    struct config cfg;
    int print;                  /* --print: show the requests, contact nothing */
    const char *flavor;         /* --flavor NAME[:MAJOR.MINOR] with --print */
    const char *dashboards_url; /* --dashboards-url: import the saved objects there */
    const char *dashboards_file;
    struct schema_set set;
    struct tmpl_groups groups;
    struct tmpl_settings ts;
    struct tmpl_flavor fl;
    struct os_client *client;
    int failed;
};

/* ---- options --------------------------------------------------------------- */

static int setup_flag(void *arg, const char *opt, const char *value, int *consumed)
{
    struct setup *st = arg;
    if (!strcmp(opt, "print")) {
        st->print = 1;
        return 1;
    }
    const char **slot = !strcmp(opt, "flavor") ? &st->flavor
                      : !strcmp(opt, "dashboards-url") ? &st->dashboards_url
                      : !strcmp(opt, "dashboards-file") ? &st->dashboards_file : NULL;
    if (!slot || !value)
        return 0;
    *slot = value;
    *consumed = 1;
    return 1;
}

static void usage(void)
{
    fputs("usage: siemproc setup --opensearch-url URL [--opensearch-auth none|basic|sigv4 ...]\n"
          "                      [--index-shards N] [--index-replicas N] [--index-retention-days D]\n"
          "                      [--index-rollover-days D] [--index-rollover-gb G] [--index-prefix P]\n"
          "                      [--dashboards-url URL] [--dashboards-file FILE]\n"
          "       siemproc setup --print [--flavor opensearch:2.19|elasticsearch:8.15|serverless]\n"
          "(every configuration key works as --flag, SIEMPROC_* variable or --config line)\n",
          stderr);
}

/* "opensearch:2.19", "elasticsearch:8.15", "serverless"; default OpenSearch 2.19. */
static int parse_flavor(const char *s, struct tmpl_flavor *f)
{
    *f = (struct tmpl_flavor){.major = 2, .minor = 19};
    if (!s)
        return 0;
    if (!strcmp(s, "serverless")) {
        f->serverless = true;
        return 0;
    }
    size_t n = strcspn(s, ":");
    if (n == 13 && !strncmp(s, "elasticsearch", n)) {
        f->elasticsearch = true;
        f->major = 8, f->minor = 15;
    } else if (!(n == 10 && !strncmp(s, "opensearch", n))) {
        return -1;
    }
    return s[n] == ':' && sscanf(s + n + 1, "%d.%d", &f->major, &f->minor) != 2 ? -1 : 0;
}

/* ---- one request ----------------------------------------------------------- */

static void print_step(const char *method, const char *path, const json_t *body)
{
    json_t *line = json_pack("{s:s, s:s, s:O?}", "method", method, "path", path, "body", body);
    char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(line);
}

/* Send body (may be NULL) and return the HTTP status (0 = no answer). */
static long send_json(struct setup *st, const char *method, const char *path, const json_t *body,
                      buf_t *resp)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct os_response r = {.body = *resp};
    os_request(st->client, method, path, text, text ? strlen(text) : 0, &r);
    *resp = r.body;
    free(text);
    if (!r.status)
        fprintf(stderr, "siemproc: setup: %s %s: %s\n", method, path, r.error);
    return r.status;
}

static void report(struct setup *st, long status, const char *method, const char *path, const buf_t *resp,
                   const char *what)
{
    if (status >= 200 && status < 300) {
        printf("ok    %s %s%s%s\n", method, path, what ? "  " : "", what ? what : "");
        return;
    }
    st->failed++;
    printf("FAIL  %s %s: HTTP %ld %.*s\n", method, path, status, (int)(resp->len < 600 ? resp->len : 600),
           resp->data ? resp->data : "");
}

/* PUT or print one object. Takes the body reference. */
static void put_step(struct setup *st, const char *path, json_t *body, const char *what)
{
    if (st->print) {
        print_step("PUT", path, body);
    } else {
        buf_t resp;
        buf_init(&resp);
        report(st, send_json(st, "PUT", path, body, &resp), "PUT", path, &resp, what);
        buf_free(&resp);
    }
    json_decref(body);
}

/* ---- steps ------------------------------------------------------------------- */

static void install_templates(struct setup *st)
{
    put_step(st, "/_component_template/" TMPL_BASE_COMPONENT, tmpl_base_component(&st->ts, &st->fl), NULL);
    for (int i = 0; i < st->groups.n; i++) {
        const struct tmpl_group *g = &st->groups.v[i];
        char err[512], name[300], path[400], what[400];
        json_t *t = tmpl_index_template(g, &st->ts, &st->fl, err, sizeof err);
        if (!t) {
            printf("FAIL  index template for %s: %s\n", g->index, err);
            st->failed++;
            continue;
        }
        tmpl_template_name(g, name, sizeof name);
        snprintf(path, sizeof path, "/_index_template/%s", name);
        snprintf(what, sizeof what, "(%d log type%s)", g->n, g->n == 1 ? "" : "s");
        put_step(st, path, t, what);
    }
}

/* _seq_no and _primary_term of an existing ISM policy, for a conditional update. */
static int policy_version(const buf_t *resp, long long *seq, long long *term)
{
    struct jscan js;
    jscan_init(&js);
    int rc = -1;
    if (jscan_parse(&js, resp->data, resp->len) == 0) {
        int s = jscan_key(&js, 0, "_seq_no", 7), t = jscan_key(&js, 0, "_primary_term", 13);
        if (s >= 0 && t >= 0) {
            *seq = strtoll(jscan_ptr(&js, s), NULL, 10);
            *term = strtoll(jscan_ptr(&js, t), NULL, 10);
            rc = 0;
        }
    }
    jscan_free(&js);
    return rc;
}

/* ISM refuses a plain PUT over an existing policy: update it conditionally. */
static void install_ism(struct setup *st, const char *name, json_t *policy)
{
    char path[300];
    buf_t resp;
    buf_init(&resp);
    snprintf(path, sizeof path, "/_plugins/_ism/policies/%s", name);
    long status = send_json(st, "GET", path, NULL, &resp);
    long long seq, term;
    if (status == 200 && policy_version(&resp, &seq, &term) == 0) {
        snprintf(path, sizeof path, "/_plugins/_ism/policies/%s?if_seq_no=%lld&if_primary_term=%lld", name, seq,
                 term);
        report(st, send_json(st, "PUT", path, policy, &resp), "PUT", path, &resp, "(updated)");
    } else if (status == 404) {
        report(st, send_json(st, "PUT", path, policy, &resp), "PUT", path, &resp, NULL);
    } else {
        report(st, status, "GET", path, &resp, NULL);
    }
    buf_free(&resp);
    json_decref(policy);
}

static void install_policies(struct setup *st)
{
    static const char *const names[2] = {TMPL_POLICY_RETENTION, TMPL_POLICY_ROLLOVER};
    for (int rollover = 0; rollover < 2; rollover++) {
        json_t *p = tmpl_policy(&st->groups, rollover, &st->ts, &st->fl);
        if (!p)
            continue;
        char path[300];
        if (st->fl.elasticsearch) {
            snprintf(path, sizeof path, "/_ilm/policy/%s", names[rollover]);
            put_step(st, path, p, NULL);
        } else if (st->print) {
            snprintf(path, sizeof path, "/_plugins/_ism/policies/%s", names[rollover]);
            put_step(st, path, p, NULL);
        } else {
            install_ism(st, names[rollover], p);
        }
    }
    if (st->fl.serverless)
        printf("skip  lifecycle policy: OpenSearch Serverless manages retention with data lifecycle policies\n");
    if (st->fl.no_ism)
        printf("skip  ISM policies: the ISM plugin (opensearch-index-management) is not installed: indices are "
               "kept until deleted by hand\n");
}

/* An index without time rotation is written through an alias onto <name>-000001. */
static void bootstrap_alias(struct setup *st, const struct tmpl_group *g)
{
    char path[400];
    json_t *body = json_pack("{s:{s:{s:b}}}", "aliases", g->index, "is_write_index", 1);
    snprintf(path, sizeof path, "/%s-000001", g->index);
    if (st->print) {
        put_step(st, path, body, NULL);
        return;
    }
    buf_t resp;
    buf_init(&resp);
    char probe[400];
    snprintf(probe, sizeof probe, "/_alias/%s", g->index);
    long alias = send_json(st, "GET", probe, NULL, &resp);
    snprintf(probe, sizeof probe, "/%s", g->index);
    if (alias == 200) {
        printf("ok    write alias %s exists\n", g->index);
    } else if (send_json(st, "HEAD", probe, NULL, &resp) == 200) {
        printf("FAIL  %s is an index, not an alias: rollover needs it as a write alias (reindex it)\n", g->index);
        st->failed++;
    } else {
        report(st, send_json(st, "PUT", path, body, &resp), "PUT", path, &resp, "(write alias)");
    }
    buf_free(&resp);
    json_decref(body);
}

/* Fields new in the templates are added to indices that exist already; a
 * changed type cannot be, and is reported (new indices get the template). */
static void upgrade_mappings(struct setup *st, const struct tmpl_group *g)
{
    char err[512], path[400], pattern[300];
    json_t *props = tmpl_properties(g, &st->fl, err, sizeof err);
    if (!props)
        return; /* already reported by install_templates */
    tmpl_index_pattern(g, pattern, sizeof pattern);
    snprintf(path, sizeof path, "/%s/_mapping?allow_no_indices=true&ignore_unavailable=true", pattern);
    json_t *body = json_pack("{s:o}", "properties", props);
    buf_t resp;
    buf_init(&resp);
    long status = send_json(st, "PUT", path, body, &resp);
    if (status >= 200 && status < 300)
        printf("ok    PUT %s  (existing indices)\n", path);
    else
        printf("warn  existing indices %s keep their mapping (HTTP %ld: %.*s); new indices use the template\n",
               pattern, status, (int)(resp.len < 400 ? resp.len : 400), resp.data ? resp.data : "");
    buf_free(&resp);
    json_decref(body);
}

static void prepare_indices(struct setup *st)
{
    for (int i = 0; i < st->groups.n; i++) {
        if (st->groups.v[i].rollover && !st->fl.serverless)
            bootstrap_alias(st, &st->groups.v[i]);
        if (!st->print)
            upgrade_mappings(st, &st->groups.v[i]);
    }
}

/* ---- dashboards ------------------------------------------------------------- */

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

/* POST the saved objects file to <url>/api/saved_objects/_import?overwrite=true. */
static void import_dashboards(struct setup *st)
{
    CURL *h = curl_easy_init();
    curl_mime *mime = curl_mime_init(h);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filedata(part, st->dashboards_file);
    struct curl_slist *hl = curl_slist_append(NULL, "osd-xsrf: true");
    hl = curl_slist_append(hl, "kbn-xsrf: true");
    char url[1024];
    snprintf(url, sizeof url, "%s/api/saved_objects/_import?overwrite=true", st->dashboards_url);
    buf_t resp;
    buf_init(&resp);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    if (st->cfg.opensearch_ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, st->cfg.opensearch_ca_file);
    if (!strcmp(st->cfg.opensearch_auth, "basic")) {
        curl_easy_setopt(h, CURLOPT_USERNAME, st->cfg.opensearch_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, st->cfg.opensearch_password);
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        printf("FAIL  import %s into %s: %s\n", st->dashboards_file, url, curl_easy_strerror(rc));
        st->failed++;
    } else
        report(st, status, "POST", url, &resp, st->dashboards_file);
    buf_free(&resp);
    curl_slist_free_all(hl);
    curl_mime_free(mime);
    curl_easy_cleanup(h);
}

/* ---- main -------------------------------------------------------------------- */

/* OpenSearch distributions without the index-management plugin answer
 * "no handler found" for its API. */
static bool has_ism(struct setup *st)
{
    buf_t resp;
    buf_init(&resp);
    long status = send_json(st, "GET", "/_plugins/_ism/policies/" TMPL_POLICY_RETENTION, NULL, &resp);
    bool ism = !(status == 400 && strstr(buf_cstr(&resp), "no handler found"));
    buf_free(&resp);
    return ism;
}

static int connect_cluster(struct setup *st, struct aws_cred_provider *creds)
{
    char err[512];
    struct os_options o;
    if (sink_os_options(&st->cfg, creds, &o, err, sizeof err) != 0 ||
        !(st->client = os_client_new(&o, err, sizeof err))) {
        fprintf(stderr, "siemproc: setup: %s\n", err);
        return -1;
    }
    struct os_cluster_info ci;
    if (os_cluster_info(st->client, &ci, err, sizeof err) != 0) {
        fprintf(stderr, "siemproc: setup: %s: %s\n", st->cfg.opensearch_url, err);
        return -1;
    }
    st->fl = (struct tmpl_flavor){.elasticsearch = !strcmp(ci.distribution, "elasticsearch"),
                                  .serverless = !strcmp(ci.version, "serverless"),
                                  .major = ci.major, .minor = ci.minor};
    st->fl.no_ism = !st->fl.elasticsearch && !st->fl.serverless && !has_ism(st);
    printf("setup: %s %s at %s%s\n", ci.distribution, ci.version, os_client_endpoint(st->client, 0),
           st->fl.no_ism ? " (no ISM plugin: no lifecycle policy, no rollover)" : "");
    return 0;
}

static void default_dashboards_file(struct setup *st)
{
    if (!st->dashboards_file)
        st->dashboards_file = SIEMPROC_SCHEMA_DIR "/../deploy/dashboards/siemproc-dashboards.ndjson";
}

static int run_setup(struct setup *st)
{
    char err[512];
    if (tmpl_group_schemas(&st->set, st->cfg.index_prefix, &st->groups, err, sizeof err) != 0) {
        fprintf(stderr, "siemproc: setup: %s\n", err);
        return 2;
    }
    st->ts = (struct tmpl_settings){.shards = st->cfg.index_shards, .replicas = st->cfg.index_replicas,
                                    .retention_days = st->cfg.index_retention_days,
                                    .rollover_days = st->cfg.index_rollover_days,
                                    .rollover_gb = st->cfg.index_rollover_gb,
                                    .index_prefix = st->cfg.index_prefix};
    struct aws_cred_provider *creds = st->print ? NULL : sink_cred_provider(&st->cfg);
    int rc = 0;
    if (st->print && parse_flavor(st->flavor, &st->fl) != 0) {
        fprintf(stderr, "siemproc: setup: --flavor %s: expected opensearch[:M.m], elasticsearch[:M.m] or serverless\n",
                st->flavor);
        rc = 2;
    } else if (!st->print && connect_cluster(st, creds) != 0) {
        rc = 1;
    } else {
        install_templates(st);
        install_policies(st);
        prepare_indices(st);
        default_dashboards_file(st);
        if (st->dashboards_url && !st->print)
            import_dashboards(st);
        else if (!st->print)
            printf("note  Dashboards saved objects: %s (import with --dashboards-url URL)\n", st->dashboards_file);
        rc = st->failed ? 1 : 0;
    }
    os_client_free(st->client);
    aws_cred_provider_destroy(creds);
    tmpl_groups_free(&st->groups);
    return rc;
}

int cmd_setup(int argc, char **argv)
{
    struct setup st = {0};
    char err[512];
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
    if (config_load(&st.cfg, argc, argv, setup_flag, &st, err, sizeof err) != 0) {
        fprintf(stderr, "siemproc: setup: %s\n", err);
        usage();
        config_free(&st.cfg);
        return 2;
    }
    int rc = 2;
    if (cli_load_schemas_cfg(&st.set, &st.cfg) == 0) {
        rc = run_setup(&st);
        schema_set_free(&st.set);
    }
    config_free(&st.cfg);
    return rc;
}
