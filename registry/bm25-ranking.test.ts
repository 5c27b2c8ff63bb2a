import type { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededFractions } from "../testing/seeded-random.ts";
import { Bm25Ranking } from "./bm25-ranking.ts";
import { FTS_TOKENIZER, openRegistryDatabase } from "./registry-database.ts";

// A fixed pseudo-random sequence so the test is the same on every run.
const random = seededFractions(11);
const pickOf = (list: readonly string[]) => list[Math.floor(random() * list.length)] ?? "";
// Common and rare words, inflected forms the porter stemmer folds together, and words FTS5 splits in two.
const COMMON = "count counts counting parse words word text lines json csv sort format".split(" ");
const RARE = "palindrome roman invoice celsius yaml uuid ipv6 markdown".split(" ");
const ODD = ["l'heure", "x2y", "café", "ﬁle"];

test("ranking only the rows with every word gives FTS5's own top rows, in its order, whenever it is taken", () => {
  const root = mkdtempSync(join(tmpdir(), "org-bm25-"));
  try {
    const { database } = openRegistryDatabase(join(root, "registry.sqlite"));
    const tool = database.query<{ id: number }, [string, string, string, string]>(
      "INSERT INTO tools (key, name, origin, blob, description, embed_text, embed_hash) VALUES (?, ?, ?, 'b', ?, '', '') RETURNING id",
    );
    const text = database.query("INSERT INTO tools_fts (rowid, name, description, fields, examples) VALUES (?, ?, ?, ?, ?)");
    const sentence = (length: number) => Array.from({ length }, () => (random() < 0.1 ? pickOf(RARE) : pickOf(COMMON))).join(" ");
    database.transaction(() => {
      for (let index = 0; index < 2_000; index += 1) {
        const name = `${pickOf(COMMON)} ${pickOf(COMMON)} ${index}`;
        const row = tool.get(`tool-${index}`, name, random() < 0.5 ? "promoted" : "candidate", sentence(12));
        text.run(row?.id ?? 0, name, sentence(4 + Math.floor(random() * 12)), sentence(3), sentence(Math.floor(random() * 8)));
      }
    })();
    // Deleted rows leave marks in the index that its vocabulary must not count.
    database.run("DELETE FROM tools_fts WHERE rowid % 7 = 0");
    database.run("DELETE FROM tools WHERE id % 7 = 0");
    const ranking = new Bm25Ranking(database, FTS_TOKENIZER);
    const plain = (words: string[], promoted: boolean) =>
      database
        .query<{ id: number; rank: number }, [string, number]>(
          promoted
            ? "SELECT tools_fts.rowid AS id, bm25(tools_fts, 10.0, 4.0, 2.0, 1.0) AS rank FROM tools_fts JOIN tools ON tools.id = tools_fts.rowid WHERE tools_fts MATCH ? AND tools.origin = 'promoted' ORDER BY rank LIMIT ?"
            : "SELECT rowid AS id, bm25(tools_fts, 10.0, 4.0, 2.0, 1.0) AS rank FROM tools_fts WHERE tools_fts MATCH ? ORDER BY rank LIMIT ?",
        )
        .all(words.map((word) => `"${word}"`).join(" OR "), 50);
    for (let query = 0; query < 60; query += 1) {
      const words = [
        ...new Set(Array.from({ length: 1 + (query % 4) }, () => (random() < 0.15 ? pickOf(ODD) : random() < 0.2 ? pickOf(RARE) : pickOf(COMMON)))),
      ];
      for (const promoted of [false, true]) expect(ranking.best(words, 50, promoted)).toEqual(plain(words, promoted));
    }
    // The shortcut is taken for most queries of common words (it would prove nothing otherwise), not for every one.
    expect(ranking.answeredByEveryWord).toBeGreaterThan(15);
    expect(ranking.answeredByEveryWord).toBeLessThan(120);
    database.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the word counts the shortcut's bound reads follow changes, made by this connection or by another", () => {
  const root = mkdtempSync(join(tmpdir(), "org-bm25-"));
  try {
    const path = join(root, "registry.sqlite");
    const { database } = openRegistryDatabase(path);
    const ranking = new Bm25Ranking(database, FTS_TOKENIZER);
    const plain = (words: string[]) =>
      database
        .query<{ id: number; rank: number }, [string, number]>(
          "SELECT rowid AS id, bm25(tools_fts, 10.0, 4.0, 2.0, 1.0) AS rank FROM tools_fts WHERE tools_fts MATCH ? ORDER BY rank LIMIT ?",
        )
        .all(words.map((word) => `"${word}"`).join(" OR "), 50);
    const words = ["alpha", "beta"];
    // `beta` in every row, then in a few: rows naming it thrice without `alpha` then outrank every row with both
    // words, which a bound from the old counts would not know.
    const fill = (writer: Database, betaCommon: boolean) => {
      const text = writer.query("INSERT INTO tools_fts (rowid, name, description, fields, examples) VALUES (?, ?, ?, ?, ?)");
      writer.transaction(() => {
        writer.run("DELETE FROM tools_fts");
        for (let index = 0; index < 3_000; index += 1) {
          const betaOnly = !betaCommon && index >= 2_900;
          const both = betaCommon || index < 60;
          text.run(index + 1, betaOnly ? "beta beta beta" : `alpha ${index}`, "some words here", "", both ? "beta" : "");
        }
      })();
    };
    fill(database, true);
    expect(ranking.best(words, 50, false)).toEqual(plain(words));
    expect(ranking.answeredByEveryWord).toBe(1);
    fill(database, false);
    expect(ranking.best(words, 50, false)).toEqual(plain(words));
    fill(database, true);
    expect(ranking.best(words, 50, false)).toEqual(plain(words));
    const other = openRegistryDatabase(path).database;
    fill(other, false);
    other.close();
    expect(ranking.best(words, 50, false)).toEqual(plain(words));
    database.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
