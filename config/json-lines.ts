import type { z } from "zod";

/**
 * JSON Lines read against one schema: each line (with where it stands: a line number, a byte offset, the caller's)
 * that parses and fits, in order, and where the others are (a line a crash tore, or anything else). Blank lines are
 * neither. The owners of org's JSON Lines files (the transcripts, the audit log, the call record, the MCP restart log) read theirs with it.
 */
export function readJsonLines<Where, Schema extends z.ZodType>(
  lines: Iterable<{ at: Where; text: string }>,
  schema: Schema,
): { values: { at: Where; value: z.output<Schema> }[]; damaged: Where[] } {
  const values: { at: Where; value: z.output<Schema> }[] = [];
  const damaged: Where[] = [];
  for (const { at, text } of lines) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      damaged.push(at);
      continue;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) values.push({ at, value: parsed.data });
    else damaged.push(at);
  }
  return { values, damaged };
}

/** A text's lines, each with its index, as `readJsonLines` takes them. */
export function numberedLines(text: string): { at: number; text: string }[] {
  return text.split("\n").map((line, index) => ({ at: index, text: line }));
}
