// Runs `pef` command lines one after another in this process, for guarded.ts: a line
// {"start": i} before each and {"i", "code", "out", "err"} after it, so that whoever watches
// knows which command never returned. Two stand-ins for the watchdog's own controls: ['(spin)']
// never returns, ['(grow)'] takes memory without end.
import { main } from '../../src/cli/main.js';

const cases = JSON.parse(process.argv[2]!) as string[][];
for (const [i, argv] of cases.entries()) {
  process.stdout.write(JSON.stringify({ start: i }) + '\n');
  if (argv[0] === '(spin)') for (;;) { /* never returns */ }
  if (argv[0] === '(grow)') for (const held: Buffer[] = []; ;) held.push(Buffer.alloc(1 << 20, 1));
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  process.stdout.write(JSON.stringify({ i, code, out, err }) + '\n');
}
