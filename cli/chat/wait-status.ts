import type { Ansi, TerminalText } from "../terminal/ansi.ts";
import type { Block } from "./block-writer.ts";
import { SLOW_FIRST_BYTE_MS, waitingText } from "./reply-lines.ts";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Who is still waiting for a model, said while nothing else is: with colour a spinner line that updates
 * every 100 ms, without it one line per long silence. The timer stops once nobody waits.
 */
export function createWaitStatus(options: {
  ansi: Ansi;
  blocks: () => Iterable<Block>;
  now: () => number;
  /** Whether the status line may be drawn now (no block holds the console, no question is open). */
  mayDraw: () => boolean;
  /** Whether a question holds the output (the status line is then left as it is). */
  holding: () => boolean;
  showStatus: (text: TerminalText) => void;
  clearStatus: () => void;
  notice: (text: TerminalText) => void;
}): { start(): void } {
  const { ansi, now } = options;
  let timer: ReturnType<typeof setInterval> | undefined;
  let frame = 0;
  const waitText = (block: Block) => waitingText(block.persona, block.waiting ?? "first-token", now() - block.waitingSince);
  const sayLongSilences = (waiting: Block[]) => {
    for (const block of waiting) {
      if (block.slowSaid || block.waiting !== "first-token" || now() - block.waitingSince < SLOW_FIRST_BYTE_MS) continue;
      block.slowSaid = true;
      options.notice(ansi.text(`· ${waitText(block)}`, "gray"));
    }
  };
  const tick = () => {
    const waiting = [...options.blocks()].filter((block) => block.waiting && !block.requested);
    if (waiting.length === 0) {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (!options.holding()) options.clearStatus();
      return;
    }
    // Without a spinner, a long silence is said once, as a line of its own.
    if (!ansi.color) return sayLongSilences(waiting);
    if (!options.mayDraw()) return;
    frame = (frame + 1) % SPINNER.length;
    options.showStatus(ansi.text(`${SPINNER[frame]} ${waiting.map(waitText).join(" · ")}`, "gray"));
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(tick, 100);
      timer.unref?.();
    },
  };
}
