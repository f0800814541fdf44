/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "netns-internal.h"

/*
 * Taps cannot be created over rtnetlink (the tun driver refuses), so this is
 * the one place that uses /dev/net/tun. The tap is made persistent so that it
 * outlives this fd and a VMM can attach to it by name; IFF_TUN_EXCL makes an
 * existing device of that name an error instead of attaching to it.
 */
int tap_create(const char *name, int *ret_fd, char **error_msg) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};
        int r;

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (error_msg)
                        (void) xasprintf(error_msg, "open /dev/net/tun: %s", strerror(-r));
                return r;
        }
        memcpy(ifr.ifr_name, name, strlen(name) + 1);
        ifr.ifr_flags = (short) (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
                r = -errno;
                if (error_msg)
                        (void) xasprintf(error_msg, "create tap '%s': %s", name, strerror(-r));
                return r;
        }
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}
