/**
 * What the tests that drive Docker through testcontainers share: the container stage
 * (test/containers/) and the integration suite's broker in a container
 * (INTAKE_TEST_BROKER=container, broker-setup.ts).
 *
 * Ryuk, testcontainers' reaper (a container that removes a test run's containers when the
 * run's process dies), is off unless TESTCONTAINERS_RYUK_DISABLED says otherwise: its
 * image (testcontainers/ryuk) comes from Docker Hub, which machines without a registry
 * cannot pull, and every other image here is built locally. Nothing depends on it: each
 * test tears its containers down through the library, and a run that died before doing so
 * leaves containers under a fixed name, which the next run removes before it starts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import type { DockerComposeEnvironment } from 'testcontainers';
import { ROOT } from './test-env';

type ComposeExecutableOptions = NonNullable<
  Parameters<DockerComposeEnvironment['withClientOptions']>[0]['executable']
>;

/** Call before the first testcontainers call that starts something. */
export function withoutRyukUnlessAsked(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
}

/** The tag of the locally built images (infra/images/build.sh): the package version. */
export function imageTag(): string {
  if (process.env.INTAKE_IMAGE_TAG) return process.env.INTAKE_IMAGE_TAG;
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** Whether the engine has this image (testcontainers would try to pull a missing one). */
export async function hasImage(image: string): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  try {
    await client.container.dockerode.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
}

/**
 * Compose v2 (`docker compose`) where its plugin is installed, else the standalone
 * `docker-compose` (v1.29 is what Debian 12 ships; scripts/test-containers.sh installs it).
 */
export function composeExecutable(): ComposeExecutableOptions | undefined {
  const v2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  return v2 ? undefined : { standalone: true };
}

/** The name testcontainers gives a compose container: `edge-1` (v2), `<project>_edge_1` (v1). */
export function composeContainerName(project: string, service: string, index = 1): string {
  return composeExecutable() ? `${project}_${service}_${index}` : `${service}-${index}`;
}
