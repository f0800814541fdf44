/* SPDX-License-Identifier: Apache-2.0 */

/*
 * Image references as the distribution project defines them
 * (reference/reference.go grammar, restated):
 *
 *   reference       := name [ ":" tag ] [ "@" digest ]
 *   name            := [ domain "/" ] path-component ( "/" path-component )*
 *   domain          := host [ ":" port ], recognised as such when the first
 *                      component contains "." or ":" or is "localhost"
 *   path-component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag             := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *
 * A name without a domain is on docker.io, and single-component names there
 * live under "library/".
 */

#include <ctype.h>

#include "images-internal.h"

void img_ref_done(ImgRef *r) {
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        *r = (ImgRef){};
}

static bool alnum_lower(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool valid_component(const char *s, size_t n) {
        size_t i = 0;

        if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
                return false;
        while (i < n) {
                if (alnum_lower(s[i])) {
                        i++;
                        continue;
                }
                /* A separator: ".", "_", "__" or a run of "-", always between alphanumerics. */
                if (s[i] == '.' || s[i] == '_') {
                        size_t run = (s[i] == '_' && i + 1 < n && s[i + 1] == '_') ? 2 : 1;
                        i += run;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else
                        return false;
                if (i >= n || !alnum_lower(s[i]))
                        return false;
        }
        return true;
}

static bool valid_domain(const char *s, size_t n) {
        size_t i = 0;

        if (n == 0 || n > 255)
                return false;
        if (s[0] == '[') {
                /* An IPv6 literal: "[...]" with an optional port. */
                const char *close = memchr(s, ']', n);
                if (!close)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!isxdigit((unsigned char) *p) && *p != ':')
                                return false;
                i = (size_t) (close - s) + 1;
        } else {
                for (; i < n && s[i] != ':'; i++)
                        if (!isalnum((unsigned char) s[i]) && s[i] != '.' && s[i] != '-')
                                return false;
                if (i == 0)
                        return false;
        }
        if (i < n) {
                if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
                        return false;
                for (size_t k = i + 1; k < n; k++)
                        if (!isdigit((unsigned char) s[k]))
                                return false;
        }
        return true;
}

static bool valid_tag(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128 || !(isalnum((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

int img_ref_parse(const char *s, bool normalize, ImgRef *ret, char **error_msg) {
        _cleanup_(img_ref_done) ImgRef r = {};
        _cleanup_free_ char *name = NULL;
        const char *at, *slash, *colon, *first_end;
        char alg[16];

        if (isempty(s) || strlen(s) > 4096)
                return img_err(error_msg, -EINVAL, "invalid image reference '%s'", s ?: "");
        at = strchr(s, '@');
        if (at) {
                if (img_digest_split(at + 1, alg, NULL) < 0)
                        return img_err(error_msg, -EINVAL, "invalid digest in reference '%s'", s);
                r.digest = strdup(at + 1);
                name = strndup(s, (size_t) (at - s));
        } else
                name = strdup(s);
        if (!name || (at && !r.digest))
                return -ENOMEM;

        /* The tag is after the last ':' that comes after the last '/'. */
        slash = strrchr(name, '/');
        colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                if (!valid_tag(colon + 1))
                        return img_err(error_msg, -EINVAL, "invalid tag in reference '%s'", s);
                r.tag = strdup(colon + 1);
                if (!r.tag)
                        return -ENOMEM;
                name[colon - name] = '\0';
        }

        first_end = strchr(name, '/');
        if (first_end) {
                size_t n = (size_t) (first_end - name);
                bool is_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
                                (n == 9 && !strncmp(name, "localhost", 9));
                for (size_t i = 0; i < n && !is_domain; i++)
                        is_domain = isupper((unsigned char) name[i]);
                if (is_domain) {
                        if (!valid_domain(name, n))
                                return img_err(error_msg, -EINVAL,
                                               "invalid registry '%.*s' in reference '%s'", (int) n, name, s);
                        r.domain = strndup(name, n);
                        r.path = strdup(first_end + 1);
                        if (!r.domain || !r.path)
                                return -ENOMEM;
                }
        }
        if (!r.path)
                r.path = strdup(name);
        if (!r.path)
                return -ENOMEM;

        for (const char *p = r.path;;) {
                size_t n = strcspn(p, "/");
                if (!valid_component(p, n))
                        return img_err(error_msg, -EINVAL,
                                       "invalid image name '%s' (lowercase letters, digits and . _ - separators)",
                                       s);
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (strlen(r.path) + (r.domain ? strlen(r.domain) + 1 : 0) > 255)
                return img_err(error_msg, -ENAMETOOLONG, "image name '%s' is longer than 255 characters", s);

        if (normalize) {
                if (!r.domain) {
                        r.domain = strdup("docker.io");
                        if (!r.domain)
                                return -ENOMEM;
                }
                if (streq(r.domain, "docker.io") && !strchr(r.path, '/')) {
                        char *p;
                        if (xasprintf(&p, "library/%s", r.path) < 0)
                                return -ENOMEM;
                        free(r.path);
                        r.path = p;
                }
                if (!r.tag && !r.digest) {
                        r.tag = strdup("latest");
                        if (!r.tag)
                                return -ENOMEM;
                }
        }
        *ret = r;
        r = (ImgRef){};
        return 0;
}

int img_ref_name(const ImgRef *r, char **ret) {
        return r->domain ? xasprintf(ret, "%s/%s", r->domain, r->path) : xasprintf(ret, "%s", r->path);
}

int img_name_normalize(const char *s, char **ret, char **error_msg) {
        _cleanup_(img_ref_done) ImgRef r = {};
        _cleanup_free_ char *name = NULL;
        int e;

        e = img_ref_parse(s, false, &r, error_msg);
        if (e < 0)
                return e;
        if (r.digest)
                return img_err(error_msg, -EINVAL, "'%s': a name cannot carry a digest", s);
        e = img_ref_name(&r, &name);
        if (e < 0)
                return e;
        return xasprintf(ret, "%s:%s", name, r.tag ?: "latest");
}
