// Reads a seal's QR code or barcode. The browser's own BarcodeDetector is used where it exists (most Android
// Chrome); elsewhere the ZXing WebAssembly reader is loaded, from our own /static/dist (never a CDN), and only
// the first time a seal is scanned: its 1 MB is not part of the app shell.
/* global __ZXING_WASM_URL__ */

/** @type {import('barcode-detector/ponyfill').BarcodeFormat[]} */
const FORMATS = ['qr_code', 'code_128', 'code_39', 'data_matrix', 'ean_13', 'itf'];
let detectorPromise = null;

async function nativeDetector() {
  if (typeof globalThis.BarcodeDetector !== 'function') return null;
  try {
    const supported = await globalThis.BarcodeDetector.getSupportedFormats();
    const formats = FORMATS.filter((f) => supported.includes(f));
    if (!formats.includes('qr_code')) return null;
    return new globalThis.BarcodeDetector({ formats });
  } catch {
    return null;
  }
}

async function wasmDetector() {
  const { BarcodeDetector, prepareZXingModule } = await import('barcode-detector/ponyfill');
  prepareZXingModule({
    overrides: { locateFile: (file, prefix) => (file.endsWith('.wasm') ? __ZXING_WASM_URL__ : prefix + file) },
    fireImmediately: true,
  });
  return new BarcodeDetector({ formats: FORMATS });
}

/** The detector in use, and which kind ("native" or "wasm"), loading the fallback on first call. */
export function getDetector() {
  if (!detectorPromise) {
    detectorPromise = (async () => {
      const native = await nativeDetector();
      if (native) return { detector: native, kind: 'native' };
      return { detector: await wasmDetector(), kind: 'wasm' };
    })();
    detectorPromise.catch(() => { detectorPromise = null; });
  }
  return detectorPromise;
}

/** Seal numbers are 2 capital letters and 6-10 digits; scanners sometimes add spaces or lowercase. */
export function normaliseSealNumber(text) {
  return String(text ?? '').toUpperCase().replace(/[^A-Z0-9]/g, '');
}

export const SEAL_PATTERN = /^[A-Z]{2}[0-9]{6,10}$/;

/** Decodes the first code found in an image, video frame or file; null when none is found. */
export async function scanSeal(source) {
  const { detector } = await getDetector();
  let image = source;
  if (typeof Blob !== 'undefined' && source instanceof Blob) image = await createImageBitmap(source);
  const found = await detector.detect(image);
  for (const code of found) {
    const number = normaliseSealNumber(code.rawValue);
    if (SEAL_PATTERN.test(number)) return number;
  }
  return found.length ? normaliseSealNumber(found[0].rawValue) : null;
}

/**
 * On phones without a native QR reader, have the service worker cache the fallback reader (script chunk
 * and wasm) while there is signal, after the first screen is up, so it is there before the courier is out
 * of coverage. Phones with a native reader never download it.
 */
export async function warmScanner() {
  if (await nativeDetector()) return 'native';
  const registration = await navigator.serviceWorker?.ready;
  if (!registration?.active) return 'none';
  const answer = await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    registration.active.postMessage({ type: 'CACHE_LAZY' }, [channel.port2]);
  });
  return answer?.ok ? 'wasm' : 'none';
}
