/* SPDX-License-Identifier: Apache-2.0 */
#include <nftables/libnftables.h>

#include "netns-internal.h"

static void nft_ctx_freep(struct nft_ctx **ctx) {
        if (*ctx)
                nft_ctx_free(*ctx);
}

/* Run an nft script as one transaction in the current network namespace; the first error line becomes the message. */
int fw_apply(const char *script, char **error_msg) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        const char *err;

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;
        if (nft_run_cmd_from_buffer(ctx, script) == 0)
                return 0;
        err = nft_ctx_get_error_buffer(ctx);
        if (error_msg) {
                size_t n = err ? strcspn(err, "\n") : 0;
                free(*error_msg);
                *error_msg = NULL;
                (void) xasprintf(error_msg, "nftables: %.*s", (int) n, n ? err : "ruleset rejected");
        }
        /* libnftables reports no errno; most failures are the kernel refusing (missing nf_tables support, EPERM). */
        return err && strstr(err, "Operation not permitted") ? -EPERM : -EIO;
}
