import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { CLAMP } from "../testing/toolsmith-fixtures.ts";
import { splitExamples } from "../toolsmith/split-examples.ts";
import type { ValidatedInput, ValidationReport } from "../toolsmith/validate-tool.ts";
import { readValidationRecord, recordValidation, VALIDATED_DIR, validationKey } from "./validation-record.ts";

const spec = toolMetadataSchemas().ToolSpec.parse(CLAMP.spec);
const settings = ToolsmithSettings.parse({});
const input: ValidatedInput = {
  spec,
  heldOut: splitExamples(spec, settings.heldOutShare).heldOut,
  toolCode: CLAMP.tool,
  testCode: CLAMP.tests,
  settings,
};
const passed: ValidationReport = {
  ok: true,
  stages: [],
  tests: { passed: 4, failed: 0 },
  coverage: 0.93,
  mutants: { total: 10, killed: 9, score: 0.9 },
  heldOutExamples: input.heldOut.length,
  determinismRuns: 3,
};

function checkout(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "org-validation-record-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A stand-in for the checkout org runs from: its files are the validator's code. */
function validatorCheckout(): { dir: string } & Disposable {
  const code = checkout();
  mkdirSync(join(code.dir, "toolsmith"));
  mkdirSync(join(code.dir, "tools", "generated", "word_count"), { recursive: true });
  writeFileSync(join(code.dir, "toolsmith", "validate-tool.ts"), "export const stages = 6;\n");
  writeFileSync(join(code.dir, "package-lock.json"), "{}\n");
  writeFileSync(join(code.dir, "tools", "generated", "word_count", "tool.ts"), "export default () => 1;\n");
  writeFileSync(join(code.dir, "package.json"), '{ "name": "org" }\n');
  // Code older than this process, as org's own is when it runs.
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const file of ["toolsmith/validate-tool.ts", "package-lock.json", "package.json"]) utimesSync(join(code.dir, file), hourAgo, hourAgo);
  return code;
}

describe("the toolsmith's signed record of a passed validation", () => {
  test("read back for exactly the same input; any other file, spec, held-out split or setting finds none", () => {
    using repo = checkout();
    using code = validatorCheckout();
    expect(recordValidation(repo.dir, input, passed, { checkoutDir: code.dir })).toBe(true);
    const record = readValidationRecord(repo.dir, input, { checkoutDir: code.dir });
    expect(record).toMatchObject({ tool: spec.name, tests: { passed: 4, failed: 0 }, coverage: 0.93, mutants: { killed: 9, total: 10 } });
    expect(record?.key).toBe(validationKey(input, { checkoutDir: code.dir }));

    const others: ValidatedInput[] = [
      { ...input, toolCode: `${input.toolCode}\n` },
      { ...input, testCode: `${input.testCode}\n// another test file\n` },
      { ...input, spec: { ...spec, description: `${spec.description} ` } },
      { ...input, heldOut: [] },
      { ...input, settings: { ...settings, mutants: settings.mutants + 1 } },
    ];
    for (const other of others) expect(readValidationRecord(repo.dir, other, { checkoutDir: code.dir })).toBeUndefined();
    // How many repair rounds the model gets changes no verdict.
    const repairs = { ...input, settings: { ...settings, implementationRepairs: 0, testRepairs: 0, argumentRetries: 0 } };
    expect(readValidationRecord(repo.dir, repairs, { checkoutDir: code.dir })?.tool).toBe(spec.name);
  });

  test("other validator code finds no record; a change under tools/generated/ or to a document is no change of the code", () => {
    using repo = checkout();
    using code = validatorCheckout();
    recordValidation(repo.dir, input, passed, { checkoutDir: code.dir });
    // The same code in another folder is the same validator: the cases below differ only by the edit they make.
    using unedited = validatorCheckout();
    expect(readValidationRecord(repo.dir, input, { checkoutDir: unedited.dir })?.tool).toBe(spec.name);
    writeFileSync(join(code.dir, "tools", "generated", "word_count", "tool.ts"), "export default () => 2;\n");
    writeFileSync(join(code.dir, "README.md"), "notes\n");
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })?.tool).toBe(spec.name);
    for (const [file, text] of [
      ["toolsmith/validate-tool.ts", "export const stages = 5;\n"],
      ["package-lock.json", '{ "lockfileVersion": 3 }\n'],
      ["toolsmith/new-stage.ts", "export {};\n"],
    ] as const) {
      using again = validatorCheckout();
      writeFileSync(join(again.dir, file), text);
      expect(readValidationRecord(repo.dir, input, { checkoutDir: again.dir })).toBeUndefined();
    }
  });

  test("code changed on disk after this process began is not the code that validated: nothing is recorded", () => {
    using repo = checkout();
    using code = validatorCheckout();
    writeFileSync(join(code.dir, "toolsmith", "validate-tool.ts"), "export const stages = 7;\n");
    expect(recordValidation(repo.dir, input, passed, { checkoutDir: code.dir })).toBe(false);
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
  });

  test("a signed record whose figures miss today's thresholds is not taken", () => {
    using code = validatorCheckout();
    const weak: [string, ValidationReport][] = [
      ["a failed test", { ...passed, tests: { passed: 4, failed: 1 } }],
      ["no tests", { ...passed, tests: { passed: 0, failed: 0 } }],
      ["low coverage", { ...passed, coverage: settings.coverage - 0.01 }],
      ["no mutants", { ...passed, mutants: { total: 0, killed: 0, score: 1 } }],
      ["a low mutation score", { ...passed, mutants: { total: 10, killed: 5, score: 0.5 } }],
      ["another held-out count", { ...passed, heldOutExamples: input.heldOut.length + 1 }],
    ];
    for (const [, report] of weak) {
      using repo = checkout();
      expect(recordValidation(repo.dir, input, report, { checkoutDir: code.dir })).toBe(true);
      expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
    }
  });

  test("a failed validation is not recorded", () => {
    using repo = checkout();
    using code = validatorCheckout();
    expect(recordValidation(repo.dir, input, { ...passed, ok: false }, { checkoutDir: code.dir })).toBe(false);
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
  });

  test("a record edited by hand, written without the key, signed by another checkout or put there as a link is not trusted", () => {
    using repo = checkout();
    using code = validatorCheckout();
    using other = checkout();
    recordValidation(repo.dir, input, passed, { checkoutDir: code.dir });
    const key = validationKey(input, { checkoutDir: code.dir });
    const path = join(repo.dir, VALIDATED_DIR, `${key}.json`);
    const genuine = readFileSync(path, "utf8");

    // Edited figures: the signature no longer matches.
    writeFileSync(path, genuine.replace('"killed": 9', '"killed": 10'));
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
    // No signature at all.
    const { mac: _mac, ...unsigned } = JSON.parse(genuine);
    writeFileSync(path, JSON.stringify(unsigned));
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
    // Signed by another checkout's gate key, copied over.
    recordValidation(other.dir, input, passed, { checkoutDir: code.dir });
    writeFileSync(path, readFileSync(join(other.dir, VALIDATED_DIR, `${key}.json`)));
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
    // The genuine record behind a link.
    const elsewhere = join(repo.dir, "elsewhere.json");
    writeFileSync(elsewhere, genuine);
    rmSync(path);
    symlinkSync(elsewhere, path);
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
    // Put back as a regular file, it is read again.
    rmSync(path);
    writeFileSync(path, genuine);
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })?.tool).toBe(spec.name);
    // The genuine record filed under the key of other files (tests that pass nothing): not theirs.
    const hollow = { ...input, testCode: 'import { test } from "bun:test";\ntest("nothing", () => {});\n' };
    writeFileSync(join(repo.dir, VALIDATED_DIR, `${validationKey(hollow, { checkoutDir: code.dir })}.json`), genuine);
    expect(readValidationRecord(repo.dir, hollow, { checkoutDir: code.dir })).toBeUndefined();
  });

  test("a checkout whose records cannot be written records nothing and says so", () => {
    using repo = checkout();
    using code = validatorCheckout();
    // Something that is not a folder where the records go.
    writeFileSync(join(repo.dir, ".org"), "not a folder");
    expect(recordValidation(repo.dir, input, passed, { checkoutDir: code.dir })).toBe(false);
    expect(readValidationRecord(repo.dir, input, { checkoutDir: code.dir })).toBeUndefined();
  });

  test("only the newest records are kept", () => {
    using repo = checkout();
    using code = validatorCheckout();
    for (let index = 0; index < 70; index += 1)
      recordValidation(repo.dir, { ...input, toolCode: `${input.toolCode}// ${index}\n` }, passed, { checkoutDir: code.dir });
    const dir = join(repo.dir, VALIDATED_DIR);
    expect(readdirSync(dir).filter((name) => name.endsWith(".json")).length).toBe(64);
  });
});
