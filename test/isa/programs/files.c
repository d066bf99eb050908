/* File I/O on temporary files in the directory argv[1]: stdio and raw system calls, seeking,
 * fstat, rename and unlink. Exit code 5 on success. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: files DIR\n"); return 2; }
  char path[512], path2[512];
  snprintf(path, sizeof path, "%s/one.txt", argv[1]);
  snprintf(path2, sizeof path2, "%s/two.txt", argv[1]);
  FILE *f = fopen(path, "w");
  if (!f) { perror("fopen"); return 1; }
  for (int i = 0; i < 1000; i++) fprintf(f, "line %d: %x %s\n", i, i * i, i % 3 ? "abc" : "defghi");
  fclose(f);
  f = fopen(path, "r");
  char line[128]; int lines = 0; unsigned sum = 0;
  while (fgets(line, sizeof line, f)) { lines++; for (char *p = line; *p; p++) sum = sum * 7 + (unsigned char)*p; }
  fseek(f, -20, SEEK_END); long pos = ftell(f);
  size_t got = fread(line, 1, 20, f); line[got] = 0;
  printf("lines %d sum %u pos %ld tail [%s]\n", lines, sum, pos, strchr(line, '\n') ? "has newline" : line);
  fclose(f);
  int fd = open(path, O_RDWR);
  struct stat st; fstat(fd, &st);
  printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  lseek(fd, 5, SEEK_SET);
  write(fd, "XYZ", 3);
  lseek(fd, 0, SEEK_SET);
  char head[16] = { 0 };
  ssize_t n = read(fd, head, 10);
  printf("read %zd [%.10s]\n", n, head);
  close(fd);
  printf("rename %d\n", rename(path, path2));
  printf("open missing: %d errno %s\n", open(path, O_RDONLY), errno == ENOENT ? "ENOENT" : "other");
  fd = open(path2, O_WRONLY | O_APPEND);
  write(fd, "appended\n", 9);
  close(fd);
  stat(path2, &st);
  printf("after append %lld\n", (long long)st.st_size);
  printf("unlink %d %d\n", unlink(path2), access(path2, F_OK));
  return 5;
}
