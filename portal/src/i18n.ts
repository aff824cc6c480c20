/** All user-facing strings, French first (DESIGN §2), English second. */
export const MESSAGES = {
  fr: {
    tagline: 'Orthophotographie 5 cm et levé vectoriel du corps de rue',
    versions: 'Millésimes et mises à jour',
    dataset: 'Jeu de données',
    version: 'Version',
    status: 'État',
    date: 'Date de prise de vue',
    dalles: 'Dalles',
    healthOk: 'Service opérationnel',
    healthDegraded: 'Service dégradé',
    noVersions: 'Aucune version pour l’instant.',
    loadError: 'Impossible de joindre le serveur.',
  },
  en: {
    tagline: '5 cm orthophoto and street-level vector survey',
    versions: 'Versions and updates',
    dataset: 'Dataset',
    version: 'Version',
    status: 'Status',
    date: 'Acquisition date',
    dalles: 'Dalles',
    healthOk: 'Service up',
    healthDegraded: 'Service degraded',
    noVersions: 'No versions yet.',
    loadError: 'Cannot reach the server.',
  },
} as const;

export type MessageKey = keyof (typeof MESSAGES)['fr'];

export function pickLanguage(preferred: readonly string[]): keyof typeof MESSAGES {
  return preferred.some((l) => l.toLowerCase().startsWith('fr')) || !preferred.some((l) => l.toLowerCase().startsWith('en')) ? 'fr' : 'en';
}
