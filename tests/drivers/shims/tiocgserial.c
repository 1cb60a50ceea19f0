/* LD_PRELOAD shim: answers TIOCGSERIAL on any descriptor, as a UART's driver would.
 *
 * isdv4-serial-debugger (xf86-input-wacom) refuses a device that does not answer TIOCGSERIAL
 * ("Not a serial device?"); a pty does not. Every other ioctl goes to the C library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/serial.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

int ioctl(int fd, unsigned long request, ...)
{
    static int (*next_ioctl)(int, unsigned long, ...);
    va_list args;
    void *argument;

    va_start(args, request);
    argument = va_arg(args, void *);
    va_end(args);

    if (request == TIOCGSERIAL) {
        memset(argument, 0, sizeof(struct serial_struct));
        return 0;
    }
    if (!next_ioctl)
        next_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
    return next_ioctl(fd, request, argument);
}
