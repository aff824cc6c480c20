import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A protocol-level fake server on 127.0.0.1 (random port) for tests of services that have no real
 * counterpart here (e.g. S3 archive classes and RestoreObject): subclasses answer requests with
 * the documented responses in `handle`, given the whole request body.
 */
export abstract class LocalHttpFake {
  server!: Server;
  url = '';

  protected abstract handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
