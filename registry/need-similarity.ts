// Whether two needs (or a need and a tool) mean the same thing, deterministically and without a model: each text
// becomes a set of weighted terms (lower case, snake_case and camelCase split, a light stemmer, a small thesaurus
// that folds the many ways a tool's goal is said into one concept, and the words every request shares dropped), and
// two sets are compared by weighted Jaccard, or by containment when the smaller set is specific enough. What many
// tools work on (text, number, list, file) and the verbs every job is said with (check, compute, convert) weigh least,
// a word a little more, and the job and its particular object (count, reverse, clamp, vowel, palindrome, yaml) most,
// so "count the vowels in a text" and "count the words in a text" stay apart while "clamp a number into a range" and
// "keep a value within bounds" meet.
//
// A score is not certainty. Words alone say two needs are certainly one (`compareNeeds`) only when the score is
// SAME_NEED or more, no specific term is in one and not the other, the two do not each have a term the other lacks,
// and neither goes the other's way round ("celsius to fahrenheit" against "fahrenheit to celsius", `directions`).
// Anything else that scores CLOSE_NEED or more is close: an embedding server (a cosine of SAME_NEED_COSINE or more,
// except for two goals that go opposite ways, which embeddings place near) or a model (`org grow`'s `same_need`)
// decides; without either they stay apart.
/** Weighted Jaccard (or containment) at or above which two needs are one proposal. */
export const SAME_NEED = 0.5;
/** Similarity at or above which an existing tool (its name and description) is taken to answer a need. */
export const COVERED_BY_TOOL = 0.5;
/** Cosine of two goals' embeddings at or above which they are one need whatever their words. */
export const SAME_NEED_COSINE = 0.92;
/** Below SAME_NEED but at or above this, two needs are close but not certain: a model is asked when one answers. */
export const CLOSE_NEED = 0.3;
/** The same for embeddings' cosine, below SAME_NEED_COSINE. */
export const CLOSE_NEED_COSINE = 0.8;

/** One way round a goal goes: "celsius to fahrenheit" is from `celsius` to `fahrenheit` (each a term). */
export type Direction = { from: string; to: string };

/** A need's meaning as terms and their weights, and the ways round it goes (none when it names none). */
export type NeedTerms = ReadonlyMap<string, number> & { readonly directions?: readonly Direction[] };

// Phrases that say one concept in several words; applied to the lower-cased text before it is split.
const PHRASES: readonly [RegExp, string][] = [
  [/\bhow (?:many|much)\b/g, " count "],
  [/\bnumber of\b/g, " count "],
  [/\badds? up\b|\badding up\b/g, " sum "],
  [/\blower ?case\b/g, " lowercase "],
  [/\bupper ?case\b|\bcapital letters\b/g, " uppercase "],
  [/\b(?:turns?|turning|changes?|changing) ((?:\w+ ){0,3}?)(?:into|to)\b/g, " convert $1 "],
  [/\bkeeps? ((?:\w+ ){0,3}?)(within|between|inside)\b/g, " clamp $1$2 "],
  [/\breads? the same (?:backwards?|both ways|in reverse)\b|\bthe same (?:forwards? and backwards?|backwards? and forwards?)\b/g, " palindrome "],
  [/\b(?:revers\w*|invert\w*|flip\w*) the order of\b|\bin reverse order\b/g, " reverse "],
  // "some sort of tool", "a kind of counter": a manner of speaking, while "sort a list" is a job.
  [/\b(?:some|a|any|what) (?:sort|kind)s? of\b/g, " "],
];

// Words that say nothing of what the tool does: articles, pronouns, auxiliaries, and how people ask for tools.
const STOP_WORDS = new Set(
  (
    "a an the this that these those it its it's of in into on onto to for from with without by at as and or but nor not no " +
    "is are be been being was were am do does did done can could would should will shall may might must i me my we us our " +
    "you your he she they them their there here what which who whom whose when where why how whether if then than so such " +
    "some any all each every one ones also just only very really please thanks thank tool tools function functions " +
    "something anything thing things way ways need needs needed want wants wanted wish wished like love would'd " +
    "make makes made build builds create creates write writes add get gets give gives have has had let lets use uses using " +
    "new able help me up out about over again still yet maybe perhaps kind lot lots via per named called given"
  ).split(/\s+/),
);

// Stems (after the stemmer) folded into one concept.
const CONCEPTS: Record<string, string> = {
  tally: "count",
  enumerate: "count",
  string: "text",
  sentence: "text",
  phrase: "text",
  paragraph: "text",
  passage: "text",
  value: "number",
  integer: "number",
  int: "number",
  float: "number",
  numeral: "number",
  figure: "number",
  conversion: "convert",
  transform: "convert",
  translate: "convert",
  restrict: "clamp",
  constrain: "clamp",
  confine: "clamp",
  limit: "clamp",
  cap: "clamp",
  bound: "range",
  interval: "range",
  between: "range",
  within: "range",
  inside: "range",
  lower: "range",
  upper: "range",
  degree: "temperature",
  centigrade: "celsius",
  backward: "reverse",
  invert: "reverse",
  flip: "reverse",
  maximum: "max",
  largest: "max",
  biggest: "max",
  greatest: "max",
  highest: "max",
  minimum: "min",
  smallest: "min",
  lowest: "min",
  least: "min",
  total: "sum",
  test: "check",
  verify: "check",
  validate: "check",
  detect: "check",
  tell: "check",
  array: "list",
  sequence: "list",
  calculate: "compute",
  calculation: "compute",
  work: "compute",
  find: "compute",
  determine: "compute",
};

// What many tools work on, and the verbs many jobs are said with ("check whether", "convert … to …"): it counts, but
// less than the job and the particular thing it is done to.
const COMMON: ReadonlySet<string> = new Set([
  "text",
  "number",
  "list",
  "file",
  "data",
  "compute",
  "check",
  "convert",
  "return",
  "input",
  "output",
  "result",
]);
const COMMON_WEIGHT = 0.35;
/** The weight of such a term in `needTerms`: a term weighing more tells one job from another. */
export const COMMON_TERM_WEIGHT = COMMON_WEIGHT;
// Words: a thing many text tools work on, yet not nothing ("count words" is not "count numbers").
const MIDDLE: ReadonlySet<string> = new Set(["word"]);
const MIDDLE_WEIGHT = 0.7;
// A set must weigh this much for containment to count: one specific word and something more.
const CONTAINMENT_MINIMUM = 1.3;
const CONTAINMENT_FACTOR = 0.9;
const MAX_INPUT = 2_000;

/** A light suffix stemmer: plurals, -ing, -ed, -er, -ly, a final e; enough to meet "reverse", "reversing" and "reversed". */
export function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith("ies")) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && w.endsWith("sses")) w = w.slice(0, -2);
  else if (w.length > 4 && /(?:ches|shes|xes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith("s") && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith("ing")) w = undouble(w.slice(0, -3));
  else if (w.length > 4 && w.endsWith("ed") && !w.endsWith("eed")) w = undouble(w.slice(0, -2));
  else if (w.length > 5 && w.endsWith("er") && !COMMON_ER.has(w)) w = w.slice(0, -2);
  else if (w.length > 5 && w.endsWith("ly")) w = w.slice(0, -2);
  if (w.length > 4 && w.endsWith("e") && !w.endsWith("ee")) w = w.slice(0, -1);
  return w;
}

// Words whose -er is no suffix.
const COMMON_ER = new Set([
  "number",
  "lower",
  "upper",
  "letter",
  "filter",
  "center",
  "parameter",
  "character",
  "order",
  "border",
  "header",
  "integer",
]);

// The thesaurus by stem, so that every form of a word finds its concept.
const CONCEPT_OF: ReadonlyMap<string, string> = new Map([
  ...Object.values(CONCEPTS).map((concept) => [stem(concept), concept] as const),
  ...Object.entries(CONCEPTS).map(([word, concept]) => [stem(word), concept] as const),
]);

function undouble(word: string): string {
  // "clamped" → "clamp", "running" → "run", "capped" → "cap"; but "checked" → "check".
  if (/([b-df-hj-np-tv-z])\1$/.test(word) && !/(?:ss|ll|zz|ff)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** A text lower-cased, snake_case and camelCase split, cut to MAX_INPUT (losing its last, partial word rather than keep a stub). */
function lowered(text: string): string {
  const cut = text.length > MAX_INPUT ? text.slice(0, MAX_INPUT).replace(/\S*$/, "") : text;
  return cut
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .replace(/_/g, " ");
}

/** The words of lowered text: letters and digits only. */
function splitWords(text: string): string[] {
  return text.split(/[^\p{L}\p{N}']+/u).flatMap((word) => {
    const bare = word.replace(/^'+|'+$/g, "").replace(/'s$/, "");
    return bare === "" ? [] : [bare];
  });
}

/** The words of a text, its phrases folded into their concepts. */
function needWords(text: string): string[] {
  let folded = lowered(text);
  for (const [pattern, replacement] of PHRASES) folded = folded.replace(pattern, replacement);
  return splitWords(folded);
}

/** A word's term (its stem's concept), or undefined for a word that says nothing of the job. */
function termOf(word: string): string | undefined {
  if (STOP_WORDS.has(word) || /^\d+$/.test(word)) return undefined;
  const stemmed = stem(word);
  if (STOP_WORDS.has(stemmed) || stemmed.length < 2) return undefined;
  return CONCEPT_OF.get(stemmed) ?? stemmed;
}

// What may stand between "to" and the thing it goes to: "into a date", "to the yaml format".
const ARTICLES = new Set(["a", "an", "the"]);
// How far past "from" a "to" still makes one way round with it ("from celsius degrees to fahrenheit").
const FROM_REACH = 4;

/**
 * The two ends of a way round by their concepts; by their stems when both are one concept ("roman numerals to
 * numbers"); undefined when an end is missing or both are one word.
 */
function wayRound(
  from: string | undefined,
  to: string | undefined,
  fromWord: string | undefined,
  toWord: string | undefined,
): [string, string] | undefined {
  if (from === undefined || to === undefined) return undefined;
  if (from !== to) return [from, to];
  const [a, b] = [stem(fromWord ?? ""), stem(toWord ?? "")];
  return a !== b ? [a, b] : undefined;
}

/**
 * The ways round a text goes, each from the word just before "to" or "into" to the first word after it ("convert
 * celsius to fahrenheit", "turn a unix timestamp into a date", "celsius_to_fahrenheit"), and from the word after a
 * "from" that no "to" follows to the word before it ("the year from a date": from date to year). A "to" with no word
 * of a job just before it ("a tool to …", "I want to …") goes nowhere.
 */
export function needDirections(text: string): Direction[] {
  const words = splitWords(lowered(text));
  const directions: Direction[] = [];
  const skipped = (index: number) => {
    let at = index + 1;
    while (ARTICLES.has(words[at] ?? "")) at += 1;
    return at - index - 1;
  };
  const after = (index: number) => termOf(words[index + 1 + skipped(index)] ?? "");
  for (const [index, word] of words.entries()) {
    if (word !== "to" && word !== "into" && word !== "from") continue;
    const ends = wayRound(termOf(words[index - 1] ?? ""), after(index), words[index - 1], words[index + 1 + skipped(index)]);
    if (!ends) continue;
    const [before, next] = ends;
    if (word !== "from") directions.push({ from: before, to: next });
    else if (!words.slice(index + 1, index + 1 + FROM_REACH).some((later) => later === "to" || later === "into"))
      directions.push({ from: next, to: before });
  }
  return directions;
}

/** The weighted terms of a need or a tool's name and description. */
export function needTerms(text: string): NeedTerms {
  const terms = new Map<string, number>();
  for (const word of needWords(text)) {
    const concept = termOf(word);
    if (concept !== undefined) terms.set(concept, COMMON.has(concept) ? COMMON_WEIGHT : MIDDLE.has(concept) ? MIDDLE_WEIGHT : 1);
  }
  // A least and a most make a range ("between a min and a max", "Clamps value into [min, max]").
  if (terms.has("min") && terms.has("max")) {
    terms.delete("min");
    terms.delete("max");
    terms.set("range", 1);
  }
  return Object.assign(terms, { directions: needDirections(text) });
}

function weight(terms: NeedTerms): number {
  let total = 0;
  for (const value of terms.values()) total += value;
  return total;
}

/**
 * How alike two needs are, 0 to 1: weighted Jaccard of their terms, or, when all of the smaller set's terms are in
 * the larger and it is specific enough (a word that tells tools apart and more), 0.9. Symmetric and deterministic.
 */
export function needSimilarity(a: string | NeedTerms, b: string | NeedTerms): number {
  const left = typeof a === "string" ? needTerms(a) : a;
  const right = typeof b === "string" ? needTerms(b) : b;
  const leftWeight = weight(left);
  const rightWeight = weight(right);
  if (leftWeight === 0 || rightWeight === 0) return 0;
  let shared = 0;
  for (const [term, value] of left) if (right.has(term)) shared += value;
  const jaccard = shared / (leftWeight + rightWeight - shared);
  const smaller = Math.min(leftWeight, rightWeight);
  const contained = smaller >= CONTAINMENT_MINIMUM && Math.abs(shared - smaller) < 1e-9 ? CONTAINMENT_FACTOR : 0;
  // Rounded: sums taken in each text's order differ in their last bits, and a score is the same both ways round.
  return Math.round(Math.max(jaccard, contained) * 1e9) / 1e9;
}

/** Whether two sets of ways round go opposite ways ("celsius to fahrenheit", "fahrenheit to celsius") and share none. */
function opposite(a: readonly Direction[], b: readonly Direction[]): boolean {
  const same = (x: Direction, y: Direction) => x.from === y.from && x.to === y.to;
  if (a.some((x) => b.some((y) => same(x, y)))) return false;
  return a.some((x) => b.some((y) => x.from === y.to || x.to === y.from));
}

/** The weight of the terms of `a` that `b` lacks, and the weightiest of them (1: a job or its object). */
function unshared(a: NeedTerms, b: NeedTerms): { weight: number; most: number } {
  let total = 0;
  let most = 0;
  for (const [term, value] of a) {
    if (b.has(term)) continue;
    total += value;
    most = Math.max(most, value);
  }
  return { weight: total, most };
}

/** What the words alone say of two needs: how alike (`score`), whether certainly one need, whether they go opposite ways. */
export type NeedComparison = { score: number; certain: boolean; opposite: boolean };

/**
 * Two needs compared by their words (`alike`): certain only when they score SAME_NEED or more and differ in nothing
 * that tells jobs apart: no specific term (a job, its object) in one alone, not a term in each that the other lacks
 * ("sort a list of numbers", "sort a list of words"), and not opposite ways round. Symmetric and deterministic.
 * `answers`: whether `a`, a tool's name and description, answers `b`, a need: a tool says more than a need (how it
 * joins, what it returns), so only the need's own terms must all be the tool's (but what many tools work on).
 */
export function compareNeeds(a: string | NeedTerms, b: string | NeedTerms, how: "alike" | "answers" = "alike"): NeedComparison {
  const left = typeof a === "string" ? needTerms(a) : a;
  const right = typeof b === "string" ? needTerms(b) : b;
  const score = needSimilarity(left, right);
  const reversed = opposite(left.directions ?? [], right.directions ?? []);
  const onlyLeft = unshared(left, right);
  const onlyRight = unshared(right, left);
  const distinguished =
    how === "answers" ? onlyRight.most > COMMON_WEIGHT : onlyLeft.most >= 1 || onlyRight.most >= 1 || (onlyLeft.weight > 0 && onlyRight.weight > 0);
  return { score, certain: score >= SAME_NEED && !reversed && !distinguished, opposite: reversed };
}

/** The terms of a text in a stable order, for a proposal's key and for display: "clamp number range". */
export function needKey(terms: NeedTerms): string {
  return [...terms.keys()].sort().join(" ");
}

/** Cosine similarity of two vectors of the same length (0 when either is empty or zero). */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let left = 0;
  let right = 0;
  for (let index = 0; index < a.length; index += 1) {
    const x = a[index] ?? 0;
    const y = b[index] ?? 0;
    dot += x * y;
    left += x * x;
    right += y * y;
  }
  return left === 0 || right === 0 ? 0 : dot / Math.sqrt(left * right);
}
