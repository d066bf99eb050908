/* Integer arithmetic across widths: edge values, division and remainder, shifts and rotates,
 * bit counting, overflow builtins, 128-bit arithmetic (libgcc), CRC-32 and a jump table. */
#include <stdint.h>
#include <stdio.h>
#include <limits.h>

static const int64_t V[] = { 0, 1, -1, 2, -2, 7, -7, 255, 65535, 2147483647, -2147483647 - 1, 4294967295LL,
  INT64_MAX, INT64_MIN, 0x123456789abcdefLL, -0x5555555555555555LL, 1000000007, 3 };
#define N (sizeof V / sizeof V[0])

static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffff;
  for (size_t i = 0; i < n; i++) { c ^= p[i]; for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320 & -(c & 1)); }
  return ~c;
}

static int classify(int x) {
  switch (x & 15) {
    case 0: return 11; case 1: return 23; case 2: return 5; case 3: return 99; case 4: return -1; case 5: return 7;
    case 6: return 64; case 7: return 3; case 8: return 12; case 9: return 1; default: return x * 3;
  }
}

int main(void) {
  uint64_t h = 1469598103934665603ULL;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ULL)
  for (size_t i = 0; i < N; i++) {
    for (size_t j = 0; j < N; j++) {
      int64_t a = V[i], b = V[j];
      uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
      MIX(a + b); MIX(a - b); MIX(a * b); MIX(ua * ub);
      if (b != 0 && !(a == INT64_MIN && b == -1)) { MIX(a / b); MIX(a % b); }
      if (ub != 0) { MIX(ua / ub); MIX(ua % ub); }
      int32_t a32 = (int32_t)a, b32 = (int32_t)b;
      if (b32 != 0 && !(a32 == INT32_MIN && b32 == -1)) { MIX(a32 / b32); MIX(a32 % b32); }
      if ((uint32_t)b32) MIX((uint32_t)a32 / (uint32_t)b32);
      MIX(ua << (ub & 63)); MIX(ua >> (ub & 63)); MIX(a >> (ub & 63));
      MIX((uint32_t)a << (b & 31)); MIX(a32 >> (b & 31));
      MIX((ua << (ub & 63)) | (ua >> ((64 - (ub & 63)) & 63)));
      int64_t r; MIX(__builtin_add_overflow(a, b, &r)); MIX(r);
      MIX(__builtin_mul_overflow(a, b, &r)); MIX(r);
      __int128 p = (__int128)a * b; MIX((uint64_t)p); MIX((uint64_t)(p >> 64));
      unsigned __int128 up = (unsigned __int128)ua * ub; MIX((uint64_t)(up >> 64));
      if (b) { __int128 q = ((__int128)a << 40) / b; MIX((uint64_t)q); }
      MIX(a < b); MIX(ua < ub); MIX(a == b);
    }
    MIX(__builtin_popcountll(V[i])); MIX(V[i] ? __builtin_clzll(V[i]) : 64); MIX(V[i] ? __builtin_ctzll(V[i]) : 64);
    MIX(__builtin_bswap64(V[i])); MIX(__builtin_bswap32((uint32_t)V[i])); MIX((int8_t)V[i]); MIX((int16_t)V[i]);
    printf("v[%zu]=%lld hash=%016llx\n", i, (long long)V[i], (unsigned long long)h);
  }
  uint8_t buf[1000];
  for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 7 + (i >> 3));
  printf("crc32=%08x\n", crc32(buf, sizeof buf));
  long s = 0;
  for (int i = 0; i < 100000; i++) s += classify(i ^ (i >> 5));
  printf("switch=%ld\n", s);
  unsigned __int128 f = 1;
  for (int i = 1; i <= 30; i++) f *= i;
  printf("30! = %llu%019llu\n", (unsigned long long)(f / 10000000000000000000ULL), (unsigned long long)(f % 10000000000000000000ULL));
  return 0;
}
