/* System interfaces whose values differ between runs, checked by property: getrandom, the
 * clocks, the auxiliary vector, uname, process identity. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  unsigned char a[64], b[64];
  ssize_t na = getrandom(a, sizeof a, 0), nb = getrandom(b, sizeof b, 0);
  int zero = 1; for (int i = 0; i < 64; i++) if (a[i]) zero = 0;
  printf("getrandom %zd %zd differ %d allzero %d\n", na, nb, memcmp(a, b, 64) != 0, zero);
  struct timespec t0, t1, r;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  volatile unsigned long x = 0; for (int i = 0; i < 200000; i++) x += (unsigned long)i * i;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  clock_gettime(CLOCK_REALTIME, &r);
  long long dt = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  printf("monotonic non-decreasing %d realtime after 2020 %d nsec in range %d\n", dt >= 0, r.tv_sec > 1577836800, r.tv_nsec >= 0 && r.tv_nsec < 1000000000);
  printf("pagesize power of two %d, hwcap has 64-bit and VSX %d, AT_RANDOM set %d, argv[0] set %d\n",
    (getpagesize() & (getpagesize() - 1)) == 0, (getauxval(AT_HWCAP) & 0x40000080) == 0x40000080, getauxval(AT_RANDOM) != 0, argc > 0 && argv[0][0] != 0);
  struct utsname u; uname(&u);
  printf("uname %s %s\n", u.sysname, u.machine);
  printf("pid positive %d\n", getpid() > 0);
  return 0;
}
