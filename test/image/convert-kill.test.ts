// A conversion killed with SIGKILL in the middle of the disk leaves nothing under the output
// name; the next conversion to that name succeeds and clears the dead one's temporary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { keys, tmp, cleanup, pef, convertArgs, tempsOf } from './fixture.js';

test('kill -9 during pef svm convert: no output directory, and a rerun succeeds', async () => {
  const k = keys();
  const d = tmp('kill');
  try {
    assert.equal((await pef('image', 'sample', join(d, 'vm'), '--disk-size', '256M', '--kernel-size', '64K')).code, 0);
    const out = join(d, 'svm');
    const args = convertArgs(join(d, 'vm'), out, k).filter((a) => a !== '--quiet');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let killedAt = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      // Progress lines are the event to wait for: the disk is being written right now.
      const m = /disk\.img: (\d+)%/.exec(err);
      if (m && !killedAt && Number(m[1]) < 100) { killedAt = m[0]; child.kill('SIGKILL'); }
    });
    const signal = await exited;
    assert.equal(signal, 'SIGKILL', `the conversion ended on its own before it could be killed: ${err}`);
    assert.ok(killedAt, err);
    assert.equal(existsSync(out), false, 'nothing under the output name');
    assert.equal(tempsOf(out).length, 1, 'control: the killed build was under way in its temporary directory');
    const r = await pef(...convertArgs(join(d, 'vm'), out, k));
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(out, 'disk.img')));
    assert.deepEqual(tempsOf(out), [], 'the dead build\'s temporary is gone');
  } finally { cleanup(d); }
});
