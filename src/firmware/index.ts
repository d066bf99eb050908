// Firmware's public face: the machine directory, secure and trusted boot, provisioning and the
// machine key's life (create, rekey, duplicate), and signed firmware images.

export { bootMachine, buildHardware, type BootOptions, type BootResult, type Loaders, type LoadedImage, type StageMeasurement } from './boot.js';
export {
  openMachine, loadMachineConfig, parseMachineConfig, MachineDir, parseSize, formatSize, checkGeometry, firmwareFile,
  MACHINE_FORMAT, MACHINE_JSON, SEEPROM_FILE, type MachineConfig, type MachineKeyRecord, type TpmConfig,
} from './machine-dir.js';
export { createMachine, rekeyMachine, duplicateKey, machinePublicKey, listFirmware, type CreateOptions } from './lifecycle.js';
export { selftest, type SelftestResult } from './selftest.js';
export { buildContainer, parseContainer, verifyContainer, SecureBootError, ContainerFormatError, CONTAINER_MAGIC } from './container.js';
export { buildImage, buildPayload, parsePayload, descriptor, ImageFormatError, STAGES, isStage, IMPLEMENTATIONS, KNOWN_VARIANTS, type Stage, type ImageDescriptor } from './images.js';
export { EventLog, EV, EV_NAME, type LogEvent } from './eventlog.js';
export { PCR, STAGE_PCR, MEASURED_PCRS } from './pcrs.js';
export { vendorSigningKey, vendorKeyHash, keyHash, publicKeyDer } from './vendor-key.js';
export type { UltravisorHandoff } from '../tpm/index.js';
