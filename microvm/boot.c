/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Direct Linux boot through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): no BIOS, no real
 * mode. We load a bzImage's protected-mode part (protocol >= 2.12 with
 * XLF_KERNEL_64; entry = load address + 0x200) or an ELF vmlinux's PT_LOAD
 * segments (entry = e_entry, which vmlinux sets to phys_startup_64), fill
 * boot_params ("zero page") with the setup header, e820 map, command line and
 * initrd, and build identity page tables and a GDT with __BOOT_CS = 0x10 and
 * __BOOT_DS = 0x18. The kernel image is untrusted input like everything else:
 * every offset and size from it is checked before use.
 */
#include <elf.h>

#include "microvm-internal.h"

/* boot_params / setup_header offsets (boot.rst, "The Real-Mode Kernel Header") */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000
#define E820_MAX 128
#define XLF_KERNEL_64 0x1
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define E820_RAM 1
#define E820_RESERVED 2

static uint16_t get16(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
}
static uint32_t get32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}
static uint64_t get64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}
static void put16(uint8_t *p, uint16_t v) {
        memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v) {
        memcpy(p, &v, 8);
}

static int fail(char **error_msg, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **error_msg, int r, const char *fmt, ...) {
        va_list ap;
        if (error_msg) {
                free(*error_msg);
                *error_msg = NULL;
                va_start(ap, fmt);
                if (vasprintf(error_msg, fmt, ap) < 0)
                        *error_msg = NULL;
                va_end(ap);
        }
        return r;
}

int boot_probe_kernel(const uint8_t *img, size_t len, KernelFormat *ret, char **error_msg) {
        if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0) {
                const Elf64_Ehdr *eh = (const Elf64_Ehdr *) img;
                if (len < sizeof(Elf64_Ehdr) || img[EI_CLASS] != ELFCLASS64 || img[EI_DATA] != ELFDATA2LSB)
                        return fail(error_msg, -ENOEXEC, "ELF kernel is not a 64-bit little-endian image");
                if (eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC)
                        return fail(error_msg, -ENOEXEC, "ELF kernel is not an x86-64 executable");
                *ret = KERNEL_ELF;
                return 0;
        }
        if (len >= 0x264 && memcmp(img + HDR_MAGIC, "HdrS", 4) == 0 && get16(img + HDR_BOOT_FLAG) == 0xaa55) {
                uint16_t version = get16(img + HDR_VERSION);
                if (version < 0x020c)
                        return fail(error_msg, -ENOEXEC, "bzImage boot protocol %u.%02u is older than 2.12",
                                    version >> 8, version & 0xff);
                if (!(get16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64))
                        return fail(error_msg, -ENOEXEC, "bzImage has no 64-bit entry point (XLF_KERNEL_64)");
                *ret = KERNEL_BZIMAGE;
                return 0;
        }
        return fail(error_msg, -ENOEXEC, "not a Linux kernel image (neither bzImage nor ELF)");
}

static int load_bzimage(GuestMem *gm, const uint8_t *img, size_t len, uint8_t *bp, BootInfo *bi, char **error_msg) {
        unsigned setup_sects = img[HDR_SETUP_SECTS] ?: 4;
        size_t setup_size = (setup_sects + 1) * 512ULL, hdr_end = 0x202 + img[HDR_JUMP + 1];
        uint64_t load = get64(img + HDR_PREF_ADDRESS), init_size = get32(img + HDR_INIT_SIZE), need;
        uint32_t align = get32(img + HDR_KERNEL_ALIGNMENT);
        void *dst;

        if (setup_size >= len)
                return fail(error_msg, -ENOEXEC, "bzImage is truncated (setup of %zu bytes, file of %zu)",
                            setup_size, len);
        if (hdr_end > setup_size || hdr_end > BP_SIZE)
                return fail(error_msg, -ENOEXEC, "bzImage setup header is malformed");
        if (load < BOOT_KERNEL_ADDR || (img[HDR_RELOCATABLE] && align && load % align))
                load = BOOT_KERNEL_ADDR;
        need = MAX(init_size, (uint64_t) (len - setup_size));
        if (gm_slice(gm, load, need, &dst) < 0)
                return fail(error_msg, -ENOMEM,
                            "kernel needs %" PRIu64 " MiB of RAM from 0x%" PRIx64 "; add memory",
                            (load + need) >> 20, load);
        memcpy(dst, img + setup_size, len - setup_size);

        memcpy(bp + HDR_START, img + HDR_START, hdr_end - HDR_START);
        bi->entry = load + 0x200;
        bi->kernel_start = load;
        bi->kernel_end = load + need;
        bi->is_bzimage = true;
        return 0;
}

static int load_elf(GuestMem *gm, const uint8_t *img, size_t len, uint8_t *bp, BootInfo *bi, char **error_msg) {
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *) img;
        uint64_t lo = UINT64_MAX, hi = 0;
        void *dst;

        if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phoff > len ||
            (uint64_t) eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
                return fail(error_msg, -ENOEXEC, "ELF kernel has a malformed program header table");
        for (unsigned i = 0; i < eh->e_phnum; i++) {
                Elf64_Phdr ph;
                memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
                if (ph.p_type != PT_LOAD)
                        continue;
                if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
                        return fail(error_msg, -ENOEXEC, "ELF segment %u lies outside the file", i);
                if (gm_slice(gm, ph.p_paddr, ph.p_memsz, &dst) < 0 || ph.p_paddr < BOOT_KERNEL_ADDR)
                        return fail(error_msg, -ENOMEM,
                                    "ELF segment %u (0x%" PRIx64 "+0x%" PRIx64
                                    ") does not fit in guest RAM above 1 MiB",
                                    i, (uint64_t) ph.p_paddr, (uint64_t) ph.p_memsz);
                memcpy(dst, img + ph.p_offset, ph.p_filesz);
                memset((uint8_t *) dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
                lo = MIN(lo, (uint64_t) ph.p_paddr);
                hi = MAX(hi, (uint64_t) (ph.p_paddr + ph.p_memsz));
        }
        if (lo == UINT64_MAX)
                return fail(error_msg, -ENOEXEC, "ELF kernel has no loadable segment");
        if (gm_slice(gm, eh->e_entry, 1, &dst) < 0)
                return fail(error_msg, -ENOEXEC, "ELF entry point 0x%" PRIx64 " is not in guest RAM",
                            (uint64_t) eh->e_entry);
        /* No setup header in an ELF: describe ourselves as a boot loader would (boot.rst). */
        put16(bp + HDR_BOOT_FLAG, 0xaa55);
        memcpy(bp + HDR_MAGIC, "HdrS", 4);
        put16(bp + HDR_VERSION, 0x020c);
        put32(bp + HDR_KERNEL_ALIGNMENT, 0x1000000);
        put32(bp + HDR_CMDLINE_SIZE, BOOT_CMDLINE_MAX - 1);
        put32(bp + HDR_INITRD_ADDR_MAX, 0x7fffffff);
        bi->entry = eh->e_entry;
        bi->kernel_start = lo;
        bi->kernel_end = hi;
        return 0;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type) {
        uint8_t n = bp[BP_E820_ENTRIES];
        uint8_t *e = bp + BP_E820_TABLE + 20 * n;

        if (n >= E820_MAX || size == 0)
                return;
        put64(e, addr);
        put64(e + 8, size);
        put32(e + 16, type);
        bp[BP_E820_ENTRIES] = n + 1;
}

static int place_initrd(GuestMem *gm, uint8_t *bp, BootInfo *bi, const uint8_t *initrd, size_t len, char **error_msg) {
        uint64_t low_end = gm->regions[0].size,
                 max = get32(bp + HDR_INITRD_ADDR_MAX) ?: 0x37ffffff; /* boot.rst default */
        uint64_t top = MIN(low_end, max + 1), addr;
        void *dst;

        if (len > top || (top - len) / 4096 * 4096 < bi->kernel_end)
                return fail(error_msg, -ENOMEM,
                            "initrd of %zu bytes does not fit between the kernel and the end of RAM", len);
        addr = (top - len) / 4096 * 4096;
        if (gm_slice(gm, addr, len, &dst) < 0)
                return fail(error_msg, -ENOMEM, "initrd does not fit in guest RAM");
        memcpy(dst, initrd, len);
        put32(bp + HDR_RAMDISK_IMAGE, (uint32_t) addr);
        put32(bp + HDR_RAMDISK_SIZE, (uint32_t) len);
        put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t) (addr >> 32));
        put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t) ((uint64_t) len >> 32));
        bi->initrd_addr = addr;
        bi->initrd_size = len;
        return 0;
}

int boot_load(GuestMem *gm,
              const uint8_t *kernel,
              size_t kernel_len,
              const uint8_t *initrd,
              size_t initrd_len,
              const char *cmdline,
              BootInfo *ret,
              char **error_msg) {
        KernelFormat fmt;
        BootInfo bi = {};
        uint8_t *bp;
        size_t cl = strlen(cmdline ?: "");
        uint32_t cl_max;
        int r;

        r = boot_probe_kernel(kernel, kernel_len, &fmt, error_msg);
        if (r < 0)
                return r;
        r = gm_slice(gm, BOOT_PARAMS_ADDR, BP_SIZE, (void **) &bp);
        if (r < 0)
                return fail(error_msg, r, "guest RAM too small for boot_params");
        memset(bp, 0, BP_SIZE);

        r = fmt == KERNEL_BZIMAGE ? load_bzimage(gm, kernel, kernel_len, bp, &bi, error_msg)
                                  : load_elf(gm, kernel, kernel_len, bp, &bi, error_msg);
        if (r < 0)
                return r;

        cl_max = get32(bp + HDR_CMDLINE_SIZE) ?: 255;
        if (cl > cl_max || cl >= BOOT_CMDLINE_MAX)
                return fail(error_msg, -E2BIG,
                            "kernel command line of %zu bytes exceeds the kernel's limit of %u", cl,
                            MIN(cl_max, (uint32_t) BOOT_CMDLINE_MAX - 1));
        r = gm_write(gm, BOOT_CMDLINE_ADDR, cmdline ?: "", cl + 1);
        if (r < 0)
                return fail(error_msg, r, "guest RAM too small for the command line");

        bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined boot loader */
        bp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
        put16(bp + HDR_HEAP_END_PTR, 0xfe00);
        put16(bp + HDR_VID_MODE, 0xffff); /* "normal" */
        put32(bp + HDR_CMD_LINE_PTR, (uint32_t) BOOT_CMDLINE_ADDR);
        put32(bp + BP_EXT_CMD_LINE_PTR, 0);
        put64(bp + BP_ACPI_RSDP_ADDR, BOOT_ACPI_ADDR);

        if (initrd && initrd_len > 0) {
                r = place_initrd(gm, bp, &bi, initrd, initrd_len, error_msg);
                if (r < 0)
                        return r;
        }

        e820_add(bp, 0, BOOT_EBDA_START, E820_RAM);
        e820_add(bp, BOOT_EBDA_START, BOOT_KERNEL_ADDR - BOOT_EBDA_START, E820_RESERVED);
        e820_add(bp, BOOT_KERNEL_ADDR, gm->regions[0].size - BOOT_KERNEL_ADDR, E820_RAM);
        if (gm->n_regions > 1)
                e820_add(bp, gm->regions[1].gpa, gm->regions[1].size, E820_RAM);

        r = boot_setup_tables(gm);
        if (r < 0)
                return fail(error_msg, r, "guest RAM too small for page tables");
        *ret = bi;
        return 0;
}

int boot_setup_tables(GuestMem *gm) {
        /* null, null, __BOOT_CS (0x10: 64-bit code), __BOOT_DS (0x18: flat data) */
        static const uint64_t gdt[] = { 0, 0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL };
        uint64_t *pml4, *pdpt, *pd;
        int r;

        r = gm_write(gm, BOOT_GDT_ADDR, gdt, sizeof(gdt));
        if (r < 0)
                return r;
        r = gm_slice(gm, BOOT_PML4_ADDR, 4096, (void **) &pml4);
        if (r < 0)
                return r;
        r = gm_slice(gm, BOOT_PDPT_ADDR, 4096, (void **) &pdpt);
        if (r < 0)
                return r;
        r = gm_slice(gm, BOOT_PD_ADDR, 4 * 4096, (void **) &pd);
        if (r < 0)
                return r;
        memset(pml4, 0, 4096);
        memset(pdpt, 0, 4096);
        pml4[0] = BOOT_PDPT_ADDR | 0x3; /* present, writable */
        for (uint64_t i = 0; i < 4; i++)
                pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
        for (uint64_t i = 0; i < 4 * 512; i++)
                pd[i] = (i << 21) | 0x83; /* 2 MiB page: present, writable, PS */
        return 0;
}
