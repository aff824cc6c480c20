/** Escapes text for XML content and attribute values (all five predefined entities). */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => XML_ENTITIES[c] as string);
}

const XML_ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

// Characters XML 1.0 cannot carry, even escaped: C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** User text for XML content or attributes: the characters XML cannot carry dropped, the rest escaped. */
export function xmlText(s: string): string {
  return xmlEscape(s.replace(NOT_XML, ''));
}
