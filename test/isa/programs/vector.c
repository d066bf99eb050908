/* Loops GCC vectorizes at -O2 (VMX/VSX integer and floating point), and explicit AltiVec
 * intrinsics. */
#include <altivec.h>
#include <stdint.h>
#include <stdio.h>

#define N 4099
static uint8_t b8[N], c8[N]; static int16_t h[N]; static int32_t w[N], w2[N]; static int64_t d[N];
static float f[N], g[N]; static double x[N], y[N];

int main(void) {
  for (int i = 0; i < N; i++) { b8[i] = (uint8_t)(i * 37); h[i] = (int16_t)(i * 301 - 20000); w[i] = i * 70001 - 1000000; d[i] = (int64_t)i * i * 100003; f[i] = (float)i / 3.0f; x[i] = i * 0.001; }
  for (int i = 0; i < N; i++) { c8[i] = (uint8_t)(b8[i] > 100 ? b8[i] - 100 : b8[i] + 17); w2[i] = w[i] * 3 + (w[i] >> 2); g[i] = f[i] * f[i] + 1.5f; y[i] = x[i] * 2.0 + x[N - 1 - i]; }
  uint32_t s8 = 0; int64_t sh = 0, sw = 0, sd = 0; float sf = 0; double sx = 0; int32_t mx = INT32_MIN;
  for (int i = 0; i < N; i++) { s8 += c8[i]; sh += h[i]; sw += w2[i]; sd += d[i] ^ (d[i] >> 3); sf += g[i]; sx += y[i] * x[i]; if (w2[i] > mx) mx = w2[i]; }
  printf("sums %u %lld %lld %lld %.9g %.17g max %d\n", s8, (long long)sh, (long long)sw, (long long)sd, sf, sx, mx);
  vector unsigned char va = vec_splats((unsigned char)3), vb = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  vector unsigned char vc = vec_add(vec_mul(vb, va), vec_sl(vb, vec_splats((unsigned char)1)));
  vector unsigned char vp = vec_perm(vb, vc, (vector unsigned char){ 0, 17, 2, 19, 4, 21, 6, 23, 31, 30, 29, 28, 27, 26, 25, 24 });
  vector signed int vi = { -5, 17, 1 << 30, -(1 << 30) };
  vector signed int vs = vec_adds(vi, vi);
  vector float vf = { 1.5f, -2.25f, 1e30f, 3.0f };
  vector float vr = vec_madd(vf, vf, (vector float){ 1, 1, 1, 1 });
  for (int i = 0; i < 16; i++) printf("%u,%u ", vc[i], vp[i]);
  printf("\n%d %d %d %d | %g %g %g %g\n", vs[0], vs[1], vs[2], vs[3], vr[0], vr[1], vr[2], vr[3]);
  return 0;
}
