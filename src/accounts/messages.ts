import type { MailMessage } from '../notify/mailer.js';

/**
 * Every e-mail the accounts capability sends, in one catalogue: French first, then English, in the
 * same message (the recipient's language is not always known, and a mail must be understood
 * either way). Links carry one-time tokens: never log these texts.
 */
type Mail = Omit<MailMessage, 'to'>;

const SEPARATOR = '\n\n— English version below —\n\n';

function bilingual(subjectFr: string, subjectEn: string, fr: string, en: string): Mail {
  return { subject: `${subjectFr} / ${subjectEn}`, text: `${fr.trim()}${SEPARATOR}${en.trim()}\n` };
}

const ROLE_FR: Record<string, string> = { 'org-admin': 'administrateur de l’organisation', member: 'membre', contractor: 'prestataire' };

export const MESSAGES = {
  verifyEmail: (p: { name: string; link: string; hours: number }): Mail =>
    bilingual(
      'PCRS : confirmez votre adresse e-mail',
      'PCRS: confirm your e-mail address',
      `Bonjour ${p.name},\n\nPour activer votre compte sur la plateforme PCRS, ouvrez ce lien (valable ${p.hours} heures) :\n\n${p.link}\n\nSi vous n’avez pas créé de compte, ignorez ce message.`,
      `Hello ${p.name},\n\nTo activate your account on the PCRS platform, open this link (valid for ${p.hours} hours):\n\n${p.link}\n\nIf you did not create an account, ignore this message.`,
    ),

  signupExisting: (p: { link: string }): Mail =>
    bilingual(
      'PCRS : tentative d’inscription avec votre adresse',
      'PCRS: sign-up attempt with your address',
      `Bonjour,\n\nQuelqu’un (peut-être vous) a demandé à créer un compte avec cette adresse, qui a déjà un compte sur la plateforme PCRS. Si vous avez oublié votre mot de passe, vous pouvez le réinitialiser ici :\n\n${p.link}\n\nSinon, ignorez ce message : rien n’a changé.`,
      `Hello,\n\nSomeone (maybe you) asked to create an account with this address, which already has an account on the PCRS platform. If you forgot your password, you can reset it here:\n\n${p.link}\n\nOtherwise ignore this message: nothing changed.`,
    ),

  resetPassword: (p: { name: string; link: string; minutes: number }): Mail =>
    bilingual(
      'PCRS : réinitialisation de votre mot de passe',
      'PCRS: reset your password',
      `Bonjour ${p.name},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable ${p.minutes} minutes, une seule fois) :\n\n${p.link}\n\nSi vous n’avez rien demandé, ignorez ce message : votre mot de passe reste le même.`,
      `Hello ${p.name},\n\nTo choose a new password, open this link (valid for ${p.minutes} minutes, once):\n\n${p.link}\n\nIf you did not ask for this, ignore this message: your password stays the same.`,
    ),

  passwordChanged: (p: { name: string }): Mail =>
    bilingual(
      'PCRS : votre mot de passe a été changé',
      'PCRS: your password was changed',
      `Bonjour ${p.name},\n\nLe mot de passe de votre compte PCRS vient d’être changé et toutes vos sessions ont été fermées. Si ce n’est pas vous, réinitialisez-le immédiatement et prévenez un administrateur.`,
      `Hello ${p.name},\n\nThe password of your PCRS account was just changed and all your sessions were closed. If this was not you, reset it at once and tell an administrator.`,
    ),

  membershipRequested: (p: { applicant: string; email: string; organisation: string; message: string | null; link: string }): Mail =>
    bilingual(
      `PCRS : demande d’adhésion à ${p.organisation}`,
      `PCRS: membership request for ${p.organisation}`,
      `Bonjour,\n\n${p.applicant} (${p.email}) demande à rejoindre ${p.organisation} sur la plateforme PCRS.${p.message ? `\n\nSon message :\n« ${p.message} »` : ''}\n\nAcceptez ou refusez la demande ici :\n\n${p.link}`,
      `Hello,\n\n${p.applicant} (${p.email}) asks to join ${p.organisation} on the PCRS platform.${p.message ? `\n\nTheir message:\n"${p.message}"` : ''}\n\nAccept or refuse the request here:\n\n${p.link}`,
    ),

  membershipAccepted: (p: { name: string; organisation: string; role: string; link: string }): Mail =>
    bilingual(
      `PCRS : vous avez rejoint ${p.organisation}`,
      `PCRS: you joined ${p.organisation}`,
      `Bonjour ${p.name},\n\nVotre demande d’adhésion à ${p.organisation} a été acceptée (rôle : ${ROLE_FR[p.role] ?? p.role}).\n\n${p.link}`,
      `Hello ${p.name},\n\nYour request to join ${p.organisation} was accepted (role: ${p.role}).\n\n${p.link}`,
    ),

  membershipRefused: (p: { name: string; organisation: string; link: string }): Mail =>
    bilingual(
      `PCRS : demande d’adhésion à ${p.organisation} refusée`,
      `PCRS: membership request for ${p.organisation} refused`,
      `Bonjour ${p.name},\n\nVotre demande d’adhésion à ${p.organisation} a été refusée. Pour en savoir plus, contactez un administrateur de l’organisation.\n\n${p.link}`,
      `Hello ${p.name},\n\nYour request to join ${p.organisation} was refused. To know more, contact an administrator of the organisation.\n\n${p.link}`,
    ),
} as const;
