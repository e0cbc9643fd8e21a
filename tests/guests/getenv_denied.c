// Reports whether the host's usual variables leak into the guest.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  printf("HOME %s\n", getenv("HOME") ? "set" : "unset");
  printf("PATH %s\n", getenv("PATH") ? "set" : "unset");
  return 0;
}
