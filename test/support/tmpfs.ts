/**
 * A small tmpfs for disk-full tests: mount, fill to the last byte, free, unmount. Mounting
 * needs root (or CAP_SYS_ADMIN); `tmpfsUnavailable()` says why not, so a test can skip
 * loudly instead of passing without testing anything.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Null when a tmpfs can be mounted here, else the reason it cannot. */
export function tmpfsUnavailable(): string | null {
  const probe = mkdtempSync(join(tmpdir(), 'intake-tmpfs-probe-'));
  try {
    mountTmpfs(probe, 1024 * 1024);
    unmount(probe);
    return null;
  } catch (err) {
    return `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

export function mountTmpfs(dir: string, sizeBytes: number): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], {
    stdio: 'pipe',
  });
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'pipe' });
}

export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the filesystem of `dir` to the last block with `file` (fallocate, then dd until
 * ENOSPC for what fallocate left); returns the file's path.
 */
export function fillUp(dir: string, file = 'filler'): string {
  const path = join(dir, file);
  const free = freeBytes(dir);
  if (free > 0) execFileSync('fallocate', ['-l', String(free), path], { stdio: 'pipe' });
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=4096', 'oflag=append', 'conv=notrunc'], {
      stdio: 'pipe',
    });
  } catch {
    // dd ends with ENOSPC: that is the point
  }
  return path;
}
