import type { AppContext } from '../../context/app-context.js';
import type { RasterLayers } from './layers.js';
import type { RasterTileService } from './tile-service.js';

/** What the raster stream handlers share: the context, the layers and the one tile service. */
export interface StreamsContext {
  app: AppContext;
  layers: RasterLayers;
  tiles: RasterTileService;
}
