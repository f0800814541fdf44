/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device event loop: one epoll set, one thread, for every host-side fd of
 * every device (ioeventfds, tap, vsock sockets, console input). Handlers run
 * on the loop thread only; pause parks the thread between dispatches so that
 * snapshots see quiescent devices.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "microvm-internal.h"

#define LOOP_MAX_FDS 256

typedef struct LoopSlot {
        int fd;
        EventHandler handler;
        void *opaque;
} LoopSlot;

struct EventLoop {
        int epfd;
        int wake_fd;
        pthread_t thread;
        bool running;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop, pause, paused;
        void (*thread_init)(void *);
        void *thread_arg;
        LoopSlot slots[LOOP_MAX_FDS];
};

int event_loop_new(EventLoop **ret) {
        EventLoop *l = calloc(1, sizeof(*l));
        struct epoll_event ev = { .events = EPOLLIN };

        if (!l)
                return -ENOMEM;
        l->wake_fd = -EBADF;
        for (size_t i = 0; i < LOOP_MAX_FDS; i++)
                l->slots[i].fd = -1;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0)
                goto fail;
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->wake_fd < 0)
                goto fail;
        ev.data.u64 = UINT64_MAX;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0)
                goto fail;
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->cond, NULL);
        *ret = l;
        return 0;
fail : {
        int r = -errno;
        safe_close(l->epfd);
        safe_close(l->wake_fd);
        free(l);
        return r;
}
}

EventLoop *event_loop_free(EventLoop *l) {
        if (!l)
                return NULL;
        event_loop_stop(l);
        safe_close(l->epfd);
        safe_close(l->wake_fd);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
        free(l);
        return NULL;
}

static LoopSlot *find_slot(EventLoop *l, int fd) {
        for (size_t i = 0; i < LOOP_MAX_FDS; i++)
                if (l->slots[i].fd == fd)
                        return &l->slots[i];
        return NULL;
}

int event_loop_add(EventLoop *l, int fd, uint32_t events, EventHandler h, void *opaque) {
        LoopSlot *s = find_slot(l, -1);
        struct epoll_event ev = { .events = events };

        if (fd < 0)
                return -EBADF;
        if (!s)
                return -EMFILE;
        ev.data.u64 = (uint64_t) (s - l->slots);
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        *s = (LoopSlot){ .fd = fd, .handler = h, .opaque = opaque };
        return 0;
}

int event_loop_mod(EventLoop *l, int fd, uint32_t events) {
        LoopSlot *s = find_slot(l, fd);
        struct epoll_event ev = { .events = events };

        if (fd < 0 || !s)
                return -ENOENT;
        ev.data.u64 = (uint64_t) (s - l->slots);
        return RET_NERRNO(epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev));
}

int event_loop_del(EventLoop *l, int fd) {
        LoopSlot *s = find_slot(l, fd);

        if (fd < 0 || !s)
                return -ENOENT;
        s->fd = -1;
        s->handler = NULL;
        return RET_NERRNO(epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL));
}

int event_loop_run_once(EventLoop *l, int timeout_ms) {
        struct epoll_event evs[32];
        int n, ran = 0;

        n = epoll_wait(l->epfd, evs, ELEMENTSOF(evs), timeout_ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                LoopSlot *s;

                if (evs[i].data.u64 == UINT64_MAX) {
                        uint64_t v;
                        (void) !read(l->wake_fd, &v, sizeof(v));
                        continue;
                }
                s = &l->slots[evs[i].data.u64];
                /* a handler may have removed this slot earlier in the batch */
                if (s->fd < 0 || !s->handler)
                        continue;
                s->handler(s->opaque, evs[i].events);
                ran++;
        }
        return ran;
}

static void wake(EventLoop *l) {
        uint64_t one = 1;
        (void) !write(l->wake_fd, &one, sizeof(one));
}

static void *loop_thread(void *arg) {
        EventLoop *l = arg;

        if (l->thread_init)
                l->thread_init(l->thread_arg);
        for (;;) {
                pthread_mutex_lock(&l->lock);
                while (l->pause && !l->stop) {
                        l->paused = true;
                        pthread_cond_broadcast(&l->cond);
                        pthread_cond_wait(&l->cond, &l->lock);
                }
                l->paused = false;
                if (l->stop) {
                        pthread_mutex_unlock(&l->lock);
                        break;
                }
                pthread_mutex_unlock(&l->lock);
                if (event_loop_run_once(l, -1) < 0)
                        break;
        }
        return NULL;
}

int event_loop_start(EventLoop *l, void (*thread_init)(void *), void *arg) {
        int r;

        l->thread_init = thread_init;
        l->thread_arg = arg;
        l->stop = l->pause = false;
        r = -pthread_create(&l->thread, NULL, loop_thread, l);
        if (r < 0)
                return r;
        l->running = true;
        return 0;
}

void event_loop_stop(EventLoop *l) {
        if (!l || !l->running)
                return;
        pthread_mutex_lock(&l->lock);
        l->stop = true;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
        wake(l);
        pthread_join(l->thread, NULL);
        l->running = false;
}

void event_loop_pause(EventLoop *l) {
        if (!l || !l->running)
                return;
        pthread_mutex_lock(&l->lock);
        l->pause = true;
        wake(l);
        while (!l->paused && !l->stop)
                pthread_cond_wait(&l->cond, &l->lock);
        pthread_mutex_unlock(&l->lock);
}

void event_loop_resume(EventLoop *l) {
        if (!l || !l->running)
                return;
        pthread_mutex_lock(&l->lock);
        l->pause = false;
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
}
