/**
 * Small RabbitMQ helpers kept apart from the adapter: the cause of a lost connection in words an
 * operator can act on, and the properties of a dead letter.
 */
import { toError } from '@events/core';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';

/**
 * Names what ended a connection, from the error amqplib closes it with: the broker closing it
 * (with its reply code and text: a forced close, a node shutting down), the socket dropping, a
 * missed heartbeat, or our own close.
 */
export function connectionLost(broker: string, error: Error | undefined): Error {
  let what: string;
  if (!error) what = 'the connection was closed without an error (by this client, or a clean close by the broker)';
  else if (/^Connection closed: /.test(error.message)) what = `the broker closed the connection (${error.message.replace(/^Connection closed: /, '')})`;
  else if (/Heartbeat timeout/i.test(error.message)) what = 'no heartbeat from the broker (a dead peer or a stalled network)';
  else if (/Unexpected close/i.test(error.message)) what = 'the socket closed unexpectedly (the broker went away or the network cut it)';
  else what = `socket error: ${error.message}`;
  return new Error(`connection to ${broker} lost: ${what}`, { cause: error });
}

/** The original's properties and headers, plus why and from where it was dead-lettered. */
export function deadLetterProperties(msg: ConsumeMessage, queue: string, reason: string): Options.Publish {
  const p = msg.properties;
  const properties: Options.Publish = {
    persistent: true,
    headers: {
      ...p.headers,
      'x-dead-letter-reason': reason,
      'x-dead-letter-queue': queue,
      'x-original-exchange': msg.fields.exchange,
      'x-original-routing-key': msg.fields.routingKey,
    },
  };
  // Only what the original carried: a foreign message may lack any of these.
  if (p.contentType !== undefined) properties.contentType = p.contentType;
  if (p.messageId !== undefined) properties.messageId = p.messageId;
  if (p.type !== undefined) properties.type = p.type;
  if (p.timestamp !== undefined) properties.timestamp = p.timestamp;
  if (p.correlationId !== undefined) properties.correlationId = p.correlationId;
  return properties;
}

/** Publishes one dead letter on the confirm channel; resolves on the broker's confirm. */
export function publishDeadLetter(pub: ConfirmChannel, target: { exchange: string; queue: string; msg: ConsumeMessage; reason: string }): Promise<void> {
  const { exchange, queue, msg, reason } = target;
  return new Promise<void>((resolve, reject) => {
    pub.publish(exchange, queue, msg.content, deadLetterProperties(msg, queue, reason), (err: unknown) => (err ? reject(toError(err)) : resolve()));
  });
}
