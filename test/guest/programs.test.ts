// User programs and the system-call layer: the init script's commands, a model program making
// raw `sc 0` calls (Linux ppc64le convention: R0 number, R3.. arguments, CR0[SO] + errno on
// error), and real ppc64le ELF programs run by the ISA interpreter through vfork/execve/wait4.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op } from '../../src/hw/cpu/software.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import { buildHelloProgram } from '../../src/image/hello-elf.js';
import { NR } from '../../src/guest/syscalls.js';
import { bareSystem, cleanup, createVm, modelImage } from '../hypervisor/system.js';
import { machineInterpreter as testInterpreter } from '../../src/cli/commands/run-system.js';

after(cleanup);
const enc = new TextEncoder();
const hello = (msg: string, code = 0) => ({ path: 'bin/hello', data: buildHelloProgram(msg, code), mode: 0o755 });

test('exec runs a real ppc64le program through the interpreter, then the script goes on', async () => {
  const interp = testInterpreter();
  const sys = bareSystem({ memory: 1024 << 20, interpreter: interp });
  const vm = createVm(sys, 'vm1', modelImage({ init: 'echo before\nexec /bin/hello\necho after\nexit 0\n', files: [{ path: 'bin', type: 'dir' }, hello('hello from ppc64le user space\n')] }), { secureGuest: false, memBytes: 512 << 20 });
  await sys.run();
  assert.deepEqual(vm.exit, { kind: 'power-off' });
  const i = vm.console.indexOf('before');
  assert.deepEqual(vm.console.slice(i, i + 3), ['before', 'hello from ppc64le user space', 'after']);
  assert.ok(interp.retired > 0, 'machine code ran');
});

test('a program\'s exit status reaches the script through wait4', async () => {
  const sys = bareSystem({ memory: 1024 << 20, interpreter: testInterpreter() });
  const vm = createVm(sys, 'vm1', modelImage({ init: 'exec /bin/hello\necho not reached\n', files: [{ path: 'bin', type: 'dir' }, hello('failing\n', 3)] }), { secureGuest: false, memBytes: 512 << 20 });
  await sys.run();
  assert.ok(vm.console.includes('init: line 2: /bin/hello: exited with status 3'), vm.console.join('\n'));
  assert.ok(!vm.console.includes('not reached'));
});

test('without an interpreter the program dies of SIGILL at its entry, and the script says so (control)', async () => {
  const sys = bareSystem({ memory: 1024 << 20 });
  const vm = createVm(sys, 'vm1', modelImage({ init: 'exec /bin/hello\n', files: [{ path: 'bin', type: 'dir' }, hello('x\n')] }), { secureGuest: false, memBytes: 512 << 20 });
  await sys.run();
  assert.ok(vm.console.includes('init: line 2: /bin/hello: killed by signal 4 (Illegal instruction)'), vm.console.join('\n'));
});

test('exec of a file that is not a program, or is missing, fails with its errno', async () => {
  const sys = bareSystem();
  const a = createVm(sys, 'a', modelImage({ init: 'exec /etc/motd\n', files: [{ path: 'etc', type: 'dir' }, { path: 'etc/motd', data: 'text\n' }] }), { secureGuest: false });
  const b = createVm(sys, 'b', modelImage({ init: 'exec /bin/none\n' }), { secureGuest: false });
  await sys.run();
  assert.ok(a.console.includes('init: line 2: exec /etc/motd: Exec format error'), a.console.join('\n'));
  assert.ok(b.console.includes('init: line 2: exec /bin/none: No such file or directory'));
});

/** A model program that makes raw system calls and reports what came back. */
function rawProgram(results: { nr: number; r3: bigint; so: boolean }[]): CodeFactory {
  return {
    magic: '#!pef-syscalls',
    create: () => ({
      name: 'raw',
      *enter(cpu: Cpu): Flow {
        const base = 0x2000000;
        const call = function* (nr: number, ...a: number[]): Generator<Op, void, void> {
          cpu.regs.setGpr(0, BigInt(nr));
          a.forEach((v, i) => cpu.regs.setGpr(3 + i, BigInt.asUintN(64, BigInt(v))));
          yield { op: 'sc', lev: 0 };
          results.push({ nr, r3: cpu.regs.getGpr(3), so: (cpu.regs.cr & 0x10000000) !== 0 });
        };
        const brk = function* (): Generator<Op, number, void> { yield* call(NR.brk, 0); return Number(results[results.length - 1]!.r3); };
        const heap = yield* brk();
        yield* call(NR.brk, heap + 0x10000);
        const put = (at: number, s: string) => retrying(() => cpu.write(at, enc.encode(s + '\0')));
        yield* put(heap, '/missing');
        yield* call(NR.openat, -100, heap, 0);
        yield* call(NR.write, 9, heap, 1);
        yield* put(heap, '/etc/motd');
        yield* call(NR.openat, -100, heap, 1);
        yield* call(NR.write, Number(results[results.length - 1]!.r3), heap, 4);
        yield* call(NR.getpid);
        yield* call(NR.uname, heap);
        const uts = yield* retrying(() => cpu.read(heap, 6 * 65));
        results.push({ nr: -1, r3: 0n, so: Buffer.from(uts.subarray(0, 5)).toString() === 'Linux' && Buffer.from(uts.subarray(4 * 65, 4 * 65 + 7)).toString() === 'ppc64le' });
        yield* call(NR.getrandom, heap, 16);
        yield* call(9999);
        void base;
        yield* call(NR.exit_group, 0);
      },
    }),
  };
}

test('the system-call convention: results in R3, errors as CR0[SO] with a positive errno', async () => {
  const results: { nr: number; r3: bigint; so: boolean }[] = [];
  const sys = bareSystem({ code: [rawProgram(results)] });
  const vm = createVm(sys, 'vm1', modelImage({ init: '#!pef-syscalls\n', files: [{ path: 'etc', type: 'dir' }, { path: 'etc/motd', data: 'hi\n' }] }), { secureGuest: false });
  await sys.run();
  const by = (i: number) => results[i]!;
  assert.equal(by(1).so, false, 'brk grew');
  assert.deepEqual([by(2).so, by(2).r3], [true, 2n], 'openat of a missing file: ENOENT');
  assert.deepEqual([by(3).so, by(3).r3], [true, 9n], 'write to a closed fd: EBADF');
  assert.equal(by(4).so, false, 'a root-disk file opens for writing');
  assert.deepEqual([by(5).so, by(5).r3], [true, 30n], 'but writing it: EROFS');
  assert.deepEqual([by(6).so, by(6).r3], [false, 1n], 'getpid: init is pid 1');
  assert.equal(by(8).so, true, 'uname says Linux on ppc64le');
  assert.deepEqual([by(9).so, by(9).r3], [false, 16n], 'getrandom');
  assert.deepEqual([by(10).so, by(10).r3], [true, 38n], 'unknown number: ENOSYS');
  assert.deepEqual(vm.exit, { kind: 'power-off' });
});
