// The /init script language: every command, comments, and errors that name the line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseInitScript, InitScriptError } from '../../src/image/init-script.js';

test('every command parses with its arguments and line number', () => {
  const script = [
    '#!pef-init',
    '# a comment line',
    '',
    'echo hello,   secure   world  # trailing comment',
    'echo a#b is not a comment',
    'cat /etc/secret',
    '  status',
    'sha256 /srv/www/index.html',
    'write /run/ready booted at last',
    'write /run/empty',
    'exec /bin/hello --flag x',
    'exit 3',
  ].join('\n');
  assert.deepEqual(parseInitScript(script), [
    { op: 'echo', line: 4, text: 'hello, secure world' },
    { op: 'echo', line: 5, text: 'a#b is not a comment' },
    { op: 'cat', line: 6, path: '/etc/secret' },
    { op: 'status', line: 7 },
    { op: 'sha256', line: 8, path: '/srv/www/index.html' },
    { op: 'write', line: 9, path: '/run/ready', text: 'booted at last' },
    { op: 'write', line: 10, path: '/run/empty', text: '' },
    { op: 'exec', line: 11, path: '/bin/hello', args: ['--flag', 'x'] },
    { op: 'exit', line: 12, code: 3 },
  ]);
  assert.deepEqual(parseInitScript('#!pef-init\r\necho dos\r\n'), [{ op: 'echo', line: 2, text: 'dos' }]);
});

const bad: [string, string, number][] = [
  ['#!/bin/sh\necho x', 'no-shebang', 1],
  [' #!pef-init\necho x', 'no-shebang', 1],
  ['', 'no-shebang', 1],
  ['#!pef-init\nrm -rf /', 'unknown-command', 2],
  ['#!pef-init\necho ok\ncat', 'arguments', 3],
  ['#!pef-init\ncat /a /b', 'arguments', 2],
  ['#!pef-init\nstatus now', 'arguments', 2],
  ['#!pef-init\ncat etc/secret', 'bad-path', 2],
  ['#!pef-init\ncat /etc/../secret', 'bad-path', 2],
  ['#!pef-init\nsha256 //x', 'bad-path', 2],
  ['#!pef-init\nexec /', 'bad-path', 2],
  ['#!pef-init\nexit 256', 'bad-code', 2],
  ['#!pef-init\nexit -1', 'bad-code', 2],
  ['#!pef-init\nexit', 'arguments', 2],
  ['#!pef-init\necho \u0007bell', 'bad-text', 2],
  [`#!pef-init\necho ${'x'.repeat(5000)}`, 'too-long', 2],
  [`#!pef-init\n${'echo x\n'.repeat(20000)}`, 'too-long', 0],
];

for (const [text, code, line] of bad) {
  test(`rejects ${JSON.stringify(text.slice(0, 30))} with ${code} at line ${line}`, () => {
    assert.throws(() => parseInitScript(text), (e) => e instanceof InitScriptError && e.code === code && e.line === line);
  });
}

test('fuzz: any text gives commands or an InitScriptError', () => {
  const words = fc.constantFrom('echo', 'cat', 'status', 'sha256', 'write', 'exec', 'exit', '/etc/x', '#c', '0', '300', '/a/../b', 'x', '\t', ' ', '\u0001');
  const line = fc.array(words, { maxLength: 6 }).map((w) => w.join(' '));
  fc.assert(fc.property(fc.boolean(), fc.array(line, { maxLength: 20 }), fc.string(), (shebang, lines, junk) => {
    const text = (shebang ? '#!pef-init\n' : '') + lines.join('\n') + junk;
    try {
      for (const c of parseInitScript(text)) assert.ok(c.line >= 2);
    } catch (e) { if (!(e instanceof InitScriptError)) throw e; }
  }), { numRuns: 3000 });
});
