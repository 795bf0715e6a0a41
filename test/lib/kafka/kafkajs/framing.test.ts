/**
 * kafkajs' response framing, mended (lib/kafka/kafkajs/framing.ts): a kafkajs `Connection`
 * against a fake broker on 127.0.0.1 that answers what each test makes it answer.
 * Without the mend the first test ends the process the way it ended an edge (a frame of
 * size 0 read from the old response's head and the new one's body, thrown from the
 * socket's data handler), and the second leaves that throw uncaught.
 */
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { mendKafkajsFraming } from '../../../../lib/kafka/kafkajs/framing';

const kafkajsRequire = createRequire(require.resolve('kafkajs'));

interface Connection {
  connect(): Promise<boolean>;
  disconnect(): Promise<boolean>;
  send(protocol: unknown): Promise<{ errorCode: number; apiVersions: unknown[] }>;
}
type ConnectionClass = new (options: Record<string, unknown>) => Connection;

const Connection = kafkajsRequire('./src/network/connection') as ConnectionClass;
const { createLogger } = kafkajsRequire('./src/loggers') as {
  createLogger: (o: { level: number; logCreator: () => () => void }) => unknown;
};
const socketFactory = (kafkajsRequire('./src/network/socketFactory') as () => unknown)();
const apiVersions = kafkajsRequire('./src/protocol/requests/apiVersions') as {
  protocol: (o: { version: number }) => () => unknown;
};

/** An ApiVersions v0 answer: error code 0, no versions. */
function answer(correlationId: number): Buffer {
  const frame = Buffer.alloc(4 + 4 + 2 + 4);
  frame.writeInt32BE(frame.length - 4, 0);
  frame.writeInt32BE(correlationId, 4);
  return frame;
}

/** The correlation id of a request frame (size, api key, api version, correlation id). */
const correlationOf = (request: Buffer): number => request.readInt32BE(8);

describe('kafkajs response framing, mended', () => {
  let server: Server;
  let port: number;
  /** What the fake broker does with the n-th connection's request. */
  let onRequest: (socket: Socket, request: Buffer, connection: number) => void;

  beforeAll(async () => {
    mendKafkajsFraming();
    let connections = 0;
    server = createServer((socket) => {
      const n = connections++;
      socket.on('data', (request) => onRequest(socket, request, n));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const connection = (): Connection =>
    new Connection({
      host: '127.0.0.1',
      port,
      logger: createLogger({ level: 0, logCreator: () => () => undefined }),
      socketFactory,
      requestTimeout: 5000,
      connectionTimeout: 2000,
    });
  const request = (c: Connection) => c.send(apiVersions.protocol({ version: 0 })());

  it('reads a new socket from its first byte when the last one was reset mid-response', async () => {
    onRequest = (socket, req, n) => {
      const reply = answer(correlationOf(req));
      if (n > 0) {
        socket.write(reply);
        return;
      }
      // The first connection: the head of the answer, then a reset.
      socket.write(reply.subarray(0, 10), () => socket.resetAndDestroy());
    };
    const c = connection();
    await c.connect();
    await expect(request(c)).rejects.toThrow(/Connection|ECONNRESET|Closed/);
    await c.connect();
    await expect(request(c)).resolves.toMatchObject({ errorCode: 0, apiVersions: [] });
    await c.disconnect();
  });

  it('ends the connection, not the process, on a frame that does not decode', async () => {
    onRequest = (socket) => socket.write(Buffer.from([0, 0, 0, 0])); // a frame of size 0
    const c = connection();
    await c.connect();
    await expect(request(c)).rejects.toThrow(/does not decode/);
    await c.disconnect();
  });
});
