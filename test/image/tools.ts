// External tools the image tests check against (binutils, GNU tar, cryptsetup, qemu-user).
// In CI they must be there and the tests run; elsewhere a missing tool skips with a message.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import type { TestContext } from 'node:test';

const cache = new Map<string, boolean>();

export function haveTool(name: string): boolean {
  let ok = cache.get(name);
  if (ok === undefined) {
    ok = spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
    cache.set(name, ok);
  }
  return ok;
}

/** True when the test may go on; false after marking it skipped (never in CI: there it fails). */
export function needTool(t: TestContext, name: string): boolean {
  if (haveTool(name)) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI and is not installed`);
  t.skip(`${name} is not installed`);
  return false;
}

export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
