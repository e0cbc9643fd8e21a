// Tenant "initech": a customer script with a bug, an endless loop. Its route's
// 50 ms limit stops it (504) while the other tenants keep answering.
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
