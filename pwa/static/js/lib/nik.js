// NIK (Nomor Induk Kependudukan) plausibility check, the same rules as records/nik.py (tested to agree):
// province 11-94, regency, district, birth date DDMMYY with 40 added to the day for women, serial 0001-9999.

const FEMALE_DAY_OFFSET = 40;

/**
 * @typedef {{code: string, params: Object<string, string|number>}} NikProblem
 *   code is a key of the i18n dictionary ("nik.shape", "nik.province", ...).
 * @typedef {{province: string, regency: string, district: string, birthDay: number, birthMonth: number,
 *   birthYear2d: number, female: boolean, serial: string}} NikParts
 */

function dateExists(year, month, day) {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** @returns {NikProblem|null} null when `nik` is plausible, else what is wrong. */
export function checkNik(nik) {
  if (typeof nik !== 'string') return { code: 'nik.shape', params: { length: 0 } };
  if (!/^[0-9]*$/.test(nik)) return { code: 'nik.digits', params: {} };
  if (nik.length !== 16) return { code: 'nik.shape', params: { length: nik.length } };
  const province = Number(nik.slice(0, 2));
  if (province < 11 || province > 94) return { code: 'nik.province', params: { value: nik.slice(0, 2) } };
  const rawDay = Number(nik.slice(6, 8));
  if (!((rawDay >= 1 && rawDay <= 31) || (rawDay >= 41 && rawDay <= 71))) {
    return { code: 'nik.day', params: { value: nik.slice(6, 8) } };
  }
  const month = Number(nik.slice(8, 10));
  if (month < 1 || month > 12) return { code: 'nik.month', params: { value: nik.slice(8, 10) } };
  const day = rawDay > FEMALE_DAY_OFFSET ? rawDay - FEMALE_DAY_OFFSET : rawDay;
  const year2d = Number(nik.slice(10, 12));
  if (!dateExists(1900 + year2d, month, day) && !dateExists(2000 + year2d, month, day)) {
    return { code: 'nik.date', params: { value: `${pad(day)}-${pad(month)}-${pad(year2d)}` } };
  }
  if (nik.slice(12, 16) === '0000') return { code: 'nik.serial', params: {} };
  return null;
}

/** @returns {NikParts} the fields of a plausible NIK; throws when checkNik refuses it. */
export function describeNik(nik) {
  const problem = checkNik(nik);
  if (problem) throw new Error(problem.code);
  const day = Number(nik.slice(6, 8));
  const female = day > FEMALE_DAY_OFFSET;
  return {
    province: nik.slice(0, 2), regency: nik.slice(2, 4), district: nik.slice(4, 6),
    birthDay: female ? day - FEMALE_DAY_OFFSET : day, birthMonth: Number(nik.slice(8, 10)),
    birthYear2d: Number(nik.slice(10, 12)), female, serial: nik.slice(12, 16),
  };
}

/** First 6 (place) and last 2 digits only: couriers never see a full NIK. Never fails. */
export function maskNik(nik) {
  const text = String(nik ?? '');
  if (text.length <= 8) return '*'.repeat(text.length);
  return text.slice(0, 6) + '*'.repeat(text.length - 8) + text.slice(-2);
}

function pad(n) {
  return String(n).padStart(2, '0');
}
