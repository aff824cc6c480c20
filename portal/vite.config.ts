import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The portal is served by the platform's own server (`pcrs serve`) from portal/dist. Preact (JSX
// through the preset), one entry; every page is a lazy chunk (OpenLayers only in the map's).
export default defineConfig({
  root: 'portal',
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 700 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080', '/wmts': 'http://127.0.0.1:8080', '/wms': 'http://127.0.0.1:8080', '/tiles': 'http://127.0.0.1:8080' } },
});
