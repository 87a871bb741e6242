/* Reading the files luamig is given (revisions, config, model, modules): a
 * size limit and one readable error. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lm.h"

/* Reads a whole file of at most max bytes. Only a regular file (a symlink
 * to one is fine): a FIFO would block, /dev/zero never end. Opened without
 * blocking so that a FIFO is refused rather than waited on. */
int lm_read_file_max(const char *path, char **data, size_t *len, size_t max) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return lm_error_set(LM_EIO, "cannot read %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return lm_error_set(LM_EIO, "cannot read %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return lm_error_set(LM_EIO, "cannot read %s: not a regular file (%s)", path,
                        S_ISDIR(st.st_mode)    ? "a folder"
                        : S_ISFIFO(st.st_mode) ? "a FIFO"
                        : S_ISCHR(st.st_mode)  ? "a character device"
                        : S_ISBLK(st.st_mode)  ? "a block device"
                        : S_ISSOCK(st.st_mode) ? "a socket"
                                               : "not a file");
  }
  if ((unsigned long long)st.st_size > max) {
    close(fd);
    return lm_error_set(LM_EIO, "cannot read %s: it is %lld bytes, more than the limit of %zu",
                        path, (long long)st.st_size, max);
  }
  lm_buf b;
  lm_buf_init(&b);
  char chunk[65536];
  ssize_t n;
  int bad = 0;
  for (;;) {
    n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) bad = errno;
    if (n <= 0) break;
    if (b.len + (size_t)n > max) { /* grew since fstat */
      bad = EFBIG;
      break;
    }
    lm_buf_put(&b, chunk, (size_t)n);
  }
  close(fd);
  if (bad) {
    lm_buf_free(&b);
    return lm_error_set(LM_EIO, "cannot read %s: %s", path,
                        bad == EFBIG ? "it grew past the size limit" : strerror(bad));
  }
  *len = b.len;
  *data = lm_buf_steal(&b);
  return 0;
}

int lm_read_file(const char *path, char **data, size_t *len) {
  return lm_read_file_max(path, data, len, LM_MAX_SOURCE);
}
