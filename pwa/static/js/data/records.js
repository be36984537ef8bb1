// Reading and writing records in the local database. Every record written here is validated first against
// the same JSON Schema the server uses, and handoffs are chained (prev_hash) and signed with the courier's
// passkey, or kept with the reason they could not be signed: a delivery is never blocked by signing.
import { recordHash } from '../lib/canonical.js';
import { sealReceiptCode } from '../lib/receipt-proof.js';
import { signRecordHash } from '../lib/passkey.js';
import { deviceTime, ulid } from '../lib/ids.js';
import { sha256Hex } from '../lib/sha256.js';
import { validateRecord } from '../lib/validate.js';
import { databases, readState, updateState } from './db.js';
import { outboxDocs, withOutbox } from './outbox.js';
import { notify } from './sync.js';

/** @typedef {{user_id: string, name: string, role: string, office: string, partner?: string, van?: string,
 *   credential_ids?: string[]}} Me */

export class RecordInvalid extends Error {
  constructor(problems) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'RecordInvalid';
    this.problems = problems;
  }
}

async function byPrefix(prefix) {
  const { records } = databases();
  const result = await records.allDocs({ startkey: prefix, endkey: `${prefix}\ufff0`, include_docs: true });
  return result.rows.map((row) => row.doc).filter((doc) => doc && !doc._deleted);
}

/** Milliseconds since the epoch of an RFC 3339 time; a time that cannot be read sorts first. */
export function instant(iso) {
  const ms = iso ? new Date(iso).getTime() : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

/** The handoffs of each document in chain order (oldest first), following prev_hash links. */
async function chains(handoffs) {
  const byDocument = new Map();
  for (const handoff of handoffs) {
    if (!byDocument.has(handoff.document_id)) byDocument.set(handoff.document_id, []);
    byDocument.get(handoff.document_id).push(handoff);
  }
  for (const list of byDocument.values()) {
    // As instants, not text: phones write different offsets (+08:00, Z), whose text does not sort.
    list.sort((a, b) => (instant(a.device_time) - instant(b.device_time)) || ((a.seq ?? 0) - (b.seq ?? 0)));
  }
  return byDocument;
}

/**
 * The custody hash of a handoff: the server's, when it sent a copy without the clear receipt code that an
 * office-recorded delivery may hold (see sync/projection.py), else computed from the record itself.
 */
function custodyHash(handoff) {
  return handoff.custody_hash ? Promise.resolve(handoff.custody_hash) : recordHash(handoff);
}

/** The last handoff of a chain: the one no other handoff names as its previous (latest if several). */
async function chainTail(list) {
  if (!list?.length) return null;
  const referenced = new Set(list.map((h) => h.prev_hash).filter(Boolean));
  const hashes = await Promise.all(list.map((h) => custodyHash(h)));
  const tails = list.filter((_, i) => !referenced.has(hashes[i]));
  return (tails.length ? tails : list).at(-1);
}

/**
 * The documents this courier carries or will carry, with their seal, custody chain and current state.
 * @param {Me|null} me
 */
export async function listDocuments(me) {
  const [documents, seals, handoffs, state] = await Promise.all([
    byPrefix('document:'), byPrefix('seal:'), byPrefix('handoff:'), readState()]);
  const sealByDocument = new Map(seals.map((seal) => [seal.document_id, seal]));
  const chainByDocument = await chains(handoffs);
  const mine = documents.filter((doc) => !me || me.role !== 'courier' || doc.assignment?.courier === me.user_id
    || chainByDocument.get(doc._id)?.some((h) => h.author === me.user_id));
  const items = [];
  for (const document of mine) {
    const chain = chainByDocument.get(document._id) || [];
    const last = await chainTail(chain);
    items.push({
      document, seal: sealByDocument.get(document._id) || null, chain, last,
      status: last ? last.kind : 'registered',
      pending: chain.some((h) => state.outbox.includes(h._id)),
      denied: chain.filter((h) => state.denials[h._id]).map((h) => ({ id: h._id, ...state.denials[h._id] })),
    });
  }
  items.sort((a, b) => a.document.resident.name.localeCompare(b.document.resident.name, 'id'));
  return items;
}

export async function getDocument(me, documentId) {
  return (await listDocuments(me)).find((item) => item.document._id === documentId) || null;
}

/**
 * The van's stops with their visits: those sent (pulled back from the server, NIK masked) and those still in
 * the outbox (waiting, refused, or sent and not yet back), one entry per visit.
 */
export async function listStops() {
  const [stops, sent, unsent, state] = await Promise.all([
    byPrefix('stop:'), byPrefix('visit:'), outboxDocs('visit:'), readState()]);
  const visits = [...new Map([...sent, ...unsent].map((visit) => [visit._id, visit])).values()];
  stops.sort((a, b) => (a.date + a._id).localeCompare(b.date + b._id));
  return stops.map((stop) => ({
    stop,
    visits: visits.filter((v) => v.stop_id === stop._id)
      .map((v) => ({ visit: v, pending: state.outbox.includes(v._id), denied: state.denials[v._id] || null })),
  }));
}

export async function getStop(stopId) {
  return (await listStops()).find((item) => item.stop._id === stopId) || null;
}

/**
 * The author's next handoff sequence number. It is only taken (remembered) once the handoff is saved: a
 * record refused by validation must not leave a gap, which the server would read as a withheld handoff.
 */
async function nextSeq(me) {
  const [handoffs, state] = await Promise.all([byPrefix('handoff:'), readState()]);
  const seen = handoffs.filter((h) => h.author === me.user_id).reduce((max, h) => Math.max(max, h.seq || 0), 0);
  return Math.max(state.seq[me.user_id] || 0, seen) + 1;
}

function parties(kind, me, document, representative) {
  const office = { party: 'office', id: document.office };
  const courier = { party: 'courier', id: me.user_id, name: me.name };
  switch (kind) {
    case 'picked_up': return { from: office, to: courier };
    case 'delivered': return {
      from: courier,
      to: representative ? { party: 'representative', name: representative.name }
        : { party: 'resident', name: document.resident.name },
    };
    case 'returned': return { from: courier, to: office };
    default: return { from: courier, to: courier }; // failed_attempt, lost: the courier keeps custody
  }
}

/** The receipt code sealed to the server's key; the clear code is never stored (records/receipt_proof.py). */
async function sealedCode(code, documentId, me) {
  if (!me.receipt_key) {
    throw new RecordInvalid([{ field: 'receipt_code', keyword: 'receipt_key',
      message: 'Kunci server belum ada di ponsel ini; sambungkan ke internet sekali lalu coba lagi '
        + '(the server key is not on this phone yet: go online once, then try again)' }]);
  }
  return sealReceiptCode(code, documentId, me.receipt_key);
}

async function sign(hash, me) {
  if (!me.credential_ids?.length) {
    return { unsigned_reason: 'Akun ini belum punya passkey terdaftar (no passkey enrolled)' };
  }
  try {
    return { signature: await signRecordHash(hash, me.credential_ids || []) };
  } catch (error) {
    const why = {
      NotAllowedError: 'Passkey dibatalkan atau tidak tersedia di ponsel ini',
      NotSupportedError: 'Ponsel ini tidak dapat menandatangani dengan passkey',
      InvalidStateError: 'Passkey tidak ditemukan di ponsel ini',
    }[error?.name] || 'Penandatanganan passkey gagal';
    return { unsigned_reason: `${why} (${error?.name || 'Error'})` };
  }
}

/**
 * Records one handoff of a document (with its seal photos) on the device.
 * @param {{me: Me, item: object, kind: string, sealScanned: string|null, sealCondition: string,
 *   photos: {blob: Blob, width: number, height: number, contentType: string, capturedAt: string}[],
 *   failureReason?: string, receiptCode?: string, representative?: {name: string, relation: string},
 *   note?: string, place?: {lat: number, lon: number, accuracy_m?: number}}} input
 */
export async function saveHandoff(input) {
  const { me, item, kind } = input;
  const { document, seal } = item;
  if (!seal) throw new RecordInvalid([{ field: 'seal_number_expected', keyword: 'seal', message: 'no seal' }]);
  const now = deviceTime();
  const handoffId = `handoff:${ulid()}`;
  const photoDocs = [];
  for (const photo of input.photos || []) {
    const ext = photo.contentType === 'image/webp' ? 'webp' : 'jpg';
    photoDocs.push({
      doc: {
        _id: `photo:${ulid()}`, type: 'photo', schema_version: 1, office: document.office, created_at: now,
        author: me.user_id, handoff_id: handoffId, document_id: document._id, attachment: `seal.${ext}`,
        sha256: await sha256Hex(photo.blob), content_type: photo.contentType, size: photo.blob.size,
        captured_at: photo.capturedAt || now, width: photo.width, height: photo.height,
        ...(input.place ? { place: input.place } : {}),
      },
      blob: photo.blob,
    });
  }
  const last = await chainTail(item.chain);
  const handoff = {
    _id: handoffId, type: 'handoff', schema_version: 1, office: document.office, created_at: now,
    author: me.user_id, document_id: document._id, seal_number_scanned: input.sealScanned,
    seal_number_expected: seal.number,
    seal_match: input.sealScanned !== null && input.sealScanned === seal.number,
    kind, ...parties(kind, me, document, input.representative), seal_condition: input.sealCondition,
    device_time: now, seq: await nextSeq(me), photos: photoDocs.map((p) => p.doc._id),
    prev_hash: last ? await custodyHash(last) : null,
    ...(input.failureReason ? { failure_reason: input.failureReason } : {}),
    ...(input.receiptCode ? { receipt_proof: await sealedCode(input.receiptCode, document._id, me) } : {}),
    ...(input.representative ? { representative: input.representative } : {}),
    ...(input.place ? { place: input.place } : {}),
    ...(input.note ? { note: input.note } : {}),
  };
  // Check before asking for the passkey: nobody should sign a record that will be refused anyway.
  await assertValid({ ...handoff, unsigned_reason: 'pending' });
  for (const { doc } of photoDocs) await assertValid(doc);
  Object.assign(handoff, await sign(await recordHash(handoff), me));
  await assertValid(handoff);

  const { records, photos } = databases();
  if (photoDocs.length) {
    await photos.bulkDocs(photoDocs.map(({ doc, blob }) => ({
      ...doc, _attachments: { [doc.attachment]: { content_type: doc.content_type, data: blob } },
    })));
  }
  await records.put(handoff);
  await updateState((s) => {
    s.outbox.push(handoff._id);
    s.photoOutbox.push(...photoDocs.map((p) => p.doc._id));
    s.seq[me.user_id] = Math.max(s.seq[me.user_id] || 0, handoff.seq);
    return s;
  });
  notify();
  return handoff;
}

/** Records one van visit (no biometric data: only the outcome of each capture). */
export async function saveVisit(me, values) {
  const now = deviceTime();
  const visit = {
    _id: `visit:${ulid()}`, type: 'visit', schema_version: 1, office: me.office, created_at: now,
    author: me.user_id, van: me.van, device_time: now, ...values,
  };
  await assertValid(visit);
  await withOutbox((outbox) => outbox.put(visit)); // never into the pulled records (outbox.js)
  await updateState((s) => {
    s.outbox.push(visit._id);
    return s;
  });
  notify();
  return visit;
}

async function assertValid(record) {
  const problems = await validateRecord(record);
  if (problems.length) throw new RecordInvalid(problems);
}

/** Photos of one handoff still on this device (for showing a thumbnail next to the record). */
export async function photoBlob(photoId) {
  for (const db of Object.values(databases())) { // waiting to be sent, or back from the server
    try {
      const doc = await db.get(photoId);
      return await db.getAttachment(photoId, doc.attachment);
    } catch { /* not in this one */ }
  }
  return null;
}
