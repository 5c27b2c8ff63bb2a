import { join } from "node:path";
import { z } from "zod";
import { errorCode } from "../concurrency/error-code.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { sealValue, valueSealHolds } from "../config/trust-store.ts";
import { TELEGRAM_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

/** A chat's message taken from Telegram and not yet begun: kept so a restart still answers it, once. */
const TakenMessage = z.object({ updateId: z.number().int(), chatId: z.string(), text: z.string().max(16_384) });
export type TakenMessage = z.infer<typeof TakenMessage>;

/**
 * A message whose turn was running: once a persona began to answer it (`replied`), a restart tells its chat the answer
 * was cut and never runs it again; before that, nothing of it was said or run, and a restart runs it.
 */
const Begun = z.object({
  updateId: z.number().int(),
  excerpt: z.string().max(200),
  text: z.string().max(16_384).optional(),
  replied: z.boolean().default(true),
});

/** Chats seen that are not allowed, each audited once; at most this many remembered. */
const MAX_STRANGERS = 1_000;

const StateFile = z.object({
  /** The next update id to ask for: every update before it was taken (and is confirmed to Telegram by the next poll). */
  offset: z.number().int().min(0).default(0),
  /** Each allowed chat's room session. */
  chats: z.record(z.string(), z.string()).default({}),
  strangers: z.array(z.string()).max(MAX_STRANGERS).default([]),
  taken: z.array(TakenMessage).max(10_000).default([]),
  begun: z.record(z.string(), Begun).default({}),
});
export type TelegramStateFile = z.infer<typeof StateFile>;

const SEAL_LABEL = "telegram state";

/**
 * `.org/telegram/state.json`, written whole and durably (a new file fsynced, renamed over the old) before any update it
 * takes is acted on: a restart or a kill -9 asks Telegram for the updates after `offset` only, runs what was taken and
 * not begun, and says of what was begun that its answer was cut. So each update is handled once. The file carries the
 * user's seal (the key in the user's org folder): one the user's org did not write (committed to a clone, unpacked
 * from an archive, changed since) is not believed, and the bot starts afresh rather than run its messages as turns.
 */
export class TelegramState {
  readonly #path: string;
  readonly #home: string | undefined;
  #state: TelegramStateFile;
  /** The file there was not sealed by the user's org, and was set aside. */
  readonly unsealed: boolean;

  private constructor(path: string, home: string | undefined, state: TelegramStateFile, unsealed: boolean) {
    this.#path = path;
    this.#home = home;
    this.#state = state;
    this.unsealed = unsealed;
  }

  /**
   * Reads the workspace's state (a new one when there is none, or when the file is not sealed under `home`'s key);
   * throws on a file that is not org's.
   */
  static open(workspaceDir: string, home: string | undefined): TelegramState {
    const dir = ensurePrivateDir(join(workspaceDir, TELEGRAM_DIR));
    const path = join(dir, "state.json");
    let text: string | undefined;
    try {
      text = readPrivateFile(path);
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
    const raw: unknown = text === undefined ? undefined : JSON.parse(text);
    const parsed = raw === undefined ? undefined : StateFile.safeParse(raw);
    if (parsed && !parsed.success)
      throw new Error(`${path} is not org telegram's state (${parsed.error.issues[0]?.message}); move it aside and start again.`);
    const sealed = parsed?.success === true && sealHolds(home, raw, parsed.data);
    return new TelegramState(path, home, sealed ? parsed.data : StateFile.parse({}), parsed !== undefined && !sealed);
  }

  get offset(): number {
    return this.#state.offset;
  }

  sessionOf(chatId: string): string | undefined {
    return this.#state.chats[chatId];
  }

  /** Whether this stranger's chat was audited before; marks it seen. */
  firstSightOf(chatId: string): boolean {
    if (this.#state.strangers.includes(chatId)) return false;
    this.#state.strangers = [...this.#state.strangers, chatId].slice(-MAX_STRANGERS);
    return true;
  }

  taken(): readonly TakenMessage[] {
    return this.#state.taken;
  }

  begun(): readonly (z.infer<typeof Begun> & { chatId: string })[] {
    return Object.entries(this.#state.begun).map(([chatId, begun]) => ({ chatId, ...begun }));
  }

  /** Changes the state in memory; `save` writes it. */
  update(change: (state: TelegramStateFile) => void): void {
    change(this.#state);
  }

  /** Writes the state whole, durably, sealed (unsealed when the user has no org folder: a restart then starts afresh). */
  save(): void {
    let seal: string | undefined;
    try {
      seal = sealValue(this.#home, SEAL_LABEL, canonicalJson(this.#state));
    } catch {
      seal = undefined;
    }
    writePrivateFile(this.#path, `${JSON.stringify({ ...this.#state, ...(seal !== undefined ? { seal } : {}) })}\n`, { durable: true });
  }
}

/** Whether the file's `seal` is the user's seal of the state it holds. */
function sealHolds(home: string | undefined, raw: unknown, state: TelegramStateFile): boolean {
  const seal = typeof raw === "object" && raw !== null && "seal" in raw ? raw.seal : undefined;
  return typeof seal === "string" && valueSealHolds(home, SEAL_LABEL, canonicalJson(state), seal);
}
