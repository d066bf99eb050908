// Every input format, one rule: a reader returns, or throws its own typed error; nothing else
// escapes, and no call runs away (each case runs in a worker under a watchdog; a slow call is
// a counterexample too). Mutations of valid samples plus random bytes; the command line's YAML
// must give exit 0 or 2 with one line; TPM responses come mangled through a lying transport.
// PEF_FUZZ_RUNS scales the rounds (test/long runs them far longer); PEF_FUZZ_SEED fixes the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTROLS, FINDINGS, TARGETS } from './parsers/targets.js';
import { describe, fuzzTarget } from './parsers/run.js';

const SEED = Number(process.env.PEF_FUZZ_SEED ?? 0x7e57);
const SCALE = Number(process.env.PEF_FUZZ_SCALE ?? 1);

test('control: a reader that lets another error escape is reported, with the input', async () => {
  const r = await fuzzTarget(CONTROLS[0]!.name, { seed: SEED, runs: CONTROLS[0]!.runs });
  assert.ok(r.bad.length > 0 && r.bad.every((b) => b.kind === 'untyped' && /TypeError/.test(b.error) && b.length % 7 === 3), JSON.stringify(r.bad));
});

test('control: a reader that never returns is stopped and reported, with the input', async () => {
  const r = await fuzzTarget(CONTROLS[1]!.name, { seed: SEED, runs: CONTROLS[1]!.runs, hangMs: 1500 });
  assert.equal(r.bad.length, 1);
  assert.equal(r.bad[0]!.kind, 'hung');
  assert.equal(r.bad[0]!.length, 42);
});

for (const t of TARGETS) {
  test(`${t.name}: only typed errors, no runaway call`, async () => {
    const runs = Math.max(1, Math.round(t.runs * SCALE));
    const r = await fuzzTarget(t.name, { seed: SEED, runs });
    assert.deepEqual(r.bad, [], `counterexamples:\n${describe(t.name, r.bad)}`);
    assert.equal(r.runs, runs);
    // Not vacuous: the cases reach more than one outcome (accepted, and refused for more than one reason).
    assert.ok(Object.keys(r.outcomes).length >= 2, JSON.stringify(r.outcomes));
    console.log(`# ${t.name}: ${runs} cases: ${Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });
}

// Findings, one case each: each asserts the safe outcome (it failed before its fix) and stays as a regression test.
for (const t of FINDINGS) {
  test(`${t.name}: no runaway call`, async () => {
    const r = await fuzzTarget(t.name, { seed: SEED, runs: t.runs });
    assert.deepEqual(r.bad, [], `counterexamples:\n${describe(t.name, r.bad)}`);
  });
}
