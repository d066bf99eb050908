/* Floating point: printf in every format, libm, rounding modes, conversions, single precision,
 * denormals, infinities and NaNs, and loops the compiler vectorizes. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static volatile double vd[] = { 0.0, -0.0, 1.0, -1.5, 3.141592653589793, 1e300, -1e-300, 5e-324, 2.2250738585072014e-308,
  1.7976931348623157e308, 123456789.123456789, 0.1, 1.0 / 3.0, 2.5, 3.5, -2.5 };

int main(void) {
  for (size_t i = 0; i < sizeof vd / sizeof vd[0]; i++) {
    double x = vd[i];
    printf("%g %.17g %e %.3f %a | sqrt %.17g exp %.17g log %.17g sin %.17g cos %.17g pow %.17g\n", x, x, x, x, x,
      sqrt(fabs(x)), exp(x / 1000), log(fabs(x) + 1), sin(x), cos(x), pow(fabs(x) + 0.5, 0.75));
    printf("  float %a %.9g rint %g floor %g ceil %g trunc %g round %g lround %ld fma %.17g\n", (double)(float)x, (float)x,
      rint(x), floor(x), ceil(x), trunc(x), round(x), fabs(x) < 1e18 ? lround(x) : 0L, fma(x, 1.0 + DBL_EPSILON, -x));
  }
  const int modes[] = { FE_TONEAREST, FE_TOWARDZERO, FE_UPWARD, FE_DOWNWARD };
  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    volatile double a = 1.0, b = 3.0, c = -7.0;
    volatile float fa = 1.0f, fb = 3.0f;
    printf("mode %d: %a %a %a %a %a %ld\n", m, a / b, c / b, (double)(fa / fb), sqrt(2.0), a * b + 1e-17, lrint(2.5));
  }
  fesetround(FE_TONEAREST);
  printf("inf %f %f nan %f %d %d\n", HUGE_VAL, -HUGE_VAL, NAN, isnan(NAN), isinf(-INFINITY));
  printf("denormal %a %a %g\n", DBL_MIN / 3, FLT_MIN / 7.0f, DBL_TRUE_MIN * 3);
  printf("strtod %.17g %.17g %g\n", strtod("1e-310", NULL), strtod("0x1.8p3", NULL), strtod("-inf", NULL));
  double acc = 0; float facc = 0; double arr[1000]; float farr[1000]; int iarr[1000];
  for (int i = 0; i < 1000; i++) { arr[i] = i * 0.5 - 100; farr[i] = (float)i / 7.0f; iarr[i] = i * 3 - 500; }
  for (int i = 0; i < 1000; i++) { acc += arr[i] * arr[i]; facc += farr[i] * 0.25f; }
  long isum = 0; for (int i = 0; i < 1000; i++) isum += (long)iarr[i] * iarr[i];
  for (int i = 0; i < 1000; i++) farr[i] = farr[i] * 2.0f + (float)iarr[i];
  printf("sums %.17g %.9g %ld %.9g\n", acc, facc, isum, farr[999]);
  for (int i = -5; i <= 5; i++) printf("%d->%d,%u,%lld ", i, (int)(i * 1.7), (unsigned)(i * 1.7 > 0 ? i * 1.7 : 0), (long long)(i * 1e15));
  printf("\n%.30f %.0f %Lg\n", 0.1, 1e22, (long double)1.0 / 3);
  return 0;
}
