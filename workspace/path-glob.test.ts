import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fromRoot, matchesPattern } from "./path-glob.ts";

// Patterns from names, `*`, `?`, sets, alternatives and `**` folders; paths from the names they are made of.
const namePiece = fc.constantFrom("a", "b", "ab", ".env", "x.ts", "*", "?", "[ab]", "[!a]", "{a,b}", "{x.ts,yz}");
const patternName = fc
  .array(namePiece, { minLength: 1, maxLength: 3 })
  .map((pieces) => pieces.join(""))
  .filter((name) => !name.includes("**"));
const pattern = fc.array(fc.oneof(patternName, fc.constant("**")), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));
const pathName = fc.constantFrom("a", "b", "ab", "ba", ".env", ".env.local", "x.ts", "yz", "c");
const path = fc.array(pathName, { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"));

describe("the one glob language of org's path lists", () => {
  test("a pattern from the root means what Bun.Glob means, and `a/**` also covers the folder a (property)", () => {
    fc.assert(
      // Bun.Glob lets `[!a]` take a `/`; here a set is one character of a name (`what each piece means`).
      fc.property(
        pattern.filter((glob) => !glob.includes("[!")),
        path,
        (glob, candidate) => {
          const folderItself = glob.endsWith("/**") && matchesPattern(fromRoot(glob.slice(0, -3)), candidate);
          expect({ glob, candidate, matches: matchesPattern(fromRoot(glob), candidate) }).toEqual({
            glob,
            candidate,
            matches: new Bun.Glob(glob).match(candidate) || folderItself,
          });
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("a pattern without `/` matches that name in any folder; one with `/` is from the root already (property)", () => {
    fc.assert(
      fc.property(patternName, path, fc.array(pathName, { maxLength: 3 }), (name, candidate, folders) => {
        const inFolders = [...folders, candidate].join("/");
        const last = inFolders.split("/").at(-1) ?? "";
        expect(matchesPattern(name, inFolders)).toBe(matchesPattern(fromRoot(name), last));
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(pattern, path, (glob, candidate) => {
        if (glob.includes("/")) expect(matchesPattern(glob, candidate)).toBe(matchesPattern(fromRoot(glob), candidate));
        // Anchoring only ever narrows.
        if (matchesPattern(fromRoot(glob), candidate)) expect(matchesPattern(glob, candidate)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });

  test("what each piece means", () => {
    const cases: [string, string, boolean][] = [
      ["src/*.ts", "src/a.ts", true],
      ["src/*.ts", "src/a/b.ts", false],
      ["src/**", "src/a/b.ts", true],
      ["src/**", "src", true],
      ["**/.npmrc", ".npmrc", true],
      [".npmrc", "deep/in/.npmrc", true],
      ["/README.md", "docs/README.md", false],
      ["/README.md", "README.md", true],
      [".env*", "environment.ts", false],
      [".env*", "sub/.env.local", true],
      ["?.md", "a.md", true],
      ["?.md", "ab.md", false],
      ["file[0-9].txt", "file7.txt", true],
      ["file[!0-9].txt", "filex.txt", true],
      ["file[!0-9].txt", "file7.txt", false],
      ["a[!x]b", "a/b", false],
      ["a[/]b", "a/b", false],
      ["{src,test}/*.ts", "test/a.ts", true],
      ["{src,test}/*.ts", "docs/a.ts", false],
      ["*.{js,{ts,tsx}}", "a.tsx", true],
      // Brackets and braces are also plain characters: a list naming `app/[slug]/**` covers that folder.
      ["app/[slug]/**", "app/[slug]/page.tsx", true],
      ["app/[slug]/**", "app/s/page.tsx", true],
      ["notes{1}.md", "notes{1}.md", true],
      ["a[b", "a[b", true],
    ];
    for (const [glob, candidate, expected] of cases)
      expect({ glob, candidate, matches: matchesPattern(glob, candidate) }).toEqual({ glob, candidate, matches: expected });
  });
});
