/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host side of the aula-init protocol (docs/microvm.md): frames of
 * { u8 type; u8 pad[3]; u32 len; data } over the vsock-backed unix socket.
 */
#include "microvm-internal.h"

static int put_record(Buf *b, const char *key, const char *value) {
        if (strchr(key, '=') || (value && memchr(value, 0, strlen(value)) != NULL))
                return -EINVAL;
        buf_put(b, key, strlen(key));
        buf_put(b, "=", 1);
        buf_put(b, value ?: "", strlen(value ?: "") + 1);
        return 0;
}

int vm_agent_encode_spec(const VmProcessSpec *spec, char **ret, size_t *ret_len) {
        _cleanup_(buf_done) Buf b = {};
        char num[16];
        int r = 0;

        if (!spec || !spec->argv || !spec->argv[0])
                return -EINVAL;
        STRV_FOREACH(a, spec->argv)
                r = r < 0 ? r : put_record(&b, "arg", *a);
        STRV_FOREACH(e, spec->env) {
                if (!strchr(*e, '='))
                        return -EINVAL;
                r = r < 0 ? r : put_record(&b, "env", *e);
        }
        if (spec->cwd)
                r = r < 0 ? r : put_record(&b, "cwd", spec->cwd);
        snprintf(num, sizeof(num), "%u", spec->uid);
        r = r < 0 ? r : put_record(&b, "uid", num);
        snprintf(num, sizeof(num), "%u", spec->gid);
        r = r < 0 ? r : put_record(&b, "gid", num);
        if (spec->hostname)
                r = r < 0 ? r : put_record(&b, "hostname", spec->hostname);
        if (r < 0)
                return r;
        if (b.oom)
                return -ENOMEM;
        if (b.len > VM_AGENT_MAX_FRAME)
                return -E2BIG;
        *ret_len = b.len;
        *ret = (char *) TAKE_PTR(b.data);
        return 0;
}

int vm_agent_write_frame(int fd, uint8_t type, const void *data, size_t len) {
        uint8_t hdr[8] = { type };
        uint32_t l = (uint32_t) len;
        int r;

        if (len > VM_AGENT_MAX_FRAME)
                return -E2BIG;
        memcpy(hdr + 4, &l, 4);
        r = loop_write(fd, hdr, sizeof(hdr));
        if (r < 0 || len == 0)
                return r;
        return loop_write(fd, data, len);
}

int vm_agent_read_frame(int fd, uint8_t *ret_type, char **ret_data, size_t *ret_len) {
        _cleanup_free_ char *data = NULL;
        uint8_t hdr[8];
        uint32_t len;
        ssize_t n;

        n = loop_read(fd, hdr, sizeof(hdr));
        if (n < 0)
                return (int) n;
        if (n == 0)
                return -ECONNRESET;
        if (n != sizeof(hdr))
                return -EPROTO;
        memcpy(&len, hdr + 4, 4);
        if (len > VM_AGENT_MAX_FRAME)
                return -EPROTO;
        data = malloc((size_t) len + 1);
        if (!data)
                return -ENOMEM;
        n = loop_read(fd, data, len);
        if (n < 0)
                return (int) n;
        if ((size_t) n != len)
                return -EPROTO;
        data[len] = 0;
        *ret_type = hdr[0];
        *ret_len = len;
        *ret_data = TAKE_PTR(data);
        return 0;
}
