import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { LocalHttpFake } from '../../test-support/http-fake.js';

/** What the receiver does with the next request: answer 2xx, answer 500, hang past the timeout, or reset the connection. */
export type Behaviour = 'ok' | 'fail' | 'hang' | 'reset';

export interface Received {
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  /** What the receiver did with it. */
  answered: Behaviour;
  at: number;
}

/**
 * A webhook receiver on 127.0.0.1 (node:http): keeps every request with its raw body and headers,
 * and answers by a script (`script(...)`: the next requests' behaviours; then `otherwise`).
 */
export class WebhookReceiver extends LocalHttpFake {
  readonly received: Received[] = [];
  private readonly queue: Behaviour[] = [];
  otherwise: Behaviour = 'ok';
  private readonly hanging: ServerResponse[] = [];

  script(...next: Behaviour[]): void {
    this.queue.push(...next);
  }

  protected handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const answered = this.queue.shift() ?? this.otherwise;
    this.received.push({ headers: req.headers, body: body.toString('utf8'), answered, at: Date.now() });
    if (answered === 'ok') res.writeHead(204).end();
    else if (answered === 'fail') res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver down');
    else if (answered === 'reset') req.socket.destroy();
    else this.hanging.push(res);
  }

  /** Resolves once `n` requests arrived (or rejects after `timeoutMs`). */
  async waitFor(n: number, timeoutMs = 20_000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > until) throw new Error(`webhook receiver: ${this.received.length} request(s) after ${timeoutMs} ms, expected ${n}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.received.slice(0, n);
  }

  override async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    await super.stop();
  }
}
