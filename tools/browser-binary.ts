import { closeSync, constants, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { EGRESS_PORT } from "../sandbox/egress-run.ts";
import { OrgError } from "../errors/org-error.ts";

/** Debian's `/usr/bin/chromium` is a shell script reading `/etc/chromium.d`, which the sandbox does not show: its binary. */
const DEBIAN_CHROMIUM_BINARY = "/usr/lib/chromium/chromium";

/** Where the browser keeps its profile and its downloads, inside the session's scratch (`/scratch`). */
export const BROWSER_PROFILE = "/scratch/.browser/profile";
export const BROWSER_DOWNLOADS = "/scratch/downloads";

const MiB = 1024 * 1024;

/**
 * A browser's bounds. Chromium's threads count as processes (RLIMIT_NPROC counts threads), and V8 reserves tens of
 * GiB of address space it never touches, so RLIMIT_AS is set high and the watchdog's resident total is what bounds
 * memory.
 */
export const BROWSER_LIMITS = {
  // As root every sandbox together is capped at 512 (the launcher's ulimit): a page's renderer and the browser need ~150.
  processes: 384,
  openFiles: 1_024,
  memoryBytes: 256 * 1024 * MiB,
  totalMemoryBytes: 3_072 * MiB,
  tmpBytes: 256 * MiB,
  shmBytes: 64 * MiB,
} as const;

/** The executable cannot be used (missing, or not a file); says what to set. */
export class BrowserUnavailableError extends OrgError {
  override name = "BrowserUnavailableError";
}

/** The program the sandbox runs for `executable`: Debian's wrapper script is replaced by the binary it starts. */
export function browserBinary(executable: string): string {
  if (!existsSync(executable)) {
    throw new BrowserUnavailableError(
      `no browser at ${executable}: install Debian's chromium (apt-get install -y chromium), or set browser.executable in ` +
        "org.config.json (or ORG_CHROMIUM) to a Chromium binary",
    );
  }
  let head = "";
  try {
    head = firstBytes(executable);
  } catch {
    throw new BrowserUnavailableError(`${executable} is not a readable file: set browser.executable (or ORG_CHROMIUM) to a Chromium binary`);
  }
  if (head === "#!" && existsSync(DEBIAN_CHROMIUM_BINARY)) return DEBIAN_CHROMIUM_BINARY;
  return executable;
}

/**
 * Features turned off: the omnibox's web UI, those that phone home (media router, hints, translate, autofill's server,
 * safe browsing's lookups), HTTPS upgrades (a plain http:// address would ask the person about :443 before :80), and the
 * back-forward cache (a page restored from it fires no `load`, which `back` waits for).
 */
const DISABLED_FEATURES = [
  "WebUIOmniboxPopup",
  "WebUIOmniboxAimPopup",
  "MediaRouter",
  "DialMediaRouteProvider",
  "GlobalMediaControls",
  "OptimizationHints",
  "Translate",
  "AutofillServerCommunication",
  "CertificateTransparencyComponentUpdater",
  "SafeBrowsingHashPrefixRealTimeLookups",
  "LensOverlay",
  "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable",
  "HttpsFirstModeV2ForTypicallySecureUsers",
  "BackForwardCache",
];

/** Chromium's command line in the sandbox: headless, a fresh profile in scratch, its only network the egress guard. */
export function browserArgv(binary: string, network: boolean): string[] {
  // With no egress rules the proxy is the discard port of the sandbox's own loopback: nothing answers, nothing leaves.
  const proxy = network ? `http://127.0.0.1:${EGRESS_PORT}` : "http://127.0.0.1:9";
  return [
    "/bin/sh",
    "-c",
    // fd 3 and 4 are Chromium's pipe; its own stdout must not write into the protocol.
    'exec 3<&0 4>&1 0</dev/null 1>/dev/null; exec "$@"',
    "sh",
    binary,
    "--headless",
    "--remote-debugging-pipe",
    // bwrap is the sandbox: Chromium's own needs user namespaces, which org's seccomp filter refuses (docs/browser.md).
    "--no-sandbox",
    "--no-zygote",
    `--user-data-dir=${BROWSER_PROFILE}`,
    `--proxy-server=${proxy}`,
    // Loopback too goes to the guard (Chromium would otherwise connect to it directly), which refuses it.
    "--proxy-bypass-list=<-loopback>",
    // The browser resolves no name itself: the guard resolves, checks and connects.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    // Chromium's own traffic (component and extension updates, safe browsing, metrics, hints) would each be a question
    // to the person about a host no page named (docs/browser.md): these switches and features stop what this Chromium
    // still sends despite --disable-background-networking (clients2.google.com, update.googleapis.com).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-component-extensions-with-background-pages",
    "--disable-domain-reliability",
    "--no-pings",
    "--metrics-recording-only",
    "--disable-breakpad",
    "--disable-crash-reporter",
    `--disable-features=${DISABLED_FEATURES.join(",")}`,
    "--mute-audio",
    "about:blank",
  ];
}

/**
 * The first two bytes of a regular file, opened without blocking: a path from a repository's config may name a FIFO,
 * which a plain read would wait on for ever.
 */
function firstBytes(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error("not a regular file");
    const bytes = Buffer.alloc(2);
    const read = readSync(fd, bytes, 0, 2, 0);
    return bytes.subarray(0, read).toString("latin1");
  } finally {
    closeSync(fd);
  }
}
