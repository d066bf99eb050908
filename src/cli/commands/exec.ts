// `pef exec PROGRAM [ARGS...]`: run a static ppc64le Linux executable on the model's ISA
// interpreter in user mode, with the Linux system calls a static glibc program needs. The
// program's standard streams are this process's; its exit status is pef's.

import * as fs from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { runProgram, ProgramError, CPUS, type CpuName } from '../../exec/process.js';
import { ElfError } from '../../exec/elf.js';
import { InputError } from '../../util/errors.js';
import { readInputFile } from '../../util/input-file.js';

interface Opts { cpu: string; engine: string; strace?: boolean; stats?: boolean; json?: boolean; maxInstructions?: string; env?: string[] }

/** Blocking reads of this process's standard input (EAGAIN from a non-blocking descriptor is waited out). */
function readStdin(max: number): Uint8Array {
  const buf = new Uint8Array(Math.min(max, 1 << 16));
  for (;;) {
    try {
      const n = fs.readSync(0, buf, 0, buf.length, null);
      return buf.subarray(0, n);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); continue; }
      if (code === 'EOF') return buf.subarray(0, 0);
      throw e;
    }
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command('exec')
    .description('run a static ppc64le Linux executable on the model\'s Power ISA interpreter (user mode)')
    .argument('<program>', 'a statically linked ppc64le ELF executable')
    .argument('[args...]', 'arguments for the program (put them after -- if they start with -)')
    .option('--cpu <cpu>', `processor the auxiliary vector describes: ${Object.keys(CPUS).join(', ')}`, 'power9')
    .option('--engine <engine>', 'blocks (translate hot basic blocks to JavaScript) or interp (one instruction at a time)', 'blocks')
    .option('--env <VAR=value...>', 'environment for the program (none by default)')
    .option('--strace', 'print each system call on standard error')
    .option('--stats', 'print instructions retired and the rate on standard error at exit')
    .option('--json', 'print a JSON summary {"status","signal","instructions","seconds","mips"} on standard error at exit')
    .option('--max-instructions <n>', 'stop the program after this many instructions (status 137)')
    .addHelpText('after', `
The exit status is the program's (128 + N when it dies of signal N, as a shell reports).
Examples:
  $ pef exec ./hello
  $ pef exec --cpu power8 ./sha256 67108864
  $ pef exec --strace ./prog -- -v --flag
  $ pef exec --stats --engine interp ./prog`)
    .action((path: string, args: string[], opts: Opts) => {
      if (!Object.hasOwn(CPUS, opts.cpu)) throw new InputError('--cpu', `must be one of ${Object.keys(CPUS).join(', ')}`);
      if (opts.engine !== 'blocks' && opts.engine !== 'interp') throw new InputError('--engine', 'must be blocks or interp');
      let max: number | undefined;
      if (opts.maxInstructions !== undefined) {
        max = Number(opts.maxInstructions);
        if (!Number.isSafeInteger(max) || max <= 0) throw new InputError('--max-instructions', 'must be a positive integer');
      }
      const image = readInputFile(path, 'program');
      const dec = new TextDecoder('utf-8'), decErr = new TextDecoder('utf-8');
      const t0 = process.hrtime.bigint();
      let result;
      try {
        result = runProgram(image, {
          argv: [path, ...args], env: opts.env ?? [], cpu: opts.cpu as CpuName, engine: opts.engine, exePath: path,
          maxInstructions: max,
          strace: opts.strace ? (l) => ctx.err(`${l}\n`) : undefined,
          io: {
            stdout: (b) => ctx.out(dec.decode(b, { stream: true })),
            stderr: (b) => ctx.err(decErr.decode(b, { stream: true })),
            stdin: readStdin,
          },
        });
      } catch (e) {
        if (e instanceof ElfError || e instanceof ProgramError) throw new InputError(path, e.message);
        throw e;
      }
      ctx.out(dec.decode()); ctx.err(decErr.decode());
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (result.reason) ctx.err(`pef exec: ${path}: ${result.reason}\n`);
      if (result.unknownSyscalls.length) ctx.err(`pef exec: ${path}: unimplemented system calls (ENOSYS): ${result.unknownSyscalls.join(', ')}\n`);
      const mips = result.instructions / seconds / 1e6;
      if (opts.stats) ctx.err(`pef exec: ${result.instructions} instructions in ${seconds.toFixed(3)} s (${mips.toFixed(1)} MIPS), status ${result.status}\n`);
      if (opts.json) ctx.err(JSON.stringify({ status: result.status, signal: result.signal, instructions: result.instructions, seconds, mips }) + '\n');
      ctx.exitCode = result.status;
    });
}
