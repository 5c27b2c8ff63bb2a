import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkRelativePath } from "./output-paths.ts";

/** A guarantee org can check on the model's copy, read from the sentence that states it. */
export type CheckableGuarantee = { kind: "exists" | "json"; path: string; text: string };

// "src/a.ts exists", "file `out.json` exists"; "`out.json` is valid JSON", "valid JSON: out.json".
const EXISTS = /^(?:the\s+)?(?:file\s+)?`?([^\s`]+)`?\s+exists\.?$/i;
const JSON_FILE = /^(?:the\s+)?(?:file\s+)?`?([^\s`]+)`?\s+is\s+valid\s+json\.?$|^valid\s+json:\s*`?([^\s`]+)`?\.?$/i;
/** JSON files this large are not read to check them (the patch refuses them anyway). */
const MAX_CHECKED_BYTES = 16 * 1024 * 1024;

// "file exists", "the outputs exist"; "valid JSON", "outputs are valid JSON": said of every output named exactly.
const EXISTS_ALL = /^(?:the\s+)?(?:output\s+)?(?:files?|outputs?)\s+exists?\.?$/i;
const JSON_ALL = /^(?:(?:the\s+)?(?:output\s+)?(?:files?|outputs?)\s+(?:is|are)\s+)?valid\s+json\.?$/i;
const GLOB = /[*?[\]{}]/;

/**
 * The checks a sentence states, when org can make them: "PATH exists", "PATH is valid JSON", or the same said
 * of the outputs ("file exists", "valid JSON": each output named exactly, the `.json` ones for JSON). An empty
 * list: the sentence is only told to the model.
 */
export function checkableGuarantees(text: string, outputs: readonly string[]): CheckableGuarantee[] {
  const trimmed = text.trim();
  const exact = outputs.filter((output) => !GLOB.test(output));
  if (EXISTS_ALL.test(trimmed)) return exact.map((path) => ({ kind: "exists", path, text: trimmed }));
  if (JSON_ALL.test(trimmed))
    return exact.filter((path) => path.toLowerCase().endsWith(".json")).map((path) => ({ kind: "json", path, text: trimmed }));
  const exists = EXISTS.exec(trimmed)?.[1];
  if (exists !== undefined && checkRelativePath(exists) === undefined) return [{ kind: "exists", path: exists, text: trimmed }];
  const jsonMatch = JSON_FILE.exec(trimmed);
  const json = jsonMatch?.[1] ?? jsonMatch?.[2];
  if (json !== undefined && checkRelativePath(json) === undefined) return [{ kind: "json", path: json, text: trimmed }];
  return [];
}

/** What is broken of `guarantee` in the tree at `root` (a regular file only; links are not followed), or undefined when it holds. */
export function brokenGuarantee(root: string, guarantee: CheckableGuarantee): string | undefined {
  const file = join(root, guarantee.path);
  let size: number;
  try {
    const stat = lstatSync(file);
    if (!stat.isFile()) return `"${guarantee.text}" does not hold: ${guarantee.path} is not a regular file`;
    size = stat.size;
  } catch {
    return `"${guarantee.text}" does not hold: ${guarantee.path} does not exist`;
  }
  if (guarantee.kind === "exists") return undefined;
  if (size > MAX_CHECKED_BYTES) return `"${guarantee.text}" does not hold: ${guarantee.path} is ${size} bytes, too big to check`;
  try {
    JSON.parse(readFileSync(file, "utf8"));
    return undefined;
  } catch (error) {
    return `"${guarantee.text}" does not hold: ${guarantee.path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`;
  }
}
