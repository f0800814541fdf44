/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libaula-images: a content-addressed image store, image import (OCI layout
 * directories, OCI archives, docker/podman save archives, registries over the
 * distribution API v2), layers converted once into squashfs files, and
 * instance roots that are overlays of the shared squashfs layers.
 *
 * Store layout under <root>/images (root defaults to /var/lib/aula):
 *   blobs/<alg>/<hex>        manifests, configs, layer blobs (verified)
 *   layers/<hex>.sqfs        one squashfs per layer, named by its ChainID
 *   layers/<hex>.json        what the layer means for layers above it
 *   images/<hex>.json        one record per image (manifest digest)
 *   refs.json                NAME:TAG -> manifest digest
 *   mnt/<hex>/, mnt/<hex>.refs/   shared read-only layer mounts, refcounted
 *   tmp/                     staging; nothing there is visible as an image
 *
 * Conventions (STYLE.md): functions return >= 0 on success and -errno on
 * failure; ret_* is written only on success. Where the user needs detail,
 * error_msg (may be NULL) receives a malloc'd one-line message on failure.
 * Nothing here logs above debug level; progress is reported through a
 * callback so that the CLI can draw it.
 *
 * Thread safety: an ImgStore may be used by one thread at a time. Separate
 * processes may use one store concurrently: imports take a shared store
 * lock, gc an exclusive one, refs are updated under their own lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct ImgStore ImgStore;

/* ------------------------------------------------------------------ store */

typedef enum ImgStoreFlags {
        /* Reject device nodes in layers even when running privileged. */
        IMG_STORE_NO_DEVICES = 1 << 0,
} ImgStoreFlags;

/*
 * Open (creating if needed) the store under root/images. root NULL means
 * $AULA_ROOT, else /var/lib/aula. Device nodes in layers are accepted only
 * when the caller is root in the initial user namespace and flags lack
 * IMG_STORE_NO_DEVICES.
 */
int img_store_open(const char *root, unsigned flags, ImgStore **ret, char **error_msg);
ImgStore *img_store_free(ImgStore *s);
DEFINE_CLEANUP_FUNC(ImgStore *, img_store_free);
/* The data root this store lives in (not the images/ subdirectory). */
const char *img_store_root(const ImgStore *s);

/* --------------------------------------------------------------- progress */

typedef enum ImgProgressKind {
        IMG_PROGRESS_START, /* a blob begins: total may be 0 when unknown */
        IMG_PROGRESS_BYTES, /* done bytes of total so far */
        IMG_PROGRESS_DONE, /* finished (converted, verified) */
        IMG_PROGRESS_CACHED, /* already in the store; nothing to do */
        IMG_PROGRESS_RETRY, /* a transient error; the transfer starts over */
        _IMG_PROGRESS_KIND_MAX,
} ImgProgressKind;

typedef struct ImgProgress {
        ImgProgressKind kind;
        const char *what; /* "manifest", "config", "layer" */
        const char *digest; /* full digest of the blob */
        unsigned index; /* layer index, 0-based (0 for other blobs) */
        unsigned count; /* number of layers */
        uint64_t done;
        uint64_t total;
} ImgProgress;

/* Called from the importing thread; must not call back into the store. */
typedef void (*ImgProgressFn)(const ImgProgress *p, void *userdata);

/* ----------------------------------------------------------------- import */

typedef struct ImgImportOptions {
        const char *name; /* NAME[:TAG] to tag the image with; NULL: the names the source gives */
        const char *platform; /* "os/arch[/variant]" for indexes; NULL: linux/<host arch> */
        ImgProgressFn progress;
        void *userdata;
} ImgImportOptions;

/*
 * Import from a local source, detecting its format: an OCI image layout
 * directory, an OCI archive (a tar of a layout) or a docker/podman save
 * archive, optionally gzip- or zstd-compressed. "PATH:REF" selects an image
 * in a layout or archive holding several (REF matched against
 * org.opencontainers.image.ref.name or the archive's RepoTags). On success
 * *ret_digest (may be NULL) is the manifest digest. On failure the store is
 * as it was.
 */
int img_import(ImgStore *s, const char *source, const ImgImportOptions *o, char **ret_digest, char **error_msg);

typedef struct ImgPullOptions {
        const char *name; /* as for import; NULL: the reference pulled */
        const char *platform; /* as for import */
        const char *auth_file; /* credentials (containers auth.json / docker config.json); NULL: search */
        const char *ca_file; /* extra CA bundle (PEM) for TLS; NULL: system store */
        bool insecure; /* do not verify TLS certificates */
        bool plain_http; /* speak HTTP instead of HTTPS */
        unsigned retries; /* attempts per request on transient errors; 0: default (4) */
        ImgProgressFn progress;
        void *userdata;
} ImgPullOptions;

/*
 * Pull [REGISTRY/]PATH[:TAG][@DIGEST] over the distribution API v2 (HTTPS
 * unless plain_http). Image indexes and manifest lists are resolved for the
 * platform. Anonymous, Basic and Bearer-token (WWW-Authenticate) access.
 */
int img_pull(ImgStore *s, const char *ref, const ImgPullOptions *o, char **ret_digest, char **error_msg);

/* -------------------------------------------------------- list, inspect */

typedef struct ImgLayerInfo {
        char *digest; /* blob digest */
        char *diff_id; /* digest of the uncompressed tar */
        char *chain_id; /* the layer with everything below it (image-spec config.md); names the squashfs */
        char *media_type;
        uint64_t size; /* blob size */
        uint64_t squashfs_size;
} ImgLayerInfo;

typedef struct ImgInfo {
        char *digest; /* manifest digest: the image's identity */
        char *media_type; /* of the manifest */
        char *config_digest;
        char **names; /* NAME:TAG references to it, sorted; may be empty (non-NULL) */
        char *os, *architecture, *variant; /* variant may be NULL */
        char *created; /* from the config; may be NULL */
        char *source; /* where it came from ("docker-archive:PATH", "docker://REF", ...) */
        uint64_t imported_usec; /* CLOCK_REALTIME */
        uint64_t size; /* sum of layer blob sizes */
        uint64_t squashfs_size; /* sum of squashfs sizes */
        ImgLayerInfo *layers;
        size_t n_layers;
} ImgInfo;

ImgInfo *img_info_free(ImgInfo *i);
DEFINE_CLEANUP_FUNC(ImgInfo *, img_info_free);
void img_info_free_many(ImgInfo **l, size_t n);

/* All images, sorted by import time (newest first). *ret is an array of n pointers. */
int img_list(ImgStore *s, ImgInfo ***ret, size_t *ret_n, char **error_msg);

/*
 * Resolve NAME[:TAG] (":latest" implied), a full digest "sha256:...", or a
 * unique hex prefix (>= 4 digits) of one, to an image. -ENOENT if none,
 * -ENOTUNIQ if a prefix is ambiguous.
 */
int img_resolve(ImgStore *s, const char *ref, char **ret_digest, char **error_msg);
int img_inspect(ImgStore *s, const char *ref, ImgInfo **ret, char **error_msg);
/* The image config blob (JSON text, NUL-terminated) of an image. */
int img_config_json(ImgStore *s, const char *ref, char **ret, size_t *ret_len, char **error_msg);

/* Add NAME[:TAG] for an existing image (replacing what that name pointed to). */
int img_tag(ImgStore *s, const char *ref, const char *name, char **error_msg);

/*
 * Remove a reference. When ref names the image itself (digest or prefix), or
 * the last name goes, the image record goes too and unreferenced blobs and
 * layers are collected (unless an import holds the store: then gc later).
 * Returns the manifest digest of what was untagged in *ret_digest (may be NULL).
 */
int img_remove(ImgStore *s, const char *ref, char **ret_digest, char **error_msg);

typedef struct ImgGcStats {
        uint64_t blobs_removed;
        uint64_t layers_removed;
        uint64_t images_removed;
        uint64_t bytes_freed;
        uint64_t tmp_removed;
        uint64_t layers_unmounted; /* shared layer mounts no instance referenced any more */
} ImgGcStats;

/*
 * Take the store exclusively and delete what nothing references: blobs and
 * squashfs layers no image needs (layers mounted for an instance are kept),
 * staging left by interrupted imports, and layer references (and mounts)
 * of instance roots whose creation was interrupted.
 */
int img_gc(ImgStore *s, ImgGcStats *ret, char **error_msg);

/* ---------------------------------------------------------- instance roots */

typedef enum ImgMountBackend {
        IMG_MOUNT_AUTO, /* kernel when privileged in the initial user namespace, else squashfuse */
        IMG_MOUNT_KERNEL, /* loop device + kernel squashfs */
        IMG_MOUNT_SQUASHFUSE, /* squashfuse(1) FUSE daemon per layer */
        _IMG_MOUNT_BACKEND_MAX,
        _IMG_MOUNT_BACKEND_INVALID = -EINVAL,
} ImgMountBackend;

const char *img_mount_backend_to_string(ImgMountBackend b);
ImgMountBackend img_mount_backend_from_string(const char *s);

/*
 * Make instance_dir/rootfs an overlay of the image's shared read-only layers
 * (each squashfs layer mounted once under the store and refcounted) with
 * instance_dir/upper and instance_dir/work as its writable part. Nothing is
 * copied. instance_dir is created if missing and must not hold an instance
 * root already (-EEXIST). *ret_rootfs (may be NULL) is the mounted path.
 * Needs CAP_SYS_ADMIN over the current mount namespace; in a user namespace
 * the squashfuse backend and overlayfs "userxattr" are used.
 */
int img_instance_root_create(
                ImgStore *s,
                const char *image,
                const char *instance_dir,
                ImgMountBackend backend,
                char **ret_rootfs,
                char **error_msg);

/*
 * Undo img_instance_root_create: unmount rootfs, remove upper/ and work/,
 * drop the layer references (unmounting layers nobody uses any more). The
 * instance directory itself stays. Idempotent: 0 when there is nothing.
 */
int img_instance_root_destroy(ImgStore *s, const char *instance_dir, char **error_msg);

/* ------------------------------------------------------------------ bundle */

typedef struct ImgBundleOptions {
        char **args; /* replaces the image's Cmd (NULL: keep); Entrypoint is kept */
        char **entrypoint; /* replaces the image's Entrypoint (and drops its Cmd unless args given) */
        char **env; /* KEY=VALUE entries overriding the image's Env */
        const char *user; /* overrides Config.User: "user[:group]", names or numbers */
        const char *cwd; /* overrides Config.WorkingDir */
        const char *hostname;
        bool terminal;
        bool rootless; /* start from the rootless default spec */
        int64_t memory_limit; /* bytes; 0: none */
        int64_t pids_limit; /* 0: none */
        uint64_t cpu_quota; /* microseconds per cpu_period; 0: none */
        uint64_t cpu_period; /* 0: 100000 when a quota is set */
} ImgBundleOptions;

/*
 * Write bundle_dir/config.json for the image, with root.path = rootfs (an
 * instance root made by img_instance_root_create, read to resolve
 * Config.User through its /etc/passwd and /etc/group without leaving it).
 * Env, Entrypoint+Cmd, WorkingDir, User, StopSignal and Labels follow the
 * image-spec's conversion.md; labels under "org.aula." are not carried over
 * (they would steer aula itself). bundle_dir is created if missing.
 */
int img_bundle_generate(
                ImgStore *s,
                const char *image,
                const char *rootfs,
                const ImgBundleOptions *o,
                const char *bundle_dir,
                char **error_msg);
