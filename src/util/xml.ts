/** Escapes text for XML content and attribute values (all five predefined entities). */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => XML_ENTITIES[c] as string);
}

const XML_ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };
