// A count with its noun as a person reads it: "1 line", "2 lines", "0 files". One helper for every message that counts.

/** `count` and `noun`, the noun plural (`plural`, else `noun` + "s") unless the count is exactly 1. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
