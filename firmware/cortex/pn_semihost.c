/* See pn_semihost.h; the operation numbers and argument blocks are those of ARM's
 * "Semihosting for AArch32 and AArch64" specification (SYS_OPEN 0x01 ...). */
#include "pn_semihost.h"

#include <string.h>

enum { SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITE = 0x05, SYS_READ = 0x06 };
enum { MODE_READ_BINARY = 1, MODE_WRITE_BINARY = 5 }; /* fopen "rb", "wb" */

static int32_t semihost_call(uint32_t op, void *args)
{
    register uint32_t r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

int32_t pn_semihost_open(const char *path, int write)
{
    uint32_t args[3];
    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = write ? MODE_WRITE_BINARY : MODE_READ_BINARY;
    args[2] = (uint32_t)strlen(path);
    return semihost_call(SYS_OPEN, args);
}

/* SYS_READ and SYS_WRITE return how many bytes were NOT transferred. */
static uint32_t transfer(uint32_t op, int32_t handle, const uint8_t *buf, uint32_t n)
{
    uint32_t args[3];
    int32_t left;
    args[0] = (uint32_t)handle;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = n;
    left = semihost_call(op, args);
    return (left < 0 || (uint32_t)left > n) ? 0 : n - (uint32_t)left;
}

uint32_t pn_semihost_read(int32_t handle, uint8_t *buf, uint32_t n)
{
    return transfer(SYS_READ, handle, buf, n);
}

uint32_t pn_semihost_write(int32_t handle, const uint8_t *buf, uint32_t n)
{
    return transfer(SYS_WRITE, handle, buf, n);
}

void pn_semihost_close(int32_t handle)
{
    uint32_t args[1];
    args[0] = (uint32_t)handle;
    (void)semihost_call(SYS_CLOSE, args);
}
