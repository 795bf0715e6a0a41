/**
 * Response framing of kafkajs' connections, mended (kafkajs 2.2.4; tulios/kafkajs#715 is
 * open). A `Connection` keeps the bytes of a response not yet whole in `chunks` and reads
 * the next bytes after them, across reconnects: a connection reset in the middle of a
 * response leaves its head there, and the first response of the next socket is read as
 * its tail. The stream is then out of step: "Response without match", then a frame size
 * that does not decode, thrown from the socket's `data` handler, which no caller can catch:
 * the process ends (seen on an edge under Kafka connection resets).
 *
 * Mended here, for every connection of the process, once:
 * - a new socket starts with empty framing state;
 * - a frame that does not decode all the same ends the connection (its requests fail with
 *   kafkajs' retriable connection error, as on a reset), never the process.
 */
import { mendOnce } from './internal';

/** The part of kafkajs' (untyped, internal) `Connection` this mend touches. */
interface FramedConnection {
  chunks: Buffer[];
  bytesBuffered: number;
  bytesNeeded: number;
  socket?: { destroy(error?: Error): void } | null;
  isConnected(): boolean;
  connect: (this: FramedConnection) => Promise<boolean>;
  processData: (this: FramedConnection, data: Buffer) => unknown;
}

const FRAME_SIZE_BYTES = 4;

export function mendKafkajsFraming(): void {
  mendOnce('network/connection', mendConnection);
}

function mendConnection(Connection: { prototype: FramedConnection }): void {
  const { connect, processData } = Connection.prototype;
  Connection.prototype.connect = function (this: FramedConnection) {
    if (!this.isConnected()) resetFraming(this);
    return connect.call(this);
  };
  Connection.prototype.processData = function (this: FramedConnection, data: Buffer) {
    try {
      return processData.call(this, data);
    } catch (err) {
      resetFraming(this);
      const error = err instanceof Error ? err : new Error(String(err));
      this.socket?.destroy(new Error(`Kafka response does not decode: ${error.message}`));
      return undefined;
    }
  };
}

function resetFraming(connection: FramedConnection): void {
  connection.chunks = [];
  connection.bytesBuffered = 0;
  connection.bytesNeeded = FRAME_SIZE_BYTES;
}
