export * from './config.js';
export * from './config-env.js';
export * from './probe.js';
export * from './create-platform.js';
export * from './journey/index.js';
