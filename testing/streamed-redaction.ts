import { StreamRedactor } from "../security/stream-redactor.ts";

/** `text` pushed through a stream redactor in pieces of `sizes` (taken in turn), and what came out, flush included. */
export function streamedRedaction(text: string, sizes: readonly number[], secrets: readonly string[] = []): string {
  const redactor = new StreamRedactor(secrets);
  let out = "";
  for (let at = 0, index = 0; at < text.length; index += 1) {
    const size = sizes[index % sizes.length] ?? 1;
    out += redactor.push(text.slice(at, at + size));
    at += size;
  }
  return out + redactor.flush();
}
