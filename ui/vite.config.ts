import { defineConfig } from 'vite';

// No React plugin: Vite's built-in transform handles TSX with the automatic JSX runtime
// (tsconfig `jsx: react-jsx`). Assets use relative URLs so the server can mount the UI under
// any root path (index.html carries `<base href="{root}/">`).
export default defineConfig({
  base: './',
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
