/**
 * What arrives from the transport, read by core's one rule for foreign producers: an envelope is
 * read as one, any other JSON value is a bare payload wrapped in a new envelope, and an envelope
 * whose `name` is not the channel it came on, or whose headers are not all strings, is refused
 * (DecodeError, reported as `decode`). A custom serializer decodes first; the same name and header
 * checks then apply to what it returns.
 */
import { DecodeError, type Envelope, envelopeFromTransport, jsonSerializer, type Serializer } from '@events/core';

export function decodeRemote(serializer: Serializer, data: Buffer, channel: string): Envelope {
  if (serializer === jsonSerializer) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch (err) {
      throw new DecodeError(`not JSON (${(err as Error).message})`, data, { cause: err });
    }
    return envelopeFromTransport(parsed, data, { name: channel });
  }
  return envelopeFromTransport(serializer.decode(data), data, { name: channel });
}
