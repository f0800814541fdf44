/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json and the documents around it (process.json, resources, state):
 * no input may crash the parsers, and whatever parses must survive
 * emit -> parse unchanged.
 */
#include "fuzz.h"
#include "oci-internal.h"

static void config_round_trip(const OciConfig *c) {
        _cleanup_free_ char *text = NULL, *again = NULL;
        _cleanup_(oci_config_freep) OciConfig *back = NULL;
        _cleanup_free_ char *err = NULL;

        FUZZ_CHECK(oci_config_emit(c, false, &text) >= 0);
        if (oci_config_parse(text, strlen(text), &back, &err) < 0) {
                fprintf(stderr, "emitted config does not parse: %s\n%s\n", err, text);
                abort();
        }
        FUZZ_CHECK(oci_config_equal(c, back));
        FUZZ_CHECK(oci_config_emit(back, true, &again) >= 0);
}

static void check_mounts(const OciConfig *c) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                OciMountFlags f;
                /* The parser validated the options already: translating them cannot fail now. */
                FUZZ_CHECK(oci_mount_flags_parse(c->mounts[i].options, &f, NULL) >= 0);
                oci_mount_flags_done(&f);
        }
}

static void check_error(int r, char *err) {
        /* A failure always comes with a one-line message. */
        FUZZ_CHECK(r != -EINVAL || (err && !strchr(err, '\n')));
        free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        OciConfig *c = NULL;
        OciProcess *p = NULL;
        OciResources *res = NULL;
        OciState *s = NULL;
        char *err = NULL;
        int r;

        r = oci_config_parse(text, size, &c, &err);
        check_error(r, err);
        if (r >= 0) {
                config_round_trip(c);
                check_mounts(c);
                (void) oci_config_namespace(c, OCI_NS_USER);
                (void) oci_config_annotation(c, "org.aula.isolation");
                oci_config_free(c);
        }
        err = NULL;
        r = oci_process_parse(text, size, &p, &err);
        check_error(r, err);
        oci_process_free(p);
        err = NULL;
        r = oci_resources_parse(text, size, &res, &err);
        check_error(r, err);
        oci_resources_free(res);
        err = NULL;
        r = oci_state_parse(text, size, &s, &err);
        check_error(r, err);
        if (r >= 0) {
                _cleanup_free_ char *out = NULL;
                FUZZ_CHECK(oci_state_emit(s, &out) >= 0);
        }
        oci_state_free(s);
        return 0;
}
