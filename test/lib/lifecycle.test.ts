/**
 * lib/lifecycle.ts: the signal handling every service's main.ts relies on for its
 * shutdown order. Signals are emitted on this process; `process.exit` is replaced by a spy.
 */
import { exitOnStartupFailure, handleShutdownSignals, sleep } from '../../lib/lifecycle';
import { silentLogger } from '../support/fakes';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
let before: Map<string, unknown[]>;
let exit: jest.SpyInstance;

beforeEach(() => {
  before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as () => never);
  // A shutdown left pending must not fire its force timer (the real exit) after the test.
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
});

afterEach(() => {
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
    }
  }
  jest.clearAllTimers();
  jest.useRealTimers();
  exit.mockRestore();
});

/** Lets the shutdown promise's callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('handleShutdownSignals', () => {
  it.each(SIGNALS)('%s runs the shutdown with the signal, then exits 0', async (signal) => {
    const shutdown = jest.fn(() => Promise.resolve());
    handleShutdownSignals(silentLogger(), shutdown);
    process.emit(signal, signal);
    expect(shutdown).toHaveBeenCalledWith(signal);
    expect(exit).not.toHaveBeenCalled();
    await settle();
    expect(exit).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('does not exit before the shutdown has finished', async () => {
    let finish!: () => void;
    handleShutdownSignals(silentLogger(), () => new Promise<void>((resolve) => (finish = resolve)));
    process.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(exit).not.toHaveBeenCalled();
    finish();
    await settle();
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('exits 1 when the shutdown fails', async () => {
    handleShutdownSignals(silentLogger(), () => Promise.reject(new Error('flush failed')));
    process.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(exit).toHaveBeenCalledWith(1);
    expect(exit).not.toHaveBeenCalledWith(0);
  });

  it('a second signal exits at once with 1 and does not run the shutdown again', async () => {
    const shutdown = jest.fn(() => new Promise<void>(() => undefined));
    handleShutdownSignals(silentLogger(), shutdown);
    process.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(exit).not.toHaveBeenCalled();
    // The real process.exit never returns: neither may this one.
    exit.mockImplementation((code?: number) => {
      throw new Error(`exit ${code}`);
    });
    expect(() => process.emit('SIGINT', 'SIGINT')).toThrow('exit 1');
    expect(shutdown).toHaveBeenCalledTimes(1);
  });

  it('a shutdown stuck past forceAfterMs exits 1; not before', () => {
    handleShutdownSignals(silentLogger(), () => new Promise<void>(() => undefined), 5000);
    process.emit('SIGTERM', 'SIGTERM');
    jest.advanceTimersByTime(4999);
    expect(exit).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(exit).toHaveBeenCalledWith(1);
  });
});

describe('exitOnStartupFailure', () => {
  it('logs the error as fatal and exits 1', () => {
    const logger = silentLogger();
    const fatal = jest.spyOn(logger, 'fatal');
    const err = new Error('INTAKE_EDGE_PORT is not an integer');
    exitOnStartupFailure(logger, err);
    expect(fatal).toHaveBeenCalledWith({ err }, 'startup_failed');
    expect(exit).toHaveBeenCalledWith(1);
  });
});

describe('sleep', () => {
  it('resolves once its time has passed, not before', async () => {
    let done = false;
    const slept = sleep(1000).then(() => (done = true));
    jest.advanceTimersByTime(999);
    await Promise.resolve();
    expect(done).toBe(false);
    jest.advanceTimersByTime(1);
    await slept;
    expect(done).toBe(true);
  });
});
