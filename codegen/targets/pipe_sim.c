/* A byte pipe through I/O registers for AVR cores without a UART (the ATtiny85): simavr
 * runs the program with the whole of stdin ready; a read of GPIOR1 returns the next byte
 * ('Q' once stdin is used up), a write to GPIOR2 appends a byte to stdout, and GPIOR0
 * marks regions whose cycles are counted (1 = start, 0 = end), as on the virtual Uno.
 *
 * usage: pipe_sim MCU HZ GPIOR0 GPIOR1 GPIOR2 MAX_CYCLES FIRMWARE.elf  (addresses: data
 * space, decimal). The report on stderr: "region N" per region, "cycles N", "end STATE".
 * Exit 0 when the program sleeps with interrupts off (done), 3 past MAX_CYCLES, 4 on a
 * crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <simavr/sim_avr.h>
#include <simavr/sim_elf.h>
#include <simavr/sim_io.h>

typedef struct {
	uint8_t *in;
	size_t in_len, in_pos;
	avr_cycle_count_t region_start;
	int in_region;
} pipe_t;

static void on_mark(avr_t *avr, avr_io_addr_t addr, uint8_t value, void *param)
{
	pipe_t *p = param;
	avr->data[addr] = value;
	if (value == 1) {
		p->region_start = avr->cycle;
		p->in_region = 1;
	} else if (value == 0 && p->in_region) {
		fprintf(stderr, "region %llu\n", (unsigned long long)(avr->cycle - p->region_start));
		p->in_region = 0;
	}
}

static uint8_t on_read(avr_t *avr, avr_io_addr_t addr, void *param)
{
	pipe_t *p = param;
	(void)avr;
	(void)addr;
	return p->in_pos < p->in_len ? p->in[p->in_pos++] : (uint8_t)'Q';
}

static FILE *out;  /* the real stdout: libsimavr prints its own messages to fd 1 */

static void on_write(avr_t *avr, avr_io_addr_t addr, uint8_t value, void *param)
{
	(void)param;
	avr->data[addr] = value;
	fputc(value, out);
}

static void no_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
	(void)avr;
	(void)how_long;
}

int main(int argc, char **argv)
{
	pipe_t p;
	size_t cap = 1 << 16;
	ssize_t got;
	elf_firmware_t fw;
	avr_t *avr;
	unsigned long long max_cycles;
	int state;

	if (argc != 8) {
		fprintf(stderr, "usage: pipe_sim MCU HZ GPIOR0 GPIOR1 GPIOR2 MAX_CYCLES FIRMWARE.elf\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.in = malloc(cap);
	while (p.in && (got = read(STDIN_FILENO, p.in + p.in_len, cap - p.in_len)) > 0) {
		p.in_len += (size_t)got;
		if (p.in_len == cap)
			p.in = realloc(p.in, cap *= 2);
	}
	if (!p.in) {
		fprintf(stderr, "out of memory\n");
		return 2;
	}
	out = fdopen(dup(STDOUT_FILENO), "wb");
	got = open("/dev/null", O_WRONLY);
	if (!out || got < 0 || dup2((int)got, STDOUT_FILENO) < 0) {
		fprintf(stderr, "cannot redirect stdout\n");
		return 2;
	}
	memset(&fw, 0, sizeof(fw));
	if (elf_read_firmware(argv[7], &fw) != 0) {
		fprintf(stderr, "%s: not an AVR ELF file simavr can load\n", argv[7]);
		return 2;
	}
	strncpy(fw.mmcu, argv[1], sizeof(fw.mmcu) - 1);
	fw.frequency = (uint32_t)strtoul(argv[2], NULL, 10);
	avr = avr_make_mcu_by_name(fw.mmcu);
	if (!avr) {
		fprintf(stderr, "simavr does not know the MCU '%s'\n", fw.mmcu);
		return 2;
	}
	avr_init(avr);
	avr_load_firmware(avr, &fw);
	avr->sleep = no_sleep;
	avr->log = LOG_ERROR;
	avr_register_io_write(avr, (avr_io_addr_t)atoi(argv[3]), on_mark, &p);
	avr_register_io_read(avr, (avr_io_addr_t)atoi(argv[4]), on_read, &p);
	avr_register_io_write(avr, (avr_io_addr_t)atoi(argv[5]), on_write, &p);
	max_cycles = strtoull(argv[6], NULL, 10);
	do {
		state = avr_run(avr);
	} while (state != cpu_Done && state != cpu_Crashed && avr->cycle < max_cycles);
	fflush(out);
	fprintf(stderr, "cycles %llu\nend %s\n", (unsigned long long)avr->cycle,
	        state == cpu_Done ? "done" : state == cpu_Crashed ? "crashed" : "running");
	return state == cpu_Done ? 0 : state == cpu_Crashed ? 4 : 3;
}
