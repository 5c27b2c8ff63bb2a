import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { canonicalJson, ensureFitnessDir, FITNESS_DIR, gateKey, readRegularFile, signContent, verifyContent } from "../git/gate-key.ts";
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

/** The files that make up org's code and its configuration; documents and data are left out. */
const CODE_FILE = /\.(?:ts|tsx|js|mjs|cjs|json|toml)$/;

/**
 * The code that validates, hashed: every code and configuration file of the checkout org runs from as it is on
 * disk (package.json, package-lock.json, bunfig.toml and tsconfig.json among them), outside `tools/generated/`,
 * dot-folders and node_modules, and the bun running. The walk reads file types from the directory listings and never
 * opens `tools/generated/`, so computing it touches nothing a candidate can change (the gate's trace counts a test
 * that does as one that reads the candidate's tools).
 */
export function validatorIdentity(checkoutDir: string = CHECKOUT_DIR): string {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(checkoutDir, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules" && path !== GENERATED_TOOLS_DIR) walk(path);
      } else if (entry.isFile() && CODE_FILE.test(entry.name)) {
        files.push(`${path}\0${sha256Hex(readFileSync(join(checkoutDir, path)))}`);
      }
    }
  };
  walk("");
  return sha256Hex(canonicalJson({ version: 1, files: files.sort(), bun: `${Bun.version} ${Bun.revision}` }));
}

/**
 * The key of one validation: the validator's identity, and everything the validation is given (the spec with its
 * examples, which of them are held out, both sources, the toolsmith's settings).
 */
export function validationKey(input: ValidatedInput, checkoutDir: string = CHECKOUT_DIR): string {
  const validator = validatorIdentity(checkoutDir);
  const { spec, heldOut, toolCode, testCode, settings } = input;
  return sha256Hex(canonicalJson({ version: 1, validator, spec, heldOut, tool: sha256Hex(toolCode), tests: sha256Hex(testCode), settings }));
}

/**
 * Records, signed with the gate key of `repoDir`, that a validation passed by the code of `checkoutDir` (the checkout
 * org runs from), and keeps the newest few records. Whether it was recorded: a checkout whose gate key or folder
 * cannot be used records nothing, and the gate then validates again, as it would without a record.
 */
export function recordValidation(repoDir: string, input: ValidatedInput, report: ValidationReport, checkoutDir: string = CHECKOUT_DIR): boolean {
  if (!report.ok) return false;
  try {
    const key = validationKey(input, checkoutDir);
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
export function readValidationRecord(repoDir: string, input: ValidatedInput, checkoutDir: string = CHECKOUT_DIR): ValidationRecord | undefined {
  try {
    const key = validationKey(input, checkoutDir);
    const read = readRegularFile(join(repoDir, VALIDATED_DIR, `${key}.json`), MAX_BYTES);
    if (!read.ok) return undefined;
    const gate = gateKey(repoDir, false);
    const { mac, ...record } = SignedRecord.parse(JSON.parse(read.text));
    if (!gate || record.key !== key || record.tool !== input.spec.name || !verifyContent(gate, record, mac)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}
