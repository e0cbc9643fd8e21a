// Writes 64 KiB chunks forever (to stderr when argv[1] is "stderr"). Only an
// output cap can stop it; write errors are ignored on purpose so the guest
// cannot stop by itself.
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  static char chunk[65536];
  memset(chunk, 'x', sizeof chunk);
  int fd = (argc > 1 && strcmp(argv[1], "stderr") == 0) ? 2 : 1;
  for (;;) (void)write(fd, chunk, sizeof chunk);
}
