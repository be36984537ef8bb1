// Courier screens: my documents, one document, pickup batch at the office, and each handoff form
// (delivery, failed attempt, return, lost).
import * as data from '../data/index.js';
import { maskNik } from '../lib/nik.js';
import { t } from '../lib/i18n.js';
import { checkbox, field, formatTime, h, select } from './dom.js';
import { handoverLink } from './handover.js';
import { photoInput } from './photo-input.js';
import { sealInput } from './seal-input.js';
import { currentPlace, showProblems } from './forms.js';

const CARRIED = new Set(['picked_up', 'failed_attempt']);
const PICKUP_READY = new Set(['sealed', 'returned']);

function mapLink(address) {
  if (address.lat !== undefined && address.lon !== undefined) {
    return `https://www.openstreetmap.org/?mlat=${address.lat}&mlon=${address.lon}#map=18/${address.lat}/${address.lon}`;
  }
  const q = [address.street, `RT ${address.rt}/RW ${address.rw}`, address.kelurahan, address.kecamatan, address.city]
    .join(', ');
  return `https://www.openstreetmap.org/search?query=${encodeURIComponent(q)}`;
}

function addressLines(address) {
  return [`${address.street}, RT ${address.rt}/RW ${address.rw}`,
    `${address.kelurahan}, ${address.kecamatan}, ${address.city} ${address.postal_code}`];
}

function statusBadge(item) {
  return h('span', { class: `badge status-${item.status}`, 'data-status': item.status }, t(`status.${item.status}`));
}

function residentCard(document, { compact = false } = {}) {
  const { resident } = document;
  return h('div', { class: 'resident' },
    h('p', {}, h('strong', {}, resident.name), ' · ', t(`kind.${document.doc_kind}`)),
    h('p', { class: 'nik', 'data-role': 'nik' }, `NIK ${resident.nik_masked ?? maskNik(resident.nik)}`),
    compact ? null : [
      h('p', {}, addressLines(resident.address).map((line) => h('span', { class: 'line' }, line))),
      h('p', { class: 'row' },
        h('a', { class: 'button secondary', href: mapLink(resident.address), target: '_blank', rel: 'noopener' },
          t('doc.map')),
        h('a', { class: 'button secondary', href: `tel:${resident.phone}` }, t('doc.call', { phone: resident.phone }))),
    ]);
}

export async function documentsScreen(ctx) {
  const items = await data.listDocuments(ctx.me);
  const carried = items.filter((i) => CARRIED.has(i.status));
  const toPick = items.filter((i) => PICKUP_READY.has(i.status));
  const done = items.filter((i) => !CARRIED.has(i.status) && !PICKUP_READY.has(i.status));
  const list = (title, group) => h('section', { class: 'group', 'aria-label': title },
    h('h2', {}, title, ` (${group.length})`),
    group.length ? h('ul', { class: 'cards' }, group.map((item) => h('li', {},
      h('a', { class: 'card doc', href: `#/doc/${encodeURIComponent(item.document._id)}`, 'data-doc': item.document._id },
        residentCard(item.document, { compact: true }),
        h('p', { class: 'line' }, item.document.resident.address.kelurahan, ' · ', statusBadge(item),
          item.pending ? h('span', { class: 'badge pending' }, t('sync.waitingOne')) : null,
          item.denied.length ? h('span', { class: 'badge refused' }, t('sync.refusedOne')) : null)))))
      : h('p', { class: 'muted' }, t('docs.none')));
  return h('div', {},
    h('h1', {}, t('docs.title')),
    toPick.length ? h('a', { class: 'button primary block', href: '#/pickup' }, t('pickup.start', { n: toPick.length }))
      : null,
    handoverLink(ctx),
    list(t('docs.carried'), carried), list(t('docs.toPick'), toPick), list(t('docs.done'), done));
}

export async function documentScreen(ctx, documentId) {
  const item = await data.getDocument(ctx.me, documentId);
  if (!item) return h('div', {}, h('h1', {}, t('doc.missing')), h('a', { class: 'button', href: '#/' }, t('back')));
  const actions = CARRIED.has(item.status) ? [
    h('a', { class: 'button primary block', href: `#/handoff/delivered/${encodeURIComponent(documentId)}` }, t('act.deliver')),
    h('a', { class: 'button secondary block', href: `#/handoff/failed_attempt/${encodeURIComponent(documentId)}` }, t('act.failed')),
    h('a', { class: 'button secondary block', href: `#/handoff/returned/${encodeURIComponent(documentId)}` }, t('act.return')),
    h('a', { class: 'button danger block', href: `#/handoff/lost/${encodeURIComponent(documentId)}` }, t('act.lost')),
  ] : [];
  return h('div', {},
    h('h1', {}, t('doc.title')), statusBadge(item),
    h('section', { class: 'card' }, residentCard(item.document),
      h('p', {}, t('doc.seal'), ': ', h('strong', { 'data-role': 'expected-seal' }, item.seal?.number || t('doc.noSeal')))),
    ...actions,
    h('h2', {}, t('doc.history')),
    h('ol', { class: 'timeline' }, item.chain.map((handoff) => h('li', { 'data-handoff': handoff._id },
      h('strong', {}, t(`status.${handoff.kind}`)), ' · ',
      h('time', { datetime: handoff.device_time }, formatTime(handoff.device_time, ctx.lang)),
      handoff.seal_match ? null : h('span', { class: 'badge refused' }, t('seal.mismatchShort')),
      handoff.unsigned_reason ? h('span', { class: 'badge pending' }, t('doc.unsigned')) : null,
      item.denied.find((d) => d.id === handoff._id)
        ? h('p', { class: 'alarm', 'data-role': 'denial' }, t('sync.refusedBecause', {
          reason: item.denied.find((d) => d.id === handoff._id).reason })) : null))),
    h('a', { class: 'button', href: '#/' }, t('back')));
}

/** Pickup at the office or drive-thru window: scan each seal, photograph, confirm the batch. */
export async function pickupScreen(ctx) {
  const items = (await data.listDocuments(ctx.me)).filter((i) => PICKUP_READY.has(i.status) && i.seal);
  const where = select([['office', t('pickup.office')], ['drive_thru', t('pickup.driveThru')]], { 'data-role': 'pickup-place' });
  const rows = items.map((item) => {
    const seal = sealInput(item.seal.number);
    const photo = photoInput();
    const include = checkbox(t('pickup.include'), { checked: true, 'data-role': 'include' });
    return { item, seal, photo, include, el: h('li', { class: 'card', 'data-doc': item.document._id },
      residentCard(item.document, { compact: true }), seal.el, photo.el, include.el) };
  });
  const errors = h('div', { role: 'alert', class: 'errors' });
  const gps = checkbox(t('form.gps'), { checked: true });
  const submit = h('button', { type: 'submit', class: 'primary block' }, t('pickup.confirm'));
  const form = h('form', { class: 'stack', novalidate: true },
    h('h1', {}, t('pickup.title')), field(t('pickup.where'), where),
    items.length ? h('ol', { class: 'cards' }, rows.map((r) => r.el)) : h('p', { class: 'muted' }, t('pickup.none')),
    gps.el, errors, items.length ? submit : null, h('a', { class: 'button', href: '#/' }, t('back')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    errors.textContent = '';
    const chosen = rows.filter((r) => r.include.input.checked);
    const unscanned = chosen.filter((r) => !r.seal.value());
    if (!chosen.length || unscanned.length) {
      errors.append(h('p', {}, chosen.length ? t('pickup.scanAll', { n: unscanned.length }) : t('pickup.chooseOne')));
      submit.disabled = false;
      return;
    }
    const place = gps.input.checked ? await currentPlace() : null;
    try {
      for (const row of chosen) {
        await data.saveHandoff({
          me: ctx.me, item: row.item, kind: 'picked_up', sealScanned: row.seal.value(),
          sealCondition: 'intact', photos: await row.photo.photos(), place,
          note: where.value === 'drive_thru' ? 'Diambil di loket drive-thru' : 'Diambil di kantor',
        });
        row.seal.stop();
      }
      ctx.flash(t('pickup.saved', { n: chosen.length }));
      ctx.navigate('#/');
    } catch (error) {
      showProblems(errors, error);
      submit.disabled = false;
    }
  });
  return form;
}

/** One handoff of one document: delivered, failed_attempt, returned or lost. */
export async function handoffScreen(ctx, kind, documentId) {
  const item = await data.getDocument(ctx.me, documentId);
  if (!item) return h('div', {}, h('h1', {}, t('doc.missing')), h('a', { class: 'button', href: '#/' }, t('back')));
  const fields = handoffFields(item, kind);
  const submit = h('button', { type: 'submit',
    class: kind === 'lost' ? 'danger block' : 'primary block' }, t(`submit.${kind}`));
  const form = handoffForm(item, kind, documentId, fields, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await saveHandoffForm(ctx, item, kind, documentId, fields, submit);
  });
  return form;
}

/**
 * The controls every handoff has (the seal and its photo, except for a loss; the seal's condition, a note,
 * the GPS choice) and the ones its kind adds (who received a delivery, why an attempt failed).
 */
function handoffFields(item, kind) {
  const lost = kind === 'lost';
  const seal = lost ? null : sealInput(item.seal?.number || '');
  const photo = lost ? null : photoInput();
  const condition = select(['intact', 'damaged', 'missing', 'not_checked']
    .map((c) => [c, t(`condition.${c}`)]), { 'data-role': 'seal-condition' });
  const errors = h('div', { role: 'alert', class: 'errors' });
  const note = h('textarea', { rows: 3, maxlength: 500, 'data-role': 'note' });
  const gps = checkbox(t('form.gps'), { checked: true });
  const delivery = kind === 'delivered' ? deliveryFields() : null;
  const failure = kind === 'failed_attempt' ? failureFields() : null;
  if (lost) condition.value = 'missing';
  return { seal, photo, condition, errors, note, gps, delivery, failure };
}

/** Who received the document: the resident (with the receipt code) or a representative (name, relation). */
function deliveryFields() {
  const receiver = select([['resident', t('deliver.resident')],
    ['representative', t('deliver.representative')]], { 'data-role': 'receiver' });
  const receiptCode = h('input', { type: 'text', autocomplete: 'off',
    autocapitalize: 'characters', maxlength: 6, 'data-role': 'receipt-code' });
  const repName = h('input', { type: 'text', autocomplete: 'off', 'data-role': 'rep-name' });
  const repRelation = h('input', { type: 'text', autocomplete: 'off', list: 'relations',
    'data-role': 'rep-relation' });
  const residentPart = h('div', {}, field(t('deliver.receiptCode'), receiptCode, t('deliver.receiptHint')));
  const repPart = h('div', { hidden: true }, field(t('deliver.repName'), repName), field(t('deliver.repRelation'), repRelation),
    h('datalist', { id: 'relations' }, ['istri', 'suami', 'anak', 'orang tua', 'kakak', 'adik', 'tetangga', 'ketua RT']
      .map((r) => h('option', { value: r }))));
  receiver.addEventListener('change', () => {
    residentPart.hidden = receiver.value !== 'resident';
    repPart.hidden = receiver.value !== 'representative';
  });
  return { receiver, receiptCode, repName, repRelation,
    parts: [field(t('deliver.receiver'), receiver), residentPart, repPart] };
}

/** Why a delivery attempt failed. */
function failureFields() {
  const reason = select(['not_at_home', 'address_not_found', 'refused', 'damaged', 'other']
    .map((r) => [r, t(`fail.${r}`)]), { 'data-role': 'failure-reason' });
  return { reason, parts: [field(t('fail.reason'), reason)] };
}

function handoffForm(item, kind, documentId, { seal, photo, condition, errors, note, gps, delivery, failure }, submit) {
  const lost = kind === 'lost';
  return h('form', { class: 'stack', novalidate: true },
    h('h1', {}, t(`title.${kind}`)),
    h('section', { class: 'card' }, residentCard(item.document, { compact: kind !== 'delivered' })),
    lost ? h('p', { class: 'alarm' }, t('lost.warning')) : null,
    seal?.el, photo?.el, field(t('form.condition'), condition), ...(delivery?.parts ?? []), ...(failure?.parts ?? []),
    field(lost ? t('lost.note') : t('form.note'), note), gps.el, errors, submit,
    h('a', { class: 'button', href: `#/doc/${encodeURIComponent(documentId)}` }, t('back')));
}

/** Saves the handoff (a loss needs a note saying what happened) and goes back to the document. */
async function saveHandoffForm(ctx, item, kind, documentId, fields, /** @type {HTMLButtonElement} */ submit) {
  const { seal, photo, condition, errors, note, gps, delivery, failure } = fields;
  const lost = kind === 'lost';
  errors.textContent = '';
  if (lost && note.value.trim().length < 3) {
    errors.append(h('p', {}, t('lost.needNote')));
    return;
  }
  submit.disabled = true;
  const receiver = delivery?.receiver.value;
  const representative = receiver === 'representative'
    ? { name: delivery.repName.value.trim(), relation: delivery.repRelation.value.trim() } : undefined;
  try {
    const handoff = await data.saveHandoff({
      me: ctx.me, item, kind, sealScanned: seal ? seal.value() : null, sealCondition: condition.value,
      photos: photo ? await photo.photos() : [], place: gps.input.checked ? await currentPlace() : null,
      failureReason: failure?.reason.value, representative,
      receiptCode: receiver === 'resident' ? delivery.receiptCode.value.trim().toUpperCase() : undefined,
      note: note.value.trim() || undefined,
    });
    seal?.stop();
    ctx.flash(handoff.seal_match || lost ? t('saved', { what: t(`status.${kind}`) })
      : t('saved.mismatch', { what: t(`status.${kind}`) }));
    ctx.navigate(`#/doc/${encodeURIComponent(documentId)}`);
  } catch (error) {
    showProblems(errors, error);
    submit.disabled = false;
  }
}
