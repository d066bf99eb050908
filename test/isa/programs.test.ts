// Whole programs: C sources in test/isa/programs, compiled static -O2 for POWER8 and POWER9,
// must print the same bytes and exit with the same status under QEMU and under the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, needTools, runQemu, runPef } from './toolchain.js';

const DIR = join(import.meta.dirname, 'programs');

interface Prog { name: string; args?: (tmp: string) => string[]; libs?: string[]; engines?: ('blocks' | 'interp')[]; qemuPower8?: boolean }

const PROGRAMS: Prog[] = [
  { name: 'arith', engines: ['blocks', 'interp'] },
  { name: 'strings', engines: ['blocks', 'interp'] },
  // glibc's fesetround uses the mffscrni encoding, which POWER8 executes as mffs but QEMU's
  // POWER8 model refuses: this one runs only with POWER9 hardware capabilities.
  { name: 'floats', libs: ['-lm'], qemuPower8: false },
  { name: 'heap' },
  { name: 'files', args: (tmp) => [tmp] },
  { name: 'sys' },
  { name: 'vector' },
  { name: 'sha256', args: () => ['1048576'] },
  { name: 'crash' },
];

for (const p of PROGRAMS) {
  for (const cpu of ['power8', 'power9'] as const) {
    test(`${p.name} built for ${cpu}: same output and status under QEMU and the model`, { timeout: 300_000 }, (t) => {
      if (!needTools(t)) return;
      const bin = build([join(DIR, `${p.name}.c`)], cpu, p.libs ?? []);
      // Each program runs with the hardware capabilities of the CPU it was built for (so glibc
      // picks the matching string and memory routines), and with POWER9's.
      const runCpus = cpu === 'power8' && p.qemuPower8 !== false ? (['power8', 'power9'] as const) : (['power9'] as const);
      for (const runCpu of runCpus) {
        const tq = mkdtempSync(join(tmpdir(), 'pef-isa-q-')), tm = mkdtempSync(join(tmpdir(), 'pef-isa-m-'));
        try {
          const q = runQemu(bin, p.args?.(tq) ?? [], { cpu: runCpu });
          for (const engine of p.engines ?? ['blocks']) {
            const m = runPef(bin, p.args?.(tm) ?? [], { cpu: runCpu, engine });
            assert.equal(m.stdout.toString(), q.stdout.toString(), `${p.name} (${cpu} build, ${runCpu} capabilities, ${engine}): stdout differs\n${m.stderr}`);
            assert.equal(m.status, q.status, `${p.name}: exit status (${engine})\n${m.stderr}`);
          }
        } finally {
          rmSync(tq, { recursive: true, force: true }); rmSync(tm, { recursive: true, force: true });
        }
      }
    });
  }
}

test('the SHA-256 program computes the digest node:crypto computes (an oracle independent of both emulators)', (t) => {
  if (!needTools(t, ['powerpc64le-linux-gnu-gcc'])) return;
  const bin = build([join(DIR, 'sha256.c')], 'power9');
  const n = 200_000;
  const msg = Buffer.alloc(n);
  for (let i = 0; i < n; i++) msg[i] = (i * 31 + (i >> 8) + 7) & 0xff;
  const want = createHash('sha256').update(msg).digest('hex');
  const m = runPef(bin, [String(n)]);
  assert.equal(m.status, 0, m.stderr);
  assert.equal(m.stdout.toString(), `${want}  ${n} bytes\n`);
});
