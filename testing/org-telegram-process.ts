import { orgCommand } from "../config/org-bun-command.ts";

/** A real `org telegram` (or `org serve --telegram`) child process: what it wrote to stderr so far, and how to stop it. */
export type OrgTelegramProcess = {
  child: ReturnType<typeof Bun.spawn>;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<number>;
};

/**
 * Starts `org <args>` (e.g. `telegram --workspace DIR`) against the model server at `modelUrl`, with `env` on top (its
 * TELEGRAM_BOT_TOKEN among them), and waits (at most 60 s) until its log says the bot polls, or it exits. Killed when it
 * does neither.
 */
export async function startOrgTelegram(options: {
  args: string[];
  modelUrl: string;
  env: Record<string, string>;
  waitReady?: boolean;
}): Promise<OrgTelegramProcess> {
  const child = Bun.spawn(orgCommand(options.args), {
    env: { ...process.env, OLLAMA_BASE: options.modelUrl, OLLAMA_MODEL: "qwen3:8b", NO_COLOR: "1", ORG_PROFILE: "dev", ...options.env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  let text = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr as ReadableStream<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  })();
  let out = "";
  const outDecoder = new TextDecoder();
  void (async () => {
    for await (const chunk of child.stdout as ReadableStream<Uint8Array>) out += outDecoder.decode(chunk, { stream: true });
  })();
  const exited = child.exited.then(async (code) => {
    await reading;
    return code;
  });
  if (options.waitReady !== false) {
    const deadline = Date.now() + 60_000;
    let done = false;
    void exited.then(() => (done = true));
    while (!/telegram: @\S* polls/.test(text) && !done) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`org ${options.args.join(" ")} did not start polling within 60 s: ${text}`);
      }
      await Bun.sleep(20);
    }
    if (done && !/telegram: @\S* polls/.test(text)) throw new Error(`org ${options.args.join(" ")} exited before polling: ${text}`);
  }
  return {
    child,
    stderr: () => text,
    stdout: () => out,
    exited,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
