// Building and running ppc64le programs for the differential tests: C sources in the repository
// are compiled at test time (static, -O2, per CPU) into a cache directory outside the
// repository keyed by a hash of the source and flags; the binaries run under qemu-ppc64le and
// under the model's `pef exec` runner. In CI the tools must be present (the tests fail, never
// skip); locally a test skips with a clear message when they are missing.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runProgram, type CpuName, type ExecResult } from '../../src/exec/process.js';

export const GCC = 'powerpc64le-linux-gnu-gcc';
export const QEMU = 'qemu-ppc64le';
export const OBJDUMP = 'powerpc64le-linux-gnu-objdump';

function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** True when the cross tools are usable. Otherwise skips the test locally and fails it in CI. */
export function needTools(t: TestContext, tools: string[] = [GCC, QEMU]): boolean {
  const missing = tools.filter((c) => !have(c));
  if (missing.length === 0) return true;
  const msg = `missing ${missing.join(', ')} (Debian: gcc-powerpc64le-linux-gnu, qemu-user, binutils-powerpc64le-linux-gnu)`;
  if (process.env.CI === 'true') throw new Error(`differential test cannot run: ${msg}`);
  t.skip(msg);
  return false;
}

const CACHE = join(tmpdir(), 'pef-isa-cache');

/** Compile C sources (static, -O2) for a CPU; cached by content. Returns the binary's path. */
export function build(sources: string[], cpu: CpuName, extra: string[] = []): string {
  const flags = ['-static', '-O2', `-mcpu=${cpu}`];
  const h = createHash('sha256');
  h.update([...flags, ...extra].join(' '));
  for (const s of sources) h.update(readFileSync(s));
  const key = h.digest('hex').slice(0, 24);
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `${key}-${cpu}`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  // Libraries (and other extra arguments) follow the sources, as the linker needs.
  const r = spawnSync(GCC, [...flags, '-o', tmp, ...sources, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${GCC} failed for ${sources.join(' ')}:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

export interface Run { stdout: Buffer; stderr: string; status: number }

export function runQemu(path: string, args: string[], opts: { input?: Uint8Array; cpu?: CpuName } = {}): Run {
  const r = spawnSync(QEMU, ['-cpu', opts.cpu ?? 'power9', path, ...args], { input: opts.input, maxBuffer: 1 << 30 });
  return { stdout: r.stdout, stderr: r.stderr.toString(), status: r.status ?? 128 + (r.signal === 'SIGSEGV' ? 11 : 0) };
}

export function runPef(path: string, args: string[], opts: { input?: Uint8Array; cpu?: CpuName; engine?: 'blocks' | 'interp'; hot?: number } = {}): Run & { result: ExecResult } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let inPos = 0;
  const input = opts.input ?? new Uint8Array(0);
  const result = runProgram(readFileSync(path), {
    argv: [path, ...args], cpu: opts.cpu ?? 'power9', engine: opts.engine, hot: opts.hot, exePath: path,
    io: {
      stdout: (b) => out.push(Buffer.from(b)),
      stderr: (b) => err.push(Buffer.from(b)),
      stdin: (max) => { const b = input.subarray(inPos, inPos + max); inPos += b.length; return b; },
    },
  });
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() + (result.reason ? `\n${result.reason}` : ''), status: result.status, result };
}

/** Write a file atomically (test fixtures). */
export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
