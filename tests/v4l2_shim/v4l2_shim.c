/*
 * An emulated V4L2 capture device for tests, loaded with LD_PRELOAD.
 *
 * It intercepts open/openat (and their 64-bit and fortified variants) of configured device
 * paths, or of any symlink chain that leads to one (as udev's /dev/v4l/by-id and by-path links
 * do), and answers the V4L2 ioctls on the returned descriptor, so that OpenCV's own V4L2 backend
 * (modules/videoio/src/cap_v4l.cpp) and Python's fcntl.ioctl talk to it as to a UVC camera.
 *
 * The descriptor is a real eventfd: select()/poll() on it work natively, and it is readable
 * exactly while a filled buffer waits to be dequeued (as a V4L2 node is, per the kernel's
 * "Streaming I/O (Memory Mapping)" documentation). A thread per streaming descriptor produces a
 * frame every 1/fps seconds into the oldest queued buffer; with no buffer queued the frame is
 * dropped, as videobuf2 drivers (uvcvideo) do. Buffers carry CLOCK_MONOTONIC timestamps and
 * V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC.
 *
 * What each ioctl does follows the V4L2 UAPI (include/uapi/linux/videodev2.h and
 * Documentation/userspace-api/media/v4l/vidioc-*.rst in the Linux kernel); how S_FMT picks the
 * nearest frame size follows uvcvideo's uvc_v4l2_try_format (drivers/media/usb/uvc/uvc_v4l2.c):
 * the offered size whose area differs least from the request.
 *
 * Configuration: V4L2SHIM_CONFIG names a text file, one directive per line:
 *   device                          begins a device
 *   path /dev/video7                a path that opens it (several allowed)
 *   card Rekam Face Camera          the name VIDIOC_QUERYCAP reports
 *   frames /tmp/frames              frames live in <frames>/<FOURCC>-<W>x<H>/ (sorted by name;
 *                                   MJPG: one JPEG per file, YUYV: raw width*height*2 bytes)
 *   log /tmp/shim.log               appends "S_FMT", "S_PARM", "S_CTRL", "STREAMON", "DQBUF" lines
 *   format MJPG 1280 720 30 15      a frame size of a format and its frame rates (fps)
 *   control exposure_absolute 3 2047 1 250   a control: name, minimum, maximum, step, default
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVICES 4
#define MAX_PATHS 8
#define MAX_MODES 16
#define MAX_RATES 4
#define MAX_CONTROLS 12
#define MAX_FRAMES 64
#define MAX_BUFFERS 16
#define MAX_HANDLES 32
#define MAX_LINKS 8

struct mode {
    uint32_t fourcc, width, height;
    int n_rates;
    uint32_t rates[MAX_RATES];
};

struct control {
    uint32_t id;
    int32_t minimum, maximum, step, default_value, value;
    uint32_t type;
    const char *name;
};

struct frame {
    unsigned char *data;
    size_t size;
};

struct device {
    char paths[MAX_PATHS][PATH_MAX];
    int n_paths;
    char card[32];
    char frames_dir[PATH_MAX];
    char log_path[PATH_MAX];
    struct mode modes[MAX_MODES];
    int n_modes;
    struct control controls[MAX_CONTROLS];
    int n_controls;
    int mode;       /* current format: an index into modes */
    uint32_t rate;  /* current frames per second */
    struct frame frames[MAX_FRAMES];
    int n_frames;
    int frames_mode; /* which mode the frames were loaded for; -1 none */
    uint64_t newest; /* sequence number of the newest frame produced, +1 (0: none yet) */
};

enum buffer_state { BUF_USER, BUF_QUEUED, BUF_DONE };

struct buffer {
    unsigned char *memory;
    size_t length;
    enum buffer_state state;
    uint64_t order; /* queue/done order, oldest first */
    uint32_t sequence, bytesused;
    struct timeval timestamp;
};

struct handle {
    int fd; /* -1: free slot */
    struct device *device;
    struct buffer buffers[MAX_BUFFERS];
    unsigned n_buffers;
    int streaming, stop, producer_running;
    pthread_t producer;
    struct timespec started;
    uint64_t next_frame;
};

static struct device devices[MAX_DEVICES];
static int n_devices;
static struct handle handles[MAX_HANDLES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static uint64_t order_counter;
static int configured;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mmap64)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_close)(int);

static const struct {
    const char *name;
    uint32_t id, type;
} control_names[] = {
    {"brightness", V4L2_CID_BRIGHTNESS, V4L2_CTRL_TYPE_INTEGER},
    {"gain", V4L2_CID_GAIN, V4L2_CTRL_TYPE_INTEGER},
    {"exposure_auto", V4L2_CID_EXPOSURE_AUTO, V4L2_CTRL_TYPE_MENU},
    {"exposure_absolute", V4L2_CID_EXPOSURE_ABSOLUTE, V4L2_CTRL_TYPE_INTEGER},
    {"focus_auto", V4L2_CID_FOCUS_AUTO, V4L2_CTRL_TYPE_BOOLEAN},
    {"focus_absolute", V4L2_CID_FOCUS_ABSOLUTE, V4L2_CTRL_TYPE_INTEGER},
    {"white_balance_auto", V4L2_CID_AUTO_WHITE_BALANCE, V4L2_CTRL_TYPE_BOOLEAN},
    {"white_balance_temperature", V4L2_CID_WHITE_BALANCE_TEMPERATURE, V4L2_CTRL_TYPE_INTEGER},
};

/* ---- configuration ------------------------------------------------------------------------ */

static uint32_t fourcc_of(const char *text) {
    char code[4] = {' ', ' ', ' ', ' '};
    for (int i = 0; i < 4 && text[i]; i++) code[i] = text[i];
    return v4l2_fourcc(code[0], code[1], code[2], code[3]);
}

static void add_control(struct device *device, const char *name, int32_t minimum,
                        int32_t maximum, int32_t step, int32_t default_value) {
    for (size_t i = 0; i < sizeof control_names / sizeof control_names[0]; i++) {
        if (strcmp(control_names[i].name, name) != 0 || device->n_controls >= MAX_CONTROLS)
            continue;
        struct control *control = &device->controls[device->n_controls++];
        control->id = control_names[i].id;
        control->type = control_names[i].type;
        control->name = control_names[i].name;
        control->minimum = minimum;
        control->maximum = maximum;
        control->step = step > 0 ? step : 1;
        control->default_value = control->value = default_value;
        return;
    }
    fprintf(stderr, "v4l2shim: unknown control %s\n", name);
}

static void parse_line(char *line) {
    char word[32], text[PATH_MAX];
    line[strcspn(line, "\r\n")] = '\0';
    if (sscanf(line, "%31s", word) != 1 || word[0] == '#') return;
    if (strcmp(word, "device") == 0) {
        if (n_devices < MAX_DEVICES) {
            struct device *device = &devices[n_devices++];
            memset(device, 0, sizeof *device);
            device->frames_mode = -1;
            snprintf(device->card, sizeof device->card, "Emulated UVC Camera");
        }
        return;
    }
    if (n_devices == 0) return;
    struct device *device = &devices[n_devices - 1];
    const char *rest = line + strlen(word) + (line[strlen(word)] ? 1 : 0);
    if (strcmp(word, "path") == 0 && device->n_paths < MAX_PATHS) {
        snprintf(device->paths[device->n_paths++], PATH_MAX, "%s", rest);
    } else if (strcmp(word, "card") == 0) {
        snprintf(device->card, sizeof device->card, "%s", rest);
    } else if (strcmp(word, "frames") == 0) {
        snprintf(device->frames_dir, sizeof device->frames_dir, "%s", rest);
    } else if (strcmp(word, "log") == 0) {
        snprintf(device->log_path, sizeof device->log_path, "%s", rest);
    } else if (strcmp(word, "format") == 0 && device->n_modes < MAX_MODES) {
        struct mode *mode = &device->modes[device->n_modes];
        unsigned rates[MAX_RATES] = {0};
        int fields = sscanf(rest, "%4s %u %u %u %u %u %u", text, &mode->width, &mode->height,
                            &rates[0], &rates[1], &rates[2], &rates[3]);
        if (fields < 4) return;
        mode->fourcc = fourcc_of(text);
        mode->n_rates = fields - 3;
        for (int i = 0; i < mode->n_rates; i++) mode->rates[i] = rates[i];
        if (device->n_modes++ == 0) device->rate = mode->rates[0];
    } else if (strcmp(word, "control") == 0) {
        int minimum, maximum, step, default_value;
        if (sscanf(rest, "%31s %d %d %d %d", text, &minimum, &maximum, &step, &default_value) == 5)
            add_control(device, text, minimum, maximum, step, default_value);
    }
}

static void configure(void) {
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_openat64 = dlsym(RTLD_NEXT, "openat64");
    real_ioctl = dlsym(RTLD_NEXT, "ioctl");
    real_mmap = dlsym(RTLD_NEXT, "mmap");
    real_mmap64 = dlsym(RTLD_NEXT, "mmap64");
    real_munmap = dlsym(RTLD_NEXT, "munmap");
    real_close = dlsym(RTLD_NEXT, "close");
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attributes);
    for (int i = 0; i < MAX_HANDLES; i++) handles[i].fd = -1;
    const char *config = getenv("V4L2SHIM_CONFIG");
    FILE *file = config ? fopen(config, "r") : NULL;
    if (file) {
        char line[PATH_MAX + 64];
        while (fgets(line, sizeof line, file)) parse_line(line);
        fclose(file);
    }
    configured = 1;
}

__attribute__((constructor)) static void shim_init(void) { configure(); }

static void log_line(const struct device *device, const char *format, ...) {
    if (!device->log_path[0]) return;
    FILE *file = fopen(device->log_path, "a");
    if (!file) return;
    va_list arguments;
    va_start(arguments, format);
    vfprintf(file, format, arguments);
    va_end(arguments);
    fputc('\n', file);
    fclose(file);
}

/* ---- which paths are ours ----------------------------------------------------------------- */

static struct device *device_named(const char *path) {
    for (int d = 0; d < n_devices; d++)
        for (int p = 0; p < devices[d].n_paths; p++)
            if (strcmp(devices[d].paths[p], path) == 0) return &devices[d];
    return NULL;
}

/* Fold "." and ".." components of an absolute path in place. */
static void normalise(char *path) {
    char *parts[PATH_MAX / 2];
    int n_parts = 0;
    for (char *part = strtok(path, "/"); part; part = strtok(NULL, "/")) {
        if (strcmp(part, ".") == 0) continue;
        if (strcmp(part, "..") == 0) {
            if (n_parts > 0) n_parts--;
            continue;
        }
        parts[n_parts++] = part;
    }
    char folded[PATH_MAX] = "";
    size_t used = 0;
    for (int i = 0; i < n_parts && used < sizeof folded; i++)
        used += snprintf(folded + used, sizeof folded - used, "/%s", parts[i]);
    snprintf(path, PATH_MAX, "%s", used ? folded : "/");
}

/* The device a path names, directly or through a chain of symlinks (whose targets need not
 * exist: /dev/video7 of an emulated device is no file). */
static struct device *device_at(int dirfd, const char *path) {
    char current[PATH_MAX], target[PATH_MAX], joined[PATH_MAX];
    if (!path || n_devices == 0) return NULL;
    if (path[0] != '/' && dirfd != AT_FDCWD) return NULL;
    snprintf(current, sizeof current, "%s", path);
    for (int hop = 0; hop < MAX_LINKS; hop++) {
        struct device *device = device_named(current);
        if (device) return device;
        ssize_t length = readlink(current, target, sizeof target - 1);
        if (length < 0) return NULL;
        target[length] = '\0';
        if (target[0] == '/' || current[0] != '/') {
            snprintf(current, sizeof current, "%s", target);
        } else {
            *strrchr(current, '/') = '\0';
            if (snprintf(joined, sizeof joined, "%s/%s", current, target) >= PATH_MAX)
                return NULL;
            memcpy(current, joined, sizeof current);
        }
        if (current[0] == '/') normalise(current);
    }
    return NULL;
}

static int open_device(struct device *device) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (handles[i].fd != -1) continue;
        memset(&handles[i], 0, sizeof handles[i]);
        handles[i].fd = fd;
        handles[i].device = device;
        pthread_mutex_unlock(&lock);
        return fd;
    }
    pthread_mutex_unlock(&lock);
    real_close(fd);
    errno = EBUSY;
    return -1;
}

static struct handle *handle_of(int fd) {
    if (fd < 0) return NULL;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (handles[i].fd == fd) return &handles[i];
    return NULL;
}

/* ---- frames ------------------------------------------------------------------------------- */

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void load_frames(struct device *device) {
    if (device->frames_mode == device->mode) return;
    for (int i = 0; i < device->n_frames; i++) free(device->frames[i].data);
    device->n_frames = 0;
    device->frames_mode = device->mode;
    const struct mode *mode = &device->modes[device->mode];
    char folder[PATH_MAX + 32];
    uint32_t code = mode->fourcc;
    snprintf(folder, sizeof folder, "%s/%c%c%c%c-%ux%u", device->frames_dir, code & 0xff,
             (code >> 8) & 0xff, (code >> 16) & 0xff, (code >> 24) & 0xff, mode->width,
             mode->height);
    struct dirent **names;
    int count = scandir(folder, &names, NULL, by_name);
    for (int i = 0; i < count; i++) {
        char file_path[PATH_MAX * 2];
        snprintf(file_path, sizeof file_path, "%s/%s", folder, names[i]->d_name);
        struct stat info;
        if (names[i]->d_name[0] != '.' && device->n_frames < MAX_FRAMES &&
            stat(file_path, &info) == 0 && S_ISREG(info.st_mode)) {
            FILE *file = fopen(file_path, "rb");
            struct frame *frame = &device->frames[device->n_frames];
            frame->data = malloc(info.st_size > 0 ? info.st_size : 1);
            frame->size = file ? fread(frame->data, 1, info.st_size, file) : 0;
            if (file) fclose(file);
            device->n_frames++;
        }
        free(names[i]);
    }
    if (count >= 0) free(names);
}

static uint32_t bytes_per_line(const struct mode *mode) {
    return mode->fourcc == V4L2_PIX_FMT_YUYV ? mode->width * 2 : 0;
}

static uint32_t image_size(const struct mode *mode) { return mode->width * mode->height * 2; }

/* Fill the oldest queued buffer with frame number `number`; dropped when none is queued. */
static void produce(struct handle *handle, uint64_t number, const struct timespec *when) {
    struct device *device = handle->device;
    struct buffer *target = NULL;
    for (unsigned i = 0; i < handle->n_buffers; i++) {
        struct buffer *buffer = &handle->buffers[i];
        if (buffer->state == BUF_QUEUED && (!target || buffer->order < target->order))
            target = buffer;
    }
    device->newest = number + 1;
    if (!target) return;
    size_t size = 0;
    if (device->n_frames > 0) {
        const struct frame *frame = &device->frames[number % device->n_frames];
        size = frame->size < target->length ? frame->size : target->length;
        memcpy(target->memory, frame->data, size);
    }
    target->bytesused = (uint32_t)size;
    target->sequence = (uint32_t)number;
    target->timestamp.tv_sec = when->tv_sec;
    target->timestamp.tv_usec = when->tv_nsec / 1000;
    target->state = BUF_DONE;
    target->order = ++order_counter;
    uint64_t one = 1;
    if (write(handle->fd, &one, sizeof one) < 0) { /* the counter saturates: still readable */ }
}

static void *producer_loop(void *argument) {
    struct handle *handle = argument;
    pthread_mutex_lock(&lock);
    while (!handle->stop) {
        uint32_t rate = handle->device->rate ? handle->device->rate : 30;
        uint64_t offset = (handle->next_frame + 1) * 1000000000ull / rate;
        struct timespec due = handle->started;
        due.tv_sec += offset / 1000000000ull;
        due.tv_nsec += offset % 1000000000ull;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        int waited = 0;
        while (!handle->stop && waited != ETIMEDOUT)
            waited = pthread_cond_timedwait(&wake, &lock, &due);
        if (handle->stop) break;
        produce(handle, handle->next_frame++, &due);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void clear_signal(struct handle *handle) {
    uint64_t count;
    if (read(handle->fd, &count, sizeof count) < 0) { /* already clear */ }
}

/* Stop the producer; the caller holds the lock, which is released while joining. */
static void stop_streaming(struct handle *handle) {
    if (handle->producer_running) {
        handle->stop = 1;
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&lock);
        pthread_join(handle->producer, NULL);
        pthread_mutex_lock(&lock);
        handle->producer_running = 0;
    }
    handle->streaming = 0;
    for (unsigned i = 0; i < handle->n_buffers; i++) handle->buffers[i].state = BUF_USER;
    clear_signal(handle);
}

static void free_buffers(struct handle *handle) {
    for (unsigned i = 0; i < handle->n_buffers; i++)
        real_munmap(handle->buffers[i].memory, handle->buffers[i].length);
    handle->n_buffers = 0;
}

/* ---- formats ------------------------------------------------------------------------------ */

static int offers_format(const struct device *device, uint32_t fourcc) {
    for (int i = 0; i < device->n_modes; i++)
        if (device->modes[i].fourcc == fourcc) return 1;
    return 0;
}

/* uvc_v4l2_try_format: the size of the format whose area differs least from the request. */
static int nearest_mode(const struct device *device, uint32_t fourcc, uint32_t width,
                        uint32_t height) {
    if (!offers_format(device, fourcc)) fourcc = device->modes[0].fourcc;
    int best = -1;
    uint64_t best_distance = UINT64_MAX;
    for (int i = 0; i < device->n_modes; i++) {
        const struct mode *mode = &device->modes[i];
        if (mode->fourcc != fourcc) continue;
        uint64_t overlap = (uint64_t)(mode->width < width ? mode->width : width) *
                           (mode->height < height ? mode->height : height);
        uint64_t distance = (uint64_t)mode->width * mode->height + (uint64_t)width * height -
                            2 * overlap;
        if (distance < best_distance) {
            best_distance = distance;
            best = i;
        }
    }
    return best;
}

static void describe_mode(const struct mode *mode, struct v4l2_pix_format *pix) {
    memset(pix, 0, sizeof *pix);
    pix->width = mode->width;
    pix->height = mode->height;
    pix->pixelformat = mode->fourcc;
    pix->field = V4L2_FIELD_NONE;
    pix->bytesperline = bytes_per_line(mode);
    pix->sizeimage = image_size(mode);
    pix->colorspace = V4L2_COLORSPACE_SRGB;
}

static uint32_t nearest_rate(const struct mode *mode, uint32_t wanted) {
    uint32_t best = mode->rates[0];
    for (int i = 1; i < mode->n_rates; i++) {
        uint32_t rate = mode->rates[i];
        if ((rate > wanted ? rate - wanted : wanted - rate) <
            (best > wanted ? best - wanted : wanted - best))
            best = rate;
    }
    return best;
}

static struct control *control_of(struct device *device, uint32_t id) {
    for (int i = 0; i < device->n_controls; i++)
        if (device->controls[i].id == id) return &device->controls[i];
    return NULL;
}

static void fill_buffer(const struct handle *handle, unsigned index, struct v4l2_buffer *out) {
    const struct buffer *buffer = &handle->buffers[index];
    uint32_t type = out->type;
    memset(out, 0, sizeof *out);
    out->index = index;
    out->type = type;
    out->memory = V4L2_MEMORY_MMAP;
    out->length = (uint32_t)buffer->length;
    out->m.offset = (uint32_t)(index * buffer->length);
    out->bytesused = buffer->state == BUF_QUEUED ? 0 : buffer->bytesused;
    out->field = V4L2_FIELD_NONE;
    out->sequence = buffer->sequence;
    out->timestamp = buffer->timestamp;
    out->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    if (buffer->state == BUF_QUEUED) out->flags |= V4L2_BUF_FLAG_QUEUED;
    if (buffer->state == BUF_DONE) out->flags |= V4L2_BUF_FLAG_DONE;
}

/* ---- ioctls ------------------------------------------------------------------------------- */

static int fail(int code) {
    errno = code;
    return -1;
}

static int query_capability(struct device *device, struct v4l2_capability *cap) {
    memset(cap, 0, sizeof *cap);
    snprintf((char *)cap->driver, sizeof cap->driver, "uvcvideo");
    snprintf((char *)cap->card, sizeof cap->card, "%s", device->card);
    snprintf((char *)cap->bus_info, sizeof cap->bus_info, "usb-0000:00:14.0-%d",
             (int)(device - devices) % MAX_DEVICES + 1);
    cap->version = (6 << 16) | (1 << 8);
    cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
    cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
    return 0;
}

static int enum_format(struct device *device, struct v4l2_fmtdesc *desc) {
    if (desc->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
    uint32_t seen[MAX_MODES];
    unsigned n_seen = 0;
    for (int i = 0; i < device->n_modes; i++) {
        uint32_t fourcc = device->modes[i].fourcc;
        unsigned known = 0;
        while (known < n_seen && seen[known] != fourcc) known++;
        if (known < n_seen) continue;
        if (n_seen == desc->index) {
            uint32_t index = desc->index, type = desc->type;
            memset(desc, 0, sizeof *desc);
            desc->index = index;
            desc->type = type;
            desc->pixelformat = fourcc;
            desc->flags = fourcc == V4L2_PIX_FMT_MJPEG ? V4L2_FMT_FLAG_COMPRESSED : 0;
            snprintf((char *)desc->description, sizeof desc->description, "%s",
                     fourcc == V4L2_PIX_FMT_MJPEG ? "Motion-JPEG" : "YUYV 4:2:2");
            return 0;
        }
        seen[n_seen++] = fourcc;
    }
    return fail(EINVAL);
}

static int enum_sizes(struct device *device, struct v4l2_frmsizeenum *sizes) {
    uint32_t found = 0;
    for (int i = 0; i < device->n_modes; i++) {
        const struct mode *mode = &device->modes[i];
        if (mode->fourcc != sizes->pixel_format) continue;
        if (found++ == sizes->index) {
            sizes->type = V4L2_FRMSIZE_TYPE_DISCRETE;
            sizes->discrete.width = mode->width;
            sizes->discrete.height = mode->height;
            return 0;
        }
    }
    return fail(EINVAL);
}

static int enum_intervals(struct device *device, struct v4l2_frmivalenum *intervals) {
    for (int i = 0; i < device->n_modes; i++) {
        const struct mode *mode = &device->modes[i];
        if (mode->fourcc != intervals->pixel_format || mode->width != intervals->width ||
            mode->height != intervals->height)
            continue;
        if (intervals->index >= (uint32_t)mode->n_rates) return fail(EINVAL);
        intervals->type = V4L2_FRMIVAL_TYPE_DISCRETE;
        intervals->discrete.numerator = 1;
        intervals->discrete.denominator = mode->rates[intervals->index];
        return 0;
    }
    return fail(EINVAL);
}

static int set_format(struct handle *handle, struct v4l2_format *format, int apply) {
    struct device *device = handle->device;
    if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
    struct v4l2_pix_format *pix = &format->fmt.pix;
    int chosen = nearest_mode(device, pix->pixelformat, pix->width, pix->height);
    if (chosen < 0) return fail(EINVAL);
    if (apply) {
        if (handle->n_buffers > 0) return fail(EBUSY);
        device->mode = chosen;
        device->rate = device->modes[chosen].rates[0];
        log_line(device, "S_FMT %.4s %ux%u", (const char *)&device->modes[chosen].fourcc,
                 device->modes[chosen].width, device->modes[chosen].height);
    }
    describe_mode(&device->modes[chosen], pix);
    return 0;
}

static int stream_parameters(struct device *device, struct v4l2_streamparm *parm, int apply) {
    if (parm->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
    const struct mode *mode = &device->modes[device->mode];
    if (apply) {
        struct v4l2_fract *wanted = &parm->parm.capture.timeperframe;
        uint32_t fps = wanted->numerator && wanted->denominator
                           ? (wanted->denominator + wanted->numerator / 2) / wanted->numerator
                           : mode->rates[0];
        device->rate = nearest_rate(mode, fps);
        log_line(device, "S_PARM %u", device->rate);
    }
    memset(&parm->parm, 0, sizeof parm->parm);
    parm->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
    parm->parm.capture.timeperframe.numerator = 1;
    parm->parm.capture.timeperframe.denominator = device->rate;
    parm->parm.capture.readbuffers = 0;
    return 0;
}

static int request_buffers(struct handle *handle, struct v4l2_requestbuffers *request) {
    if (request->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || request->memory != V4L2_MEMORY_MMAP)
        return fail(EINVAL);
    if (handle->streaming) stop_streaming(handle);
    free_buffers(handle);
    unsigned count = request->count > MAX_BUFFERS ? MAX_BUFFERS : request->count;
    const struct mode *mode = &handle->device->modes[handle->device->mode];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t length = (image_size(mode) + page - 1) / page * page;
    for (unsigned i = 0; i < count; i++) {
        void *memory = real_mmap(NULL, length, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) break;
        memset(&handle->buffers[i], 0, sizeof handle->buffers[i]);
        handle->buffers[i].memory = memory;
        handle->buffers[i].length = length;
        handle->n_buffers = i + 1;
    }
    request->count = handle->n_buffers;
    memset(request->reserved, 0, sizeof request->reserved);
    return 0;
}

static int queue_buffer(struct handle *handle, struct v4l2_buffer *buffer) {
    if (buffer->index >= handle->n_buffers) return fail(EINVAL);
    struct buffer *target = &handle->buffers[buffer->index];
    if (target->state != BUF_USER) return fail(EINVAL);
    target->state = BUF_QUEUED;
    target->order = ++order_counter;
    fill_buffer(handle, buffer->index, buffer);
    return 0;
}

static int dequeue_buffer(struct handle *handle, struct v4l2_buffer *buffer) {
    if (!handle->streaming) return fail(EINVAL);
    struct buffer *oldest = NULL;
    unsigned index = 0, done = 0;
    for (unsigned i = 0; i < handle->n_buffers; i++) {
        struct buffer *candidate = &handle->buffers[i];
        if (candidate->state != BUF_DONE) continue;
        done++;
        if (!oldest || candidate->order < oldest->order) {
            oldest = candidate;
            index = i;
        }
    }
    if (!oldest) return fail(EAGAIN);
    oldest->state = BUF_USER;
    if (done == 1) clear_signal(handle);
    fill_buffer(handle, index, buffer);
    log_line(handle->device, "DQBUF %u %llu", oldest->sequence,
             (unsigned long long)(handle->device->newest - 1));
    return 0;
}

static int stream_on(struct handle *handle) {
    if (handle->n_buffers == 0) return fail(EINVAL);
    if (handle->streaming) return 0;
    load_frames(handle->device);
    handle->streaming = 1;
    handle->stop = 0;
    handle->next_frame = 0;
    clock_gettime(CLOCK_MONOTONIC, &handle->started);
    if (pthread_create(&handle->producer, NULL, producer_loop, handle) != 0) {
        handle->streaming = 0;
        return fail(ENOMEM);
    }
    handle->producer_running = 1;
    log_line(handle->device, "STREAMON %.4s %ux%u %u",
             (const char *)&handle->device->modes[handle->device->mode].fourcc,
             handle->device->modes[handle->device->mode].width,
             handle->device->modes[handle->device->mode].height, handle->device->rate);
    return 0;
}

static int query_control(struct device *device, struct v4l2_queryctrl *query) {
    struct control *control = control_of(device, query->id);
    if (!control) return fail(EINVAL);
    memset(query, 0, sizeof *query);
    query->id = control->id;
    query->type = control->type;
    snprintf((char *)query->name, sizeof query->name, "%s", control->name);
    query->minimum = control->minimum;
    query->maximum = control->maximum;
    query->step = control->step;
    query->default_value = control->default_value;
    return 0;
}

/* S_CTRL clamps integer values into the control's range, as the kernel's control framework
 * does for integer controls; menu and boolean values outside it are refused (EINVAL). */
static int set_control(struct device *device, struct v4l2_control *request) {
    struct control *control = control_of(device, request->id);
    if (!control) return fail(EINVAL);
    int32_t value = request->value;
    if (control->type != V4L2_CTRL_TYPE_INTEGER &&
        (value < control->minimum || value > control->maximum))
        return fail(EINVAL);
    if (value < control->minimum) value = control->minimum;
    if (value > control->maximum) value = control->maximum;
    control->value = value;
    request->value = value;
    log_line(device, "S_CTRL %s %d", control->name, value);
    return 0;
}

static int device_ioctl(struct handle *handle, unsigned long request, void *argument) {
    struct device *device = handle->device;
    switch (request) {
    case VIDIOC_QUERYCAP: return query_capability(device, argument);
    case VIDIOC_ENUM_FMT: return enum_format(device, argument);
    case VIDIOC_ENUM_FRAMESIZES: return enum_sizes(device, argument);
    case VIDIOC_ENUM_FRAMEINTERVALS: return enum_intervals(device, argument);
    case VIDIOC_G_FMT: {
        struct v4l2_format *format = argument;
        if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
        describe_mode(&device->modes[device->mode], &format->fmt.pix);
        return 0;
    }
    case VIDIOC_TRY_FMT: return set_format(handle, argument, 0);
    case VIDIOC_S_FMT: return set_format(handle, argument, 1);
    case VIDIOC_G_PARM: return stream_parameters(device, argument, 0);
    case VIDIOC_S_PARM: return stream_parameters(device, argument, 1);
    case VIDIOC_REQBUFS: return request_buffers(handle, argument);
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *buffer = argument;
        if (buffer->index >= handle->n_buffers) return fail(EINVAL);
        fill_buffer(handle, buffer->index, buffer);
        return 0;
    }
    case VIDIOC_QBUF: return queue_buffer(handle, argument);
    case VIDIOC_DQBUF: return dequeue_buffer(handle, argument);
    case VIDIOC_STREAMON: return stream_on(handle);
    case VIDIOC_STREAMOFF:
        stop_streaming(handle);
        return 0;
    case VIDIOC_QUERYCTRL: return query_control(device, argument);
    case VIDIOC_G_CTRL: {
        struct v4l2_control *value = argument;
        struct control *control = control_of(device, value->id);
        if (!control) return fail(EINVAL);
        value->value = control->value;
        return 0;
    }
    case VIDIOC_S_CTRL: return set_control(device, argument);
    case VIDIOC_ENUMINPUT: {
        struct v4l2_input *input = argument;
        if (input->index != 0) return fail(EINVAL);
        memset(input, 0, sizeof *input);
        snprintf((char *)input->name, sizeof input->name, "Camera 1");
        input->type = V4L2_INPUT_TYPE_CAMERA;
        return 0;
    }
    case VIDIOC_G_INPUT: *(int *)argument = 0; return 0;
    case VIDIOC_S_INPUT: return *(int *)argument == 0 ? 0 : fail(EINVAL);
    default: return fail(ENOTTY);
    }
}

/* ---- the intercepted calls ---------------------------------------------------------------- */

static int open_common(int dirfd, const char *path, int flags, mode_t mode,
                       int (*next_open)(const char *, int, ...),
                       int (*next_openat)(int, const char *, int, ...)) {
    if (!configured) configure();
    struct device *device = device_at(dirfd, path);
    if (device) return open_device(device);
    if (next_open) return next_open(path, flags, mode);
    return next_openat(dirfd, path, flags, mode);
}

static mode_t mode_argument(int flags, va_list arguments) {
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? va_arg(arguments, mode_t)
                                                                     : 0;
}

int open(const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (!configured) configure();
    return open_common(AT_FDCWD, path, flags, mode, real_open, NULL);
}

int open64(const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (!configured) configure();
    return open_common(AT_FDCWD, path, flags, mode, real_open64, NULL);
}

int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }

int openat(int dirfd, const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (!configured) configure();
    return open_common(dirfd, path, flags, mode, NULL, real_openat);
}

int openat64(int dirfd, const char *path, int flags, ...) {
    va_list arguments;
    va_start(arguments, flags);
    mode_t mode = mode_argument(flags, arguments);
    va_end(arguments);
    if (!configured) configure();
    return open_common(dirfd, path, flags, mode, NULL, real_openat64);
}

int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }

int ioctl(int fd, unsigned long request, ...) {
    va_list arguments;
    va_start(arguments, request);
    void *argument = va_arg(arguments, void *);
    va_end(arguments);
    if (!configured) configure();
    pthread_mutex_lock(&lock);
    struct handle *handle = handle_of(fd);
    if (!handle) {
        pthread_mutex_unlock(&lock);
        return real_ioctl(fd, request, argument);
    }
    int result = device_ioctl(handle, request, argument);
    int saved = errno;
    pthread_mutex_unlock(&lock);
    errno = saved;
    return result;
}

static void *map_common(void *address, size_t length, int protection, int flags, int fd,
                        off_t offset, void *(*next)(void *, size_t, int, int, int, off_t)) {
    if (!configured) configure();
    pthread_mutex_lock(&lock);
    struct handle *handle = handle_of(fd);
    if (handle) {
        void *memory = MAP_FAILED;
        for (unsigned i = 0; i < handle->n_buffers; i++)
            if ((off_t)(i * handle->buffers[i].length) == offset &&
                length <= handle->buffers[i].length)
                memory = handle->buffers[i].memory;
        pthread_mutex_unlock(&lock);
        if (memory == MAP_FAILED) errno = EINVAL;
        return memory;
    }
    pthread_mutex_unlock(&lock);
    return next(address, length, protection, flags, fd, offset);
}

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    return map_common(address, length, protection, flags, fd, offset, real_mmap);
}

void *mmap64(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    return map_common(address, length, protection, flags, fd, offset, real_mmap64);
}

/* Buffers stay mapped until REQBUFS(0) or close frees them: unmapping one is a no-op. */
int munmap(void *address, size_t length) {
    if (!configured) configure();
    pthread_mutex_lock(&lock);
    for (int h = 0; h < MAX_HANDLES; h++) {
        if (handles[h].fd == -1) continue;
        for (unsigned i = 0; i < handles[h].n_buffers; i++) {
            if (handles[h].buffers[i].memory == address) {
                pthread_mutex_unlock(&lock);
                return 0;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    return real_munmap(address, length);
}

int close(int fd) {
    if (!configured) configure();
    pthread_mutex_lock(&lock);
    struct handle *handle = handle_of(fd);
    if (handle) {
        stop_streaming(handle);
        free_buffers(handle);
        handle->fd = -1;
    }
    pthread_mutex_unlock(&lock);
    return real_close(fd);
}
