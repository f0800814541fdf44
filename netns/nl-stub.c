/* SPDX-License-Identifier: Apache-2.0 */
#include "netns-internal.h"

/* Built without libmnl or libnftables: the pure parts work, anything touching the kernel says so. */

#define NO_SUPPORT(error_msg) \
        error_msg_set(error_msg, -EOPNOTSUPP, "aula was built without lab networking (libmnl, libnftables)")

int nl_open(int netns_fd, NlSock **ret) {
        return -EOPNOTSUPP;
}
NlSock *nl_close(NlSock *s) {
        return NULL;
}
int nl_decode_error(const void *buf, size_t len, int *ret_error, char **ret_msg) {
        return -EOPNOTSUPP;
}
int nl_call(NlSock *s, struct nlmsghdr *nlh, NlDataCb cb, void *userdata, const char *what, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
void *nl_buf(NlSock *s) {
        return NULL;
}
int nl_link_index(NlSock *s, const char *name, int *ret_ifindex) {
        return -EOPNOTSUPP;
}
int nl_bridge_create(NlSock *s, const char *name, const uint8_t mac[static 6], unsigned mtu, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_veth_create(
                NlSock *s,
                const char *name,
                int master,
                unsigned mtu,
                const char *peer,
                int peer_netns_fd,
                const uint8_t peer_mac[static 6],
                char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_link_set(NlSock *s, int ifindex, int master, unsigned mtu, bool up, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_link_delete(NlSock *s, const char *name, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_brport_isolate(NlSock *s, int ifindex, bool isolated, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_addr_add(NlSock *s, int ifindex, const NAddr *a, unsigned prefixlen, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_route_add_default(NlSock *s, int ifindex, const NAddr *gw, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int nl_addr_networks(NlSock *s, int family, NCidr **ret, size_t *ret_n) {
        return -EOPNOTSUPP;
}
int nl_link_names(NlSock *s, char ***ret) {
        return -EOPNOTSUPP;
}
int tap_create(const char *name, int *ret_fd, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
int fw_apply(const char *script, char **error_msg) {
        return NO_SUPPORT(error_msg);
}
