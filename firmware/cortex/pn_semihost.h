/* ARM semihosting: file calls the debugger (here QEMU, `-semihosting-config enable=on`)
 * carries out on the host. On a board without a debugger attached they fault: only the
 * virtual board's hooks use them. */
#ifndef PN_SEMIHOST_H
#define PN_SEMIHOST_H

#include <stdint.h>

/* A host file opened for binary reading (`write` 0) or replacing (`write` 1); -1 if not. */
int32_t pn_semihost_open(const char *path, int write);
/* Bytes transferred (the count asked for, less what was short), never more. */
uint32_t pn_semihost_read(int32_t handle, uint8_t *buf, uint32_t n);
uint32_t pn_semihost_write(int32_t handle, const uint8_t *buf, uint32_t n);
void pn_semihost_close(int32_t handle);

#endif
