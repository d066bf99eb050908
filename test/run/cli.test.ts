// Acceptance, through the command line as a user runs it: the sample image converted for
// machines A and B runs on A and on B and says so with each machine's key; on C it fails with
// the reason; a normal VM runs beside the SVM in the same `pef run`; --json and --trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { buildModelKernel } from '../../src/image/kernel.js';
import { cleanup, modelImage, tempDir } from '../hypervisor/system.js';

after(cleanup);

async function pef(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

const dir = tempDir('pef-run-');
const p = (n: string) => join(dir, n);
const fp: Record<string, string> = {};

before(async () => {
  process.env.PEF_PASSPHRASE = '';
  for (const m of ['A', 'B', 'C']) {
    const r = await pef('machine', 'create', p(m), '--memory', '2G', '--secure-memory', '1G', '--cpus', '2', '--json');
    assert.equal(r.code, 0, r.err);
    fp[m] = JSON.parse(r.out).fingerprint;
    assert.equal((await pef('machine', 'pubkey', p(m), '-o', p(`${m}.pem`))).code, 0);
  }
  assert.equal((await pef('esm', 'generate', '-p', p('owner.pem'), '-s', p('owner.sec'))).code, 0);
  assert.equal((await pef('image', 'sample', p('vm'))).code, 0);
  const c = await pef('svm', 'convert', p('vm'), '-o', p('svm'), '--owner-pub', p('owner.pem'), '--owner-sec', p('owner.sec'), '--authorize', p('A.pem'), '--authorize', p('B.pem'), '--quiet');
  assert.equal(c.code, 0, c.err);
});

for (const m of ['A', 'B']) {
  test(`the sample SVM converted for A and B runs on ${m}, secure under ${m}'s key`, async () => {
    const r = await pef('run', p('svm'), '--on', p(m));
    assert.equal(r.code, 0, r.err + r.out);
    const lines = r.out.split('\n');
    for (const want of [
      `sample: svm: machine key fingerprint ${fp[m]}`,
      `sample: status: running secure (PEF SVM) under machine key ${fp[m]}`,
      'sample: the sample SVM secret: only an authorized machine reads this line',
      'sample: hello from ppc64le user space',
      'sample: pef sample VM: done',
      'sample: reboot: Power down',
    ]) assert.ok(lines.includes(want), `missing: ${want}\n${r.out}`);
  });
}

test('on C, which the SVM was not authorized for, the run fails naming the layer and the reason', async () => {
  const r = await pef('run', p('svm'), '--on', p('C'));
  assert.equal(r.code, 1);
  assert.ok(r.err.includes(`sample: UV_ESM failed: no lockbox for this machine's key (fingerprint ${fp.C})`), r.err);
  assert.ok(r.out.includes("sample: UV_ESM failed: no lockbox for this machine's key\n"), 'the guest printed it on its console too');
  assert.ok(!r.out.includes('the sample SVM secret'), 'and nothing of the encrypted disk was read');
});

test('a normal VM beside the SVM in the same run; --json reports both, --trace writes every transition', async () => {
  const r = await pef('run', p('svm'), p('vm'), '--on', p('A'), '--json', '--trace', p('run.jsonl'));
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.ok, true);
  assert.deepEqual(j.vms.map((v: { name: string; secure: boolean; exit: string }) => [v.name, v.secure, v.exit]), [['sample', true, 'power-off'], ['sample-2', false, 'power-off']]);
  assert.ok(j.vms[1].console.includes('status: running as a normal VM (not secure)'));
  const events = readFileSync(p('run.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; name?: string; vector?: number; event?: string });
  assert.equal(events.length, j.trace.events);
  const kinds = new Set(events.map((e) => e.kind));
  for (const k of ['interrupt', 'sc', 'urfid', 'hrfid', 'hcall', 'uv-ucall', 'page', 'vm', 'console']) assert.ok(kinds.has(k), `trace has ${k} events`);
  const hc = events.filter((e) => e.kind === 'hcall').map((e) => e.name);
  for (const n of ['H_SVM_INIT_START', 'H_SVM_PAGE_IN', 'H_SVM_TPM_COMM', 'H_SVM_INIT_DONE', 'H_PUT_TERM_CHAR', 'H_LOGICAL_CI_STORE', 'H_RTAS']) assert.ok(hc.includes(n), `trace has ${n}`);
  assert.ok(events.some((e) => e.kind === 'interrupt' && e.vector === 0xC00));
});

test('a guest that fails is reported by name and layer, and the run exits 1', async () => {
  const img = modelImage({ init: 'echo about to fail\nexit 3\n' });
  const d = p('failing');
  mkdirSync(d);
  writeFileSync(join(d, 'kernel'), buildModelKernel());
  writeFileSync(join(d, 'initramfs'), img.initramfs);
  writeFileSync(join(d, 'bootargs'), img.bootargs);
  writeFileSync(join(d, 'disk.img'), img.disk!);
  writeFileSync(join(d, 'vm.json'), JSON.stringify({ name: 'bad', memory: '64M', vcpus: 1 }));
  const r = await pef('run', d, p('vm'), '--on', p('A'));
  assert.equal(r.code, 1);
  assert.ok(r.err.includes('bad: guest kernel: Attempted to kill init! exitcode=0x00000300 (/init exited with status 3)'), r.err);
  assert.ok(!r.err.includes('sample:'), 'the VM that succeeded is not reported as failing');
  assert.ok(r.out.includes('sample: pef sample VM: done'));
});

test('bad input exits 2 naming it', async () => {
  const a = await pef('run', p('nope'), '--on', p('A'));
  assert.equal(a.code, 2);
  assert.match(a.err, /nope: no such image directory/);
  const b = await pef('run', p('vm'));
  assert.equal(b.code, 2);
  assert.match(b.err, /--on/);
  const c = await pef('run', p('vm'), '--on', p('A'), '--timeout', 'soon');
  assert.equal(c.code, 2);
});
