import { z } from "zod";

/** Where Debian's chromium package puts the browser: the default of `browser.executable`. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** `browser` in org.config.json: the agent's `browser` tool (docs/browser.md). */
export const BrowserEntry = z.strictObject({
  /** The Chromium the sandbox runs (ORG_CHROMIUM wins over it); Debian's `/usr/bin/chromium` by default. */
  executable: z.string().regex(/^\//, "give an absolute path to a Chromium binary").max(4_096).optional(),
  /** Actions one persona may take per minute. */
  perMinute: z.int().min(1).max(10_000).optional(),
  /** Seconds one action (a page load, a click and what it sets off) may take before it is given up. */
  actionTimeoutS: z.number().positive().max(300).optional(),
  /** Seconds a session's browser may sit unused before it is closed. */
  idleSeconds: z.number().positive().max(86_400).optional(),
});
export type BrowserSettings = Required<z.infer<typeof BrowserEntry>>;

export const DEFAULT_BROWSER: BrowserSettings = {
  executable: DEFAULT_CHROMIUM,
  perMinute: 60,
  actionTimeoutS: 20,
  idleSeconds: 300,
};
