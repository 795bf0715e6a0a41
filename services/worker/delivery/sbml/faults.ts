/**
 * Fault injections of the SBML flow, for the fault-injection tests (`INTAKE_FAULT`); each is
 * off unless its value is set.
 */
import { sleep } from '../../../../lib/lifecycle';
import type { Logger } from '../../../../lib/logger';
import type { SendPort } from './sender';

/**
 * `INTAKE_FAULT=crash-after-log-sync`: the worker kills itself (SIGKILL) right after its
 * first durable append, before committing or sending: the fault-injection tests use it to
 * prove that a restart resends what the log holds.
 */
export function faultAfterLogSync(logger: Logger): (() => void) | undefined {
  if (process.env.INTAKE_FAULT !== 'crash-after-log-sync') return undefined;
  return () => {
    logger.warn({ fault: 'crash-after-log-sync' }, 'fault_injected_killing_self');
    logger.flush();
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * `INTAKE_FAULT=delay-sends:<ms>`: every downstream send of the outbound log waits that
 * long first, so records stay in the log after their input was committed: the tests use
 * it to hand partitions over while a worker still has records in flight.
 */
export function faultDelaySends(producer: SendPort, logger: Logger): SendPort {
  const match = /^delay-sends:(\d+)$/.exec(process.env.INTAKE_FAULT ?? '');
  if (!match) return producer;
  const ms = Number(match[1]);
  logger.warn({ fault: 'delay-sends', ms }, 'fault_injected_delaying_sends');
  return {
    sendBatch: async (batch) => {
      await sleep(ms);
      return producer.sendBatch(batch);
    },
    reset: () => producer.reset(),
  };
}
