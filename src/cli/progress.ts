/**
 * Progress for long work: a redrawn bar on a terminal, plain lines otherwise (logs, CI), never
 * more than one line every few seconds there.
 */
export interface ProgressReporter {
  update(done: number, total: number | null, message?: string): void;
  finish(message?: string): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, options: { plainIntervalMs?: number } = {}): ProgressReporter {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let lastPlain = 0;
  let lastPercent = -1;
  let lastLine = '';
  const render = (done: number, total: number | null, message?: string): string => {
    const elapsed = (Date.now() - started) / 1000;
    if (total && total > 0) {
      const ratio = Math.min(1, done / total);
      const eta = done > 0 ? (elapsed * (total - done)) / done : NaN;
      const width = 24;
      const filled = Math.round(ratio * width);
      const bar = tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
      return `${label} ${bar}${(ratio * 100).toFixed(0)}% (${done}/${total}) ETA ${formatDuration(eta)}${message ? ` — ${message}` : ''}`;
    }
    return `${label} ${done}${message ? ` — ${message}` : ''} (${formatDuration(elapsed)})`;
  };
  return {
    update(done, total, message) {
      const line = render(done, total, message);
      if (tty) {
        const cols = stream.columns ?? 100;
        stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, lastLine.length))}`);
        lastLine = line;
        return;
      }
      const percent = total ? Math.floor((done / total) * 20) : -1;
      const now = Date.now();
      if (now - lastPlain >= (options.plainIntervalMs ?? 2000) || (percent !== lastPercent && percent >= 0)) {
        stream.write(`${line}\n`);
        lastPlain = now;
        lastPercent = percent;
      }
    },
    finish(message) {
      const text = `${label} done in ${formatDuration((Date.now() - started) / 1000)}${message ? ` — ${message}` : ''}`;
      stream.write(tty ? `\r${text.padEnd(lastLine.length)}\n` : `${text}\n`);
    },
  };
}
