/**
 * How the bus reads a delivery, whatever the adapter: core's one rule for foreign producers
 * (`envelopeFromTransport`). The transport's name (the routing key) is what routed the message, so
 * it must be a valid event name and an envelope must carry that same name; a bare JSON payload
 * from another client is wrapped in a new envelope with the AMQP message id when it has one.
 */
import { DecodeError, envelopeFromTransport, jsonSerializer, validateEventName, type BusDelivery, type Envelope, type Serializer } from '@events/core';

// Routing keys already found valid; bounded, since names are normally a small fixed set.
const validNames = new Set<string>();

export function decodeDelivery(serializer: Serializer, delivery: BusDelivery): Envelope {
  const raw = delivery.data;
  if (!validNames.has(delivery.name)) {
    try {
      validateEventName(delivery.name);
    } catch (error) {
      throw new DecodeError(`the routing key is not an event name: ${(error as Error).message.slice(0, 400)}`, raw, { cause: error });
    }
    if (validNames.size < 1000) validNames.add(delivery.name);
  }
  const facts = delivery.messageId === undefined ? { name: delivery.name } : { name: delivery.name, id: delivery.messageId };
  if (serializer !== jsonSerializer) {
    // A serializer of the application's own: what it decodes must still agree with the transport.
    let decoded: Envelope;
    try {
      decoded = serializer.decode(raw);
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError((error as Error)?.message ?? String(error), raw, { cause: error });
    }
    return envelopeFromTransport(decoded, raw, facts);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new DecodeError(`not JSON (${(error as Error).message})`, raw, { cause: error });
  }
  return envelopeFromTransport(parsed, raw, facts);
}
