// Rules between two fields' values, which JSON Schema cannot state (it has no $data): the PWA's table of
// them, under the same names as records/rules.py on the server. schemas/rules.json holds the cases both
// tables must judge alike (tests/unit/test_rules.py runs them here under node and in Python).
// A rule runs only on a record its schema accepts, so it may rely on the types the schema guarantees.

/**
 * @typedef {{name: string, type: string, field: string, check: (record: object) => string|null}} Rule
 *   check returns null when the record keeps the rule, else what `field` must be (Indonesian, English).
 */

/** @type {Rule[]} */
export const RULES = [
  {
    // The seal id carries office and seal number, so the database refuses a second record for one seal.
    name: 'seal_id_agrees', type: 'seal', field: '_id',
    check(record) {
      const expected = `seal:${record.office}:${record.number}`;
      return record._id === expected ? null
        : `harus "${expected}", sesuai kantor dan nomor segel (must be "${expected}" to agree with office and number)`;
    },
  },
  {
    // seal_match is what the office's follow-up filters on; it must say what the two numbers say.
    name: 'seal_match_agrees', type: 'handoff', field: 'seal_match',
    check(record) {
      const equal = record.seal_number_scanned === record.seal_number_expected;
      return record.seal_match === equal ? null
        : `harus ${equal}: nomor segel yang dipindai ${equal ? 'sama' : 'tidak sama'} dengan yang diharapkan `
          + `(must be ${equal}: it says whether seal_number_scanned equals seal_number_expected)`;
    },
  },
];

/**
 * @param {object} record  a record its schema accepts
 * @returns {{rule: Rule, message: string}[]} the rules for its type that it breaks
 */
export function brokenRules(record) {
  const found = [];
  for (const rule of RULES) {
    if (rule.type !== record.type) continue;
    const message = rule.check(record);
    if (message !== null) found.push({ rule, message });
  }
  return found;
}
