/**
 * Keeps the head and the tail of one output stream within a byte budget and counts what it cut. Both streams
 * of a process must be drained at once (one capture each), or a flood on one blocks the other.
 */
export class OutputCapture {
  private readonly head: Uint8Array[] = [];
  private headBytes = 0;
  private tail: Uint8Array[] = [];
  private tailBytes = 0;
  /** Every byte the stream produced, kept or not. */
  totalBytes = 0;

  constructor(
    readonly name: string,
    private readonly keepBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    this.totalBytes += chunk.byteLength;
    const headBudget = Math.ceil(this.keepBytes / 2);
    if (this.headBytes < headBudget) {
      const take = Math.min(headBudget - this.headBytes, chunk.byteLength);
      this.head.push(chunk.slice(0, take));
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.byteLength === 0) return;
    }
    const tailBudget = this.keepBytes - headBudget;
    if (tailBudget <= 0) return;
    this.tail.push(chunk.byteLength > tailBudget ? chunk.slice(chunk.byteLength - tailBudget) : chunk.slice());
    this.tailBytes += Math.min(chunk.byteLength, tailBudget);
    while (this.tail.length > 1 && this.tailBytes - (this.tail[0]?.byteLength ?? 0) >= tailBudget) {
      this.tailBytes -= this.tail.shift()?.byteLength ?? 0;
    }
  }

  get keptBytes(): number {
    return this.headBytes + Math.min(this.tailBytes, this.keepBytes - Math.ceil(this.keepBytes / 2));
  }

  get truncated(): boolean {
    return this.totalBytes > this.keptBytes;
  }

  /** The kept text; where bytes were cut, a line says how many. Invalid UTF-8 becomes U+FFFD. */
  text(): string {
    const decode = (parts: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(parts));
    if (!this.truncated) return decode([...this.head, ...this.tail]);
    const tailBudget = this.keepBytes - Math.ceil(this.keepBytes / 2);
    let tail = Buffer.concat(this.tail);
    if (tail.byteLength > tailBudget) tail = tail.subarray(tail.byteLength - tailBudget);
    const cut = this.totalBytes - this.headBytes - tail.byteLength;
    return `${decode(this.head)}\n[… ${cut} bytes of ${this.name} cut …]\n${decode([tail])}`;
  }
}

/**
 * Reads a stream to its end into `capture`, calling `onBytes` after each chunk (for a global output budget).
 * `stop` ends the reading early, keeping what was read: a process that left a child holding its pipe must
 * not keep the caller waiting for an end that may never come.
 */
export async function drainInto(
  stream: ReadableStream<Uint8Array> | null | undefined,
  capture: OutputCapture,
  onBytes: () => void,
  stop?: AbortSignal,
): Promise<void> {
  if (!stream) return;
  const reader = stream.getReader();
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  if (stop?.aborted) cancel();
  else stop?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      capture.push(value);
      onBytes();
    }
  } catch {
    // The process was killed mid-read; what was read so far stays.
  } finally {
    stop?.removeEventListener("abort", cancel);
  }
}
