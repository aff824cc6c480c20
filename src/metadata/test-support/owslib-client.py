"""OWSLib's CSW client against the platform's /csw, as a harvester would use it.

Usage: python3 owslib-client.py BASE_URL RECORD_ID; prints one JSON line with what it saw.
"""
import json
import sys
import warnings

from owslib.csw import CatalogueServiceWeb
from owslib.fes import PropertyIsLike
from owslib.ows import ExceptionReport

warnings.simplefilter('ignore')
base, record_id = sys.argv[1], sys.argv[2]
GMD = 'http://www.isotc211.org/2005/gmd'
csw = CatalogueServiceWeb(base + '/csw', timeout=60)
out = {
    'title': csw.identification.title,
    'type': csw.identification.type,
    'version': csw.version,
    'operations': [op.name for op in csw.operations],
}


def dc_records():
    return {k: {'title': r.title, 'type': r.type, 'subjects': r.subjects, 'references': [x.get('url') for x in r.references],
                'bbox': [r.bbox.minx, r.bbox.miny, r.bbox.maxx, r.bbox.maxy] if r.bbox else None} for k, r in csw.records.items()}


# Filter encoding (POST XML): the text search a GeoNetwork user types.
csw.getrecords2(constraints=[PropertyIsLike('csw:AnyText', '%mise à jour%')], esn='full', maxrecords=10)
out['like'] = {'matches': csw.results['matches'], 'returned': csw.results['returned'], 'records': dc_records()}

# Paging: two records per page.
pages = []
start = 1
while start and len(pages) < 10:
    csw.getrecords2(esn='brief', maxrecords=2, startposition=start)
    pages.append(list(csw.records.keys()))
    start = csw.results['nextrecord']
out['pages'] = pages

# ISO 19139 records, as GeoNetwork harvests them.
csw.getrecords2(outputschema=GMD, typenames='gmd:MD_Metadata', esn='full', maxrecords=50)
iso = {}
for k, r in csw.records.items():
    ident = r.identification[0] if isinstance(r.identification, list) else r.identification
    iso[k] = {
        'title': ident.title,
        'keywords': [kw for group in ident.keywords for kw in group.get('keywords', [])] if ident.keywords else [],
        'bbox': [ident.bbox.minx, ident.bbox.miny, ident.bbox.maxx, ident.bbox.maxy] if ident.bbox else None,
        'crs': r.referencesystem.code if r.referencesystem else None,
        'contact': ident.contact[0].email if ident.contact else None,
        'online': [o.url for o in r.distribution.online] if r.distribution else [],
        'lineage': r.dataquality.lineage if r.dataquality else None,
    }
out['iso'] = iso

# CQL text (POST XML with csw:CqlText).
csw.getrecords2(cql="AnyText LIKE '%millésime%'", esn='summary', maxrecords=10)
out['cql'] = sorted(csw.records.keys())

# GetRecordById (GET KVP), Dublin Core and ISO.
csw.getrecordbyid(id=[record_id], esn='full')
out['byId'] = dc_records()
csw.getrecordbyid(id=[record_id], outputschema=GMD)
out['byIdIso'] = sorted(csw.records.keys())

# A constraint the service does not understand: an OWS ExceptionReport.
try:
    csw.getrecords2(cql="Title = 'x' OR Abstract LIKE 'y'", esn='brief')
    out['bad'] = None
except ExceptionReport as e:
    out['bad'] = {'code': e.code, 'locator': e.locator, 'text': e.msg}

print(json.dumps(out, ensure_ascii=False))
