/** The most characters of one result a model is shown (a workflow's output, an MCP server's answer). */
export const MAX_OUTPUT_CHARACTERS = 30_000;

/** `text`, or its first MAX_OUTPUT_CHARACTERS with a note that says it was cut. */
export function cutOutput(text: string): string {
  return text.length > MAX_OUTPUT_CHARACTERS ? `${text.slice(0, MAX_OUTPUT_CHARACTERS)}… (output cut at ${MAX_OUTPUT_CHARACTERS} characters)` : text;
}
