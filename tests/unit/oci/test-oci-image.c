/* SPDX-License-Identifier: Apache-2.0 */
/* image-spec index, manifest and image config (and Docker schema2), digests, media types. */
#include "oci-internal.h"
#include "oci-test.h"

#define D1 "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DESC "{'mediaType':'application/vnd.oci.image.layer.v1.tar','digest':'" D1 "','size':1}"

/* Parse a fixture, emit it, parse that, and check both structures are equal. */
#define ROUND_TRIP(T, type, parse, emit, name, ret) \
        do { \
                _cleanup_free_ char *_text = fixture(name, NULL), *_out = NULL; \
                T *_back = NULL; \
                ASSERT_PARSE_OK(parse, _text, strlen(_text), ret); \
                ASSERT_OK(emit(*(ret), &_out)); \
                ASSERT_PARSE_OK(parse, _out, strlen(_out), &_back); \
                ASSERT_TRUE(oci_type_equal(&type, *(ret), _back)); \
                oci_document_free(&type, _back); \
        } while (0)

static void assert_emits_every_member(const char *name, int (*emit)(const void *, char **), const void *p) {
        _cleanup_free_ char *text = fixture(name, NULL), *out = NULL;
        _cleanup_(json_freep) JsonVal a = NULL, b = NULL;

        ASSERT_OK(emit(p, &out));
        ASSERT_OK(json_parse(text, strlen(text), &a, NULL));
        ASSERT_OK(json_parse(out, strlen(out), &b, NULL));
        if (!json_equal(a, b))
                tap_fail(__FILE__, __LINE__, "%s: emitted document differs from the fixture", name);
}

static int index_emit(const void *p, char **ret) {
        return oci_index_emit(p, ret);
}
static int manifest_emit(const void *p, char **ret) {
        return oci_manifest_emit(p, ret);
}
static int image_config_emit(const void *p, char **ret) {
        return oci_image_config_emit(p, ret);
}

TEST(digests) {
        ASSERT_TRUE(oci_digest_is_valid(D1));
        ASSERT_TRUE(oci_digest_is_valid(
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        ASSERT_TRUE(oci_digest_is_valid(
                        "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d"
                        "85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"));
        ASSERT_FALSE(oci_digest_is_valid(NULL));
        ASSERT_FALSE(oci_digest_is_valid(""));
        ASSERT_FALSE(oci_digest_is_valid("sha256:"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"));
        ASSERT_FALSE(oci_digest_is_valid(
                        "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        ASSERT_FALSE(oci_digest_is_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
        ASSERT_FALSE(oci_digest_is_valid("sha512:"
                                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        ASSERT_FALSE(oci_digest_is_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(media_type_kinds) {
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_INDEX), OCI_MEDIA_INDEX);
        ASSERT_EQ(oci_media_type_kind(DOCKER_MEDIA_TYPE_MANIFEST_LIST), OCI_MEDIA_INDEX);
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_MANIFEST), OCI_MEDIA_MANIFEST);
        ASSERT_EQ(oci_media_type_kind(DOCKER_MEDIA_TYPE_MANIFEST), OCI_MEDIA_MANIFEST);
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_CONFIG), OCI_MEDIA_CONFIG);
        ASSERT_EQ(oci_media_type_kind(DOCKER_MEDIA_TYPE_CONFIG), OCI_MEDIA_CONFIG);
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_LAYER), OCI_MEDIA_LAYER);
        ASSERT_EQ(oci_media_type_kind(DOCKER_MEDIA_TYPE_LAYER), OCI_MEDIA_LAYER);
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_LAYER_GZIP), OCI_MEDIA_LAYER_GZIP);
        ASSERT_EQ(oci_media_type_kind(DOCKER_MEDIA_TYPE_LAYER_GZIP), OCI_MEDIA_LAYER_GZIP);
        ASSERT_EQ(oci_media_type_kind(OCI_MEDIA_TYPE_LAYER_ZSTD), OCI_MEDIA_LAYER_ZSTD);
        ASSERT_EQ(oci_media_type_kind("application/vnd.example.sbom"), OCI_MEDIA_UNKNOWN);
        ASSERT_EQ(oci_media_type_kind(NULL), OCI_MEDIA_UNKNOWN);
}

TEST(oci_index) {
        _cleanup_(oci_index_freep) OciIndex *i = NULL;

        ROUND_TRIP(OciIndex, oci_index_type, oci_index_parse, oci_index_emit, "image-index.json", &i);
        ASSERT_EQ(i->schema_version, 2);
        ASSERT_STREQ(i->media_type, OCI_MEDIA_TYPE_INDEX);
        ASSERT_EQ(i->n_manifests, 4u);
        ASSERT_STREQ(i->manifests[0].platform->architecture, "amd64");
        ASSERT_STREQ(i->manifests[0].annotations[0].value, "3.19");
        ASSERT_STREQ(i->manifests[1].platform->variant, "v8");
        ASSERT_STREQ(i->manifests[2].platform->os_version, "10.0.17763.1040");
        ASSERT_STREQ(i->manifests[2].platform->os_features[0], "win32k");
        /* An unknown media type parses and shows as such. */
        ASSERT_EQ(oci_media_type_kind(i->manifests[3].media_type), OCI_MEDIA_UNKNOWN);
        ASSERT_STREQ(i->manifests[3].artifact_type, "application/vnd.example.sbom");
        ASSERT_STREQ(i->manifests[3].data, "e30=");
        ASSERT_EQ(i->manifests[3].size, 0);
        ASSERT_TRUE(startswith(i->manifests[3].digest, "sha512:") != NULL);
        ASSERT_NULL(i->manifests[3].platform);
        assert_emits_every_member("image-index.json", index_emit, i);
}

TEST(oci_manifest) {
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;

        ROUND_TRIP(OciManifest, oci_manifest_type, oci_manifest_parse, oci_manifest_emit,
                   "image-manifest.json", &m);
        ASSERT_STREQ(m->config.media_type, OCI_MEDIA_TYPE_CONFIG);
        ASSERT_EQ(m->config.size, 581);
        ASSERT_EQ(m->n_layers, 3u);
        ASSERT_EQ(oci_media_type_kind(m->layers[0].media_type), OCI_MEDIA_LAYER_GZIP);
        ASSERT_EQ(oci_media_type_kind(m->layers[1].media_type), OCI_MEDIA_LAYER_ZSTD);
        ASSERT_EQ(m->layers[0].size, 3408729);
        ASSERT_NOT_NULL(m->subject);
        ASSERT_EQ(m->subject->size, 7682);
        ASSERT_STREQ(m->annotations[0].key, "com.example.key1");
        assert_emits_every_member("image-manifest.json", manifest_emit, m);
}

TEST(docker_schema2) {
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;
        _cleanup_(oci_index_freep) OciIndex *l = NULL;

        ROUND_TRIP(OciManifest, oci_manifest_type, oci_manifest_parse, oci_manifest_emit,
                   "docker-manifest.json", &m);
        ASSERT_STREQ(m->media_type, DOCKER_MEDIA_TYPE_MANIFEST);
        ASSERT_EQ(oci_media_type_kind(m->config.media_type), OCI_MEDIA_CONFIG);
        ASSERT_EQ(oci_media_type_kind(m->layers[1].media_type), OCI_MEDIA_LAYER_GZIP);
        ASSERT_STREQ(m->layers[1].urls[0], "https://mcr.microsoft.com/v2/windows/blobs/x");
        ASSERT_NULL(m->subject);
        assert_emits_every_member("docker-manifest.json", manifest_emit, m);

        ROUND_TRIP(OciIndex, oci_index_type, oci_index_parse, oci_index_emit, "docker-manifest-list.json", &l);
        ASSERT_STREQ(l->media_type, DOCKER_MEDIA_TYPE_MANIFEST_LIST);
        ASSERT_EQ(l->n_manifests, 2u);
        ASSERT_STREQ(l->manifests[1].platform->variant, "v7");
}

TEST(oci_image_config) {
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;

        ROUND_TRIP(OciImageConfig, oci_image_config_type, oci_image_config_parse, oci_image_config_emit,
                   "image-config.json", &c);
        ASSERT_STREQ(c->architecture, "amd64");
        ASSERT_STREQ(c->os, "linux");
        ASSERT_STREQ(c->user, "alice");
        ASSERT_EQ(strv_length(c->exposed_ports), 2u);
        ASSERT_TRUE(strv_contains(c->exposed_ports, "53/udp"));
        ASSERT_STREQ(c->env[1], "FOO=oci_is_a");
        ASSERT_STREQ(c->entrypoint[0], "/bin/my-app-binary");
        ASSERT_EQ(strv_length(c->cmd), 3u);
        ASSERT_TRUE(strv_contains(c->volumes, "/var/log/my-app-logs"));
        ASSERT_STREQ(c->working_dir, "/home/alice");
        ASSERT_EQ(c->n_labels, 2u);
        ASSERT_STREQ(c->stop_signal, "SIGRTMIN+3");
        ASSERT_STREQ(c->rootfs_type, "layers");
        ASSERT_EQ(strv_length(c->diff_ids), 2u);
        ASSERT_EQ(c->n_history, 3u);
        ASSERT_TRUE(c->history[1].empty_layer);
        ASSERT_STREQ(c->history[2].comment, "buildkit.dockerfile.v0");
        ASSERT_STREQ(c->created, "2024-01-26T23:44:54.021316357Z");
        assert_emits_every_member("image-config.json", image_config_emit, c);
}

TEST(docker_image_config) {
        _cleanup_(oci_image_config_freep) OciImageConfig *c = NULL;

        ROUND_TRIP(OciImageConfig, oci_image_config_type, oci_image_config_parse, oci_image_config_emit,
                   "docker-image-config.json", &c);
        ASSERT_STREQ(c->cmd[0], "/bin/sh");
        ASSERT_NULL(c->entrypoint);
        ASSERT_NULL(c->volumes);
        ASSERT_STREQ(c->user, "");
        ASSERT_EQ(c->n_history, 2u);
        ASSERT_EQ(strv_length(c->diff_ids), 1u);
}

typedef struct BadDoc {
        const char *json;
        const char *want;
} BadDoc;

TEST(index_invalid) {
        static const BadDoc cases[] = {
                { "{'schemaVersion':1,'manifests':[]}", "schemaVersion: unsupported value 1 (expected 2)" },
                { "{'schemaVersion':3,'manifests':[]}", "schemaVersion: unsupported value 3" },
                { "{'schemaVersion':'2','manifests':[]}", "schemaVersion: expected integer, got string" },
                { "{'manifests':[]}", "schemaVersion: required field missing" },
                { "{'schemaVersion':2}", "manifests: required field missing" },
                { "{'schemaVersion':2,'mediaType':'" OCI_MEDIA_TYPE_MANIFEST "','manifests':[]}",
                  "mediaType: \"application/vnd.oci.image.manifest.v1+json\" is not an image index media type" },
                { "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'sha256:abc','size':1}]}",
                  "manifests[0].digest: invalid digest \"sha256:abc\"" },
                { "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'" D1 "','size':-1}]}",
                  "manifests[0].size: -1 out of range [0, 9223372036854775807]" },
                { "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'" D1 "'}]}",
                  "manifests[0].size: required field missing" },
                { "{'schemaVersion':2,'manifests':[{'digest':'" D1 "','size':1}]}",
                  "manifests[0].mediaType: required field missing" },
                { "{'schemaVersion':2,'manifests':[{'mediaType':'x','digest':'" D1
                  "','size':1,'platform':{'os':'linux'}}]}",
                  "manifests[0].platform.architecture: required field missing" },
                { "{'schemaVersion':2,'manifests':[],'annotations':{'a':1}}",
                  "annotations[\"a\"]: expected string, got integer" },
                { "[]", "index: expected object, got array" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_PARSE_FAILS(oci_index_parse, OciIndex, cases[i].json, EINVAL, cases[i].want);
}

TEST(manifest_invalid) {
        static const BadDoc cases[] = {
                { "{'schemaVersion':1,'name':'library/alpine','tag':'latest','fsLayers':[]}",
                  "schemaVersion: unsupported value 1 (expected 2)" },
                { "{'schemaVersion':2,'layers':[]}", "config: required field missing" },
                { "{'schemaVersion':2,'config':" DESC "}", "layers: required field missing" },
                { "{'schemaVersion':2,'config':" DESC ",'layers':[" DESC ",{'mediaType':'x','digest':'" D1 "',"
                  "'size':1e3}]}",
                  "layers[1].size: expected integer, got 1e3" },
                { "{'schemaVersion':2,'config':" DESC ",'layers':[" DESC ",{'mediaType':'x','digest':'" D1 "',"
                  "'size':-5}]}",
                  "layers[1].size: -5 out of range" },
                { "{'schemaVersion':2,'config':{'mediaType':'x','digest':'sha256:" D1
                  "','size':1},'layers':[]}",
                  "config.digest: invalid digest" },
                { "{'schemaVersion':2,'mediaType':'" DOCKER_MEDIA_TYPE_MANIFEST_LIST "','config':" DESC
                  ",'layers':[]}",
                  "mediaType: \"application/vnd.docker.distribution.manifest.list.v2+json\" is not an image manifest" },
                { "{'schemaVersion':2,'config':" DESC ",'layers':[],'subject':{'mediaType':'x','size':1}}",
                  "subject.digest: required field missing" },
                { "{'schemaVersion':2,'config':" DESC ",'layers':[{'mediaType':'x','digest':'" D1 "','size':1,"
                  "'urls':'http://x'}]}",
                  "layers[0].urls: expected array of strings, got string" },
                { "{'schemaVersion':2,'config':" DESC ",'layers':[{'mediaType':'','digest':'" D1
                  "','size':1}]}",
                  "layers[0].mediaType: must not be empty" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_PARSE_FAILS(oci_manifest_parse, OciManifest, cases[i].json, EINVAL, cases[i].want);
}

TEST(manifest_accepts_unknown_layer_media_types) {
        _cleanup_free_ char *t = jq("{'schemaVersion':2,'config':" DESC ",'layers':[{'mediaType':"
                                    "'application/vnd.example.weird','digest':'" D1 "','size':0}]}");
        _cleanup_(oci_manifest_freep) OciManifest *m = NULL;

        ASSERT_PARSE_OK(oci_manifest_parse, t, strlen(t), &m);
        ASSERT_NULL(m->media_type);
        ASSERT_EQ(oci_media_type_kind(m->layers[0].media_type), OCI_MEDIA_UNKNOWN);
}

TEST(image_config_invalid) {
        static const BadDoc cases[] = {
                { "{'os':'linux','rootfs':{'type':'layers','diff_ids':[]}}",
                  "architecture: required field missing" },
                { "{'architecture':'amd64','rootfs':{'type':'layers','diff_ids':[]}}",
                  "os: required field missing" },
                { "{'architecture':'amd64','os':'linux'}", "rootfs: required field missing" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers'}}",
                  "rootfs.diff_ids: required field missing" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'tarballs','diff_ids':[]}}",
                  "rootfs.type: expected \"layers\", got \"tarballs\"" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':['" D1
                  "','sha256:x']}}",
                  "rootfs.diff_ids[1]: invalid digest \"sha256:x\"" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':[]},'config':{'Env':'A=1'}}",
                  "config.Env: expected array of strings, got string" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':[]},"
                  "'config':{'ExposedPorts':{'80/tcp':true}}}",
                  "config.ExposedPorts[\"80/tcp\"]: expected object, got boolean" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':[]},"
                  "'config':{'Labels':{'a':['b']}}}",
                  "config.Labels[\"a\"]: expected string, got array" },
                { "{'architecture':'amd64','os':'linux','rootfs':{'type':'layers','diff_ids':[]},"
                  "'history':[{'empty_layer':'yes'}]}",
                  "history[0].empty_layer: expected boolean, got string" },
                { "\"x\"", "image config: expected object, got string" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_PARSE_FAILS(
                                oci_image_config_parse, OciImageConfig, cases[i].json, EINVAL, cases[i].want);
}

TEST(free_and_emit_tolerate_null) {
        char *out = NULL;
        ASSERT_NULL(oci_index_free(NULL));
        ASSERT_NULL(oci_manifest_free(NULL));
        ASSERT_NULL(oci_image_config_free(NULL));
        ASSERT_ERROR(oci_index_emit(NULL, &out), EINVAL);
        ASSERT_ERROR(oci_manifest_emit(NULL, &out), EINVAL);
        ASSERT_ERROR(oci_image_config_emit(NULL, &out), EINVAL);
        ASSERT_NULL(out);
}
