// A stand-in for the legacy monolith: a tiny blocking HTTP/1.1 server (host
// program, not wasm). Every request gets 200 with `X-Served-By: legacy` and a
// text body naming the request, echoing its body and its X-* headers, then the
// connection is closed. Usage: upstream [PORT]; PORT 0 (default) lets the
// kernel choose; the port actually bound is printed on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kMax = 1 << 20 };
static char req[kMax + 1];
static char resp[2 * kMax + 4096];

// Reads one request (head + Content-Length body) into req; returns its size
// and sets *head_len, or -1 when the client went away or sent too much.
static long read_request(int fd, long* head_len) {
  long n = 0, need = -1;
  for (;;) {
    if (need < 0) {
      char* end = strstr(req, "\r\n\r\n");
      if (end) {
        *head_len = end - req + 4;
        long body = 0;
        for (char* h = strchr(req, '\n'); h && h < end; h = strchr(h + 1, '\n'))
          if (strncasecmp(h + 1, "content-length:", 15) == 0) body = atol(h + 16);
        need = *head_len + body;
      }
    }
    if (need >= 0 && n >= need) return n;
    if (n >= kMax) return -1;
    ssize_t got = read(fd, req + n, (size_t)(kMax - n));
    if (got <= 0) return -1;
    n += got;
    req[n] = '\0';
  }
}

static void answer(int fd) {
  long head_len;
  memset(req, 0, 1);
  long n = read_request(fd, &head_len);
  if (n < 0) return;
  char method[16] = "", target[1024] = "";
  sscanf(req, "%15s %1023s", method, target);
  int body_len = snprintf(resp, 4096, "legacy upstream: %s %s\n", method, target);
  // Echo X-* headers (e.g. what a middleware added) so tests can see them.
  for (char* h = strchr(req, '\n'); h && h < req + head_len - 2; h = strchr(h + 1, '\n')) {
    if ((h[1] == 'X' || h[1] == 'x') && h[2] == '-') {
      char* eol = strchr(h + 1, '\r');
      if (eol && body_len < 3500)
        body_len += snprintf(resp + body_len, 4096 - (size_t)body_len, "header %.*s\n",
                             (int)(eol - h - 1), h + 1);
    }
  }
  if (n > head_len) {
    body_len += snprintf(resp + body_len, 16, "body: ");
    memcpy(resp + body_len, req + head_len, (size_t)(n - head_len));
    body_len += (int)(n - head_len);
    resp[body_len++] = '\n';
  }
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Served-By: legacy\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n",
                    body_len);
  if (write(fd, head, (size_t)hl) != hl) return;
  if (write(fd, resp, (size_t)body_len) != body_len) return;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 128) != 0 ||
      getsockname(s, (struct sockaddr*)&addr, &len) != 0) {
    perror("upstream");
    return 1;
  }
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    answer(c);
    shutdown(c, SHUT_WR);
    close(c);
  }
}
