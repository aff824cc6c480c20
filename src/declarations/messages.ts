import type { MailMessage } from '../notify/mailer.js';
import type { DeclarationType, Status } from './model.js';

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

const TYPE_FR: Record<DeclarationType, string> = {
  error: 'erreur',
  'update-request': 'demande de mise à jour',
  works: 'travaux',
  intervention: 'intervention',
};

function bilingual(subjectFr: string, subjectEn: string, fr: string, en: string): Mail {
  return { subject: `${subjectFr} / ${subjectEn}`, text: `${fr.trim()}${SEPARATOR}${en.trim()}\n` };
}

const quote = (text: string) => text.split('\n').map((l) => `> ${l}`).join('\n');

/** Why this person gets the mail, and the link that stops it. */
export interface Follower {
  /** Display name, or null (an anonymous declarant known by its e-mail address). */
  name: string | null;
  /** The declaration's author (a user), or the anonymous declarant. */
  yours: boolean;
  /** The followed area that contains the declaration, when that is why. */
  area: string | null;
  unsubscribe: string;
}

const hello = (f: Follower, word: string) => (f.name ? `${word} ${f.name},` : `${word},`);
const theFr = (f: Follower, id: number, title: string) => (f.yours ? `Votre déclaration n° ${id} « ${title} »` : `La déclaration n° ${id} « ${title} »`);
const theEn = (f: Follower, id: number, title: string) => (f.yours ? `Your declaration #${id} "${title}"` : `Declaration #${id} "${title}"`);

function footer(f: Follower): { fr: string; en: string } {
  const whyFr = f.area !== null ? `elle concerne la zone « ${f.area} » que vous suivez` : f.yours ? 'vous en êtes l’auteur' : 'vous suivez cette déclaration';
  const whyEn = f.area !== null ? `it lies in the area "${f.area}" you follow` : f.yours ? 'you declared it' : 'you follow this declaration';
  return {
    fr: `\n\n--\nVous recevez ce message car ${whyFr}. Pour ne plus en recevoir : ${f.unsubscribe}`,
    en: `\n\n--\nYou receive this message because ${whyEn}. To stop receiving them: ${f.unsubscribe}`,
  };
}

/** Mails to the followers of a declaration (its author, its subscribers, subscribers of an area containing it). */
export const DECLARATION_MESSAGES = {
  statusChanged: (f: Follower, p: { id: number; title: string; to: Status; by: string; reason: string | null; link: string }): Mail => {
    const end = footer(f);
    return bilingual(
      `PCRS : déclaration n° ${p.id} ${STATUS_FR[p.to]}`,
      `PCRS: declaration #${p.id} ${p.to}`,
      `${hello(f, 'Bonjour')}\n\n${theFr(f, p.id, p.title)} est maintenant : ${STATUS_FR[p.to]} (par ${p.by}).${p.reason ? `\n\nMotif :\n${quote(p.reason)}` : ''}\n\nPour la suivre : ${p.link}${end.fr}`,
      `${hello(f, 'Hello')}\n\n${theEn(f, p.id, p.title)} is now: ${p.to} (by ${p.by}).${p.reason ? `\n\nReason:\n${quote(p.reason)}` : ''}\n\nTo follow it: ${p.link}${end.en}`,
    );
  },

  commented: (f: Follower, p: { id: number; title: string; by: string; text: string; link: string }): Mail => {
    const end = footer(f);
    return bilingual(
      `PCRS : nouveau commentaire sur la déclaration n° ${p.id}`,
      `PCRS: new comment on declaration #${p.id}`,
      `${hello(f, 'Bonjour')}\n\n${p.by} a commenté ${f.yours ? 'votre' : 'la'} déclaration n° ${p.id} « ${p.title} » :\n\n${quote(p.text)}\n\nPour la suivre : ${p.link}${end.fr}`,
      `${hello(f, 'Hello')}\n\n${p.by} commented on ${f.yours ? 'your ' : ''}declaration #${p.id} "${p.title}":\n\n${quote(p.text)}\n\nTo follow it: ${p.link}${end.en}`,
    );
  },

  assigned: (f: Follower, p: { id: number; title: string; by: string; to: string | null; text: string | null; link: string }): Mail => {
    const end = footer(f);
    return bilingual(
      `PCRS : déclaration n° ${p.id} ${p.to ? 'attribuée' : 'désattribuée'}`,
      `PCRS: declaration #${p.id} ${p.to ? 'assigned' : 'unassigned'}`,
      `${hello(f, 'Bonjour')}\n\n${theFr(f, p.id, p.title)} ${p.to ? `est attribuée à ${p.to}` : 'n’est plus attribuée'} (par ${p.by}).${p.text ? `\n\n${quote(p.text)}` : ''}\n\nPour la suivre : ${p.link}${end.fr}`,
      `${hello(f, 'Hello')}\n\n${theEn(f, p.id, p.title)} is ${p.to ? `now assigned to ${p.to}` : 'no longer assigned'} (by ${p.by}).${p.text ? `\n\n${quote(p.text)}` : ''}\n\nTo follow it: ${p.link}${end.en}`,
    );
  },

  created: (f: Follower, p: { id: number; title: string; type: DeclarationType; by: string; link: string }): Mail => {
    const end = footer(f);
    const where = f.area ?? '';
    return bilingual(
      `PCRS : nouvelle déclaration n° ${p.id} dans la zone « ${where} »`,
      `PCRS: new declaration #${p.id} in the area "${where}"`,
      `${hello(f, 'Bonjour')}\n\nUne nouvelle déclaration (${TYPE_FR[p.type]}) n° ${p.id} « ${p.title} » a été déposée par ${p.by} dans la zone « ${where} ».\n\nPour la suivre : ${p.link}${end.fr}`,
      `${hello(f, 'Hello')}\n\nA new declaration (${p.type}) #${p.id} "${p.title}" was made by ${p.by} in the area "${where}".\n\nTo follow it: ${p.link}${end.en}`,
    );
  },

  /** The confirmation link of an anonymous declaration. */
  confirmAnonymous: (p: { title: string; link: string; hours: number }): Mail =>
    bilingual(
      'PCRS : confirmez votre déclaration',
      'PCRS: confirm your declaration',
      `Bonjour,\n\nVous avez signalé une erreur sur le PCRS : « ${p.title} ». Pour l’enregistrer, confirmez votre adresse en ouvrant ce lien dans les ${p.hours} heures :\n\n${p.link}\n\nVous recevrez ensuite un message à chaque étape de son traitement (chacun avec un lien pour ne plus en recevoir). Si vous n’êtes pas à l’origine de ce signalement, ignorez ce message : rien ne sera enregistré.`,
      `Hello,\n\nYou reported an error on the PCRS: "${p.title}". To record it, confirm your address by opening this link within ${p.hours} hours:\n\n${p.link}\n\nYou will then get a message at each step of its handling (each with a link to stop them). If you did not make this report, ignore this message: nothing will be recorded.`,
    ),
};
