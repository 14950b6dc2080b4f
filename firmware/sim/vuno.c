/* vuno: the virtual Arduino Uno. Runs the very ELF that would be flashed in simavr, bridges
 * UART0 to a pseudo-terminal (or to stdin/stdout), feeds ADC0..ADC3 from the simulated
 * photodiode array (scene.c), counts the cycles of GPIOR0-marked regions, tracks the peak
 * stack use and keeps the EEPROM in a file. Usage and protocol: SCENE.md.
 *
 * Everything runs on one thread: simavr's IRQs are not thread-safe, so the pty, stdin and
 * the control channel are polled between slices of instructions.
 *
 * A board that idles costs next to nothing: while the firmware sleeps (the AVR's SLEEP) and
 * its UART is quiet, simulated time is kept to wall time by waiting on the pty and the
 * control channel, so host input still wakes it at once; busy, it runs as fast as it can. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <avr_adc.h>
#include <avr_eeprom.h>
#include <avr_uart.h>
#include <sim_avr.h>
#include <sim_elf.h>
#include <sim_irq.h>
#include <sim_regbit.h>

#include "harness.h"
#include "scene.h"

#define DEFAULT_MCU "atmega328p"
#define DEFAULT_FREQUENCY 16000000u
#define DEFAULT_VREF_MV 5000u
#define GPIOR0_ADDR 0x3E         /* data address of GPIOR0 on the ATmega48/88/168/328 */
#define SLICE_INSTRUCTIONS 2048  /* instructions between two polls of the file descriptors */
#define IDLE_POLL_NS 20000000LL  /* poll timeout while the CPU is held or stopped */
#define PTY_INPUT_LIMIT 65536    /* stop reading the host beyond this backlog */
#define HOST_BACKLOG_HOLD 4096   /* hold the CPU while this much output waits for the host */
#define REALTIME_MAX_LAG_NS 100000000LL /* further behind than this: forget the backlog */
#define IDLE_MAX_WAIT_NS 20000000LL     /* longest single wait of an idle board */
#define UART_QUIET_BYTES 2       /* byte times since the last UART output before "quiet" */
/* Simulated time this far behind wall time: the harness was stopped (SIGSTOP) or starved (a
 * loaded machine), long enough for a host to time out and re-send */
#define STALL_NS 20000000LL
#define HANDOVER_MAX 256         /* bytes without a frame's end that go to the host anyway */
#define CATCH_UP_MAX_GAP 64      /* byte times between two bytes caught up, sleep or not */

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_MAX_CYCLES = 3, EXIT_CRASHED = 4, EXIT_SIGNAL = 130 };

typedef struct {
	uint8_t *bytes;
	size_t start, end, cap;
} buffer_t;

typedef struct {
	long long wall;            /* ns, CLOCK_MONOTONIC */
	uint64_t cycle;
} clocks_t;                    /* a moment of wall time and the simulated cycle taken with it */

typedef struct {
	avr_t *avr;
	int pty_mode;
	int out_fd;                /* the real stdout: UART bytes (stdio) or control replies (pty) */
	int master_fd;             /* pty master, -1 in stdio mode */
	int host_connected;
	buffer_t to_board, to_host;
	buffer_t sending;          /* pty mode: the frame the board is sending, not yet the host's */
	int xon;
	int catching_up;           /* input that piled up while we were stopped: one byte a time */
	uint64_t caught_up_at;     /* cycle the last such byte went to the firmware */
	clocks_t level;            /* when simulated time last kept up with wall time */
	avr_irq_t *uart_irq, *adc_irq;
	avr_uart_t *uart;
	uint64_t last_uart_output;     /* cycle of the last byte the board sent */
	int asleep;                    /* the last slice ended with the firmware idle asleep */
	clocks_t idle_base;
	scene_t scene;
	uint64_t region_start;
	int in_region;
	uint64_t *regions;
	size_t n_regions, regions_cap;
	uint16_t lowest_sp;
	int spl_written, sph_alone;
	const char *eeprom_path;
	uint8_t *eeprom_saved, *eeprom_now;
	uint32_t eeprom_size;
	control_reader_t control;
	int quit;
	uint64_t max_cycles;
	int realtime;
	int no_idle_sleep;         /* run flat out while the firmware sleeps too (a baseline) */
	clocks_t rt_base;
} vuno_t;

const char *harness_name = "vuno";
#define die harness_die
#define write_all harness_write_all

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static clocks_t clocks_now(const avr_t *avr)
{
	return (clocks_t){ now_ns(), avr->cycle };
}

/* How far simulated time has run ahead of wall time since `base` (negative: behind) */
static long long sim_ahead_ns(const avr_t *avr, const clocks_t *base)
{
	long long sim_ns = (long long)((avr->cycle - base->cycle) * 1000000000.0 / avr->frequency);
	return sim_ns - (now_ns() - base->wall);
}

/* ---- byte buffers: appended at the end, consumed from the start ---- */

static size_t buffer_len(const buffer_t *b)
{
	return b->end - b->start;
}

static void buffer_clear(buffer_t *b)
{
	b->start = b->end = 0;
}

static void buffer_append(buffer_t *b, const uint8_t *data, size_t n)
{
	if (n == 0)
		return;
	if (b->end + n > b->cap && b->start) {
		memmove(b->bytes, b->bytes + b->start, buffer_len(b));
		b->end -= b->start;
		b->start = 0;
	}
	if (b->end + n > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		while (cap < b->end + n)
			cap *= 2;
		b->bytes = realloc(b->bytes, cap);
		if (!b->bytes)
			die("out of memory");
		b->cap = cap;
	}
	memcpy(b->bytes + b->end, data, n);
	b->end += n;
}

static void buffer_consume(buffer_t *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		buffer_clear(b);
}

/* One read(); returns 0 at end of file or on an error, else 1 */
static int read_into(buffer_t *b, int fd)
{
	uint8_t buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	buffer_append(b, buf, (size_t)n);
	return n > 0;
}

/* Writes what fd takes now (a signal to stop cuts a blocked write short); 0, or -1 if fd
 * is gone */
static int write_from(buffer_t *b, int fd)
{
	while (buffer_len(b) && !harness_stop_signal) {
		ssize_t n = write(fd, b->bytes + b->start, buffer_len(b));
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		buffer_consume(b, (size_t)n);
	}
	return 0;
}

/* ---- UART bridge ---- */

/* No byte sent in the last UART_QUIET_BYTES byte times, none waiting in the transmitter */
static int uart_tx_quiet(const vuno_t *v)
{
	const avr_uart_t *u = v->uart;
	return !u->tx_cnt
	       && v->avr->cycle - v->last_uart_output > UART_QUIET_BYTES * u->cycles_per_byte;
}

/* The firmware has read every byte given to it (simavr's receive FIFO is empty; simavr
 * declares no reader for it) and handled it: it sleeps, so nothing waits in its own receive
 * buffer. One that never sleeps still gets a byte every CATCH_UP_MAX_GAP byte times. */
static int board_took_input(const vuno_t *v)
{
	const avr_uart_t *u = v->uart;
	if (u->input.read != u->input.write)
		return 0;
	return v->avr->state == cpu_Sleeping
	       || v->avr->cycle - v->caught_up_at > CATCH_UP_MAX_GAP * u->cycles_per_byte;
}

/* What the host wrote while we were stopped (or starved) reached us all at once; on a real
 * line it would have come spread over that time, while the board kept pace. At line speed it
 * would overrun the firmware's receive buffer (a request takes fewer byte times to arrive
 * than its reply to leave), so it goes in one byte at a time, each once the firmware has
 * taken the one before: a stop of this process costs time, never a byte. */
static void feed_board(vuno_t *v)
{
	while (v->xon && buffer_len(&v->to_board)) {
		if (v->catching_up && !board_took_input(v))
			return;
		v->caught_up_at = v->avr->cycle;
		uint8_t b = v->to_board.bytes[v->to_board.start];
		buffer_consume(&v->to_board, 1);
		avr_raise_irq(v->uart_irq + UART_IRQ_INPUT, b);
	}
	if (!buffer_len(&v->to_board))
		v->catching_up = 0; /* caught up: the host's own pacing holds again */
}

static void hand_over(vuno_t *v)
{
	buffer_append(&v->to_host, v->sending.bytes + v->sending.start, buffer_len(&v->sending));
	buffer_clear(&v->sending);
}

/* In pty mode the host gets what the board sends in whole frames (up to their 0x00
 * delimiter), as a USB-serial chip hands it over in packets: this process may be stopped
 * between two of its writes, and a frame cut in two there would reach the host as a frame
 * whose end never came (see "Stopped" in SCENE.md). Anything else (text mode's lines, whose
 * '\n' may also be a byte inside a frame) goes once the UART is quiet (run()). */
static void on_uart_output(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	vuno_t *v = param;
	uint8_t b = (uint8_t)value;
	v->last_uart_output = v->avr->cycle;
	if (!v->pty_mode) {
		buffer_append(&v->to_host, &b, 1);
	} else if (v->host_connected) { /* a pty nobody has open drops it, like an unplugged chip */
		buffer_append(&v->sending, &b, 1);
		if (b == 0 || buffer_len(&v->sending) >= HANDOVER_MAX)
			hand_over(v);
	}
}

static void on_uart_xon(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	(void)value;
	vuno_t *v = param;
	v->xon = 1;
	feed_board(v);
}

static void on_uart_xoff(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	vuno_t *v = param;
	if (value)
		v->xon = 0;
}

/* ---- ADC: the photodiode array ---- */

static void on_adc_trigger(avr_irq_t *irq, uint32_t value, void *param)
{
	(void)irq;
	vuno_t *v = param;
	union {
		avr_adc_mux_t mux;
		uint32_t raw;
	} e = { .raw = value };
	if (e.mux.kind != ADC_MUX_SINGLE || e.mux.src >= SCENE_PIXELS)
		return;
	unsigned count = scene_adc_count(&v->scene, e.mux.src);
	/* the smallest millivolts that simavr's mV * 1023 / Vref turns back into `count` */
	uint32_t vref = v->avr->avcc;
	uint32_t mv = (count * vref + SCENE_ADC_MAX - 1) / SCENE_ADC_MAX;
	avr_raise_irq(v->adc_irq + ADC_IRQ_ADC0 + e.mux.src, mv);
}

/* ---- GPIOR0 regions and the stack pointer ---- */

static void on_gpior0_write(avr_t *avr, avr_io_addr_t addr, uint8_t value, void *param)
{
	vuno_t *v = param;
	avr->data[addr] = value;
	if (value == 1) {
		v->region_start = avr->cycle;
		v->in_region = 1;
	} else if (value == 0 && v->in_region) {
		if (v->n_regions == v->regions_cap) {
			v->regions_cap = v->regions_cap ? 2 * v->regions_cap : 256;
			v->regions = realloc(v->regions, v->regions_cap * sizeof(*v->regions));
			if (!v->regions)
				die("out of memory");
		}
		v->regions[v->n_regions++] = avr->cycle - v->region_start;
		v->in_region = 0;
	}
}

/* A lone `out SPH` (a function prologue writes SPH, SREG, then SPL) leaves SP half-updated
 * for two instructions; it must not count as a new low. push/call write SPL then SPH. */
static void on_spl_write(avr_t *avr, avr_io_addr_t addr, uint8_t value, void *param)
{
	vuno_t *v = param;
	avr->data[addr] = value;
	v->spl_written = 1;
	v->sph_alone = 0;
}

static void on_sph_write(avr_t *avr, avr_io_addr_t addr, uint8_t value, void *param)
{
	vuno_t *v = param;
	avr->data[addr] = value;
	if (!v->spl_written)
		v->sph_alone = 1;
}

static void track_stack(vuno_t *v)
{
	if (v->sph_alone)
		return;
	uint16_t sp = v->avr->data[R_SPL] | (v->avr->data[R_SPH] << 8);
	if (sp < v->lowest_sp)
		v->lowest_sp = sp;
}

static unsigned stack_peak(const vuno_t *v)
{
	return v->lowest_sp >= v->avr->ramend ? 0 : v->avr->ramend - v->lowest_sp;
}

/* ---- EEPROM file ---- */

static void eeprom_fetch(vuno_t *v, uint8_t *into)
{
	avr_eeprom_desc_t desc = { .ee = into, .offset = 0, .size = v->eeprom_size };
	avr_ioctl(v->avr, AVR_IOCTL_EEPROM_GET, &desc);
}

static void eeprom_load(vuno_t *v)
{
	v->eeprom_size = v->avr->e2end + 1;
	v->eeprom_saved = malloc(v->eeprom_size);
	v->eeprom_now = malloc(v->eeprom_size);
	if (!v->eeprom_saved || !v->eeprom_now)
		die("out of memory");
	FILE *f = fopen(v->eeprom_path, "rb");
	if (f) {
		size_t n = fread(v->eeprom_saved, 1, v->eeprom_size, f);
		int longer = fgetc(f) != EOF;
		fclose(f);
		if (n != v->eeprom_size || longer)
			die("%s: an EEPROM image must be exactly %u bytes", v->eeprom_path,
			    (unsigned)v->eeprom_size);
		avr_eeprom_desc_t desc = { .ee = v->eeprom_saved, .offset = 0, .size = v->eeprom_size };
		avr_ioctl(v->avr, AVR_IOCTL_EEPROM_SET, &desc);
	} else if (errno != ENOENT) {
		die("%s: %s", v->eeprom_path, strerror(errno));
	} else {
		eeprom_fetch(v, v->eeprom_saved);
	}
}

/* Written to a temporary file then renamed: a crash never leaves half an image */
static void eeprom_write_file(vuno_t *v, const uint8_t *image)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", v->eeprom_path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(image, 1, v->eeprom_size, f) != v->eeprom_size || fclose(f) != 0
	    || rename(tmp, v->eeprom_path) != 0) {
		fprintf(stderr, "vuno: error: cannot write %s: %s\n", v->eeprom_path, strerror(errno));
		unlink(tmp);
	}
}

static void eeprom_sync(vuno_t *v, int force)
{
	if (!v->eeprom_path)
		return;
	eeprom_fetch(v, v->eeprom_now);
	if (force || memcmp(v->eeprom_now, v->eeprom_saved, v->eeprom_size) != 0) {
		eeprom_write_file(v, v->eeprom_now);
		memcpy(v->eeprom_saved, v->eeprom_now, v->eeprom_size);
	}
}

/* ---- control channel (pty mode: stdin lines, replies on stdout) ---- */

static void format_cycles(const vuno_t *v, char *out, size_t size)
{
	uint64_t min = 0, max = 0, last = 0;
	for (size_t i = 0; i < v->n_regions; i++) {
		uint64_t c = v->regions[i];
		min = (i == 0 || c < min) ? c : min;
		max = c > max ? c : max;
		last = c;
	}
	snprintf(out, size, "ok cycles=%llu regions=%zu last=%llu min=%llu max=%llu stack_peak=%u",
	         (unsigned long long)v->avr->cycle, v->n_regions, (unsigned long long)last,
	         (unsigned long long)min, (unsigned long long)max, stack_peak(v));
}

static void hard_reset(vuno_t *v)
{
	avr_reset(v->avr);
	avr_regbit_set(v->avr, v->avr->reset_flags.extrf); /* MCUSR says: external reset */
	buffer_clear(&v->to_board);
	v->catching_up = 0;
	v->xon = 0;
	v->in_region = 0;
}

/* Runs one command; NULL or an error message. `reply` may receive a longer ok line. */
static const char *run_command(void *ctx, char *line, char *reply, size_t reply_size)
{
	vuno_t *v = ctx;
	char *args, *verb = harness_split_command(line, &args);
	if (strcmp(verb, "reset") == 0) {
		hard_reset(v);
		return NULL;
	}
	if (strcmp(verb, "cycles") == 0) {
		format_cycles(v, reply, reply_size);
		return NULL;
	}
	return scene_command(&v->scene, verb, args);
}

static void read_control(vuno_t *v)
{
	if (!harness_read_control(&v->control, STDIN_FILENO, v->out_fd, run_command, v))
		v->quit = 1; /* asked to, or whoever started us is gone */
}

/* ---- file descriptors ---- */

static int cpu_held(const vuno_t *v)
{
	if (!v->pty_mode)
		return 0;
	return !v->host_connected || buffer_len(&v->to_host) > HOST_BACKLOG_HOLD;
}

static void drop_output(vuno_t *v)
{
	buffer_clear(&v->sending);
	buffer_clear(&v->to_host);
}

/* A pty master reports POLLHUP, at once and for ever, while no host has the port open:
 * check that first, and leave the master out of a blocking poll until a host is there. */
static int host_present(vuno_t *v)
{
	struct pollfd pfd = { .fd = v->master_fd, .events = 0 };
	int present = poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
	if (!present)
		drop_output(v);
	return present;
}

static void service_pty(vuno_t *v, short revents)
{
	int gone = (revents & (POLLHUP | POLLERR)) != 0;
	if (!gone && (revents & POLLIN))
		gone = !read_into(&v->to_board, v->master_fd);
	if (!gone && write_from(&v->to_host, v->master_fd) != 0)
		gone = 1;
	if (gone) {
		v->host_connected = 0;
		drop_output(v);
	}
}

/* Whether simulated time fell more than STALL_NS behind wall time since it last kept up.
 * It is not run forward to make up for it: the board was stopped with us. */
static int fell_behind(vuno_t *v)
{
	long long ahead = sim_ahead_ns(v->avr, &v->level);
	if (ahead >= 0 || ahead < -STALL_NS)
		v->level = clocks_now(v->avr);
	return ahead < -STALL_NS;
}

/* pty mode: the control channel on stdin, the host on the pty master; waits up to
 * timeout_ns for one of them */
static void service_pty_mode(vuno_t *v, long long timeout_ns)
{
	struct timespec timeout = { timeout_ns / 1000000000LL, timeout_ns % 1000000000LL };
	struct pollfd fds[2] = { { .fd = STDIN_FILENO, .events = POLLIN } };
	nfds_t n = 1;
	v->host_connected = host_present(v);
	if (v->host_connected) {
		short events = buffer_len(&v->to_board) < PTY_INPUT_LIMIT ? POLLIN : 0;
		if (buffer_len(&v->to_host))
			events |= POLLOUT;
		fds[n++] = (struct pollfd){ .fd = v->master_fd, .events = events };
	}
	if (ppoll(fds, n, &timeout, NULL) < 0)
		return; /* EINTR: a signal, seen by the main loop */
	int stalled = fell_behind(v);
	if (fds[0].revents)
		read_control(v);
	if (n == 2)
		service_pty(v, fds[1].revents);
	if (stalled && buffer_len(&v->to_board))
		v->catching_up = 1;
	feed_board(v);
}

/* stdio mode: the whole input is read before the start, so a run is deterministic (a
 * signal to stop ends the wait for more) */
static void read_all_stdin(vuno_t *v)
{
	while (!harness_stop_signal && read_into(&v->to_board, STDIN_FILENO))
		;
}

/* ---- pacing ---- */

static void throttle(vuno_t *v)
{
	long long ahead = sim_ahead_ns(v->avr, &v->rt_base);
	if (ahead > 0) {
		struct timespec ts = { ahead / 1000000000LL, ahead % 1000000000LL };
		nanosleep(&ts, NULL);
	} else if (ahead < -REALTIME_MAX_LAG_NS) {
		v->rt_base = clocks_now(v->avr);
	}
}

/* The firmware waits for an interrupt with nothing on the line: no byte queued for it, none
 * in simavr's receive FIFO or transmitter, none sent in the last UART_QUIET_BYTES byte times
 * (a firmware's transmit ring refills the UART from its interrupt, one byte at a time). */
static int idle_asleep(const vuno_t *v)
{
	const avr_uart_t *u = v->uart;
	if (v->avr->state != cpu_Sleeping || buffer_len(&v->to_board))
		return 0;
	return u->input.read == u->input.write && uart_tx_quiet(v);
}

/* How long an idle board may wait for the host before simulated time passes wall time */
static long long idle_wait_ns(vuno_t *v)
{
	long long ahead = sim_ahead_ns(v->avr, &v->idle_base);
	if (ahead < -REALTIME_MAX_LAG_NS)
		v->idle_base = clocks_now(v->avr);
	return ahead <= 0 ? 0 : ahead < IDLE_MAX_WAIT_NS ? ahead : IDLE_MAX_WAIT_NS;
}

/* simavr's default sleep callback usleep()s through the firmware's sleep; we pace ourselves */
static void no_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
	(void)avr;
	(void)how_long;
}

/* ---- set-up ---- */

/* mcu / frequency (0: none given) from the command line win over the ELF's .mmcu section */
static avr_t *load_board(const char *elf_path, const char *mcu, uint32_t frequency, vuno_t *v)
{
	elf_firmware_t fw;
	memset(&fw, 0, sizeof(fw));
	if (access(elf_path, R_OK) != 0)
		die("%s: %s", elf_path, strerror(errno));
	if (elf_read_firmware(elf_path, &fw) != 0)
		die("%s: not an AVR ELF file simavr can load", elf_path);
	if (mcu)
		snprintf(fw.mmcu, sizeof(fw.mmcu), "%s", mcu);
	if (frequency)
		fw.frequency = frequency;
	if (!fw.mmcu[0])
		strcpy(fw.mmcu, DEFAULT_MCU);
	if (!fw.frequency)
		fw.frequency = DEFAULT_FREQUENCY;
	avr_t *avr = avr_make_mcu_by_name(fw.mmcu);
	if (!avr)
		die("%s: simavr does not know the MCU '%s'", elf_path, fw.mmcu);
	avr_init(avr);
	avr_load_firmware(avr, &fw);
	avr->vcc = fw.vcc ? fw.vcc : DEFAULT_VREF_MV;
	avr->avcc = fw.avcc ? fw.avcc : DEFAULT_VREF_MV;
	avr->aref = fw.aref ? fw.aref : DEFAULT_VREF_MV;
	avr->sleep = no_sleep;
	avr->log = LOG_ERROR;

	uint32_t flags = 0;
	avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
	flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
	avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	for (avr_io_t *io = avr->io_port; io; io = io->next) {
		if (strcmp(io->kind, "uart") == 0 && ((avr_uart_t *)io)->name == '0')
			v->uart = (avr_uart_t *)io;
	}
	v->uart_irq = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), 0);
	v->adc_irq = avr_io_getirq(avr, AVR_IOCTL_ADC_GETIRQ, 0);
	if (!v->uart || !v->uart_irq || !v->adc_irq)
		die("%s: the MCU '%s' has no UART0 or no ADC", elf_path, fw.mmcu);
	avr_irq_register_notify(v->uart_irq + UART_IRQ_OUTPUT, on_uart_output, v);
	avr_irq_register_notify(v->uart_irq + UART_IRQ_OUT_XON, on_uart_xon, v);
	avr_irq_register_notify(v->uart_irq + UART_IRQ_OUT_XOFF, on_uart_xoff, v);
	/* every conversion must draw fresh noise, even on an unchanged channel */
	v->adc_irq[ADC_IRQ_OUT_TRIGGER].flags &= ~IRQ_FLAG_FILTERED;
	avr_irq_register_notify(v->adc_irq + ADC_IRQ_OUT_TRIGGER, on_adc_trigger, v);
	avr_register_io_write(avr, GPIOR0_ADDR, on_gpior0_write, v);
	avr_register_io_write(avr, R_SPL, on_spl_write, v);
	avr_register_io_write(avr, R_SPH, on_sph_write, v);
	return avr;
}

/* libsimavr printf()s to stdout (UART baud changes); stdout is ours, so it goes elsewhere */
static int claim_stdout(void)
{
	fflush(stdout);
	int out = dup(STDOUT_FILENO);
	int devnull = open("/dev/null", O_WRONLY);
	if (out < 0 || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
		die("cannot redirect stdout: %s", strerror(errno));
	close(devnull);
	return out;
}

static void usage(void)
{
	die("usage: vuno (--pty | --stdio) [--mcu NAME] [--frequency HZ] [--eeprom FILE] "
	    "[--realtime] [--no-idle-sleep] [--max-cycles N] [-c COMMAND]... FIRMWARE.elf");
}

static void report_batch(const vuno_t *v, const char *end)
{
	for (size_t i = 0; i < v->n_regions; i++)
		fprintf(stderr, "region %llu\n", (unsigned long long)v->regions[i]);
	fprintf(stderr, "stack_peak %u\ncycles %llu\nend %s\n", stack_peak(v),
	        (unsigned long long)v->avr->cycle, end);
}

static int run(vuno_t *v)
{
	v->rt_base = v->level = clocks_now(v->avr);
	while (!v->quit && !harness_stop_signal) {
		int state = v->avr->state;
		int stopped = state == cpu_Done || state == cpu_Crashed;
		if (!v->pty_mode && (stopped || (v->max_cycles && v->avr->cycle >= v->max_cycles)))
			break;
		int idle = stopped || cpu_held(v);
		if (buffer_len(&v->sending) && (stopped || uart_tx_quiet(v)))
			hand_over(v);
		if (v->pty_mode) {
			service_pty_mode(v, idle ? IDLE_POLL_NS : v->asleep ? idle_wait_ns(v) : 0);
		} else if (write_from(&v->to_host, v->out_fd) != 0) {
			break; /* nobody reads our output any more */
		}
		if (idle || cpu_held(v)) { /* simulated time waits, on purpose */
			v->rt_base = v->level = clocks_now(v->avr);
			continue;
		}
		int was_asleep = v->asleep;
		v->asleep = 0;
		for (int i = 0; i < SLICE_INSTRUCTIONS; i++) {
			v->spl_written = 0;
			state = avr_run(v->avr);
			track_stack(v);
			if (v->catching_up)
				feed_board(v);
			if (state == cpu_Done || state == cpu_Crashed)
				break;
			if (v->pty_mode && !v->realtime && !v->no_idle_sleep && idle_asleep(v)) {
				v->asleep = 1;
				break;
			}
		}
		if (v->asleep && !was_asleep)
			v->idle_base = clocks_now(v->avr);
		if (state == cpu_Crashed)
			fprintf(stderr, "vuno: the firmware crashed at pc 0x%04x\n", (unsigned)v->avr->pc);
		if (v->realtime)
			throttle(v);
		eeprom_sync(v, 0);
	}
	if (!v->pty_mode)
		write_from(&v->to_host, v->out_fd); /* not after a signal: the reader may be gone */
	eeprom_sync(v, 1);
	if (harness_stop_signal)
		return EXIT_SIGNAL;
	if (v->pty_mode)
		return EXIT_OK;
	if (v->avr->state == cpu_Crashed) {
		report_batch(v, "crashed");
		return EXIT_CRASHED;
	}
	if (v->avr->state != cpu_Done) {
		report_batch(v, "max-cycles");
		return EXIT_MAX_CYCLES;
	}
	report_batch(v, "sleep");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static vuno_t v;
	const char *elf = NULL, *mcu = NULL;
	uint32_t frequency = 0;
	const char *commands[64];
	int n_commands = 0, mode_set = 0;
	v.master_fd = -1;
	scene_init(&v.scene);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_value = i + 1 < argc;
		if (strcmp(a, "--pty") == 0 || strcmp(a, "--stdio") == 0) {
			v.pty_mode = a[2] == 'p';
			mode_set++;
		} else if (strcmp(a, "--realtime") == 0) {
			v.realtime = 1;
		} else if (strcmp(a, "--no-idle-sleep") == 0) {
			v.no_idle_sleep = 1;
		} else if (strcmp(a, "--mcu") == 0 && has_value) {
			mcu = argv[++i];
		} else if (strcmp(a, "--frequency") == 0 && has_value) {
			char *end;
			unsigned long hz = strtoul(argv[++i], &end, 10);
			if (*end || argv[i][0] == '-' || hz == 0 || hz > 100000000UL)
				die("--frequency needs a clock in Hz (1..100000000)");
			frequency = (uint32_t)hz;
		} else if (strcmp(a, "--eeprom") == 0 && has_value) {
			v.eeprom_path = argv[++i];
		} else if (strcmp(a, "--max-cycles") == 0 && has_value) {
			char *end;
			v.max_cycles = strtoull(argv[++i], &end, 10);
			if (*end || argv[i][0] == '-')
				die("--max-cycles needs a non-negative integer");
		} else if (strcmp(a, "-c") == 0 && has_value) {
			if (n_commands == (int)(sizeof(commands) / sizeof(commands[0])))
				die("too many -c commands");
			commands[n_commands++] = argv[++i];
		} else if (a[0] != '-' && !elf) {
			elf = a;
		} else {
			usage();
		}
	}
	if (!elf || mode_set != 1)
		usage();
	v.out_fd = claim_stdout();
	harness_catch_stop_signals();
	v.avr = load_board(elf, mcu, frequency, &v);
	v.lowest_sp = v.avr->ramend;
	for (int i = 0; i < n_commands; i++) {
		char line[CONTROL_LINE_MAX + 1], reply[CONTROL_LINE_MAX + 64];
		snprintf(line, sizeof(line), "%s", commands[i]);
		const char *error = run_command(&v, line, reply, sizeof(reply));
		if (error)
			die("-c '%s': %s", commands[i], error);
	}
	if (v.eeprom_path)
		eeprom_load(&v);
	if (v.pty_mode)
		v.master_fd = harness_open_pty(v.out_fd);
	else
		read_all_stdin(&v);
	int status = run(&v);
	/* a signal during the report may have cut it short (no SA_RESTART): never pass it off
	 * as a whole one */
	return harness_stop_signal ? EXIT_SIGNAL : status;
}
