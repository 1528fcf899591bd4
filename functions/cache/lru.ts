/**
 * A bounded map that forgets entries past their expiry and, when full (by entries, or by bytes when `maxBytes` is
 * given), the least recently used one. Recency is the Map's insertion order: a read moves the entry to the end.
 */
export class ExpiringLru<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number; bytes: number }>();
  #bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
    /** a bound on the sum of `sizeOf` over the entries; an entry larger than it alone is not kept */
    private readonly bytes: { maxBytes: number; sizeOf: (key: string, value: V) => number } | undefined = undefined,
  ) {}

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.#bytes -= entry.bytes;
      return undefined;
    }
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (this.maxEntries <= 0 || ttlMs <= 0) return;
    this.delete(key);
    const bytes = this.bytes ? this.bytes.sizeOf(key, value) : 0;
    if (this.bytes && bytes > this.bytes.maxBytes) return;
    this.#entries.set(key, { value, expiresAt: this.now() + ttlMs, bytes });
    this.#bytes += bytes;
    while (this.#entries.size > this.maxEntries || (this.bytes && this.#bytes > this.bytes.maxBytes)) {
      this.delete(this.#entries.keys().next().value as string);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** the sum of the entries' sizes (0 without a byte bound) */
  get byteSize(): number {
    return this.#bytes;
  }
}
