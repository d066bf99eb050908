// Test helpers for TPMs: the embedded engine, swtpm (PEF_SWTPM / PEF_SWTPM_B in CI, else a
// private instance on free loopback ports when swtpm is installed), and tpm2-tools against swtpm.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import {
  EmbeddedTpm, SwtpmDevice, parseEndpoint, runSync, startPrivateSwtpm, swtpmAvailable, ops,
  type PrivateSwtpm, type SwtpmEndpoint, type TpmDevice, type TpmFlow,
} from '../../src/tpm/index.js';

export const CI = process.env.CI === 'true';

export function toolAvailable(tool: string): boolean {
  if (!/^[\w.-]+$/.test(tool)) return false;
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Skip (locally) or fail (in CI) when an external tool is missing. Returns false when skipped. */
export function requireTool(t: TestContext, tool: string): boolean {
  if (toolAvailable(tool)) return true;
  if (CI) throw new Error(`${tool} is required in CI (install it: see .ci/run)`);
  t.skip(`${tool} is not installed`);
  return false;
}

export interface Target {
  name: string;
  kind: 'embedded' | 'swtpm';
  /** The device, opened on first use; released before tpm2-tools talk to the same swtpm. */
  device(): TpmDevice;
  release(): void;
  endpoint?: SwtpmEndpoint;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  run<T>(f: TpmFlow<T>): T;
}

export function embeddedTarget(): Target {
  let d: EmbeddedTpm | undefined;
  const t: Target = {
    name: 'embedded', kind: 'embedded',
    device: () => (d ??= new EmbeddedTpm()),
    release: () => {},
    async setup() {}, async teardown() { d?.close(); },
    run: (f) => runSync(f, t.device()),
  };
  return t;
}

/** swtpm from an env variable (HOST:PORT:CTRL), or a private instance; undefined if neither is possible. */
export function swtpmTarget(envVar: 'PEF_SWTPM' | 'PEF_SWTPM_B'): Target | undefined {
  const env = process.env[envVar];
  if (!env && !swtpmAvailable()) {
    if (CI) throw new Error(`${envVar} is not set and swtpm is not installed: CI must provide swtpm`);
    return undefined;
  }
  let priv: PrivateSwtpm | undefined;
  let d: SwtpmDevice | undefined;
  const t: Target = {
    name: env ? `swtpm ${env} (${envVar})` : 'swtpm (private instance)', kind: 'swtpm',
    device: () => (d ??= new SwtpmDevice(t.endpoint!)),
    release: () => { d?.close(); d = undefined; },
    async setup() {
      if (env) t.endpoint = parseEndpoint(env, envVar);
      else { priv = await startPrivateSwtpm(); t.endpoint = priv.endpoint; }
    },
    async teardown() { t.release(); await priv?.stop(); },
    run: (f) => runSync(f, t.device()),
  };
  return t;
}

/** Power-cycle and start: every test begins from a platform reset. */
export function freshStart(t: Target): void {
  t.device().powerCycle();
  t.run(ops.startup(true));
}

/** Run a tpm2-tools command against a swtpm target (our own connection is released first). */
export function tpm2(t: Target, args: string[], opts: { cwd?: string } = {}): string {
  t.release();
  const e = t.endpoint!;
  const r = spawnSync(args[0]!, args.slice(1), {
    cwd: opts.cwd, encoding: 'utf8',
    env: { ...process.env, TPM2TOOLS_TCTI: `swtpm:host=${e.host},port=${e.port}` },
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
