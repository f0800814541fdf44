/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Pulling over the OCI distribution API (distribution-spec spec.md, which
 * Docker's registry HTTP API v2 is the ancestor of):
 *
 *   GET /v2/<name>/manifests/<tag|digest>   Accept: index, manifest list, manifests
 *   GET /v2/<name>/blobs/<digest>           follows redirects (object stores)
 *
 * Authentication follows the registry's challenge: a 401 with
 * "WWW-Authenticate: Bearer realm=..,service=..,scope=.." is answered by
 * fetching a token from realm (with the user's credentials when there are
 * any, docker's token authentication spec) and repeating the request;
 * "Basic" is answered with the credentials themselves. Credentials come from
 * an auth file in the containers-auth.json / docker config.json format.
 *
 * Transient failures (connection errors, timeouts, 408/429/5xx) are retried
 * with exponential backoff; a blob download that fails half-way starts over.
 * Everything is verified against its digest before it is used.
 */

#include <curl/curl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "images-internal.h"
#include "oci.h"

#define DEFAULT_RETRIES 4
#define TOKEN_MAX (1024u * 1024)
#define HEADER_MAX 8192
#define BACKOFF_MS 250

static const char accept_manifests[] = "Accept: " OCI_MEDIA_TYPE_INDEX ", " OCI_MEDIA_TYPE_MANIFEST
                                       ", " DOCKER_MEDIA_TYPE_MANIFEST_LIST ", " DOCKER_MEDIA_TYPE_MANIFEST;

typedef struct Registry {
        ImgStore *s;
        const ImgPullOptions *o;
        char **error_msg;
        CURL *curl;
        char *base; /* "https://host[:port]" */
        char *host; /* for credentials and messages */
        char *repo;
        char *token;
        char *user, *password;
        bool tried_token;
        unsigned retries;
        /* while pulling layers */
        ImgJob *job;
} Registry;

typedef struct Response {
        long status;
        char *content_type;
        char *www_authenticate;
        /* body: memory (bounded by limit) or a file */
        char *mem;
        size_t len;
        int fd;
        ImgHash *hash;
        uint64_t written, limit;
        bool too_big;
        int write_error;
        /* progress */
        Registry *rg;
        const char *digest;
        unsigned index;
        uint64_t total, reported;
} Response;

static void response_done(Response *r) {
        free(r->content_type);
        free(r->www_authenticate);
        free(r->mem);
        *r = (Response){ .fd = -EBADF };
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) {
        (void) curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------- callbacks */

static int mem_append(Response *r, const char *p, size_t len) {
        char *m = realloc(r->mem, r->len + len + 1);
        if (!m)
                return -ENOMEM;
        r->mem = m;
        memcpy(r->mem + r->len, p, len);
        r->len += len;
        r->mem[r->len] = '\0';
        return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *userdata) {
        Response *r = userdata;
        size_t len = size * n;

        if (r->status == 0)
                (void) curl_easy_getinfo(r->rg->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status >= 300) {
                /* Error bodies are kept, bounded, for messages only. */
                if (r->len < 4096 && mem_append(r, p, MIN(len, 4096 - r->len)) < 0)
                        return 0;
                return len;
        }
        if (r->written + len > r->limit) {
                r->too_big = true;
                return 0;
        }
        if (r->fd >= 0) {
                int e = loop_write(r->fd, p, len);
                if (e < 0) {
                        r->write_error = e;
                        return 0;
                }
        } else if (mem_append(r, p, len) < 0)
                return 0;
        if (r->hash)
                img_hash_update(r->hash, p, len);
        r->written += len;
        if (r->rg->job && r->digest && r->written - r->reported >= 512 * 1024) {
                r->reported = r->written;
                img_job_report(r->rg->job, IMG_PROGRESS_BYTES, "layer", r->digest, r->index, r->written,
                               r->total);
        }
        return len;
}

static char *header_value(const char *line, size_t len, const char *name) {
        size_t n = strlen(name);
        const char *v, *end = line + len;

        if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        for (v = line + n + 1; v < end && (*v == ' ' || *v == '\t'); v++)
                ;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
                end--;
        return strndup(v, (size_t) (end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        Response *r = userdata;
        size_t len = size * n;
        char *v;

        if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
                /* A new response (after a redirect or 100-continue): forget the previous headers. */
                free(r->content_type);
                free(r->www_authenticate);
                r->content_type = r->www_authenticate = NULL;
                r->status = 0;
                return len;
        }
        if (len > HEADER_MAX)
                return len;
        if ((v = header_value(p, len, "Content-Type"))) {
                free(r->content_type);
                r->content_type = v;
                /* "application/json; charset=utf-8": the media type is before ';'. */
                r->content_type[strcspn(r->content_type, ";")] = '\0';
        } else if ((v = header_value(p, len, "WWW-Authenticate"))) {
                free(r->www_authenticate);
                r->www_authenticate = v;
        }
        return len;
}

/* ---------------------------------------------------------- credentials */

static int base64_decode_str(const char *s, char **ret) {
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        _cleanup_free_ char *out = malloc(strlen(s) + 1);
        uint32_t acc = 0;
        int bits = 0;
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (const char *c = s; *c && *c != '='; c++) {
                const char *q = strchr(alphabet, *c);
                if (!q)
                        return -EINVAL;
                acc = (acc << 6) | (uint32_t) (q - alphabet);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (char) (acc >> bits);
                }
        }
        out[n] = '\0';
        if (strlen(out) != n)
                return -EINVAL;
        *ret = TAKE_PTR(out);
        return 0;
}

static int auth_file_candidates(const Registry *rg, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *e;
        char *p;

        if (rg->o->auth_file)
                return strv_extend(ret, rg->o->auth_file);
        if ((e = getenv("REGISTRY_AUTH_FILE")) && strv_extend(&l, e) < 0)
                return -ENOMEM;
        if (xasprintf(&p, "%s/auth.json", rg->s->root) < 0 || strv_push(&l, p) < 0)
                return -ENOMEM;
        if ((e = getenv("XDG_RUNTIME_DIR")) &&
            (xasprintf(&p, "%s/containers/auth.json", e) < 0 || strv_push(&l, p) < 0))
                return -ENOMEM;
        if ((e = getenv("HOME"))) {
                if (xasprintf(&p, "%s/.config/containers/auth.json", e) < 0 || strv_push(&l, p) < 0)
                        return -ENOMEM;
                if (xasprintf(&p, "%s/.docker/config.json", e) < 0 || strv_push(&l, p) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Look up credentials for the registry host; absent ones are fine (anonymous). */
static int load_credentials(Registry *rg) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        r = auth_file_candidates(rg, &files);
        if (r < 0)
                return r;
        STRV_FOREACH(f, files) {
                _cleanup_(json_freep) JsonVal root = NULL;
                _cleanup_free_ char *text = NULL, *msg = NULL;
                JsonVal auths;
                size_t len;

                r = read_full_file_at(AT_FDCWD, *f, 1024 * 1024, &text, &len);
                if (r == -ENOENT && !rg->o->auth_file)
                        continue;
                if (r < 0)
                        return img_err(rg->error_msg, r, "cannot read credentials from '%s': %s", *f,
                                       strerror(-r));
                r = json_parse(text, len, &root, &msg);
                if (r < 0)
                        return img_err(rg->error_msg, r, "credentials file '%s': %s", *f,
                                       msg ?: "invalid JSON");
                auths = json_get(root, "auths");
                if (!auths || !YAJL_IS_OBJECT(auths))
                        continue;
                for (size_t i = 0; i < auths->u.object.len; i++) {
                        const char *key = auths->u.object.keys[i], *k = key;
                        JsonVal a = json_get(auths->u.object.values[i], "auth");
                        _cleanup_free_ char *decoded = NULL, *hostpart = NULL;
                        char *colon;

                        k = startswith(k, "https://") ?: startswith(k, "http://") ?: k;
                        hostpart = strndup(k, strcspn(k, "/"));
                        if (!hostpart)
                                return -ENOMEM;
                        if (!streq(hostpart, rg->host) &&
                            !(streq(rg->host, "registry-1.docker.io") &&
                              (streq(hostpart, "docker.io") || streq(hostpart, "index.docker.io"))))
                                continue;
                        if (!a || !YAJL_IS_STRING(a) || base64_decode_str(YAJL_GET_STRING(a), &decoded) < 0 ||
                            !(colon = strchr(decoded, ':')))
                                return img_err(rg->error_msg, -EINVAL,
                                               "credentials file '%s': invalid \"auth\" for '%s'", *f, key);
                        *colon = '\0';
                        rg->user = strdup(decoded);
                        rg->password = strdup(colon + 1);
                        return rg->user && rg->password ? 0 : -ENOMEM;
                }
        }
        return 0;
}

/* --------------------------------------------------------------- requests */

static bool transient_status(long s) {
        return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool transient_curl(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

static void backoff(unsigned attempt) {
        unsigned ms = BACKOFF_MS << MIN(attempt, 4u);
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Parse 'Bearer realm="..",service="..",scope=".."' into its parameters. */
static int parse_challenge(const char *h, char **ret_scheme, char **ret_realm, char **ret_service, char **ret_scope) {
        _cleanup_free_ char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL;
        const char *p;

        scheme = strndup(h, strcspn(h, " "));
        if (!scheme)
                return -ENOMEM;
        p = h + strlen(scheme);
        while (*p) {
                char key[32] = {}, *val;
                size_t kl;
                while (*p == ' ' || *p == ',')
                        p++;
                kl = strcspn(p, "=");
                if (!p[kl] || kl >= sizeof(key))
                        break;
                memcpy(key, p, kl);
                p += kl + 1;
                if (*p == '"') {
                        const char *end = strchr(p + 1, '"');
                        if (!end)
                                return -EINVAL;
                        val = strndup(p + 1, (size_t) (end - p - 1));
                        p = end + 1;
                } else {
                        size_t vl = strcspn(p, ",");
                        val = strndup(p, vl);
                        p += vl;
                }
                if (!val)
                        return -ENOMEM;
                if (strcasecmp(key, "realm") == 0)
                        free(realm), realm = val;
                else if (strcasecmp(key, "service") == 0)
                        free(service), service = val;
                else if (strcasecmp(key, "scope") == 0)
                        free(scope), scope = val;
                else
                        free(val);
        }
        *ret_scheme = TAKE_PTR(scheme);
        *ret_realm = TAKE_PTR(realm);
        *ret_service = TAKE_PTR(service);
        *ret_scope = TAKE_PTR(scope);
        return 0;
}

static void setup_handle(Registry *rg, const char *url, Response *resp, struct curl_slist *headers) {
        CURL *c = rg->curl;

        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, rg->o->plain_http ? "http,https" : "https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        /* Stalled transfers (under 1 KiB/s for a minute) count as transient failures. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "aula/" AULA_VERSION);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
        if (rg->o->insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (rg->o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, rg->o->ca_file);
}

typedef struct Request {
        const char *url;
        const char *accept; /* a full "Accept: ..." header or NULL */
        bool use_token; /* the registry (not the token server) */
        const char *basic_user, *basic_password; /* for the token server / Basic */
} Request;

/* One request, no retries; status and body in resp. */
static int perform(Registry *rg, const Request *req, Response *resp) {
        struct curl_slist *headers = NULL;
        CURLcode c;
        int r = 0;

        if (req->accept)
                headers = curl_slist_append(headers, req->accept);
        setup_handle(rg, req->url, resp, headers);
        if (req->use_token && rg->token) {
                curl_easy_setopt(rg->curl, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
                curl_easy_setopt(rg->curl, CURLOPT_XOAUTH2_BEARER, rg->token);
        } else if (req->basic_user) {
                curl_easy_setopt(rg->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
                curl_easy_setopt(rg->curl, CURLOPT_USERNAME, req->basic_user);
                curl_easy_setopt(rg->curl, CURLOPT_PASSWORD, req->basic_password);
        }
        c = curl_easy_perform(rg->curl);
        curl_slist_free_all(headers);
        (void) curl_easy_getinfo(rg->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (resp->too_big)
                return img_err(rg->error_msg, -E2BIG, "%s: response larger than expected", req->url);
        if (resp->write_error)
                return img_err(rg->error_msg, resp->write_error, "cannot store the download: %s",
                               strerror(-resp->write_error));
        if (c != CURLE_OK)
                r = transient_curl(c) ? -EAGAIN : -ECONNREFUSED;
        if (r < 0)
                img_err(rg->error_msg, r, "%s: %s%s", req->url, curl_easy_strerror(c),
                        c == CURLE_SSL_CONNECT_ERROR && !rg->o->plain_http
                                        ? " (a plain HTTP registry? then use --plain-http)"
                                        : c == CURLE_PEER_FAILED_VERIFICATION ? " (unknown CA? see --ca-file)"
                                                                              : "");
        return r;
}

static int fetch_token(Registry *rg, const char *challenge) {
        _cleanup_free_ char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL, *url = NULL;
        _cleanup_(json_freep) JsonVal root = NULL;
        _cleanup_(response_done) Response resp = { .fd = -EBADF, .rg = rg, .limit = TOKEN_MAX };
        char *esc_service = NULL, *esc_scope = NULL;
        JsonVal tok;
        int r;

        if (parse_challenge(challenge, &scheme, &realm, &service, &scope) < 0 ||
            strcasecmp(scheme, "Bearer") != 0 || !realm)
                return img_err(rg->error_msg, -EACCES, "%s: unsupported authentication challenge '%s'",
                               rg->host, challenge);
        if (!startswith(realm, "https://") &&
            !(startswith(realm, "http://") && (rg->o->plain_http || rg->o->insecure)))
                return img_err(rg->error_msg, -EACCES, "%s: refusing token realm '%s' (not https)", rg->host,
                               realm);
        if (service)
                esc_service = curl_easy_escape(rg->curl, service, 0);
        if (scope)
                esc_scope = curl_easy_escape(rg->curl, scope, 0);
        r = xasprintf(&url, "%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?", service ? "service=" : "",
                      esc_service ?: "", scope ? (service ? "&scope=" : "scope=") : "", esc_scope ?: "");
        curl_free(esc_service);
        curl_free(esc_scope);
        if (r < 0)
                return -ENOMEM;
        r = perform(rg, &(Request){ .url = url, .basic_user = rg->user, .basic_password = rg->password },
                    &resp);
        if (r < 0)
                return r;
        if (resp.status == 401 || resp.status == 403)
                return img_err(rg->error_msg, -EACCES, "%s: the token server refused %s (HTTP %ld)",
                               rg->host, rg->user ? "the credentials" : "anonymous access", resp.status);
        if (resp.status != 200)
                return img_err(rg->error_msg, -EPROTO, "%s: token request failed with HTTP %ld", rg->host,
                               resp.status);
        r = json_parse(resp.mem ?: "", resp.len, &root, NULL);
        tok = r >= 0 ? json_get(root, "token") : NULL;
        if (!tok || !YAJL_IS_STRING(tok))
                tok = r >= 0 ? json_get(root, "access_token") : NULL;
        const char *t = tok && YAJL_IS_STRING(tok) ? YAJL_GET_STRING(tok) : NULL;
        if (isempty(t))
                return img_err(rg->error_msg, -EPROTO, "%s: the token server sent no token", rg->host);
        free(rg->token);
        rg->token = strdup(t);
        return rg->token ? 0 : -ENOMEM;
}

/*
 * A registry request with authentication and retries. prepare() resets the
 * response sink before every attempt (a download starts over).
 */
static int request(
                Registry *rg,
                const char *url,
                const char *accept,
                Response *resp,
                int (*prepare)(Response *resp, void *userdata),
                void *userdata) {
        bool authed_once = false;
        int r;

        for (unsigned attempt = 0;; attempt++) {
                resp->status = 0;
                resp->len = 0;
                resp->written = resp->reported = 0;
                resp->too_big = false;
                if (prepare) {
                        r = prepare(resp, userdata);
                        if (r < 0)
                                return r;
                }
                free(*rg->error_msg);
                *rg->error_msg = NULL;
                r = perform(rg,
                            &(Request){ .url = url,
                                        .accept = accept,
                                        .use_token = true,
                                        .basic_user = rg->token ? NULL : rg->user,
                                        .basic_password = rg->token ? NULL : rg->password },
                            resp);
                if (r == -EAGAIN || (r >= 0 && transient_status(resp->status))) {
                        if (attempt + 1 >= rg->retries) {
                                if (r >= 0)
                                        return img_err(rg->error_msg, -EAGAIN,
                                                       "%s: HTTP %ld after %u attempts", url, resp->status,
                                                       attempt + 1);
                                return r;
                        }
                        if (rg->job)
                                img_job_report(rg->job, IMG_PROGRESS_RETRY, "layer", resp->digest,
                                               resp->index, 0, resp->total);
                        backoff(attempt);
                        continue;
                }
                if (r < 0)
                        return r;
                if (resp->status == 401 && !authed_once && resp->www_authenticate &&
                    strncasecmp(resp->www_authenticate, "Bearer", 6) == 0) {
                        authed_once = true;
                        r = fetch_token(rg, resp->www_authenticate);
                        if (r < 0)
                                return r;
                        attempt--; /* authentication is not a failure */
                        continue;
                }
                if (resp->status == 401)
                        return img_err(rg->error_msg, -EACCES, "%s: authentication required%s", rg->host,
                                       rg->user ? " (the credentials were refused)"
                                                : " (no credentials found)");
                if (resp->status == 403)
                        return img_err(rg->error_msg, -EACCES, "%s: access to %s denied", rg->host, rg->repo);
                if (resp->status == 404)
                        return img_err(rg->error_msg, -ENOENT, "%s: not found", url);
                if (resp->status != 200)
                        return img_err(rg->error_msg, -EPROTO, "%s: unexpected HTTP %ld", url, resp->status);
                return 0;
        }
}

/* ----------------------------------------------------------------- blobs */

static int reset_mem(Response *resp, void *userdata) {
        free(resp->mem);
        resp->mem = NULL;
        return 0;
}

static int fetch_small(
                Registry *rg,
                const char *kind,
                const char *ref,
                const char *accept,
                uint64_t max,
                char **ret,
                size_t *ret_len,
                char **ret_type) {
        _cleanup_(response_done) Response resp = { .fd = -EBADF, .limit = max };
        _cleanup_free_ char *url = NULL;
        int r;

        resp.rg = rg;
        if (xasprintf(&url, "%s/v2/%s/%s/%s", rg->base, rg->repo, kind, ref) < 0)
                return -ENOMEM;
        r = request(rg, url, accept, &resp, reset_mem, NULL);
        if (r < 0)
                return r;
        *ret = resp.mem ? TAKE_PTR(resp.mem) : strdup("");
        if (!*ret)
                return -ENOMEM;
        *ret_len = resp.len;
        if (ret_type)
                *ret_type = TAKE_PTR(resp.content_type);
        return 0;
}

static int src_read_blob(void *userdata, ImgJob *j, const char *digest, uint64_t size, char **ret, size_t *ret_len) {
        Registry *rg = userdata;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        r = fetch_small(rg, "blobs", digest, NULL, size, &buf, &len, NULL);
        if (r < 0)
                return r;
        if (len != size)
                return img_err(rg->error_msg, -EBADMSG,
                               "blob %s is %zu bytes, but %" PRIu64 " were declared", digest, len, size);
        r = img_verify_digest(buf, len, digest, rg->error_msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

typedef struct Download {
        int fd;
        ImgHash **hash;
        const char *alg;
} Download;

static int reset_file(Response *resp, void *userdata) {
        Download *d = userdata;
        int r;

        if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
                return -errno;
        img_hash_free(*d->hash);
        *d->hash = NULL;
        r = img_hash_new(d->alg, d->hash);
        if (r < 0)
                return r;
        resp->hash = *d->hash;
        return 0;
}

/* Download a layer blob into the staging directory, verified; the import reads it from there. */
static int src_open_layer(
                void *userdata,
                ImgJob *j,
                unsigned index,
                const ImgJobLayer *l,
                ImgStream **ret,
                bool *ret_staged) {
        Registry *rg = userdata;
        _cleanup_(response_done) Response resp = { .fd = -EBADF };
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        _cleanup_free_ char *url = NULL, *name = NULL, *final = NULL;
        _cleanup_close_ int fd = -EBADF;
        char alg[16], got[IMG_DIGEST_MAX];
        Download d;
        int r;

        if (img_digest_split(l->digest, alg, NULL) < 0)
                return -EINVAL;
        if (xasprintf(&url, "%s/v2/%s/blobs/%s", rg->base, rg->repo, l->digest) < 0 ||
            xasprintf(&name, "download-%u", index) < 0)
                return -ENOMEM;
        r = img_staging_create(j->st, name, &fd);
        if (r < 0)
                return img_err(rg->error_msg, r, "cannot stage a download: %s", strerror(-r));
        d = (Download){ .fd = fd, .hash = &h, .alg = alg };
        resp = (Response){
                .fd = fd, .rg = rg, .limit = l->size, .digest = l->digest, .index = index, .total = l->size
        };
        rg->job = j;
        r = request(rg, url, NULL, &resp, reset_file, &d);
        rg->job = NULL;
        if (r < 0)
                return r;
        r = img_hash_final(h, got);
        if (r < 0)
                return r;
        if (resp.written != l->size)
                return img_err(rg->error_msg, -EBADMSG, "blob %s: got %" PRIu64 " bytes, expected %" PRIu64,
                               l->digest, resp.written, l->size);
        if (!streq(got, l->digest))
                return img_err(rg->error_msg, -EBADMSG, "blob %s: digest mismatch (content is %s)",
                               l->digest, got);
        r = img_blob_path(l->digest, &final);
        if (r < 0)
                return r;
        if (!strv_contains(j->staged, final)) {
                r = img_staging_add(j->st, name, final);
                if (r >= 0)
                        r = strv_extend(&j->staged, final);
                if (r < 0)
                        return r;
        }
        *ret_staged = true;
        return img_stream_fd_take(TAKE_FD(fd), 0, l->size, rg->error_msg, ret);
}

/* ------------------------------------------------------------------ pull */

static Registry *registry_free(Registry *rg) {
        if (!rg)
                return NULL;
        if (rg->curl)
                curl_easy_cleanup(rg->curl);
        free(rg->base);
        free(rg->host);
        free(rg->repo);
        free(rg->token);
        free(rg->user);
        if (rg->password)
                explicit_bzero(rg->password, strlen(rg->password));
        free(rg->password);
        free(rg);
        return NULL;
}
DEFINE_CLEANUP_FUNC(Registry *, registry_free);

static bool is_index_type(const char *t) {
        return t && (streq(t, OCI_MEDIA_TYPE_INDEX) || streq(t, DOCKER_MEDIA_TYPE_MANIFEST_LIST));
}

/* The media type of a fetched manifest: its mediaType field, else the Content-Type. */
static int manifest_kind(const char *text, size_t len, const char *content_type, bool *ret_index) {
        _cleanup_(json_freep) JsonVal root = NULL;
        JsonVal mt;
        const char *t = content_type;

        if (json_parse(text, len, &root, NULL) < 0)
                return -EINVAL;
        mt = json_get(root, "mediaType");
        if (mt && YAJL_IS_STRING(mt))
                t = YAJL_GET_STRING(mt);
        else if (json_get(root, "manifests") && !json_get(root, "layers"))
                t = OCI_MEDIA_TYPE_INDEX;
        *ret_index = is_index_type(t);
        return 0;
}

/* The manifest for ref: fetched, verified, and resolved through an index for the platform. */
static int resolve_manifest(Registry *rg, const ImgRef *parsed, char **ret_text, size_t *ret_len, char *digest) {
        _cleanup_(oci_index_freep) OciIndex *idx = NULL;
        _cleanup_free_ char *text = NULL, *type = NULL, *msg = NULL;
        const OciDescriptor *d;
        uint64_t max = rg->s->limits.max_manifest;
        bool is_index;
        size_t len;
        int r;

        r = fetch_small(rg, "manifests", parsed->digest ?: parsed->tag, accept_manifests, max, &text, &len,
                        &type);
        if (r < 0)
                return r;
        r = img_digest_buffer(text, len, digest);
        if (r < 0)
                return r;
        if (parsed->digest && !streq(digest, parsed->digest))
                return img_err(rg->error_msg, -EBADMSG, "manifest digest mismatch: got %s, asked for %s",
                               digest, parsed->digest);
        if (manifest_kind(text, len, type, &is_index) < 0)
                return img_err(rg->error_msg, -EINVAL, "%s/%s: the manifest is not JSON", rg->host, rg->repo);
        if (is_index) {
                r = oci_index_parse(text, len, &idx, &msg);
                if (r < 0)
                        return img_err(rg->error_msg, r, "invalid image index: %s", msg ?: strerror(-r));
                r = img_index_select(idx, rg->o->platform, &d, rg->error_msg);
                if (r < 0)
                        return r;
                if ((uint64_t) d->size > max)
                        return img_err(rg->error_msg, -E2BIG, "manifest %s is too large", d->digest);
                text = mfree(text);
                type = mfree(type);
                r = fetch_small(rg, "manifests", d->digest, accept_manifests, max, &text, &len, &type);
                if (r >= 0)
                        r = img_verify_digest(text, len, d->digest, rg->error_msg);
                if (r < 0)
                        return r;
                snprintf(digest, IMG_DIGEST_MAX, "%s", d->digest);
        }
        *ret_text = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

static int registry_new(ImgStore *s, const ImgRef *parsed, const ImgPullOptions *o, char **error_msg, Registry **ret) {
        _cleanup_(registry_freep) Registry *rg = NULL;

        (void) pthread_once(&curl_once, curl_init_once);
        rg = calloc(1, sizeof(*rg));
        if (!rg)
                return -ENOMEM;
        rg->s = s;
        rg->o = o;
        rg->error_msg = error_msg;
        rg->retries = o->retries ?: DEFAULT_RETRIES;
        rg->curl = curl_easy_init();
        /* docker.io is the name; its API lives at registry-1.docker.io. */
        rg->host = strdup(streq(parsed->domain, "docker.io") ? "registry-1.docker.io" : parsed->domain);
        rg->repo = strdup(parsed->path);
        if (!rg->curl || !rg->host || !rg->repo ||
            xasprintf(&rg->base, "%s://%s", o->plain_http ? "http" : "https", rg->host) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(rg);
        return 0;
}

static int pull_names(const ImgRef *parsed, const ImgPullOptions *o, char ***ret, char **error_msg) {
        _cleanup_free_ char *name = NULL, *tagged = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = img_ref_name(parsed, &name);
        if (r < 0)
                return r;
        if (o->name)
                r = img_name_normalize(o->name, &tagged, error_msg);
        else if (parsed->tag)
                r = xasprintf(&tagged, "%s:%s", name, parsed->tag);
        if (r < 0)
                return r;
        /* Pulled by digest alone and not named: the image is known by its digest. */
        if (tagged && strv_push(&names, TAKE_PTR(tagged)) < 0)
                return -ENOMEM;
        if (!names && !(names = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(names);
        return 0;
}

int img_pull(ImgStore *s, const char *ref, const ImgPullOptions *opts, char **ret_digest, char **error_msg) {
        static const ImgPullOptions defaults = {};
        const ImgPullOptions *o = opts ?: &defaults;
        _cleanup_(registry_freep) Registry *rg = NULL;
        _cleanup_(img_ref_done) ImgRef parsed = {};
        _cleanup_(img_job_freep) ImgJob *j = NULL;
        _cleanup_free_ char *text = NULL, *source = NULL, *local_msg = NULL;
        _cleanup_strv_free_ char **names = NULL;
        char digest[IMG_DIGEST_MAX];
        size_t len = 0;
        int r;

        if (!error_msg)
                error_msg = &local_msg;
        r = img_ref_parse(ref, true, &parsed, error_msg);
        if (r < 0)
                return r;
        r = registry_new(s, &parsed, o, error_msg, &rg);
        if (r >= 0)
                r = load_credentials(rg);
        if (r >= 0)
                r = resolve_manifest(rg, &parsed, &text, &len, digest);
        if (r >= 0)
                r = pull_names(&parsed, o, &names, error_msg);
        if (r < 0)
                return r;
        if (xasprintf(&source, "docker://%s", ref) < 0)
                return -ENOMEM;

        r = img_store_lock(s, LOCK_SH, error_msg);
        if (r < 0)
                return r;
        r = img_job_new(s, o->progress, o->userdata, error_msg, &j);
        if (r >= 0) {
                ImgJobSource src = { .read_blob = src_read_blob, .open_layer = src_open_layer, .userdata = rg };
                r = img_job_import_manifest(j, digest, text, len, &src, source, names, ret_digest);
        }
        j = img_job_free(j);
        img_store_unlock(s);
        return r;
}
