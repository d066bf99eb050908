// `pef attack [--list] [--only NAME] --on MACHINE_DIR [--json]`: the compromised-hypervisor
// attack suite against a freshly booted SVM on that machine (the sample image converted for
// the machine's key under an owner key made on the fly), each attack beside its control.
// Exit 1 when any attack leaked or any control failed.

import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { findScenario, runAttacks, SCENARIOS, suitePassed, type AttackReport, type AttackScenario } from '../../attacks/index.js';
import { InputError } from '../../util/errors.js';
import { loadMachineConfig } from '../../firmware/index.js';

interface Options { list?: boolean; only?: string[]; on?: string; json?: boolean }

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) { lines.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

function row(r: AttackReport, color: boolean): string {
  const c = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const outcome = r.outcome === 'blocked' ? c('32', 'blocked') : c('1;31', 'LEAKED ');
  const control = r.control === 'succeeded' ? 'control ok' : c('1;31', 'CONTROL FAILED');
  const head = `${String(r.number).padStart(2)}  ${r.name.padEnd(26)} ${outcome}  ${control}  ${c('2', `${r.seconds.toFixed(1)} s`)}`;
  const ind = '    ';
  return `${head}\n${ind}tried:    ${wrap(r.tried, 90, ind + '          ')}\n${ind}evidence: ${wrap(r.evidence, 90, ind + '          ')}\n`;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('attack')
    .description('run the compromised-hypervisor attack suite against a freshly booted SVM on a machine, each attack beside its control')
    .option('--on <machine>', 'the machine directory to boot and attack')
    .option('--only <name>', 'run only this attack (name or number; repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--list', 'list the attacks and what each tries')
    .option('--json', 'print one JSON object {"attacks": [{"name", "tried", "outcome", "control", "evidence"}]}')
    .addHelpText('after', `
Examples:
  $ pef attack --list
  $ pef attack --on m1
  $ pef attack --on m1 --only read-secure-page --only 6 --json

Each attack runs against a fresh boot of the machine with the real ultravisor and a
hypervisor that tries it; its control is the same attempt where the protection does not
apply (a normal VM, an honest page, a valid cookie), and must succeed.
Exit status: 0 when every attack was blocked and every control succeeded, 1 otherwise,
2 for bad input.`)
    .action(async (o: Options) => {
      if (o.list) {
        if (o.json) ctx.out(JSON.stringify({ attacks: SCENARIOS.map((s) => ({ number: s.number, name: s.name, tried: s.tried })) }) + '\n');
        else for (const s of SCENARIOS) ctx.out(`${String(s.number).padStart(2)}  ${s.name.padEnd(26)} ${s.tried}\n`);
        return;
      }
      if (!o.on) throw new InputError('--on', 'name the machine directory to attack (pef machine create DIR makes one)');
      let chosen: AttackScenario[] = [...SCENARIOS];
      if (o.only?.length) {
        chosen = o.only.map((k) => {
          const s = findScenario(k);
          if (!s) throw new InputError('--only', `no attack named '${k}' (pef attack --list shows them)`);
          return s;
        });
        chosen = [...new Set(chosen)].sort((a, b) => a.number - b.number);
      }
      loadMachineConfig(o.on);
      const color = !o.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
      if (!o.json) ctx.out(`pef attack: ${chosen.length} attack${chosen.length === 1 ? '' : 's'} against an SVM on ${o.on}\n\n`);
      const reports = await runAttacks(o.on, chosen, { onReport: o.json ? undefined : (r) => ctx.out(row(r, color)) });
      const passed = suitePassed(reports);
      if (o.json) {
        ctx.out(JSON.stringify({ attacks: reports.map((r) => ({ name: r.name, tried: r.tried, outcome: r.outcome, control: r.control, evidence: r.evidence })) }) + '\n');
      } else {
        const leaked = reports.filter((r) => r.outcome === 'leaked').length;
        const failed = reports.filter((r) => r.control === 'failed').length;
        ctx.out(`\n${reports.length - leaked} of ${reports.length} attacks blocked, ${leaked} leaked; ${reports.length - failed} controls succeeded, ${failed} failed\n`);
      }
      ctx.exitCode = passed ? 0 : 1;
    });
}
