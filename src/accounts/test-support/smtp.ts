import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on loopback that keeps every mail it receives, parsed. */
export interface ReceivedMail {
  to: string[];
  subject: string;
  text: string;
  /** Header fields by lower-case name (the first of each), as received. */
  headers: Map<string, string>;
}

export interface MailCatcher {
  url: string;
  mails: ReceivedMail[];
  /** Resolves with the first mail (received or to come) that matches, after `since` mails. */
  waitFor(match: (m: ReceivedMail) => boolean, options?: { timeoutMs?: number }): Promise<ReceivedMail>;
  /** Mails to this address. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export async function startMailCatcher(): Promise<MailCatcher> {
  const mails: ReceivedMail[] = [];
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
          const headers = new Map<string, string>();
          for (const h of parsed.headerLines) if (!headers.has(h.key)) headers.set(h.key, h.line.slice(h.line.indexOf(':') + 1).replace(/\r?\n(?=[ \t])/g, '').trim());
          mails.push({ to, subject: parsed.subject ?? '', text: parsed.text ?? '', headers });
          for (const w of waiters.splice(0)) w();
          callback();
        })
        .catch((e: Error) => callback(e));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    to: (address) => mails.filter((m) => m.to.includes(address.toLowerCase())),
    async waitFor(match, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      for (;;) {
        const found = mails.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching mail within the timeout; received: ${mails.map((m) => `${m.to.join(',')}: ${m.subject}`).join(' | ')}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token of the first portal link (`/#/verifier?token=…`, `/#/reinitialiser?token=…`) of a mail. */
export function tokenOf(mail: ReceivedMail, route: 'verifier' | 'reinitialiser'): string {
  const m = new RegExp(`/#/${route}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!m?.[1]) throw new Error(`no ${route} link in: ${mail.text}`);
  return m[1];
}
