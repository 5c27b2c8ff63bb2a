// What a shell would run of a command string (`sh -c "…"`, a package.json script), read well enough to know which
// programs and files it names: not a shell. Quotes and backslashes are taken as a POSIX shell takes them; `;`, `&`,
// `|`, line breaks, parentheses, braces, backquotes and `$(` end a command; `#` at a word's start begins a comment.

/** Characters of a command string read at most, and commands given back at most. */
const MAX_TEXT = 64 * 1024;
const MAX_COMMANDS = 256;

const SEPARATORS = new Set([";", "&", "|", "\n", "(", ")", "`"]);
// Words that open or close a compound command, or negate one: the command follows them.
const KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "in", "case", "esac", "!", "{", "}", "time"]);

/**
 * The simple commands of a shell string, each as its words with quotes taken out, keywords before a command left out;
 * a word with an expansion (`$HOME/x`) keeps it as written.
 */
export function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  const endWord = () => {
    if (word !== undefined && !(words.length === 0 && KEYWORDS.has(word))) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0 && commands.length < MAX_COMMANDS) commands.push(words);
    words = [];
  };
  const source = text.slice(0, MAX_TEXT);
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index] ?? "";
    if (char === "'" || char === '"') {
      const close = closingQuote(source, index);
      word = (word ?? "") + unescapedQuote(source.slice(index + 1, close), char);
      index = close;
    } else if (char === "\\") {
      word = (word ?? "") + (source[index + 1] === "\n" ? "" : (source[index + 1] ?? ""));
      index += 1;
    } else if (char === "#" && word === undefined) {
      const end = source.indexOf("\n", index);
      index = end === -1 ? source.length : end - 1;
    } else if (char === "$" && source[index + 1] === "(") {
      endCommand();
      index += 1;
    } else if (SEPARATORS.has(char)) endCommand();
    else if (/\s/.test(char) || char === "<" || char === ">") endWord();
    else word = (word ?? "") + char;
  }
  endCommand();
  return commands;
}

/** Where a quote opened at `open` closes (the text's end when it never does); a double quote's backslashes escape. */
function closingQuote(text: string, open: number): number {
  const quote = text[open];
  for (let index = open + 1; index < text.length; index += 1) {
    if (quote === '"' && text[index] === "\\") index += 1;
    else if (text[index] === quote) return index;
  }
  return text.length;
}

function unescapedQuote(inside: string, quote: string): string {
  return quote === "'" ? inside : inside.replace(/\\([$`"\\\n])/g, (_whole, char: string) => (char === "\n" ? "" : char));
}
