/*
 * Benchmark guest shared by aula-vmm and QEMU: its instructions encode the
 * same in 32-bit protected mode (QEMU's PVH entry) and 64-bit mode (aula-vmm's
 * 64-bit boot protocol entry). It prints '!' as its very first action, waits
 * for one byte on the UART (so the VMM's resident memory can be measured while
 * it idles), then powers off every way either VMM understands.
 */
        .section .text.start, "ax"
        .globl _start
_start:
        mov $0x21, %al          /* '!' */
        mov $0x3f8, %dx
        outb %al, %dx
        mov $0x3fd, %dx         /* LSR: wait for data ready */
1:      inb %dx, %al
        test $1, %al
        jz 1b
        mov $0x34, %al          /* aula-vmm: ACPI sleep control, SLP_EN | S5 */
        mov $0x3c0, %dx
        outb %al, %dx
        mov $0x0, %al           /* QEMU: isa-debug-exit */
        mov $0xf4, %dx
        outb %al, %dx
2:      hlt
        jmp 2b

        /* Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18), which QEMU's -kernel looks for */
        .section .note.pvh, "a"
        .p2align 2
        .long 4                 /* name size */
        .long 4                 /* desc size */
        .long 18                /* type */
        .asciz "Xen"
        .long _start
