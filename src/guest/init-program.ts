// /init of a model root disk: the `#!pef-init` script runs as a user program in problem state.
// The machine finds the magic at the entry point the kernel started it at; from then on the
// program reaches the kernel only with `sc 0` system calls (R0 = number, R3.. = arguments,
// CR0[SO] and R3 = errno on failure), on buffers in its own memory, exactly as a compiled
// program would. A failing command ends the script with status 1 (as `sh -e`); `exec` runs an
// ELF program (vfork, execve, wait4) and goes on when it exits with status 0.

import { createHash } from 'node:crypto';
import type { Cpu } from '../hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../hw/cpu/software.js';
import { retrying } from '../hw/cpu/retry.js';
import { INIT_MAX_BYTES, INIT_SHEBANG, parseInitScript, type InitCommand } from '../image/init-script.js';
import { strerror } from './errno.js';
import { AT_FDCWD, NR, O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY } from './syscalls.js';

type G<T = void> = Generator<Op, T, void>;
const CR0_SO = 0x10000000;
const IO = 64 * 1024;
const enc = new TextEncoder();
const SIGNALS: Record<number, string> = { 4: 'Illegal instruction', 6: 'Aborted', 7: 'Bus error', 9: 'Killed', 11: 'Segmentation fault' };

class Sys {
  constructor(readonly cpu: Cpu) {}

  /** One system call; a negative result is -errno. */
  *call(nr: number, ...args: number[]): G<number> {
    const c = this.cpu;
    c.regs.setGpr(0, BigInt(nr));
    args.forEach((a, i) => c.regs.setGpr(3 + i, BigInt.asUintN(64, BigInt(a))));
    yield { op: 'sc', lev: 0 };
    const r = Number(BigInt.asIntN(64, c.regs.getGpr(3)));
    return (c.regs.cr & CR0_SO) !== 0 ? -r : r;
  }

  *poke(ea: number, b: Uint8Array): G { const c = this.cpu; yield* retrying(() => c.write(ea, b)); }
  *peek(ea: number, n: number): G<Uint8Array> { const c = this.cpu; return yield* retrying(() => c.read(ea, n)); }
}

class ScriptError extends Error {
  constructor(readonly line: number, message: string) { super(message); }
}

function* run(cpu: Cpu, entry: number): G {
  const sys = new Sys(cpu);
  // Heap for buffers: [io buffer | string area].
  const base = yield* sys.call(NR.brk, 0);
  const top = yield* sys.call(NR.brk, base + 2 * IO);
  const say = function* (fd: number, s: string): G {
    const b = enc.encode(s);
    for (let o = 0; o < b.length; o += IO) {
      const part = b.subarray(o, o + IO);
      yield* sys.poke(base, part);
      yield* sys.call(NR.write, fd, base, part.length);
    }
  };
  if (top < base + 2 * IO) { yield* sys.call(NR.exit_group, 12); return; }
  const strAt = base + IO;
  const cstr = function* (s: string): G<number> { yield* sys.poke(strAt, enc.encode(s + '\0')); return strAt; };

  // The script is this program's own text, NUL-terminated after it.
  const raw: number[] = [];
  for (let o = 0; o <= INIT_MAX_BYTES; o += 256) {
    const chunk = yield* sys.peek(entry + o, 256);
    const z = chunk.indexOf(0);
    raw.push(...(z >= 0 ? chunk.subarray(0, z) : chunk));
    if (z >= 0) break;
  }
  let cmds: InitCommand[];
  try {
    cmds = parseInitScript(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    yield* say(2, `init: ${(e as Error).message}\n`);
    yield* sys.call(NR.exit_group, 1);
    return;
  }

  const open = function* (path: string, flags: number, line: number): G<number> {
    const fd = yield* sys.call(NR.openat, AT_FDCWD, yield* cstr(path), flags, 0o644);
    if (fd < 0) throw new ScriptError(line, `${path}: ${strerror(-fd)}`);
    return fd;
  };
  /** Each chunk of a file, read with read(2) into the io buffer. */
  const eachChunk = function* (path: string, line: number, f: (b: Uint8Array) => G): G {
    const fd = yield* open(path, O_RDONLY, line);
    for (;;) {
      const n = yield* sys.call(NR.read, fd, base, IO);
      if (n < 0) throw new ScriptError(line, `${path}: ${strerror(-n)}`);
      if (n === 0) break;
      yield* f(yield* sys.peek(base, n));
    }
    yield* sys.call(NR.close, fd);
  };
  const slurp = function* (path: string, line: number): G<string> {
    const parts: Uint8Array[] = [];
    // eslint-disable-next-line require-yield
    yield* eachChunk(path, line, function* (b) { parts.push(b); });
    return Buffer.concat(parts).toString('utf8');
  };

  try {
    for (const c of cmds) {
      switch (c.op) {
        case 'echo': yield* say(1, c.text + '\n'); break;
        case 'cat': yield* eachChunk(c.path, c.line, function* (b) { yield* sys.poke(base, b); yield* sys.call(NR.write, 1, base, b.length); }); break;
        case 'sha256': {
          const h = createHash('sha256');
          // eslint-disable-next-line require-yield
          yield* eachChunk(c.path, c.line, function* (b) { h.update(b); });
          yield* say(1, `${h.digest('hex')}  ${c.path}\n`);
          break;
        }
        case 'status': {
          const svm = (yield* slurp('/sys/devices/system/cpu/svm', c.line)).trim() === '1';
          if (svm) {
            const fp = (yield* slurp('/sys/firmware/pef/key-fingerprint', c.line)).trim();
            yield* say(1, `status: running secure (PEF SVM) under machine key ${fp}\n`);
          } else {
            yield* say(1, 'status: running as a normal VM (not secure)\n');
          }
          break;
        }
        case 'write': {
          const fd = yield* open(c.path, O_WRONLY | O_CREAT | O_TRUNC, c.line);
          const b = enc.encode(c.text + '\n');
          yield* sys.poke(base, b);
          const n = yield* sys.call(NR.write, fd, base, b.length);
          if (n < 0) throw new ScriptError(c.line, `${c.path}: ${strerror(-n)}`);
          yield* sys.call(NR.close, fd);
          break;
        }
        case 'exec': {
          // argv strings, then the pointer array, in the string area; the wait status after them.
          const argv = [c.path, ...c.args];
          let at = strAt;
          const ptrs: number[] = [];
          for (const a of argv) { const b = enc.encode(a + '\0'); yield* sys.poke(at, b); ptrs.push(at); at += b.length; }
          at = Math.ceil(at / 8) * 8;
          const arr = new Uint8Array(8 * (ptrs.length + 1));
          ptrs.forEach((p, i) => new DataView(arr.buffer).setBigUint64(8 * i, BigInt(p), true));
          yield* sys.poke(at, arr);
          const statusAt = at + arr.length;
          // vfork, then execve in the child; this program resumes as the parent where the child's
          // last system call returned (execve, or _exit when the exec failed), with its pid.
          const v = yield* sys.call(NR.vfork);
          if (v < 0) throw new ScriptError(c.line, `exec ${c.path}: vfork: ${strerror(-v)}`);
          let pid = yield* sys.call(NR.execve, ptrs[0]!, at, 0);
          let execErr = 0;
          if (pid < 0) { execErr = -pid; pid = yield* sys.call(NR.exit_group, 127); }
          const w = yield* sys.call(NR.wait4, pid, statusAt, 0, 0);
          if (w < 0) throw new ScriptError(c.line, `exec ${c.path}: wait4: ${strerror(-w)}`);
          const status = new DataView((yield* sys.peek(statusAt, 4)).buffer).getInt32(0, true);
          if (execErr) throw new ScriptError(c.line, `exec ${c.path}: ${strerror(execErr)}`);
          if (status & 0x7f) throw new ScriptError(c.line, `${c.path}: killed by signal ${status & 0x7f} (${SIGNALS[status & 0x7f] ?? 'unknown'})`);
          if (status >> 8) throw new ScriptError(c.line, `${c.path}: exited with status ${(status >> 8) & 0xff}`);
          break;
        }
        case 'exit': yield* sys.call(NR.exit_group, c.code); return;
      }
    }
  } catch (e) {
    if (!(e instanceof ScriptError)) throw e;
    yield* say(2, `init: line ${e.line}: ${e.message}\n`);
    yield* sys.call(NR.exit_group, 1);
    return;
  }
  yield* sys.call(NR.exit_group, 0);
}

/** The code factory for `#!pef-init` programs: each exec starts a fresh instance at the entry. */
export const initScriptProgram: CodeFactory = {
  magic: INIT_SHEBANG,
  create(_cpu: Cpu, _lpid: number, entry: number): Software {
    return {
      name: 'pef-init',
      *enter(cpu: Cpu, pc: number): Flow {
        // Entered anywhere but its start, the program does what a stray jump would: it dies.
        if (pc !== entry) { yield* new Sys(cpu).call(NR.exit_group, 127); return; }
        yield* run(cpu, entry);
      },
    };
  },
};
