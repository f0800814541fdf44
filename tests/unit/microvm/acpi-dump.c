/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi-dump DIR [CPUS [DEVICES]]: write the ACPI tables aula-vmm builds into
 * DIR/{rsdp,xsdt,facp,apic,dsdt}.dat, for checking with ACPICA's iasl
 * (tests/integration/microvm-acpi.bats).
 */
#include "microvm-internal.h"

static int dump(const char *dir, const char *name, const uint8_t *p, size_t len) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        if (xasprintf(&path, "%s/%s.dat", dir, name) < 0)
                return -ENOMEM;
        f = fopen(path, "we");
        if (!f || fwrite(p, 1, len, f) != len)
                return -errno;
        return 0;
}

int main(int argc, char *argv[]) {
        static uint8_t ram[2 << 20];
        AcpiDevice devs[VM_MMIO_MAX_DEVICES];
        GuestMem *gm = NULL;
        unsigned cpus = argc > 2 ? (unsigned) atoi(argv[2]) : 2, n = argc > 3 ? (unsigned) atoi(argv[3]) : 4;
        uint64_t xsdt, addr[3];
        const char *names[3] = { "facp", "apic", "dsdt" };
        uint32_t len;
        int r;

        if (argc < 2 || n > VM_MMIO_MAX_DEVICES) {
                fprintf(stderr, "usage: acpi-dump DIR [CPUS [DEVICES]]\n");
                return 2;
        }
        for (unsigned i = 0; i < n; i++)
                devs[i] = (AcpiDevice){ VM_MMIO_BASE + i * VM_MMIO_SIZE, VM_MMIO_SIZE, KVM_GSI_VIRTIO(i) };
        r = gm_new_buffer(ram, 0, sizeof(ram), &gm);
        if (r >= 0)
                r = acpi_build(gm, cpus, devs, n);
        if (r < 0) {
                fprintf(stderr, "acpi-dump: %s\n", strerror(-r));
                return 1;
        }
        memcpy(&xsdt, ram + BOOT_ACPI_ADDR + 24, 8);
        memcpy(&addr[0], ram + xsdt + 36, 8);
        memcpy(&addr[1], ram + xsdt + 44, 8);
        memcpy(&addr[2], ram + addr[0] + 140, 8);
        r = dump(argv[1], "rsdp", ram + BOOT_ACPI_ADDR, 36);
        memcpy(&len, ram + xsdt + 4, 4);
        if (r >= 0)
                r = dump(argv[1], "xsdt", ram + xsdt, len);
        for (int i = 0; r >= 0 && i < 3; i++) {
                memcpy(&len, ram + addr[i] + 4, 4);
                r = dump(argv[1], names[i], ram + addr[i], len);
        }
        gm_free(gm);
        if (r < 0) {
                fprintf(stderr, "acpi-dump: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
