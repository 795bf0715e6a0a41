/**
 * The component gate of the tests that need Chromium, vegeta, a tmpfs or a Docker engine:
 * present runs; missing skips loudly outside CI and fails under CI=true with the reason
 * and the install command; INTAKE_FORCE_INSTALL_FAIL counts a present component missing.
 */
import { forcedMissing, isCi, requireComponent } from './components';

describe('requireComponent', () => {
  it('runs the tests when the component is there, CI or not', () => {
    const warn = jest.fn();
    expect(requireComponent('chromium', null, 'browser tests', {}, warn)).toBe(true);
    expect(requireComponent('chromium', null, 'browser tests', { CI: 'true' }, warn)).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it('outside CI, skips loudly with the reason and the install command', () => {
    const warn = jest.fn();
    expect(requireComponent('vegeta', 'not installed', 'load smoke', {}, warn)).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    const line = warn.mock.calls[0]![0] as string;
    expect(line).toContain('load smoke SKIPPED');
    expect(line).toContain('not installed');
    expect(line).toContain('scripts/install-vegeta.sh');
  });

  it.each(['true', '1'])('under CI=%s, fails with the reason and the install command', (ci) => {
    const warn = jest.fn();
    expect(() =>
      requireComponent('tmpfs', 'mount: permission denied', 'disk tests', { CI: ci }, warn),
    ).toThrow(/disk tests cannot run on CI: tmpfs is missing \(mount: permission denied\).*root/);
    expect(warn).not.toHaveBeenCalled();
  });

  it('counts a component named in INTAKE_FORCE_INSTALL_FAIL missing, and fails on CI', () => {
    const env = { CI: 'true', INTAKE_FORCE_INSTALL_FAIL: 'vegeta, chromium' };
    expect(() => requireComponent('chromium', null, 'browser tests', env)).toThrow(
      /INTAKE_FORCE_INSTALL_FAIL names chromium.*scripts\/install-chromium\.sh/,
    );
    expect(requireComponent('docker', null, 'containers', env)).toBe(true);
  });

  it('reads CI and the forced list as CI services and the docs set them', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({})).toBe(false);
    expect(forcedMissing('docker', { INTAKE_FORCE_INSTALL_FAIL: 'docker' })).toBe(true);
    expect(forcedMissing('docker', { INTAKE_FORCE_INSTALL_FAIL: 'dockerd' })).toBe(false);
  });
});
