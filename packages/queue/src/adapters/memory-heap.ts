/**
 * The memory adapter's waiting list: a binary min-heap on (priority, seq), so unprioritized jobs
 * (priority 0) come first in FIFO order, then by priority (1 = most urgent), as BullMQ does.
 * Push and pop are O(log n): re-sorting the backlog on every enqueue made a long backlog quadratic.
 */
export interface HeapItem {
  readonly options: { readonly priority: number };
  readonly seq: number;
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.options.priority < b.options.priority || (a.options.priority === b.options.priority && a.seq < b.seq);
}

export class WaitingHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
