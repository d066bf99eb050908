// `pef demo`: the whole story in about a minute with no setup. Three machines, an owner key,
// the sample image converted for machines A and B, run on A beside a normal VM, refused on C
// with the reason, the attack suite, and a closing summary. Each step is the same command a
// user would type, run in-process, so the demo is also a tour of the command line.

import type { Command } from 'commander';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CliContext } from '../main.js';
import { main } from '../main.js';
import { InputError } from '../../util/errors.js';

interface Step { title: string; argv: string[]; expect: 'ok' | 'fail'; show?: (out: string, err: string) => string[]; env?: Record<string, string> }
interface StepResult { title: string; ok: boolean; seconds: number; note: string }

export function register(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('the whole PEF story in about a minute: machines, an SVM beside a normal VM, a refusal, the attack suite')
    .option('--keep <dir>', 'keep the demo files in this directory (must not exist)')
    .option('--json', 'print only a JSON summary')
    .addHelpText('after', '\nExamples:\n  $ pef demo\n  $ pef demo --keep /tmp/pef-demo   # then look around: pef svm inspect /tmp/pef-demo/svm')
    .action(async (opts: { keep?: string; json?: boolean }) => {
      if (opts.keep && existsSync(opts.keep)) throw new InputError(opts.keep, 'already exists');
      const dir = opts.keep ? resolve(opts.keep) : mkdtempSync(join(tmpdir(), 'pef-demo-'));
      if (opts.keep) mkdirSync(dir, { recursive: true });
      const color = !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
      const c = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
      const say = (s: string) => { if (!opts.json) ctx.out(s + '\n'); };
      const p = (...xs: string[]) => join(dir, ...xs);
      const env = { PEF_PASSPHRASE: 'demo owner passphrase' };
      const firstLines = (n: number) => (out: string) => out.trim().split('\n').filter(Boolean).slice(0, n);
      const steps: Step[] = [
        ...['A', 'B', 'C'].map((m): Step => ({ title: `Machine ${m}: TPM provisioned, firmware signed`, argv: ['machine', 'create', p(m), '--memory', '4G', '--secure-memory', '1G', '--cpus', '2'], expect: 'ok' })),
        ...['A', 'B', 'C'].map((m): Step => ({ title: `Machine ${m}'s public key (what an SVM owner authorizes)`, argv: ['machine', 'pubkey', p(m), '-o', p(`${m}.pem`)], expect: 'ok' })),
        { title: 'Secure and trusted boot of machine A', argv: ['machine', 'boot', p('A')], expect: 'ok', show: firstLines(8) },
        { title: "The SVM owner's key pair", argv: ['esm', 'generate', '-p', p('owner.pem'), '-s', p('owner.sec')], expect: 'ok', env },
        { title: 'A normal VM image (kernel, initramfs, root disk)', argv: ['image', 'sample', p('vm')], expect: 'ok' },
        { title: 'Convert it into an SVM authorized for machines A and B', argv: ['svm', 'convert', p('vm'), '-o', p('svm'), '--owner-pub', p('owner.pem'), '--owner-sec', p('owner.sec'), '--authorize', p('A.pem'), '--authorize', p('B.pem')], expect: 'ok', env },
        { title: 'What the SVM image holds', argv: ['svm', 'inspect', p('svm')], expect: 'ok', show: firstLines(12) },
        { title: 'Run the SVM on A, beside the normal VM', argv: ['run', p('svm'), p('vm'), '--on', p('A')], expect: 'ok', show: (out) => out.trim().split('\n').slice(-14) },
        { title: 'Run the same SVM on machine B (also authorized)', argv: ['run', p('svm'), '--on', p('B')], expect: 'ok', show: (out) => out.trim().split('\n').filter((l) => /secure|fingerprint/i.test(l)).slice(0, 3) },
        { title: 'Run it on machine C, which it is not authorized for', argv: ['run', p('svm'), '--on', p('C')], expect: 'fail', show: (out, err) => (out + err).trim().split('\n').filter((l) => /UV_ESM|lockbox|os-term/i.test(l)).slice(0, 3) },
        { title: 'The compromised-hypervisor attack suite against the SVM on A', argv: ['attack', '--on', p('A')], expect: 'ok', show: (out) => out.trim().split('\n') },
      ];
      const results: StepResult[] = [];
      say(c('1', 'pef demo: the Protected Execution Facility, end to end'));
      say(`files in ${dir}\n`);
      let n = 0;
      for (const step of steps) {
        n++;
        say(c('1;36', `[${n}/${steps.length}] ${step.title}`));
        say(c('2', `  $ pef ${step.argv.map((a) => a.startsWith(dir) ? a.replace(dir, '$DEMO') : a).join(' ')}`));
        let out = '';
        let err = '';
        const saved: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(step.env ?? {})) { saved[k] = process.env[k]; process.env[k] = v; }
        const t0 = process.hrtime.bigint();
        let code: number;
        try {
          code = await main(step.argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
        } finally {
          for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
        }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const ok = step.expect === 'ok' ? code === 0 : code !== 0;
        const lines = step.show ? step.show(out, err) : [];
        for (const l of lines) say(`    ${l}`);
        if (!ok) for (const l of (err || out).trim().split('\n').slice(-4)) say(c('31', `    ${l}`));
        const note = step.expect === 'fail' ? (code !== 0 ? 'refused, as it must be' : 'NOT refused') : (code === 0 ? 'ok' : `failed (exit ${code})`);
        say(`  ${ok ? c('32', 'ok') : c('31', 'FAILED')} ${c('2', `(${seconds.toFixed(1)} s)`)}\n`);
        results.push({ title: step.title, ok, seconds, note });
      }
      const allOk = results.every((r) => r.ok);
      if (opts.json) {
        ctx.out(JSON.stringify({ demo: allOk ? 'ok' : 'failed', dir: opts.keep ? dir : undefined, steps: results }) + '\n');
      } else {
        say(c('1', 'Summary'));
        const w = Math.max(...results.map((r) => r.title.length));
        for (const r of results) say(`  ${r.title.padEnd(w)}  ${r.ok ? c('32', r.note) : c('31', r.note)}  ${c('2', `${r.seconds.toFixed(1)} s`)}`);
        say(`\n${allOk ? c('32', 'Every step behaved as PEF promises.') : c('31', 'Some steps did not behave as expected.')}`);
      }
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
      ctx.exitCode = allOk ? 0 : 1;
    });
}
