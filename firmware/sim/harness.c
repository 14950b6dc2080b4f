/* See harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

volatile sig_atomic_t harness_stop_signal;

static void on_stop_signal(int sig)
{
	harness_stop_signal = sig;
}

void harness_catch_stop_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop_signal }; /* no SA_RESTART */
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	sigemptyset(&stop.sa_mask);
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &stop, NULL);
	sigaction(SIGPIPE, &ignore, NULL);
}

void harness_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", harness_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

void harness_write_all(int fd, const char *text)
{
	size_t len = strlen(text);
	while (len) {
		ssize_t n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(EXIT_USAGE);
		text += n;
		len -= (size_t)n;
	}
}

int harness_open_pty(int out_fd)
{
	int master, slave;
	char name[256], line[300];
	struct termios tio;
	if (openpty(&master, &slave, name, NULL, NULL) != 0)
		harness_die("openpty: %s", strerror(errno));
	/* raw from the start: no echo, no CR/LF translation before the host configures it */
	tcgetattr(slave, &tio);
	cfmakeraw(&tio);
	cfsetspeed(&tio, B115200);
	tcsetattr(slave, TCSANOW, &tio);
	close(slave);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	fcntl(master, F_SETFD, FD_CLOEXEC);
	snprintf(line, sizeof(line), "port %s\n", name);
	harness_write_all(out_fd, line);
	return master;
}

char *harness_split_command(char *line, char **args)
{
	char *verb = line + strspn(line, " \t");
	char *rest = verb + strcspn(verb, " \t");
	if (*rest)
		*rest++ = '\0';
	rest += strspn(rest, " \t");
	size_t len = strlen(rest);
	while (len && strchr(" \t\r", rest[len - 1]))
		rest[--len] = '\0';
	*args = rest;
	return verb;
}

static void answer(int out_fd, control_command_fn *run, void *ctx, char *line)
{
	char reply[CONTROL_LINE_MAX + 64] = "ok";
	const char *error = run(ctx, line, reply, sizeof(reply));
	if (error)
		snprintf(reply, sizeof(reply), "error: %s", error);
	strcat(reply, "\n");
	harness_write_all(out_fd, reply);
}

int harness_read_control(control_reader_t *r, int in_fd, int out_fd, control_command_fn *run,
                         void *ctx)
{
	char buf[1024];
	ssize_t n = read(in_fd, buf, sizeof(buf));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (r->len < CONTROL_LINE_MAX)
				r->line[r->len++] = buf[i];
			else
				r->overlong = 1;
			continue;
		}
		r->line[r->len] = '\0';
		int overlong = r->overlong;
		r->len = 0;
		r->overlong = 0;
		if (overlong) {
			harness_write_all(out_fd, "error: line too long\n");
			continue;
		}
		char copy[CONTROL_LINE_MAX + 1], *args, *verb;
		memcpy(copy, r->line, sizeof(copy));
		verb = harness_split_command(copy, &args);
		if (strcmp(verb, "quit") == 0 && !*args) {
			harness_write_all(out_fd, "ok\n");
			return 0;
		}
		answer(out_fd, run, ctx, r->line);
	}
	return 1;
}
