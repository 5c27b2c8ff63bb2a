// The fixed runner of generated tools. It runs ONLY inside the sandbox (tools/run-generated-tool.ts starts it):
// reads one request from stdin, imports the tool, validates the input, calls it with a timeout and prints
// the result after a marker line the host chose, so nothing the tool prints can pass for its result.
import { z } from "zod";

const Request = z.strictObject({
  marker: z.string().regex(/^[A-Za-z0-9-]{16,64}$/),
  toolPath: z.string().startsWith("/"),
  inputSchema: z.record(z.string(), z.unknown()),
  input: z.unknown(),
  timeoutMs: z.number().int().positive(),
});

// Kept before the tool loads, so a tool that replaces console.log or stdout.write cannot forge the result, and
// so the runner can still read its request and answer once the globals below are gone.
const write = process.stdout.write.bind(process.stdout);
const exit = process.exit.bind(process);
const stringify = JSON.stringify;
const parse = JSON.parse;
const bun = Bun;

// The second layer behind the static policy: what a tool could use to reach the host, the network, other code
// or the global object. Each is deleted from the global object where it can be, and declared undefined in
// tool.ts's own scope (`Bun` cannot be deleted), before tool.ts loads.
const WITHHELD_GLOBALS = [
  "Bun", "process", "require", "module", "exports", "__dirname", "__filename", "fetch", "WebSocket", "XMLHttpRequest",
  "EventSource", "Worker", "SharedWorker", "ShadowRealm", "Function", "globalThis", "global", "self", "window",
  "navigator", "Deno", "importScripts", "addEventListener", "removeEventListener", "dispatchEvent", "postMessage",
  "onmessage", "onerror", "alert", "confirm", "prompt", "Reflect", "BroadcastChannel", "MessageChannel", "HTMLRewriter",
];
// Deleted from the global object only: strict-mode code cannot declare these names.
const DELETED_ONLY = ["eval"];
// Kept on the global object, declared undefined in tool.ts only: zod (already loaded) may use them.
const KEPT_FOR_ZOD = new Set(["globalThis", "Function", "Reflect"]);

/**
 * Loads tool.ts (at `toolPath`) only after: its imports are checked again (`zod` only, no `import()`, no
 * `import.meta`), its scope declares every withheld global undefined, the global object loses what it can, and the
 * function constructors are gone from their prototypes (no code built from strings).
 */
function withholdGlobals(toolPath: string): void {
  const prelude = `const ${WITHHELD_GLOBALS.map((name) => `${name} = undefined`).join(", ")};`;
  const transpiler = new bun.Transpiler({ loader: "ts" });
  const file = (path: string) => bun.file(path).text();
  bun.plugin({
    name: "org-withheld-globals",
    setup(build) {
      build.onLoad({ filter: new RegExp(`^${toolPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }, async (args) => {
        const source = await file(args.path);
        const imports = transpiler.scan(source).imports;
        const refused = imports.find((entry) => entry.kind !== "import-statement" || entry.path !== "zod");
        if (refused) throw new Error(`tool.ts may import only zod, not ${refused.kind === "dynamic-import" ? "import()" : stringify(refused.path)}`);
        if (/\bimport\s*\.\s*meta\b/.test(transpiler.transformSync(source))) throw new Error("tool.ts may not use import.meta");
        // On the first line, so line numbers in errors stay the tool's own.
        return { contents: prelude + source, loader: "ts" };
      });
    },
  });
  const global = globalThis as Record<string, unknown>;
  for (const name of [...WITHHELD_GLOBALS, ...DELETED_ONLY]) {
    if (!KEPT_FOR_ZOD.has(name) && Object.getOwnPropertyDescriptor(global, name)?.configurable) delete global[name];
  }
  for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    Object.defineProperty(Object.getPrototypeOf(fn), "constructor", { value: undefined });
  }
}

async function main(): Promise<void> {
  const request = Request.parse(parse(await bun.stdin.text()));
  const finish = (result: { ok: true; output: unknown } | { ok: false; error: string }) =>
    new Promise<void>((resolve) => write(`\n${request.marker}\n${stringify(result)}\n`, () => resolve()));
  const input = z.fromJSONSchema(request.inputSchema).safeParse(request.input);
  if (!input.success) {
    const issues = input.error.issues.map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`).join("; ");
    return finish({ ok: false, error: `the input does not match the tool's input schema: ${issues}` });
  }
  let module: { default?: unknown };
  try {
    withholdGlobals(request.toolPath);
    module = await import(request.toolPath);
  } catch (error) {
    return finish({ ok: false, error: `tool.ts did not load: ${error instanceof Error ? error.message : String(error)}` });
  }
  const tool = module.default;
  if (typeof tool !== "function") return finish({ ok: false, error: "tool.ts has no default export function" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the tool did not finish within ${request.timeoutMs} ms`)), request.timeoutMs);
  });
  try {
    const output = await Promise.race([Promise.resolve(tool(input.data)), timeout]);
    const text = stringify(output);
    if (text === undefined) return finish({ ok: false, error: "the tool returned nothing JSON can carry (undefined or a function)" });
    finish({ ok: true, output: parse(text) });
  } catch (error) {
    finish({ ok: false, error: `the tool threw: ${error instanceof Error ? error.message : String(error)}` });
  } finally {
    clearTimeout(timer);
  }
}

await main();
// A timer or handle the tool left open must not keep the sandbox alive until its wall clock.
exit(0);
