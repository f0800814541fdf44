#!/usr/bin/env python3
"""Wrap a flat 64-bit binary (linked at PREF+0x200) into a minimal bzImage.

The result has a one-sector setup with a boot protocol 2.15 header
(Documentation/arch/x86/boot.rst) and XLF_KERNEL_64 set, so a 64-bit boot
loader loads the payload at pref_address and enters it at +0x200.
"""
import struct
import sys

PREF = 0x200000


def main():
    flat, out = sys.argv[1], sys.argv[2]
    payload = bytes(0x200) + open(flat, "rb").read()  # entry is at +0x200
    setup = bytearray(1024)  # setup_sects = 1: boot sector + one setup sector
    setup[0x1F1] = 1
    struct.pack_into("<H", setup, 0x1FE, 0xAA55)
    setup[0x200] = 0xEB  # jmp short over the header
    setup[0x201] = 0x66  # header ends at 0x202 + 0x66
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020F)
    setup[0x211] = 0x01  # LOADED_HIGH
    struct.pack_into("<I", setup, 0x214, 0x100000)  # code32_start
    struct.pack_into("<I", setup, 0x22C, 0x7FFFFFFF)  # initrd_addr_max
    struct.pack_into("<I", setup, 0x230, 0x200000)  # kernel_alignment
    setup[0x234] = 0  # not relocatable: load at pref_address
    struct.pack_into("<H", setup, 0x236, 0x1)  # XLF_KERNEL_64
    struct.pack_into("<I", setup, 0x238, 2047)  # cmdline_size
    struct.pack_into("<Q", setup, 0x258, PREF)  # pref_address
    struct.pack_into("<I", setup, 0x260, len(payload) + 0x10000)  # init_size
    with open(out, "wb") as f:
        f.write(setup)
        f.write(payload)


if __name__ == "__main__":
    main()
