// Exits with the code given as argv[1] (0 when missing), to check that exit
// codes propagate through proc_exit.
#include <stdlib.h>

int main(int argc, char** argv) {
  exit(argc > 1 ? atoi(argv[1]) : 0);
}
