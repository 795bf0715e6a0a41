/**
 * The components some tests need beyond the fleet: Chromium (browser tests), vegeta (load
 * smoke), a tmpfs (disk-full tests), a Docker engine (containers stage). The project's
 * own scripts install or start each of them; when one is still missing:
 * - outside CI, the tests that need it are skipped, loudly (a developer's machine may lack
 *   root or Go);
 * - under `CI=true` (or `CI=1`) the test file fails with the reason and the command that
 *   installs it: on CI a missing component is a broken install step, and a skip would
 *   hide the very checks the README advertises.
 *
 * `INTAKE_FORCE_INSTALL_FAIL=name[,name...]` (names as in `Component`) makes those
 * components count as missing here, and makes their install steps fail
 * (scripts/install-chromium.sh, scripts/install-vegeta.sh, scripts/test-containers.sh
 * --engine-only, the tmpfs probe): the way to show that a failed install fails a CI run.
 */

export type Component = 'chromium' | 'vegeta' | 'tmpfs' | 'docker';

/** The command (or the step) that installs each component on this machine kind. */
export const INSTALL: Record<Component, string> = {
  chromium: 'bash scripts/install-chromium.sh (as root; it runs apt-get install chromium)',
  vegeta: 'bash scripts/install-vegeta.sh (needs Go; go install from the Go module proxy)',
  tmpfs: 'run the tests as root (mount -t tmpfs needs CAP_SYS_ADMIN)',
  docker:
    'bash scripts/test-containers.sh --engine-only (as root; apt-get install docker.io docker-compose debootstrap, then starts dockerd)',
};

type Env = Record<string, string | undefined>;

/** True on CI: `CI` is `true` or `1` (what CI services set). */
export function isCi(env: Env = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** True when INTAKE_FORCE_INSTALL_FAIL names `component`. */
export function forcedMissing(component: Component, env: Env = process.env): boolean {
  return (env.INTAKE_FORCE_INSTALL_FAIL ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes(component);
}

/** The reason `component` is missing: `reason` (null when present), or the forced failure. */
export function missingReason(
  component: Component,
  reason: string | null,
  env: Env = process.env,
): string | null {
  if (forcedMissing(component, env)) return `INTAKE_FORCE_INSTALL_FAIL names ${component}`;
  return reason;
}

/**
 * Whether the tests called `what` can run: true when `component` is there. When it is
 * missing (`reason` non-null, or forced): under CI throws (the test file fails with the
 * reason and the install command); elsewhere prints a loud SKIPPED line and returns false.
 */
export function requireComponent(
  component: Component,
  reason: string | null,
  what: string,
  env: Env = process.env,
  warn: (line: string) => void = (line) => console.warn(line),
): boolean {
  const missing = missingReason(component, reason, env);
  if (missing === null) return true;
  const detail = `${component} is missing (${missing}); to get it: ${INSTALL[component]}`;
  if (isCi(env)) throw new Error(`${what} cannot run on CI: ${detail}`);
  warn(`######## ${what} SKIPPED: ${detail} ########`);
  return false;
}
