/* Prints a line, then dereferences a null pointer: the run ends with SIGSEGV (status 139). */
#include <stdio.h>
int main(int argc, char **argv) {
  printf("about to fault with %d argument(s)\n", argc - 1);
  fflush(stdout);
  volatile int *p = (volatile int *)(long)(argc - 1 - (argv[1] != 0));
  return *p;
}
