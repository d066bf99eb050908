/* String and memory functions at many lengths and alignments (glibc selects vector
 * implementations for the CPU), formatting and parsing. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
  char a[600], b[600];
  unsigned h = 0;
  for (int off = 0; off < 17; off++) {
    for (int len = 0; len < 300; len += 7) {
      memset(a, 0, sizeof a);
      for (int i = 0; i < len; i++) a[off + i] = (char)('a' + (i * 13 + off) % 26);
      h = h * 31 + (unsigned)strlen(a + off);
      memcpy(b + (len % 13), a + off, (size_t)len + 1);
      h = h * 31 + (unsigned)(strcmp(b + (len % 13), a + off) == 0);
      b[(len % 13) + len / 2] = 'Z';
      h = h * 31 + (unsigned)(strcmp(b + (len % 13), a + off) > 0) + (unsigned)(memcmp(b + (len % 13), a + off, (size_t)len) < 0);
      char *c = strchr(a + off, 'q'); h = h * 31 + (unsigned)(c ? c - (a + off) : -1);
      c = strrchr(a + off, 'e'); h = h * 31 + (unsigned)(c ? c - (a + off) : -1);
      c = memchr(a + off, 'z', (size_t)len); h = h * 31 + (unsigned)(c ? c - (a + off) : -1);
      h = h * 31 + (unsigned)strnlen(a + off, (size_t)len / 2);
      memmove(a + off + 3, a + off, (size_t)len);
      h = h * 31 + (unsigned char)a[off + len / 2];
    }
  }
  printf("memory/string hash %08x\n", h);
  char text[] = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs";
  char *words[32]; int n = 0;
  for (char *t = strtok(text, " ;"); t && n < 32; t = strtok(NULL, " ;")) words[n++] = t;
  qsort(words, (size_t)n, sizeof words[0], cmp);
  for (int i = 0; i < n; i++) printf("%s%c", words[i], i + 1 < n ? ' ' : '\n');
  char out[256];
  snprintf(out, sizeof out, "[%5d|%-5d|%05d|%x|%X|%o|%+d|%lld|%llu|%c|%.3s|%10.4s|%%]", 42, -42, 42, 0xbeef, 0xbeef, 8, 7, -9223372036854775807LL, 18446744073709551615ULL, 'x', "abcdef", "abcdef");
  puts(out);
  printf("strtol: %ld %ld %ld %lu\n", strtol("  -12345xyz", NULL, 10), strtol("0x7fffffff", NULL, 16), strtol("777", NULL, 8), strtoul("18446744073709551615", NULL, 10));
  char up[64]; const char *src = "Mixed Case 123 !?";
  for (size_t i = 0; i <= strlen(src); i++) up[i] = (char)toupper((unsigned char)src[i]);
  printf("%s %s %d\n", up, strstr("haystack with needle inside", "needle"), (int)strspn("aaabbbccc", "ab"));
  return 0;
}
