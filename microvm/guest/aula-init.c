/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aula-init: PID 1 of an aula microVM's initramfs. Static, no dependency on
 * anything else in the initramfs.
 *
 * Phases (as PID 1):
 *   1. mount /proc, /sys, /dev (devtmpfs), /run
 *   2. load the modules listed in /lib/modules/aula.list (virtio, vsock,
 *      overlay...) when the kernel has them as modules
 *   3. mount the image's root disk (aula.root=, read-only) and the scratch disk
 *      (aula.scratch=) as the overlay's upper layer, and switch into it
 *   4. hostname (aula.hostname=), network (aula.ip=ADDR/PREFIX, aula.gw=)
 *   5. connect to the host over vsock (CID 2, aula.port=, default 1024), send
 *      HELLO, receive the process spec, run it, relay stdio and the exit
 *      status (protocol in docs/microvm.md and microvm/microvm.h)
 *   6. power off
 *
 * Run as any other PID with --agent-fd N, only phase 5 runs, on fd N: the
 * host-side tests use that to check the protocol without a VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/reboot.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#define AGENT_PORT 1024
#define AGENT_VERSION 1
#define MAX_FRAME (1U << 20)
#define HOST_CID 2

enum {
        F_HELLO = 'H',
        F_SPEC = 'S',
        F_STDIN = '0',
        F_STDOUT = '1',
        F_STDERR = '2',
        F_SIGNAL = 'K',
        F_EXIT = 'E',
        F_ERROR = 'X',
};

static char cmdline[4096];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        va_list ap;
        fputs("aula-init: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ------------------------------------------------------------ frames */

static int write_all(int fd, const void *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -errno;
                p = (const char *) p + k;
                n -= (size_t) k;
        }
        return 0;
}

static int read_all(int fd, void *p, size_t n) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = read(fd, (char *) p + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return done == 0 ? 0 : -EPROTO;
                done += (size_t) k;
        }
        return 1;
}

static int send_frame(int fd, uint8_t type, const void *data, uint32_t len) {
        uint8_t hdr[8] = { type };
        int r;
        memcpy(hdr + 4, &len, 4);
        r = write_all(fd, hdr, sizeof(hdr));
        return r < 0 || len == 0 ? r : write_all(fd, data, len);
}

/* Returns 1 with a malloc'd NUL-terminated payload, 0 at EOF, -errno on error. */
static int recv_frame(int fd, uint8_t *type, char **data, uint32_t *len) {
        uint8_t hdr[8];
        int r = read_all(fd, hdr, sizeof(hdr));
        if (r <= 0)
                return r;
        memcpy(len, hdr + 4, 4);
        if (*len > MAX_FRAME)
                return -EPROTO;
        *data = malloc(*len + 1);
        if (!*data)
                return -ENOMEM;
        if (*len > 0 && read_all(fd, *data, *len) != 1) {
                free(*data);
                return -EPROTO;
        }
        (*data)[*len] = 0;
        *type = hdr[0];
        return 1;
}

static void send_error(int fd, int err, const char *stage, const char *msg) {
        char buf[512];
        int32_t e = err;
        size_t sl = strlen(stage) + 1, ml = strnlen(msg, sizeof(buf) - 4 - sl - 1);

        memcpy(buf, &e, 4);
        memcpy(buf + 4, stage, sl);
        memcpy(buf + 4 + sl, msg, ml);
        buf[4 + sl + ml] = 0;
        (void) send_frame(fd, F_ERROR, buf, (uint32_t) (4 + sl + ml + 1));
}

/* ------------------------------------------------------------ the process */

typedef struct Spec {
        char **argv, **env;
        size_t n_argv, n_env;
        const char *cwd, *hostname;
        uid_t uid;
        gid_t gid;
} Spec;

static int push(char ***v, size_t *n, char *s) {
        char **p = realloc(*v, (*n + 2) * sizeof(char *));
        if (!p)
                return -ENOMEM;
        p[(*n)++] = s;
        p[*n] = NULL;
        *v = p;
        return 0;
}

/* "key=value\0" records; unknown keys are ignored for forward compatibility. */
static int parse_spec(char *data, uint32_t len, Spec *s) {
        memset(s, 0, sizeof(*s));
        for (char *p = data, *next; p < data + len; p = next) {
                char *v = strchr(p, '=');
                next = p + strlen(p) + 1;
                if (!v)
                        return -EINVAL;
                *v++ = 0;
                if (strcmp(p, "arg") == 0 && push(&s->argv, &s->n_argv, v) < 0)
                        return -ENOMEM;
                else if (strcmp(p, "env") == 0 && push(&s->env, &s->n_env, v) < 0)
                        return -ENOMEM;
                else if (strcmp(p, "cwd") == 0)
                        s->cwd = v;
                else if (strcmp(p, "uid") == 0)
                        s->uid = (uid_t) strtoul(v, NULL, 10);
                else if (strcmp(p, "gid") == 0)
                        s->gid = (gid_t) strtoul(v, NULL, 10);
                else if (strcmp(p, "hostname") == 0)
                        s->hostname = v;
        }
        if (s->n_argv == 0)
                return -EINVAL;
        if (!s->env &&
            push(&s->env, &s->n_env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return -ENOMEM;
        return 0;
}

static const char *env_get(char **env, const char *key) {
        size_t l = strlen(key);
        for (char **e = env; e && *e; e++)
                if (strncmp(*e, key, l) == 0 && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

/* In the child: set up and exec; failures go to errfd as (errno, stage). */
static void child_exec(const Spec *s, int in, int out, int err, int errfd) {
        const char *stage = "dup";
        const char *path = env_get(s->env, "PATH");
        int e;

        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                goto fail;
        stage = "setsid";
        (void) setsid();
        stage = "chdir";
        if (s->cwd && chdir(s->cwd) < 0)
                goto fail;
        stage = "setgid";
        if (setgroups(0, NULL) < 0 && errno != EPERM)
                goto fail;
        if (setgid(s->gid) < 0 && getgid() != s->gid)
                goto fail;
        stage = "setuid";
        if (setuid(s->uid) < 0 && getuid() != s->uid)
                goto fail;
        stage = "exec";
        if (strchr(s->argv[0], '/'))
                execve(s->argv[0], s->argv, s->env);
        else {
                char buf[4096];
                e = ENOENT;
                for (const char *p = path ?: "/usr/bin:/bin"; p && *p;) {
                        const char *c = strchr(p, ':');
                        size_t n = c ? (size_t) (c - p) : strlen(p);
                        if (snprintf(buf, sizeof(buf), "%.*s/%s", (int) n, p, s->argv[0]) < (int) sizeof(buf)) {
                                execve(buf, s->argv, s->env);
                                if (errno != ENOENT)
                                        e = errno;
                        }
                        p = c ? c + 1 : NULL;
                }
                errno = e;
        }
fail:
        e = errno;
        (void) !write(errfd, &e, sizeof(e));
        (void) !write(errfd, stage, strlen(stage) + 1);
        _exit(127);
}

/* Relay stdio between the host and the child until it exits; returns its status. */
static int relay(int fd, pid_t pid, int in, int out, int err) {
        int status = 0, open_out = 2;
        bool exited = false;

        while (!exited || open_out > 0) {
                struct pollfd p[3] = {
                        { .fd = out, .events = POLLIN },
                        { .fd = err, .events = POLLIN },
                        { .fd = fd, .events = POLLIN },
                };
                int n = poll(p, 3, exited ? 1000 : 100);

                if (!exited && waitpid(pid, &status, WNOHANG) == pid)
                        exited = true;
                if (n < 0 && errno != EINTR)
                        break;
                if (n == 0 && exited)
                        break; /* a grandchild kept the pipes open: do not wait forever */
                for (int i = 0; i < 2; i++) {
                        char buf[16384];
                        ssize_t k;
                        if (!(p[i].revents & (POLLIN | POLLHUP)))
                                continue;
                        k = read(p[i].fd, buf, sizeof(buf));
                        if (k > 0)
                                (void) send_frame(fd, i == 0 ? F_STDOUT : F_STDERR, buf, (uint32_t) k);
                        else if (k == 0 || errno != EINTR) {
                                open_out--;
                                if (i == 0)
                                        out = -1;
                                else
                                        err = -1;
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP)) {
                        uint8_t type;
                        char *data = NULL;
                        uint32_t len;
                        int r = recv_frame(fd, &type, &data, &len);
                        if (r <= 0) {
                                fd = -1; /* host went away: keep running, stop relaying input */
                                if (in >= 0)
                                        close(in);
                                in = -1;
                        } else if (type == F_STDIN && in >= 0) {
                                if (len == 0 || write_all(in, data, len) < 0) {
                                        close(in);
                                        in = -1;
                                }
                        } else if (type == F_SIGNAL && len == 4) {
                                uint32_t sig;
                                memcpy(&sig, data, 4);
                                (void) kill(-pid, (int) sig);
                                (void) kill(pid, (int) sig);
                        }
                        free(data);
                }
        }
        if (!exited)
                (void) waitpid(pid, &status, 0);
        if (in >= 0)
                close(in);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_agent(int fd) {
        uint32_t version = AGENT_VERSION, len;
        int in[2], out[2], err[2], ep[2];
        char *data = NULL;
        uint8_t type;
        Spec s;
        pid_t pid;
        int32_t status;
        int r, e = 0;
        char stage[32] = "";

        if (send_frame(fd, F_HELLO, &version, 4) < 0)
                return -EPIPE;
        r = recv_frame(fd, &type, &data, &len);
        if (r <= 0 || type != F_SPEC || parse_spec(data, len, &s) < 0) {
                send_error(fd, EINVAL, "spec", "expected a process spec frame");
                return -EINVAL;
        }
        if (s.hostname && sethostname(s.hostname, strlen(s.hostname)) < 0 && getpid() == 1)
                say("cannot set hostname: %m");
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
            pipe2(ep, O_CLOEXEC) < 0) {
                send_error(fd, errno, "pipe", strerror(errno));
                return -errno;
        }
        pid = fork();
        if (pid < 0) {
                send_error(fd, errno, "fork", strerror(errno));
                return -errno;
        }
        if (pid == 0) {
                signal(SIGPIPE, SIG_DFL);
                child_exec(&s, in[0], out[1], err[1], ep[1]);
        }
        close(in[0]);
        close(out[1]);
        close(err[1]);
        close(ep[1]);
        /* the exec pipe closes on a successful exec; otherwise it carries errno and the stage */
        if (read(ep[0], &e, sizeof(e)) == sizeof(e)) {
                ssize_t n = read(ep[0], stage, sizeof(stage) - 1);
                stage[n > 0 ? n : 0] = 0;
                waitpid(pid, NULL, 0);
                send_error(fd, e, stage, strerror(e));
                status = 127;
                (void) send_frame(fd, F_EXIT, &status, 4);
                return 0;
        }
        close(ep[0]);
        status = relay(fd, pid, in[1], out[0], err[0]);
        (void) send_frame(fd, F_EXIT, &status, 4);
        free(s.argv);
        free(s.env);
        free(data);
        return status;
}

/* ------------------------------------------------------------ PID 1 */

static const char *cmdline_get(const char *key) {
        static char value[256];
        size_t l = strlen(key);

        for (char *p = cmdline; *p;) {
                char *end = p + strcspn(p, " \n");
                if ((size_t) (end - p) > l && strncmp(p, key, l) == 0 && p[l] == '=') {
                        size_t n = (size_t) (end - p) - l - 1;
                        if (n >= sizeof(value))
                                n = sizeof(value) - 1;
                        memcpy(value, p + l + 1, n);
                        value[n] = 0;
                        return value;
                }
                p = end + strspn(end, " \n");
        }
        return NULL;
}

static char *cmdline_dup(const char *key, const char *def) {
        const char *v = cmdline_get(key);
        return strdup(v ?: def ?: "");
}

static void mount_basics(void) {
        static const struct {
                const char *src, *dst, *type;
                unsigned long flags;
        } m[] = {
                { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
                { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC },
                { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID },
                { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV },
        };
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
                (void) mkdir(m[i].dst, 0755);
                if (mount(m[i].src, m[i].dst, m[i].type, m[i].flags, NULL) < 0 && errno != EBUSY)
                        say("cannot mount %s: %m", m[i].dst);
        }
}

static void load_modules(void) {
        FILE *f = fopen("/lib/modules/aula.list", "re");
        char line[512];

        if (!f)
                return; /* a kernel with everything built in */
        while (fgets(line, sizeof(line), f)) {
                int fd;
                line[strcspn(line, "\n")] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                fd = open(line, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        say("cannot open module %s: %m", line);
                        continue;
                }
                if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
                        say("cannot load module %s: %m", line);
                close(fd);
        }
        fclose(f);
}

static bool wait_for(const char *path, int seconds) {
        for (int i = 0; i < seconds * 20; i++) {
                if (access(path, F_OK) == 0)
                        return true;
                usleep(50000);
        }
        return false;
}

static int mount_any(const char *dev, const char *dst, const char *types, unsigned long flags) {
        char list[128];
        char *save = NULL;

        snprintf(list, sizeof(list), "%s", types);
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (mount(dev, dst, t, flags, NULL) == 0)
                        return 0;
        return -errno;
}

/* Root: the image read-only, the scratch disk (or tmpfs) as the overlay's upper layer. */
static int setup_root(void) {
        char *root = cmdline_dup("aula.root", "/dev/vda"), *scratch = cmdline_dup("aula.scratch", "");
        char *types = cmdline_dup("aula.rootfstype", "squashfs,erofs,ext4");
        char opts[256];
        int r = 0;

        if (strcmp(root, "none") == 0)
                goto out;
        (void) mkdir("/mnt", 0755);
        (void) mkdir("/mnt/lower", 0755);
        (void) mkdir("/mnt/scratch", 0755);
        (void) mkdir("/mnt/root", 0755);
        if (!wait_for(root, 10)) {
                say("root disk %s did not appear", root);
                r = -ENODEV;
                goto out;
        }
        if ((r = mount_any(root, "/mnt/lower", types, MS_RDONLY)) < 0) {
                say("cannot mount %s (%s): %s", root, types, strerror(-r));
                goto out;
        }
        if (scratch[0] && wait_for(scratch, 10) && mount_any(scratch, "/mnt/scratch", "ext4,xfs,btrfs", 0) == 0)
                ;
        else if (mount("tmpfs", "/mnt/scratch", "tmpfs", 0, "mode=0755") < 0) {
                r = -errno;
                goto out;
        }
        (void) mkdir("/mnt/scratch/upper", 0755);
        (void) mkdir("/mnt/scratch/work", 0755);
        snprintf(opts, sizeof(opts),
                 "lowerdir=/mnt/lower,upperdir=/mnt/scratch/upper,workdir=/mnt/scratch/work");
        if (mount("overlay", "/mnt/root", "overlay", 0, opts) < 0) {
                r = -errno;
                say("cannot mount the overlay: %m");
                goto out;
        }
        for (const char *const *d = (const char *const[]){ "/proc", "/sys", "/dev", "/run", NULL }; *d; d++) {
                char dst[64];
                snprintf(dst, sizeof(dst), "/mnt/root%s", *d);
                (void) mkdir(dst, 0755);
                if (mount(*d, dst, NULL, MS_MOVE, NULL) < 0)
                        say("cannot move %s: %m", *d);
        }
        /* switch_root: the initramfs stays mounted underneath, which is fine for a VM this short-lived */
        if (chdir("/mnt/root") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
            chdir("/") < 0) {
                r = -errno;
                say("cannot switch root: %m");
        }
out:
        free(root);
        free(scratch);
        free(types);
        return r;
}

static int if_up(int s, const char *name) {
        struct ifreq ifr = {};
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static void setup_network(void) {
        const char *v;
        char ip[64], *slash, ifname[IFNAMSIZ] = "eth0";
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), prefix = 24;
        struct ifreq ifr = {};
        struct sockaddr_in *sin = (struct sockaddr_in *) &ifr.ifr_addr;

        if (s < 0)
                return;
        (void) if_up(s, "lo");
        if ((v = cmdline_get("aula.if")))
                snprintf(ifname, sizeof(ifname), "%s", v);
        if (!(v = cmdline_get("aula.ip"))) {
                close(s);
                return;
        }
        snprintf(ip, sizeof(ip), "%s", v);
        if ((slash = strchr(ip, '/'))) {
                *slash = 0;
                prefix = atoi(slash + 1);
        }
        snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
        sin->sin_family = AF_INET;
        if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1 || prefix < 0 || prefix > 32 ||
            ioctl(s, SIOCSIFADDR, &ifr) < 0)
                say("cannot set address %s on %s: %m", v, ifname);
        sin->sin_addr.s_addr = htonl(prefix ? ~0U << (32 - prefix) : 0);
        (void) ioctl(s, SIOCSIFNETMASK, &ifr);
        if (if_up(s, ifname) < 0)
                say("cannot bring up %s: %m", ifname);
        if ((v = cmdline_get("aula.gw"))) {
                struct rtentry rt = { .rt_flags = RTF_UP | RTF_GATEWAY };
                ((struct sockaddr_in *) &rt.rt_dst)->sin_family = AF_INET;
                ((struct sockaddr_in *) &rt.rt_genmask)->sin_family = AF_INET;
                ((struct sockaddr_in *) &rt.rt_gateway)->sin_family = AF_INET;
                if (inet_pton(AF_INET, v, &((struct sockaddr_in *) &rt.rt_gateway)->sin_addr) != 1 ||
                    ioctl(s, SIOCADDRT, &rt) < 0)
                        say("cannot add default route via %s: %m", v);
        }
        close(s);
}

static int connect_host(unsigned port) {
        struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = HOST_CID, .svm_port = port };

        for (int i = 0; i < 50; i++) {
                int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        return fd;
                if (fd >= 0)
                        close(fd);
                usleep(100000); /* the transport may still be probing */
        }
        return -errno;
}

static int pid1(void) __attribute__((noreturn));
static int pid1(void) {
        const char *v;
        unsigned port = AGENT_PORT;
        int fd, fd_c, r;

        mount_basics();
        fd_c = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd_c >= 0) {
                ssize_t n = read(fd_c, cmdline, sizeof(cmdline) - 1);
                cmdline[n > 0 ? n : 0] = 0;
                close(fd_c);
        }
        load_modules();
        if (setup_root() < 0)
                say("continuing in the initramfs");
        if ((v = cmdline_get("aula.hostname")))
                (void) sethostname(v, strlen(v));
        setup_network();
        if ((v = cmdline_get("aula.port")))
                port = (unsigned) strtoul(v, NULL, 10);
        fd = connect_host(port);
        if (fd < 0) {
                say("cannot reach the host on vsock port %u: %s", port, strerror(-fd));
                r = 1;
        } else {
                r = run_agent(fd);
                shutdown(fd, SHUT_RDWR);
                close(fd);
                say("process exited with status %d", r);
        }
        sync();
        (void) reboot(RB_POWER_OFF);
        for (;;)
                pause();
}

int main(int argc, char *argv[]) {
        signal(SIGPIPE, SIG_IGN);
        if (getpid() == 1)
                return pid1();
        if (argc == 3 && strcmp(argv[1], "--agent-fd") == 0) {
                int r = run_agent(atoi(argv[2]));
                return r < 0 ? 1 : r;
        }
        fprintf(stderr,
                "usage: aula-init is PID 1 of an aula microVM; aula-init --agent-fd FD tests the protocol\n");
        return 2;
}
