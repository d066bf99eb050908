// Shared setup for the image tests: a temporary directory, an owner and three machine key
// pairs (made once per test file), a sample VM image, and running the CLI in-process.
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { generateRsaKeyPair } from '../../src/esm/index.js';
import { main } from '../../src/cli/main.js';

export interface Keys { dir: string; ownerPub: string; ownerSec: string; m: { pub: string; sec: string }[] }

export function tmp(prefix: string): string { return mkdtempSync(join(tmpdir(), `pef-${prefix}-`)); }

export function cleanup(dir: string): void { rmSync(dir, { recursive: true, force: true }); }

let cached: Keys | undefined;
/** Unencrypted RSA-2048 keys: the owner and machines m1..m3, as PEM files in their own directory. */
export function keys(): Keys {
  if (cached) return cached;
  const dir = tmp('keys');
  const write = (name: string) => {
    const k = generateRsaKeyPair('');
    writeFileSync(join(dir, `${name}.pem`), k.pub);
    writeFileSync(join(dir, `${name}.sec`), k.sec);
    return { pub: join(dir, `${name}.pem`), sec: join(dir, `${name}.sec`) };
  };
  const owner = write('owner');
  cached = { dir, ownerPub: owner.pub, ownerSec: owner.sec, m: [write('m1'), write('m2'), write('m3')] };
  process.on('exit', () => cleanup(dir));
  return cached;
}

export async function pef(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

export function convertArgs(vm: string, out: string, k: Keys, ...extra: string[]): string[] {
  return ['svm', 'convert', vm, '-o', out, '--owner-pub', k.ownerPub, '--owner-sec', k.ownerSec, '--authorize', k.m[0]!.pub, '--authorize', k.m[1]!.pub, '--quiet', ...extra];
}

/** Leftovers of an interrupted build of `target` (its temporary directories). */
export function tempsOf(target: string): string[] {
  return readdirSync(dirname(target)).filter((n) => n.startsWith(`.${basename(target)}.tmp-`));
}
