/* vcortex: the virtual Cortex-M3. Runs the firmware ELF in QEMU (`lm3s6965evb`), bridges
 * the board's UART0 to a pseudo-terminal, answers the conversions the board asks for on its
 * sensor line (UART1) from the simulated photodiode array (scene.c), and collects the
 * inference timings the board reports on that line. Usage and protocol: SCENE.md.
 *
 * QEMU gets both UARTs as sockets (socketpairs we keep the other ends of), so a hard reset
 * (a fresh QEMU) keeps the same pseudo-terminal, and the calibration file sits in the state
 * directory, QEMU's working directory, where the firmware's semihosting calls find it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scene.h"

#define MACHINE "lm3s6965evb"
#define TICK_NS 20               /* the firmware's timer tick: one cycle at 50 MHz */
#define CHILD_HOST_FD 3          /* where QEMU finds its UART0 socket ... */
#define CHILD_SENSOR_FD 4        /* ... and its UART1 socket */
#define TO_BOARD_MAX 4096        /* host bytes held while QEMU's UART is full */
#define TO_HOST_MAX (1u << 20)   /* board bytes held while the host does not read */
#define IDLE_POLL_MS 20          /* how often a port nobody has open is checked */
#define MAX_CONTROL_ARGS 16
#define SENSOR_MARK_REPORT 0x10  /* followed by 4 bytes: ticks of one inference, LE */

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_QEMU_DIED = 4, EXIT_SIGNAL = 130 };

typedef struct {
	uint8_t *bytes;
	size_t len, cap;
} queue_t;

typedef struct {
	const char *qemu, *firmware, *state_dir;
	int icount_shift;        /* -1: QEMU runs in real time */
	pid_t qemu_pid;
	int host_fd, sensor_fd;  /* our ends of QEMU's UART0 and UART1 */
	int master_fd, host_connected;
	queue_t to_board, to_host;
	scene_t scene;
	int sensor_cut;          /* `sensor off`: the line drops everything, as a cut wire */
	uint8_t mark[5];
	size_t mark_len;         /* bytes of a MARK_REPORT received so far, 0 when none */
	uint64_t marks, last, min, max;
	control_reader_t control;
	int quit;
} vcortex_t;

const char *harness_name = "vcortex";

/* ---- byte queues ---- */

static void queue_init(queue_t *q, size_t cap)
{
	q->bytes = malloc(cap);
	if (!q->bytes)
		harness_die("out of memory");
	q->len = 0;
	q->cap = cap;
}

/* Reads what fits from fd; 0 when the other end is gone. */
static int queue_fill(queue_t *q, int fd)
{
	if (q->len == q->cap)
		return 1;
	ssize_t n = read(fd, q->bytes + q->len, q->cap - q->len);
	if (n > 0)
		q->len += (size_t)n;
	return n != 0 && (n > 0 || errno == EAGAIN || errno == EINTR);
}

/* Writes what fd takes; 0 when the other end is gone. */
static int queue_drain(queue_t *q, int fd)
{
	if (q->len == 0)
		return 1;
	ssize_t n = write(fd, q->bytes, q->len);
	if (n > 0) {
		memmove(q->bytes, q->bytes + n, q->len - (size_t)n);
		q->len -= (size_t)n;
	}
	return n > 0 || errno == EAGAIN || errno == EINTR;
}

/* ---- QEMU ---- */

static void nonblocking_cloexec(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void exec_qemu(const vcortex_t *v, int host, int sensor)
{
	char icount[32];
	const char *argv[32];
	int n = 0;
	if (chdir(v->state_dir) != 0 || dup2(host, CHILD_HOST_FD) < 0
	    || dup2(sensor, CHILD_SENSOR_FD) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		fprintf(stderr, "vcortex: cannot prepare QEMU: %s\n", strerror(errno));
		_exit(127);
	}
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	argv[n++] = v->qemu;
	argv[n++] = "-M";
	argv[n++] = MACHINE;
	argv[n++] = "-nodefaults";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-nic";
	argv[n++] = "none";
	argv[n++] = "-chardev";
	argv[n++] = "socket,id=host,fd=3";
	argv[n++] = "-serial";
	argv[n++] = "chardev:host";
	argv[n++] = "-chardev";
	argv[n++] = "socket,id=sensor,fd=4";
	argv[n++] = "-serial";
	argv[n++] = "chardev:sensor";
	argv[n++] = "-semihosting-config";
	argv[n++] = "enable=on,target=native";
	if (v->icount_shift >= 0) {
		snprintf(icount, sizeof(icount), "shift=%d,sleep=off", v->icount_shift);
		argv[n++] = "-icount";
		argv[n++] = icount;
	}
	argv[n++] = "-kernel";
	argv[n++] = v->firmware;
	argv[n] = NULL;
	execvp(v->qemu, (char *const *)argv);
	fprintf(stderr, "vcortex: cannot run %s: %s\n", v->qemu, strerror(errno));
	_exit(127);
}

static void start_qemu(vcortex_t *v)
{
	int host[2], sensor[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, host) || socketpair(AF_UNIX, SOCK_STREAM, 0, sensor))
		harness_die("socketpair: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		harness_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(host[0]);
		close(sensor[0]);
		exec_qemu(v, host[1], sensor[1]);
	}
	close(host[1]);
	close(sensor[1]);
	v->qemu_pid = pid;
	v->host_fd = host[0];
	v->sensor_fd = sensor[0];
	nonblocking_cloexec(v->host_fd);
	nonblocking_cloexec(v->sensor_fd);
	v->mark_len = 0;
}

static void stop_qemu(vcortex_t *v)
{
	if (v->qemu_pid > 0) {
		kill(v->qemu_pid, SIGKILL);
		waitpid(v->qemu_pid, NULL, 0);
		v->qemu_pid = 0;
	}
	close(v->host_fd);
	close(v->sensor_fd);
}

/* A power-on reset: a fresh QEMU; bytes on their way to the board are lost, as on a wire. */
static void hard_reset(vcortex_t *v)
{
	stop_qemu(v);
	v->to_board.len = 0;
	start_qemu(v);
}

/* ---- the sensor line ---- */

static void record_mark(vcortex_t *v)
{
	uint64_t ticks = (uint64_t)v->mark[1] | (uint64_t)v->mark[2] << 8
		| (uint64_t)v->mark[3] << 16 | (uint64_t)v->mark[4] << 24;
	v->last = ticks;
	v->min = (v->marks == 0 || ticks < v->min) ? ticks : v->min;
	v->max = ticks > v->max ? ticks : v->max;
	v->marks++;
}

static void answer_conversion(vcortex_t *v, uint8_t pixel)
{
	unsigned count = scene_adc_count(&v->scene, pixel);
	uint8_t reply[2] = { (uint8_t)(count & 0xFF), (uint8_t)(count >> 8) };
	/* two bytes into an empty socket buffer: QEMU drains it before it asks again */
	if (write(v->sensor_fd, reply, sizeof(reply)) != (ssize_t)sizeof(reply))
		fprintf(stderr, "vcortex: sensor line: %s\n", strerror(errno));
}

static int service_sensor(vcortex_t *v)
{
	uint8_t buf[256];
	ssize_t n = read(v->sensor_fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return 0;
	for (ssize_t i = 0; i < n && !v->sensor_cut; i++) {
		uint8_t byte = buf[i];
		if (v->mark_len) {
			v->mark[v->mark_len++] = byte;
			if (v->mark_len == sizeof(v->mark)) {
				record_mark(v);
				v->mark_len = 0;
			}
		} else if (byte < SCENE_PIXELS) {
			answer_conversion(v, byte);
		} else if (byte == SENSOR_MARK_REPORT) {
			v->mark[v->mark_len++] = byte;
		} else {
			fprintf(stderr, "vcortex: sensor line: unknown byte 0x%02x\n", byte);
		}
	}
	return 1;
}

/* ---- control channel (stdin lines, replies on stdout) ---- */

static void format_instructions(const vcortex_t *v, char *out, size_t size)
{
	/* ticks * TICK_NS is virtual time; with -icount each instruction takes 2**shift ns */
	double per_tick = (double)TICK_NS / (double)(1u << v->icount_shift);
#define INSTRUCTIONS(t) ((unsigned long long)((double)(t) * per_tick + 0.5))
	snprintf(out, size, "ok instructions marks=%llu last=%llu min=%llu max=%llu",
	         (unsigned long long)v->marks, INSTRUCTIONS(v->last), INSTRUCTIONS(v->min),
	         INSTRUCTIONS(v->max));
#undef INSTRUCTIONS
}

/* Runs one command; NULL or an error message. `reply` may receive a longer ok line. */
static const char *run_command(void *ctx, char *line, char *reply, size_t size)
{
	vcortex_t *v = ctx;
	char *args, *verb = harness_split_command(line, &args);
	if (strcmp(verb, "instructions") == 0) {
		if (v->icount_shift < 0)
			return "instruction counts need a board started with --icount";
		format_instructions(v, reply, size);
		return NULL;
	}
	if (strcmp(verb, "reset") == 0) {
		hard_reset(v);
		return NULL;
	}
	if (strcmp(verb, "sensor") == 0) {
		if (strcmp(args, "off") != 0 && strcmp(args, "on") != 0)
			return "sensor needs on or off";
		v->sensor_cut = args[1] == 'f';
		v->mark_len = 0;
		return NULL;
	}
	return scene_command(&v->scene, verb, args);
}

static void read_control(vcortex_t *v)
{
	if (!harness_read_control(&v->control, STDIN_FILENO, STDOUT_FILENO, run_command, v))
		v->quit = 1; /* asked to, or whoever started us is gone */
}

/* ---- the host's pseudo-terminal ---- */

/* A pty nobody has open drops what the board sends, like an unplugged USB-serial chip. */
static void check_host(vcortex_t *v)
{
	struct pollfd pfd = { .fd = v->master_fd, .events = 0 };
	v->host_connected = poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
	if (!v->host_connected)
		v->to_host.len = 0;
}

/* ---- the loop ---- */

enum { FD_CONTROL, FD_SENSOR, FD_BOARD, FD_HOST, N_FDS };

static int run(vcortex_t *v)
{
	while (!v->quit && !harness_stop_signal) {
		struct pollfd fds[N_FDS] = {
			[FD_CONTROL] = { .fd = STDIN_FILENO, .events = POLLIN },
			[FD_SENSOR] = { .fd = v->sensor_fd, .events = POLLIN },
			[FD_BOARD] = { .fd = v->host_fd, .events = 0 },
			[FD_HOST] = { .fd = -1, .events = 0 },
		};
		check_host(v);
		if (v->to_host.len < v->to_host.cap)
			fds[FD_BOARD].events |= POLLIN;
		if (v->to_board.len)
			fds[FD_BOARD].events |= POLLOUT;
		if (v->host_connected) {
			fds[FD_HOST].fd = v->master_fd;
			fds[FD_HOST].events = (short)((v->to_board.len < v->to_board.cap ? POLLIN : 0)
			                              | (v->to_host.len ? POLLOUT : 0));
		}
		if (poll(fds, N_FDS, v->host_connected ? -1 : IDLE_POLL_MS) < 0) {
			if (errno == EINTR)
				continue;
			harness_die("poll: %s", strerror(errno));
		}
		if (fds[FD_CONTROL].revents)
			read_control(v);
		if (v->quit)
			break;
		int qemu_alive = 1;
		if (fds[FD_SENSOR].revents)
			qemu_alive = service_sensor(v);
		if (qemu_alive && fds[FD_BOARD].revents) {
			qemu_alive = queue_fill(&v->to_host, v->host_fd) && queue_drain(&v->to_board, v->host_fd);
			if (!v->host_connected)
				v->to_host.len = 0;
		}
		if (!qemu_alive) {
			int status = 0;
			waitpid(v->qemu_pid, &status, 0);
			v->qemu_pid = 0;
			fprintf(stderr, "vcortex: QEMU ended (status %d)\n", status);
			return EXIT_QEMU_DIED;
		}
		if (fds[FD_HOST].revents & (POLLHUP | POLLERR)) {
			v->host_connected = 0;
			v->to_host.len = 0;
		} else if (fds[FD_HOST].revents) {
			if (!queue_fill(&v->to_board, v->master_fd) || !queue_drain(&v->to_host, v->master_fd))
				v->to_host.len = 0;
		}
	}
	return harness_stop_signal ? EXIT_SIGNAL : EXIT_OK;
}

static void usage(void)
{
	harness_die("usage: vcortex --qemu QEMU --state DIR [--icount SHIFT] [-c COMMAND]... "
	            "FIRMWARE.elf");
}

int main(int argc, char **argv)
{
	static vcortex_t v;
	const char *commands[MAX_CONTROL_ARGS];
	int n_commands = 0;
	v.icount_shift = -1;
	scene_init(&v.scene);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_value = i + 1 < argc;
		if (strcmp(a, "--qemu") == 0 && has_value)
			v.qemu = argv[++i];
		else if (strcmp(a, "--state") == 0 && has_value)
			v.state_dir = argv[++i];
		else if (strcmp(a, "--icount") == 0 && has_value)
			v.icount_shift = atoi(argv[++i]);
		else if (strcmp(a, "-c") == 0 && has_value && n_commands < MAX_CONTROL_ARGS)
			commands[n_commands++] = argv[++i];
		else if (a[0] != '-' && !v.firmware)
			v.firmware = a;
		else
			usage();
	}
	if (!v.qemu || !v.state_dir || !v.firmware || v.icount_shift > 10)
		usage();
	char *firmware = realpath(v.firmware, NULL);
	if (!firmware)
		harness_die("%s: %s", v.firmware, strerror(errno));
	v.firmware = firmware;
	for (int i = 0; i < n_commands; i++) {
		/* scene commands only: the board is not running yet */
		char line[CONTROL_LINE_MAX + 1], *args;
		snprintf(line, sizeof(line), "%s", commands[i]);
		char *verb = harness_split_command(line, &args);
		const char *error = scene_command(&v.scene, verb, args);
		if (error)
			harness_die("-c %s: %s", commands[i], error);
	}
	harness_catch_stop_signals();
	queue_init(&v.to_board, TO_BOARD_MAX);
	queue_init(&v.to_host, TO_HOST_MAX);
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	v.master_fd = harness_open_pty(STDOUT_FILENO);
	start_qemu(&v);
	int status = run(&v);
	stop_qemu(&v);
	return status;
}
