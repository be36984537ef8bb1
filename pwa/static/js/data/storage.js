// Persistent storage and quota: the browser may evict IndexedDB under pressure unless the origin is persisted,
// and a full quota makes every save fail, so the sync bar shows usage and warns before it bites.

export const WARN_RATIO = 0.8;

export async function requestPersistence() {
  if (!navigator.storage?.persist) return false;
  try {
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}

/** @returns {Promise<{usage: number, quota: number, persisted: boolean, nearlyFull: boolean}|null>} */
export async function storageEstimate() {
  if (!navigator.storage?.estimate) return null;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
  return { usage, quota, persisted, nearlyFull: quota > 0 && usage / quota >= WARN_RATIO };
}
