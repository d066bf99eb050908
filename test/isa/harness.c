/* Differential-test harness: runs random instruction sequences on register states it reads
 * from stdin and writes the final states to stdout. The same binary runs under qemu-ppc64le and
 * under `pef exec`. Input: one "PROG" record with the prologue (placed at CODE; it saves the
 * caller's registers, loads the test state and branches to SEQ) and the epilogue (at EPI: it
 * stores the final state and returns), then "CASE" records: a 1536-byte state, a 512-byte data
 * area and the sequence (placed at SEQ; it ends with a branch to EPI). Code and layout are
 * assembled by the test from the instruction table. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define CODE ((uint32_t *)0x30000000)
#define EPI ((uint32_t *)0x30008000)
#define SEQ ((uint32_t *)0x30010000)
#define STATE ((uint8_t *)0x31000000)
#define STATE_BYTES 1536
#define DATA_OFF 4096
#define DATA_BYTES 512
#define MAX_WORDS 8192

static int get(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

int main(void) {
  if (mmap(CODE, 0x20000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != CODE) return 3;
  if (mmap(STATE, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != STATE) return 3;
  uint32_t hdr[3];
  if (!get(hdr, 12) || hdr[0] != 0x474f5250 || hdr[1] > MAX_WORDS || hdr[2] > MAX_WORDS) return 2;
  if (!get(CODE, 4 * hdr[1]) || !get(EPI, 4 * hdr[2])) return 2;
  __builtin___clear_cache((char *)CODE, (char *)(EPI + hdr[2]));
  while (get(hdr, 8)) {
    if (hdr[0] != 0x45534143 || hdr[1] > MAX_WORDS) return 2;
    if (!get(STATE, STATE_BYTES) || !get(STATE + DATA_OFF, DATA_BYTES) || !get(SEQ, 4 * hdr[1])) return 2;
    __builtin___clear_cache((char *)SEQ, (char *)(SEQ + hdr[1]));
    ((void (*)(void *))CODE)(STATE);
    fwrite(STATE, 1, STATE_BYTES, stdout);
    fwrite(STATE + DATA_OFF, 1, DATA_BYTES, stdout);
  }
  return 0;
}
