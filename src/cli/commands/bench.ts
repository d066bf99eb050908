// `pef bench NAME [--json]`: the one way to run benchmarks. Each benchmark lives in
// src/bench/<name>.ts and is listed in src/bench/index.ts.
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { BENCHES } from '../../bench/index.js';
import { formatReport } from '../../bench/report.js';
import { UsageError } from '../../util/errors.js';

export function register(program: Command, ctx: CliContext): void {
  program.command('bench')
    .description('run a benchmark and print its figures with the ratio to the physical limit measured in the same run')
    .argument('[name]', `benchmark: ${Object.keys(BENCHES).join(', ')}`)
    .option('--json', 'print one JSON object {"bench", "metrics": [...]}')
    .option('--list', 'list the benchmarks')
    .option('-n, --count <n>', 'problem size for benchmarks that scale (esm: recipients)')
    .addHelpText('after', '\nExamples:\n  $ pef bench machine\n  $ pef bench machine --json\n  $ pef bench esm --count 100000')
    .action(async (name: string | undefined, opts: { json?: boolean; list?: boolean; count?: string }) => {
      if (opts.list || name === undefined) {
        for (const [n, b] of Object.entries(BENCHES)) ctx.out(`${n.padEnd(10)} ${b.description}\n`);
        if (name === undefined && !opts.list) ctx.exitCode = 0;
        return;
      }
      const b = Object.hasOwn(BENCHES, name) ? BENCHES[name] : undefined;
      if (!b) throw new UsageError(`bench: no benchmark named '${name}' (have: ${Object.keys(BENCHES).join(', ')})`);
      let count: number | undefined;
      if (opts.count !== undefined) {
        count = Number(opts.count);
        if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`bench --count: '${opts.count}' is not a positive whole number`);
      }
      const report = await b.run({ json: !!opts.json, count, log: (s) => { if (!opts.json) ctx.err(s + '\n'); } });
      ctx.out(opts.json ? JSON.stringify(report) + '\n' : formatReport(report));
    });
}
