// The in-process TPM: importing this module registers every command the engine implements.
import './commands-basic.js';
import './commands-object.js';
import './commands-session.js';
import './commands-dup.js';

export { TpmEngine, type EngineOptions } from './engine.js';
export { NvStateError } from './state.js';
