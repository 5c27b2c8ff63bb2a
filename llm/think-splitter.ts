const OPEN = "<think>";
const CLOSE = "</think>";

/** Whether `text` holds a "<": a loop, since a delta is a token or two and a call of `includes` costs more than its scan. */
function hasAngle(text: string): boolean {
  if (text.length > 64) return text.includes("<");
  for (let at = 0; at < text.length; at += 1) if (text.charCodeAt(at) === 60) return true;
  return false;
}

/**
 * Splits streamed content into text and reasoning when a model writes `<think>…</think>` into its content
 * (Ollama before v0.9, or thinking models with a raw template). Tags may arrive split across deltas.
 */
export class ThinkSplitter {
  #inside = false;
  #pending = "";
  /** After `</think>` the blank lines models put before their answer are layout, not content. */
  #afterClose = false;

  /** Whether `push(delta)` would give `delta` back whole as text and change nothing: plain text, no tag in sight. */
  passesThrough(delta: string): boolean {
    return !this.#inside && this.#pending === "" && !this.#afterClose && !hasAngle(delta);
  }

  /** `passesThrough` for a delta its reader already knows holds no "<". */
  passesThroughPlain(): boolean {
    return !this.#inside && this.#pending === "" && !this.#afterClose;
  }

  /** Feeds one delta; returns the parts that are certainly text or reasoning so far. */
  push(delta: string): { text: string; reasoning: string } {
    if (this.passesThrough(delta)) return { text: delta, reasoning: "" };
    let input = this.#pending + delta;
    this.#pending = "";
    let text = "";
    let reasoning = "";
    while (input.length > 0) {
      const tag = this.#inside ? CLOSE : OPEN;
      const at = input.indexOf(tag);
      if (at >= 0) {
        if (this.#inside) reasoning += input.slice(0, at);
        else text += this.#answerText(input.slice(0, at));
        input = input.slice(at + tag.length);
        this.#inside = !this.#inside;
        if (!this.#inside) this.#afterClose = true;
        continue;
      }
      // Hold back a tail that could be the start of a tag split across deltas.
      const keep = partialTagSuffix(input, tag);
      const safe = input.slice(0, input.length - keep);
      if (this.#inside) reasoning += safe;
      else text += this.#answerText(safe);
      this.#pending = input.slice(input.length - keep);
      break;
    }
    return { text, reasoning };
  }

  /** Ends the stream: whatever was held back is released where it belongs. */
  flush(): { text: string; reasoning: string } {
    const rest = this.#pending;
    this.#pending = "";
    return this.#inside ? { text: "", reasoning: rest } : { text: this.#answerText(rest), reasoning: "" };
  }

  #answerText(text: string): string {
    if (!this.#afterClose) return text;
    const answer = text.trimStart();
    if (answer !== "") this.#afterClose = false;
    return answer;
  }
}

function partialTagSuffix(input: string, tag: string): number {
  const longest = Math.min(tag.length - 1, input.length);
  for (let length = longest; length > 0; length -= 1) {
    if (tag.startsWith(input.slice(input.length - length))) return length;
  }
  return 0;
}
