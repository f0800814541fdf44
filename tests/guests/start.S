/*
 * Entry of every tiny guest (64-bit boot protocol state: long mode, identity
 * paging, %rsi = boot_params, stack below 0x9000). The first instruction
 * writes the boot-time marker; main()'s return value goes to the debug status
 * register, then ACPI S5 powers off.
 */
        .section .text.start, "ax"
        .globl _start
_start:
        mov $0xd0800000, %eax       /* VM_DEBUG_BASE: boot-time marker */
        movb $1, (%rax)
        mov %rsi, %rdi
        call guest_main
        mov $0xd0800004, %edx       /* VM_DEBUG_STATUS */
        mov %eax, (%rdx)
        mov $0x34, %al              /* SLP_EN | SLP_TYP(5) */
        mov $0x3c0, %dx
        outb %al, %dx
1:      hlt
        jmp 1b
