import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web console (docs/console.md): `npm run build:console` writes console/dist, which ThingQL serves at `/`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Preact's automatic JSX runtime (no framework plugin needed).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: process.env.CONSOLE_OUT_DIR ?? 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    // `npx vite console` during development: the API comes from a running ThingQL.
    proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } },
  },
});
