import { orgCommand } from "../config/org-bun-command.ts";

/** A real `org serve` child process and the URL it listens on. */
export type OrgServeProcess = { child: ReturnType<typeof Bun.spawn>; url: string; stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void> };

// Variables of the test's own environment that would change what serve does; the test sets those it wants.
const SERVE_VARIABLES = [
  "ORG_API_TOKEN",
  "ORG_API_HMAC_SECRET",
  "ORG_API_HMAC_TTL_S",
  "ORG_FSYNC",
  "ORG_PROFILE",
  "ORG_SERVE_DEDUP_TTL_S",
  "ORG_SERVE_JOB_TTL_S",
  "ORG_SERVE_JOB_QUEUE_MAX",
  "ORG_SERVE_JOB_LOG_COMPACT_BYTES",
];

/**
 * Starts `org serve --port 0` on `workspace` against the model server at `modelUrl`, with `env` on top, and
 * waits (at most 60 s) for its listening line. Killed when it does not get there. `checkoutDir` runs org's code from
 * there (an `orgCodeCopy`) instead of this checkout, whose promoted tools and HEAD serve would otherwise read.
 */
export async function startOrgServe(options: {
  workspace: string;
  modelUrl: string;
  env?: Record<string, string>;
  args?: string[];
  checkoutDir?: string;
}): Promise<OrgServeProcess> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    OLLAMA_BASE: options.modelUrl,
    OLLAMA_MODEL: "qwen3:8b",
    NO_COLOR: "1",
    ORG_PROFILE: "dev",
  };
  for (const name of SERVE_VARIABLES) if (name !== "ORG_PROFILE") delete env[name];
  const argv = ["serve", "--port", "0", "--workspace", options.workspace, ...(options.args ?? [])];
  const child = Bun.spawn(orgCommand(argv, options.checkoutDir === undefined ? {} : { checkoutDir: options.checkoutDir }), {
    env: { ...env, ...options.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  try {
    while (!/listening on (http:\/\/\S+)/.test(text)) {
      const read = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
      if (read === undefined) throw new Error(`org serve did not start within 60 s: ${text}`);
      if (read.done) throw new Error(`org serve exited before listening: ${text}${await new Response(child.stderr as ReadableStream).text()}`);
      text += new TextDecoder().decode(read.value);
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  reader.releaseLock();
  return {
    child,
    url: /listening on (http:\/\/\S+)/.exec(text)?.[1] as string,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      await child.exited;
    },
  };
}
