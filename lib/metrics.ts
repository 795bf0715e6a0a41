/**
 * One Prometheus registry per process (prom-client), with Node's default metrics and a
 * `service` label, served at `/metrics`. Components register their own metrics on it.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

export function createRegistry(service: string, instance: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, instance });
  collectDefaultMetrics({ register: registry });
  return registry;
}
