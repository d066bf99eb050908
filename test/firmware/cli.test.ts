// The command line, in-process: every machine and firmware command, its JSON, its exit codes
// (0 ok, 1 a check failed, 2 bad input) and one-line errors naming the input.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { main } from '../../src/cli/main.js';
import { Scratch } from './helpers.js';

const scratch = new Scratch();
after(() => scratch.dispose());

async function pef(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('create, show, pubkey, boot, selftest, firmware, rekey, duplicate-key', async () => {
  const a = scratch.path('a');
  const b = scratch.path('b');
  let r = await pef('machine', 'create', a, '--memory', '2G', '--secure-memory', '512M', '--cpus', '2', '--json');
  assert.equal(r.code, 0, r.err);
  const created = JSON.parse(r.out);
  assert.equal((await pef('machine', 'create', b, '--memory', '1G', '--secure-memory', '256M', '--cpus', '1')).code, 0);

  r = await pef('machine', 'show', a, '--json');
  assert.equal(r.code, 0);
  const shown = JSON.parse(r.out);
  assert.equal(shown.config.cpus, 2);
  assert.equal(shown.config.machineKey.fingerprint, created.fingerprint);
  assert.ok(shown.firmware.every((f: { secureBoot: string }) => f.secureBoot === 'ok'));

  const pemFile = scratch.path('a.pem');
  r = await pef('machine', 'pubkey', a, '-o', pemFile);
  assert.equal(r.code, 0, r.err);
  assert.equal(createHash('sha256').update(readFileSync(pemFile)).digest('hex'), created.fingerprint);
  r = await pef('machine', 'pubkey', a);
  assert.equal(r.out, readFileSync(pemFile, 'utf8'));
  assert.match(r.out, /^-----BEGIN PUBLIC KEY-----\n/);

  r = await pef('machine', 'boot', a, '--json', '--event-log', scratch.path('a.log'));
  assert.equal(r.code, 0, r.err);
  const boot = JSON.parse(r.out);
  assert.deepEqual(boot.stages.map((s: { stage: string; pcr: number }) => [s.stage, s.pcr]), [['hostboot', 0], ['opal', 2], ['ultravisor', 3], ['hypervisor', 4]]);
  assert.equal(Object.keys(boot.pcrs).length, 7);
  assert.ok(existsSync(scratch.path('a.log')));
  assert.ok(!JSON.stringify(boot).includes('authValue'), 'the auth value is not printed');
  r = await pef('machine', 'boot', a);
  assert.match(r.out, /ultravisor verified, measured into PCR 3/);

  r = await pef('machine', 'selftest', a, '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).ok, true);

  const rogue = scratch.path('rogue.img');
  r = await pef('firmware', 'build', 'ultravisor', '--variant', 'rogue', '-o', rogue);
  assert.equal(r.code, 0, r.err);
  r = await pef('machine', 'firmware', a, '--replace', `ultravisor=${rogue}`);
  assert.equal(r.code, 0, r.err);
  r = await pef('machine', 'selftest', a);
  assert.equal(r.code, 1);
  assert.match(r.out, /selftest FAILED: .*0x1C4.*policy refused/);
  const unsigned = scratch.path('unsigned.img');
  assert.equal((await pef('firmware', 'build', 'ultravisor', '--unsigned', '-o', unsigned)).code, 0);
  await pef('machine', 'firmware', a, '--replace', `ultravisor=${unsigned}`);
  r = await pef('machine', 'boot', a);
  assert.equal(r.code, 1);
  assert.match(r.err, /^pef: secure boot stopped at stage ultravisor: the image is not signed\n$/);
  const genuine = scratch.path('genuine.img');
  await pef('firmware', 'build', 'ultravisor', '-o', genuine);
  await pef('machine', 'firmware', a, '--replace', `ultravisor=${genuine}`);
  r = await pef('machine', 'firmware', a, '--list', '--json');
  assert.equal(JSON.parse(r.out).firmware.find((f: { stage: string }) => f.stage === 'ultravisor').boundToKey, true);

  r = await pef('machine', 'rekey', a, '--json');
  assert.equal(r.code, 0, r.err);
  const rekeyed = JSON.parse(r.out);
  assert.notEqual(rekeyed.fingerprint, created.fingerprint);

  r = await pef('machine', 'duplicate-key', '--from', a, '--to', b, '--json');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).fingerprint, rekeyed.fingerprint);
  assert.equal(JSON.parse((await pef('machine', 'selftest', b, '--json')).out).ok, true);
});

test('bad input exits 2 with one line naming the input', async () => {
  const cases: [string[], RegExp][] = [
    [['machine', 'create', scratch.path('x'), '--memory', '3X'], /--memory: '3X' is not a size/],
    [['machine', 'create', scratch.path('x'), '--tpm', 'swtpm:nowhere'], /--tpm: 'nowhere' is not HOST:PORT/],
    [['machine', 'create', scratch.path('x'), '--memory', '1G', '--secure-memory', '1G'], /secure memory: must be smaller/],
    [['machine', 'show', scratch.path('missing')], /missing: no such machine directory/],
    [['machine', 'firmware', scratch.path('missing'), '--replace', 'bios=x'], /--replace: 'bios=x' is not STAGE=FILE/],
    [['firmware', 'build', 'bios', '-o', scratch.path('y')], /stage: 'bios' is not one of/],
    [['firmware', 'build', 'ultravisor', '--variant', 'Bad Name', '-o', scratch.path('y')], /--variant/],
  ];
  for (const [args, re] of cases) {
    const r = await pef(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(existsSync(scratch.path('x')), false);
  }
});

test('every command has --help with examples', async () => {
  for (const c of [['machine', 'create'], ['machine', 'show'], ['machine', 'pubkey'], ['machine', 'boot'], ['machine', 'selftest'], ['machine', 'firmware'], ['machine', 'rekey'], ['machine', 'duplicate-key'], ['firmware', 'build']]) {
    const r = await pef(...c, '--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /Examples:\n\s+\$ pef /, c.join(' '));
  }
});
