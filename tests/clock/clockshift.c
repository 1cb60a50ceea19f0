/* clockshift: an LD_PRELOAD library that shifts a process's wall clock (CLOCK_REALTIME and its
 * coarse variant, gettimeofday, time) by a number of seconds read from the file named in
 * $CLOCKSHIFT_FILE, re-read at most every 50 ms, so a test can step a running daemon's clock.
 * The monotonic and boot clocks are left alone, as they are when an administrator or NTP
 * steps a real kit's clock.
 *
 * Debian 12's libfaketime (0.9.10) does the same but breaks CPython's time.sleep (EINVAL from
 * its clock_nanosleep wrapper, with or without FAKETIME_DONT_FAKE_MONOTONIC), so the daemon
 * could not run under it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn real;
    if (!real) real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return real;
}

static double shift_seconds(void) {
    static double shift;
    static struct timespec last_read;
    struct timespec now;
    real_clock_gettime()(CLOCK_MONOTONIC, &now);
    double since = (now.tv_sec - last_read.tv_sec) + (now.tv_nsec - last_read.tv_nsec) / 1e9;
    if (last_read.tv_sec == 0 || since > 0.05) {
        const char *path = getenv("CLOCKSHIFT_FILE");
        FILE *file = path ? fopen(path, "r") : NULL;
        double value;
        if (file) {
            if (fscanf(file, "%lf", &value) == 1) shift = value;
            fclose(file);
        }
        last_read = now;
    }
    return shift;
}

static void shift_timespec(struct timespec *ts) {
    double shift = shift_seconds();
    long long whole = (long long)shift;
    long long nanos = ts->tv_nsec + (long long)((shift - whole) * 1e9);
    ts->tv_sec += whole + nanos / 1000000000LL;
    nanos %= 1000000000LL;
    if (nanos < 0) {
        nanos += 1000000000LL;
        ts->tv_sec -= 1;
    }
    ts->tv_nsec = nanos;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int result = real_clock_gettime()(clock, ts);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE))
        shift_timespec(ts);
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec ts;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
