// Shows exactly what the guest can see of its arguments and environment, with
// a prefix per line so tests can tell an argument from an env entry.
#include <stdio.h>
#include <stdlib.h>

extern char** environ;

int main(int argc, char** argv) {
  for (int i = 0; i < argc; i++) printf("arg: %s\n", argv[i]);
  for (char** e = environ; e && *e; e++) printf("env: %s\n", *e);
  const char* secret = getenv("SECRET");
  printf("secret: %s\n", secret ? secret : "(unset)");
  return 0;
}
