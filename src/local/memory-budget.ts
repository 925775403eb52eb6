/**
 * One byte budget for everything `up --local` keeps in memory (--max-memory-mib): the trace store, the
 * span-metric series, the LLM token sums, and any other store that joins it. Before a store keeps an entry it reserves the
 * entry's estimated bytes; when the budget is full, the oldest entry of ANY member is evicted first (each
 * entry carries a stamp from `budget.stamp()`, so stamps compare across members), until the new entry
 * fits. A reservation that cannot fit even with every evictable entry gone is refused, and the store
 * answers the sender with partial success.
 *
 * How a store joins (as the token sums of src/local/token-sums.ts do):
 *
 *     const account = budget.join({
 *       name: 'token sums',
 *       oldestStamp: () => stamp of my oldest entry (e.g. least recently updated), or undefined if none,
 *       evictOldest: () => { drop that entry; account.release(its bytes); },
 *     });
 *     // keeping a new entry of n bytes (estimate with stringBytes / OBJECT_BYTES below):
 *     if (!account.reserve(n)) -> refuse it (nothing was evicted for nothing);
 *     entry.stamp = budget.stamp();   // again whenever the entry is used, for least-recently-used order
 *     // growing an entry by n bytes: account.reserve(n) too; dropping one: account.release(its bytes).
 *
 * Sizes are estimates of what V8 holds (string characters plus per-object overhead), not exact heap
 * figures; bench/local.bench.js measures the resident set against the budget.
 */

/** What a store tells the budget so it can be asked to give up its oldest entry. */
export interface BudgetMember {
  readonly name: string;
  /** The stamp of the oldest entry this member can evict now, or undefined when it has none. */
  oldestStamp(): number | undefined;
  /** Evicts that entry and releases its bytes through its account. */
  evictOldest(): void;
}

/** A member's share of the budget. */
export interface BudgetAccount {
  /** Bytes this member holds now. */
  readonly bytes: number;
  /** Entries this member gave up to make room. */
  readonly evictions: number;
  /** Makes room for `bytes` (evicting the oldest entries of any member) and charges them; false when they cannot fit. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

/** An entry kept in least-recently-used order by its budget stamps (see leastRecentlyUpdated). */
export interface StampedEntry {
  /** Its Map key. */
  readonly key: string;
  /** Budget stamp of its last update. */
  stamp: number;
  /** Its stamp when it took its place in the map's order. */
  orderedAt: number;
}

/**
 * The least recently updated entry of `entries`, in amortized constant time: an update only writes
 * `stamp`, and an entry found first in the map but updated since it took its place is moved to the end.
 * Once the first one has not been updated since, every other entry took its place later, so it is the oldest.
 */
export function leastRecentlyUpdated<T extends StampedEntry>(entries: Map<string, T>): T | undefined {
  for (;;) {
    const first = entries.values().next().value;
    if (!first || first.stamp === first.orderedAt) return first;
    entries.delete(first.key);
    first.orderedAt = first.stamp;
    entries.set(first.key, first);
  }
}

/** Rough V8 costs: a small object with its hidden-class fields, and a string's header. */
export const OBJECT_BYTES = 64;
const STRING_HEADER_BYTES = 16;
/** A character outside Latin-1 makes V8 store the whole string with two bytes per character. */
const TWO_BYTE = /[^\u0000-\u00ff]/;

/** Estimated heap bytes of a string. */
export function stringBytes(text: string): number {
  return STRING_HEADER_BYTES + (TWO_BYTE.test(text) ? text.length * 2 : text.length);
}

class Account implements BudgetAccount {
  bytes = 0;
  evictions = 0;
  constructor(
    private readonly budget: MemoryBudget,
    readonly member: BudgetMember,
  ) {}

  reserve(bytes: number): boolean {
    return this.budget.reserveFor(this, bytes);
  }

  release(bytes: number): void {
    this.bytes -= bytes;
    this.budget.released(bytes);
  }
}

export class MemoryBudget {
  private used = 0;
  private nextStamp = 1;
  private readonly accounts: Account[] = [];

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** A number larger than every stamp handed out before: the age of an entry. */
  stamp(): number {
    return this.nextStamp++;
  }

  join(member: BudgetMember): BudgetAccount {
    const account = new Account(this, member);
    this.accounts.push(account);
    return account;
  }

  /** @internal through Account.reserve */
  reserveFor(account: Account, bytes: number): boolean {
    if (bytes > this.maxBytes) return false;
    while (this.used + bytes > this.maxBytes) {
      let victim: Account | undefined;
      let oldest = Infinity;
      for (const candidate of this.accounts) {
        const stamp = candidate.member.oldestStamp();
        if (stamp !== undefined && stamp < oldest) {
          oldest = stamp;
          victim = candidate;
        }
      }
      if (!victim) return false;
      const before = this.used;
      victim.member.evictOldest();
      victim.evictions++;
      if (this.used >= before) return false; // a member that frees nothing must not loop forever
    }
    this.used += bytes;
    account.bytes += bytes;
    return true;
  }

  /** @internal through Account.release */
  released(bytes: number): void {
    this.used -= bytes;
  }
}
