/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for stock distribution kernels (ACPI 6.5): RSDP -> XSDT ->
 * {FADT (hardware-reduced, sleep control for S5, reset register), MADT};
 * FADT -> DSDT with COM1 and one LNRO0005 device per virtio-mmio window,
 * which drivers/virtio/virtio_mmio.c matches. All tables live in the BIOS
 * area at BOOT_ACPI_ADDR, where the kernel also scans for the RSDP.
 */
#include "microvm-internal.h"

#define XSDT_OFF 0x40
#define FADT_OFF 0x100
#define MADT_OFF 0x300
#define DSDT_OFF 0x1000
#define FADT_LEN 276
#define FADT_FLAG_RESET_REG_SUP (1U << 10)
#define FADT_FLAG_HW_REDUCED (1U << 20)
#define RESET_PORT 0xcf9

uint8_t acpi_checksum(const void *p, size_t len) {
        uint8_t sum = 0;
        for (size_t i = 0; i < len; i++)
                sum += ((const uint8_t *) p)[i];
        return (uint8_t) -sum;
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev) {
        memcpy(t, sig, 4);
        memcpy(t + 4, &len, 4);
        t[8] = rev;
        memcpy(t + 10, "AULA  ", 6);
        memcpy(t + 16, "AULAVMM ", 8);
        t[24] = 1; /* OEM revision */
        memcpy(t + 28, "AULA", 4);
        t[32] = 1;
}

static void finish(uint8_t *t, uint32_t len) {
        memcpy(t + 4, &len, 4);
        t[9] = 0;
        t[9] = acpi_checksum(t, len);
}

/* Generic Address Structure: system I/O, byte access */
static void gas_io(uint8_t *p, uint16_t port) {
        uint64_t a = port;
        p[0] = 1; /* SystemIO */
        p[1] = 8;
        p[2] = 0;
        p[3] = 1; /* byte access */
        memcpy(p + 4, &a, 8);
}

/* ------------------------------------------------------------ a tiny AML writer */

typedef struct Aml {
        uint8_t *buf;
        size_t len, cap;
        bool overflow;
} Aml;

static void aml_bytes(Aml *a, const void *p, size_t n) {
        if (a->len + n > a->cap) {
                a->overflow = true;
                return;
        }
        memcpy(a->buf + a->len, p, n);
        a->len += n;
}

static void aml_byte(Aml *a, uint8_t b) {
        aml_bytes(a, &b, 1);
}

/* Wrap bytes [start, len) with a PkgLength prefix (ACPI 6.5 20.2.4) inserted at start. */
static void aml_pkg_close(Aml *a, size_t start) {
        size_t body = a->len - start, total;
        uint8_t enc[4];
        unsigned n;

        if (body + 1 < 0x40) {
                n = 1;
                enc[0] = (uint8_t) (body + 1);
        } else {
                n = body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
                total = body + n;
                enc[0] = (uint8_t) (((n - 1) << 6) | (total & 0xf));
                for (unsigned i = 1; i < n; i++)
                        enc[i] = (uint8_t) (total >> (4 + 8 * (i - 1)));
        }
        if (a->len + n > a->cap) {
                a->overflow = true;
                return;
        }
        memmove(a->buf + start + n, a->buf + start, body);
        memcpy(a->buf + start, enc, n);
        a->len += n;
}

static void aml_name(Aml *a, const char seg[4]) {
        aml_byte(a, 0x08); /* NameOp */
        aml_bytes(a, seg, 4);
}

static void aml_int(Aml *a, uint32_t v) {
        if (v <= 1)
                aml_byte(a, (uint8_t) v); /* ZeroOp / OneOp */
        else if (v <= 0xff) {
                aml_byte(a, 0x0a);
                aml_byte(a, (uint8_t) v);
        } else {
                aml_byte(a, 0x0c);
                aml_bytes(a, &v, 4);
        }
}

static void aml_string(Aml *a, const char *s) {
        aml_byte(a, 0x0d);
        aml_bytes(a, s, strlen(s) + 1);
}

static size_t aml_device_open(Aml *a, const char seg[4]) {
        size_t start;
        aml_byte(a, 0x5b); /* ExtOpPrefix */
        aml_byte(a, 0x82); /* DeviceOp */
        start = a->len;
        aml_bytes(a, seg, 4);
        return start;
}

/* Name(_CRS, ResourceTemplate() { <res> EndTag }) */
static void aml_crs(Aml *a, const uint8_t *res, size_t n) {
        static const uint8_t end_tag[] = { 0x79, 0x00 };
        size_t start;

        aml_name(a, "_CRS");
        aml_byte(a, 0x11); /* BufferOp */
        start = a->len;
        aml_int(a, (uint32_t) (n + sizeof(end_tag)));
        aml_bytes(a, res, n);
        aml_bytes(a, end_tag, sizeof(end_tag));
        aml_pkg_close(a, start);
}

static void aml_com1(Aml *a) {
        /* IO(Decode16, 0x3f8, 0x3f8, 0, 8); IRQNoFlags() {4} */
        static const uint8_t res[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00 };
        size_t dev = aml_device_open(a, "COM1");
        uint32_t eisa = 0x0105d041; /* EisaId("PNP0501") */

        aml_name(a, "_HID");
        aml_byte(a, 0x0c);
        aml_bytes(a, &eisa, 4);
        aml_name(a, "_UID");
        aml_int(a, 0);
        aml_crs(a, res, sizeof(res));
        aml_pkg_close(a, dev);
}

static void aml_virtio(Aml *a, unsigned i, const AcpiDevice *d) {
        uint8_t res[12 + 9];
        char seg[5];
        uint32_t base = (uint32_t) d->mmio_base, size = d->mmio_size;
        size_t dev;

        snprintf(seg, sizeof(seg), "V%03u", i);
        /* Memory32Fixed(ReadWrite, base, size) */
        res[0] = 0x86;
        res[1] = 9;
        res[2] = 0;
        res[3] = 1;
        memcpy(res + 4, &base, 4);
        memcpy(res + 8, &size, 4);
        /* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { irq } */
        res[12] = 0x89;
        res[13] = 6;
        res[14] = 0;
        res[15] = 0x03; /* consumer, edge-triggered */
        res[16] = 1;
        memcpy(res + 17, &d->irq, 4);

        dev = aml_device_open(a, seg);
        aml_name(a, "_HID");
        aml_string(a, "LNRO0005");
        aml_name(a, "_UID");
        aml_int(a, i);
        aml_crs(a, res, sizeof(res));
        aml_pkg_close(a, dev);
}

static int build_dsdt(uint8_t *t, size_t cap, const AcpiDevice *devs, size_t n, uint32_t *ret_len) {
        Aml a = { .buf = t + 36, .cap = cap - 36 };
        size_t scope, pkg;

        aml_byte(&a, 0x10); /* ScopeOp */
        scope = a.len;
        aml_bytes(&a, "\\_SB_", 5);
        aml_com1(&a);
        for (size_t i = 0; i < n; i++)
                aml_virtio(&a, (unsigned) i, &devs[i]);
        aml_pkg_close(&a, scope);

        /* Name(_S5, Package() { 5, 0 }): SLP_TYP for poweroff through the sleep control register */
        aml_name(&a, "_S5_");
        aml_byte(&a, 0x12); /* PackageOp */
        pkg = a.len;
        aml_byte(&a, 2);
        aml_int(&a, 5);
        aml_int(&a, 0);
        aml_pkg_close(&a, pkg);
        if (a.overflow)
                return -ENOSPC;

        header(t, "DSDT", 0, 2);
        *ret_len = (uint32_t) (36 + a.len);
        finish(t, *ret_len);
        return 0;
}

static uint32_t build_madt(uint8_t *t, unsigned n_cpus) {
        uint32_t lapic = (uint32_t) VM_LAPIC_BASE, ioapic = (uint32_t) VM_IOAPIC_BASE, flags = 0, len = 44;

        header(t, "APIC", 0, 5);
        memcpy(t + 36, &lapic, 4);
        memcpy(t + 40, &flags, 4);
        for (unsigned i = 0; i < n_cpus; i++, len += 8) {
                uint8_t *e = t + len;
                e[0] = 0; /* Processor Local APIC */
                e[1] = 8;
                e[2] = (uint8_t) i; /* ACPI processor UID */
                e[3] = (uint8_t) i; /* APIC ID */
                e[4] = 1; /* enabled */
                e[5] = e[6] = e[7] = 0;
        }
        t[len] = 1; /* I/O APIC */
        t[len + 1] = 12;
        t[len + 2] = (uint8_t) n_cpus; /* its APIC ID, after the CPUs' */
        t[len + 3] = 0;
        memcpy(t + len + 4, &ioapic, 4);
        memset(t + len + 8, 0, 4); /* GSI base */
        len += 12;
        finish(t, len);
        return len;
}

static void build_fadt(uint8_t *t, uint64_t dsdt) {
        uint32_t flags = FADT_FLAG_HW_REDUCED | FADT_FLAG_RESET_REG_SUP, dsdt32 = (uint32_t) dsdt;

        memset(t, 0, FADT_LEN);
        header(t, "FACP", FADT_LEN, 6);
        memcpy(t + 40, &dsdt32, 4);
        memcpy(t + 112, &flags, 4);
        gas_io(t + 116, RESET_PORT);
        t[128] = 0x06; /* reset value for 0xcf9 */
        t[131] = 5; /* FADT minor version */
        memcpy(t + 140, &dsdt, 8);
        gas_io(t + 244, VM_SLEEP_CONTROL_PORT);
        gas_io(t + 256, VM_SLEEP_STATUS_PORT);
        memcpy(t + 268, "AULAVMM ", 8); /* hypervisor vendor identity */
        finish(t, FADT_LEN);
}

int acpi_build(GuestMem *gm, unsigned n_cpus, const AcpiDevice *devs, size_t n_devs) {
        uint8_t *base, *rsdp;
        uint64_t xsdt = BOOT_ACPI_ADDR + XSDT_OFF,
                 entries[2] = { BOOT_ACPI_ADDR + FADT_OFF, BOOT_ACPI_ADDR + MADT_OFF };
        uint32_t dsdt_len, madt_len, rsdp_len = 36;
        int r;

        if (n_cpus == 0 || n_cpus > VM_MAX_VCPUS)
                return -EINVAL;
        r = gm_slice(gm, BOOT_ACPI_ADDR, BOOT_ACPI_SIZE, (void **) &base);
        if (r < 0)
                return r;
        memset(base, 0, BOOT_ACPI_SIZE);

        r = build_dsdt(base + DSDT_OFF, BOOT_ACPI_SIZE - DSDT_OFF, devs, n_devs, &dsdt_len);
        if (r < 0)
                return r;
        build_fadt(base + FADT_OFF, BOOT_ACPI_ADDR + DSDT_OFF);
        madt_len = build_madt(base + MADT_OFF, n_cpus);
        if (MADT_OFF + madt_len > DSDT_OFF)
                return -ENOSPC;

        header(base + XSDT_OFF, "XSDT", 0, 1);
        memcpy(base + XSDT_OFF + 36, entries, sizeof(entries));
        finish(base + XSDT_OFF, 36 + sizeof(entries));

        rsdp = base;
        memcpy(rsdp, "RSD PTR ", 8);
        memcpy(rsdp + 9, "AULA  ", 6);
        rsdp[15] = 2; /* revision: ACPI 2.0+ with XSDT */
        memcpy(rsdp + 20, &rsdp_len, 4);
        memcpy(rsdp + 24, &xsdt, 8);
        rsdp[8] = acpi_checksum(rsdp, 20);
        rsdp[32] = acpi_checksum(rsdp, 36);
        return 0;
}
