import { defineConfig, type Plugin } from 'vite';
import { preloadScript } from './src/trace/preload';

// Starts the trace query from an inline script in index.html, before the bundle has loaded.
function tracePreload(): Plugin {
  return {
    name: 'ember-trace-preload',
    transformIndexHtml() {
      return [{ tag: 'script', children: preloadScript(), injectTo: 'head' }];
    },
  };
}

// No React plugin: Vite's built-in transform handles TSX with the automatic JSX runtime
// (tsconfig `jsx: react-jsx`). Assets use relative URLs so the server can mount the UI under
// any root path (index.html carries `<base href="{root}/">`).
export default defineConfig({
  base: './',
  plugins: [tracePreload()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/graphql': 'http://127.0.0.1:6006',
      '/v1': 'http://127.0.0.1:6006',
    },
  },
});
