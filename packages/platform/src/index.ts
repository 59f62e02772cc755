export * from './config.js';
export * from './probe.js';
