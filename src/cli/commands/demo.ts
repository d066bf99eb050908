// `pef demo`: the whole story. Until every layer exists it says what there is so far.
import type { Command } from 'commander';
import type { CliContext } from '../main.js';

export function register(program: Command, ctx: CliContext): void {
  program.command('demo')
    .description('show the whole PEF story: machines, an SVM, a normal VM, attacks')
    .option('--json', 'print a JSON summary')
    .action((opts: { json?: boolean }) => {
      const have = ['ABI tables (pef bench machine)', 'hardware model'];
      if (opts.json) ctx.out(JSON.stringify({ demo: 'partial', available: have }) + '\n');
      else ctx.out(`pef demo: the full demo is not built yet. Available so far:\n${have.map((h) => `  - ${h}\n`).join('')}`);
    });
}
