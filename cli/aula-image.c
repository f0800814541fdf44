/* SPDX-License-Identifier: Apache-2.0 */

/* `aula image ...`: argument parsing, tables, JSON and progress bars over libaula-images. */

#include <getopt.h>
#include <time.h>

#include "cli.h"
#include "common.h"
#include "images.h"

typedef struct ImageCmd {
        const char *name;
        int (*run)(int argc, char **argv, const CliGlobal *g);
        const char *usage;
        const char *summary;
} ImageCmd;

static const char *short_id(const char *digest) {
        static char buf[13];
        const char *hex = strchr(digest, ':');
        snprintf(buf, sizeof(buf), "%s", hex ? hex + 1 : digest);
        return buf;
}

static int open_store(const CliGlobal *g, unsigned flags, ImgStore **ret) {
        _cleanup_free_ char *msg = NULL;
        int r = img_store_open(g->root, flags, ret, &msg);
        if (r < 0)
                return log_error_errno(r, "%s", msg ?: strerror(-r));
        return 0;
}

static int fail(int r, char *msg, const char *what) {
        r = log_error_errno(r, "%s%s%s", what ? what : "", what ? ": " : "", msg ?: strerror(ERRNO_VALUE(r)));
        free(msg);
        return r;
}

/* A command's --help: the usage line and the summary, then its options. */
static int usage(const ImageCmd *c, const char *options, bool error) {
        fprintf(error ? stderr : stdout, "Usage: aula image %s %s\n\n%s\n%s%s", c->name, c->usage,
                c->summary, options ? "\nOptions:\n" : "", options ?: "");
        return error ? 2 : 0;
}

/* --------------------------------------------------------------- progress */

typedef struct Bars {
        bool tty;
        bool quiet;
        bool drawn;
        uint64_t last_usec;
} Bars;

static void draw(Bars *b, const ImgProgress *p, const char *state) {
        char done[32], total[32], bar[31];
        size_t fill = 0;

        if (p->total > 0)
                fill = (size_t) ((double) MIN(p->done, p->total) / (double) p->total * 30.0);
        for (size_t i = 0; i < 30; i++)
                bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%s %u/%u %-12s ", p->what, p->index + 1, MAX(p->count, p->index + 1),
                p->digest ? short_id(p->digest) : "");
        if (state)
                fprintf(stderr, "%s", state);
        else if (p->total > 0)
                fprintf(stderr, "[%s] %s / %s", bar, cli_format_bytes(done, sizeof(done), p->done),
                        cli_format_bytes(total, sizeof(total), p->total));
        else
                fprintf(stderr, "%s", cli_format_bytes(done, sizeof(done), p->done));
}

static void on_progress(const ImgProgress *p, void *userdata) {
        Bars *b = userdata;
        char size[32];
        uint64_t now;

        if (b->quiet)
                return;
        switch (p->kind) {
        case IMG_PROGRESS_BYTES:
                now = now_usec(CLOCK_MONOTONIC);
                if (!b->tty || now - b->last_usec < 100000)
                        return;
                b->last_usec = now;
                draw(b, p, NULL);
                b->drawn = true;
                break;
        case IMG_PROGRESS_START:
                if (b->tty) {
                        draw(b, p, "starting");
                        b->drawn = true;
                }
                break;
        case IMG_PROGRESS_DONE:
                fprintf(stderr, "%s%s %u/%u %-12s done (%s)\n", b->drawn ? "\r\033[K" : "", p->what,
                        p->index + 1, MAX(p->count, p->index + 1), p->digest ? short_id(p->digest) : "",
                        cli_format_bytes(size, sizeof(size), p->done));
                b->drawn = false;
                break;
        case IMG_PROGRESS_CACHED:
                fprintf(stderr, "%s%s %u/%u %-12s already in the store\n", b->drawn ? "\r\033[K" : "", p->what,
                        p->index + 1, MAX(p->count, p->index + 1), p->digest ? short_id(p->digest) : "");
                b->drawn = false;
                break;
        case IMG_PROGRESS_RETRY:
                fprintf(stderr, "%s%s %u/%u %-12s transient error, retrying\n", b->drawn ? "\r\033[K" : "",
                        p->what, p->index + 1, MAX(p->count, p->index + 1),
                        p->digest ? short_id(p->digest) : "");
                b->drawn = false;
                break;
        default:
                break;
        }
        if (!b->tty && p->kind == IMG_PROGRESS_DONE)
                fflush(stderr);
}

/* -------------------------------------------------------------- results */

static void jw_info(JsonWriter *w, const ImgInfo *i, bool full) {
        jw_object_open(w);
        jw_key(w, "id");
        jw_string(w, short_id(i->digest));
        jw_key(w, "digest");
        jw_string(w, i->digest);
        jw_key(w, "names");
        jw_strv(w, i->names);
        jw_key(w, "created");
        jw_string(w, i->created);
        jw_key(w, "os");
        jw_string(w, i->os);
        jw_key(w, "architecture");
        jw_string(w, i->architecture);
        if (i->variant) {
                jw_key(w, "variant");
                jw_string(w, i->variant);
        }
        jw_key(w, "size");
        jw_uint(w, i->size);
        jw_key(w, "squashfsSize");
        jw_uint(w, i->squashfs_size);
        if (full) {
                char ts[64];
                jw_key(w, "mediaType");
                jw_string(w, i->media_type);
                jw_key(w, "config");
                jw_string(w, i->config_digest);
                jw_key(w, "source");
                jw_string(w, i->source);
                jw_key(w, "imported");
                jw_string(w, format_rfc3339(i->imported_usec * 1000, ts, sizeof(ts)));
                jw_key(w, "layers");
                jw_array_open(w);
                for (size_t k = 0; k < i->n_layers; k++) {
                        jw_object_open(w);
                        jw_key(w, "digest");
                        jw_string(w, i->layers[k].digest);
                        jw_key(w, "diffId");
                        jw_string(w, i->layers[k].diff_id);
                        jw_key(w, "chainId");
                        jw_string(w, i->layers[k].chain_id);
                        jw_key(w, "mediaType");
                        jw_string(w, i->layers[k].media_type);
                        jw_key(w, "size");
                        jw_uint(w, i->layers[k].size);
                        jw_key(w, "squashfsSize");
                        jw_uint(w, i->layers[k].squashfs_size);
                        jw_object_close(w);
                }
                jw_array_close(w);
        } else {
                jw_key(w, "layers");
                jw_uint(w, i->n_layers);
        }
        jw_object_close(w);
}

static int report_imported(ImgStore *s, const char *digest, bool json) {
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        char *msg = NULL;
        int r;

        r = img_inspect(s, digest, &info, &msg);
        if (r < 0)
                return fail(r, msg, NULL);
        if (json) {
                if (json_writer_new(true, &w) < 0)
                        return log_error_errno(SYNTHETIC_ERRNO(ENOMEM), "out of memory");
                jw_info(w, info, false);
                cli_print_json(w);
                return 0;
        }
        printf("%s\n", info->digest);
        STRV_FOREACH(n, info->names)
                printf("%s\n", *n);
        return 0;
}

/* ----------------------------------------------------------------- import */

static int cmd_import(int argc, char **argv, const CliGlobal *g);
static int cmd_pull(int argc, char **argv, const CliGlobal *g);
static int cmd_ls(int argc, char **argv, const CliGlobal *g);
static int cmd_inspect(int argc, char **argv, const CliGlobal *g);
static int cmd_rm(int argc, char **argv, const CliGlobal *g);
static int cmd_gc(int argc, char **argv, const CliGlobal *g);
static int cmd_tag(int argc, char **argv, const CliGlobal *g);
static int cmd_mount(int argc, char **argv, const CliGlobal *g);
static int cmd_unmount(int argc, char **argv, const CliGlobal *g);
static int cmd_bundle(int argc, char **argv, const CliGlobal *g);

static const ImageCmd commands[] = {
        { "import", cmd_import, "PATH[:REF] [--name NAME[:TAG]] [--platform OS/ARCH] [--format json]",
          "Import an OCI image layout directory, an OCI archive or a docker/podman save archive\n"
          "(plain, gzip or zstd). REF picks one image of several in the source." },
        { "pull", cmd_pull, "[REGISTRY/]NAME[:TAG|@DIGEST] [OPTIONS]",
          "Pull an image from a registry (OCI distribution / Docker registry HTTP API v2)." },
        { "ls", cmd_ls, "[--format json]", "List the images in the store." },
        { "inspect", cmd_inspect, "IMAGE [--config]",
          "Show an image's record as JSON (with --config: its image config)." },
        { "rm", cmd_rm, "IMAGE... [--format json]",
          "Remove image names; an image without names is deleted and its space reclaimed." },
        { "gc", cmd_gc, "[--format json]",
          "Delete blobs and layers no image needs, and what interrupted imports left." },
        { "tag", cmd_tag, "IMAGE NAME[:TAG]", "Give an image another name." },
        { "mount", cmd_mount, "IMAGE DIR [--backend kernel|squashfuse]",
          "Make DIR/rootfs an instance root: an overlay of the image's shared layers, copying nothing." },
        { "unmount", cmd_unmount, "DIR", "Undo 'mount': unmount DIR/rootfs and drop its writable layer." },
        { "bundle", cmd_bundle, "IMAGE DIR [OPTIONS] [-- COMMAND [ARG...]]",
          "Mount an instance root at DIR/rootfs and write DIR/config.json: an OCI bundle to run." },
};

static const char import_options[] =
                "  --name NAME[:TAG]     name the image (default: the names the source carries)\n"
                "  --platform OS/ARCH    pick from a multi-platform index (default: linux/<this machine>)\n"
                "  --format json|table   output format\n"
                "  -q, --quiet           no progress\n"
                "  --no-devices          refuse device nodes in layers even as root\n"
                "  -h, --help            show this help\n";

/* The options import and pull share. */
typedef struct FetchArgs {
        const char *name;
        const char *platform;
        bool json;
        unsigned flags; /* ImgStore flags */
        Bars bars;
} FetchArgs;

/* One option of getopt_long(): 1 when it is one of FetchArgs', 0 when not, -EINVAL for a bad value. */
static int parse_fetch_option(int c, FetchArgs *a) {
        switch (c) {
        case 'n':
                a->name = optarg;
                return 1;
        case 'p':
                a->platform = optarg;
                return 1;
        case 'f':
                return cli_parse_format(optarg, &a->json) < 0 ? -EINVAL : 1;
        case 'q':
                a->bars.quiet = true;
                return 1;
        case 'D':
                a->flags |= IMG_STORE_NO_DEVICES;
                return 1;
        default:
                return 0;
        }
}

static int cmd_import(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },
                { "platform", required_argument, NULL, 'p' },
                { "format", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-devices", no_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_free_ char *digest = NULL;
        FetchArgs a = { .bars.tty = isatty(STDERR_FILENO) };
        char *msg = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "hq", opts, NULL)) >= 0) {
                r = parse_fetch_option(c, &a);
                if (r < 0)
                        return 2;
                if (r == 0)
                        return usage(&commands[0], import_options, c != 'h');
        }
        if (optind + 1 != argc)
                return usage(&commands[0], import_options, true);
        if (open_store(g, a.flags, &s) < 0)
                return 1;
        r = img_import(s, argv[optind],
                       &(ImgImportOptions){
                                       .name = a.name,
                                       .platform = a.platform,
                                       .progress = on_progress,
                                       .userdata = &a.bars,
                       },
                       &digest, &msg);
        if (r < 0)
                return fail(r, msg, "import failed"), 1;
        return report_imported(s, digest, a.json) < 0 ? 1 : 0;
}

static const char pull_options[] =
                "  --name NAME[:TAG]     name the image (default: the reference pulled)\n"
                "  --platform OS/ARCH    pick from a multi-platform index (default: linux/<this machine>)\n"
                "  --authfile FILE       credentials (auth.json / config.json format; default: $REGISTRY_AUTH_FILE,\n"
                "                        $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,\n"
                "                        ~/.docker/config.json)\n"
                "  --ca-file FILE        trust these CA certificates (PEM) too\n"
                "  --tls-verify=false    do not verify the registry's TLS certificate\n"
                "  --plain-http          use HTTP instead of HTTPS\n"
                "  --retries N           attempts per request on transient errors (default 4)\n"
                "  --format json|table   output format\n"
                "  -q, --quiet           no progress\n"
                "  --no-devices          refuse device nodes in layers even as root\n"
                "  -h, --help            show this help\n";

static int cmd_pull(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "name", required_argument, NULL, 'n' },
                { "platform", required_argument, NULL, 'p' },
                { "authfile", required_argument, NULL, 'a' },
                { "ca-file", required_argument, NULL, 'c' },
                { "tls-verify", required_argument, NULL, 't' },
                { "plain-http", no_argument, NULL, 'H' },
                { "retries", required_argument, NULL, 'R' },
                { "format", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                { "no-devices", no_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_free_ char *digest = NULL;
        FetchArgs a = { .bars.tty = isatty(STDERR_FILENO) };
        ImgPullOptions o = { .progress = on_progress, .userdata = &a.bars };
        char *msg = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "hq", opts, NULL)) >= 0) {
                r = parse_fetch_option(c, &a);
                if (r < 0)
                        return 2;
                if (r > 0)
                        continue;
                switch (c) {
                case 'a':
                        o.auth_file = optarg;
                        break;
                case 'c':
                        o.ca_file = optarg;
                        break;
                case 't':
                        if (!streq(optarg, "true") && !streq(optarg, "false"))
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL),
                                                       "--tls-verify takes true or false"),
                                       2;
                        o.insecure = streq(optarg, "false");
                        break;
                case 'H':
                        o.plain_http = true;
                        break;
                case 'R':
                        if (safe_atou(optarg, &o.retries) < 0 || o.retries == 0 || o.retries > 100)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --retries '%s'",
                                                       optarg),
                                       2;
                        break;
                case 'h':
                        return usage(&commands[1], pull_options, false);
                default:
                        return usage(&commands[1], pull_options, true);
                }
        }
        if (optind + 1 != argc)
                return usage(&commands[1], pull_options, true);
        if (open_store(g, a.flags, &s) < 0)
                return 1;
        o.name = a.name;
        o.platform = a.platform;
        r = img_pull(s, argv[optind], &o, &digest, &msg);
        if (r < 0)
                return fail(r, msg, "pull failed"), 1;
        return report_imported(s, digest, a.json) < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- listing */

static const char format_only_options[] = "  --format json|table   output format\n"
                                          "  -h, --help            show this help\n";

/* Parse just --format and --help; returns >0 to exit with that status-1. */
static int parse_simple(int argc, char **argv, const ImageCmd *cmd, bool *json) {
        static const struct option opts[] = {
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'f':
                        if (cli_parse_format(optarg, json) < 0)
                                return 3;
                        break;
                case 'h':
                        return usage(cmd, format_only_options, false) + 1;
                default:
                        return usage(cmd, format_only_options, true) + 1;
                }
        return 0;
}

static void split_name(const char *name, char *repo, size_t rn, char *tag, size_t tn) {
        const char *slash = strrchr(name, '/'), *colon = strrchr(slash ? slash : name, ':');
        if (colon) {
                snprintf(repo, rn, "%.*s", (int) (colon - name), name);
                snprintf(tag, tn, "%s", colon + 1);
        } else {
                snprintf(repo, rn, "%s", name);
                snprintf(tag, tn, "%s", "-");
        }
}

static int cmd_ls(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        ImgInfo **l = NULL;
        bool json = false;
        size_t n = 0;
        char *msg = NULL;
        int r;

        r = parse_simple(argc, argv, &commands[2], &json);
        if (r > 0)
                return r - 1;
        if (optind != argc)
                return usage(&commands[2], format_only_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_list(s, &l, &n, &msg);
        if (r < 0)
                return fail(r, msg, NULL), 1;
        if (json) {
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
                for (size_t i = 0; i < n; i++)
                        jw_info(w, l[i], false);
                jw_array_close(w);
                cli_print_json(w);
        } else {
                printf("%-40s %-16s %-12s %-10s %-10s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
                       "SIZE", "SQUASHFS");
                for (size_t i = 0; i < n; i++) {
                        char repo[256], tag[130], size[32], sq[32], created[11];
                        snprintf(created, sizeof(created), "%s", l[i]->created ?: "-");
                        cli_format_bytes(size, sizeof(size), l[i]->size);
                        cli_format_bytes(sq, sizeof(sq), l[i]->squashfs_size);
                        if (!l[i]->names[0])
                                printf("%-40s %-16s %-12s %-10s %-10s %s\n", "<none>", "<none>",
                                       short_id(l[i]->digest), created, size, sq);
                        STRV_FOREACH(nm, l[i]->names) {
                                split_name(*nm, repo, sizeof(repo), tag, sizeof(tag));
                                printf("%-40s %-16s %-12s %-10s %-10s %s\n", repo, tag,
                                       short_id(l[i]->digest), created, size, sq);
                        }
                }
        }
        img_info_free_many(l, n);
        return 0;
}

static const char inspect_options[] = "  --config              print the image config instead of the record\n"
                                      "  -h, --help            show this help\n";

static int cmd_inspect(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "config", no_argument, NULL, 'c' },
                { "format", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_(img_info_freep) ImgInfo *info = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        _cleanup_free_ char *cfg = NULL;
        bool json = true;
        bool config = false;
        size_t len;
        char *msg = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config = true;
                        break;
                case 'f':
                        if (cli_parse_format(optarg, &json) < 0)
                                return 2;
                        break;
                case 'h':
                        return usage(&commands[3], inspect_options, false);
                default:
                        return usage(&commands[3], inspect_options, true);
                }
        if (optind + 1 != argc)
                return usage(&commands[3], inspect_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        if (config) {
                r = img_config_json(s, argv[optind], &cfg, &len, &msg);
                if (r < 0)
                        return fail(r, msg, NULL), 1;
                printf("%s\n", cfg);
                return 0;
        }
        r = img_inspect(s, argv[optind], &info, &msg);
        if (r < 0)
                return fail(r, msg, NULL), 1;
        if (json_writer_new(true, &w) < 0)
                return 1;
        jw_info(w, info, true);
        cli_print_json(w);
        return 0;
}

static int cmd_rm(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        bool json = false;
        int r, ret = 0;

        r = parse_simple(argc, argv, &commands[4], &json);
        if (r > 0)
                return r - 1;
        if (optind >= argc)
                return usage(&commands[4], format_only_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        if (json) {
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_array_open(w);
        }
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *digest = NULL;
                char *msg = NULL;
                r = img_remove(s, argv[i], &digest, &msg);
                if (r < 0) {
                        fail(r, msg, argv[i]);
                        ret = 1;
                        continue;
                }
                if (w) {
                        jw_object_open(w);
                        jw_key(w, "ref");
                        jw_string(w, argv[i]);
                        jw_key(w, "digest");
                        jw_string(w, digest);
                        jw_object_close(w);
                } else
                        printf("Removed %s (%s)\n", argv[i], short_id(digest));
        }
        if (w) {
                jw_array_close(w);
                cli_print_json(w);
        }
        return ret;
}

static int cmd_gc(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        bool json = false;
        ImgGcStats st;
        char *msg = NULL, freed[32];
        int r;

        r = parse_simple(argc, argv, &commands[5], &json);
        if (r > 0)
                return r - 1;
        if (optind != argc)
                return usage(&commands[5], format_only_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_gc(s, &st, &msg);
        if (r < 0)
                return fail(r, msg, NULL), 1;
        if (json) {
                if (json_writer_new(true, &w) < 0)
                        return 1;
                jw_object_open(w);
                jw_key(w, "blobsRemoved");
                jw_uint(w, st.blobs_removed);
                jw_key(w, "layersRemoved");
                jw_uint(w, st.layers_removed);
                jw_key(w, "tmpRemoved");
                jw_uint(w, st.tmp_removed);
                jw_key(w, "layersUnmounted");
                jw_uint(w, st.layers_unmounted);
                jw_key(w, "bytesFreed");
                jw_uint(w, st.bytes_freed);
                jw_object_close(w);
                cli_print_json(w);
        } else
                printf("Removed %" PRIu64 " blobs, %" PRIu64 " layers and %" PRIu64 " leftovers; freed %s\n",
                       st.blobs_removed, st.layers_removed, st.tmp_removed,
                       cli_format_bytes(freed, sizeof(freed), st.bytes_freed));
        return 0;
}

static int cmd_tag(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        bool json = false;
        char *msg = NULL;
        int r;

        r = parse_simple(argc, argv, &commands[6], &json);
        if (r > 0)
                return r - 1;
        if (optind + 2 != argc)
                return usage(&commands[6], format_only_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_tag(s, argv[optind], argv[optind + 1], &msg);
        if (r < 0)
                return fail(r, msg, NULL), 1;
        return 0;
}

/* ---------------------------------------------------------------- mounting */

static const char mount_options[] =
                "  --backend B           kernel (loop + squashfs) or squashfuse (default: kernel when\n"
                "                        root, squashfuse in a user namespace)\n"
                "  -h, --help            show this help\n";

static int parse_backend(const char *s, ImgMountBackend *ret) {
        ImgMountBackend b = img_mount_backend_from_string(s);
        if (b < 0)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "unknown backend '%s' (kernel, squashfuse)", s);
        *ret = b;
        return 0;
}

static int cmd_mount(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "backend", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_free_ char *rootfs = NULL;
        ImgMountBackend backend = IMG_MOUNT_AUTO;
        char *msg = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 'b':
                        if (parse_backend(optarg, &backend) < 0)
                                return 2;
                        break;
                case 'h':
                        return usage(&commands[7], mount_options, false);
                default:
                        return usage(&commands[7], mount_options, true);
                }
        if (optind + 2 != argc)
                return usage(&commands[7], mount_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_instance_root_create(s, argv[optind], argv[optind + 1], backend, &rootfs, &msg);
        if (r < 0)
                return fail(r, msg, "mount failed"), 1;
        printf("%s\n", rootfs);
        return 0;
}

static int cmd_unmount(int argc, char **argv, const CliGlobal *g) {
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        bool json = false;
        char *msg = NULL;
        int r;

        r = parse_simple(argc, argv, &commands[8], &json);
        if (r > 0)
                return r - 1;
        if (optind + 1 != argc)
                return usage(&commands[8], format_only_options, true);
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_instance_root_destroy(s, argv[optind], &msg);
        if (r < 0)
                return fail(r, msg, "unmount failed"), 1;
        return 0;
}

static const char bundle_options[] =
                "  --backend B           as for 'mount'\n"
                "  --entrypoint CMD      replace the image's Entrypoint (and drop its Cmd)\n"
                "  -e, --env KEY=VALUE   set an environment variable (repeatable)\n"
                "  -u, --user USER[:GROUP]  run as this user (names resolved in the image)\n"
                "  -w, --workdir DIR     working directory\n"
                "  --hostname NAME       hostname\n"
                "  -t, --tty             allocate a terminal\n"
                "  --rootless            start from the rootless default spec\n"
                "  -m, --memory SIZE     memory limit (e.g. 512M)\n"
                "  --pids N              process limit\n"
                "  --cpus N.N            CPU limit in CPUs (quota over a 100 ms period)\n"
                "  -h, --help            show this help\n"
                "Arguments after the image and directory replace the image's Cmd.\n";

static int cmd_bundle(int argc, char **argv, const CliGlobal *g) {
        static const struct option opts[] = {
                { "backend", required_argument, NULL, 'b' },
                { "entrypoint", required_argument, NULL, 'E' },
                { "env", required_argument, NULL, 'e' },
                { "user", required_argument, NULL, 'u' },
                { "workdir", required_argument, NULL, 'w' },
                { "hostname", required_argument, NULL, 'H' },
                { "tty", no_argument, NULL, 't' },
                { "rootless", no_argument, NULL, 'R' },
                { "memory", required_argument, NULL, 'm' },
                { "pids", required_argument, NULL, 'P' },
                { "cpus", required_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_free_ char *rootfs = NULL;
        _cleanup_strv_free_ char **env = NULL, **args = NULL, **entry = NULL;
        ImgMountBackend backend = IMG_MOUNT_AUTO;
        ImgBundleOptions o = {};
        uint64_t u;
        char *msg = NULL, *end;
        double cpus;
        int c, r;

        /* Options may come anywhere before "--"; what follows it is the command, untouched. */
        while ((c = getopt_long(argc, argv, "he:u:w:tm:", opts, NULL)) >= 0)
                switch (c) {
                case 'b':
                        if (parse_backend(optarg, &backend) < 0)
                                return 2;
                        break;
                case 'E':
                        strv_free(entry);
                        entry = NULL;
                        if (strv_extend(&entry, optarg) < 0)
                                return 1;
                        break;
                case 'e':
                        if (!strchr(optarg, '='))
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--env wants KEY=VALUE"), 2;
                        if (strv_extend(&env, optarg) < 0)
                                return 1;
                        break;
                case 'u':
                        o.user = optarg;
                        break;
                case 'w':
                        o.cwd = optarg;
                        break;
                case 'H':
                        o.hostname = optarg;
                        break;
                case 't':
                        o.terminal = true;
                        break;
                case 'R':
                        o.rootless = true;
                        break;
                case 'm':
                        if (parse_size(optarg, &u) < 0 || u == 0 || u > INT64_MAX)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --memory '%s'",
                                                       optarg),
                                       2;
                        o.memory_limit = (int64_t) u;
                        break;
                case 'P':
                        if (safe_atou64(optarg, &u) < 0 || u == 0 || u > INT64_MAX)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --pids '%s'", optarg),
                                       2;
                        o.pids_limit = (int64_t) u;
                        break;
                case 'C':
                        cpus = strtod(optarg, &end);
                        if (*end || !(cpus > 0) || cpus > 4096)
                                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "invalid --cpus '%s'", optarg),
                                       2;
                        o.cpu_period = 100000;
                        o.cpu_quota = (uint64_t) (cpus * 100000);
                        break;
                case 'h':
                        return usage(&commands[9], bundle_options, false);
                default:
                        return usage(&commands[9], bundle_options, true);
                }
        if (optind + 2 > argc)
                return usage(&commands[9], bundle_options, true);
        for (int i = optind + 2; i < argc; i++)
                if (strv_extend(&args, argv[i]) < 0)
                        return 1;
        o.args = args;
        o.entrypoint = entry;
        o.env = env;
        if (open_store(g, 0, &s) < 0)
                return 1;
        r = img_instance_root_create(s, argv[optind], argv[optind + 1], backend, &rootfs, &msg);
        if (r < 0)
                return fail(r, msg, "mount failed"), 1;
        r = img_bundle_generate(s, argv[optind], rootfs, &o, argv[optind + 1], &msg);
        if (r < 0) {
                char *ignored = NULL;
                fail(r, msg, "bundle failed");
                (void) img_instance_root_destroy(s, argv[optind + 1], &ignored);
                free(ignored);
                return 1;
        }
        printf("%s\n", argv[optind + 1]);
        return 0;
}

/* ------------------------------------------------------------------ entry */

static void image_help(FILE *f) {
        fprintf(f, "Usage: aula image COMMAND [OPTIONS]\n\nCommands:\n");
        FOREACH_ARRAY(c, commands, ELEMENTSOF(commands))
                fprintf(f, "  %-8s %s\n", c->name, c->usage);
        fprintf(f, "\nRun 'aula image COMMAND --help' for details.\n");
}

int cli_image_main(int argc, char **argv, const CliGlobal *g) {
        if (argc < 2) {
                image_help(stderr);
                return 2;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                image_help(stdout);
                return 0;
        }
        FOREACH_ARRAY(c, commands, ELEMENTSOF(commands))
                if (streq(c->name, argv[1]) || (streq(argv[1], "list") && streq(c->name, "ls"))) {
                        optind = 0;
                        return c->run(argc - 1, argv + 1, g);
                }
        log_error("unknown image command '%s'; see 'aula image --help'", argv[1]);
        return 2;
}
