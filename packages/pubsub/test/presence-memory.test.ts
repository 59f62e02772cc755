import { memoryNodes } from './memory-context.js';
import { presenceConformance } from './presence-conformance.js';

// The cut node's failing heartbeats are reported; they are expected here.
presenceConformance('memory', async () => memoryNodes({}, { onError: () => undefined }));
