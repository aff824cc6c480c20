import { describe, expect, it } from 'vitest';
import { XmlTokenizer } from './xml-tokenizer.js';

/** Runs the tokenizer over chunks and returns a flat event log. */
function run(chunks: string[]): string[] {
  const log: string[] = [];
  const t = new XmlTokenizer({
    openTag: (tag, line) =>
      log.push(`open ${tag.local} {${tag.uri}} @${line} ${Object.values(tag.attributes).map((a) => `${a.local}{${a.uri}}=${a.value}`).join(' ')}`.trimEnd()),
    closeTag: () => log.push('close'),
    text: (s) => {
      // Text may arrive in pieces: join consecutive pieces.
      const last = log[log.length - 1];
      if (last?.startsWith('text ')) log[log.length - 1] = last + s;
      else log.push(`text ${s}`);
    },
    doctype: (line) => log.push(`doctype @${line}`),
    error: (m) => log.push(`error ${m}`),
  });
  for (const c of chunks) t.write(c);
  t.close();
  return log;
}

const DOC =
  '<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- a comment -->\n' +
  '<r:Root xmlns:r="urn:r" xmlns="urn:d" xmlns:g="urn:g" g:id="x&amp;y" a=\'1 &lt; 2\'>\n' +
  '  <Item n="&#65;&#x42;">a &gt; b &quot;q&quot; &apos;</Item>\r\n' +
  '  <g:Empty/>\n' +
  '  <Inner xmlns="urn:other"><Deep att="v\n w"/></Inner>\n' +
  '  <![CDATA[<not a tag> & raw]]>\n' +
  '</r:Root>\n';

describe('XmlTokenizer', () => {
  it('reports tags with resolved namespaces, lines, decoded entities and normalised newlines', () => {
    const log = run([DOC]).filter((e) => !/^text\s*$/.test(e.replace(/\s+/g, ' ')));
    expect(log).toEqual([
      'open Root {urn:r} @3 r{http://www.w3.org/2000/xmlns/}=urn:r xmlns{http://www.w3.org/2000/xmlns/}=urn:d g{http://www.w3.org/2000/xmlns/}=urn:g id{urn:g}=x&y a{}=1 < 2',
      'open Item {urn:d} @4 n{}=AB',
      'text a > b "q" \'',
      'close',
      'open Empty {urn:g} @5',
      'close',
      'open Inner {urn:other} @6 xmlns{http://www.w3.org/2000/xmlns/}=urn:other',
      'open Deep {urn:other} @6 att{}=v  w',
      'close',
      'close',
      'text \n  <not a tag> & raw\n',
      'close',
    ]);
  });

  it('gives the same events whatever the chunk boundaries', () => {
    const whole = run([DOC]);
    for (let k = 1; k < DOC.length; k++) expect(run([DOC.slice(0, k), DOC.slice(k)]), `split at ${k}`).toEqual(whole);
    const chars = run(DOC.split(''));
    expect(chars).toEqual(whole);
  });

  it.each([
    ['<a><b></a>', /unexpected end tag <\/a>: <b> is open/],
    ['<a><b>', /unexpected end of document: unclosed tag <b>/],
    ['<a x="1', /unexpected end of document/],
    ['hello <a/>', /text before the root element/],
    ['<a/><b/>', /more than one root element/],
    ['<a/>tail', /text after the root element/],
    ['<a x="1" x="2"/>', /duplicate attribute x/],
    ['<p:a/>', /unbound namespace prefix 'p'/],
    ['<a p:x="1"/>', /unbound namespace prefix 'p'/],
    ['<a>&xxe;</a>', /undefined entity &xxe;/],
    ['<a>fish & chips</a>', /'&' must start an entity/],
    ['<a>&#0;</a>', /invalid character reference/],
    ['<a x=1/>', /malformed start tag <a>/],
    ['<a></b>', /unexpected end tag <\/b>/],
    ['</a>', /end tag <\/a> without a start tag/],
    ['', /root element/],
  ])('refuses %j', (doc, message) => {
    const log = run([doc]);
    expect(log[log.length - 1]).toMatch(/^error /);
    expect(log[log.length - 1]).toMatch(message);
    expect(log.filter((e) => e.startsWith('error'))).toHaveLength(1);
  });

  it('stops at a DOCTYPE without reading it (its line is reported)', () => {
    const log = run(['<?xml version="1.0"?>\n<!DOCTYPE x [ <!ENTITY e SYSTEM "file:///etc/passwd"> ]>\n<x>&e;</x>']);
    expect(log).toEqual(['doctype @2']);
  });
});

describe('XmlTokenizer on damaged input', () => {
  it('never throws: 3 000 random mutations of a document end in events or one clear error', () => {
    let seed = 46;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '<>/="\'&;:!?[]- \nabx#';
    for (let k = 0; k < 3000; k++) {
      let doc = DOC;
      for (let m = 0; m < 1 + rnd(4); m++) {
        const at = rnd(doc.length);
        const op = rnd(3);
        if (op === 0) doc = doc.slice(0, at) + doc.slice(at + 1 + rnd(5));
        else if (op === 1) doc = doc.slice(0, at) + (alphabet[rnd(alphabet.length)] as string) + doc.slice(at);
        else doc = doc.slice(0, at);
      }
      const cut = rnd(doc.length + 1);
      const log = run([doc.slice(0, cut), doc.slice(cut)]);
      const errors = log.filter((e) => e.startsWith('error') || e.startsWith('doctype'));
      expect(errors.length, doc).toBeLessThanOrEqual(1);
      if (errors.length === 0) {
        // Well-formed as far as the tokenizer can tell: tags balance.
        expect(log.filter((e) => e.startsWith('open')).length, doc).toBe(log.filter((e) => e === 'close').length);
      } else {
        expect(log[log.length - 1], doc).toBe(errors[0]);
      }
    }
  });
});
