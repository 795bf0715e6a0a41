/** Sending one-way UDP datagrams to the fleet under test (nginx's UDP port). */
import { createSocket } from 'node:dgram';

/** Sends one datagram from a socket of its own (nginx spreads UDP sessions, not datagrams). */
export async function sendDatagram(port: number, payload: string): Promise<void> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(payload, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    socket.close();
  }
}
