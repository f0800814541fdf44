/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel image probing and loading: bzImage and ELF, including hostile images. */
#include <elf.h>

#include "microvm-internal.h"
#include "tap.h"

#define RAM (64ULL << 20)

typedef struct Env {
        uint8_t *ram;
        GuestMem *gm;
} Env;

static void env_done(Env *e) {
        gm_free(e->gm);
        free(e->ram);
}

static void env_init(Env *e) {
        e->ram = calloc(1, RAM);
        ASSERT_NOT_NULL(e->ram);
        ASSERT_OK(gm_new_buffer(e->ram, 0, RAM, &e->gm));
}

static size_t make_bzimage(uint8_t *img, size_t size, uint16_t version, uint16_t xlf) {
        memset(img, 0, size);
        img[0x1f1] = 1;
        img[0x1fe] = 0x55;
        img[0x1ff] = 0xaa;
        img[0x201] = 0x66;
        memcpy(img + 0x202, "HdrS", 4);
        memcpy(img + 0x206, &version, 2);
        memcpy(img + 0x236, &xlf, 2);
        uint32_t cl = 255, init = 0x10000;
        uint64_t pref = 0x200000;
        memcpy(img + 0x238, &cl, 4);
        memcpy(img + 0x258, &pref, 8);
        memcpy(img + 0x260, &init, 4);
        for (size_t i = 1024; i < size; i++)
                img[i] = (uint8_t) i;
        return size;
}

static size_t make_elf(uint8_t *img, uint64_t paddr, uint64_t filesz, uint64_t memsz, uint64_t entry) {
        Elf64_Ehdr *eh = (Elf64_Ehdr *) img;
        Elf64_Phdr *ph = (Elf64_Phdr *) (img + sizeof(*eh));

        memset(img, 0, 4096);
        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_type = ET_EXEC;
        eh->e_machine = EM_X86_64;
        eh->e_entry = entry;
        eh->e_phoff = sizeof(*eh);
        eh->e_phentsize = sizeof(*ph);
        eh->e_phnum = 1;
        ph->p_type = PT_LOAD;
        ph->p_offset = 1024;
        ph->p_paddr = paddr;
        ph->p_filesz = filesz;
        ph->p_memsz = memsz;
        for (size_t i = 1024; i < 4096; i++)
                img[i] = 0xc3;
        return 4096;
}

static uint32_t bp32(Env *e, unsigned off) {
        uint32_t v;
        memcpy(&v, e->ram + BOOT_PARAMS_ADDR + off, 4);
        return v;
}

TEST(probe_rejects_non_kernels) {
        uint8_t img[4096] = "just some text";
        KernelFormat f;
        char *msg = NULL;

        ASSERT_ERROR(boot_probe_kernel(img, sizeof(img), &f, &msg), ENOEXEC);
        ASSERT_STRCONTAINS(msg, "not a Linux kernel image");
        free(msg);
        msg = NULL;
        ASSERT_ERROR(boot_probe_kernel(img, 3, &f, NULL), ENOEXEC);

        make_bzimage(img, sizeof(img), 0x020b, 1);
        ASSERT_ERROR(boot_probe_kernel(img, sizeof(img), &f, &msg), ENOEXEC);
        ASSERT_STRCONTAINS(msg, "older than 2.12");
        free(msg);
        msg = NULL;
        make_bzimage(img, sizeof(img), 0x020f, 0);
        ASSERT_ERROR(boot_probe_kernel(img, sizeof(img), &f, &msg), ENOEXEC);
        ASSERT_STRCONTAINS(msg, "XLF_KERNEL_64");
        free(msg);
        msg = NULL;

        make_elf(img, 0x100000, 16, 16, 0x100000);
        img[EI_CLASS] = ELFCLASS32;
        ASSERT_ERROR(boot_probe_kernel(img, sizeof(img), &f, &msg), ENOEXEC);
        free(msg);
        msg = NULL;
        make_elf(img, 0x100000, 16, 16, 0x100000);
        ((Elf64_Ehdr *) img)->e_machine = EM_AARCH64;
        ASSERT_ERROR(boot_probe_kernel(img, sizeof(img), &f, &msg), ENOEXEC);
        ASSERT_STRCONTAINS(msg, "x86-64");
        free(msg);
}

TEST(load_bzimage) {
        _cleanup_(env_done) Env e;
        uint8_t img[8192];
        BootInfo bi;
        char *msg = NULL;

        env_init(&e);
        make_bzimage(img, sizeof(img), 0x020f, 1);
        ASSERT_OK(boot_load(e.gm, img, sizeof(img), (const uint8_t *) "INITRD", 6, "console=ttyS0", &bi, &msg));
        ASSERT_TRUE(bi.is_bzimage);
        ASSERT_EQ(bi.entry, 0x200200u);
        ASSERT_EQ(e.ram[0x200000], img[1024]); /* protected-mode code after the two setup sectors */
        ASSERT_EQ(memcmp(e.ram + 0x200000, img + 1024, sizeof(img) - 1024), 0);
        ASSERT_EQ(memcmp(e.ram + BOOT_PARAMS_ADDR + 0x202, "HdrS", 4), 0);
        ASSERT_EQ(e.ram[BOOT_PARAMS_ADDR + 0x210], 0xff);
        ASSERT_EQ(bp32(&e, 0x228), (uint32_t) BOOT_CMDLINE_ADDR);
        ASSERT_STREQ((char *) e.ram + BOOT_CMDLINE_ADDR, "console=ttyS0");
        ASSERT_EQ(bp32(&e, 0x218), (uint32_t) bi.initrd_addr);
        ASSERT_EQ(bp32(&e, 0x21c), 6u);
        ASSERT_EQ(bi.initrd_addr % 4096, 0u);
        ASSERT_EQ(memcmp(e.ram + bi.initrd_addr, "INITRD", 6), 0);
        ASSERT_EQ(e.ram[BOOT_PARAMS_ADDR + 0x1e8], 3); /* e820: low RAM, reserved, RAM from 1 MiB */
        /* identity map: PML4[0] -> PDPT, PD entry for 2 MiB maps 2 MiB */
        uint64_t pde;
        memcpy(&pde, e.ram + BOOT_PD_ADDR + 8, 8);
        ASSERT_EQ(pde, 0x200083u);
}

TEST(load_elf_and_zero_bss) {
        _cleanup_(env_done) Env e;
        uint8_t img[4096];
        BootInfo bi;

        env_init(&e);
        memset(e.ram + 0x100000, 0x99, 0x3000);
        make_elf(img, 0x100000, 0x100, 0x2000, 0x100010);
        ASSERT_OK(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL));
        ASSERT_FALSE(bi.is_bzimage);
        ASSERT_EQ(bi.entry, 0x100010u);
        ASSERT_EQ(e.ram[0x1000ff], 0xc3);
        ASSERT_EQ(e.ram[0x100100], 0); /* memsz beyond filesz is zeroed */
        ASSERT_EQ(e.ram[0x101fff], 0);
        ASSERT_EQ(e.ram[0x102000], 0x99);
}

TEST(load_rejects_hostile_elf) {
        _cleanup_(env_done) Env e;
        uint8_t img[4096];
        BootInfo bi;
        char *msg = NULL;

        env_init(&e);
        make_elf(img, 0x100000, 0x10000, 0x10000, 0x100000); /* filesz beyond the file */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, &msg), ENOEXEC);
        ASSERT_STRCONTAINS(msg, "outside the file");
        make_elf(img, 0x100000, 0x200, 0x100, 0x100000); /* filesz > memsz */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOEXEC);
        make_elf(img, RAM - 0x10, 0x100, 0x100, RAM - 0x10); /* segment past the end of RAM */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, &msg), ENOMEM);
        make_elf(img, UINT64_MAX - 0x10, 0x100, 0x100, 0x100000); /* paddr + memsz wraps */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOMEM);
        make_elf(img, 0x1000, 0x100, 0x100, 0x1000); /* would overwrite boot structures */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOMEM);
        make_elf(img, 0x100000, 0x100, 0x100, 0x7fffffffff); /* entry outside RAM */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOEXEC);
        make_elf(img, 0x100000, 0x100, 0x100, 0x100000);
        ((Elf64_Ehdr *) img)->e_phoff = 4000; /* table runs off the end */
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOEXEC);
        make_elf(img, 0x100000, 0x100, 0x100, 0x100000);
        ((Elf64_Ehdr *) img)->e_phentsize = 10;
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, "", &bi, NULL), ENOEXEC);
        free(msg);
}

TEST(load_rejects_long_cmdline_and_big_initrd) {
        _cleanup_(env_done) Env e;
        uint8_t img[8192];
        char cmdline[300];
        BootInfo bi;
        char *msg = NULL;
        uint8_t *initrd;

        env_init(&e);
        make_bzimage(img, sizeof(img), 0x020f, 1);
        memset(cmdline, 'a', sizeof(cmdline) - 1);
        cmdline[sizeof(cmdline) - 1] = 0;
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), NULL, 0, cmdline, &bi, &msg), E2BIG);
        ASSERT_STRCONTAINS(msg, "limit of 255");
        free(msg);
        msg = NULL;
        initrd = calloc(1, RAM);
        ASSERT_NOT_NULL(initrd);
        ASSERT_ERROR(boot_load(e.gm, img, sizeof(img), initrd, RAM - 0x100000, "", &bi, &msg), ENOMEM);
        ASSERT_STRCONTAINS(msg, "initrd");
        free(msg);
        free(initrd);
}

TEST(load_bzimage_needs_memory_for_init_size) {
        uint8_t ram[4 << 20];
        GuestMem *gm = NULL;
        uint8_t img[8192];
        BootInfo bi;
        char *msg = NULL;
        uint32_t init = 64 << 20;

        ASSERT_OK(gm_new_buffer(ram, 0, sizeof(ram), &gm));
        make_bzimage(img, sizeof(img), 0x020f, 1);
        memcpy(img + 0x260, &init, 4);
        ASSERT_ERROR(boot_load(gm, img, sizeof(img), NULL, 0, "", &bi, &msg), ENOMEM);
        ASSERT_STRCONTAINS(msg, "add memory");
        free(msg);
        gm_free(gm);
}
