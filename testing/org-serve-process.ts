import { orgCommand } from "../config/org-bun-command.ts";

/**
 * A real `org serve` (or `org web`) child process and the URL it listens on; for `org web`, `loginUrl` is the line's
 * URL with its token, and `stdout` everything it printed.
 */
export type OrgServeProcess = {
  child: ReturnType<typeof Bun.spawn>;
  url: string;
  loginUrl: string;
  stdout: string;
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
};

// What each command prints once it answers, the URL in its first group.
const READY = { serve: /listening on (http:\/\/\S+)/, web: /^Open (http:\/\/\S+) in a browser/m };

// Variables of the test's own environment that would change what serve does; the test sets those it wants.
const SERVE_VARIABLES = [
  "ORG_API_TOKEN",
  "ORG_API_HMAC_SECRET",
  "ORG_API_HMAC_TTL_S",
  "ORG_API_HMAC_BODY_TIMEOUT_S",
  "ORG_API_HMAC_BODIES_PER_CLIENT",
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
  /** `web` starts `org web --port 0` as a user would; the default is `org serve --port 0`. */
  command?: "serve" | "web";
}): Promise<OrgServeProcess> {
  const command = options.command ?? "serve";
  const ready = READY[command];
  const env: Record<string, string | undefined> = {
    ...process.env,
    OLLAMA_BASE: options.modelUrl,
    OLLAMA_MODEL: "qwen3:8b",
    NO_COLOR: "1",
    ORG_PROFILE: "dev",
  };
  for (const name of SERVE_VARIABLES) if (name !== "ORG_PROFILE") delete env[name];
  const argv = [command, "--port", "0", "--workspace", options.workspace, ...(options.args ?? [])];
  const child = Bun.spawn(orgCommand(argv, options.checkoutDir === undefined ? {} : { checkoutDir: options.checkoutDir }), {
    env: { ...env, ...options.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  try {
    while (!ready.test(text)) {
      const read = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
      if (read === undefined) throw new Error(`org ${command} did not start within 60 s: ${text}`);
      if (read.done) throw new Error(`org ${command} exited before listening: ${text}${await new Response(child.stderr as ReadableStream).text()}`);
      text += new TextDecoder().decode(read.value);
    }
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  reader.releaseLock();
  const printed = ready.exec(text)?.[1] as string;
  return {
    child,
    url: command === "web" ? new URL(printed).origin : printed,
    loginUrl: printed,
    stdout: text,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      await child.exited;
    },
  };
}
