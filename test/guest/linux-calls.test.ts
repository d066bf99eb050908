// The system calls a static glibc program makes beyond the init script's, made raw by a model
// program (R0 number, R3.. arguments; CR0[SO] and the positive errno on error) and checked
// against Linux's answers: memory (mmap, munmap, mprotect, brk), file status, descriptors
// (dup, dup2, dup3, fcntl), resource limits and /proc/self/exe.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op } from '../../src/hw/cpu/software.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import { NR } from '../../src/guest/syscalls.js';
import { bareSystem, cleanup, createVm, modelImage } from '../hypervisor/system.js';

after(cleanup);
const enc = new TextEncoder();
const MOTD = 'message of the day\n';
const PAGE = 0x10000;
const RW = 3, PRIVATE_ANON = 0x22, FIXED_NOREPLACE = 0x100000;
const ENOENT = 2, EBADF = 9, ENOMEM = 12, EEXIST = 17, ENODEV = 19, EINVAL = 22, EMFILE = 24;

type Results = Map<string, { v: number; err: number }>;

/** A model program that makes `calls` and records each result by name, with some memory it read. */
function prober(r: Results, mem: Map<string, Uint8Array>): CodeFactory {
  return {
    magic: '#!pef-probe',
    create: () => ({
      name: 'probe',
      *enter(cpu: Cpu): Flow {
        const call = function* (name: string, nr: number, ...a: number[]): Generator<Op, number, void> {
          cpu.regs.setGpr(0, BigInt(nr));
          a.forEach((v, i) => cpu.regs.setGpr(3 + i, BigInt.asUintN(64, BigInt(v))));
          yield { op: 'sc', lev: 0 };
          const v = Number(cpu.regs.getGpr(3));
          const failed = (cpu.regs.cr & 0x10000000) !== 0;
          r.set(name, failed ? { v: -1, err: v } : { v, err: 0 });
          return failed ? -v : v;
        };
        const peek = (name: string, at: number, n: number) => retrying(() => { mem.set(name, cpu.read(at, n)); });
        const poke = (at: number, b: Uint8Array) => retrying(() => cpu.write(at, b));

        const heap = yield* call('brk0', NR.brk, 0);
        yield* call('brk+', NR.brk, heap + 2 * PAGE);
        const scratch = heap;
        yield* poke(heap + PAGE, new Uint8Array(16).fill(0xee));
        yield* call('brk-', NR.brk, heap + PAGE);
        yield* call('brk+again', NR.brk, heap + 2 * PAGE);
        yield* peek('brk regrown', heap + PAGE, 16);

        const a = yield* call('mmap', NR.mmap, 0, 3 * PAGE, RW, PRIVATE_ANON, -1, 0);
        yield* peek('mmap', a, 16);
        yield* call('munmap middle', NR.munmap, a + PAGE, PAGE);
        yield* call('mprotect over hole', NR.mprotect, a, 3 * PAGE, 1);
        yield* call('mprotect mapped', NR.mprotect, a + 2 * PAGE, PAGE, 1);
        yield* call('mprotect unaligned', NR.mprotect, a + 1, PAGE, 1);
        yield* call('mmap into hole', NR.mmap, a + PAGE, PAGE, RW, PRIVATE_ANON | FIXED_NOREPLACE, -1, 0);
        yield* call('mmap noreplace taken', NR.mmap, a + PAGE, PAGE, RW, PRIVATE_ANON | FIXED_NOREPLACE, -1, 0);
        yield* call('mmap no type', NR.mmap, 0, PAGE, RW, 0x20, -1, 0);
        yield* call('mmap len 0', NR.mmap, 0, 0, RW, PRIVATE_ANON, -1, 0);

        yield* poke(scratch, enc.encode('/etc/motd\0'));
        const fd = yield* call('open', NR.openat, -100, scratch, 0);
        const f = yield* call('mmap file', NR.mmap, 0, PAGE, 1, 0x02, fd, 0);
        yield* peek('mmap file', f, MOTD.length + 1);
        yield* call('mmap shared file', NR.mmap, 0, PAGE, 1, 0x01, fd, 0);
        yield* call('mmap bad fd', NR.mmap, 0, PAGE, 1, 0x02, 77, 0);

        yield* call('fstat file', NR.fstat, fd, scratch + 256);
        yield* peek('fstat file', scratch + 256, 144);
        yield* call('fstat console', NR.fstat, 1, scratch + 256);
        yield* peek('fstat console', scratch + 256, 144);
        yield* poke(scratch, enc.encode('/etc\0'));
        yield* call('stat dir', NR.newfstatat, -100, scratch, scratch + 256, 0);
        yield* peek('stat dir', scratch + 256, 144);
        yield* poke(scratch, enc.encode('motd\0'));
        yield* poke(scratch + 1024, enc.encode('/etc\0'));
        const etcFd = yield* call('open etc', NR.openat, -100, scratch + 1024, 0);
        yield* call('stat relative', NR.newfstatat, etcFd, scratch, scratch + 256, 0);
        yield* call('stat relative to a file', NR.newfstatat, fd, scratch, scratch + 256, 0);

        const d = yield* call('dup', NR.dup, fd);
        yield* call('read 4', NR.read, fd, scratch + 512, 4);
        yield* call('read via dup', NR.read, d, scratch + 512, 4);
        yield* peek('read via dup', scratch + 512, 4);
        yield* call('setfd', NR.fcntl, d, 2, 1);
        yield* call('getfd', NR.fcntl, d, 1, 0);
        yield* call('getfl', NR.fcntl, d, 3, 0);
        yield* call('dup3 same', NR.dup3, fd, fd, 0);
        yield* call('dup2 same', NR.dup2, fd, fd);
        yield* call('dup2 far', NR.dup2, fd, 5000);

        yield* call('getrlimit stack', NR.prlimit64, 0, 3, 0, scratch + 768);
        yield* peek('getrlimit stack', scratch + 768, 16);
        const lim = new Uint8Array(16);
        new DataView(lim.buffer).setBigUint64(0, 6n, true);
        new DataView(lim.buffer).setBigUint64(8, 6n, true);
        yield* poke(scratch + 768, lim);
        yield* call('setrlimit nofile', NR.prlimit64, 0, 7, scratch + 768, 0);
        yield* call('dup over the limit', NR.dup, fd);
        yield* call('prlimit other pid', NR.prlimit64, 99, 7, 0, scratch + 768);

        yield* poke(scratch, enc.encode('/proc/self/exe\0'));
        yield* call('readlink exe', NR.readlinkat, -100, scratch, scratch + 512, 64);
        yield* peek('readlink exe', scratch + 512, 5);
        yield* poke(scratch, enc.encode('/etc/motd\0'));
        yield* call('readlink file', NR.readlink, scratch, scratch + 512, 64);
        yield* poke(scratch, enc.encode('/nope\0'));
        yield* call('readlink missing', NR.readlink, scratch, scratch + 512, 64);
        yield* call('robust list', NR.set_robust_list, scratch, 24);
        yield* call('robust list size', NR.set_robust_list, scratch, 16);
        yield* call('set_tid_address', NR.set_tid_address, scratch);
        yield* call('rseq', NR.rseq, scratch, 32, 0, 0);
        yield* call('exit', NR.exit_group, 0);
      },
    }),
  };
}

test('memory, file-status, descriptor and limit calls answer as Linux does', async () => {
  const r: Results = new Map();
  const mem = new Map<string, Uint8Array>();
  const sys = bareSystem({ code: [prober(r, mem)] });
  const vm = createVm(sys, 'vm1', modelImage({ init: '#!pef-probe\n', files: [{ path: 'etc', type: 'dir' }, { path: 'etc/motd', data: MOTD }] }), { secureGuest: false });
  await sys.run();
  assert.deepEqual(vm.exit, { kind: 'power-off' }, vm.console.join('\n'));
  const ok = (name: string) => { const x = r.get(name); assert.ok(x && x.err === 0, `${name}: ${JSON.stringify(x)}`); return x.v; };
  const fails = (name: string, errno: number) => assert.deepEqual(r.get(name), { v: -1, err: errno }, name);
  const u32 = (name: string, off: number) => new DataView(mem.get(name)!.buffer).getUint32(off, true);
  const u64 = (name: string, off: number) => Number(new DataView(mem.get(name)!.buffer).getBigUint64(off, true));

  assert.equal(ok('brk+'), ok('brk0') + 2 * PAGE);
  assert.deepEqual([...mem.get('brk regrown')!], new Array(16).fill(0), 'memory brk gives back is zero, even where it was written before');
  const a = ok('mmap');
  assert.equal(a % PAGE, 0);
  assert.deepEqual([...mem.get('mmap')!], new Array(16).fill(0));
  ok('munmap middle');
  fails('mprotect over hole', ENOMEM);
  ok('mprotect mapped');
  fails('mprotect unaligned', EINVAL);
  assert.equal(ok('mmap into hole'), a + PAGE);
  fails('mmap noreplace taken', EEXIST);
  fails('mmap no type', EINVAL);
  fails('mmap len 0', EINVAL);

  assert.equal(Buffer.from(mem.get('mmap file')!).toString(), MOTD + '\0', 'a private file mapping: the file, then zeros');
  fails('mmap shared file', ENODEV);
  fails('mmap bad fd', EBADF);
  assert.equal(u32('fstat file', 24) & 0o170000, 0o100000);
  assert.equal(u64('fstat file', 48), MOTD.length);
  assert.equal(u32('fstat console', 24) & 0o170000, 0o020000);
  assert.equal(u64('fstat console', 40), 0x501, '/dev/console is 5:1');
  assert.equal(u32('stat dir', 24) & 0o170000, 0o040000);
  ok('stat relative');
  fails('stat relative to a file', 20);

  ok('dup');
  assert.equal(Buffer.from(mem.get('read via dup')!).toString(), MOTD.slice(4, 8), 'a duplicate shares the file offset');
  assert.equal(ok('getfd'), 1);
  assert.equal(ok('getfl'), 0);
  fails('dup3 same', EINVAL);
  assert.equal(ok('dup2 same'), r.get('open')!.v);
  fails('dup2 far', EBADF);

  ok('getrlimit stack');
  assert.equal(u64('getrlimit stack', 0), u64('getrlimit stack', 8));
  ok('setrlimit nofile');
  fails('dup over the limit', EMFILE);
  fails('prlimit other pid', 3);

  assert.equal(ok('readlink exe'), 5);
  assert.equal(Buffer.from(mem.get('readlink exe')!).toString(), '/init');
  fails('readlink file', EINVAL);
  fails('readlink missing', ENOENT);
  ok('robust list');
  fails('robust list size', EINVAL);
  assert.equal(ok('set_tid_address'), 1);
  fails('rseq', 38);
});
