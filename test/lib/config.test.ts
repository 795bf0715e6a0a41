import { EnvReader, TOPIC_ENV, readKafkaConfig } from '../../lib/config';
import { IntakeError } from '../../lib/errors';
import { loadEdgeConfig } from '../../services/edge/config';

describe('EnvReader', () => {
  it('reads typed values and falls back to defaults', () => {
    const r = new EnvReader({ A: '5', B: 'true', C: 'x, y,,z' });
    expect(r.int('A', 1)).toBe(5);
    expect(r.bool('B', false)).toBe(true);
    expect(r.list('C', [])).toEqual(['x', 'y', 'z']);
    expect(r.str('MISSING', 'd')).toBe('d');
    expect(() => r.done()).not.toThrow();
  });

  it('fails fast naming every bad variable', () => {
    const env = { INTAKE_EDGE_PORT: 'eighty', INTAKE_MAX_BODY_BYTES: '-1' };
    let error: unknown;
    try {
      loadEdgeConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IntakeError);
    expect((error as IntakeError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(/INTAKE_EDGE_PORT="eighty"/);
    expect((error as Error).message).toMatch(/INTAKE_MAX_BODY_BYTES="-1"/);
  });
});

describe('TOPIC_ENV', () => {
  it('names the variable readKafkaConfig reads for every topic', () => {
    const roles = Object.keys(TOPIC_ENV) as (keyof typeof TOPIC_ENV)[];
    const env = Object.fromEntries(roles.map((role) => [TOPIC_ENV[role], `topic-${role}`]));
    const { topics } = readKafkaConfig(new EnvReader(env), 'test');
    expect(topics).toEqual(Object.fromEntries(roles.map((role) => [role, `topic-${role}`])));
  });
});
