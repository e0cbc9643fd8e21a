// Tries to open files. With no arguments it tries a host path and a relative
// path, which must both fail when nothing is preopened. With arguments it tries
// each path given. Per path it prints "opened <path>: <first line>" or
// "failed <path>: <strerror>"; the last line is "result: opened" if any path
// opened, else "result: denied".
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int try_open(const char* path) {
  FILE* f = fopen(path, "r");
  if (!f) {
    printf("failed %s: %s\n", path, strerror(errno));
    return 0;
  }
  char line[256] = {0};
  if (!fgets(line, sizeof line, f)) line[0] = 0;
  line[strcspn(line, "\n")] = 0;
  printf("opened %s: %s\n", path, line);
  fclose(f);
  return 1;
}

int main(int argc, char** argv) {
  int opened = 0;
  if (argc > 1) {
    for (int i = 1; i < argc; i++) opened |= try_open(argv[i]);
  } else {
    opened |= try_open("/etc/passwd");
    opened |= try_open("data.txt");
  }
  printf("result: %s\n", opened ? "opened" : "denied");
  return 0;
}
