/**
 * A text streamed in many small parts, joined at the end. The parts of one read are joined as soon as the read is done,
 * while the read's text is still in the cache: left to the end, joining 50 000 one-token parts cut from 10 MB of reads
 * cost a cache miss a part, more than reading the events did, and every part kept its whole read alive until then.
 */
export class TextParts {
  #recent: string[] = [];
  readonly #settled: string[] = [];

  push(text: string): void {
    this.#recent.push(text);
  }

  /** Joins the parts pushed since the last call into one. */
  settle(): void {
    if (this.#recent.length === 0) return;
    this.#settled.push(this.#recent.join(""));
    this.#recent = [];
  }

  /** The whole text so far. */
  text(): string {
    this.settle();
    return this.#settled.join("");
  }
}
