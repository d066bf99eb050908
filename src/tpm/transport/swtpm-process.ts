// Start a private swtpm on free loopback ports (tests, benchmarks), and find the swtpm
// binary. The instance is this process's child; stop() sends TPM2_Shutdown first (swtpm
// counts unclean stops) and then ends it by its pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwtpmAsync } from './swtpm.js';
import type { SwtpmEndpoint } from './swtpm-protocol.js';

export function swtpmAvailable(): boolean {
  return spawnSync('swtpm', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function listenOn(port: number): Promise<net.Server | undefined> {
  return await new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

const closeServer = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));

/** Two free consecutive ports: tpm2-tools' swtpm TCTI assumes the control port is the data port + 1. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const a = await listenOn(0);
    if (!a) continue;
    const p = (a.address() as net.AddressInfo).port;
    const b = p < 65535 ? await listenOn(p + 1) : undefined;
    await closeServer(a);
    if (b) { await closeServer(b); return p; }
  }
  throw new Error('swtpm: no two consecutive free loopback ports');
}

async function canConnect(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

export interface PrivateSwtpm {
  endpoint: SwtpmEndpoint;
  stop(): Promise<void>;
}

export async function startPrivateSwtpm(): Promise<PrivateSwtpm> {
  const dir = mkdtempSync(join(tmpdir(), 'pef-swtpm-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePortPair();
    const ctrlPort = port + 1;
    const child: ChildProcess = spawn('swtpm', [
      'socket', '--tpm2',
      '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl', `type=tcp,port=${ctrlPort},bindaddr=127.0.0.1`,
      '--tpmstate', `dir=${dir}`, '--flags', 'not-need-init,startup-clear',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited = false;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('exit', () => { exited = true; });
    // Wait for the control port to accept (the data port allows one client: leave it alone).
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await canConnect(ctrlPort))) await new Promise((r) => setTimeout(r, 10));
    if (exited) {
      if (/Address already in use/i.test(stderr)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`swtpm did not start: ${stderr.trim()}`);
    }
    const endpoint = { host: '127.0.0.1', port, ctrlPort };
    return {
      endpoint,
      async stop() {
        if (!exited) {
          const gone = new Promise((r) => child.once('exit', r));
          const t = new SwtpmAsync(endpoint, 5000);
          // The orderly way: TPM2_Shutdown, then CMD_SHUTDOWN; SIGTERM to our child only if that fails.
          try { await t.shutdown(); } catch { t.close(); child.kill('SIGTERM'); }
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await gone;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('swtpm: no free loopback ports');
}
