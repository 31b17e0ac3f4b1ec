// prom-client metrics whose numbers live outside prom-client: the request path adds to plain arrays, and the values
// are read from them only when /metrics is scraped. A bound prom-client child still hashes and validates its labels
// on every inc() and observe() (0.2–0.4 µs each, measured here), and a request made several of them; adding to an
// array slot costs nanoseconds. The exposition stays prom-client's: these are its Counter and Histogram, with get()
// answered from the tallies.
import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration } from 'prom-client';

/** One histogram's observations: a count per bucket (the last one is +Inf), their sum and their number. */
export class BucketCounts {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One series of a tallied counter, as read at scrape time. */
export interface TalliedSample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/** One series of a tallied histogram, as read at scrape time. */
export interface TalliedBuckets<L extends string> {
  labels: Record<L, string>;
  buckets: BucketCounts;
}

type CounterValues<L extends string> = Awaited<ReturnType<Counter<L>['get']>>;
type HistogramValues<L extends string> = Awaited<ReturnType<Histogram<L>['get']>>;

/** A Counter whose series are read from `read()` when scraped; its inc() is never used. */
export class TalliedCounter<L extends string> extends Counter<L> {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => Iterable<TalliedSample<L>>;

  constructor(config: Omit<CounterConfiguration<L>, 'collect'>, read: () => Iterable<TalliedSample<L>>) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#read = read;
  }

  override async get(): Promise<CounterValues<L>> {
    const values: Array<{ labels: Record<L, string>; value: number }> = [];
    for (const s of this.#read()) values.push({ labels: s.labels, value: s.value });
    return { name: this.#name, help: this.#help, type: 'counter', aggregator: 'sum', values } as unknown as CounterValues<L>;
  }
}

/** A Histogram whose series are read from `read()` when scraped; its observe() is never used. */
export class TalliedHistogram<L extends string> extends Histogram<L> {
  readonly #name: string;
  readonly #help: string;
  readonly #read: () => Iterable<TalliedBuckets<L>>;

  constructor(config: Omit<HistogramConfiguration<L>, 'collect'>, read: () => Iterable<TalliedBuckets<L>>) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#read = read;
  }

  override async get(): Promise<HistogramValues<L>> {
    const bucket = `${this.#name}_bucket`;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { labels, buckets } of this.#read()) {
      const { bounds, counts } = buckets;
      let cumulative = 0;
      // `le` first, as prom-client writes it.
      for (let i = 0; i < bounds.length; i++) {
        cumulative += counts[i]!;
        values.push({ labels: { le: bounds[i]!, ...labels }, value: cumulative, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: buckets.count, metricName: bucket });
      values.push({ labels, value: buckets.sum, metricName: `${this.#name}_sum` });
      values.push({ labels, value: buckets.count, metricName: `${this.#name}_count` });
    }
    return { name: this.#name, help: this.#help, type: 'histogram', aggregator: 'sum', values } as unknown as HistogramValues<L>;
  }

  /** What the registry's text exposition reads from a histogram (prom-client's own would read its empty store). */
  getForPromString(): Promise<HistogramValues<L>> {
    return this.get();
  }
}
