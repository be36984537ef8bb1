// Names the build defines (esbuild `define` in pwa/build.mjs) that the page code reads.
/** The hashed URL of the seal scanner's wasm, /static/dist/zxing_reader.<hash>.wasm. */
declare const __ZXING_WASM_URL__: string;

interface Window {
  /** The data layer (pwa/static/js/data/index.js), for the browser tests and scripts/screens. */
  segelData: unknown;
}
