// `pef attack` as a user runs it: the list, bad input (exit 2, one line), one attack with
// --json in exactly the documented shape, and the table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { SCENARIOS } from '../../src/attacks/index.js';
import { attackMachine, cleanup } from './helpers.js';

let dir: string;
before(async () => { ({ dir } = await attackMachine()); });
after(cleanup);

async function pef(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('--list names every attack with what it tries; --json too', async () => {
  const r = await pef('attack', '--list');
  assert.equal(r.code, 0);
  for (const s of SCENARIOS) assert.ok(r.out.includes(s.name) && r.out.includes(s.tried), s.name);
  const j = JSON.parse((await pef('attack', '--list', '--json')).out);
  assert.deepEqual(j.attacks.map((a: { name: string }) => a.name), SCENARIOS.map((s) => s.name));
  assert.ok(SCENARIOS.length >= 13);
});

test('bad input: exit 2 with one line naming the problem', async () => {
  for (const [argv, want] of [
    [['attack'], /--on: name the machine directory/],
    [['attack', '--on', join(dir, 'nope')], /no such machine directory/],
    [['attack', '--on', dir, '--only', 'no-such-attack'], /--only: no attack named 'no-such-attack'/],
  ] as const) {
    const r = await pef(...argv);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, want);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(r.out, '');
  }
});

test('one attack with --json: exactly {"attacks": [{name, tried, outcome, control, evidence}]}', async () => {
  const r = await pef('attack', '--on', dir, '--only', '6', '--json');
  assert.equal(r.code, 0, r.out + r.err);
  const j = JSON.parse(r.out);
  assert.deepEqual(Object.keys(j), ['attacks']);
  assert.equal(j.attacks.length, 1);
  assert.deepEqual(Object.keys(j.attacks[0]), ['name', 'tried', 'outcome', 'control', 'evidence']);
  assert.equal(j.attacks[0].name, 'forge-uv-return-cookie');
  assert.equal(j.attacks[0].outcome, 'blocked');
  assert.equal(j.attacks[0].control, 'succeeded');
});

test('the table: each attack, what it tried, its outcome and evidence, and a summary', async () => {
  const r = await pef('attack', '--on', dir, '--only', 'inject-invalid-vector', '--only', 'forge-uv-return-cookie');
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, / 6 {2}forge-uv-return-cookie +blocked {2}control ok/);
  assert.match(r.out, / 8 {2}inject-invalid-vector +blocked {2}control ok/);
  assert.match(r.out, /tried: {4}resume the SVM with UV_RETURN/);
  assert.match(r.out, /evidence: UV_RETURN with forged cookie/);
  assert.match(r.out, /2 of 2 attacks blocked, 0 leaked; 2 controls succeeded, 0 failed/);
  assert.ok(r.out.indexOf('forge-uv-return-cookie') < r.out.indexOf('inject-invalid-vector'));
});
