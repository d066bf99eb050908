// The image a conversion writes is what the rest of the system boots: the SVM runs secure on
// the machine it was authorized for, opens its LUKS2 root with the passphrase from the ESM
// blob and runs /init from it; the same VM converted for another machine's key is refused
// there (control), and the unconverted VM runs as a normal VM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keys, tmp, cleanup, pef } from './fixture.js';
import { SAMPLE_SECRET, sampleTree } from '../../src/image/sample.js';

interface RunVm { name: string; image: string; secure: boolean; exit: string; failure?: string; console: string[] }

test('convert, then boot: secure on the authorized machine, refused on another key', async () => {
  const k = keys();
  const d = tmp('boot');
  try {
    assert.equal((await pef('machine', 'create', join(d, 'm1'), '--memory', '2G', '--secure-memory', '1G', '--cpus', '2')).code, 0);
    const pub = await pef('machine', 'pubkey', join(d, 'm1'));
    assert.equal(pub.code, 0, pub.err);
    writeFileSync(join(d, 'm1.pem'), pub.out);
    assert.equal((await pef('image', 'sample', join(d, 'vm'), '--kernel-size', '256K')).code, 0);
    const conv = (out: string, machine: string) => pef('svm', 'convert', join(d, 'vm'), '-o', join(d, out), '--owner-pub', k.ownerPub, '--owner-sec', k.ownerSec, '--authorize', machine, '--quiet');
    assert.equal((await conv('svm', join(d, 'm1.pem'))).code, 0);
    assert.equal((await conv('svm-elsewhere', k.m[0]!.pub)).code, 0);

    const r = await pef('run', join(d, 'svm'), join(d, 'svm-elsewhere'), join(d, 'vm'), '--on', join(d, 'm1'), '--json', '--timeout', '120');
    const report = JSON.parse(r.out) as { vms: RunVm[] };
    const byImage = (dir: string) => report.vms.find((v) => v.image === join(d, dir))!;
    const svm = byImage('svm');
    const text = svm.console.join('\n');
    assert.equal(svm.secure, true, text);
    assert.match(text, /opened with the ESM passphrase/);
    assert.ok(text.includes(SAMPLE_SECRET.trim()), 'the secret came off the encrypted disk');
    const index = sampleTree().find((e) => e.path === 'srv/www/index.html')!.data as string;
    assert.ok(text.includes(`${createHash('sha256').update(index).digest('hex')}  /srv/www/index.html`));
    assert.match(text, /hello from ppc64le user space/);

    const other = byImage('svm-elsewhere');
    assert.equal(other.secure, false);
    assert.match(other.failure ?? '', /UV_ESM failed: no lockbox for this machine's key/);
    assert.ok(!other.console.join('\n').includes(SAMPLE_SECRET.trim()));

    const vm = byImage('vm');
    assert.equal(vm.secure, false);
    assert.match(vm.console.join('\n'), /running as a normal VM/);
    assert.equal(r.code, 1, 'one VM failed, so the run reports a failure');
  } finally { cleanup(d); }
});
