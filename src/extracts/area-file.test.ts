/**
 * Area files without a database: the kind told from the bytes, KML read without any DTD or entity
 * (an XXE payload is refused before anything is read), polygons only, CRS names.
 */
import { describe, expect, it } from 'vitest';
import { MAX_AREA_FILE_BYTES, readAreaFile, sniffAreaFile, sridOfCrsName } from './area-file.js';

const kml = (body: string) => Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>${body}</Document></kml>`);
const square = '1.43,44.44,0 1.44,44.44,0 1.44,44.45,0 1.43,44.45,0 1.43,44.44,0';

describe('area files', () => {
  it('tells the format from the bytes, not the name', () => {
    expect(sniffAreaFile(Buffer.from('\uFEFF  {"type":"Polygon"}'))).toBe('geojson');
    expect(sniffAreaFile(kml(''))).toBe('kml');
    const gpkg = Buffer.alloc(1024);
    gpkg.write('SQLite format 3\0', 0, 'latin1');
    gpkg.write('GPKG', 68, 'latin1');
    expect(sniffAreaFile(gpkg)).toBe('gpkg');
    gpkg.write('XXXX', 68, 'latin1');
    expect(() => sniffAreaFile(gpkg)).toThrow(expect.objectContaining({ code: 'unsupported-area-file', status: 415 }));
    expect(() => sniffAreaFile(Buffer.from('\x89PNG\r\n\x1a\n'))).toThrow(expect.objectContaining({ status: 415 }));
  });

  it('reads KML polygons (holes, MultiGeometry) as WGS84', async () => {
    const hole = '1.432,44.442 1.434,44.442 1.434,44.444 1.432,44.442';
    const file = await readAreaFile(
      kml(
        `<Placemark><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>${square}</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>${hole}</coordinates></LinearRing></innerBoundaryIs></Polygon>` +
          `<Polygon><outerBoundaryIs><LinearRing><coordinates>1.45,44.44 1.46,44.44 1.46,44.45</coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry></Placemark>`,
      ),
    );
    expect(file).toMatchObject({ format: 'kml', srid: 4326 });
    expect(file.polygons).toHaveLength(2);
    const [first, second] = file.polygons.map((p) => JSON.parse(p) as { coordinates: number[][][] });
    expect(first?.coordinates).toHaveLength(2);
    // An unclosed ring is closed.
    expect(second?.coordinates[0]).toEqual([[1.45, 44.44], [1.46, 44.44], [1.46, 44.45], [1.45, 44.44]]);
  });

  it('refuses a KML with a DOCTYPE or entities (XXE): nothing is read, nothing expanded', async () => {
    const xxe = Buffer.from(`<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name><Polygon><outerBoundaryIs><LinearRing><coordinates>${square}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`);
    const refused = (await readAreaFile(xxe).then(
      () => new Error('accepted'),
      (e: unknown) => e as Error,
    )) as Error;
    expect(refused).toMatchObject({ code: 'unsafe-xml', status: 400 });
    expect(refused.message).not.toContain('root:');
    // An entity declaration outside a DOCTYPE is not XML; an entity reference without one is never resolved either.
    await expect(readAreaFile(Buffer.from(`<?xml version="1.0"?>\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n<kml xmlns="http://www.opengis.net/kml/2.2"/>`))).rejects.toMatchObject({ status: 400 });
    await expect(readAreaFile(kml(`<Placemark><name>&xxe;</name></Placemark>`))).rejects.toMatchObject({ code: 'unreadable-area-file', status: 400 });
    await expect(readAreaFile(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).rejects.toMatchObject({ code: 'unsupported-area-file', status: 415 });
  });

  it('polygons only: points and lines are refused saying what the file holds', async () => {
    await expect(readAreaFile(kml(`<Placemark><Point><coordinates>1.43,44.44</coordinates></Point></Placemark>`))).rejects.toMatchObject({ code: 'not-a-polygon', message: expect.stringContaining('1 point') });
    await expect(readAreaFile(Buffer.from(JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[1.43, 44.44], [1.44, 44.45]] } })))).rejects.toMatchObject({ code: 'not-a-polygon', message: expect.stringContaining('1 line') });
    await expect(readAreaFile(Buffer.from(JSON.stringify({ type: 'FeatureCollection', features: [] })))).rejects.toMatchObject({ code: 'empty-area', status: 400 });
    await expect(readAreaFile(Buffer.from('{"type": "Polygon", '))).rejects.toMatchObject({ code: 'unreadable-area-file' });
  });

  it('GeoJSON: the crs member names the SRID; projected coordinates without one are refused', async () => {
    const l93 = { type: 'Polygon', coordinates: [[[575_000, 6_373_400], [575_100, 6_373_400], [575_100, 6_373_500], [575_000, 6_373_400]]] };
    expect((await readAreaFile(Buffer.from(JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::2154' } }, features: [{ type: 'Feature', geometry: l93 }] })))).srid).toBe(2154);
    await expect(readAreaFile(Buffer.from(JSON.stringify(l93)))).rejects.toMatchObject({ code: 'unsupported-crs' });
    // A crs member on the geometry itself (GeoJSON 2008 allows it on any object).
    expect((await readAreaFile(Buffer.from(JSON.stringify({ type: 'Feature', properties: {}, geometry: { ...l93, crs: { type: 'name', properties: { name: 'EPSG:2154' } } } })))).srid).toBe(2154);
    const mixed = { type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'EPSG:2154' } }, features: [{ type: 'Feature', geometry: { ...l93, crs: { type: 'name', properties: { name: 'EPSG:3857' } } } }] };
    await expect(readAreaFile(Buffer.from(JSON.stringify(mixed)))).rejects.toMatchObject({ code: 'unsupported-crs' });
    expect(sridOfCrsName('EPSG:2154')).toBe(2154);
    expect(sridOfCrsName('http://www.opengis.net/def/crs/EPSG/0/3857')).toBe(3857);
    expect(sridOfCrsName('urn:ogc:def:crs:OGC:1.3:CRS84')).toBe(4326);
    expect(sridOfCrsName('+proj=lcc')).toBeNull();
  });

  it('refuses more than 5 MiB', async () => {
    await expect(readAreaFile(Buffer.alloc(MAX_AREA_FILE_BYTES + 1, 0x20))).rejects.toMatchObject({ code: 'area-file-too-large', status: 413 });
  });
});
