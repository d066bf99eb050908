/* malloc, realloc and free of many sizes (brk and mmap), qsort and bsearch, a hash table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec { int key; double w; char name[12]; };
static int bykey(const void *a, const void *b) { const struct rec *x = a, *y = b; return (x->key > y->key) - (x->key < y->key); }
static int icmp(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }

int main(void) {
  uint32_t seed = 12345;
#define RND() (seed = seed * 1103515245 + 12345, (seed >> 8) & 0xffffff)
  void *slots[512] = { 0 };
  size_t sizes[512] = { 0 };
  uint64_t check = 0;
  for (int round = 0; round < 6000; round++) {
    int k = (int)(RND() % 512);
    if (slots[k]) {
      for (size_t i = 0; i < sizes[k]; i++) check += ((uint8_t *)slots[k])[i] * (i + 1);
      if (RND() % 3 == 0) { size_t ns = RND() % 5000 + 1; slots[k] = realloc(slots[k], ns); if (ns > sizes[k]) memset((char *)slots[k] + sizes[k], k, ns - sizes[k]); sizes[k] = ns; }
      else { free(slots[k]); slots[k] = NULL; }
    } else {
      size_t n = RND() % 8 == 0 ? RND() % 200000 + 1 : RND() % 2000 + 1;
      slots[k] = malloc(n); sizes[k] = n;
      memset(slots[k], (int)(n & 0xff), n);
    }
  }
  for (int k = 0; k < 512; k++) free(slots[k]);
  printf("heap check %llu\n", (unsigned long long)check);
  int *v = malloc(100000 * sizeof *v);
  for (int i = 0; i < 100000; i++) v[i] = (int)RND() - 8000000;
  qsort(v, 100000, sizeof *v, icmp);
  long long sum = 0; for (int i = 0; i < 100000; i += 997) sum += v[i];
  int key = v[4242]; int *f = bsearch(&key, v, 100000, sizeof *v, icmp);
  printf("sorted min %d max %d sample %lld found %d\n", v[0], v[99999], sum, f && *f == key);
  struct rec r[300];
  for (int i = 0; i < 300; i++) { r[i].key = (int)(RND() % 1000); r[i].w = r[i].key / 3.0; snprintf(r[i].name, sizeof r[i].name, "n%d", r[i].key); }
  qsort(r, 300, sizeof r[0], bykey);
  for (int i = 0; i < 300; i += 50) printf("%d:%s:%.3f ", r[i].key, r[i].name, r[i].w);
  printf("\n");
  enum { B = 1024 };
  struct node { char *k; int v; struct node *next; } *tab[B] = { 0 };
  for (int i = 0; i < 5000; i++) {
    char kb[16]; snprintf(kb, sizeof kb, "k%u", RND() % 3000);
    unsigned hh = 5381; for (char *p = kb; *p; p++) hh = hh * 33 + (unsigned char)*p;
    struct node **pp = &tab[hh % B];
    while (*pp && strcmp((*pp)->k, kb)) pp = &(*pp)->next;
    if (*pp) (*pp)->v++; else { *pp = calloc(1, sizeof **pp); (*pp)->k = strdup(kb); (*pp)->v = 1; }
  }
  int distinct = 0, maxv = 0;
  for (int b = 0; b < B; b++) for (struct node *n = tab[b]; n; n = n->next) { distinct++; if (n->v > maxv) maxv = n->v; }
  printf("hash distinct %d max %d\n", distinct, maxv);
  free(v);
  return 3;
}
