// The TPM layer's public face: the wire format, the in-process engine, the transports, the
// step-wise client, the ultravisor's unwrap client and the machine key's definition.

export * from './constants.js';
export { TpmError, TpmProtocolError, TpmTransportError, describeRc, decodeRc } from './errors.js';
export { Reader, Writer, TpmParseError, toHex, fromHex, equalBytes, concat, u16be, u32be } from './marshal.js';
export * from './types.js';
export { PolicyBuilder, policyOr, replayPcr, pcrCompositeDigest } from './policy.js';
export { TpmEngine, NvStateError } from './engine/index.js';
export type { TpmTransport, AsyncTpmTransport, TpmDevice } from './transport/transport.js';
export { commandsOnly } from './transport/transport.js';
export { EmbeddedTpm, type EmbeddedOptions } from './transport/embedded.js';
export { SwtpmDevice } from './transport/swtpm-sync.js';
export { SwtpmAsync } from './transport/swtpm.js';
export { parseEndpoint, formatEndpoint, type SwtpmEndpoint } from './transport/swtpm-protocol.js';
export { startPrivateSwtpm, swtpmAvailable, type PrivateSwtpm } from './transport/swtpm-process.js';
export { runSync, runAsync, type TpmFlow } from './client/flow.js';
export { ClientSession, command, passwordAuth, type Authorization } from './client/command.js';
export * as ops from './client/ops.js';
export { unwrapSteps, unwrapLockbox, unwrapLockboxSync, TpmNameMismatch } from './client/unwrap.js';
export type { UltravisorHandoff, HandoffNode } from './handoff.js';
export { handoffToNode, handoffFromNode, wipeHandoff, handoffSummary } from './handoff.js';
export * from './machine-key.js';
export { publicPem, pemFingerprint, publicKeyObject } from './pem.js';
