/**
 * Worker thread of a GML validation or import (see gml-worker.ts): validates the file and, for an
 * import, posts the rows as batches (COPY text is transferred, not copied) and waits for the
 * calling thread's acknowledgements so that at most `WORKER_BATCHES_AHEAD` batches wait in memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../util/errors.js';
import { parseGmlForImport, WORKER_BATCHES_AHEAD, type WorkerMessage, type WorkerRequest } from './gml-worker.js';
import { validateGmlFile } from './gml/validate.js';
import type { FeatureBatch } from './store.js';

const port = parentPort;
if (!port) throw new Error('gml-worker-thread.js runs as a worker thread');
const request = workerData as WorkerRequest;

let credits = WORKER_BATCHES_AHEAD;
let wake: (() => void) | null = null;
port.on('message', () => {
  credits++;
  wake?.();
  wake = null;
});

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function send(batch: FeatureBatch): Promise<void> {
  while (credits === 0) await new Promise<void>((r) => (wake = r));
  credits--;
  post({ type: 'batch', batch }, batch.kind === 'copy' ? [batch.data.buffer as ArrayBuffer] : []);
}

try {
  if (request.mode === 'validate') post({ type: 'validated', report: await validateGmlFile(request.file, request.options) });
  else post({ type: 'done', result: await parseGmlForImport(request.file, request.options, send) });
} catch (e) {
  const error = e instanceof Error ? e : new Error(String(e));
  post({
    type: 'error',
    error: {
      message: error.message,
      ...(isUserError(e) ? { userError: { code: e.code, status: e.status, exitCode: e.exitCode, ...(e.hint ? { hint: e.hint } : {}) } } : {}),
    },
  });
}
port.unref();
