import { xmlEscape } from '../util/xml.js';

/**
 * A tiny element builder over the one XML escaping helper (util/xml.ts): `el('gmd:title', {},
 * cs('Titre'))`. Children that are `null`/`undefined`/`false` are left out, so optional parts read
 * as expressions. Text is escaped, names are written as given (they are constants of this module).
 */
export type Child = string | null | undefined | false | Child[];

export interface Raw {
  xml: string;
}

const flatten = (children: Child[]): string => children.map((c) => (Array.isArray(c) ? flatten(c) : c ? c : '')).join('');

/** An element; attribute values and nothing else are escaped here (children are already XML). */
export function el(name: string, attrs: Record<string, string | number | undefined | null> = {}, ...children: Child[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
  const body = flatten(children);
  return body === '' ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

/** Escaped text content. */
export function text(s: string | number): string {
  return xmlEscape(String(s));
}

/** An element holding text only. */
export function leaf(name: string, value: string | number, attrs: Record<string, string | number | undefined | null> = {}): string {
  return el(name, attrs, text(value));
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
