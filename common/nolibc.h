/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What the freestanding programs (runtime/dmz/aula-dmz.c, shim/keeper/aula-keeper.c) have instead of
 * libc: the entry point, one syscall wrapper and the syscall numbers they use, for x86_64 and aarch64.
 * Define NOLIBC_MAIN, the name (a string) of `void main(long *sp)`, before including this; sp points
 * at argc, followed by argv and envp.
 */

#ifndef NOLIBC_MAIN
#error "define NOLIBC_MAIN before including nolibc.h"
#endif

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call " NOLIBC_MAIN "\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c) {
        long ret;
        __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return ret;
}
#define NR_READ 0
#define NR_WRITE 1
#define NR_CLOSE 3
#define NR_EXECVE 59
#define NR_EXIT 60
#define NR_FCNTL 72
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x0, sp\n"
        "  bl " NOLIBC_MAIN "\n");

static long sys3(long n, long a, long b, long c) {
        register long x8 __asm__("x8") = n;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
        return x0;
}
#define NR_FCNTL 25
#define NR_CLOSE 57
#define NR_READ 63
#define NR_WRITE 64
#define NR_EXIT 93
#define NR_EXECVE 221
#else
#error "nolibc.h: unsupported architecture"
#endif

static unsigned long slen(const char *s) {
        unsigned long n = 0;
        while (s[n])
                n++;
        return n;
}

/* Write s to stderr. */
static void say(const char *s) {
        (void) sys3(NR_WRITE, 2, (long) s, (long) slen(s));
}
