// Keys and tools for the ESM tests. Keys are made with node:crypto directly (not the code
// under test); external tools run when present and always in CI.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { spawnSync } from 'node:child_process';

export interface TestKey { pub: Uint8Array; sec: KeyObject; secPem: string }

export function testKey(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    pub: new Uint8Array(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string)),
    sec: privateKey,
    secPem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  };
}

let pool: TestKey[] | undefined;
/** A few keys shared by the tests of one file (RSA key generation is the slow part). */
export function keys(n: number): TestKey[] {
  pool ??= [];
  while (pool.length < n) pool.push(testKey());
  return pool.slice(0, n);
}

export function haveTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0 || spawnSync(cmd, ['version'], { stdio: 'ignore' }).status === 0;
}

/** Skip reason when a tool is missing outside CI; in CI a missing tool fails the test. */
export function toolSkip(cmd: string): string | false {
  if (haveTool(cmd)) return false;
  if (process.env.CI === 'true') throw new Error(`${cmd} is required in CI`);
  return `${cmd} not installed`;
}
