#!/usr/bin/env bats
# The ACPI tables aula-vmm gives stock kernels, checked by ACPICA's disassembler.

load microvm-lib

setup() {
        command -v iasl >/dev/null || need "no iasl (acpica-tools)"
        [ -x "$AULA_ACPI_DUMP" ] || need "acpi-dump was not built"
}

disassemble() {
        local d="$BATS_TEST_TMPDIR/$1"
        mkdir -p "$d"
        "$AULA_ACPI_DUMP" "$d" "$2" "$3"
        for t in xsdt facp apic dsdt; do
                (cd "$d" && iasl -d "$t.dat" >"$t.log" 2>&1) || { cat "$d/$t.log"; return 1; }
        done
        echo "$d"
}

@test "tables disassemble without errors, with every device and CPU" {
        local d
        d=$(disassemble small 2 4)
        grep -q 'Hardware Reduced (V5) : 1' "$d/facp.dsl"
        [ "$(grep -c '"LNRO0005"' "$d/dsdt.dsl")" -eq 4 ]
        grep -q 'EisaId ("PNP0501")' "$d/dsdt.dsl"
        grep -q 'Name (_S5, Package (0x02)' "$d/dsdt.dsl"
        grep -q '0xD0003000,' "$d/dsdt.dsl"
        [ "$(grep -c 'Local Apic ID' "$d/apic.dsl")" -eq 2 ]
        ! grep -qiE 'invalid|incorrect|error|warning' "$d"/*.log "$d"/*.dsl
}

@test "the largest configuration still disassembles" {
        local d
        d=$(disassemble big 32 10)
        [ "$(grep -c '"LNRO0005"' "$d/dsdt.dsl")" -eq 10 ]
        [ "$(grep -c 'Local Apic ID' "$d/apic.dsl")" -eq 32 ]
        ! grep -qiE 'invalid|incorrect|error|warning' "$d"/*.log "$d"/*.dsl
}
