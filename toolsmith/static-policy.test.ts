import { describe, expect, test } from "bun:test";
import { TOOL_FIXTURES } from "../testing/toolsmith-fixtures.ts";
import { checkStaticPolicy } from "./static-policy.ts";

const tool = (body: string) => `import { z } from "zod";\nexport default (input: unknown) => {\n${body}\n};\n`;
const tests = (body: string) => `import { expect, test } from "bun:test";\nimport run from "./tool.ts";\n${body}\n`;

describe("static policy on the syntax tree", () => {
  test("every known-good fixture passes", () => {
    for (const fixture of TOOL_FIXTURES) {
      expect(checkStaticPolicy(fixture.tool, "tool")).toEqual([]);
      expect(checkStaticPolicy(fixture.tests, "tests")).toEqual([]);
    }
  });

  test.each([
    ["fetch", tool("return fetch('http://example.com');"), /uses fetch/],
    ["Bun", tool("return Bun.file('/etc/passwd').text();"), /uses Bun/],
    ["process.env", tool("return process.env.HOME;"), /uses process/],
    ["require", tool("return require('fs');"), /uses require/],
    ["eval", tool("return eval('1');"), /uses eval/],
    ["new Function", tool("return new Function('return 1')();"), /uses Function/],
    ["globalThis computed", tool("return (globalThis as any)['fe' + 'tch'];"), /uses globalThis/],
    ["dynamic import", tool("return import('node:fs');"), /dynamic import/],
    ["the constructor chain", tool("return (() => 1).constructor('return 1')();"), /\.constructor/],
    ["the constructor by a literal key", tool("return ((() => 1) as any)['constructor']('return 1')();"), /\["constructor"\]/],
    ["ShadowRealm", tool("return new (ShadowRealm as any)().evaluate('1');"), /uses ShadowRealm/],
    ["an import other than zod", `import fs from "node:fs";\nexport default () => fs;\n`, /imports "node:fs"/],
    ["a re-export", `export * from "node:fs";\nexport default () => 1;\n`, /imports "node:fs"/],
    ["@ts-ignore", tool("// @ts-ignore\nreturn 1;"), /@ts-ignore/],
    ["@ts-nocheck hidden after a regex", `// x\nconst r = /"/; /* @ts-nocheck */\nexport default () => r;\n`, /@ts-nocheck/],
    ["no default export", `export const x = 1;\n`, /no 'export default'/],
    // Issue 18 §5: each of these passed the policy before.
    ["constructor destructured", tool("const { constructor: F } = (() => 0) as any;\nreturn F('return 1')();"), /names the key "constructor"/],
    ["constructor destructured by shorthand", tool("const { constructor } = (() => 0) as any;\nreturn constructor;"), /names the key "constructor"/],
    [
      "constructor destructured in an assignment",
      tool("let F: any;\n({ constructor: F } = (() => 0) as any);\nreturn F;"),
      /names the key "constructor"/,
    ],
    ["Reflect.get", tool("return Reflect.get(() => 0, 'constructor');"), /uses Reflect/],
    ["Reflect by another name", tool("const R = Reflect;\nreturn R.ownKeys(input as object);"), /uses Reflect/],
    ["getOwnPropertyDescriptor", tool("return Object.getOwnPropertyDescriptor(() => 0, 'constructor');"), /\.getOwnPropertyDescriptor/],
    ["getOwnPropertyDescriptors", tool("return Object.getOwnPropertyDescriptors(() => 0);"), /\.getOwnPropertyDescriptors/],
    ["getPrototypeOf", tool("return Object.getPrototypeOf(() => 0);"), /\.getPrototypeOf/],
    ["__proto__ as an object key", tool("return { __proto__: input };"), /names the key "__proto__"/],
    ["@ts-expect-error", tool("// @ts-expect-error\nreturn 1;"), /@ts-expect-error/],
    [
      "Error.prepareStackTrace",
      tool("(Error as any).prepareStackTrace = (_e: unknown, frames: any[]) => frames;\nreturn new Error().stack;"),
      /hands out the frames/,
    ],
  ])("tool.ts with %s is refused", (_label, code, pattern) => {
    expect(checkStaticPolicy(code, "tool").join("\n")).toMatch(pattern);
  });

  test.each([
    ["test.skip", tests("test.skip('x', () => {});"), /\.skip/],
    ["describe.only", tests("describe.only('x', () => {});"), /\.only/],
    ["test.todo", tests("test.todo('x');"), /\.todo/],
    ["node:fs", `import fs from "node:fs";\nimport run from "./tool.ts";\n`, /imports "node:fs"/],
    ["not importing the tool", `import { test } from "bun:test";\ntest("x", () => {});\n`, /does not import/],
    // Issue 18 §4: planted cheats that tell the tool from a mutant without asserting what it returns.
    ["a stack trace", tests("test('x', () => expect(String(new Error().stack).includes('/org/mutants/')).toBe(false));"), /reads a stack trace/],
    ["Error.captureStackTrace", tests("const o: { stack?: string } = {};\nError.captureStackTrace(o);"), /reads a stack trace/],
    ["Error.prepareStackTrace", tests("(Error as any).prepareStackTrace = () => '';"), /reads a stack trace/],
    ["the stack destructured", tests("const { stack } = new Error();"), /reads a stack trace/],
    ["source text by String()", tests("test('x', () => expect(String(run)).toContain('>'));"), /uses run other than by calling it/],
    ["source text by toString", tests("test('x', () => expect(run.toString()).toContain('>'));"), /uses run other than by calling it/],
    ["source text by a template", tests("test('x', () => expect(`${run}`).toContain('>'));"), /uses run other than by calling it/],
    ["source text by concatenation", tests("test('x', () => expect(run + '').toContain('>'));"), /uses run other than by calling it/],
    ["source text by join", tests("test('x', () => expect([run].join()).toContain('>'));"), /uses run other than by calling it/],
    ["a file read with Bun.file", tests("test('x', async () => expect(await Bun.file('/org/tool/tool.ts').text()).toContain('>'));"), /uses Bun/],
    [
      "a file read with fs",
      `import { readFileSync } from "node:fs";\nimport run from "./tool.ts";\nrun(readFileSync("tool.ts"));\n`,
      /imports "node:fs"/,
    ],
    ["a file read with require", tests("const fs = require('fs');"), /uses require/],
    ["import.meta", tests("test('x', () => expect(import.meta.path).toBe('/org/tool/tool.test.ts'));"), /import\.meta is not allowed/],
    ["performance.now", tests("const t = performance.now();\nrun(1);\nexpect(performance.now() - t).toBeLessThan(5);"), /reads the clock/],
    ["Date.now", tests("const t = Date.now();"), /reads the clock/],
    ["new Date()", tests("const t = new Date().getTime();"), /reads the clock/],
    ["process.hrtime", tests("const t = process.hrtime();"), /uses process/],
    ["Bun.nanoseconds", tests("const t = Bun.nanoseconds();"), /uses Bun/],
  ])("tool.test.ts with %s is refused", (_label, code, pattern) => {
    expect(checkStaticPolicy(code, "tests").join("\n")).toMatch(pattern);
  });

  test("plain indexing, keys of new objects and calls of the tool pass", () => {
    const loops = tool(
      "const xs = [1, 2, 3];\nlet total = 0;\nfor (let i = 0; i < xs.length; i++) total += xs[i] ?? 0;\nlet right = xs.length - 1;\nright -= 1;\nconst key = 'a';\nreturn { [key]: xs[right], last: xs[xs.length - 1], first: xs[0], total };",
    );
    expect(checkStaticPolicy(loops, "tool")).toEqual([]);
    const calls = tests(
      "test('x', () => {\n  expect(run({ a: 1 })).toEqual({ a: 1 });\n  expect(() => run(null)).toThrow();\n  expect(typeof run).toBe('function');\n  expect(new Date(0).getTime()).toBe(0);\n});",
    );
    expect(checkStaticPolicy(calls, "tests")).toEqual([]);
  });

  test("each refusal of a name or key says what to write instead", () => {
    const advice = (code: string) => checkStaticPolicy(tool(code), "tool").join("\n");
    expect(advice("return (input as any).constructor === Array;")).toMatch(
      /\.constructor, .*: to tell what a value is, use typeof, Array\.isArray\(x\) or x instanceof/,
    );
    expect(advice("const { constructor: C } = input as any;\nreturn C;")).toMatch(/names the key "constructor", .*use a literal, a class with new/);
    expect(advice("return new Function('a', 'return a')(1);")).toMatch(
      /uses Function, .*write the code itself \(a function declaration or an arrow function\)/,
    );
    expect(advice("return Reflect.get(input as object, 'a');")).toMatch(/uses Reflect, .*obj\[key\], key in obj, Object\.keys\(obj\)/);
    expect(advice("return Object.getPrototypeOf(input);")).toMatch(/\.getPrototypeOf, .*instanceof/);
  });

  // Issue 30: keys computed at run time are ordinary lookups; the fixed runner makes the Function constructor
  // unreachable by any key (hostile-code-corpus.ts and policy-corpus.test.ts prove the routes fail at run time).
  test.each([
    [
      "a dictionary counter",
      "const counts: Record<string, number> = {};\nfor (const word of String(input).split(' ')) counts[word] = (counts[word] ?? 0) + 1;\nreturn counts;",
    ],
    [
      "a lookup table",
      "const value: Record<string, number> = { I: 1, V: 5, X: 10 };\nlet total = 0;\nfor (const ch of String(input)) total += value[ch] ?? 0;\nreturn total;",
    ],
    ["a median", "const sorted = [...(input as number[])].sort((a, b) => a - b);\nconst mid = Math.floor(sorted.length / 2);\nreturn sorted[mid];"],
    [
      "a matrix",
      "const grid = input as number[][];\nlet sum = 0;\nfor (let r = 0; r < grid.length; r++) for (let c = 0; c < (grid[r]?.length ?? 0); c++) sum += grid[r]![c]!;\nreturn sum;",
    ],
    [
      "a reduce into an object",
      "return (input as string[]).reduce<Record<string, number>>((acc, key) => {\n  acc[key] = (acc[key] || 0) + 1;\n  return acc;\n}, {});",
    ],
    [
      "Object.entries and for…in",
      "const o = input as Record<string, number>;\nconst out: Record<string, number> = {};\nfor (const [k, v] of Object.entries(o)) out[k] = v * 2;\nfor (const k in o) out[k] = (out[k] ?? 0) + 1;\nreturn out;",
    ],
    [
      "a computed key destructured",
      "const k = String(input);\nconst { [k]: picked, ...rest } = { a: 1, b: 2 } as Record<string, number>;\nreturn { picked, rest };",
    ],
  ])("tool.ts with %s passes", (_label, body) => {
    expect(checkStaticPolicy(tool(body), "tool")).toEqual([]);
    expect(
      checkStaticPolicy(
        tests(`const t: Record<string, number> = {};\nconst k = 'x';\nt[k] = 1;\ntest('x', () => expect(run(t[k])).toBeDefined());`),
        "tests",
      ),
    ).toEqual([]);
  });

  test("a property or key named like a forbidden global is not a use of it", () => {
    expect(checkStaticPolicy(tool("const o = { fetch: 1, process: 2 }; return o.fetch + o.process;"), "tool")).toEqual([]);
  });
});
