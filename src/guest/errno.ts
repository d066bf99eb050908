// errno texts, as strerror(3) gives them (only those the model kernel produces).
const TEXT: Record<number, string> = {
  1: 'Operation not permitted', 2: 'No such file or directory', 5: 'Input/output error', 7: 'Argument list too long',
  8: 'Exec format error', 9: 'Bad file descriptor', 10: 'No child processes', 12: 'Cannot allocate memory', 13: 'Permission denied',
  14: 'Bad address', 17: 'File exists', 20: 'Not a directory', 21: 'Is a directory', 22: 'Invalid argument',
  24: 'Too many open files', 25: 'Inappropriate ioctl for device', 27: 'File too large', 30: 'Read-only file system',
  36: 'File name too long', 38: 'Function not implemented',
};
export function strerror(errno: number): string { return TEXT[errno] ?? `Unknown error ${errno}`; }
