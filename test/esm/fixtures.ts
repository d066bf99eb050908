// A tiny ppc64le kernel ELF built with the cross compiler (skipped outside CI without it).
import type { TestContext } from 'node:test';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import * as esm from '../../src/esm/index.js';
import { toolSkip } from './helpers.js';

export function tinyKernel(t: TestContext): { image: Uint8Array | undefined; digests: { kernelSize: number } } {
  const skip = toolSkip('powerpc64le-linux-gnu-gcc');
  if (skip) { t.skip(skip); return { image: undefined, digests: { kernelSize: 0 } }; }
  const dir = mkdtempSync(join(tmpdir(), 'kernel-'));
  writeFileSync(join(dir, 'k.c'), 'int x = 1; void _start(void) { for (;;) x++; }\n');
  const r = spawnSync('powerpc64le-linux-gnu-gcc', ['-O1', '-nostdlib', '-static', '-o', 'k', 'k.c'], { cwd: dir });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  const image = new Uint8Array(readFileSync(join(dir, 'k')));
  return { image, digests: esm.computeDigests({ kernelElf: image, initramfs: new Uint8Array(0), bootargs: '' }) };
}
