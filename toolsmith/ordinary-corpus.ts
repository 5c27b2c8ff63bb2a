// The ordinary corpus (ordinary-corpus.md): tools and tests written the way small models write them, which must all
// pass the static policy and the whole validation. Read from markdown so the sources stay as a model sends them,
// fences and prose included.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { type ToolSpec, toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { readSubmittedSource } from "./submitted-source.ts";

/** One tool of the corpus: its spec, the habit it shows, and the two submissions as a model sends them. */
export type OrdinaryTool = { name: string; habit: string; spec: ToolSpec; tool: string; tests: string };

const SECTION = /^## ([a-z][a-z0-9_]*)\n([\s\S]*?)(?=^## |(?![\s\S]))/gm;
const FIELD = (name: string) => new RegExp(`^${name}: (.*)$`, "m");
const SUBMISSION = (file: string) => new RegExp(`^~~~~ ${file.replace(".", "\\.")}\\n([\\s\\S]*?)^~~~~$`, "m");

function field(body: string, name: string, tool: string): string {
  const value = FIELD(name).exec(body)?.[1];
  if (value === undefined) throw new Error(`ordinary-corpus.md: ${tool} has no '${name}:' line`);
  return value;
}

function submission(body: string, file: string, tool: string): string {
  const value = SUBMISSION(file).exec(body)?.[1];
  if (value === undefined) throw new Error(`ordinary-corpus.md: ${tool} has no '~~~~ ${file}' block`);
  return value;
}

/** The corpus, parsed and its specs checked; throws naming the tool and the line that is wrong. */
export function ordinaryCorpus(): OrdinaryTool[] {
  const text = readFileSync(join(CHECKOUT_DIR, "toolsmith", "ordinary-corpus.md"), "utf8");
  return [...text.matchAll(SECTION)].map(([, name = "", body = ""]) => {
    const examples = (JSON.parse(field(body, "examples", name)) as [unknown, unknown][]).map(([input, output]) => ({ input, output }));
    const spec = toolMetadataSchemas().ToolSpec.parse({
      name,
      description: field(body, "description", name),
      input_schema: { type: "object", properties: JSON.parse(field(body, "input", name)), additionalProperties: false },
      output_schema: { type: "object", properties: { result: {} }, required: ["result"], additionalProperties: false },
      examples,
      deterministic: true,
      capabilities: { network: false, filesystem: "none" },
    });
    spec.input_schema.required = Object.keys(spec.input_schema.properties as object);
    return { name, habit: field(body, "habit", name), spec, tool: submission(body, "tool.ts", name), tests: submission(body, "tool.test.ts", name) };
  });
}

/** A corpus tool's two files as the toolsmith reads them from the model (fences and prose undone). */
export function submittedSources(tool: OrdinaryTool): { toolCode: string; testCode: string } {
  const toolCode = readSubmittedSource(tool.tool, "tool.ts");
  const testCode = readSubmittedSource(tool.tests, "tool.test.ts");
  if (!toolCode.ok) throw new Error(`${tool.name}: tool.ts: ${toolCode.problem}`);
  if (!testCode.ok) throw new Error(`${tool.name}: tool.test.ts: ${testCode.problem}`);
  return { toolCode: toolCode.code, testCode: testCode.code };
}
