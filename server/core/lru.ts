// A small bounded LRU on Map's insertion order: the oldest entry is evicted first, and a hit moves an entry back to
// the young end. Bounded by entry count and, when `maxKeyChars` is set, by the total length of its keys, so the
// memory it holds never grows with the size of the strings it is fed.
//
// A hit moves its entry only once it has aged past half the capacity. Moving means delete + set, and a deleted Map
// entry stays in its hash chain until the table is rebuilt: one key hit on every request (a viewer playing a video)
// piled up thousands of those in one chain, and each lookup walked them (6x the cost of a lookup, measured in
// bench/serving.ts as one viewer slower than 5,000). An entry hit at least once per half-capacity of insertions is
// still never evicted.
interface Entry<V> {
  value: V;
  /** The insertion clock when it was last put at the young end. */
  at: number;
}

export class Lru<V> {
  readonly #max: number;
  readonly #maxKeyChars: number;
  readonly #map = new Map<string, Entry<V>>();
  #keyChars = 0;
  #clock = 0;
  constructor(max: number, maxKeyChars = Infinity) {
    this.#max = max;
    this.#maxKeyChars = maxKeyChars;
  }
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (this.#clock - e.at > this.#max / 2) {
      this.#map.delete(key);
      e.at = ++this.#clock;
      this.#map.set(key, e);
    }
    return e.value;
  }
  set(key: string, value: V): void {
    if (this.#max <= 0 || key.length > this.#maxKeyChars) return;
    if (this.#map.delete(key)) this.#keyChars -= key.length;
    this.#map.set(key, { value, at: ++this.#clock });
    this.#keyChars += key.length;
    while (this.#map.size > this.#max || this.#keyChars > this.#maxKeyChars) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
      this.#keyChars -= oldest.length;
    }
  }
  /** Forgets one entry (a value that turned out bad, such as a failed signature). */
  delete(key: string): void {
    if (this.#map.delete(key)) this.#keyChars -= key.length;
  }
  get size(): number {
    return this.#map.size;
  }
  /** Total length of the keys held, in UTF-16 code units. */
  get keyChars(): number {
    return this.#keyChars;
  }
}
