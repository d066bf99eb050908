// The file descriptors of a `pef exec` process: standard streams wired to the caller, and host
// files opened with openat, read and written with positions the process controls.

import * as fs from 'node:fs';

export interface StdIo {
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  /** Read up to `max` bytes of standard input (empty at end of input). */
  stdin(max: number): Uint8Array;
}

export type Fd =
  | { kind: 'std'; which: 0 | 1 | 2 }
  | { kind: 'file'; hostFd: number; pos: number; path: string; append: boolean; dir: boolean };

// Linux errno values (asm-generic/errno-base.h, used by powerpc).
export const E = {
  PERM: 1, NOENT: 2, IO: 5, BADF: 9, AGAIN: 11, NOMEM: 12, ACCES: 13, FAULT: 14, EXIST: 17, NOTDIR: 20, ISDIR: 21,
  INVAL: 22, MFILE: 24, NOTTY: 25, FBIG: 27, NOSPC: 28, SPIPE: 29, RANGE: 34, NOSYS: 38, NOTEMPTY: 39, NAMETOOLONG: 36,
  LOOP: 40,
} as const;

/** Map a Node.js filesystem error code to a Linux errno. */
export function errnoOf(e: unknown): number {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ENOENT': return E.NOENT; case 'EACCES': return E.ACCES; case 'EEXIST': return E.EXIST;
    case 'ENOTDIR': return E.NOTDIR; case 'EISDIR': return E.ISDIR; case 'EBADF': return E.BADF;
    case 'EINVAL': return E.INVAL; case 'EMFILE': return E.MFILE; case 'ENOSPC': return E.NOSPC;
    case 'ENOTEMPTY': return E.NOTEMPTY; case 'ENAMETOOLONG': return E.NAMETOOLONG; case 'EPERM': return E.PERM;
    case 'ELOOP': return E.LOOP; case 'ESPIPE': return E.SPIPE;
    default: return E.IO;
  }
}

export class FdTable {
  private readonly fds = new Map<number, Fd>();
  constructor(readonly io: StdIo) {
    this.fds.set(0, { kind: 'std', which: 0 });
    this.fds.set(1, { kind: 'std', which: 1 });
    this.fds.set(2, { kind: 'std', which: 2 });
  }
  get(fd: number): Fd | undefined { return this.fds.get(fd); }
  add(f: Fd, min = 0): number {
    let n = min;
    while (this.fds.has(n)) n++;
    this.fds.set(n, f);
    return n;
  }
  set(n: number, f: Fd): void { this.fds.set(n, f); }
  close(fd: number): boolean {
    const f = this.fds.get(fd);
    if (!f) return false;
    this.fds.delete(fd);
    if (f.kind === 'file' && ![...this.fds.values()].some((o) => o.kind === 'file' && o.hostFd === f.hostFd)) {
      try { fs.closeSync(f.hostFd); } catch { /* already gone */ }
    }
    return true;
  }
  closeAll(): void { for (const fd of [...this.fds.keys()]) this.close(fd); }
}
