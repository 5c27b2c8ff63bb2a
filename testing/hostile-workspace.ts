// A workspace that tries to configure the bun that starts org in it: every file bun could read from its
// current directory, each leaving a marker file (or a refused ORG_SANDBOX value) if it was read.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The `.env` files bun loads by default (by NODE_ENV), each setting a value org refuses at start. */
export const PLANTED_ENV_FILES = [
  ".env",
  ".env.local",
  ".env.development",
  ".env.development.local",
  ".env.production",
  ".env.production.local",
  ".env.test",
  ".env.test.local",
];

export type HostileWorkspace = { dir: string; markers: () => string[] } & Disposable;

/** Makes the workspace (0755, for the sandbox's uid) and a marker folder beside it; both removed on dispose. */
export function hostileWorkspace(prefix = "org-hostile-ws-"): HostileWorkspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  const markerDir = mkdtempSync(join(tmpdir(), `${prefix}markers-`));
  const marker = (name: string) => `require("node:fs").writeFileSync(${JSON.stringify(join(markerDir, name))} + "-" + process.pid, "read");\n`;
  for (const name of PLANTED_ENV_FILES) writeFileSync(join(dir, name), `# planted\nORG_SANDBOX=maybe-from-${name}\n`);
  writeFileSync(join(dir, "preload.ts"), marker("bunfig-preload"));
  writeFileSync(
    join(dir, "bunfig.toml"),
    [
      'preload = ["./preload.ts"]',
      "[define]",
      '"process.env.ORG_SANDBOX" = "\'off\'"',
      "[test]",
      'preload = ["./preload.ts"]',
      "[install]",
      'registry = "http://127.0.0.1:9/"',
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, ".npmrc"), "registry=http://127.0.0.1:9/\n");
  mkdirSync(join(dir, "hijack"));
  writeFileSync(join(dir, "hijack", "module.ts"), `${marker("tsconfig-paths")}export const z = {};\nexport default {};\n`);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        baseUrl: ".",
        paths: { zod: ["./hijack/module.ts"], "eventsource-parser": ["./hijack/module.ts"], "*": ["./hijack/module.ts"] },
      },
    }),
  );
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "hostile", type: "module", imports: { "#*": "./hijack/module.ts" }, dependencies: { zod: "file:./node_modules/zod" } }),
  );
  for (const name of ["zod", "eventsource-parser", "simple-git"]) {
    mkdirSync(join(dir, "node_modules", name), { recursive: true });
    writeFileSync(join(dir, "node_modules", name, "package.json"), JSON.stringify({ name, version: "99.0.0", main: "index.js" }));
    writeFileSync(join(dir, "node_modules", name, "index.js"), marker(`node_modules-${name}`));
  }
  return {
    dir,
    markers: () => readdirSync(markerDir),
    [Symbol.dispose]: () => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(markerDir, { recursive: true, force: true });
    },
  };
}
