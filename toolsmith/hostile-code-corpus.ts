// The hostile corpus beside the ordinary one (ordinary-corpus.md): generated code that reaches for the host or for
// code built from strings. Each case must be refused by the static policy or contained at run time. The written
// forms are refused statically; the routes a computed key opens (`fn["constr" + "uctor"]`) pass the policy and must
// fail at run time, in the fixed runner and under bun test, because withhold-globals.ts fixed the constructors on
// the function prototypes to throwing stubs and removed eval and ShadowRealm before the tool loaded.
import type { SourceRole } from "./static-policy.ts";

/** A source the static policy must refuse, with the pattern of the refusal. */
export type StaticHostileCase = { label: string; role: SourceRole; code: string; refusal: RegExp };

const tool = (body: string) => `import { z } from "zod";\nexport default (input: unknown) => {\n${body}\n};\n`;
const tests = (body: string) => `import { expect, test } from "bun:test";\nimport run from "./tool.ts";\n${body}\n`;

export const STATIC_HOSTILE_CASES: StaticHostileCase[] = [
  { label: "fetch", role: "tool", code: tool("return fetch('http://example.com');"), refusal: /uses fetch/ },
  { label: "Bun", role: "tool", code: tool("return Bun.file('/etc/passwd').text();"), refusal: /uses Bun/ },
  { label: "process.env", role: "tool", code: tool("return process.env.HOME;"), refusal: /uses process/ },
  { label: "require", role: "tool", code: tool("return require('fs');"), refusal: /uses require/ },
  { label: "eval", role: "tool", code: tool("return eval('1');"), refusal: /uses eval/ },
  { label: "new Function", role: "tool", code: tool("return new Function('return 1')();"), refusal: /uses Function/ },
  { label: "ShadowRealm", role: "tool", code: tool("return new (ShadowRealm as any)().evaluate('1');"), refusal: /uses ShadowRealm/ },
  { label: "globalThis", role: "tool", code: tool("return (globalThis as any)['fe' + 'tch'];"), refusal: /uses globalThis/ },
  { label: "dynamic import", role: "tool", code: tool("return import('node:fs');"), refusal: /dynamic import/ },
  { label: ".constructor", role: "tool", code: tool("return (() => 1).constructor('return 1')();"), refusal: /\.constructor/ },
  { label: '["constructor"]', role: "tool", code: tool("return ((() => 1) as any)['constructor']('return 1')();"), refusal: /\["constructor"\]/ },
  {
    label: "constructor destructured",
    role: "tool",
    code: tool("const { constructor: F } = (() => 0) as any;\nreturn F('return 1')();"),
    refusal: /names the key "constructor"/,
  },
  {
    label: "constructor by shorthand",
    role: "tool",
    code: tool("const { constructor } = (() => 0) as any;\nreturn constructor;"),
    refusal: /names the key "constructor"/,
  },
  { label: "Reflect.get", role: "tool", code: tool("return Reflect.get(() => 0, 'constructor');"), refusal: /uses Reflect/ },
  { label: "getPrototypeOf", role: "tool", code: tool("return Object.getPrototypeOf(() => 0);"), refusal: /\.getPrototypeOf/ },
  {
    label: "getOwnPropertyDescriptor",
    role: "tool",
    code: tool("return Object.getOwnPropertyDescriptor(() => 0, 'x');"),
    refusal: /\.getOwnPropertyDescriptor/,
  },
  { label: "__proto__", role: "tool", code: tool("return { __proto__: input };"), refusal: /names the key "__proto__"/ },
  { label: "an import other than zod", role: "tool", code: `import fs from "node:fs";\nexport default () => fs;\n`, refusal: /imports "node:fs"/ },
  { label: "import.meta", role: "tool", code: tool("return import.meta.url;"), refusal: /import\.meta is not allowed/ },
  {
    label: "Error.prepareStackTrace",
    role: "tool",
    code: tool("(Error as any).prepareStackTrace = (_e: unknown, f: unknown[]) => f;\nreturn new Error().stack;"),
    refusal: /hands out the frames/,
  },
  { label: "@ts-ignore", role: "tool", code: tool("// @ts-ignore\nreturn 1;"), refusal: /@ts-ignore/ },
  { label: "tests: test.skip", role: "tests", code: tests("test.skip('x', () => {});"), refusal: /\.skip/ },
  { label: "tests: a stack trace", role: "tests", code: tests("const { stack } = new Error();"), refusal: /reads a stack trace/ },
  {
    label: "tests: the tool's source",
    role: "tests",
    code: tests("test('x', () => expect(String(run)).toContain('>'));"),
    refusal: /uses run other than by calling it/,
  },
  { label: "tests: the clock", role: "tests", code: tests("const t = Date.now();"), refusal: /reads the clock/ },
  {
    label: "tests: Bun.file",
    role: "tests",
    code: tests("test('x', async () => expect(await Bun.file('tool.ts').text()).toBe(''));"),
    refusal: /uses Bun/,
  },
  { label: "tests: .constructor", role: "tests", code: tests("const F = (() => 0).constructor;"), refusal: /\.constructor/ },
];

/**
 * One route to code built from strings, as the body of an async function that returns what the compiled code returned
 * (it returns "escaped" when the route works). `k` holds "constructor", built at run time.
 */
export type RuntimeHostileCase = { label: string; body: string };

const RUN = `"return 'escaped'"`;
export const RUNTIME_HOSTILE_CASES: RuntimeHostileCase[] = [
  { label: "function[k]", body: `return ((() => 0) as any)[k](${RUN})();` },
  { label: "async function[k]", body: `return await ((async () => 0) as any)[k](${RUN})();` },
  { label: "generator[k]", body: `return ((function* () {}) as any)[k](${RUN})().next().value;` },
  { label: "async generator[k]", body: `return (await ((async function* () {}) as any)[k](${RUN})().next()).value;` },
  { label: "a key joined from parts", body: `const key = ["con", "struc", "tor"].join("");\nreturn ((() => 0) as any)[key](${RUN})();` },
  { label: "a key thrown and caught", body: `try {\n  throw k;\n} catch (c) {\n  return ((() => 0) as any)[c as string](${RUN})();\n}` },
  { label: "a counter that later holds the key", body: `let i: any = 0;\ni = k;\nreturn ((() => 0) as any)[i](${RUN})();` },
  { label: "a computed key destructured", body: `const { [k]: F } = (() => 0) as any;\nreturn F(${RUN})();` },
  { label: "new on function[k]", body: `return new (((() => 0) as any)[k])(${RUN})();` },
  { label: "a class's [k]", body: `return ((class {}) as any)[k](${RUN})();` },
  { label: "a bound function's [k]", body: `return ((() => 0).bind(null) as any)[k](${RUN})();` },
  { label: "a builtin's [k]", body: `return (JSON.parse as any)[k](${RUN})();` },
  { label: "a number's [k][k]", body: `return ((0 as any)[k][k])(${RUN})();` },
  { label: "a string's [k][k]", body: `return (("" as any)[k][k])(${RUN})();` },
  { label: "an object's [k][k]", body: `return (({} as any)[k][k])(${RUN})();` },
  { label: "an array's [k][k]", body: `return (([] as any)[k][k])(${RUN})();` },
  { label: "a Promise's [k][k]", body: `return ((Promise.resolve() as any)[k][k])(${RUN})();` },
  {
    label: "the prototype by a computed Object method",
    body: `const proto = (Object as any)["getPrototype" + "Of"](async () => 0);\nreturn await proto[k](${RUN})();`,
  },
  {
    label: "the descriptor by a computed Object method",
    body:
      `const proto = (Object as any)["getPrototype" + "Of"](() => 0);\nreturn (Object as ` +
      `any)["getOwnProperty" + "Descriptor"](proto, k).value(${RUN})();`,
  },
  { label: "the constructor assigned", body: `const f: any = () => 0;\nf[k] = undefined;\nreturn ((() => 0) as any)[k](${RUN})();` },
  { label: "the global object, then eval", body: `const root = ((() => 0) as any)[k][k]("return this")();\nreturn root["ev" + "al"]("'escaped'");` },
  {
    label: "zod's JIT",
    body: `z.config({ jitless: false });\nconst doc = new (z as any)["co" + "re"].Doc([]);\ndoc.write(${RUN});\nreturn doc["comp" + "ile"]()();`,
  },
  // Last: where the prototypes are open, this one changes them for the cases after it in the same process.
  {
    label: "the constructor redefined",
    body:
      `const proto = (Object as any)["getPrototype" + "Of"](() => 0);\n(Object as any)["define" + ` +
      `"Property"](proto, k, { value: () => () => "escaped" });\nreturn ((() => 0) as any)[k](${RUN})();`,
  },
];

/**
 * A tool.ts that runs case `at` of `cases` and returns `{ result: String(what it returned) }`; with `at` -1 it runs
 * every case in turn, and its result is the JSON of one line per case: `returned: …` or `threw: …`.
 */
export function runtimeProbeTool(cases: RuntimeHostileCase[]): string {
  const functions = cases.map((entry) => `  async () => {\n${entry.body}\n  },`).join("\n");
  return `import { z } from "zod";
const k = "constr" + "uctor";
const CASES: (() => Promise<unknown>)[] = [
${functions}
];
export default async function probe(input: unknown): Promise<{ result: string }> {
  const { at } = z.object({ at: z.number().int() }).parse(input);
  if (at >= 0) return { result: String(await CASES[at]!()) };
  const lines: string[] = [];
  for (const run of CASES) {
    try {
      lines.push("returned: " + String(await run()));
    } catch (error) {
      lines.push("threw: " + (error instanceof Error ? error.message : String(error)));
    }
  }
  return { result: JSON.stringify(lines) };
}
`;
}

/**
 * A tool.test.ts with two tests per case, one running the case in the tests' own scope and one through the tool: each
 * passes only when the route reached code built from strings, so every test fails where all are contained.
 */
export function runtimeProbeTests(cases: RuntimeHostileCase[]): string {
  const functions = cases.map((entry) => `  async () => {\n${entry.body}\n  },`).join("\n");
  const each = cases
    .map(
      (_entry, at) =>
        `test("tests scope ${at}", async () => expect(String(await ` +
        `CASES[${at}]!())).toBe("escaped"));\ntest("tool scope ${at}", async () => expect((await probe({ at: ${at} })).result).toBe("escaped"));`,
    )
    .join("\n");
  return (
    `import { expect, test } from "bun:test";\nimport { z } from "zod";\nimport probe from ` +
    `"./tool.ts";\nconst k = "constr" + "uctor";\nconst CASES: (() => Promise<unknown>)[] = [\n${functions}\n];\n${each}\n`
  );
}

/** A standalone tool.ts for one case, as the static policy sees it. */
export function runtimeCaseTool(entry: RuntimeHostileCase): string {
  return runtimeProbeTool([entry]);
}
