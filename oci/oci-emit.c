/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The emit walker: writes any type described by an OciType back as JSON.
 * Fields are written when present (non-NULL, set, non-zero), or always when
 * flagged OCI_F_REQUIRED or OCI_F_ALWAYS, so that parse -> emit -> parse
 * gives back equal structures.
 */
#include "oci-internal.h"

#define CAT(p, off, T) ((const T *) (const void *) ((const char *) (p) + (off)))

static void emit_value(JsonWriter *w, const OciField *f, const void *base);

static bool type_present(const OciType *t, const void *p);

static bool field_present(const OciField *f, const void *base) {
        const void *p = CAT(base, f->offset, char);

        switch (f->kind) {
        case OCI_K_BOOL:
                return *(const bool *) p;
        case OCI_K_OPT_BOOL:
                return ((const OciOptBool *) p)->set;
        case OCI_K_OPT_I64:
        case OCI_K_OPT_U64:
                return ((const OciOptU64 *) p)->set;
        case OCI_K_I32:
        case OCI_K_U32:
        case OCI_K_FLAGS:
                return *(const uint32_t *) p != 0;
        case OCI_K_I64:
                return *(const int64_t *) p != ((f->flags & OCI_F_MINUS1) ? -1 : 0);
        case OCI_K_U64:
                return *(const uint64_t *) p != 0;
        case OCI_K_ENUM:
                return true;
        case OCI_K_CHAR:
                return *(const char *) p != 0;
        case OCI_K_OBJECT:
                return type_present(f->type, p);
        case OCI_K_CUSTOM:
                return f->custom->present(p);
        default: /* every pointer kind */
                return *(const void *const *) p != NULL;
        }
}

static bool type_present(const OciType *t, const void *p) {
        if (t->has_set)
                return *CAT(p, t->set_offset, bool);
        for (size_t i = 0; i < t->n_fields; i++)
                if (field_present(&t->fields[i], p))
                        return true;
        return false;
}

static void emit_elements(JsonWriter *w, const OciField *f, const void *base) {
        const OciType *t = f->type;
        const char *a = *CAT(base, f->offset, char *);
        size_t n = *CAT(base, f->count_offset, size_t);

        if (f->kind == OCI_K_MAP)
                jw_object_open(w);
        else
                jw_array_open(w);
        for (size_t i = 0; a && i < n; i++) {
                if (f->kind == OCI_K_U32_ARRAY)
                        jw_uint(w, ((const uint32_t *) (const void *) a)[i]);
                else if (f->kind == OCI_K_ARRAY)
                        oci_emit_object(w, t, a + i * t->size);
                else {
                        jw_key(w, *CAT(a + i * t->size, t->key_offset, char *));
                        emit_value(w, t->value, a + i * t->size);
                }
        }
        if (f->kind == OCI_K_MAP)
                jw_object_close(w);
        else
                jw_array_close(w);
}

static void emit_names(JsonWriter *w, const OciField *f, uint32_t mask) {
        jw_array_open(w);
        for (unsigned i = 0; i < 32; i++)
                if ((mask & (UINT32_C(1) << i)) && oci_names_get(f->names, (int) i))
                        jw_string(w, oci_names_get(f->names, (int) i));
        jw_array_close(w);
}

static void emit_value(JsonWriter *w, const OciField *f, const void *base) {
        const void *p = CAT(base, f->offset, char);

        switch (f->kind) {
        case OCI_K_STRING:
                jw_string(w, *(char *const *) p);
                break;
        case OCI_K_BOOL:
                jw_bool(w, *(const bool *) p);
                break;
        case OCI_K_OPT_BOOL:
                jw_bool(w, ((const OciOptBool *) p)->v);
                break;
        case OCI_K_I32:
                jw_int(w, *(const int32_t *) p);
                break;
        case OCI_K_I64:
                jw_int(w, *(const int64_t *) p);
                break;
        case OCI_K_U32:
                jw_uint(w, *(const uint32_t *) p);
                break;
        case OCI_K_U64:
                jw_uint(w, *(const uint64_t *) p);
                break;
        case OCI_K_OPT_I64:
                jw_int(w, ((const OciOptI64 *) p)->v);
                break;
        case OCI_K_OPT_U64:
                jw_uint(w, ((const OciOptU64 *) p)->v);
                break;
        case OCI_K_STRV:
                jw_strv(w, *(char *const *const *) p);
                break;
        case OCI_K_KEYSET:
                jw_object_open(w);
                STRV_FOREACH(k, *(char **const *) p) {
                        jw_key(w, *k);
                        jw_object_open(w);
                        jw_object_close(w);
                }
                jw_object_close(w);
                break;
        case OCI_K_ENUM:
                jw_string(w, oci_names_get(f->names, *(const int *) p));
                break;
        case OCI_K_FLAGS:
                emit_names(w, f, *(const uint32_t *) p);
                break;
        case OCI_K_CHAR: {
                char s[2] = { *(const char *) p, 0 };
                jw_string(w, s);
                break;
        }
        case OCI_K_OBJECT:
                oci_emit_object(w, f->type, p);
                break;
        case OCI_K_PTR:
                if (*(const void *const *) p)
                        oci_emit_object(w, f->type, *(const void *const *) p);
                else
                        jw_null(w);
                break;
        case OCI_K_U32_ARRAY:
        case OCI_K_ARRAY:
        case OCI_K_MAP:
                emit_elements(w, f, base);
                break;
        case OCI_K_CUSTOM:
                f->custom->emit(w, p);
                break;
        }
}

void oci_emit_object(JsonWriter *w, const OciType *t, const void *p) {
        jw_object_open(w);
        for (size_t i = 0; i < t->n_fields; i++) {
                const OciField *f = &t->fields[i];
                if (!(f->flags & (OCI_F_REQUIRED | OCI_F_ALWAYS)) && !field_present(f, p))
                        continue;
                jw_key(w, f->key);
                emit_value(w, f, p);
        }
        jw_object_close(w);
}

int oci_emit_document(const OciType *t, const void *p, bool pretty, char **ret) {
        _cleanup_(json_writer_freep) JsonWriter *w = NULL;
        int r;

        if (!p || !ret)
                return -EINVAL;
        r = json_writer_new(pretty, &w);
        if (r < 0)
                return r;
        oci_emit_object(w, t, p);
        return json_writer_finish(w, ret, NULL);
}
