import type { ToolMetadata } from "../generated-tools/tool-metadata.ts";

// A tool's metadata is model-made: each indexed field is capped so one huge tool cannot bloat the index
// or drown every other tool's score.
const FIELD_LIMIT = 4_000;
const EMBED_LIMIT = 2_000;

/** What the registry indexes of one generated tool. */
export type ToolDocument = {
  name: string;
  description: string;
  /** Input and output schema field names and their descriptions, as words. */
  fields: string;
  /** The examples' inputs and outputs as JSON text. */
  examples: string;
  /** The text embedded for similarity search (without the model's task prefix). */
  embedText: string;
  /** sha256 of `embedText`: the embedding cache's key. */
  embedHash: string;
};

const cap = (text: string, limit: number) => (text.length > limit ? text.slice(0, limit) : text);

/** Field names and descriptions of a JSON Schema, depth-first, bounded in depth and count. */
function schemaWords(schema: unknown, out: string[], depth = 0): void {
  if (depth > 6 || out.length > 200 || typeof schema !== "object" || schema === null) return;
  const node = schema as Record<string, unknown>;
  if (typeof node.title === "string") out.push(node.title);
  if (typeof node.description === "string") out.push(node.description);
  const properties = node.properties;
  if (typeof properties === "object" && properties !== null && !Array.isArray(properties)) {
    for (const [key, value] of Object.entries(properties)) {
      out.push(key);
      schemaWords(value, out, depth + 1);
    }
  }
  for (const nested of [node.items, ...(Array.isArray(node.anyOf) ? node.anyOf : []), ...(Array.isArray(node.oneOf) ? node.oneOf : [])]) {
    schemaWords(nested, out, depth + 1);
  }
}

/** The document the registry indexes for a validated metadata.json. */
export function toolDocument(metadata: ToolMetadata): ToolDocument {
  const spec = metadata.spec;
  const words: string[] = [];
  schemaWords(spec.input_schema, words);
  schemaWords(spec.output_schema, words);
  const fields = cap(words.join(" "), FIELD_LIMIT);
  const examples = cap(spec.examples.map((example) => `${JSON.stringify(example.input)} ${JSON.stringify(example.output)}`).join("\n"), FIELD_LIMIT);
  const description = cap(spec.description, FIELD_LIMIT);
  const embedText = cap(`${spec.name.replace(/_/g, " ")}: ${description} Fields: ${fields}`, EMBED_LIMIT);
  return { name: spec.name, description, fields, examples, embedText, embedHash: new Bun.CryptoHasher("sha256").update(embedText).digest("hex") };
}
