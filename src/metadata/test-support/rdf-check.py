"""Parses the DCAT-AP answers with rdflib (RDF/XML and JSON-LD) and prints what they say, as JSON.

Usage: python3 rdf-check.py FILE.rdf FILE.jsonld
"""
import json
import sys

from rdflib import Graph, Namespace, RDF
from rdflib.compare import isomorphic

DCAT = Namespace('http://www.w3.org/ns/dcat#')
DCT = Namespace('http://purl.org/dc/terms/')
VCARD = Namespace('http://www.w3.org/2006/vcard/ns#')

xml = Graph().parse(sys.argv[1], format='xml')
jsonld = Graph().parse(sys.argv[2], format='json-ld')
g = xml
catalogs = list(g.subjects(RDF.type, DCAT.Catalog))
datasets = sorted(str(d) for d in g.objects(catalogs[0], DCAT.dataset)) if catalogs else []
out = {
    'triples': [len(xml), len(jsonld)],
    'isomorphic': isomorphic(xml, jsonld),
    'catalogs': len(catalogs),
    'datasets': datasets,
    'identifiers': sorted(str(o) for s in g.subjects(RDF.type, DCAT.Dataset) for o in g.objects(s, DCT.identifier)),
    'themes': sorted({str(o) for o in g.objects(None, DCAT.theme)}),
    'distributions': len(list(g.subjects(RDF.type, DCAT.Distribution))),
    'downloadURLs': sorted(str(o) for o in g.objects(None, DCAT.downloadURL)),
    'accessURLs': sorted(str(o) for o in g.objects(None, DCAT.accessURL)),
    'licences': sorted({str(o) for o in g.objects(None, DCT.license)}),
    'accessRights': sorted({str(o) for o in g.objects(None, DCT.accessRights)}),
    'emails': sorted({str(o) for o in g.objects(None, VCARD.hasEmail)}),
    'startDates': sorted(str(o) for o in g.objects(None, DCAT.startDate)),
    'bboxes': sorted(str(o) for o in g.objects(None, DCAT.bbox)),
    'titles': sorted(str(o) for s in g.subjects(RDF.type, DCAT.Dataset) for o in g.objects(s, DCT.title)),
}
print(json.dumps(out, ensure_ascii=False))
