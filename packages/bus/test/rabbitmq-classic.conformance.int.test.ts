import { busConformance } from './conformance.js';
import { rabbitTarget } from './rabbitmq-harness.js';

busConformance('rabbitmq (classic queues)', () => rabbitTarget({ queueType: 'classic' }));
