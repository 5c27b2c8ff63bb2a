/**
 * Scores every code of a collection against one table: each code is `nibbles` four-bit values, its score the sum of
 * `table[j * 16 + value_j]` over its nibbles, with bytes for entries and 16 bits for sums (the caller keeps a table's
 * greatest sum under 65 536). Codes are stored 32 to a block, nibble-major: for nibble j of a block, 16 bytes whose low
 * four bits are codes 0–15's and whose high four bits are codes 16–31's. A WebAssembly SIMD loop then looks up 32 codes'
 * nibble j with two `i8x16.swizzle`s of the same 16 table bytes: over 100 000 codes of 384 nibbles it reads memory about
 * as fast as the machine gives it (about 2 ms, against 7 ms for the one-bit scan in JavaScript it replaced, which read
 * half as many bytes). Where WebAssembly SIMD is not to be had, a JavaScript loop gives the same sums, slowly.
 */
export class NibbleScan {
  readonly size: number;
  readonly nibbles: number;
  /** The 16 entries of each nibble, filled by the caller before `scan`: entry `j * 16 + value`. */
  readonly table: Uint8Array;
  readonly #blocks: number;
  readonly #codes: Uint8Array;
  readonly #scores: Uint16Array;
  readonly #simd: ((codes: number, table: number, scores: number, blocks: number, nibbles: number) => void) | undefined;

  /** Room for `size` codes of `nibbles` nibbles, all zero; `simd: false` uses the JavaScript loop (for tests). */
  constructor(size: number, nibbles: number, options: { simd?: boolean } = {}) {
    this.size = size;
    this.nibbles = nibbles;
    this.#blocks = Math.ceil(size / 32);
    const codeBytes = this.#blocks * nibbles * 16;
    const tableBytes = nibbles * 16;
    const bytes = codeBytes + tableBytes + this.#blocks * 64;
    const pages = Math.max(1, Math.ceil(bytes / 65_536));
    if (pages > 65_536) throw new RangeError(`${size} codes of ${nibbles} nibbles need ${bytes} bytes, more than a WebAssembly memory holds`);
    const module = options.simd === false ? undefined : SCAN_MODULE;
    if (module) {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const scan = new WebAssembly.Instance(module, { env: { memory } }).exports.scan;
      if (typeof scan !== "function") throw new Error("the nibble scan module exports no scan function");
      this.#simd = scan as (codes: number, table: number, scores: number, blocks: number, nibbles: number) => void;
      // The memory never grows (its maximum is its size), so these views stay attached.
      this.#codes = new Uint8Array(memory.buffer, 0, codeBytes);
      this.table = new Uint8Array(memory.buffer, codeBytes, tableBytes);
      this.#scores = new Uint16Array(memory.buffer, codeBytes + tableBytes, this.#blocks * 32);
    } else {
      this.#simd = undefined;
      this.#codes = new Uint8Array(codeBytes);
      this.table = new Uint8Array(tableBytes);
      this.#scores = new Uint16Array(this.#blocks * 32);
    }
  }

  /** Whether `scan` runs the WebAssembly SIMD loop. */
  get simd(): boolean {
    return this.#simd !== undefined;
  }

  /** Sets nibble `nibble` of the code at `position` to `value` (0–15). */
  set(position: number, nibble: number, value: number): void {
    const at = this.#at(position, nibble);
    const shift = position & 16 ? 4 : 0;
    this.#codes[at] = ((this.#codes[at] ?? 0) & ~(15 << shift)) | ((value & 15) << shift);
  }

  /** Nibble `nibble` of the code at `position`. */
  get(position: number, nibble: number): number {
    return ((this.#codes[this.#at(position, nibble)] ?? 0) >>> (position & 16 ? 4 : 0)) & 15;
  }

  /** Every code's score against `table`: entry `position` (entries past `size` are padding). Valid until the next scan. */
  scan(): Uint16Array {
    if (this.#simd) this.#simd(this.#codes.byteOffset, this.table.byteOffset, this.#scores.byteOffset, this.#blocks, this.nibbles);
    else this.#scanInJavaScript();
    return this.#scores;
  }

  #at(position: number, nibble: number): number {
    return ((position >>> 5) * this.nibbles + nibble) * 16 + (position & 15);
  }

  #scanInJavaScript(): void {
    const codes = this.#codes;
    const table = this.table;
    const scores = this.#scores;
    const nibbles = this.nibbles;
    for (let block = 0; block < this.#blocks; block += 1) {
      const base = block * nibbles * 16;
      for (let lane = 0; lane < 16; lane += 1) {
        let low = 0;
        let high = 0;
        for (let nibble = 0, at = base + lane, entry = 0; nibble < nibbles; nibble += 1, at += 16, entry += 16) {
          const byte = codes[at] ?? 0;
          low += table[entry | (byte & 15)] ?? 0;
          high += table[entry | (byte >>> 4)] ?? 0;
        }
        scores[block * 32 + lane] = low;
        scores[block * 32 + 16 + lane] = high;
      }
    }
  }
}

/** The scan loop compiled; null where this runtime has no WebAssembly SIMD. */
function compileScanModule(): WebAssembly.Module | null {
  const bytes = scanModuleBytes();
  try {
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    return null;
  }
}

/**
 * The module, written out instruction by instruction (there is no WebAssembly toolchain in the project). As text:
 *
 *   (module (import "env" "memory" (memory 1))
 *     (func (export "scan") (param $codes i32) (param $table i32) (param $scores i32) (param $blocks i32) (param $nibbles i32)
 *       (local $left i32) (local $entry i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 *       (local $bytes v128) (local $found v128) (local $low v128)
 *       (local.set $low (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
 *       (block $done (loop $block
 *         (br_if $done (i32.eqz (local.get $blocks)))
 *         (local.set $d (local.tee $c (local.tee $b (local.tee $a (v128.const i64x2 0 0)))))
 *         (local.set $left (local.get $nibbles)) (local.set $entry (local.get $table))
 *         (loop $nibble
 *           (local.set $bytes (v128.load (local.get $codes)))
 *           ;; codes 0–15: the low four bits; 0–7 widen into $a, 8–15 into $b
 *           (local.set $found (i8x16.swizzle (v128.load (local.get $entry)) (v128.and (local.get $bytes) (local.get $low))))
 *           (local.set $a (i16x8.add (local.get $a) (i16x8.extend_low_i8x16_u (local.get $found))))
 *           (local.set $b (i16x8.add (local.get $b) (i16x8.extend_high_i8x16_u (local.get $found))))
 *           ;; codes 16–31: the high four bits, into $c and $d
 *           (local.set $found (i8x16.swizzle (v128.load (local.get $entry)) (i8x16.shr_u (local.get $bytes) (i32.const 4))))
 *           (local.set $c (i16x8.add (local.get $c) (i16x8.extend_low_i8x16_u (local.get $found))))
 *           (local.set $d (i16x8.add (local.get $d) (i16x8.extend_high_i8x16_u (local.get $found))))
 *           (local.set $codes (i32.add (local.get $codes) (i32.const 16)))
 *           (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
 *           (br_if $nibble (local.tee $left (i32.sub (local.get $left) (i32.const 1)))))
 *         (v128.store offset=0 (local.get $scores) (local.get $a)) (v128.store offset=16 (local.get $scores) (local.get $b))
 *         (v128.store offset=32 (local.get $scores) (local.get $c)) (v128.store offset=48 (local.get $scores) (local.get $d))
 *         (local.set $scores (i32.add (local.get $scores) (i32.const 64)))
 *         (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
 *         (br $block)))))
 */
export function scanModuleBytes(): Uint8Array {
  // Locals after the five parameters: two i32s, then seven v128s.
  const code = [2, 2, I32, 7, V128, ...scanBody()];
  const name = (text: string) => [text.length, ...new TextEncoder().encode(text)];
  const section = (id: number, content: number[]) => [id, ...unsignedLeb(content.length), ...content];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    // One type: five i32 parameters, no results.
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]),
    // The memory, imported as env.memory, at least one page.
    ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name("scan"), 0x00, 0]),
    ...section(10, [1, ...unsignedLeb(code.length), ...code]),
  ]);
}

// The scan function's locals, by index: the five parameters, then $left and $entry, then the v128s.
const [CODES, TABLE, SCORES, BLOCKS, NIBBLES, LEFT, ENTRY, A, B, C, D, BYTES, FOUND, LOW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const I32 = 0x7f;
const V128 = 0x7b;
const END = 0x0b;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_EQZ = 0x45;
const get = (local: number) => [0x20, local];
const set = (local: number) => [0x21, local];
const tee = (local: number) => [0x22, local];
// Signed LEB128: a value from 64 up takes a second byte, or its sixth bit would read as the sign.
const constant = (value: number) => [0x41, ...(value < 64 ? [value] : [(value & 0x7f) | 0x80, value >>> 7])];
/** `local += by` on an i32 local. */
const step = (local: number, by: number, opcode = I32_ADD) => [...get(local), ...constant(by), opcode, ...set(local)];
const simd = (opcode: number) => [0xfd, ...unsignedLeb(opcode)];
// Memory arguments: alignment 2^4 (every address used is a multiple of 16), then the offset.
const LOAD = [...simd(0x00), 4, 0];
const store = (offset: number) => [...simd(0x0b), 4, offset];
const splat = (byte: number) => [...simd(0x0c), ...new Array<number>(16).fill(byte)];
const SWIZZLE = simd(0x0e);
const AND = simd(0x4e);
const SHIFT_RIGHT = simd(0x6d);
const WIDEN_LOW = simd(0x89);
const WIDEN_HIGH = simd(0x8a);
const ADD16 = simd(0x8e);
/** `into += widen($found)`, eight 16-bit lanes. */
const accumulate = (into: number, widen: number[]) => [...get(into), ...get(FOUND), ...widen, ...ADD16, ...set(into)];

/** The function's body, `$block`: 32 codes at a time, their four sums zeroed, their nibbles added up, their 32 scores stored, until `$blocks` is 0.
 *
 */
function scanBody(): number[] {
  return [
    ...splat(15),
    ...set(LOW),
    ...BLOCK,
    ...LOOP,
    // br_if $done
    ...[...get(BLOCKS), I32_EQZ, 0x0d, 1],
    ...[...splat(0), ...tee(A), ...tee(B), ...tee(C), ...set(D)],
    ...[...get(NIBBLES), ...set(LEFT), ...get(TABLE), ...set(ENTRY)],
    ...nibbleLoop(),
    ...[A, B, C, D].flatMap((local, index) => [...get(SCORES), ...get(local), ...store(16 * index)]),
    ...step(SCORES, 64),
    ...step(BLOCKS, 1, I32_SUB),
    // br $block, then the ends of $block's loop, of $done and of the function
    ...[0x0c, 0, END, END, END],
  ];
}

/** `$nibble`: nibble j of the block's 32 codes looked up in entry j's 16 bytes, codes 0–15 by their low four bits, 16–31 by their high. */
function nibbleLoop(): number[] {
  return [
    ...LOOP,
    ...[...get(CODES), ...LOAD, ...set(BYTES)],
    ...[...get(ENTRY), ...LOAD, ...get(BYTES), ...get(LOW), ...AND, ...SWIZZLE, ...set(FOUND)],
    ...accumulate(A, WIDEN_LOW),
    ...accumulate(B, WIDEN_HIGH),
    ...[...get(ENTRY), ...LOAD, ...get(BYTES), ...constant(4), ...SHIFT_RIGHT, ...SWIZZLE, ...set(FOUND)],
    ...accumulate(C, WIDEN_LOW),
    ...accumulate(D, WIDEN_HIGH),
    ...step(CODES, 16),
    ...step(ENTRY, 16),
    // br_if $nibble (local.tee $left (i32.sub (local.get $left) (i32.const 1)))
    ...[...get(LEFT), ...constant(1), I32_SUB, ...tee(LEFT), 0x0d, 0],
    END,
  ];
}

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    bytes.push(rest ? byte | 0x80 : byte);
  } while (rest);
  return bytes;
}

// Compiled as the module loads (after the constants the bytes are made of): a compiled module never changes.
const SCAN_MODULE = compileScanModule();
