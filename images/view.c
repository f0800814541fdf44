/* SPDX-License-Identifier: Apache-2.0 */

/*
 * The directories and symlinks of the layers below the one being converted,
 * merged as applying them would (whiteouts and opaque directories remove
 * what is under them). Converting a layer asks it two things about a parent
 * the layer does not list itself:
 *   - is it a symlink below? Then the entry would be written through it:
 *     refused;
 *   - is it a directory below? Then the implicit directory takes its mode,
 *     owner and time, or the overlay would show default attributes over the
 *     real ones (a /tmp losing its sticky bit).
 * Regular files are not tracked: they are never parents.
 */

#include "images-internal.h"

typedef struct ViewNode ViewNode;
struct ViewNode {
        char *name;
        ViewNode *parent;
        ViewNode *head, *next, *prev;
        ViewNode *hash_next;
        ImgViewKind kind;
        ImgDirAttr attr;
};

struct ImgView {
        ViewNode root;
        ViewNode **buckets;
        size_t n_buckets, n_nodes;
};

static uint64_t vhash(const ViewNode *parent, const char *name) {
        uint64_t h = 1469598103934665603ull ^ (uint64_t) (uintptr_t) parent;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = (h ^ *p) * 1099511628211ull;
        return h ^ (h >> 31);
}

int img_view_new(ImgView **ret) {
        ImgView *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->root.kind = IMG_VIEW_DIR;
        v->n_buckets = 256;
        v->buckets = calloc(v->n_buckets, sizeof(*v->buckets));
        if (!v->buckets) {
                free(v);
                return -ENOMEM;
        }
        *ret = v;
        return 0;
}

static void node_remove(ImgView *v, ViewNode *n);

static void children_free(ImgView *v, ViewNode *n) {
        while (n->head)
                node_remove(v, n->head);
}

static void node_remove(ImgView *v, ViewNode *n) {
        ViewNode **p = &v->buckets[vhash(n->parent, n->name) & (v->n_buckets - 1)];

        children_free(v, n);
        for (; *p; p = &(*p)->hash_next)
                if (*p == n) {
                        *p = n->hash_next;
                        break;
                }
        if (n->prev)
                n->prev->next = n->next;
        else
                n->parent->head = n->next;
        if (n->next)
                n->next->prev = n->prev;
        free(n->name);
        free(n);
        v->n_nodes--;
}

ImgView *img_view_free(ImgView *v) {
        if (!v)
                return NULL;
        children_free(v, &v->root);
        free(v->buckets);
        free(v);
        return NULL;
}

static ViewNode *child(const ImgView *v, const ViewNode *dir, const char *name) {
        for (ViewNode *x = v->buckets[vhash(dir, name) & (v->n_buckets - 1)]; x; x = x->hash_next)
                if (x->parent == dir && streq(x->name, name))
                        return x;
        return NULL;
}

static int grow(ImgView *v) {
        size_t n = v->n_buckets * 2;
        ViewNode **b = calloc(n, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < v->n_buckets; i++)
                for (ViewNode *x = v->buckets[i], *next; x; x = next) {
                        size_t k = vhash(x->parent, x->name) & (n - 1);
                        next = x->hash_next;
                        x->hash_next = b[k];
                        b[k] = x;
                }
        free(v->buckets);
        v->buckets = b;
        v->n_buckets = n;
        return 0;
}

static int add_child(ImgView *v, ViewNode *dir, const char *name, ViewNode **ret) {
        ViewNode *n;
        size_t k;

        if (v->n_nodes + 1 > v->n_buckets && grow(v) < 0)
                return -ENOMEM;
        n = calloc(1, sizeof(*n));
        if (!n || !(n->name = strdup(name))) {
                free(n);
                return -ENOMEM;
        }
        n->parent = dir;
        n->kind = IMG_VIEW_DIR;
        n->next = dir->head;
        if (dir->head)
                dir->head->prev = n;
        dir->head = n;
        k = vhash(dir, name) & (v->n_buckets - 1);
        n->hash_next = v->buckets[k];
        v->buckets[k] = n;
        v->n_nodes++;
        *ret = n;
        return 0;
}

ImgViewKind img_view_lookup(const ImgView *v, char *const *comps, size_t n, ImgDirAttr *ret_attr) {
        const ViewNode *cur = &v->root;

        for (size_t i = 0; i < n; i++) {
                if (cur->kind != IMG_VIEW_DIR)
                        return IMG_VIEW_NONE;
                cur = child(v, cur, comps[i]);
                if (!cur)
                        return IMG_VIEW_NONE;
        }
        if (ret_attr)
                *ret_attr = cur->attr;
        return cur->kind;
}

/* The node for a path, creating missing parents as directories with default attributes. */
static int walk_create(ImgView *v, const char *path, ViewNode **ret) {
        _cleanup_strv_free_ char **comps = NULL;
        ViewNode *cur = &v->root;
        int n, r;

        n = img_path_split(path, SIZE_MAX, &comps, NULL);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++) {
                ViewNode *c = child(v, cur, comps[i]);
                if (!c) {
                        r = add_child(v, cur, comps[i], &c);
                        if (r < 0)
                                return r;
                        c->attr = (ImgDirAttr){ .mode = S_IFDIR | 0755 };
                } else if (c->kind != IMG_VIEW_DIR && i + 1 < n) {
                        children_free(v, c);
                        c->kind = IMG_VIEW_DIR;
                        c->attr = (ImgDirAttr){ .mode = S_IFDIR | 0755 };
                }
                cur = c;
        }
        *ret = cur;
        return 0;
}

static ViewNode *walk(ImgView *v, const char *path) {
        _cleanup_strv_free_ char **comps = NULL;
        ViewNode *cur = &v->root;
        int n = img_path_split(path, SIZE_MAX, &comps, NULL);

        if (n < 0)
                return NULL;
        for (int i = 0; i < n && cur; i++)
                cur = cur->kind == IMG_VIEW_DIR ? child(v, cur, comps[i]) : NULL;
        return cur;
}

int img_view_apply(ImgView *v, const ImgLayerSummary *l) {
        ViewNode *n;
        int r;

        /* Deletions reach only lower layers, so they go first (layer.md "Whiteouts"). */
        STRV_FOREACH(p, l->whiteouts)
                if ((n = walk(v, *p)) && n != &v->root)
                        node_remove(v, n);
        STRV_FOREACH(p, l->opaque_dirs)
                if ((n = walk(v, *p)))
                        children_free(v, n);
        for (size_t i = 0; i < l->n_dirs; i++) {
                r = walk_create(v, l->dirs[i].path, &n);
                if (r < 0)
                        return r;
                if (n == &v->root)
                        continue;
                if (n->kind != IMG_VIEW_DIR)
                        children_free(v, n);
                n->kind = IMG_VIEW_DIR;
                n->attr = l->dirs[i];
                n->attr.path = NULL;
        }
        STRV_FOREACH(p, l->symlinks) {
                r = walk_create(v, *p, &n);
                if (r < 0)
                        return r;
                if (n == &v->root)
                        continue;
                children_free(v, n);
                n->kind = IMG_VIEW_SYMLINK;
        }
        return 0;
}

void img_layer_summary_done(ImgLayerSummary *l) {
        for (size_t i = 0; i < l->n_dirs; i++)
                free(l->dirs[i].path);
        free(l->dirs);
        strv_free(l->symlinks);
        strv_free(l->whiteouts);
        strv_free(l->opaque_dirs);
        *l = (ImgLayerSummary){};
}
