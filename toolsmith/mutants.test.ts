import { describe, expect, test } from "bun:test";
import ts from "typescript";
import { makeMutants } from "./mutants.ts";

const CODE = `import { z } from "zod";
const Input = z.object({ text: z.string() });
export default function (input: unknown): { words: number } {
  const { text } = Input.parse(input);
  const trimmed = text.trim();
  if (trimmed === "") return { words: 0 };
  return { words: trimmed.split(/\\s+/).length };
}
`;

describe("mutants from the syntax tree", () => {
  test("a small tool gives at least 10 distinct mutants, each still parseable and different from the original", () => {
    const mutants = makeMutants(CODE, 16);
    expect(mutants.length).toBeGreaterThanOrEqual(10);
    expect(new Set(mutants.map((mutant) => mutant.code)).size).toBe(mutants.length);
    for (const mutant of mutants) {
      expect(mutant.code).not.toBe(CODE);
      const source = ts.createSourceFile("m.ts", mutant.code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
      expect((source as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics).toEqual([]);
    }
    expect(mutants.some((mutant) => mutant.description.includes("=== → !=="))).toBe(true);
  });

  test("the import of zod is never mutated, and the same code gives the same mutants", () => {
    for (const mutant of makeMutants(CODE, 16)) expect(mutant.code).toContain('import { z } from "zod";');
    expect(makeMutants(CODE, 5)).toEqual(makeMutants(CODE, 5));
    expect(makeMutants(CODE, 5)).toHaveLength(5);
  });
});
