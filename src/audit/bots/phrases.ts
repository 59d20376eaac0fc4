/**
 * Finds any of many fixed phrases in a text in one pass (Aho-Corasick), so a list of a thousand
 * file names (the CRS LFI list) costs one scan of the text, not a thousand. Phrases and texts are
 * compared lower-cased: callers pass lower-case text.
 */
export class PhraseMatcher {
  /** Per state: the next state for each character code seen. */
  private readonly next: Array<Map<number, number>> = [new Map()];
  private readonly fail: number[] = [0];
  /** Per state: indexes of the phrases ending there (its own and, via fail links, shorter ones). */
  private readonly out: number[][] = [[]];
  private readonly phrases: string[];

  constructor(phrases: readonly string[]) {
    this.phrases = [...new Set(phrases.map((p) => p.toLowerCase()).filter((p) => p.length > 0))];
    this.phrases.forEach((p, i) => {
      let s = 0;
      for (let k = 0; k < p.length; k++) {
        const c = p.charCodeAt(k);
        let t = this.next[s]?.get(c);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map());
          this.fail.push(0);
          this.out.push([]);
          this.next[s]?.set(c, t);
        }
        s = t;
      }
      this.out[s]?.push(i);
    });
    // Breadth-first fail links.
    const queue: number[] = [...(this.next[0]?.values() ?? [])];
    for (let h = 0; h < queue.length; h++) {
      const s = queue[h] as number;
      for (const [c, t] of this.next[s] ?? []) {
        queue.push(t);
        let f = this.fail[s] as number;
        while (f !== 0 && !this.next[f]?.has(c)) f = this.fail[f] as number;
        const ft = this.next[f]?.get(c);
        this.fail[t] = ft !== undefined && ft !== t ? ft : 0;
        this.out[t]?.push(...(this.out[this.fail[t] as number] ?? []));
      }
    }
  }

  /**
   * The first phrase found (leftmost end) that `accept(start, end)` takes, or undefined.
   * `end` is exclusive.
   */
  find(text: string, accept: (start: number, end: number) => boolean = () => true): string | undefined {
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      while (s !== 0 && !this.next[s]?.has(c)) s = this.fail[s] as number;
      s = this.next[s]?.get(c) ?? 0;
      const hits = this.out[s];
      if (hits && hits.length > 0)
        for (const idx of hits) {
          const p = this.phrases[idx] as string;
          if (accept(i + 1 - p.length, i + 1)) return p;
        }
    }
    return undefined;
  }
}
