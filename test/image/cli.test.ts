// The image commands' contract: help with examples, exit codes, one-line errors, atomic output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, cleanup, pef } from './fixture.js';

test('--help of image sample, svm convert and svm inspect shows examples and exits 0', async () => {
  for (const cmd of [['image', 'sample'], ['svm', 'convert'], ['svm', 'inspect']]) {
    const r = await pef(...cmd, '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Examples:\n\s+\$ pef /, cmd.join(' '));
  }
});

test('image sample: bad sizes and an existing directory are exit 2 and write nothing', async () => {
  const d = tmp('sample');
  try {
    for (const [flag, value, re] of [['--disk-size', '1000', /--disk-size: 1000 must be a multiple of 512 and at least 1M/], ['--disk-size', 'big', /not a size/], ['--memory', '1M', /"memory"/], ['--name', '-x', /"name" must match/], ['--vcpus', '0', /--vcpus/]] as const) {
      const r = await pef('image', 'sample', join(d, 'x'), flag, value);
      assert.equal(r.code, 2, `${flag} ${value}`);
      assert.match(r.err, re);
      assert.equal(r.err.trimEnd().split('\n').length, 1);
    }
    assert.deepEqual(readdirSync(d), []);
    mkdirSync(join(d, 'there'));
    const r = await pef('image', 'sample', join(d, 'there'));
    assert.equal(r.code, 2);
    assert.match(r.err, /there: already exists/);
    const ok = await pef('image', 'sample', join(d, 'vm'), '--json');
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(readdirSync(join(d, 'vm')).sort(), ['bootargs', 'disk.img', 'initramfs', 'kernel', 'vm.json']);
    assert.deepEqual(readdirSync(d).sort(), ['there', 'vm'], 'no temporary left');
    const ins = await pef('svm', 'inspect', join(d, 'vm'), '--json');
    assert.equal(ins.code, 0, ins.err);
    const rep = JSON.parse(ins.out);
    assert.equal(rep.kind, 'vm');
    assert.equal(rep.disk.kind, 'plain');
    assert.equal(rep.disk.entries, 12);
    assert.deepEqual(rep.lockboxes, []);
    const missing = await pef('svm', 'inspect', join(d, 'nope'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /nope: no such image directory/);
    assert.equal(existsSync(join(d, 'nope')), false);
  } finally { cleanup(d); }
});
