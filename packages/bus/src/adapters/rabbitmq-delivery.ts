/** One RabbitMQ message handed to the bus, as a class: no closures are built per message. */
import type { BusDelivery } from '@events/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import { redeliveriesOf } from './rabbitmq-topology.js';

/** Where a delivery came from: the consumer's state, the channel that delivered it, the message. */
export interface DeliverySource<C> {
  readonly c: C;
  readonly ch: Channel;
  readonly msg: ConsumeMessage;
}

/** What a delivery needs from the adapter that received it. */
export interface DeliverySettler<C> {
  ack(ch: Channel, msg: ConsumeMessage): void;
  deadLetter(source: DeliverySource<C>, reason: string): Promise<void>;
}

const done = Promise.resolve();

export class RabbitDelivery<C> implements BusDelivery {
  readonly name: string;
  readonly messageId: string | undefined;
  readonly data: Buffer;
  readonly redeliveries: number;

  constructor(
    private readonly settler: DeliverySettler<C>,
    private readonly source: DeliverySource<C>,
  ) {
    this.name = source.msg.fields.routingKey;
    // amqplib leaves an absent property undefined; anything else a foreign client set is kept as a string only.
    const id: unknown = source.msg.properties.messageId;
    this.messageId = typeof id === 'string' && id.length > 0 ? id : undefined;
    this.data = source.msg.content;
    this.redeliveries = redeliveriesOf(source.msg);
  }

  ack(): Promise<void> {
    try {
      this.settler.ack(this.source.ch, this.source.msg);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return done;
  }

  deadLetter(reason: string): Promise<void> {
    return this.settler.deadLetter(this.source, reason);
  }
}
