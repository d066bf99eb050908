// A passphrase from PEF_PASSPHRASE, or asked on the terminal without echo.

import { InputError } from './errors.js';

export async function getPassphrase(prompt: string, what = 'passphrase'): Promise<string> {
  const env = process.env.PEF_PASSPHRASE;
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new InputError(what, 'no terminal to ask on; set PEF_PASSPHRASE');
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let s = '';
  return await new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') { finish(); resolve(s); return; }
        if (ch === '\u0003') { finish(); reject(new InputError(what, 'cancelled')); return; }
        if (ch === '\u007f') s = s.slice(0, -1); else s += ch;
      }
    };
    const finish = () => { stdin.setRawMode(false); stdin.pause(); stdin.off('data', onData); process.stderr.write('\n'); };
    stdin.on('data', onData);
  });
}
