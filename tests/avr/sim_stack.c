/* Pushes PUSHES extra bytes on the stack, then ends: the harness's stack peak must grow by
 * exactly PUSHES over the same program built with PUSHES=0. */
#include <avr/interrupt.h>
#include <avr/sleep.h>

int main(void)
{
	__asm__ __volatile__(".rept " PUSHES "\n\tpush r1\n\t.endr\n"
	                     ".rept " PUSHES "\n\tpop r0\n\t.endr" ::: "r0");
	cli();
	sleep_enable();
	sleep_cpu();
}
