/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image-spec index, manifest and image config: no input may crash the
 * parsers, and whatever parses must survive emit -> parse unchanged.
 */
#include "fuzz.h"
#include "oci-internal.h"

typedef struct Doc {
        const OciType *type;
        int (*parse)(const char *text, size_t len, void **ret, char **error_msg);
        int (*emit)(const void *p, char **ret);
} Doc;

static int index_parse(const char *t, size_t n, void **ret, char **e) {
        return oci_index_parse(t, n, (OciIndex **) ret, e);
}
static int index_emit(const void *p, char **ret) {
        return oci_index_emit(p, ret);
}
static int manifest_parse(const char *t, size_t n, void **ret, char **e) {
        return oci_manifest_parse(t, n, (OciManifest **) ret, e);
}
static int manifest_emit(const void *p, char **ret) {
        return oci_manifest_emit(p, ret);
}
static int image_config_parse(const char *t, size_t n, void **ret, char **e) {
        return oci_image_config_parse(t, n, (OciImageConfig **) ret, e);
}
static int image_config_emit(const void *p, char **ret) {
        return oci_image_config_emit(p, ret);
}

static const Doc docs[] = {
        { &oci_index_type, index_parse, index_emit },
        { &oci_manifest_type, manifest_parse, manifest_emit },
        { &oci_image_config_type, image_config_parse, image_config_emit },
};

static void check_descriptor(const OciDescriptor *d) {
        FUZZ_CHECK(oci_digest_is_valid(d->digest));
        FUZZ_CHECK(d->size >= 0);
        (void) oci_media_type_kind(d->media_type);
}

static void check_descriptors(const Doc *d, const void *p) {
        if (d->type == &oci_index_type) {
                const OciIndex *i = p;
                for (size_t k = 0; k < i->n_manifests; k++)
                        check_descriptor(&i->manifests[k]);
        } else if (d->type == &oci_manifest_type) {
                const OciManifest *m = p;
                check_descriptor(&m->config);
                for (size_t k = 0; k < m->n_layers; k++)
                        check_descriptor(&m->layers[k]);
        } else {
                const OciImageConfig *c = p;
                for (char **id = c->diff_ids; id && *id; id++)
                        FUZZ_CHECK(oci_digest_is_valid(*id));
        }
}

static void run(const Doc *d, const char *text, size_t size) {
        void *p = NULL, *back = NULL;
        char *err = NULL, *out = NULL;
        int r;

        r = d->parse(text, size, &p, &err);
        FUZZ_CHECK(r != -EINVAL || (err && !strchr(err, '\n')));
        free(err);
        err = NULL;
        if (r < 0)
                return;
        check_descriptors(d, p);
        FUZZ_CHECK(d->emit(p, &out) >= 0);
        if (d->parse(out, strlen(out), &back, &err) < 0) {
                fprintf(stderr, "emitted document does not parse: %s\n%s\n", err, out);
                abort();
        }
        FUZZ_CHECK(oci_type_equal(d->type, p, back));
        oci_document_free(d->type, back);
        oci_document_free(d->type, p);
        free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        for (size_t i = 0; i < ELEMENTSOF(docs); i++)
                run(&docs[i], (const char *) data, size);
        (void) oci_digest_is_valid(size > 0 && data[size - 1] == 0 ? (const char *) data : NULL);
        return 0;
}
