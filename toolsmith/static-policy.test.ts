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
    ["an import other than zod", `import fs from "node:fs";\nexport default () => fs;\n`, /imports "node:fs"/],
    ["a re-export", `export * from "node:fs";\nexport default () => 1;\n`, /imports "node:fs"/],
    ["@ts-ignore", tool("// @ts-ignore\nreturn 1;"), /@ts-ignore/],
    ["@ts-nocheck hidden after a regex", `// x\nconst r = /"/; /* @ts-nocheck */\nexport default () => r;\n`, /@ts-nocheck/],
    ["no default export", `export const x = 1;\n`, /no 'export default'/],
  ])("tool.ts with %s is refused", (_label, code, pattern) => {
    expect(checkStaticPolicy(code, "tool").join("\n")).toMatch(pattern);
  });

  test.each([
    ["test.skip", tests("test.skip('x', () => {});"), /\.skip/],
    ["describe.only", tests("describe.only('x', () => {});"), /\.only/],
    ["test.todo", tests("test.todo('x');"), /\.todo/],
    ["node:fs", `import fs from "node:fs";\nimport run from "./tool.ts";\n`, /imports "node:fs"/],
    ["not importing the tool", `import { test } from "bun:test";\ntest("x", () => {});\n`, /does not import/],
  ])("tool.test.ts with %s is refused", (_label, code, pattern) => {
    expect(checkStaticPolicy(code, "tests").join("\n")).toMatch(pattern);
  });

  test("a property or key named like a forbidden global is not a use of it", () => {
    expect(checkStaticPolicy(tool("const o = { fetch: 1, process: 2 }; return o.fetch + o.process;"), "tool")).toEqual([]);
  });
});
