import { OgcServiceError } from '../ogc/ows-exception.js';
import { XmlTokenizer } from '../vector/gml/xml-tokenizer.js';

/**
 * A small element tree for CSW POST requests, built on the platform's XML tokenizer (the GML
 * reader's): namespaces resolved, the five predefined entities and character references only. A
 * DOCTYPE is refused — no entity, internal or external, is ever expanded, no DTD is ever fetched.
 */
export interface XmlElement {
  uri: string;
  local: string;
  /** Attributes by local name (CSW and Filter attributes are unqualified). */
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Bounds a request: CSW requests are small, a large body is a mistake or an attack. */
export const MAX_XML_REQUEST = 256 * 1024;
const MAX_DEPTH = 64;

export function parseXmlElement(xml: string): XmlElement {
  if (xml.length > MAX_XML_REQUEST) throw new OgcServiceError('NoApplicableCode', `The request body exceeds ${MAX_XML_REQUEST} bytes.`, undefined, 413);
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let failure: string | null = null;
  const tokenizer = new XmlTokenizer({
    openTag(tag) {
      const attrs: Record<string, string> = {};
      for (const a of Object.values(tag.attributes)) attrs[a.local] = a.value;
      const node: XmlElement = { uri: tag.uri, local: tag.local, attrs, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else root = node;
      stack.push(node);
      if (stack.length > MAX_DEPTH) failure ??= `elements nest deeper than ${MAX_DEPTH} levels`;
    },
    closeTag() {
      stack.pop();
    },
    text(t) {
      const top = stack[stack.length - 1];
      if (top) top.text += t;
    },
    doctype() {
      failure ??= 'a DOCTYPE is not accepted (entities are never expanded)';
    },
    error(message) {
      failure ??= message;
    },
  });
  tokenizer.write(xml);
  tokenizer.close();
  if (failure || !root) throw new OgcServiceError('NoApplicableCode', `The request body is not acceptable XML: ${failure ?? 'no root element'}.`);
  return root;
}

export const child = (e: XmlElement, local: string): XmlElement | undefined => e.children.find((c) => c.local === local);
export const children = (e: XmlElement, local: string): XmlElement[] => e.children.filter((c) => c.local === local);
