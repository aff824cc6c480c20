"""Loads the platform's streams in QGIS (headless, the real providers) and prints a JSON report.

Usage: /usr/bin/python3 qgis-client.py BASE_URL OUT_DIR
For each stream: whether QGIS accepts the layer, its feature count or extent, and for rasters the
number of distinct colours of a 512 px rendering of a Lambert-93 area (0 means blank). Used by
qgis-client.test.ts; needs Debian's python3-qgis and qgis-providers.
"""
import json
import os
import sys

os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsMapRendererParallelJob,  # noqa: E402
                       QgsMapSettings, QgsRasterLayer, QgsRectangle, QgsVectorLayer)
from qgis.PyQt.QtCore import QSize  # noqa: E402

base, out_dir = sys.argv[1], sys.argv[2]
area = [float(v) for v in sys.argv[3].split(',')]
QgsApplication.setPrefixPath('/usr', True)
app = QgsApplication([], True)
app.initQgis()
report = {}


def render(layers, crs, extent, name):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem(crs))
    settings.setExtent(extent)
    settings.setOutputSize(QSize(512, 512))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(os.path.join(out_dir, name + '.png'))
    return len({image.pixel(x, y) for x in range(0, 512, 8) for y in range(0, 512, 8)})


def raster(name, uri, provider='wms'):
    layer = QgsRasterLayer(uri, name, provider)
    report[name] = {'valid': layer.isValid()}
    return layer


def vector(name, uri, provider):
    layer = QgsVectorLayer(uri, name, provider)
    # (layer.error().summary() crashes QGIS 3.22 on invalid OAPIF layers: validity only.)
    report[name] = {'valid': layer.isValid()}
    if layer.isValid():
        report[name]['count'] = layer.featureCount()
        feature = next(layer.getFeatures(), None)
        if feature is not None:
            point = feature.geometry().vertexAt(0)
            report[name]['firstVertex'] = [point.x(), point.y()]
            report[name]['firstAttributes'] = {k: str(feature[k]) for k in layer.fields().names() if k in ('idObjet', 'thematique')}
    return layer


wmts = raster('wmts', f'crs=EPSG:2154&dpiMode=7&format=image/jpeg&layers=PCRS.ORTHO&styles=normal&tileMatrixSet=2154_5cm&url={base}/wmts/1.0.0/WMTSCapabilities.xml')
wms = raster('wms', f'crs=EPSG:2154&dpiMode=7&format=image/jpeg&layers=PCRS.ORTHO&styles=&url={base}/wms')
xyz = raster('xyz', f'type=xyz&url={base}/tiles/PCRS.ORTHO/WebMercatorQuad/%7Bz%7D/%7Bx%7D/%7By%7D.jpeg&zmax=21&zmin=0')
wfs = vector('wfs', f"url='{base}/wfs' typename='pcrs:ArbrePCRS' version='2.0.0'", 'WFS')
oapif = vector('oapif', f"url='{base}/ogc' typename='LimiteVoiriePCRS'", 'OAPIF')

extent = QgsRectangle(*area)
for name, layer in (('wmts', wmts), ('wms', wms)):
    if layer.isValid():
        report[name]['colours'] = render([layer], 'EPSG:2154', extent, name)
if xyz.isValid():
    # The same area in Web Mercator (QGIS reprojects the extent).
    from qgis.core import QgsCoordinateTransform, QgsProject
    t = QgsCoordinateTransform(QgsCoordinateReferenceSystem('EPSG:2154'), QgsCoordinateReferenceSystem('EPSG:3857'), QgsProject.instance())
    report['xyz']['colours'] = render([xyz], 'EPSG:3857', t.transformBoundingBox(extent), 'xyz')
if wfs.isValid() and wmts.isValid():
    render([wfs, oapif, wmts] if oapif.isValid() else [wfs, wmts], 'EPSG:2154', extent, 'vector-over-ortho')

print(json.dumps(report))
sys.stdout.flush()
os._exit(0)  # skip QGIS' teardown (slow, and noisy when the network layers are still referenced)
