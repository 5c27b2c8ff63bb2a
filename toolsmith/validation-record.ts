import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { canonicalJson, ensureFitnessDir, FITNESS_DIR, gateKey, readRegularFile, signContent, verifyContent } from "../git/gate-key.ts";
import { RepoGit } from "../git/repo-git.ts";
import { sha256Hex, type ToolExample, type ToolSpec } from "../generated-tools/tool-metadata.ts";
import { ensurePrivateDir, writePrivateFile } from "../security/private-state.ts";
import type { ValidationReport } from "./validate-tool.ts";

/** `.org/fitness/validated/<key>.json`: a validation this checkout's toolsmith passed, signed with the gate key. */
export const VALIDATED_DIR = join(FITNESS_DIR, "validated");
const KEPT = 64;
const MAX_BYTES = 64 * 1024;
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Count = z.number().int().min(0);
const ValidationRecord = z.strictObject({
  version: z.literal(1),
  key: Sha256,
  tool: z.string().max(200),
  validatedAt: z.string().max(40),
  tests: z.strictObject({ passed: Count, failed: Count }),
  coverage: z.number().min(0).max(1),
  mutants: z.strictObject({ total: Count, killed: Count, score: z.number().min(0).max(1) }),
  determinismRuns: Count,
  heldOutExamples: Count,
});
export type ValidationRecord = z.infer<typeof ValidationRecord>;
const SignedRecord = ValidationRecord.extend({ mac: Sha256 });

/** What a validation's outcome depends on besides the code that runs it. */
export type ValidatedInput = { spec: ToolSpec; heldOut: ToolExample[]; toolCode: string; testCode: string; settings: ToolsmithSettings };

let identity: Promise<string | undefined> | undefined;

/**
 * The code that validates, hashed: every file git tracks in the checkout org runs from (outside
 * `tools/generated/`), as it is on disk now, so uncommitted edits count; package-lock.json with it (the compiler,
 * zod and the test types the sandbox reads come from node_modules), and the bun running. Undefined when the
 * checkout is no git repository: then nothing is recorded or trusted. Computed once per process.
 */
export function validatorIdentity(): Promise<string | undefined> {
  identity ??= (async () => {
    try {
      const listed = await new RepoGit(CHECKOUT_DIR).run(["ls-files", "-z", "--cached", "--", "."]);
      const files = listed
        .split("\0")
        .filter((path) => path !== "" && !path.startsWith(`${GENERATED_TOOLS_DIR}/`))
        .sort();
      const hashed = files.map((path) => {
        try {
          return `${path}\0${sha256Hex(readFileSync(join(CHECKOUT_DIR, path)))}`;
        } catch {
          return `${path}\0absent`;
        }
      });
      return sha256Hex(canonicalJson({ version: 1, files: hashed, bun: `${Bun.version} ${Bun.revision}` }));
    } catch {
      return undefined;
    }
  })();
  return identity;
}

/**
 * The key of one validation: the validator's identity, and everything the validation is given (the spec with its
 * examples, which of them are held out, both sources, the toolsmith's settings). Undefined without an identity.
 */
export async function validationKey(input: ValidatedInput): Promise<string | undefined> {
  const validator = await validatorIdentity();
  if (validator === undefined) return undefined;
  const { spec, heldOut, toolCode, testCode, settings } = input;
  return sha256Hex(canonicalJson({ version: 1, validator, spec, heldOut, tool: sha256Hex(toolCode), tests: sha256Hex(testCode), settings }));
}

/**
 * Records, signed with the gate key of `repoDir`, that a validation passed, and keeps the newest few records.
 * Whether it was recorded: a checkout whose gate key or folder cannot be used records nothing, and the gate then
 * validates again, as it would without a record.
 */
export async function recordValidation(repoDir: string, input: ValidatedInput, report: ValidationReport): Promise<boolean> {
  const key = await validationKey(input);
  if (key === undefined || !report.ok) return false;
  const record = ValidationRecord.parse({
    version: 1,
    key,
    tool: input.spec.name,
    validatedAt: new Date().toISOString(),
    tests: report.tests,
    coverage: report.coverage,
    mutants: report.mutants,
    determinismRuns: report.determinismRuns,
    heldOutExamples: report.heldOutExamples,
  });
  try {
    const mac = signContent(gateKey(repoDir, true) as Buffer, record);
    ensureFitnessDir(repoDir);
    const dir = ensurePrivateDir(join(repoDir, VALIDATED_DIR));
    writePrivateFile(join(dir, `${key}.json`), `${JSON.stringify({ ...record, mac }, null, 2)}\n`);
    const older = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && /^[0-9a-f]{64}\.json$/.test(entry.name))
      .map((entry) => ({ name: entry.name, time: statSync(join(dir, entry.name)).mtimeMs }))
      .sort((a, b) => b.time - a.time)
      .slice(KEPT);
    for (const { name } of older) rmSync(join(dir, name), { force: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The passed validation of exactly `input` by this code, recorded by this checkout's toolsmith and signed with its
 * gate key, or undefined: none, unsigned, signed by another key, malformed, or made by other code.
 */
export async function readValidationRecord(repoDir: string, input: ValidatedInput): Promise<ValidationRecord | undefined> {
  const key = await validationKey(input);
  if (key === undefined) return undefined;
  const read = readRegularFile(join(repoDir, VALIDATED_DIR, `${key}.json`), MAX_BYTES);
  if (!read.ok) return undefined;
  try {
    const gate = gateKey(repoDir, false);
    const { mac, ...record } = SignedRecord.parse(JSON.parse(read.text));
    if (!gate || record.key !== key || record.tool !== input.spec.name || !verifyContent(gate, record, mac)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}
