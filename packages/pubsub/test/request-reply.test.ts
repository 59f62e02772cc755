import { memoryContext } from './memory-context.js';
import { requestReplySuite } from './request-reply-suite.js';

requestReplySuite('memory', memoryContext({}));
requestReplySuite('memory, zero-copy', memoryContext({ zeroCopy: true }));
