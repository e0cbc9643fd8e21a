// A misbehaving plugin: it never returns. jinn stops it at the route's
// timeout and answers 504; the server and other routes are unaffected.
int main(void) {
  volatile unsigned long n = 0;  // volatile: the loop is not optimised away
  while (1) {
    ++n;
  }
}
