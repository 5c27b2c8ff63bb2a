import { describe, test } from "bun:test";
import { assertRedactorProperty, REDACTOR_PROPERTIES } from "../testing/redactor-properties.ts";

// Each at the suite's runs; `npm run bench:redact` runs them at many more (docs/benchmarks.md).
describe("the redactor's properties", () => {
  for (const property of REDACTOR_PROPERTIES) test(`${property.name} (property)`, () => assertRedactorProperty(property));
});
