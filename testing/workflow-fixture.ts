import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import { writeGeneratedTool } from "./generated-tool-fixture.ts";

const object = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });
const spec = (
  name: string,
  description: string,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
  examples: ToolSpec["examples"],
): ToolSpec => ({
  name,
  description,
  input_schema: object(input),
  output_schema: object(output),
  examples,
  deterministic: true,
  capabilities: { network: false, filesystem: "none" },
});

/** Three real generated tools (split_lines, word_count, shout — which throws on "boom") in a throw-away workspace. */
export function workflowWorkspace(prefix = "org-workflow-"): { dir: string; write(file: string, workflow: unknown): string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // When tests run as root the sandbox drops to another uid, which must pass through the workspace.
  chmodSync(dir, 0o755);
  writeGeneratedTool(
    dir,
    spec(
      "split_lines",
      "Splits a text into its non-empty lines.",
      { text: { type: "string" } },
      { lines: { type: "array", items: { type: "string" } } },
      [
        { input: { text: "a\nb" }, output: { lines: ["a", "b"] } },
        { input: { text: "" }, output: { lines: [] } },
      ],
    ),
    `export default (input: { text: string }) => ({ lines: input.text.split("\\n").filter((line) => line.trim() !== "") });\n`,
  );
  writeGeneratedTool(
    dir,
    spec("word_count", "Counts the words in a text.", { text: { type: "string" } }, { words: { type: "integer" } }, [
      { input: { text: "a b" }, output: { words: 2 } },
      { input: { text: "" }, output: { words: 0 } },
    ]),
    `export default (input: { text: string }) => ({ words: input.text.split(/\\s+/).filter(Boolean).length });\n`,
  );
  writeGeneratedTool(
    dir,
    spec("shout", "Upper-cases a text; refuses the word boom.", { text: { type: "string" } }, { text: { type: "string" } }, [
      { input: { text: "hi" }, output: { text: "HI" } },
      { input: { text: "a" }, output: { text: "A" } },
    ]),
    `export default (input: { text: string }) => { if (input.text.includes("boom")) throw new Error("boom is ` +
      `not allowed"); return { text: input.text.toUpperCase() }; };\n`,
  );
  return {
    dir,
    write(file, workflow) {
      const path = join(dir, file);
      writeFileSync(path, typeof workflow === "string" ? workflow : JSON.stringify(workflow, null, 2));
      return path;
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The inputs schema `{ text: string, loud: boolean }` most test workflows take. */
export const TEXT_AND_LOUD = { type: "object", properties: { text: { type: "string" }, loud: { type: "boolean" } }, required: ["text", "loud"] };
