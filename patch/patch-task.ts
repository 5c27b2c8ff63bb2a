import { readFileSync } from "node:fs";
import { z } from "zod";
import { checkOutputPattern, checkRelativePath } from "./output-paths.ts";
import { OrgError } from "../errors/org-error.ts";

/** A task file `org patch` cannot run: the message names the file, what is wrong and how to write it (exit 2). */
export class PatchTaskError extends OrgError {
  override name = "PatchTaskError";
}

/** A task file's largest size: a task is a page of prose and a yaml block, not a data set. */
export const MAX_TASK_BYTES = 256 * 1024;

const checkedPath = (check: (path: string) => string | undefined) =>
  z
    .string()
    .min(1)
    .max(1024)
    .refine((path) => check(path) === undefined, { error: (issue) => check(String(issue.input)) ?? "is not a relative path" });
const relativePath = checkedPath(checkRelativePath);
const outputPattern = checkedPath(checkOutputPattern);

/** The yaml block of a task file: what the model is asked, what it reads, what it may change, what must hold after. */
export const PatchTaskBlock = z.strictObject({
  /** What the model is asked to do; `{NAME}` is replaced by `--var NAME=value`. */
  prompt: z.string().trim().min(1, "is empty: say what the change should do").max(64_000),
  /** Files to read, relative to the context root; their text goes to the model with the prompt. */
  context: z.array(relativePath).max(64).default([]),
  /** The only paths (or globs: `*`, `**`, `[…]`, `{…,…}`, `workspace/path-glob.ts`) the patch may touch, from the repository root. */
  outputs: z.array(outputPattern).min(1, "is empty: list the paths the patch may touch").max(256),
  /** Promises the result keeps, listed to the model; "PATH exists" and "PATH is valid JSON" are also checked. */
  guarantees: z.array(z.string().trim().min(1).max(2_000)).max(64).default([]),
});
export type PatchTaskBlock = z.infer<typeof PatchTaskBlock>;

/** A task ready to run: the prompt with its variables filled in. */
export type PatchTask = PatchTaskBlock & { file: string };

const YAML_FENCE = /^(`{3,}|~{3,})[ \t]*ya?ml[ \t]*\r?\n([\s\S]*?)\r?\n\1[ \t]*$/gm;
const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Reads a task file: markdown with exactly one ```yaml block; throws PatchTaskError saying what is wrong. */
export function readPatchTask(file: string, vars: ReadonlyMap<string, string>): PatchTask {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_TASK_BYTES)
      throw new PatchTaskError(`task file ${file} is ${bytes.length} bytes; a task may have at most ${MAX_TASK_BYTES}`);
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof PatchTaskError) throw error;
    throw new PatchTaskError(
      `cannot read the task file ${file} (${error instanceof Error ? error.message : String(error)}): give --task a readable markdown file`,
    );
  }
  return parsePatchTask(text, file, vars);
}

/** Parses a task file's text (see readPatchTask); `file` only names it in messages. */
export function parsePatchTask(text: string, file: string, vars: ReadonlyMap<string, string>): PatchTask {
  const blocks = [...text.matchAll(YAML_FENCE)];
  if (blocks.length !== 1) {
    throw new PatchTaskError(
      `task file ${file} has ${blocks.length} yaml blocks; it needs exactly one: a fenced \`\`\`yaml block ` +
        `with prompt, context, outputs and guarantees`,
    );
  }
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(blocks[0]?.[2] ?? "");
  } catch (error) {
    throw new PatchTaskError(`task file ${file}: its yaml block is not valid YAML (${error instanceof Error ? error.message : String(error)})`);
  }
  const result = PatchTaskBlock.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(the block)"}: ${issue.message}`).join("; ");
    throw new PatchTaskError(
      `task file ${file}: ${problems}. The block takes prompt (text), context (paths), outputs (paths or globs) and guarantees (sentences)`,
    );
  }
  return { ...result.data, prompt: fillVariables(result.data.prompt, vars, file), file };
}

/** Replaces each `{NAME}` with its `--var`; a name with no value is an error, so no prompt goes out half-filled. */
function fillVariables(prompt: string, vars: ReadonlyMap<string, string>, file: string): string {
  const missing = [...new Set([...prompt.matchAll(VARIABLE)].map((match) => match[1] ?? "").filter((name) => !vars.has(name)))];
  if (missing.length > 0) {
    throw new PatchTaskError(
      `task file ${file}: the prompt uses ${missing.map((name) => `{${name}}`).join(", ")}: give ` +
        `${missing.map((name) => `--var ${name}=…`).join(" ")}`,
    );
  }
  return prompt.replace(VARIABLE, (_whole, name: string) => vars.get(name) ?? "");
}
