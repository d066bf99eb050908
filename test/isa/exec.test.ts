// The `pef exec` command and the ELF loader: exit statuses, signals, errors naming the input,
// and a fuzzed loader that only ever reports typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../../src/cli/main.js';
import { parseElf, ElfError } from '../../src/exec/elf.js';
import { LinuxProcess, ProgramError } from '../../src/exec/process.js';
import { build, needTools, GCC } from './toolchain.js';

const DIR = join(import.meta.dirname, 'programs');

async function pef(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('pef exec runs a program: its output, its exit status, --stats and --json summaries', async (t) => {
  if (!needTools(t, [GCC])) return;
  const heap = build([join(DIR, 'heap.c')], 'power9');
  const r = await pef(['exec', '--json', heap]);
  assert.equal(r.code, 3, r.err);
  assert.match(r.out, /^heap check \d+\nsorted min/);
  const summary = JSON.parse(r.err.trim().split('\n').pop()!);
  assert.equal(summary.status, 3);
  assert.ok(summary.instructions > 1_000_000);
  const sha = build([join(DIR, 'sha256.c')], 'power8');
  const s = await pef(['exec', '--cpu', 'power8', '--engine', 'interp', '--stats', sha, '4096']);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /^[0-9a-f]{64} {2}4096 bytes\n$/);
  assert.match(s.err, /instructions in .* MIPS/);
});

test('a fault ends the program as the signal a shell reports (128 + 11), with the faulting instruction', async (t) => {
  if (!needTools(t, [GCC])) return;
  const bin = build([join(DIR, 'crash.c')], 'power9');
  const r = await pef(['exec', bin]);
  assert.equal(r.code, 139);
  assert.equal(r.out, 'about to fault with 0 argument(s)\n');
  assert.match(r.err, /SIGSEGV at pc 0x[0-9a-f]+ \(lw[az]/);
});

test('--max-instructions stops a program (status 137) and --strace lists system calls', async (t) => {
  if (!needTools(t, [GCC])) return;
  const bin = build([join(DIR, 'sha256.c')], 'power9');
  const r = await pef(['exec', '--max-instructions', '100000', bin, '1048576']);
  assert.equal(r.code, 137);
  assert.match(r.err, /instruction limit 100000/);
  const s = await pef(['exec', '--strace', bin, '64']);
  assert.equal(s.code, 0);
  assert.match(s.err, /^brk\(/m);
  assert.match(s.err, /^exit_group\(0/m);
});

test('bad input exits 2 with one line naming the input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pef-exec-'));
  try {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a program, just some text that is long enough to hold an ELF header and more\n');
    const a = await pef(['exec', text]);
    assert.equal(a.code, 2);
    assert.equal(a.err, `pef: ${text}: not an ELF file (at offset 0)\n`);
    const b = await pef(['exec', join(dir, 'missing')]);
    assert.equal(b.code, 2);
    assert.match(b.err, /missing: no such program$/m);
    const z = await pef(['exec', '/dev/zero']);
    assert.equal(z.code, 2);
    assert.equal(z.err, 'pef: /dev/zero: is a character device; the program must be a regular file\n');
    const c = await pef(['exec', '--cpu', 'power7', text]);
    assert.equal(c.code, 2);
    assert.match(c.err, /--cpu: must be one of power8, power9/);
    const proto = await pef(['exec', '--cpu', 'constructor', text]);
    assert.equal(proto.code, 2);
    assert.match(proto.err, /--cpu: must be one of power8, power9/);
    if (!needTools(t, [GCC])) return;
    // A dynamically linked program is refused (pef exec has no dynamic loader).
    const src = join(dir, 'dyn.c'), dyn = join(dir, 'dyn');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    assert.equal(spawnSync(GCC, ['-O2', '-o', dyn, src]).status, 0);
    const d = await pef(['exec', dyn]);
    assert.equal(d.code, 2);
    assert.match(d.err, /dynamically linked/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the ELF loader rejects any mutation of a real executable with a typed error, never anything else', (t) => {
  if (!needTools(t, [GCC])) return;
  const image = readFileSync(build([join(DIR, 'sys.c')], 'power9'));
  const io = { stdout: () => {}, stderr: () => {}, stdin: () => new Uint8Array(0) };
  fc.assert(fc.property(
    fc.array(fc.record({ at: fc.nat(200), byte: fc.nat(255) }), { minLength: 1, maxLength: 8 }),
    fc.nat(image.length),
    (muts, cut) => {
      const b = Uint8Array.from(image.subarray(0, Math.max(cut, 64)));
      for (const m of muts) if (m.at < b.length) b[m.at] = m.byte;
      try { parseElf(b); } catch (e) { assert.ok(e instanceof ElfError, String(e)); return; }
      try { new LinuxProcess(b, { argv: ['x'], io }); } catch (e) { assert.ok(e instanceof ElfError || e instanceof ProgramError, String(e)); }
    }), { numRuns: 300 });
  // Random bytes are refused at the header.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (b) => {
    assert.throws(() => parseElf(b), ElfError);
  }), { numRuns: 300 });
});
