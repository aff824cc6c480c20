import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/**
 * The map is the home screen but its own chunk (OpenLayers). So that it does not wait for the
 * entry to run first, a few lines in index.html — only when the address is the map's — preload
 * the map's chunk and the two documents it starts with (the WMTS capabilities and the vector
 * style), in parallel with the entry. Other screens load none of it.
 */
function preloadMap(): Plugin {
  return {
    name: 'pcrs-preload-map',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.isDynamicEntry && c.name === 'MapPage');
        if (!chunk) return [];
        // The map's chunk and the chunks it imports (OpenLayers is shared with the declarations' screens), but not the entry.
        const imports = chunk.type === 'chunk' ? chunk.imports.filter((f) => !/^index-/.test(f.split('/').pop() ?? '')) : [];
        const css = [chunk, ...imports.map((f) => ctx.bundle?.[f])].flatMap((c) => (c?.type === 'chunk' ? [...(c.viteMetadata?.importedCss ?? [])] : []));
        const code = `(function(){var h=location.hash;if(h&&h!=='#'&&h!=='#/'&&!/^#\\/carte(\\?|$)/.test(h)&&!/^#[\\d.]+,[\\d.]+,[\\d.]+$/.test(h))return;
function l(r,u,a){var e=document.createElement('link');e.rel=r;e.href=u;if(a){e.as=a;e.crossOrigin='anonymous';}document.head.appendChild(e);}
${[chunk.fileName, ...imports].map((f) => `l('modulepreload','/${f}');`).join('')}${css.map((c) => `l('stylesheet','/${c}');`).join('')}l('preload','/wmts/1.0.0/WMTSCapabilities.xml','fetch');l('preload','/tiles/vector/style.json?tms=2154_5cm','fetch');})();`;
        return [{ tag: 'script', children: code, injectTo: 'head' }];
      },
    },
  };
}

// The portal is served by the platform's own server (`pcrs serve`) from portal/dist. Preact (JSX
// through the preset), one entry; every screen is a lazy chunk (OpenLayers only in the map's).
export default defineConfig({
  root: 'portal',
  plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false }), preloadMap()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 700 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080', '/wmts': 'http://127.0.0.1:8080', '/wms': 'http://127.0.0.1:8080', '/tiles': 'http://127.0.0.1:8080' } },
});
