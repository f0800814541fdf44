/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/evp.h>
#include <sys/random.h>
#include <sys/utsname.h>

#include "images-internal.h"

const ImgLimits img_default_limits = {
        .max_manifest = 4u * 1024 * 1024,
        .max_config = 8u * 1024 * 1024,
        .max_layers = 128,
        .max_entries = 4u * 1024 * 1024,
        .max_pax = 1024 * 1024,
        .max_path = 4096,
        .max_xattr_value = 64 * 1024,
        .max_xattrs = 128,
        .max_archive_entries = 100000,
};

_printf_(4, 0) static int img_err_va(char **error_msg, int r, bool wrap, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        int e = ERRNO_VALUE(r);

        if (!error_msg)
                return -e;
        if (vasprintf(&msg, fmt, ap) < 0)
                return -e;
        if (wrap) {
                char *n = NULL;
                if (asprintf(&n, "%s: %s", msg, *error_msg ? *error_msg : strerror(e)) < 0)
                        return -e;
                free(*error_msg);
                *error_msg = n;
        } else if (!*error_msg)
                *error_msg = TAKE_PTR(msg);
        return -e;
}

int img_err(char **error_msg, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        r = img_err_va(error_msg, r, false, fmt, ap);
        va_end(ap);
        return r;
}

int img_err_wrap(char **error_msg, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        r = img_err_va(error_msg, r, true, fmt, ap);
        va_end(ap);
        return r;
}

/* ----------------------------------------------------------------- digest */

struct ImgHash {
        EVP_MD_CTX *ctx;
        char alg[8];
};

int img_hash_new(const char *algorithm, ImgHash **ret) {
        const EVP_MD *md;
        ImgHash *h;

        if (streq(algorithm, "sha256"))
                md = EVP_sha256();
        else if (streq(algorithm, "sha512"))
                md = EVP_sha512();
        else
                return -EOPNOTSUPP;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
                img_hash_free(h);
                return -ENOMEM;
        }
        snprintf(h->alg, sizeof(h->alg), "%s", algorithm);
        *ret = h;
        return 0;
}

ImgHash *img_hash_free(ImgHash *h) {
        if (h) {
                EVP_MD_CTX_free(h->ctx);
                free(h);
        }
        return NULL;
}

void img_hash_update(ImgHash *h, const void *p, size_t n) {
        if (n > 0)
                (void) EVP_DigestUpdate(h->ctx, p, n);
}

int img_hash_final(ImgHash *h, char *buf) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        char *p;

        if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1)
                return -EIO;
        p = buf + sprintf(buf, "%s:", h->alg);
        for (unsigned i = 0; i < len; i++)
                p += sprintf(p, "%02x", md[i]);
        return 0;
}

int img_digest_buffer(const void *p, size_t n, char *buf) {
        _cleanup_(img_hash_freep) ImgHash *h = NULL;
        int r = img_hash_new("sha256", &h);
        if (r < 0)
                return r;
        img_hash_update(h, p, n);
        return img_hash_final(h, buf);
}

static bool is_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[n] == '\0';
}

int img_digest_split(const char *digest, char alg[static 16], const char **ret_hex) {
        const char *hex;

        if (!digest)
                return -EINVAL;
        if ((hex = startswith(digest, "sha256:"))) {
                if (!is_lower_hex(hex, 64))
                        return -EINVAL;
                strcpy(alg, "sha256");
        } else if ((hex = startswith(digest, "sha512:"))) {
                if (!is_lower_hex(hex, 128))
                        return -EINVAL;
                strcpy(alg, "sha512");
        } else
                return -EINVAL;
        if (ret_hex)
                *ret_hex = hex;
        return 0;
}

/* ------------------------------------------------------------------- misc */

const char *img_host_arch(void) {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#else
        return "unknown";
#endif
}

int img_platform_parse(const char *s, char **ret_os, char **ret_arch, char **ret_variant) {
        _cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
        const char *a, *v;

        if (!s || !(a = strchr(s, '/')) || a == s || a[1] == '\0' || a[1] == '/')
                return -EINVAL;
        os = strndup(s, (size_t) (a - s));
        a++;
        v = strchr(a, '/');
        if (v) {
                if (v[1] == '\0' || strchr(v + 1, '/'))
                        return -EINVAL;
                arch = strndup(a, (size_t) (v - a));
                variant = strdup(v + 1);
                if (!variant)
                        return -ENOMEM;
        } else
                arch = strdup(a);
        if (!os || !arch)
                return -ENOMEM;
        *ret_os = TAKE_PTR(os);
        *ret_arch = TAKE_PTR(arch);
        *ret_variant = TAKE_PTR(variant);
        return 0;
}

int img_random_hex(char *buf, size_t n) {
        uint8_t raw[32];
        size_t bytes = MIN((n - 1) / 2, sizeof(raw));

        if (getrandom(raw, bytes, 0) != (ssize_t) bytes)
                return -EIO;
        for (size_t i = 0; i < bytes; i++)
                sprintf(buf + 2 * i, "%02x", raw[i]);
        buf[2 * bytes] = '\0';
        return 0;
}
