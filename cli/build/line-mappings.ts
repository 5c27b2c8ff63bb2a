// A source map's `mappings` (https://tc39.es/ecma426/): a line of segments for each generated line, each segment the
// generated column and, when it has one, the place in a source (file, line, column, name), in base64 VLQ, every field
// relative to the one before it.

/** Where one segment's code came from; absent for generated code with no source. */
export type SourcePlace = { source: number; line: number; column: number; name?: number };
/** One segment, every field absolute: from `column` of its generated line on, the code is from `place`. */
export type Segment = { column: number; place?: SourcePlace };

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The generated lines of `mappings`, each a list of its segments with absolute fields. */
export function decodeMappings(mappings: string): Segment[][] {
  const digit = new Map([...BASE64].map((char, index) => [char, index]));
  const place: Required<SourcePlace> = { source: 0, line: 0, column: 0, name: 0 };
  return mappings.split(";").map((text) => {
    let column = 0;
    return (text === "" ? [] : text.split(",")).map((segment): Segment => {
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const bits = digit.get(char);
        if (bits === undefined) throw new Error(`not base64 in a source map's mappings: ${JSON.stringify(char)}`);
        value += (bits & 31) * 2 ** shift;
        shift += 5;
        if ((bits & 32) === 0) {
          fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
          value = 0;
          shift = 0;
        }
      }
      column += fields[0] ?? 0;
      if (fields.length < 4) return { column };
      place.source += fields[1] ?? 0;
      place.line += fields[2] ?? 0;
      place.column += fields[3] ?? 0;
      if (fields.length === 5) place.name += fields[4] ?? 0;
      const { source, line, column: sourceColumn, name } = place;
      return { column, place: fields.length === 5 ? { source, line, column: sourceColumn, name } : { source, line, column: sourceColumn } };
    });
  });
}

/** `lines` written as `mappings`: the inverse of `decodeMappings`. */
export function encodeMappings(lines: readonly (readonly Segment[])[]): string {
  const last: Required<SourcePlace> = { source: 0, line: 0, column: 0, name: 0 };
  return lines
    .map((segments) => {
      let column = 0;
      return segments
        .map(({ column: at, place }) => {
          let text = vlq(at - column);
          column = at;
          if (!place) return text;
          text += vlq(place.source - last.source) + vlq(place.line - last.line) + vlq(place.column - last.column);
          Object.assign(last, { source: place.source, line: place.line, column: place.column });
          if (place.name !== undefined) {
            text += vlq(place.name - last.name);
            last.name = place.name;
          }
          return text;
        })
        .join(",");
    })
    .join(";");
}

function vlq(value: number): string {
  let rest = value < 0 ? -value * 2 + 1 : value * 2;
  let text = "";
  do {
    const bits = rest % 32;
    rest = Math.floor(rest / 32);
    text += BASE64[rest > 0 ? bits + 32 : bits];
  } while (rest > 0);
  return text;
}

/**
 * `mappings` with only the segments where a generated line starts or its source file or line changes: a position
 * still maps to the same file and line, its column to where that line's code begins on the generated line. Bun
 * parses the whole map to place one stack frame (cli/build/build-prebuilt.ts); a third of the segments is a third of
 * that parse.
 */
export function lineMappings(mappings: string): string {
  const sameLine = (a: Segment, b: Segment) =>
    a.place === undefined ? b.place === undefined : a.place.source === b.place?.source && a.place.line === b.place.line;
  return encodeMappings(
    decodeMappings(mappings).map((segments) =>
      segments.filter((segment, index) => index === 0 || !sameLine(segment, segments[index - 1] ?? segment)),
    ),
  );
}
