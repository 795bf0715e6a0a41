/**
 * The admin and producer a test file shares, connected by jest hooks: a module of its own,
 * since kafka-helpers.ts is also built for the benchmarks, which have no jest globals.
 */
import type { Admin, KafkaClient, Producer } from '../../lib/kafka/port';

/** The admin and producer one test file shares (connected only while its tests run). */
export interface FileClients {
  admin: Admin;
  producer: Producer;
}

/**
 * Registers, where it is called (a `describe` body), the hooks that connect an admin and a
 * producer of `kafka` before all of its tests and disconnect them after; read them from
 * the returned object inside the tests.
 */
export function fileClients(kafka: KafkaClient): FileClients {
  const clients = {} as FileClients;
  beforeAll(async () => {
    clients.admin = kafka.admin();
    await clients.admin.connect();
    clients.producer = kafka.producer();
    await clients.producer.connect();
  });
  afterAll(async () => {
    await clients.producer.disconnect();
    await clients.admin.disconnect();
  });
  return clients;
}
