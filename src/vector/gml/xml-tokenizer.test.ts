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
