/* Fault hook at the OS boundary for crash and storage tests (LD_PRELOAD).
 *
 * While the file named by REKAM_FSYNC_FAULT_FLAG exists, fsync() and fdatasync() of regular
 * files and directories fail with the errno it holds ("EIO" or "EROFS"; EIO if empty), the
 * way a failing disk or a file system remounted read-only answers. Sockets, pipes and ttys
 * are never touched. Delete the file and the calls reach the kernel again.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fault_errno(int fd) {
    const char *flag = getenv("REKAM_FSYNC_FAULT_FLAG");
    struct stat st;
    char word[16] = {0};
    FILE *file;
    if (flag == NULL || fstat(fd, &st) != 0) return 0;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
    file = fopen(flag, "r");
    if (file == NULL) return 0;
    if (fgets(word, sizeof word, file) == NULL) word[0] = 0;
    fclose(file);
    return strncmp(word, "EROFS", 5) == 0 ? EROFS : EIO;
}

int fsync(int fd) {
    static int (*real)(int);
    int error = fault_errno(fd);
    if (error) { errno = error; return -1; }
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    int error = fault_errno(fd);
    if (error) { errno = error; return -1; }
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return real(fd);
}
