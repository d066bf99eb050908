// `pef bench isa`: instructions per second of the model's Power ISA interpreter on a compute-
// heavy static program (SHA-256 over a generated message, 64 MiB by default, --count MiB), and
// the ratio to qemu-ppc64le running the same binary on the same input in the same run. Rates
// are per CPU-second (user + system) of each process, so a busy machine does not skew the
// ratio; wall-clock rates are reported in the notes. The program is compiled here from
// test/isa/programs/sha256.c (static, -O2, -mcpu=power9) into a cache outside the repository.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './index.js';
import { ratioMetric, plainMetric } from './report.js';
import { runProgram } from '../exec/process.js';
import { InputError } from '../util/errors.js';

const GCC = 'powerpc64le-linux-gnu-gcc';
const QEMU = 'qemu-ppc64le';

/** test/isa/programs/sha256.c, found from this module in the source tree or under dist/. */
function source(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'test', 'isa', 'programs', 'sha256.c');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new InputError('test/isa/programs/sha256.c', 'benchmark program source not found (run from the repository)');
}

function buildSha(): string {
  const src = source();
  const flags = ['-static', '-O2', '-mcpu=power9'];
  const key = createHash('sha256').update(flags.join(' ')).update(readFileSync(src)).digest('hex').slice(0, 24);
  const dir = join(tmpdir(), 'pef-isa-cache');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${key}-power9`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(GCC, [...flags, '-o', tmp, src], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new InputError(GCC, `cannot build the benchmark program: ${r.error?.message ?? r.stderr.trim()}`);
  renameSync(tmp, out);
  return out;
}

/** Run qemu-ppc64le under bash's `time` for its CPU seconds (user + sys) and wall seconds. */
function qemuRun(bin: string, bytes: number): { stdout: string; cpu: number; wall: number } {
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%U %S %R"; time "$0" "$@"', QEMU, bin, String(bytes)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error || r.status !== 0) throw new InputError(QEMU, `cannot run the benchmark program: ${r.error?.message ?? r.stderr.trim()}`);
  const [u, s, w] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { stdout: r.stdout, cpu: u + s, wall: w };
}

function pefRun(image: Uint8Array, bin: string, bytes: number, engine: 'blocks' | 'interp') {
  let stdout = '';
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  const r = runProgram(image, { argv: [bin, String(bytes)], engine, io: { stdout: (b) => { stdout += Buffer.from(b).toString(); }, stderr: () => {}, stdin: () => new Uint8Array(0) } });
  const cu = process.cpuUsage(c0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`benchmark program failed under pef: ${r.reason ?? r.status}`);
  return { stdout, instructions: r.instructions, cpu: (cu.user + cu.system) / 1e6, wall };
}

export const isaBench: Bench = {
  description: 'Power ISA interpreter: MIPS on SHA-256 over 64 MiB (--count MiB) vs qemu-ppc64le on the same binary',
  async run(ctx) {
    const mib = ctx.count ?? 64;
    if (!(mib > 0 && mib <= 1024)) throw new InputError('--count', 'MiB to hash must be 1..1024');
    const bytes = mib << 20;
    const bin = buildSha();
    const image = readFileSync(bin);
    ctx.log(`pef bench isa: SHA-256 over ${mib} MiB, qemu-ppc64le ...`);
    const q = qemuRun(bin, bytes);
    ctx.log(`pef bench isa: block translator ...`);
    const b = pefRun(image, bin, bytes, 'blocks');
    if (b.stdout !== q.stdout) throw new Error(`pef and qemu disagree on the digest: ${b.stdout.trim()} vs ${q.stdout.trim()}`);
    // The one-instruction-at-a-time interpreter on a sixteenth of the input (it is slower).
    const small = Math.max(1, mib >> 4) << 20;
    ctx.log(`pef bench isa: interpreter on ${small >> 20} MiB ...`);
    const i = pefRun(image, bin, small, 'interp');
    const mips = (n: number, s: number) => n / s / 1e6;
    const qemuMips = mips(b.instructions, q.cpu);
    const blockMips = mips(b.instructions, b.cpu);
    const interpMips = mips(i.instructions, i.cpu);
    return {
      bench: 'isa',
      metrics: [
        ratioMetric('SHA-256 (block translator) vs qemu-ppc64le', blockMips, 'MIPS', qemuMips, 0.1, 'higher'),
        plainMetric('SHA-256 instructions per CPU-second (block translator)', blockMips, 'MIPS', '>= 100 MIPS', blockMips >= 100),
        ratioMetric('SHA-256 (one instruction at a time) vs qemu-ppc64le', interpMips, 'MIPS', qemuMips, 0.01, 'higher'),
      ],
      notes: [
        `${b.instructions} instructions retired for ${mib} MiB (same digest under both: ${b.stdout.trim().split(' ')[0]})`,
        `wall clock: block translator ${mips(b.instructions, b.wall).toFixed(1)} MIPS, interpreter ${mips(i.instructions, i.wall).toFixed(1)} MIPS, qemu ${mips(b.instructions, q.wall).toFixed(1)} MIPS`,
        'limit: qemu-ppc64le (TCG, translating to host code) on the same binary and input, per CPU-second',
      ],
    };
  },
};
