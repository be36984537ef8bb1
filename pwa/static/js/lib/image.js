// Seal photos are compressed on the phone before they are stored: long edge about 1600 px, JPEG, under about
// 200 KB. Re-encoding through a canvas drops EXIF (GPS, device model) along the way.

export const LONG_EDGE = 1600;
export const TARGET_BYTES = 200 * 1024;

/**
 * @param {Blob} file  the camera's image
 * @returns {Promise<{blob: Blob, width: number, height: number, contentType: string}>}
 */
export async function compressImage(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
  let width = Math.max(1, Math.round(bitmap.width * scale));
  let height = Math.max(1, Math.round(bitmap.height * scale));
  let blob = null;
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
    for (const quality of [0.8, 0.65, 0.5]) {
      blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
      if (blob && blob.size <= TARGET_BYTES) break;
    }
    if (blob && blob.size <= TARGET_BYTES) break;
    width = Math.max(1, Math.round(width * 0.8));
    height = Math.max(1, Math.round(height * 0.8));
  }
  bitmap.close?.();
  if (!blob) throw new Error('photo.unreadable');
  return { blob, width, height, contentType: 'image/jpeg' };
}
