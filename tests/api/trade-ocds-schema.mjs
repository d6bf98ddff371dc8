// The OCDS release-package validator of the trading API tests (trade-ocds, trade-e2e):
// the release schema with the bids extension merged in (JSON merge patch), turned from
// draft-04 into what ajv reads, from the vendored data/ocds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import Ajv from 'ajv';
import addFormats from 'ajv-formats';

import { ROOT } from './server.mjs';

function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function draft4(schema) {
  const s = { ...schema };
  delete s.$schema;
  if (s.id) { s.$id = s.id; delete s.id; }
  return s;
}

/** A function that validates one release package (its .errors after a failure). */
export function buildValidator() {
  const read = (p) => JSON.parse(fs.readFileSync(path.join(ROOT, 'data/ocds', p), 'utf8'));
  const release = mergePatch(read('release-schema.json'), read('bid_extension/release-schema.json'));
  assert.ok(release.properties.bids, 'the bids extension is merged');
  assert.ok(release.definitions.Award.properties.relatedBids, 'Award.relatedBids merged');
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(draft4(release));
  return ajv.compile(draft4(read('release-package-schema.json')));
}

/** Assert that validate (from buildValidator) accepts pkg, naming what and the first errors. */
export function assertValidPackage(validate, pkg, what) {
  assert.ok(validate(pkg),
    `${what} is not a valid OCDS package:\n${JSON.stringify(validate.errors?.slice(0, 8), null, 1)}`);
}
