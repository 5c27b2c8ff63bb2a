// The second layer behind the static policy, for the fixed runner and for `bun test` of a generated tool (both run
// ONLY inside the sandbox, mounted beside this file): what tool.ts could use to reach the host, the network, other
// code or the global object is declared undefined in tool.ts's own scope (`Bun` cannot be deleted from the global
// object), tool.ts loads only if it imports nothing but zod and never uses import.meta, and no code can be built
// from strings: the Function global and the constructors on the function prototypes throw, zod runs without its
// JIT (`new Function`), and `eval` and `ShadowRealm` are gone, all before tool.ts (or its tests) loads.
import { z } from "zod";

/** Names declared undefined in tool.ts's own scope, before its first line. */
export const WITHHELD_GLOBALS = [
  "Bun",
  "process",
  "require",
  "module",
  "exports",
  "__dirname",
  "__filename",
  "fetch",
  "WebSocket",
  "XMLHttpRequest",
  "EventSource",
  "Worker",
  "SharedWorker",
  "ShadowRealm",
  "Function",
  "globalThis",
  "global",
  "self",
  "window",
  "navigator",
  "Deno",
  "importScripts",
  "addEventListener",
  "removeEventListener",
  "dispatchEvent",
  "postMessage",
  "onmessage",
  "onerror",
  "alert",
  "confirm",
  "prompt",
  "Reflect",
  "BroadcastChannel",
  "MessageChannel",
  "HTMLRewriter",
];
// Deleted from the global object only: strict-mode code cannot declare these names.
const DELETED_ONLY = ["eval"];
// Gone from the global object wherever the lockdown runs, the tests stage too: each compiles a string.
const CODE_FROM_STRINGS_GLOBALS = ["eval", "ShadowRealm"];
// Kept on the global object, declared undefined in tool.ts only: the runner and zod use them; Function is replaced.
const KEPT = new Set(["globalThis", "Function", "Reflect"]);

const bun = Bun;
const stringify = JSON.stringify;

/**
 * Serves tool.ts at `toolPath` (its source from `sourceOf`) with every withheld name declared undefined, after
 * checking its imports again; removes the function constructors from their prototypes; with `deleteGlobals`, also
 * deletes from the global object what can be deleted (the fixed runner: nothing else runs there after the tool).
 */
export function withholdGlobals(toolPath: string, sourceOf: (path: string) => Promise<string>, options: { deleteGlobals: boolean }): void {
  const prelude = `const ${WITHHELD_GLOBALS.map((name) => `${name} = undefined`).join(", ")};`;
  const transpiler = new bun.Transpiler({ loader: "ts" });
  bun.plugin({
    name: "org-withheld-globals",
    setup(build) {
      build.onLoad({ filter: new RegExp(`^${toolPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }, async (args) => {
        if (args.path !== toolPath) throw new Error(`unexpected tool path ${args.path}`);
        const source = await sourceOf(args.path);
        const refused = transpiler.scan(source).imports.find((entry) => entry.kind !== "import-statement" || entry.path !== "zod");
        if (refused) throw new Error(`tool.ts may import only zod, not ${refused.kind === "dynamic-import" ? "import()" : stringify(refused.path)}`);
        if (/\bimport\s*\.\s*meta\b/.test(transpiler.transformSync(source))) throw new Error("tool.ts may not use import.meta");
        // On the first line, so line numbers in errors and coverage stay the tool's own.
        return { contents: prelude + source, loader: "ts" };
      });
    },
  });
  if (options.deleteGlobals) {
    const global = globalThis as Record<string, unknown>;
    for (const name of [...WITHHELD_GLOBALS, ...DELETED_ONLY]) {
      if (!KEPT.has(name) && Object.getOwnPropertyDescriptor(global, name)?.configurable) delete global[name];
    }
  }
  refuseCodeFromStrings();
}

/**
 * `Function`, `(() => 0).constructor` and the async and generator ones become functions of the same name that throw,
 * fixed on their prototypes (neither writable nor configurable) and frozen, so no key, written or computed at run
 * time (`fn["constr" + "uctor"]`), leads to a constructor that compiles a string: `Function.prototype`, `instanceof
 * Function` and `fn.constructor.name` still work for the libraries that use them (fast-check reads
 * `Function.prototype.apply` as it loads). `eval` and `ShadowRealm` (which evaluates strings in a realm of its own)
 * leave the global object. zod is told to skip its JIT, which needs `new Function`.
 */
function refuseCodeFromStrings(): void {
  z.config({ jitless: true });
  const refusing = (name: string, prototype: object) => {
    const stub = {
      [name]: function () {
        throw new TypeError("code built from strings is not allowed here: write the function itself, not a string of its code");
      },
    }[name] as () => never;
    Object.defineProperty(stub, "prototype", { value: prototype, writable: false, configurable: false });
    return Object.freeze(stub);
  };
  const global = globalThis as Record<string, unknown>;
  for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    const prototype = Object.getPrototypeOf(fn) as { constructor: { name: string } };
    const stub = refusing(prototype.constructor.name, prototype);
    if (prototype === Function.prototype) global.Function = stub;
    Object.defineProperty(prototype, "constructor", { value: stub, writable: false, enumerable: false, configurable: false });
  }
  for (const name of CODE_FROM_STRINGS_GLOBALS) delete global[name];
}
