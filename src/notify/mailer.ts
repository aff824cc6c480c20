import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config/config.js';
import type { Logger } from '../context/logger.js';
import { errorMessage } from '../util/errors.js';

/** One e-mail: plain text (French first, English second, by the catalogue of the sender). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** Extra header fields (e.g. List-Unsubscribe); names and values must be plain ASCII. */
  headers?: Record<string, string>;
}

export interface Mailer {
  /**
   * Sends, or writes the .eml file when no SMTP server is configured. Never throws: a mail that
   * cannot be sent is logged (without its text, which may hold a link with a token) and the
   * request that caused it still succeeds — answers must not depend on the mail server.
   */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * nodemailer, configured by one URL (`mail.smtpUrl`, PCRS_SMTP_URL). Without it, each mail is a
 * file `${dataDir}/mail/<time>-<random>.eml` (what a developer opens in a mail client) and a log
 * line naming it.
 */
export function createMailer(config: Pick<Config, 'dataDir' | 'mail'>, log: Logger): Mailer {
  const from = config.mail.from;
  if (config.mail.smtpUrl) {
    const transport = nodemailer.createTransport(config.mail.smtpUrl);
    return {
      async send(message) {
        try {
          await transport.sendMail({ from, ...message });
          log.info({ to: message.to, subject: message.subject }, 'mail sent');
        } catch (e) {
          log.warn({ to: message.to, subject: message.subject, err: errorMessage(e) }, 'mail could not be sent');
        }
      },
      close: () => transport.close(),
    };
  }
  const dir = path.join(config.dataDir, 'mail');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({ from, ...message });
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`);
        writeFileSync(file, info.message as Buffer, { mode: 0o600 });
        log.info({ to: message.to, subject: message.subject, file: path.basename(file) }, 'mail written to the data directory (no SMTP server configured)');
      } catch (e) {
        log.warn({ to: message.to, subject: message.subject, err: errorMessage(e) }, 'mail could not be written');
      }
    },
    close: () => transport.close(),
  };
}
