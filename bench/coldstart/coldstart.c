// coldstart: process start to first good HTTP answer, measured from outside.
// Starts one or more commands (a server, or a proxy and its backend), then
// sends the same POST to 127.0.0.1:PORT in a tight loop (every 100 us) until
// an answer is "HTTP/1.1 200" and contains EXPECT; prints the milliseconds
// from the first fork to that answer, stops the processes (SIGTERM, then
// SIGKILL after 5 s) and repeats.
//
// Usage: coldstart -p PORT [-u PATH] [-d BODY] [-e EXPECT] [-n RUNS] [-l LOG]
//                  -- CMD [ARG...] [-- CMD [ARG...]]...
// Output: one line per run, the milliseconds. The commands' stdout and
// stderr are appended to LOG (default /dev/null). Exit 1 when a run gets no
// good answer within 30 s or a command exits first (the others are stopped
// all the same).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMaxCommands = 8 };

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

// One request on a new connection. 1: a 200 containing expect; 0: anything else.
static int try_once(int port, const char* request, const char* expect) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int ok = 0;
  if (connect(fd, (struct sockaddr*)&a, sizeof a) == 0 &&
      write(fd, request, strlen(request)) == (ssize_t)strlen(request)) {
    char buf[8192];
    size_t n = 0;
    ssize_t got;
    // The request says Connection: close, so the answer ends at EOF.
    while (n < sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
      n += (size_t)got;
    buf[n] = '\0';
    ok = strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, expect) != NULL;
  }
  close(fd);
  return ok;
}

static void stop(pid_t* pids, int n) {
  for (int i = 0; i < n; ++i) kill(pids[i], SIGTERM);
  double deadline = now_ms() + 5000;
  for (int i = 0; i < n; ++i) {
    while (waitpid(pids[i], NULL, WNOHANG) == 0) {
      if (now_ms() > deadline) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
        break;
      }
      usleep(1000);
    }
  }
}

int main(int argc, char** argv) {
  int port = 0, runs = 1;
  const char* path = "/";
  const char* body = "";
  const char* expect = "";
  const char* log = "/dev/null";
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; ++i) {
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "-p") == 0)
      port = atoi(argv[++i]);
    else if (strcmp(argv[i], "-u") == 0)
      path = argv[++i];
    else if (strcmp(argv[i], "-d") == 0)
      body = argv[++i];
    else if (strcmp(argv[i], "-e") == 0)
      expect = argv[++i];
    else if (strcmp(argv[i], "-n") == 0)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "-l") == 0)
      log = argv[++i];
    else
      break;
  }
  char** commands[kMaxCommands];
  int ncommands = 0;
  for (; i < argc; ++i) {
    if (strcmp(argv[i], "--") == 0) {
      argv[i] = NULL;  // ends the previous command's argv
      if (i + 1 < argc && ncommands < kMaxCommands) commands[ncommands++] = &argv[i + 1];
    }
  }
  if (port <= 0 || ncommands == 0 || runs <= 0) {
    fprintf(stderr,
            "usage: coldstart -p PORT [-u PATH] [-d BODY] [-e EXPECT] [-n RUNS] -- CMD [ARG...] "
            "[-- CMD...]\n");
    return 2;
  }
  char request[4096];
  snprintf(request, sizeof request,
           "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
           path, strlen(body), body);

  for (int run = 0; run < runs; ++run) {
    pid_t pids[kMaxCommands];
    double t0 = now_ms();
    for (int c = 0; c < ncommands; ++c) {
      pids[c] = fork();
      if (pids[c] == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(devnull, 0);
        dup2(out, 1);
        dup2(out, 2);
        execvp(commands[c][0], commands[c]);
        _exit(127);
      }
    }
    int ok = 0, exited = -1, running = ncommands;
    while (!ok && exited < 0 && now_ms() - t0 < 30000) {
      ok = try_once(port, request, expect);
      if (ok) break;
      for (int c = 0; c < running; ++c) {
        if (waitpid(pids[c], NULL, WNOHANG) == pids[c]) {
          exited = c;  // the index of its command: pids[] is in the same order until here
          break;
        }
      }
      usleep(100);
    }
    double t1 = now_ms();
    if (exited >= 0) pids[exited] = pids[--running];  // reaped already: not stopped again
    stop(pids, running);
    if (exited >= 0) {
      fprintf(stderr, "coldstart: %s exited before a good answer on port %d (its output: %s)\n",
              commands[exited][0], port, log);
      return 1;
    }
    if (!ok) {
      fprintf(stderr,
              "coldstart: no good answer on port %d within 30 s (output of the commands: %s)\n",
              port, log);
      return 1;
    }
    printf("%.3f\n", t1 - t0);
    fflush(stdout);
  }
  return 0;
}
