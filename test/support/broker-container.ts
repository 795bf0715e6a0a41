/**
 * INTAKE_TEST_BROKER=container: the integration suite's broker as a container of the
 * locally built Kafka image (intake/kafka, infra/images/build.sh) instead of the
 * Maven-jar broker of infra/kafka/kafka.sh, for a machine with a Docker engine. It takes
 * the jar broker's place exactly: the same address (127.0.0.1:TEST_BROKER.port, published
 * from the container under the same port number, so the broker can advertise it), fresh
 * data on every start, 3 partitions per topic. testcontainers publishes the port on every
 * interface of the host (it has no host-address option); Docker's `"ip": "127.0.0.1"`
 * daemon setting narrows that.
 */
import { basename } from 'node:path';
import {
  BoundPorts,
  GenericContainer,
  Wait,
  getContainerRuntimeClient,
  waitForContainer,
} from 'testcontainers';
import type { StartedTestContainer } from 'testcontainers';
import { hasImage, imageTag, withoutRyukUnlessAsked } from './containers';
import { TEST_BROKER } from './test-env';

/** A fixed name: a leftover of a run that died is found and removed by the next one. */
const NAME = `intake-${basename(TEST_BROKER.stateDir)}`;

/** globalSetup and globalTeardown share the process's globals (and nothing else). */
const started = globalThis as { intakeTestBroker?: StartedTestContainer };

export const brokerInContainer = (): boolean => process.env.INTAKE_TEST_BROKER === 'container';

async function removeLeftover(): Promise<void> {
  const client = await getContainerRuntimeClient();
  try {
    await client.container.dockerode.getContainer(NAME).remove({ force: true, v: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

export async function startBrokerContainer(): Promise<void> {
  withoutRyukUnlessAsked();
  const image = `intake/kafka:${imageTag()}`;
  if (!(await hasImage(image))) {
    throw new Error(
      `INTAKE_TEST_BROKER=container needs the image ${image}: build it with infra/images/build.sh (after infra/images/build-base.sh where no registry is reachable)`,
    );
  }
  await removeLeftover();
  const port = TEST_BROKER.port;
  started.intakeTestBroker = await new GenericContainer(image)
    .withName(NAME)
    .withEnvironment({
      KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:9092,EXTERNAL://0.0.0.0:${port},CONTROLLER://127.0.0.1:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:9092,EXTERNAL://127.0.0.1:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
        'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_NUM_PARTITIONS: '3',
      // The rest of infra/kafka/server.properties.tmpl that the image's defaults lack.
      KAFKA_CFG_UNCLEAN_LEADER_ELECTION_ENABLE: 'false',
      KAFKA_CFG_BROKER_SESSION_TIMEOUT_MS: '6000',
      KAFKA_CFG_BROKER_HEARTBEAT_INTERVAL_MS: '1000',
    })
    .withExposedPorts({ container: port, host: port })
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
}

export async function stopBrokerContainer(): Promise<void> {
  const container = started.intakeTestBroker;
  delete started.intakeTestBroker;
  if (container) await container.stop({ remove: true, removeVolumes: true, timeout: 5000 });
  else await removeLeftover();
}

/** Stops the broker's container, keeping its data (a Kafka outage, in a test file). */
export async function pauseBrokerContainer(): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.stop(client.container.getById(NAME), { timeout: 10 });
}

/** Starts it again (when stopped) and waits for its health check. */
export async function resumeBrokerContainer(): Promise<void> {
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(NAME);
  if (!(await client.container.inspect(container)).State.Running)
    await client.container.start(container);
  const wait = Wait.forHealthCheck().withStartupTimeout(120_000);
  await waitForContainer(client, container, wait, new BoundPorts());
}
