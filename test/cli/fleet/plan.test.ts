import { kafkaBrokers, makePlan, serviceKafkaBrokers } from '../../../services/cli/fleet/plan';

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

  it('refuses a port out of range', () => {
    expect(() => makePlan('/r', {}, { INTAKE_KAFKA_FLEET_PORT: '70000' })).toThrow(
      /INTAKE_KAFKA_FLEET_PORT/,
    );
  });
});
