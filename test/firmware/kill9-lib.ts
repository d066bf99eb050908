// kill -9 at random points of `pef machine create`, `rekey` and `duplicate-key`, run as real
// processes; after each kill the machine directory must be its old self or its new self: the
// configuration loads, every firmware image verifies, and the TPM state holds exactly the key
// machine.json records.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMachine, listFirmware, loadMachineConfig, machinePublicKey, rekeyMachine } from '../../src/firmware/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const CHILD = fileURLToPath(new URL('./kill9-child.ts', import.meta.url));

/** 'cli' runs `pef` itself; 'lib' runs the same library calls in a lighter process (faster to start). */
export type Via = 'cli' | 'lib';
let via: Via = 'cli';
export function runVia(v: Via): void { via = v; }

function argsFor(args: string[]): string[] {
  if (via === 'cli') return [MAIN, ...args];
  // machine create DIR ... | machine rekey DIR | machine duplicate-key --from A --to B
  if (args[1] === 'create') return [CHILD, 'create', args[2]!];
  if (args[1] === 'rekey') return [CHILD, 'rekey', args[2]!];
  return [CHILD, 'duplicate-key', args[args.indexOf('--from') + 1]!, args[args.indexOf('--to') + 1]!];
}

interface Run { code: number | null; signal: NodeJS.Signals | null; ms: number; err: string }

/** Run `pef ARGS`, killing it with SIGKILL after `killAfterMs` if given. */
export async function runPef(args: string[], killAfterMs?: number): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ...argsFor(args)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  if (timer) clearTimeout(timer);
  return { code, signal, ms: Date.now() - t0, err };
}

/** A machine directory is whole: loads, its firmware verifies, its TPM holds the recorded key. Returns its fingerprint. */
export function checkWhole(dir: string): string {
  const cfg = loadMachineConfig(dir);
  for (const f of listFirmware(dir)) assert.equal(f.secureBoot, 'ok', `${dir}: ${f.stage}`);
  const k = machinePublicKey(dir);
  assert.equal(k.fingerprint, cfg.machineKey.fingerprint, `${dir}: the TPM state and machine.json disagree`);
  if (cfg.tpm.kind === 'embedded') assert.ok(existsSync(join(dir, cfg.tpm.state)));
  return cfg.machineKey.fingerprint;
}

/** Leftover temporary directories next to `dir` (a create killed before its rename). */
export function removeTempSiblings(dir: string): void {
  const parent = dirname(dir);
  for (const f of readdirSync(parent)) if (f.startsWith(`.${basename(dir)}.tmp-`)) rmSync(join(parent, f), { recursive: true, force: true });
}

const small = ['--memory', '1G', '--secure-memory', '256M', '--cpus', '1'];
const SMALL = { memory: 2 ** 30, secureMemory: 2 ** 28, cpus: 1, tpm: { kind: 'embedded' as const } };

export interface Kill9Result { op: string; kills: number; oldState: number; newState: number }

export async function killCreate(root: string, iterations: number, rnd: () => number): Promise<Kill9Result> {
  const probe = join(root, 'create-full');
  const full = await runPef(['machine', 'create', probe, ...small]);
  assert.equal(full.code, 0, full.err);
  checkWhole(probe);
  const r: Kill9Result = { op: 'create', kills: 0, oldState: 0, newState: 0 };
  for (let i = 0; i < iterations; i++) {
    const dir = join(root, `create-${i}`);
    const run = await runPef(['machine', 'create', dir, ...small], rnd() * full.ms * 1.1);
    if (run.signal === 'SIGKILL') r.kills++;
    if (existsSync(dir)) { checkWhole(dir); r.newState++; } else r.oldState++;
    removeTempSiblings(dir);
  }
  return r;
}

export async function killRekey(root: string, iterations: number, rnd: () => number): Promise<Kill9Result> {
  const dir = join(root, 'rekey');
  await createMachine(dir, SMALL);
  const full = await runPef(['machine', 'rekey', dir]);
  assert.equal(full.code, 0, full.err);
  const r: Kill9Result = { op: 'rekey', kills: 0, oldState: 0, newState: 0 };
  for (let i = 0; i < iterations; i++) {
    const before = checkWhole(dir);
    const run = await runPef(['machine', 'rekey', dir], rnd() * full.ms * 1.1);
    if (run.signal === 'SIGKILL') r.kills++;
    const after = checkWhole(dir);
    if (after === before) r.oldState++; else r.newState++;
  }
  return r;
}

export async function killDuplicate(root: string, iterations: number, rnd: () => number): Promise<Kill9Result> {
  const a = join(root, 'dup-a');
  const b = join(root, 'dup-b');
  await createMachine(a, SMALL);
  await createMachine(b, SMALL);
  const fa = checkWhole(a);
  const full = await runPef(['machine', 'duplicate-key', '--from', a, '--to', b]);
  assert.equal(full.code, 0, full.err);
  const r: Kill9Result = { op: 'duplicate-key', kills: 0, oldState: 0, newState: 0 };
  for (let i = 0; i < iterations; i++) {
    // Give B a key of its own again, then duplicate A's over it and kill somewhere in between.
    rekeyMachine(b);
    const before = checkWhole(b);
    const run = await runPef(['machine', 'duplicate-key', '--from', a, '--to', b], rnd() * full.ms * 1.1);
    if (run.signal === 'SIGKILL') r.kills++;
    const after = checkWhole(b);
    assert.ok(after === before || after === fa, `B holds neither its old key nor A's: ${after}`);
    if (after === before) r.oldState++; else r.newState++;
    assert.equal(checkWhole(a), fa, 'A is untouched');
  }
  return r;
}
