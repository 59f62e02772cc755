import { describe, expect, it } from 'vitest';
import { connectionLost } from './rabbitmq-causes.js';

const broker = 'RabbitMQ amqp://guest:***@127.0.0.1:5672';

describe('connectionLost: the cause of an outage, in words an operator can act on', () => {
  it('names a close by the broker with its reply code and text', () => {
    const e = connectionLost(broker, new Error('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - broker forced connection closure with reason \'shutdown\'"'));
    expect(e.message).toBe(`connection to ${broker} lost: the broker closed the connection (320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")`);
  });

  it('names a dropped socket, a missed heartbeat, a socket error and a clean close', () => {
    expect(connectionLost(broker, new Error('Unexpected close')).message).toMatch(/lost: the socket closed unexpectedly/);
    expect(connectionLost(broker, new Error('Heartbeat timeout')).message).toMatch(/lost: no heartbeat from the broker/);
    expect(connectionLost(broker, Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).message).toMatch(/lost: socket error: read ECONNRESET/);
    expect(connectionLost(broker, undefined).message).toMatch(/lost: the connection was closed without an error/);
  });

  it('keeps the original error as the cause and never says "publish channel closed"', () => {
    const original = new Error('Unexpected close');
    const e = connectionLost(broker, original);
    expect(e.cause).toBe(original);
    expect(e.message).not.toMatch(/publish channel closed/);
  });
});
