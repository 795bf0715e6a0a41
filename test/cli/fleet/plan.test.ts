/**
 * The fleet plan's brokers: one (replication factor 1, as before) or three (consecutive
 * client ports, controllers after them, replication factor 3); every broker is in the
 * bootstrap list the services get, unless a fleet listener (a fault proxy) is set.
 */
import { resolve } from 'node:path';
import { IntakeError } from '../../../lib/errors';
import {
  kafkaBrokers,
  kafkaNodes,
  makePlan,
  replicationFactor,
  serviceKafkaBrokers,
} from '../../../services/cli/fleet/plan';
import type { FleetPlan } from '../../../services/cli/fleet/plan';

const root = resolve(__dirname, '..', '..', '..');
const env = { INTAKE_KAFKA_PORT: '19500', INTAKE_STATE_DIR: '/tmp/x' };

describe('fleet plan: brokers', () => {
  it('has one broker named kafka by default, its controller on the next port, RF 1', () => {
    const plan = makePlan(root, {}, env);
    expect(plan.brokers).toBe(1);
    expect(kafkaNodes(plan)).toEqual([
      { id: 1, name: 'kafka', port: 19500, controllerPort: 19501 },
    ]);
    expect(kafkaBrokers(plan)).toBe('127.0.0.1:19500');
    expect(replicationFactor(plan)).toBe(1);
  });

  it('runs three brokers on consecutive ports, controllers after them, RF 3', () => {
    for (const plan of [
      makePlan(root, { brokers: 3 }, env),
      makePlan(root, {}, { ...env, INTAKE_BROKERS: '3' }),
    ]) {
      expect(kafkaNodes(plan)).toEqual([
        { id: 1, name: 'kafka-1', port: 19500, controllerPort: 19503 },
        { id: 2, name: 'kafka-2', port: 19501, controllerPort: 19504 },
        { id: 3, name: 'kafka-3', port: 19502, controllerPort: 19505 },
      ]);
      expect(kafkaBrokers(plan)).toBe('127.0.0.1:19500,127.0.0.1:19501,127.0.0.1:19502');
      expect(replicationFactor(plan)).toBe(3);
    }
  });

  it('refuses two brokers (no safe min.insync.replicas for them)', () => {
    expect(() => makePlan(root, {}, { ...env, INTAKE_BROKERS: '2' })).toThrow(/INTAKE_BROKERS/);
  });

  it('reads a plan recorded before the broker count existed as one broker', () => {
    const old = { ...makePlan(root, {}, env), brokers: undefined } as unknown as FleetPlan;
    expect(kafkaNodes(old).map((n) => n.name)).toEqual(['kafka']);
    expect(replicationFactor(old)).toBe(1);
  });
});

describe('fleet plan: where the services reach Kafka', () => {
  it('by default edges, workers and tools all use the broker port', () => {
    const plan = makePlan('/r', {}, { INTAKE_KAFKA_PORT: '19092' });
    expect(plan.kafkaFleetPort).toBeUndefined();
    expect(serviceKafkaBrokers(plan)).toBe('127.0.0.1:19092');
    expect(kafkaBrokers(plan)).toBe('127.0.0.1:19092');
  });

  it('with INTAKE_KAFKA_FLEET_PORT the services bootstrap there, tools keep the direct port', () => {
    const plan = makePlan(
      '/r',
      {},
      { INTAKE_KAFKA_PORT: '19092', INTAKE_KAFKA_FLEET_PORT: '19095' },
    );
    expect(serviceKafkaBrokers(plan)).toBe('127.0.0.1:19095');
    expect(kafkaBrokers(plan)).toBe('127.0.0.1:19092');
  });

  it('refuses INTAKE_KAFKA_FLEET_PORT with three brokers (its listener is the third broker port)', () => {
    const fleetPort = { ...env, INTAKE_KAFKA_FLEET_PORT: '19595' };
    for (const make of [
      () => makePlan(root, { brokers: 3 }, fleetPort),
      () => makePlan(root, {}, { ...fleetPort, INTAKE_BROKERS: '3' }),
    ]) {
      expect(make).toThrow(IntakeError);
      expect(make).toThrow(
        /INTAKE_KAFKA_FLEET_PORT.*19502.*Use one broker.*unset INTAKE_KAFKA_FLEET_PORT/,
      );
    }
    expect(makePlan(root, { brokers: 1 }, fleetPort).kafkaFleetPort).toBe(19595);
  });

  it('refuses a port out of range', () => {
    expect(() => makePlan('/r', {}, { INTAKE_KAFKA_FLEET_PORT: '70000' })).toThrow(
      /INTAKE_KAFKA_FLEET_PORT/,
    );
  });
});

describe('fleet plan: the workers message logging', () => {
  it('gives every worker INTAKE_LOGGING: sbml by default, hml from --logging or the environment', () => {
    expect(makePlan(root, {}, env).serviceEnv.INTAKE_LOGGING).toBe('sbml');
    expect(makePlan(root, { logging: 'hml' }, env).serviceEnv.INTAKE_LOGGING).toBe('hml');
    expect(makePlan(root, {}, { ...env, INTAKE_LOGGING: 'hml' }).serviceEnv.INTAKE_LOGGING).toBe(
      'hml',
    );
    expect(() => makePlan(root, {}, { ...env, INTAKE_LOGGING: 'rbml' })).toThrow(/INTAKE_LOGGING/);
  });
});

describe("fleet plan: each worker's Kafka client", () => {
  it('by default sets none: every worker reads INTAKE_KAFKA_CLIENT like every service', () => {
    expect(makePlan(root, { workers: 2 }, env).workers.map((w) => w.env)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('INTAKE_WORKER_KAFKA_CLIENTS gives worker i item i, cycling', () => {
    const plan = makePlan(
      root,
      { workers: 3 },
      { ...env, INTAKE_WORKER_KAFKA_CLIENTS: 'kafkajs,platformatic' },
    );
    expect(plan.workers.map((w) => [w.name, w.env?.INTAKE_KAFKA_CLIENT])).toEqual([
      ['worker-1', 'kafkajs'],
      ['worker-2', 'platformatic'],
      ['worker-3', 'kafkajs'],
    ]);
  });

  it('INTAKE_WORKER_PROCESSING_THREADS beside the clients: each list cycles on its own', () => {
    const plan = makePlan(
      root,
      { workers: 3 },
      {
        ...env,
        INTAKE_WORKER_KAFKA_CLIENTS: 'platformatic',
        INTAKE_WORKER_PROCESSING_THREADS: 'off,on',
      },
    );
    expect(plan.workers.map((w) => w.env)).toEqual([
      { INTAKE_KAFKA_CLIENT: 'platformatic', INTAKE_WORKER_PROCESSING_THREAD: 'off' },
      { INTAKE_KAFKA_CLIENT: 'platformatic', INTAKE_WORKER_PROCESSING_THREAD: 'on' },
      { INTAKE_KAFKA_CLIENT: 'platformatic', INTAKE_WORKER_PROCESSING_THREAD: 'off' },
    ]);
    expect(() =>
      makePlan(root, {}, { ...env, INTAKE_WORKER_PROCESSING_THREADS: 'on,auto' }),
    ).toThrow(/INTAKE_WORKER_PROCESSING_THREADS lists auto: each must be one of off, on/);
  });

  it('refuses a client it does not know', () => {
    expect(() =>
      makePlan(root, {}, { ...env, INTAKE_WORKER_KAFKA_CLIENTS: 'kafkajs,rdkafka' }),
    ).toThrow(/INTAKE_WORKER_KAFKA_CLIENTS lists rdkafka/);
  });
});
