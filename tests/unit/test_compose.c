/* compose: url.full from the values of the url.* fields -- the scheme's
 * default port left out, any other kept, IPv6 in brackets, what a URL cannot
 * hold percent-encoded (and so nothing JSON must escape), nothing without a
 * scheme and a valid host. (That a composer gets the first value added to a
 * field is test_schema's test_compose_inputs; the community_id composer is
 * test_community_id.) */
#include <stdio.h>
#include <string.h>
#include "compose.h"
#include "testlib.h"

struct url_case {
    const char *scheme, *domain, *port, *path, *query;
    const char *want;      /* NULL: nothing composed */
};

static const struct url_case cases[] = {
    { "https", "www.example.com", "443", "/api/v1/items", "page=2", "https://www.example.com/api/v1/items?page=2" },
    { "HTTPS", "www.example.com", "443", "/", NULL, "HTTPS://www.example.com/" },
    { "http", "www.example.com", "80", "/login", NULL, "http://www.example.com/login" },
    { "http", "www.example.com", "8080", "/login", NULL, "http://www.example.com:8080/login" },
    { "https", "www.example.com", "80", "/", NULL, "https://www.example.com:80/" },
    { "wss", "chat.example.com", "443", "/socket", NULL, "wss://chat.example.com/socket" },
    { "grpcs", "svc.example.com", "443", "/pkg.Svc/Call", NULL, "grpcs://svc.example.com:443/pkg.Svc/Call" },
    { "https", "2001:db8::1", "8443", "/x", NULL, "https://[2001:db8::1]:8443/x" },
    { "https", "d111111abcdef8.cloudfront.net", NULL, NULL, "a=1", "https://d111111abcdef8.cloudfront.net?a=1" },
    { "https", "www.example.com", NULL, "img/logo.png", NULL, "https://www.example.com/img/logo.png" },
    /* decoded paths and queries (CloudFront) are encoded again */
    { "https", "www.example.com", NULL, "/img/a b.png", "q=1 2&x=\"<y>\"", "https://www.example.com/img/a%20b.png?q=1%202&x=%22%3Cy%3E%22" },
    { "https", "www.example.com", NULL, "/caf\xc3\xa9/#top\\{|}^`", NULL,
      "https://www.example.com/caf%C3%A9/%23top%5C%7B%7C%7D%5E%60" },
    { "https", "www.example.com", NULL, "/%41%20", NULL, "https://www.example.com/%41%20" },
    { NULL, "www.example.com", "443", "/", NULL, NULL },
    { "https", ".0.0/ch.example", NULL, "/getApplications", NULL, NULL },      /* a Host header that is no host */
    { "https", "user@evil.example", NULL, "/", NULL, NULL },
    { "https", "a b.example", NULL, "/", NULL, NULL },
    { "https", NULL, "443", "/", NULL, NULL },
};

static struct span value(const char *v, int kind)
{
    return (struct span){ v, v ? (uint32_t)strlen(v) : 0, (uint8_t)kind };
}

static void test_url(void)
{
    const char *const *names;
    CHECK_INT(compose_inputs(COMPOSE_URL, &names), 5);
    CHECK_STR(names[0], "url.scheme");
    CHECK_STR(names[4], "url.query");
    arena_t arena;
    arena_init(&arena);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct url_case *c = &cases[i];
        struct span in[5] = { value(c->scheme, DV_STR), value(c->domain, DV_STR), value(c->port, DV_NUM),
                              value(c->path, DV_STR), value(c->query, DV_STR) };
        const char *out;
        size_t len;
        int rc = compose_apply(COMPOSE_URL, in, &arena, &out, &len);
        char got[512];
        snprintf(got, sizeof got, "%.*s", rc == 0 ? (int)len : 0, rc == 0 ? out : "");
        if (!c->want) { CHECK_INT(rc, -1); continue; }
        CHECK_INT(rc, 0);
        CHECK_STR(got, c->want);
        for (size_t k = 0; k < len; k++) CHECK(out[k] > 0x20 && out[k] < 0x7f && out[k] != '"' && out[k] != '\\');
    }
    arena_free(&arena);
}

static void test_names(void)
{
    CHECK_INT(compose_from_name("url"), COMPOSE_URL);
    CHECK_INT(compose_from_name("uri"), COMPOSE_NONE);
    CHECK_INT(compose_from_name(""), COMPOSE_NONE);
}

int main(void)
{
    test_names();
    test_url();
    return tl_done();
}
