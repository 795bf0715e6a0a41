/**
 * Validates an event's `data` against the JSON Schema of its `type`. Schemas are the
 * `<type>.schema.json` files of one folder, compiled once at start with ajv. An event
 * whose data does not match goes to the DLQ with the failing path and message; an event
 * of a type without a schema passes or goes to the DLQ, as configured.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { dlq, ok } from '../../../../lib/pipeline';
import type { Step } from '../../../../lib/pipeline';

export type SchemaSet = ReadonlyMap<string, ValidateFunction>;

const SUFFIX = '.schema.json';
const MAX_REASON = 300;

/** Compiles every `<type>.schema.json` of `dir`; throws naming the file of a bad schema. */
export function loadSchemas(dir: string): SchemaSet {
  const ajv = new Ajv({ allErrors: false, strict: true });
  const schemas = new Map<string, ValidateFunction>();
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(SUFFIX))
    .sort()) {
    try {
      schemas.set(
        file.slice(0, -SUFFIX.length),
        ajv.compile(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object),
      );
    } catch (err) {
      throw new Error(`schema ${join(dir, file)} is invalid: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return schemas;
}

export function validateStep(deps: { schemas: SchemaSet; unknownTypes: 'pass' | 'dlq' }): Step {
  return {
    name: 'validate',
    adds: [], // reads the event only (no defaults, no coercion)
    run(event) {
      const validate = deps.schemas.get(event.type);
      if (!validate) {
        return deps.unknownTypes === 'pass'
          ? ok(event)
          : dlq(`no schema for event type "${event.type.slice(0, 128)}"`);
      }
      if (validate(event.data)) return ok(event);
      const first = validate.errors?.[0];
      const where = first?.instancePath || '/';
      return dlq(
        `schema ${event.type}: data${where} ${first?.message ?? 'is invalid'}`.slice(0, MAX_REASON),
      );
    },
  };
}
