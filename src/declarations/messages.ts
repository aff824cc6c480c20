import type { MailMessage } from '../notify/mailer.js';
import type { Status } from './model.js';

/**
 * The declarations capability's e-mails: French first, then English, in the same message (as the
 * accounts capability's). Texts written by users are quoted as plain text (mails are text/plain).
 */
type Mail = Omit<MailMessage, 'to'>;

const SEPARATOR = '\n\n— English version below —\n\n';

export const STATUS_FR: Record<Status, string> = {
  submitted: 'soumise',
  acknowledged: 'prise en compte',
  'in-progress': 'en cours de traitement',
  resolved: 'résolue',
  rejected: 'rejetée',
  duplicate: 'doublon',
};

function bilingual(subjectFr: string, subjectEn: string, fr: string, en: string): Mail {
  return { subject: `${subjectFr} / ${subjectEn}`, text: `${fr.trim()}${SEPARATOR}${en.trim()}\n` };
}

const quote = (text: string) => text.split('\n').map((l) => `> ${l}`).join('\n');

export const DECLARATION_MESSAGES = {
  statusChanged: (p: { name: string; id: number; title: string; to: Status; by: string; reason: string | null; link: string }): Mail =>
    bilingual(
      `PCRS : déclaration n° ${p.id} ${STATUS_FR[p.to]}`,
      `PCRS: declaration #${p.id} ${p.to}`,
      `Bonjour ${p.name},\n\nVotre déclaration n° ${p.id} « ${p.title} » est maintenant : ${STATUS_FR[p.to]} (par ${p.by}).${p.reason ? `\n\nMotif :\n${quote(p.reason)}` : ''}\n\nPour la suivre : ${p.link}`,
      `Hello ${p.name},\n\nYour declaration #${p.id} "${p.title}" is now: ${p.to} (by ${p.by}).${p.reason ? `\n\nReason:\n${quote(p.reason)}` : ''}\n\nTo follow it: ${p.link}`,
    ),

  commented: (p: { name: string; id: number; title: string; by: string; text: string; link: string }): Mail =>
    bilingual(
      `PCRS : nouveau commentaire sur la déclaration n° ${p.id}`,
      `PCRS: new comment on declaration #${p.id}`,
      `Bonjour ${p.name},\n\n${p.by} a commenté votre déclaration n° ${p.id} « ${p.title} » :\n\n${quote(p.text)}\n\nPour la suivre : ${p.link}`,
      `Hello ${p.name},\n\n${p.by} commented on your declaration #${p.id} "${p.title}":\n\n${quote(p.text)}\n\nTo follow it: ${p.link}`,
    ),
};
