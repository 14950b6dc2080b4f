/* A bare Cortex-M3 start for QEMU (lm3s6965evb): the vector table, .data/.bss set-up,
 * and newlib's system calls on ARM semihosting, so a program's stdin and stdout are
 * QEMU's and its exit code is QEMU's (-semihosting-config enable=on,target=native). */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, end;
int main(void);
void _exit(int code);
int _read(int fd, char *buf, int n);
int _write(int fd, const char *buf, int n);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
int _lseek(int fd, int offset, int whence);
int _kill(int pid, int sig);
int _getpid(void);
void *_sbrk(int delta);
void reset(void);

enum { SYS_OPEN = 0x01, SYS_WRITE = 0x05, SYS_READ = 0x06, SYS_EXIT_EXTENDED = 0x20 };

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static int console(int fd)
{
    static int handles[2] = {-1, -1};
    const int writing = fd != 0;
    if (handles[writing] < 0) {
        const uint32_t args[3] = {(uint32_t)":tt", writing ? 4u : 0u, 3u};
        handles[writing] = semihost(SYS_OPEN, args);
    }
    return handles[writing];
}

void _exit(int code)
{
    const uint32_t args[2] = {0x20026u, (uint32_t)code};  /* ADP_Stopped_ApplicationExit */
    semihost(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}

int _read(int fd, char *buf, int n)
{
    const uint32_t args[3] = {(uint32_t)console(fd), (uint32_t)buf, (uint32_t)n};
    return n - semihost(SYS_READ, args);  /* semihosting answers the bytes not read */
}

int _write(int fd, const char *buf, int n)
{
    const uint32_t args[3] = {(uint32_t)console(fd), (uint32_t)buf, (uint32_t)n};
    return n - semihost(SYS_WRITE, args);
}

int _close(int fd)
{
    (void)fd;
    return 0;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    (void)fd;
    return 0;  /* fully buffered: the bytes are binary records */
}

int _lseek(int fd, int offset, int whence)
{
    (void)fd;
    (void)offset;
    (void)whence;
    return 0;
}

int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}

void *_sbrk(int delta)
{
    static char *brk = (char *)&end;
    char *previous = brk;
    brk += delta;
    return previous;
}

void reset(void)
{
    uint32_t *from = &_sidata, *to = &_sdata;
    while (to < &_edata) {
        *to++ = *from++;
    }
    for (to = &_sbss; to < &_ebss; to++) {
        *to = 0;
    }
    _exit(main());
}

__attribute__((section(".vectors"), used)) static const uintptr_t vectors[2] = {
    (uintptr_t)&_estack, (uintptr_t)reset,
};
