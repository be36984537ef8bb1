// Validates records in the browser against the same schemas/*.schema.json files the server uses (served at
// /schemas/, precached by the service worker so this works offline). Errors are turned into short messages
// for the person holding the phone (i18n keys, Indonesian by default). A record the schema accepts then meets
// the rules between fields' values that JSON Schema cannot state (./rules.js, the server's records/rules.py).
import { Validator, format } from '@cfworker/json-schema';
import { checkNik } from './nik.js';
import { brokenRules } from './rules.js';

format.nik = (value) => checkNik(value) === null;

const SCHEMA_URL = '/schemas/';
const validators = new Map();
let commonPromise = null;

async function fetchSchema(name) {
  const response = await fetch(`${SCHEMA_URL}${name}.schema.json`);
  if (!response.ok) throw new Error(`schema ${name}: HTTP ${response.status}`);
  return response.json();
}

async function validatorFor(type) {
  if (!validators.has(type)) {
    const loading = (async () => {
      commonPromise ??= fetchSchema('common');
      const [common, schema] = await Promise.all([commonPromise, fetchSchema(type)]);
      const validator = new Validator(schema, '2020-12', false);
      validator.addSchema(common);
      return validator;
    })();
    loading.catch(() => validators.delete(type));
    validators.set(type, loading);
  }
  return validators.get(type);
}

/**
 * @typedef {{field: string, keyword: string, message: string}} RecordProblem
 * @param {object} record  a record with `type`
 * @returns {Promise<RecordProblem[]>} empty when valid; the deepest, most specific problems first.
 */
export async function validateRecord(record) {
  const validator = await validatorFor(record.type);
  const result = validator.validate(record);
  if (result.valid) {
    return brokenRules(record).map(({ rule, message }) => ({ field: rule.field, keyword: rule.name, message }));
  }
  const seen = new Set();
  const problems = [];
  // cfworker reports the failing combinators (allOf, if/then, $ref) too; keep the leaf errors.
  for (const error of result.errors) {
    if (['allOf', 'anyOf', 'oneOf', 'if', 'then', '$ref', 'properties', 'items'].includes(error.keyword)
      && result.errors.length > 1) continue;
    let field = error.instanceLocation.replace(/^#\/?/, '').replaceAll('/', '.');
    const missing = error.keyword === 'required' && /property "([^"]+)"/.exec(error.error);
    if (missing) field = field ? `${field}.${missing[1]}` : missing[1];
    field ||= '(record)';
    const key = `${field}:${error.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ field, keyword: error.keyword, message: error.error });
  }
  if (!problems.length) {
    const first = result.errors[0];
    problems.push({ field: first.instanceLocation.replace(/^#\/?/, '') || '(record)', keyword: first.keyword,
      message: first.error });
  }
  return problems;
}

/** Loads the schemas now (e.g. at start-up while online), so a first save offline needs no fetch. */
export function preloadSchemas(types) {
  return Promise.allSettled(types.map((type) => validatorFor(type)));
}
