// Van screens: today's stops from the van schedule, and the recording visit form (no biometrics: only the
// health-protocol check and the outcome of each capture).
import * as data from '../data/index.js';
import { localDate } from '../lib/ids.js';
import { checkNik, describeNik, maskNik } from '../lib/nik.js';
import { getLang, t } from '../lib/i18n.js';
import { checkbox, field, formatDay, h, select } from './dom.js';
import { showProblems } from './forms.js';

const SERIAL_KEY = 'segel.captureDeviceSerial';
const FEVER_C = 37.5;

export async function stopsScreen(_ctx) {
  const today = localDate();
  const stops = await data.listStops();
  const todays = stops.filter((s) => s.stop.date === today);
  const upcoming = stops.filter((s) => s.stop.date > today).slice(0, 5);
  const card = ({ stop, visits }) => h('li', {}, h('div', { class: 'card', 'data-stop': stop._id },
    h('p', {}, h('strong', {}, stop.place_name)), h('p', { class: 'line' }, stop.address),
    h('p', { class: 'line muted' }, formatDay(stop.date, getLang()), ' · ', t('stops.recorded', { n: visits.length, planned: stop.planned_residents ?? '?' }),
      visits.some((v) => v.pending) ? h('span', { class: 'badge pending' }, t('sync.waitingOne')) : null,
      visits.some((v) => v.denied) ? h('span', { class: 'badge refused' }, t('sync.refusedOne')) : null),
    visits.length ? h('ul', { class: 'visits' }, visits.map(visitLine)) : null,
    visits.filter((v) => v.denied).map((v) => h('p', { class: 'alarm', 'data-role': 'denial' },
      `${v.visit.resident_name}: `, t('sync.refusedBecause', { reason: v.denied.reason }))),
    h('a', { class: 'button primary block', href: `#/visit/${encodeURIComponent(stop._id)}` }, t('stops.record'))));
  return h('div', {},
    h('h1', {}, t('stops.title')),
    todays.length ? h('ul', { class: 'cards' }, todays.map(card)) : h('p', { class: 'muted' }, t('stops.noneToday')),
    upcoming.length ? [h('h2', {}, t('stops.upcoming')), h('ul', { class: 'cards' }, upcoming.map(card))] : null,
    h('a', { class: 'button secondary block', href: '#/visit/' }, t('stops.recordWithout')));
}

/** One recorded resident: a sent visit comes back from the server with the NIK masked; one not yet sent is
 * masked here (the full NIK stays only in the outbox until the server has it, data/outbox.js). */
function visitLine({ visit, pending, denied }) {
  return h('li', { class: 'line muted', 'data-visit': visit._id },
    visit.resident_name, ' · ', h('span', { 'data-role': 'nik' },
      `NIK ${visit.resident_nik_masked ?? maskNik(visit.resident_nik)}`),
    pending ? h('span', { class: 'badge pending' }, t('sync.waitingOne')) : null,
    denied ? h('span', { class: 'badge refused' }, t('sync.refusedOne')) : null);
}

// A text field, not type=number: a number field in some locales turns the Indonesian "36,5" into 365 or
// nothing. `temperature` reads both "36,5" and "36.5".
function numberInput(attrs) {
  return h('input', { type: 'text', inputmode: 'decimal', autocomplete: 'off', maxlength: 5, ...attrs });
}

/** Degrees Celsius from what was typed ("36,5" or "36.5"); null when it is no body temperature (34-42). */
export function temperature(text) {
  const value = String(text ?? '').trim().replace(',', '.');
  if (!/^\d{2}(\.\d{1,2})?$/.test(value)) return null;
  const degrees = Number(value);
  return degrees >= 34 && degrees <= 42 ? degrees : null;
}

function captureRow(key, withFingers) {
  const status = select(['captured', 'failed', 'not_attempted'].map((s) => [s, t(`capture.${s}`)]),
    { 'data-role': `capture-${key}` });
  const reason = h('input', { type: 'text', maxlength: 500, 'data-role': `capture-${key}-reason` });
  const fingers = withFingers ? h('input', { type: 'number', min: 0, max: 10, value: 10, inputmode: 'numeric',
    'data-role': 'fingers' }) : null;
  const reasonField = field(t('capture.reason'), reason, t('capture.reasonHint'));
  const update = () => { reasonField.hidden = status.value === 'captured' && (!fingers || Number(fingers.value) === 10); };
  status.addEventListener('change', update);
  fingers?.addEventListener('input', update);
  update();
  const el = h('fieldset', { class: 'capture' }, h('legend', {}, t(`capture.${key}`)), field(t('capture.status'), status),
    fingers ? field(t('capture.fingers'), fingers) : null, reasonField);
  return {
    el,
    value: () => {
      const out = { status: status.value };
      if (fingers) out.fingers_captured = status.value === 'captured' ? Number(fingers.value) : Number(fingers.value) || 0;
      if (reason.value.trim() && (status.value !== 'captured' || (fingers && Number(fingers.value) < 10))) {
        out.reason = reason.value.trim();
      }
      return out;
    },
  };
}

/** The visit form: the resident, the health protocol, each capture's outcome, and who recorded it. */
export async function visitScreen(ctx, stopId) {
  const stopItem = stopId ? await data.getStop(stopId) : null;
  const fields = visitFields(ctx);
  watchNik(fields.nik, fields.nikInfo);
  watchHealth(fields.health);
  const submit = h('button', { type: 'submit', class: 'primary block' }, t('visit.save'));
  const form = visitForm(stopItem, fields, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await saveVisitForm(ctx, stopItem, fields, submit);
  });
  return form;
}

/** Every control of the visit form, made in the order they appear. */
function visitFields(ctx) {
  const nik = h('input', { type: 'text', inputmode: 'numeric', maxlength: 16,
    autocomplete: 'off', 'data-role': 'nik' });
  const nikInfo = h('p', { class: 'hint', role: 'status', 'data-role': 'nik-status' });
  const name = h('input', { type: 'text', autocomplete: 'off', 'data-role': 'resident-name' });
  const health = healthFields();
  const captures = {
    fingerprints: captureRow('fingerprints', true), iris: captureRow('iris'), face: captureRow('face'),
    signature: captureRow('signature'),
  };
  const serial = h('input', { type: 'text', autocomplete: 'off',
    value: localStorage.getItem(SERIAL_KEY) || '', 'data-role': 'device-serial' });
  const operators = h('input', { type: 'text', autocomplete: 'off',
    value: ctx.me?.user_id || '', 'data-role': 'operators' });
  const outcome = select(['recorded', 'failed', 'revisit_needed']
    .map((o) => [o, t(`outcome.${o}`)]), { 'data-role': 'outcome' });
  const errors = h('div', { role: 'alert', class: 'errors' });
  return { nik, nikInfo, name, health, captures, serial, operators, outcome, errors };
}

/** The health protocol: both temperatures, the three checks, and the emergency reason it may call for. */
function healthFields() {
  const opTemp = numberInput({ 'data-role': 'operator-temp' });
  const apTemp = numberInput({ 'data-role': 'applicant-temp' });
  const disinfected = checkbox(t('health.disinfected'), { 'data-role': 'disinfected' });
  const gloves = checkbox(t('health.gloves'), { 'data-role': 'gloves' });
  const sanitiser = checkbox(t('health.sanitiser'), { 'data-role': 'sanitiser' });
  const emergency = h('textarea', { rows: 3, maxlength: 1000,
    'data-role': 'emergency-reason' });
  const emergencyBox = h('div', { class: 'alarm-box', hidden: true },
    h('p', { class: 'alarm', role: 'alert' }, t('health.suspended')), field(t('health.emergency'), emergency));
  return { opTemp, apTemp, disinfected, gloves, sanitiser, emergency, emergencyBox };
}

/** A fever or a missed check suspends recording: the emergency box asks why the visit goes on anyway. */
function watchHealth({ opTemp, apTemp, disinfected, gloves, sanitiser, emergencyBox }) {
  const suspended = () => temperature(opTemp.value) >= FEVER_C || temperature(apTemp.value) >= FEVER_C
    || !disinfected.input.checked || !gloves.input.checked || !sanitiser.input.checked;
  const checkHealth = () => { emergencyBox.hidden = !(opTemp.value && apTemp.value && suspended()); };
  [opTemp, apTemp, disinfected.input, gloves.input, sanitiser.input].forEach((el) => el.addEventListener('input', checkHealth));
}

/** While the NIK is typed, says what is wrong with it, or what it encodes (region, birth date, sex). */
function watchNik(/** @type {HTMLInputElement} */ nik, /** @type {HTMLElement} */ nikInfo) {
  nik.addEventListener('input', () => {
    const value = nik.value.trim();
    const problem = value.length ? checkNik(value) : null;
    nikInfo.className = problem ? 'hint warn' : 'hint';
    if (!value) nikInfo.textContent = '';
    else if (problem) nikInfo.textContent = t(problem.code, problem.params);
    else nikInfo.textContent = nikSummary(value);
  });
}

/** @param {string} value  a valid NIK */
function nikSummary(value) {
  const parts = describeNik(value);
  const twoDigits = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return t('nik.ok', {
    region: `${parts.province}.${parts.regency}.${parts.district}`,
    birth: `${twoDigits(parts.birthDay)}-${twoDigits(parts.birthMonth)}-${twoDigits(parts.birthYear2d)}`,
    sex: t(parts.female ? 'nik.female' : 'nik.male'), masked: maskNik(value),
  });
}

function visitForm(stopItem, { nik, nikInfo, name, health, captures, serial, operators, outcome, errors }, submit) {
  return h('form', { class: 'stack', novalidate: true },
    h('h1', {}, t('visit.title')),
    stopItem ? h('p', { class: 'muted' }, stopItem.stop.place_name, ' · ', formatDay(stopItem.stop.date, getLang())) : null,
    field(t('visit.nik'), nik, t('visit.nikHint')), nikInfo, field(t('visit.name'), name),
    h('fieldset', {}, h('legend', {}, t('health.title')),
      field(t('health.operatorTemp'), health.opTemp), field(t('health.applicantTemp'), health.apTemp),
      health.disinfected.el, health.gloves.el, health.sanitiser.el),
    health.emergencyBox,
    h('fieldset', {}, h('legend', {}, t('capture.title')), Object.values(captures).map((c) => c.el)),
    field(t('visit.serial'), serial), field(t('visit.operators'), operators, t('visit.operatorsHint')),
    field(t('visit.outcome'), outcome), errors, submit, h('a', { class: 'button', href: '#/stops' }, t('back')));
}

/** Checks the NIK and the crew's van, then saves the visit (to the outbox) or shows what to fix. */
async function saveVisitForm(ctx, stopItem, fields, /** @type {HTMLButtonElement} */ submit) {
  const { nik, errors } = fields;
  errors.textContent = '';
  const problem = checkNik(nik.value.trim());
  if (problem) {
    errors.append(h('p', {}, t('visit.nikInvalid'), ' ', t(problem.code, problem.params)));
    nik.focus();
    return;
  }
  const { opTemp, apTemp } = fields.health;
  const badTemp = /** @type {const} */ ([[opTemp, 'health.operatorTemp'], [apTemp, 'health.applicantTemp']])
    .find(([input]) => temperature(input.value) === null);
  if (badTemp) {
    errors.append(h('p', { 'data-role': 'temp-invalid' },
      t('visit.tempInvalid', { field: t(badTemp[1]), value: badTemp[0].value.trim() })));
    badTemp[0].setAttribute('aria-invalid', 'true');
    badTemp[0].focus();
    return;
  }
  if (!ctx.me?.van) {
    errors.append(h('p', {}, t('visit.noVan')));
    return;
  }
  submit.disabled = true;
  const values = visitValues(stopItem, fields);
  try {
    await data.saveVisit(ctx.me, values);
    localStorage.setItem(SERIAL_KEY, values.capture_device_serial);
    ctx.flash(t('visit.saved', { name: values.resident_name }));
    ctx.navigate('#/stops');
  } catch (error) {
    showProblems(errors, error);
    submit.disabled = false;
  }
}

/** The visit record's fields as the form holds them (data.saveVisit adds ids, times and the van). */
function visitValues(stopItem, { nik, name, health, captures, serial, operators, outcome }) {
  const { opTemp, apTemp, disinfected, gloves, sanitiser, emergency } = health;
  return {
    operators: operators.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean),
    resident_nik: nik.value.trim(), resident_name: name.value.trim(),
    health: {
      operator_temperature_c: temperature(opTemp.value), applicant_temperature_c: temperature(apTemp.value),
      equipment_disinfected: disinfected.input.checked, gloves_and_masks: gloves.input.checked,
      hand_sanitiser: sanitiser.input.checked,
    },
    captures: Object.fromEntries(Object.entries(captures).map(([key, c]) => [key, c.value()])),
    capture_device_serial: serial.value.trim(), outcome: outcome.value,
    ...(stopItem ? { stop_id: stopItem.stop._id } : {}),
    ...(emergency.value.trim() ? { emergency_reason: emergency.value.trim() } : {}),
  };
}
