/**
 * The texts a download is made under: the Licence Ouverte 2.0 for open data, the usage charter for
 * restricted data (the shipped one below, or the operator's file: `licences.charterFile`). Shown
 * by the portal before the first download, written as LICENCE.txt into every extract.
 */

export interface LicenceText {
  name: string;
  url: string;
  text: string;
}

export const OPEN_LICENCE_VERSION = '2.0';

export const LICENCE_OUVERTE: LicenceText = {
  name: 'Licence Ouverte / Open Licence version 2.0',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  text: [
    'LICENCE OUVERTE / OPEN LICENCE — Version 2.0',
    '',
    'Ces données sont mises à disposition sous la Licence Ouverte 2.0 (Etalab).',
    'Vous êtes libre de les reproduire, copier, publier et transmettre ; de les diffuser et',
    'redistribuer ; de les adapter, modifier, extraire et transformer, notamment pour créer des',
    '« Informations dérivées » ; de les exploiter à titre commercial, par exemple en les combinant',
    'avec d’autres informations ou en les incluant dans votre propre produit ou application —',
    'sous réserve de mentionner la paternité de l’« Information » : sa source (au moins le nom du',
    'producteur) et la date de sa dernière mise à jour.',
    '',
    'This data is available under the Open Licence 2.0 (Etalab): reuse it freely, including',
    'commercially, provided you credit its source (at least the producer’s name) and the date',
    'of its last update.',
    '',
    'Texte intégral / full text: https://www.etalab.gouv.fr/licence-ouverte-open-licence/',
  ].join('\n'),
};

/** The charter shipped for restricted data, until the APLC configures its own. */
export const DEFAULT_CHARTER: LicenceText = {
  name: 'Charte d’usage du PCRS — données à diffusion restreinte',
  url: '',
  text: [
    'CHARTE D’USAGE DU PCRS — DONNÉES À DIFFUSION RESTREINTE',
    '',
    'Ces données vous sont communiquées parce que votre organisation (ou vous-même) détient une',
    'autorisation de l’autorité publique locale compétente (APLC). En les téléchargeant, vous vous',
    'engagez à :',
    '  1. ne les utiliser que pour les missions qui ont motivé l’autorisation (préparation et',
    '     exécution de travaux, réponses aux DT-DICT, gestion de réseaux, secours…) ;',
    '  2. ne pas les rediffuser à des tiers, sauf à vos prestataires pour ces mêmes missions, qui',
    '     s’engagent alors à respecter la présente charte ;',
    '  3. mentionner la source « PCRS — APLC » et la date de la version dans tout document produit ;',
    '  4. signaler à l’APLC les erreurs constatées (déclarations du portail) ;',
    '  5. supprimer les données à la fin de l’autorisation.',
    '',
    'USAGE CHARTER OF THE PCRS — RESTRICTED DATA',
    '',
    'This data is given to you because you (or your organisation) hold a permission from the',
    'local public authority (APLC). By downloading it you agree to use it only for the purposes of',
    'that permission, not to pass it on except to your contractors for those purposes, to credit',
    'its source and version, to report errors, and to delete it when the permission ends.',
  ].join('\n'),
};
