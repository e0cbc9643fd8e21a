// A tiny file-system shell for the WASI file-system tests: reads one command
// per line from stdin, runs it through wasi-libc's POSIX layer (so the tests
// see what real C programs see) and prints one line per command:
// "<command>: ok[ detail]" or "<command>: <ERRNO NAME>".
//
// Descriptors: "$" is the last descriptor `open` returned; a number is used
// as is. Commands (paths are absolute, under the preopens):
//   mkdir P | rmdir P | unlink P | rename A B | link A B | symlink TARGET P
//   readlink P | stat P | lstat P | utimes P SEC | lutimes P SEC | ls P
//   open P FLAGS   (FLAGS: comma list of r w rw creat excl trunc append dir
//                   nofollow sync dsync nonblock)
//   write FD TEXT | read FD N | pread FD N OFF | pwrite FD TEXT OFF
//   seek FD OFF set|cur|end | close FD | truncate FD N | sync FD
//   fallocate FD N | fstat FD | getfl FD | renumber FROM TO
//   race N P       open P N times, reading each: counts by content
//   leak N P       open P N times and never close: count, then first error
//   abort          trap at once (abort())
//   spin           loop forever (the host's timeout ends it)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static int last_fd = -1;

static const char* errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case EBUSY: return "EBUSY";
    case EXDEV: return "EXDEV";
    case EACCES: return "EACCES";
    case ENOTSUP: return "ENOTSUP";
    case EILSEQ: return "EILSEQ";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ESPIPE: return "ESPIPE";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "E?";
  }
}

static int fdArg(const char* s) { return strcmp(s, "$") == 0 ? last_fd : atoi(s); }

static const char* typeName(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "link";
  return "other";
}

static int cmpStr(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

// Prints the sorted names in P (without "." and "..").
static int listDir(const char* path) {
  DIR* d = opendir(path);
  if (!d) return -1;
  char* names[4096];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n < 4096) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmpStr);
  printf("ls: ok %d", n);
  for (int i = 0; i < n; i++) {
    printf("%s%s", i == 0 ? " " : ",", names[i]);
    free(names[i]);
  }
  printf("\n");
  return 0;
}

static int openFlags(const char* spec) {
  int flags = 0, access = O_RDONLY;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  for (char* t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
    if (!strcmp(t, "r")) access = O_RDONLY;
    else if (!strcmp(t, "w")) access = O_WRONLY;
    else if (!strcmp(t, "rw")) access = O_RDWR;
    else if (!strcmp(t, "creat")) flags |= O_CREAT;
    else if (!strcmp(t, "excl")) flags |= O_EXCL;
    else if (!strcmp(t, "trunc")) flags |= O_TRUNC;
    else if (!strcmp(t, "append")) flags |= O_APPEND;
    else if (!strcmp(t, "dir")) flags |= O_DIRECTORY;
    else if (!strcmp(t, "nofollow")) flags |= O_NOFOLLOW;
    else if (!strcmp(t, "sync")) flags |= O_SYNC;
    else if (!strcmp(t, "dsync")) flags |= O_DSYNC;
    else if (!strcmp(t, "nonblock")) flags |= O_NONBLOCK;
  }
  return flags | access;
}

static int run(char* line) {
  char* argv[8] = {0};
  int argc = 0;
  for (char* t = strtok(line, " "); t && argc < 8; t = strtok(NULL, " ")) argv[argc++] = t;
  if (argc == 0) return 0;
  const char* c = argv[0];
  const char* a = argc > 1 ? argv[1] : "";
  const char* b = argc > 2 ? argv[2] : "";
  const char* d = argc > 3 ? argv[3] : "";
  int rc = -1;
  struct stat st;
  char buf[512];
  if (!strcmp(c, "mkdir")) rc = mkdir(a, 0777);
  else if (!strcmp(c, "rmdir")) rc = rmdir(a);
  else if (!strcmp(c, "unlink")) rc = unlink(a);
  else if (!strcmp(c, "rename")) rc = rename(a, b);
  else if (!strcmp(c, "link")) rc = link(a, b);
  else if (!strcmp(c, "symlink")) rc = symlink(a, b);
  else if (!strcmp(c, "readlink")) {
    ssize_t n = readlink(a, buf, sizeof buf - 1);
    if (n >= 0) {
      buf[n] = 0;
      printf("readlink: ok %s\n", buf);
      return 0;
    }
  } else if (!strcmp(c, "stat") || !strcmp(c, "lstat")) {
    rc = c[0] == 's' ? stat(a, &st) : lstat(a, &st);
    if (rc == 0) {
      printf("%s: ok %s size=%lld nlink=%llu\n", c, typeName(st.st_mode), (long long)st.st_size,
             (unsigned long long)st.st_nlink);
      return 0;
    }
  } else if (!strcmp(c, "utimes") || !strcmp(c, "lutimes")) {
    struct timespec ts[2] = {{atoll(b), 0}, {atoll(b), 0}};
    rc = utimensat(AT_FDCWD, a, ts, c[0] == 'l' ? AT_SYMLINK_NOFOLLOW : 0);
  } else if (!strcmp(c, "ls")) {
    rc = listDir(a);
    if (rc == 0) return 0;
  } else if (!strcmp(c, "open")) {
    int fd = open(a, openFlags(b), 0666);
    if (fd >= 0) {
      last_fd = fd;
      printf("open: ok\n");
      return 0;
    }
  } else if (!strcmp(c, "write")) {
    ssize_t n = write(fdArg(a), b, strlen(b));
    if (n >= 0) {
      printf("write: ok %zd\n", n);
      return 0;
    }
  } else if (!strcmp(c, "pwrite")) {
    ssize_t n = pwrite(fdArg(a), b, strlen(b), atoll(d));
    if (n >= 0) {
      printf("pwrite: ok %zd\n", n);
      return 0;
    }
  } else if (!strcmp(c, "read") || !strcmp(c, "pread")) {
    size_t want = (size_t)atoi(b);
    if (want >= sizeof buf) want = sizeof buf - 1;
    ssize_t n = c[0] == 'r' ? read(fdArg(a), buf, want) : pread(fdArg(a), buf, want, atoll(d));
    if (n >= 0) {
      buf[n] = 0;
      printf("%s: ok '%s'\n", c, buf);
      return 0;
    }
  } else if (!strcmp(c, "seek")) {
    int whence = !strcmp(d, "end") ? SEEK_END : !strcmp(d, "cur") ? SEEK_CUR : SEEK_SET;
    off_t pos = lseek(fdArg(a), atoll(b), whence);
    if (pos >= 0) {
      printf("seek: ok %lld\n", (long long)pos);
      return 0;
    }
  } else if (!strcmp(c, "close")) rc = close(fdArg(a));
  else if (!strcmp(c, "truncate")) rc = ftruncate(fdArg(a), atoll(b));
  else if (!strcmp(c, "sync")) rc = fsync(fdArg(a));
  else if (!strcmp(c, "fallocate")) {
    int e = posix_fallocate(fdArg(a), 0, atoll(b));
    if (e == 0) rc = 0;
    else errno = e;
  } else if (!strcmp(c, "fstat")) {
    rc = fstat(fdArg(a), &st);
    if (rc == 0) {
      printf("fstat: ok %s size=%lld\n", typeName(st.st_mode), (long long)st.st_size);
      return 0;
    }
  } else if (!strcmp(c, "getfl")) {
    int fl = fcntl(fdArg(a), F_GETFL);
    if (fl >= 0) {
      printf("getfl: ok%s%s%s%s\n", (fl & O_APPEND) ? " append" : "",
             (fl & O_NONBLOCK) ? " nonblock" : "", (fl & O_DSYNC) ? " dsync" : "",
             (fl & O_SYNC) == O_SYNC ? " sync" : "");
      return 0;
    }
  } else if (!strcmp(c, "renumber")) {
    __wasi_errno_t e = __wasi_fd_renumber((__wasi_fd_t)fdArg(a), (__wasi_fd_t)fdArg(b));
    if (e == 0) rc = 0;
    else errno = e;
  } else if (!strcmp(c, "race")) {
    int n = atoi(a), inside = 0, other = 0, refused = 0;
    for (int i = 0; i < n; i++) {
      int fd = open(b, O_RDONLY);
      if (fd < 0) {
        refused++;
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf - 1);
      buf[got > 0 ? got : 0] = 0;
      if (!strcmp(buf, "inside")) inside++;
      else other++;
      close(fd);
    }
    printf("race: inside=%d other=%d refused=%s\n", inside, other, refused > 0 ? "some" : "none");
    return 0;
  } else if (!strcmp(c, "leak")) {
    int n = atoi(a), opened = 0, first_errno = 0;
    for (int i = 0; i < n; i++) {
      int fd = open(b, O_RDONLY);
      if (fd >= 0) opened++;
      else if (!first_errno) first_errno = errno;
    }
    printf("leak: ok %d %s\n", opened, first_errno ? errname(first_errno) : "-");
    return 0;
  } else if (!strcmp(c, "abort")) {
    fflush(stdout);
    abort();  // a trap, with whatever is open still open
  } else if (!strcmp(c, "spin")) {
    fflush(stdout);
    for (volatile int i = 0;; i++) {
    }
  } else {
    printf("%s: unknown command\n", c);
    return 0;
  }
  if (rc == 0) printf("%s: ok\n", c);
  else printf("%s: %s\n", c, errname(errno));
  return 0;
}

int main(void) {
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    run(line);
  }
  return 0;
}
