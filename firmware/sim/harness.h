/* What the virtual-board harnesses (vuno, vcortex) share: fatal errors, the host's
 * pseudo-terminal and the text control channel (SCENE.md). */
#ifndef VBOARD_HARNESS_H
#define VBOARD_HARNESS_H

#include <signal.h>
#include <stddef.h>

#define CONTROL_LINE_MAX 256

/* The program's name in its messages ("vuno", "vcortex"); set it first thing in main(). */
extern const char *harness_name;

/* The number of the SIGINT, SIGTERM or SIGHUP that asked us to stop; 0 until then. */
extern volatile sig_atomic_t harness_stop_signal;

/* Catches SIGINT, SIGTERM and SIGHUP into harness_stop_signal, without SA_RESTART: a
 * blocked poll, read or write returns EINTR at once and the main loop sees the signal.
 * SIGPIPE is ignored: a reader that went away is an EPIPE from write(). */
void harness_catch_stop_signals(void);

/* "NAME: error: ..." on stderr, then exit code 2. */
void harness_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* All of `text` to fd; a reader that has gone away ends the program (exit code 2). */
void harness_write_all(int fd, const char *text);

/* A raw 115200-baud pseudo-terminal whose slave we do not keep open, so the master
 * reports POLLHUP until a host opens the port. Announces "port /dev/pts/N" on out_fd
 * and returns the master, non-blocking and closed on exec. */
int harness_open_pty(int out_fd);

/* Cuts a command line in place into its verb (returned) and its arguments, blanks and a
 * trailing carriage return trimmed. */
char *harness_split_command(char *line, char **args);

/* Runs one control line; NULL when it succeeded, else why not. `reply` holds "ok" and may
 * receive a longer ok line (at most `size` bytes). */
typedef const char *control_command_fn(void *ctx, char *line, char *reply, size_t size);

typedef struct {
	char line[CONTROL_LINE_MAX + 1];
	size_t len;
	int overlong;
} control_reader_t;

/* Reads what in_fd has (non-blocking), runs every complete line and answers it on out_fd:
 * "ok ...", or "error: WHY" (also for an over-long line). `quit` is answered here. Returns
 * 0 after `quit` or at end of input (whoever started us is gone), 1 otherwise. */
int harness_read_control(control_reader_t *r, int in_fd, int out_fd, control_command_fn *run,
                         void *ctx);

#endif
