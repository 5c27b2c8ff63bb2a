import { Database } from "bun:sqlite";

// Column weights for bm25(): a word in the name counts most, then the description, fields, examples.
const BM25 = "bm25(tools_fts, 10.0, 4.0, 2.0, 1.0)";
// FTS5's bm25() constant k1: one phrase adds less than (k1 + 1) × its IDF to a row's score, however often it occurs.
const K1 = 1.2;
const ALL = `SELECT rowid AS id, ${BM25} AS rank FROM tools_fts WHERE tools_fts MATCH ? ORDER BY rank LIMIT ?`;

type Ranked = { id: number; rank: number };
// Words whose single term is remembered; past this many the memory starts again.
const REMEMBERED_WORDS = 4_096;

/**
 * FTS5's BM25 ranking of the tools that match any of some words (sqlite's `rank`: lower is better). Ranking every
 * row that matches any word costs about half a microsecond a row, and common words match a third of a large
 * registry; so the rows matching every word are ranked first, and when the last of the best `limit` of those
 * scores above what any row missing a word could (less than (k1 + 1) × the IDF of the words it has), they are the
 * answer: the same rows in the same order. Otherwise, and for a single word, every match is ranked.
 */
export class Bm25Ranking {
  readonly #database: Database;
  readonly #tokenizer: string;
  #vocabulary = false;
  // Each word's one term, or null when it is not exactly one: fixed by the tokenizer, never stale.
  readonly #terms = new Map<string, string | null>();
  // A scratch database in memory where FTS5 splits words as the index does, made on first use.
  #scratch: Database | undefined;
  // The span of rowids and the rows holding each term, as of one state of the database (see #counts).
  #counts: { state: string; span: number | null; documents: Map<string, number | undefined> } | undefined;
  /** How many searches the rows matching every word answered alone (for tests: proof the shortcut is taken). */
  answeredByEveryWord = 0;

  /** `tokenizer`: the FTS5 tokenize option of `tools_fts`, so the words are split and stemmed as the index was. */
  constructor(database: Database, tokenizer: string) {
    this.#database = database;
    this.#tokenizer = tokenizer;
  }

  /** Closes the scratch database; the index's own database is its owner's to close. */
  close(): void {
    this.#scratch?.close();
    this.#scratch = undefined;
  }

  /** The best `limit` tools matching any of `words` (at least one), best first; only promoted ones if asked. */
  best(words: readonly string[], limit: number, promotedOnly: boolean): Ranked[] {
    const quoted = words.map((word) => `"${word}"`);
    if (quoted.length < 2 || limit < 1) return this.#ranked(quoted.join(" OR "), limit, promotedOnly);
    const everyWord = this.#ranked(quoted.join(" AND "), limit, promotedOnly);
    const last = everyWord[everyWord.length - 1];
    if (everyWord.length === limit && last && this.#beatsAnyPartialMatch(words, -last.rank)) {
      this.answeredByEveryWord += 1;
      return everyWord;
    }
    return this.#ranked(quoted.join(" OR "), limit, promotedOnly);
  }

  /**
   * The best `limit` rows for `match`. Joining `tools` to keep promoted ones read a table row per match (50 ms at
   * 100 000 tools); most tools are promoted, so twice as many rows as needed are ranked, their origin looked up by
   * id, and more asked for only when too few of them were promoted: the same rows in the same order.
   */
  #ranked(match: string, limit: number, promotedOnly: boolean): Ranked[] {
    const statement = this.#database.query<Ranked, [string, number]>(ALL);
    if (!promotedOnly) return statement.all(match, limit);
    const promoted = this.#database.query<{ id: number }, [string]>(
      "SELECT id FROM tools WHERE origin = 'promoted' AND id IN (SELECT value FROM json_each(?))",
    );
    for (let asked = limit * 2; ; asked *= 4) {
      const rows = statement.all(match, asked);
      const kept = new Set(promoted.all(JSON.stringify(rows.map((row) => row.id))).map((row) => row.id));
      const found = rows.filter((row) => kept.has(row.id));
      if (found.length >= limit || rows.length < asked) return found.slice(0, limit);
    }
  }

  /**
   * Whether `score` is above the score of every row that misses one of `words` at least. FTS5 gives phrase p the
   * IDF log((N - n_p + 0.5) / (n_p + 0.5)) (at least 1e-6), N its rows and n_p the rows with p; a row missing the
   * phrase of lowest IDF scores less than (k1 + 1) × the sum of the others. N is bounded above by the span of
   * rowids, which can only raise the bound; n_p is read from the index's own vocabulary (fts5vocab).
   */
  #beatsAnyPartialMatch(words: readonly string[], score: number): boolean {
    const terms = this.#singleTerms(words);
    if (!terms) return false;
    const counts = this.#currentCounts();
    const rows = counts.span;
    if (!rows) return false;
    let sum = 0;
    let least = Number.POSITIVE_INFINITY;
    for (const term of terms) {
      let found = counts.documents.get(term);
      if (!counts.documents.has(term)) {
        found = this.#termDocuments().get(term)?.doc;
        counts.documents.set(term, found);
      }
      if (!found) return false;
      const idf = Math.max(1e-6, Math.log((rows - found + 0.5) / (found + 0.5)));
      sum += idf;
      least = Math.min(least, idf);
    }
    // A margin far above the rounding of either side's arithmetic.
    return (sum - least) * (K1 + 1) * (1 + 1e-9) < score;
  }

  /** Each word's one term (`singleTermEach`), remembered per word. */
  #singleTerms(words: readonly string[]): string[] | undefined {
    const unknown = words.filter((word) => !this.#terms.has(word));
    if (unknown.length > 0) {
      if (this.#terms.size + unknown.length > REMEMBERED_WORDS) this.#terms.clear();
      this.#scratch ??= scratchDatabase(this.#tokenizer);
      const split = singleTermEach(unknown, this.#scratch);
      for (const [index, word] of unknown.entries()) this.#terms.set(word, split[index] ?? null);
    }
    const terms: string[] = [];
    for (const word of words) {
      const term = this.#terms.get(word);
      if (!term) return undefined;
      terms.push(term);
    }
    return terms;
  }

  /**
   * The span of rowids and the rows per term, read afresh whenever the database may have changed since: a write on
   * this connection moves `total_changes()` (FTS5's own table writes count), a commit by another connection moves
   * `data_version`.
   */
  #currentCounts() {
    const state = this.#database
      .query<{ state: string }, []>("SELECT (SELECT data_version FROM pragma_data_version) || ':' || total_changes() AS state")
      .get()?.state;
    if (this.#counts && state !== undefined && this.#counts.state === state) return this.#counts;
    const span =
      this.#database
        .query<{ span: number | null }, []>(
          "SELECT (SELECT rowid FROM tools_fts ORDER BY rowid DESC LIMIT 1) - (SELECT rowid FROM tools_fts ORDER BY rowid LIMIT 1) + 1 AS span",
        )
        .get()?.span ?? null;
    this.#counts = { state: state ?? "", span, documents: new Map() };
    return this.#counts;
  }

  #termDocuments() {
    if (!this.#vocabulary) {
      this.#database.run("CREATE VIRTUAL TABLE IF NOT EXISTS temp.tools_fts_terms USING fts5vocab(main, tools_fts, row)");
      this.#vocabulary = true;
    }
    return this.#database.query<{ doc: number }, [string]>("SELECT doc FROM temp.tools_fts_terms WHERE term = ?");
  }
}

/** A database in memory whose `words` table FTS5 splits and stems with `tokenizer`, and `word_terms` its terms. */
function scratchDatabase(tokenizer: string): Database {
  const scratch = new Database(":memory:", { strict: true });
  scratch.run(`CREATE VIRTUAL TABLE words USING fts5(word, tokenize = '${tokenizer.replaceAll("'", "''")}')`);
  scratch.run("CREATE VIRTUAL TABLE word_terms USING fts5vocab(words, instance)");
  return scratch;
}

/**
 * Each word as the one term FTS5 indexes it as, split by FTS5 itself in the scratch database's `words` table;
 * undefined for a word that is not exactly one term (a phrase of several, or none).
 */
function singleTermEach(list: readonly string[], database: Database): (string | undefined)[] {
  const instances = database.transaction(() => {
    database.run("DELETE FROM words");
    const insert = database.query<never, [number, string]>("INSERT INTO words (rowid, word) VALUES (?, ?)");
    for (const [index, word] of list.entries()) insert.run(index + 1, word);
    return database.query<{ doc: number; term: string }, []>("SELECT doc, term FROM word_terms").all();
  })();
  return list.map((_, index) => {
    const found = instances.filter((instance) => instance.doc === index + 1);
    return found.length === 1 ? found[0]?.term : undefined;
  });
}
