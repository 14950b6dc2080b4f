/* Jumps beyond the end of flash: simavr reports a crash, which a batch run must not hide. */
int main(void)
{
	((void (*)(void))0x7000)(); /* a word address: byte 0xE000, past the 32 KB of flash */
	for (;;)
		;
}
