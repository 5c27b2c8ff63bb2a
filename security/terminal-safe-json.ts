// JSON.stringify escapes C0 controls but leaves DEL, C1 controls (U+009B is a one-character CSI) and bidi
// controls raw; these become \uXXXX escapes, which JSON reads back as the same string.
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** One line of JSON that is safe to print on a terminal and parses back to the same value. */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
