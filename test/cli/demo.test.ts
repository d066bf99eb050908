// `pef demo` end to end: every step behaves as PEF promises (the SVM runs on A and B, is
// refused on C with the reason, and the attack suite reports every attack blocked with its
// control succeeding). This is the whole system in one test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';

test('pef demo --json: every step as expected', async () => {
  let out = '';
  let err = '';
  const code = await main(['demo', '--json'], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  const summary = JSON.parse(out) as { demo: string; steps: { title: string; ok: boolean; note: string }[] };
  const failed = summary.steps.filter((s) => !s.ok).map((s) => `${s.title}: ${s.note}`);
  assert.deepEqual(failed, [], err.split('\n').slice(-20).join('\n'));
  assert.equal(summary.demo, 'ok');
  assert.equal(code, 0);
  assert.ok(summary.steps.some((s) => /machine C/.test(s.title) && s.note.startsWith('refused')));
});
