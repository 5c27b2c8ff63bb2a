import { ChannelLock } from "../../concurrency/channel-lock.ts";
import type { Ansi, TerminalText } from "../terminal/ansi.ts";
import { type Block, emptyBlock } from "./block-writer.ts";

/**
 * The blocks on one console and their turns: a block asks for the console when it has something to show
 * and gets it in that order; until then its output is buffered. Concurrent replies never interleave.
 */
export type BlockQueue = {
  readonly blocks: Map<string, Block>;
  newBlock(key: string, persona: string, toFile: boolean): Block;
  /** The block of a reply, made on first sight. */
  blockOf(replyId: string, persona: string): Block;
  /** Output to the block: to the terminal while it holds the console, else to its buffer. */
  out(block: Block, text: TerminalText): void;
  /** The block has output: it waits its turn for the console from now on. */
  request(block: Block): void;
  /** The block is done: it gives the console back once its output is out. */
  end(block: Block): void;
  /** A line that belongs to no reply (mode changes, notices), queued like a block of its own. */
  notice(text: TerminalText): void;
  /** Resolves once every block that has output has been written out in full. */
  idle(): Promise<void>;
  /** Whether a block holds the console now. */
  readonly busy: boolean;
};

export function createBlockQueue(ansi: Ansi, toTerminal: (text: TerminalText) => void): BlockQueue {
  const lock = new ChannelLock();
  const blocks = new Map<string, Block>();
  let unfinished = 0;
  let idleWaiters: (() => void)[] = [];
  let oneShots = 0;
  const settleIdle = () => {
    if (unfinished > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };
  const newBlock = (key: string, persona: string, toFile: boolean): Block => {
    const block = emptyBlock(persona, toFile);
    blocks.set(key, block);
    return block;
  };
  const request = (block: Block) => {
    if (block.requested) return;
    block.requested = true;
    unfinished += 1;
    void lock.waitForLock(Number.POSITIVE_INFINITY).then((release) => {
      block.live = true;
      const buffered = block.buffer;
      block.buffer = [];
      if (buffered.length > 0) toTerminal(ansi.join(...buffered));
      const finish = () => {
        release();
        unfinished -= 1;
        settleIdle();
      };
      if (block.ended) finish();
      else block.finish = finish;
    });
  };
  const end = (block: Block) => {
    block.ended = true;
    request(block);
    if (block.live && block.finish) block.finish();
  };
  return {
    blocks,
    newBlock,
    blockOf: (replyId, persona) => blocks.get(replyId) ?? newBlock(replyId, persona, false),
    out(block, text) {
      if (block.live) toTerminal(text);
      else block.buffer.push(text);
    },
    request,
    end,
    notice(text) {
      const block = newBlock(`·notice-${oneShots++}`, "", false);
      block.buffer.push(ansi.join(text, ansi.text("\n")));
      end(block);
    },
    idle() {
      if (unfinished === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    get busy() {
      return lock.isLocked;
    },
  };
}
