/* SPDX-License-Identifier: Apache-2.0 */
/* ACPI tables: structure, checksums and the devices a stock kernel will look for. */
#include "microvm-internal.h"
#include "tap.h"

#define RAM (2ULL << 20)

static uint8_t *table(uint8_t *ram, uint64_t addr, const char *sig) {
        uint8_t *t = ram + addr;
        uint32_t len;
        ASSERT_EQ(memcmp(t, sig, 4), 0);
        memcpy(&len, t + 4, 4);
        ASSERT_TRUE(len >= 36 && addr + len <= RAM);
        ASSERT_EQ(acpi_checksum(t, len), 0); /* sums to zero */
        return t;
}

static size_t count(const uint8_t *p, size_t n, const char *needle) {
        size_t c = 0, l = strlen(needle);
        for (size_t i = 0; i + l <= n; i++)
                if (memcmp(p + i, needle, l) == 0)
                        c++;
        return c;
}

TEST(acpi_tables_are_linked_and_checksummed) {
        uint8_t *ram = calloc(1, RAM);
        GuestMem *gm = NULL;
        AcpiDevice devs[3] = {
                { 0xd0000000, 0x1000, 5 },
                { 0xd0001000, 0x1000, 6 },
                { 0xd0002000, 0x1000, 7 },
        };
        uint64_t xsdt, fadt, madt, dsdt;
        uint32_t len, flags;
        uint8_t *rsdp = NULL, *t;

        ASSERT_NOT_NULL(ram);
        ASSERT_OK(gm_new_buffer(ram, 0, RAM, &gm));
        ASSERT_OK(acpi_build(gm, 2, devs, 3));

        rsdp = ram + BOOT_ACPI_ADDR;
        ASSERT_EQ(memcmp(rsdp, "RSD PTR ", 8), 0);
        ASSERT_EQ(acpi_checksum(rsdp, 20), 0);
        ASSERT_EQ(acpi_checksum(rsdp, 36), 0);
        ASSERT_EQ(rsdp[15], 2);
        memcpy(&xsdt, rsdp + 24, 8);
        t = table(ram, xsdt, "XSDT");
        memcpy(&len, t + 4, 4);
        ASSERT_EQ(len, 36u + 16u);
        memcpy(&fadt, t + 36, 8);
        memcpy(&madt, t + 44, 8);

        t = table(ram, fadt, "FACP");
        memcpy(&flags, t + 112, 4);
        ASSERT_TRUE(flags & (1U << 20)); /* HW_REDUCED_ACPI */
        memcpy(&dsdt, t + 140, 8);
        ASSERT_EQ(t[244], 1); /* sleep control in system I/O space */
        ASSERT_EQ(t[248], 0xc0); /* at port 0x3c0 */

        t = table(ram, madt, "APIC");
        memcpy(&len, t + 4, 4);
        ASSERT_EQ(len, 44u + 2 * 8 + 12);
        ASSERT_EQ(t[44], 0); /* local APIC of cpu 0 */
        ASSERT_EQ(t[52 + 3], 1); /* APIC id of cpu 1 */
        ASSERT_EQ(t[60], 1); /* I/O APIC */

        t = table(ram, dsdt, "DSDT");
        memcpy(&len, t + 4, 4);
        ASSERT_EQ(count(t, len, "LNRO0005"), 3u);
        ASSERT_EQ(count(t, len, "COM1"), 1u);
        ASSERT_EQ(count(t, len, "_S5_"), 1u);
        ASSERT_EQ(count(t, len, "V002"), 1u);
        gm_free(gm);
        free(ram);
}

TEST(acpi_rejects_bad_input) {
        uint8_t small[4096];
        GuestMem *gm = NULL;

        ASSERT_OK(gm_new_buffer(small, 0, sizeof(small), &gm));
        ASSERT_ERROR(acpi_build(gm, 1, NULL, 0), EFAULT); /* no room at 0xe0000 */
        ASSERT_ERROR(acpi_build(gm, 0, NULL, 0), EINVAL);
        gm_free(gm);
}

TEST(acpi_many_devices_use_long_pkglength) {
        uint8_t *ram = calloc(1, RAM);
        GuestMem *gm = NULL;
        AcpiDevice devs[VM_MMIO_MAX_DEVICES];
        uint64_t xsdt, fadt, dsdt;

        for (unsigned i = 0; i < VM_MMIO_MAX_DEVICES; i++)
                devs[i] = (AcpiDevice){ VM_MMIO_BASE + i * 0x1000ULL, 0x1000, 5 + i };
        ASSERT_OK(gm_new_buffer(ram, 0, RAM, &gm));
        ASSERT_OK(acpi_build(gm, VM_MAX_VCPUS, devs, VM_MMIO_MAX_DEVICES));
        memcpy(&xsdt, ram + BOOT_ACPI_ADDR + 24, 8);
        memcpy(&fadt, ram + xsdt + 36, 8);
        memcpy(&dsdt, ram + fadt + 140, 8);
        (void) table(ram, dsdt, "DSDT");
        /* the \_SB scope is longer than 63 bytes: a two-byte PkgLength whose lead byte says so */
        ASSERT_EQ(ram[dsdt + 36], 0x10);
        ASSERT_EQ(ram[dsdt + 37] >> 6, 1);
        gm_free(gm);
        free(ram);
}
