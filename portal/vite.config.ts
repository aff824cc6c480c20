import { defineConfig } from 'vite';

// The portal is served by the platform's own server (`pcrs serve`) from portal/dist.
export default defineConfig({
  root: 'portal',
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080' } },
});
