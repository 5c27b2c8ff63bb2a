// A word-counting generated tool by name, for tests that only need one that runs (see generated-tool-fixture.ts).
import { WORD_COUNT_CODE, WORD_COUNT_TESTS, wordCountSpec, writeGeneratedTool as writeTool } from "./generated-tool-fixture.ts";

/** Writes `tools/generated/<name>/` under `checkoutDir`: a word counter with valid metadata; returns the folder. */
export function writeGeneratedTool(checkoutDir: string, name: string, code = WORD_COUNT_CODE): string {
  return writeTool(checkoutDir, wordCountSpec(name, `Counts the words of a text (${name}).`), code, WORD_COUNT_TESTS);
}
