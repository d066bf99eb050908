// The command line's contract: --help exits 0, bad usage exits 2 with one line, and
// `pef bench NAME --json` prints the one documented object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

test('pef --help lists the commands and exits 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /bench/);
  assert.match(r.out, /Examples:/);
});

test('an unknown command or option exits 2', async () => {
  assert.equal((await run(['no-such-command'])).code, 2);
  assert.equal((await run(['bench', '--no-such-flag'])).code, 2);
});

test('pef bench with an unknown name exits 2 with a one-line error naming it', async () => {
  for (const name of ['nope', 'constructor', 'toString']) {
    const r = await run(['bench', name]);
    assert.equal(r.code, 2, name);
    assert.equal(r.err.trim().split('\n').length, 1, name);
    assert.match(r.err, new RegExp(`no benchmark named '${name}'`));
  }
});

test('pef bench machine --json prints one object with the documented fields', async () => {
  const r = await run(['bench', 'machine', '--json']);
  assert.equal(r.code, 0);
  const o = JSON.parse(r.out);
  assert.equal(o.bench, 'machine');
  assert.ok(Array.isArray(o.metrics) && o.metrics.length >= 1);
  for (const m of o.metrics) {
    for (const k of ['name', 'value', 'unit', 'limit', 'ratio', 'aim', 'better', 'met']) assert.ok(k in m, k);
    assert.ok(m.value > 0 && m.limit > 0);
    assert.ok(['higher', 'lower'].includes(m.better));
    assert.equal(typeof m.met, 'boolean');
  }
});
