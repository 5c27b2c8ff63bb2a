import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { ToolSpec } from "../generated-tools/tool-metadata.ts";
import { CLAMP } from "../testing/toolsmith-fixtures.ts";
import { splitExamples } from "./split-examples.ts";
import type { ValidationReport } from "./validate-tool.ts";
import { readValidationRecord, recordValidation, VALIDATED_DIR, type ValidatedInput, validationKey } from "./validation-record.ts";

const spec = ToolSpec.parse(CLAMP.spec);
const settings = ToolsmithSettings.parse({});
const input: ValidatedInput = { spec, heldOut: splitExamples(spec, settings.heldOutShare).heldOut, toolCode: CLAMP.tool, testCode: CLAMP.tests, settings };
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

describe("the toolsmith's signed record of a passed validation", () => {
  test("read back for exactly the same input; any other file, spec, held-out split or setting finds none", async () => {
    using repo = checkout();
    expect(await recordValidation(repo.dir, input, passed)).toBe(true);
    const record = await readValidationRecord(repo.dir, input);
    expect(record).toMatchObject({ tool: spec.name, tests: { passed: 4, failed: 0 }, coverage: 0.93, mutants: { killed: 9, total: 10 } });
    expect(record?.key).toBe((await validationKey(input)) as string);

    const others: ValidatedInput[] = [
      { ...input, toolCode: `${input.toolCode}\n` },
      { ...input, testCode: input.testCode.replace("test(", "test.skip(") },
      { ...input, spec: { ...spec, description: `${spec.description} ` } },
      { ...input, heldOut: [] },
      { ...input, settings: { ...settings, mutants: settings.mutants + 1 } },
    ];
    for (const other of others) expect(await readValidationRecord(repo.dir, other)).toBeUndefined();
  });

  test("a failed validation is not recorded", async () => {
    using repo = checkout();
    expect(await recordValidation(repo.dir, input, { ...passed, ok: false })).toBe(false);
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
  });

  test("a record edited by hand, written without the key, signed by another checkout or put there as a link is not trusted", async () => {
    using repo = checkout();
    using other = checkout();
    await recordValidation(repo.dir, input, passed);
    const key = (await validationKey(input)) as string;
    const path = join(repo.dir, VALIDATED_DIR, `${key}.json`);
    const genuine = readFileSync(path, "utf8");

    // Edited figures: the signature no longer matches.
    writeFileSync(path, genuine.replace('"killed": 9', '"killed": 10'));
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
    // No signature at all.
    const { mac: _mac, ...unsigned } = JSON.parse(genuine);
    writeFileSync(path, JSON.stringify(unsigned));
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
    // Signed by another checkout's gate key, copied over.
    await recordValidation(other.dir, input, passed);
    writeFileSync(path, readFileSync(join(other.dir, VALIDATED_DIR, `${key}.json`)));
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
    // The genuine record behind a link.
    const elsewhere = join(repo.dir, "elsewhere.json");
    writeFileSync(elsewhere, genuine);
    rmSync(path);
    symlinkSync(elsewhere, path);
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
    // Put back as a regular file, it is read again.
    rmSync(path);
    writeFileSync(path, genuine);
    expect((await readValidationRecord(repo.dir, input))?.tool).toBe(spec.name);
  });

  test("a checkout whose records cannot be written records nothing and says so", async () => {
    using repo = checkout();
    // Something that is not a folder where the records go.
    writeFileSync(join(repo.dir, ".org"), "not a folder");
    expect(await recordValidation(repo.dir, input, passed)).toBe(false);
    expect(await readValidationRecord(repo.dir, input)).toBeUndefined();
  });

  test("only the newest records are kept", async () => {
    using repo = checkout();
    for (let index = 0; index < 70; index += 1) await recordValidation(repo.dir, { ...input, toolCode: `${input.toolCode}// ${index}\n` }, passed);
    const dir = join(repo.dir, VALIDATED_DIR);
    expect(readdirSync(dir).filter((name) => name.endsWith(".json")).length).toBe(64);
  });
});
