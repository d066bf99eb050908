// The sample disk's /bin/hello is a real ppc64le Linux program: qemu-ppc64le runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHelloProgram } from '../../src/image/hello-elf.js';
import { needTool, run } from './tools.js';

test('qemu-ppc64le runs the hello program: output and exit code', (t) => {
  if (!needTool(t, 'qemu-ppc64le')) return;
  const dir = mkdtempSync(join(tmpdir(), 'pef-hello-'));
  try {
    const f = join(dir, 'hello');
    writeFileSync(f, buildHelloProgram('hello, secure world\n', 7), { mode: 0o755 });
    const r = run('qemu-ppc64le', [f]);
    assert.equal(r.stdout, 'hello, secure world\n');
    assert.equal(r.status, 7);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
