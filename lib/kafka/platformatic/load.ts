/**
 * Loads @platformatic/kafka on first use, so a service on kafkajs does not carry it.
 * NOTE: the package is ESM only; Node >= 20.19 loads it with require() (jest transforms it
 * to CommonJS: jest.config.js).
 */
import { createRequire } from 'node:module';
import type * as PlatformaticModule from '@platformatic/kafka' with { 'resolution-mode': 'import' };

export type { PlatformaticModule as Platformatic };

let loaded: typeof PlatformaticModule | null = null;

export const platformatic = (): typeof PlatformaticModule =>
  (loaded ??= createRequire(__filename)('@platformatic/kafka') as typeof PlatformaticModule);
