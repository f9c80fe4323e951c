// A small bounded LRU on Map's insertion order: a hit re-inserts the key, the oldest entry is evicted first.
// Bounded by entry count and, when `maxKeyChars` is set, by the total length of its keys, so the memory it holds
// never grows with the size of the strings it is fed.
export class Lru<V> {
  readonly #max: number;
  readonly #maxKeyChars: number;
  readonly #map = new Map<string, V>();
  #keyChars = 0;
  constructor(max: number, maxKeyChars = Infinity) {
    this.#max = max;
    this.#maxKeyChars = maxKeyChars;
  }
  get(key: string): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    if (this.#max <= 0 || key.length > this.#maxKeyChars) return;
    if (this.#map.delete(key)) this.#keyChars -= key.length;
    this.#map.set(key, value);
    this.#keyChars += key.length;
    while (this.#map.size > this.#max || this.#keyChars > this.#maxKeyChars) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
      this.#keyChars -= oldest.length;
    }
  }
  get size(): number {
    return this.#map.size;
  }
  /** Total length of the keys held, in UTF-16 code units. */
  get keyChars(): number {
    return this.#keyChars;
  }
}
