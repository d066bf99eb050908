// `pef` command lines that might never return (a read of /dev/zero, an open of a FIFO with no
// writer), run in a child process under a watchdog so that such a command fails its test
// instead of hanging the suite. The child is killed when a command makes no progress for
// `hangMs` or when it holds more than `maxRss` bytes (reading /dev/zero grows without end; Linux's /proc);
// that command and those after it come back as { code: undefined, err: the reason }.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./guarded-child.ts', import.meta.url));

export interface Outcome { argv: string[]; code: number | undefined; out: string; err: string }

export function runGuarded(cases: string[][], o: { env?: NodeJS.ProcessEnv; hangMs?: number; setupMs?: number; maxRss?: number } = {}): Promise<Outcome[]> {
  const hangMs = o.hangMs ?? 60_000;
  const maxRss = o.maxRss ?? 2 ** 30;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(cases)], { stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
  const done: Outcome[] = [];
  let running = -1;
  let since = Date.now();
  let killed: string | undefined;
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const m = JSON.parse(buf.slice(0, nl)) as { start: number } | { i: number; code: number; out: string; err: string };
      buf = buf.slice(nl + 1);
      since = Date.now();
      if ('start' in m) running = m.start;
      else done.push({ argv: cases[m.i]!, code: m.code, out: m.out, err: m.err });
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const rss = () => {
    try { return Number(/VmRSS:\s*(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024; } catch { return 0; }
  };
  const timer = setInterval(() => {
    const limit = running < 0 ? o.setupMs ?? 120_000 : hangMs;
    if (Date.now() - since > limit) killed = `no return after ${limit} ms`;
    else if (rss() > maxRss) killed = `more than ${maxRss} bytes of memory`;
    if (killed) { clearInterval(timer); child.kill('SIGKILL'); }
  }, 100);
  return new Promise((resolve) => {
    child.on('close', () => {
      clearInterval(timer);
      const reason = killed ?? `the child ended before returning (${stderr.trim().split('\n').pop() ?? ''})`;
      for (let i = done.length; i < cases.length; i++) {
        done.push({ argv: cases[i]!, code: undefined, out: '', err: i === running ? `killed: ${reason}` : 'not run: an earlier command did not return' });
      }
      resolve(done);
    });
  });
}
