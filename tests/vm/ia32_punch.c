// SPDX-License-Identifier: MIT
/*
 * A 32-bit (ia32) process that punches a 4 KiB hole at the start of the file
 * open on its fd 3, through the ia32 system call table: the guard reads
 * those calls' numbers and registers, not the 64-bit ones. Exits with the
 * call's errno, 0 when it succeeded. Freestanding, so that no 32-bit libc is
 * needed: built with -m32 -nostdlib.
 */
#define NR_IA32_EXIT 1
#define NR_IA32_FALLOCATE 324
#define PUNCH_HOLE_KEEP_SIZE 3	/* FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE */

void _start(void);

/* int $0x80 takes the call in eax, its arguments in ebx, ecx, edx, esi, edi, ebp. */
static long ia32_call(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;

	__asm__ volatile("push %%ebp; mov %7, %%ebp; int $0x80; pop %%ebp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "m"(f)
			 : "memory");
	return ret;
}

void _start(void)
{
	/* fallocate(fd, mode, offset as lo/hi, len as lo/hi) */
	long ret = ia32_call(NR_IA32_FALLOCATE, 3, PUNCH_HOLE_KEEP_SIZE, 0, 0, 4096, 0);

	ia32_call(NR_IA32_EXIT, ret < 0 ? -ret : 0, 0, 0, 0, 0, 0);
	for (;;)
		;
}
