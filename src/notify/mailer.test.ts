import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../context/logger.js';
import { createMailer } from './mailer.js';

const MESSAGE = { to: 'agent@cahors.fr', subject: 'Vérifiez votre adresse / Verify your address', text: 'Bonjour,\nhttp://localhost/#/verifier?token=abc\n\nHello,' };

describe('mailer', () => {
  const received: Array<{ from: string; to: string[]; raw: string }> = [];
  let smtp: SMTPServer;
  let port = 0;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => smtp.close(resolve)));

  it('sends through the SMTP server of mail.smtpUrl, UTF-8 subject and text intact', async () => {
    const mailer = createMailer({ dataDir: mkdtempSync(path.join(tmpdir(), 'pcrs-mail-')), mail: { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'PCRS 46 <pcrs@fdel46.fr>' } }, silentLogger());
    await mailer.send(MESSAGE);
    mailer.close();
    expect(received).toHaveLength(1);
    expect(received[0]?.to).toEqual(['agent@cahors.fr']);
    expect(received[0]?.from).toBe('pcrs@fdel46.fr');
    const parsed = await simpleParser(received[0]?.raw ?? '');
    expect(parsed.subject).toBe(MESSAGE.subject);
    expect(parsed.text?.trim()).toBe(MESSAGE.text.trim());
  });

  it('without SMTP, writes one .eml per mail under the data dir', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'pcrs-mail-'));
    const mailer = createMailer({ dataDir, mail: { from: 'PCRS <no-reply@localhost>' } }, silentLogger());
    await mailer.send(MESSAGE);
    await mailer.send({ ...MESSAGE, to: 'other@example.org' });
    const files = readdirSync(path.join(dataDir, 'mail'));
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(2);
    const parsed = await Promise.all(files.map((f) => simpleParser(readFileSync(path.join(dataDir, 'mail', f)))));
    expect(parsed.map((p) => p.subject)).toEqual([MESSAGE.subject, MESSAGE.subject]);
  });

  it('an unreachable SMTP server does not throw (the request that caused the mail still succeeds)', async () => {
    const mailer = createMailer({ dataDir: mkdtempSync(path.join(tmpdir(), 'pcrs-mail-')), mail: { smtpUrl: 'smtp://127.0.0.1:1', from: 'x <x@y.fr>' } }, silentLogger());
    await expect(mailer.send(MESSAGE)).resolves.toBeUndefined();
  });
});
