import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";

declare const safe: unique symbol;
/** Text the terminal may receive: every character from outside org sanitized, every escape sequence org's own. */
export type TerminalText = string & { readonly [safe]: true };

const CODES = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  white: "37",
  gray: "90",
} as const;
/** A style org paints its text in; persona colours from the config are the colour names among these. */
export type Style = keyof typeof CODES;

/** Whether `name` (e.g. a persona colour from the config) is a style. */
export function isStyle(name: string): name is Style {
  return Object.hasOwn(CODES, name);
}

/** The one ANSI helper: every string passes the terminal sanitizer first, then gets org's colour. */
export type Ansi = {
  color: boolean;
  /** `text` sanitized, in `style` when colour is on. */
  text(text: string, style?: Style): TerminalText;
  /** Pieces already made safe, joined. */
  join(...parts: TerminalText[]): TerminalText;
  /** Back to the line's start, the line erased (for the spinner). */
  clearLine: TerminalText;
  clearScreen: TerminalText;
};

/** The ANSI helper for a terminal with (`color`) or without colour; without, it adds no escape sequences. */
export function createAnsi(color: boolean): Ansi {
  const trusted = (text: string) => text as TerminalText;
  return {
    color,
    text(text, style) {
      const shown = sanitizeForTerminal(text);
      return trusted(color && style && shown !== "" ? `\x1b[${CODES[style]}m${shown}\x1b[0m` : shown);
    },
    join: (...parts) => trusted(parts.join("")),
    clearLine: trusted(color ? "\r\x1b[2K" : ""),
    clearScreen: trusted("\x1b[2J\x1b[H"),
  };
}
