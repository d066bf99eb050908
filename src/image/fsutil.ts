// File helpers for building image directories: content is synced before the directory is
// renamed into place, so a crash after the rename never shows a file with missing data.

import { open } from 'node:fs/promises';
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export async function writeFileSynced(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(typeof data === 'string' ? Buffer.from(data) : data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try { await fh.sync(); } finally { await fh.close(); }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Remove what killed builds of `target` left behind: the temporary directories
 * buildDirAtomic names `.<name>.tmp-<pid>-<hex>` whose process no longer runs.
 */
export function removeStaleTemps(target: string): string[] {
  const dir = dirname(target);
  const re = new RegExp(`^\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)-[0-9a-f]{8}$`);
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return removed; }
  for (const n of names) {
    const m = re.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    rmSync(join(dir, n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}
