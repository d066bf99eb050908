// Machines for firmware tests: created once per file in a temporary directory and cloned
// (a copy of a machine directory is the same machine: same TPM state, same keys).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, createPrivateKey, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { createMachine, type CreateOptions } from '../../src/firmware/index.js';

export const G = 2 ** 30;

export class Scratch {
  readonly root = mkdtempSync(join(tmpdir(), 'pef-fw-'));
  path(name: string): string { return join(this.root, name); }
  async machine(name: string, o: Partial<CreateOptions> = {}): Promise<string> {
    const dir = this.path(name);
    await createMachine(dir, { memory: G, secureMemory: G / 4, cpus: 2, tpm: { kind: 'embedded' }, ...o });
    return dir;
  }
  clone(from: string, name: string): string {
    const dir = this.path(name);
    cpSync(from, dir, { recursive: true });
    return dir;
  }
  dispose(): void { rmSync(this.root, { recursive: true, force: true }); }
}

export const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** What an SVM owner's tools do with a machine's PEM: RSA-OAEP, SHA-256, empty label. */
export function wrapTo(pem: string, secret: Uint8Array): Uint8Array {
  return new Uint8Array(publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret));
}

/**
 * A new ECDSA P-521 signing key that is not the vendor's. Generated already encoded and then
 * imported: exporting a just-generated KeyObject can deadlock Node 20 in garbage collection.
 */
export function foreignSigningKey(): KeyObject {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp521r1', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return createPrivateKey(privateKey);
}
